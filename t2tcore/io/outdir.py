"""Outputs that never destroy a user's file: checked first, claimed, built aside, committed at once.

Every command that writes (``t2t simulate``, ``calibrate``, ``sr train``, ``sr apply``,
``data virtual``) and every writer of the package goes through the same four steps:

1. **Check before any work** (:func:`check_output`): the output is not an input, does not
   lie inside one and holds none (:func:`check_not_input`: resolved paths, so links and
   ``..`` do not hide it; NIfTI inputs bring their JSON sidecars); its folder can be
   written; it is absent, an empty folder, or ``overwrite`` is given.
2. **Claim it for the whole run** (:func:`claim_output`): a lock file beside it
   (:mod:`t2tcore.io.lock`, as git's ``index.lock``), so a second run to the same output
   stops at once with one line. Staging folders and files that runs killed earlier left
   beside the output (``.NAME.t2t-tmp-PID-*``) are removed when their process is gone.
3. **Build it aside** (:meth:`OutputClaim.staging_dir`, :meth:`OutputClaim.staging_file`,
   or :func:`staging_dir` / :func:`staging_file`): a hidden folder or file beside the
   output, named with the pid of its process, with the permissions of an ordinary new
   folder or file (0777 / 0666 less the umask).
4. **Commit** (:meth:`OutputClaim.commit`, :func:`commit_output`): one rename. Without
   ``overwrite`` it never replaces anything: if the output is no longer absent (or an empty
   folder) when the run ends -- something was put there meanwhile -- nothing is replaced and
   the finished result is kept beside it under a visible name (``NAME.t2t-kept-PID``) that the
   error names. With ``overwrite`` the old content is moved aside, the new one renamed in,
   and the old one deleted last (put back if the rename fails). A replaced output keeps the
   permission bits the old one had.

**Only what t2t wrote is ever replaced.** With ``overwrite`` a non-empty output folder is
replaced only when every file in it is a DICOM file that t2t wrote (its file meta names t2t's
implementation, :func:`t2tcore.io.ownership.foreign_files`): a folder of the user's own files (a real thick series
from a scanner, a home folder given by mistake) or a t2t series with other files added is
refused in one line, before any work and again at the commit, and nothing is touched. Nothing
is added to an output to recognise it (tools that read every file of a series folder as DICOM
keep working). A file output (NIfTI, JSON, a checkpoint) named explicitly is replaced as ``cp``
would, once ``overwrite`` is given. The virtual cohorts, recognised by their manifest, replace
older cohorts of their kind (``replace_any``).

Example (what ``t2t pairs`` or any new writing command does)::

    from t2tcore.io.outdir import claim_output

    with claim_output(out, inputs=[thin_dir], overwrite=args.overwrite, kind="folder") as claim:
        series = read_series(thin_dir)            # the work: minutes
        tmp = claim.staging_dir()
        ...                                       # write everything into tmp
        claim.commit(tmp)                         # all at once, or an error that keeps it

A command whose output is one series holds the claim around its whole run and lets
:func:`t2tcore.io.write_series` write it: the writers claim their output too, re-entrantly
(a claim this process already holds only re-checks the inputs), stage and commit with the
command's ``overwrite`` (``t2t simulate``: ``t2tcore.cli._common.claim_series_output``).

An interrupted run (Ctrl-C, SIGTERM through the ``t2t`` command, an exception) removes its
staging and its lock on the way out; ``kill -9`` leaves them, and the next run cleans up.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import stat
import tempfile
import warnings
from pathlib import Path
from typing import Any, Iterable

from t2tcore.io import lock as _lock
from t2tcore.io.errors import OutputBusyError, OutputChangedError, OutputError, OutputWarning
from t2tcore.io.ownership import foreign_files

__all__ = [
    "check_not_input",
    "check_output",
    "claim_output",
    "OutputClaim",
    "commit_output",
    "staging_dir",
    "staging_file",
    "remove_stale_staging",
    "swap_in",
    "finish_with_manifest",
    "foreign_files",
]

_NIFTI_SUFFIXES = (".nii.gz", ".nii")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _abs(path: str | os.PathLike) -> Path:
    return Path(path).expanduser().absolute()


def _real(path: Path) -> Path:
    """``path`` with every link in its existing part resolved (it need not exist)."""
    return path.resolve(strict=False)


def _target(out: str | os.PathLike) -> Path:
    """Where ``out`` is written: absolute; an output that is a link is written where it points
    (as ``cp`` and a shell redirection do), the link is kept."""
    path = _abs(out)
    return _real(path) if path.is_symlink() else path


def _sidecar(path: Path) -> Path | None:
    low = path.name.lower()
    for suffix in _NIFTI_SUFFIXES:
        if low.endswith(suffix) and len(low) > len(suffix):
            return path.with_name(path.name[: -len(suffix)] + ".json")
    return None


# --------------------------------------------------------------------------------------
# 1. Checks
# --------------------------------------------------------------------------------------


def _input_paths(inputs: Iterable[Any]) -> list[Path]:
    """Absolute input paths, with the JSON sidecar of every NIfTI input (also read)."""
    out: list[Path] = []
    for src in inputs:
        if src is None:
            continue
        p = _abs(src)
        out.append(p)
        side = _sidecar(p)
        if side is not None and not p.is_dir():
            out.append(side)
    return out


def check_not_input(
    out: str | os.PathLike, inputs: Iterable[Any], *, error: type[Exception] = OutputError, noun: str = "output"
) -> Path:
    """Refuse an output that is one of ``inputs``, lies inside one, or holds one.

    Paths are compared after resolving links (``out`` need not exist) and, for existing
    files, by identity (hard links), so no spelling of an input gets past.

    Parameters
    ----------
    out : str or path-like
        The output file or folder.
    inputs : iterable of path-like
        Input files and folders (DICOM folders or files, NIfTI files -- their sidecars
        count too --, checkpoints, profiles...). May be long (every file of a series):
        links are resolved once per folder.
    error : exception type
        Raised on refusal (default :class:`~t2tcore.io.errors.OutputError`).
    noun : str
        How messages name the output ("output folder", "output file"...).

    Returns
    -------
    pathlib.Path
        ``out``, absolute.

    Raises
    ------
    error
        ``out`` is an input or inside one ("is the input or inside it"), or holds one
        ("holds the input").
    """
    out_abs = _abs(out)
    out_real = _real(out_abs)
    out_exists = out_abs.exists()
    parents: dict[Path, Path] = {}
    inputs = _input_paths(inputs)
    twin = _hard_link_of(out_abs, inputs)
    if twin is not None:
        raise error(f"{out_abs}: is the input or inside it ({twin}, a hard link to the same file); choose another {noun}")
    for s in inputs:
        if s.is_symlink() or s.parent not in parents:
            real = _real(s)
            if not s.is_symlink():
                parents[s.parent] = real.parent
        else:
            real = parents[s.parent] / s.name
        same = real == out_real
        if not same and out_exists and s.exists():
            try:
                same = os.path.samefile(s, out_abs)
            except OSError:
                same = False
        if same and "folder" in noun and out_abs.is_dir():
            raise error(f"{out_abs}: is the input ({s}), and an output folder that holds the input is refused; "
                        f"choose another {noun}")
        if same or out_real.is_relative_to(real):
            raise error(f"{out_abs}: is the input or inside it ({s}); choose another {noun}")
        if real.is_relative_to(out_real):
            raise error(f"{out_abs}: holds the input ({s}); choose another {noun}")
    return out_abs


def _hard_link_of(out: Path, inputs: list[Path]) -> Path | None:
    """An input file that ``out`` is a hard link to (only looked for when ``out`` has several links)."""
    try:
        st = out.stat()
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode) or st.st_nlink < 2:
        return None
    for s in inputs:
        files = s.rglob("*") if s.is_dir() else [s]
        for f in files:
            try:
                fs = f.stat()
            except OSError:
                continue
            if (fs.st_dev, fs.st_ino) == (st.st_dev, st.st_ino):
                return f
    return None


def _writable_folder(out: Path, error: type[Exception]) -> None:
    """The nearest existing folder above ``out`` must be a writable folder."""
    anc = out.parent
    while not anc.exists():
        if anc.parent == anc:
            break
        anc = anc.parent
    if not anc.is_dir():
        raise error(f"{out}: cannot be created, {anc} is not a folder")
    if not os.access(anc, os.W_OK | os.X_OK):
        raise error(f"{out}: cannot write in {anc} (permission denied)")


def _replaceable(out: Path, error: type[Exception]) -> None:
    """A folder this user may replace: it is moved aside (its ``..`` changes: write permission
    on it) out of its parent (in a sticky folder such as /tmp, only by its owner)."""
    try:
        st, parent = out.stat(), out.parent.stat()
    except OSError:
        return  # said by the writable check or the claim
    me = os.geteuid()
    sticky = bool(parent.st_mode & stat.S_ISVTX) and me not in (0, st.st_uid, parent.st_uid)
    if sticky or not os.access(out, os.W_OK | os.X_OK):
        raise error(f"{out}: cannot be replaced, this user may not change or move that folder (permission denied); "
                    "choose another output")


def _foreign_reason(out: Path) -> str | None:
    """Why ``out`` (a non-empty folder) may not be replaced, or None when it may."""
    foreign = foreign_files(out, at_most=4)
    if not foreign:
        return None
    some = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
    return (f"holds files t2t did not write ({some}), and --overwrite replaces only a folder of DICOM files "
            "that t2t wrote")


def _check_target(out: Path, kind: str, overwrite: bool, error: type[Exception], replace_any: bool = False) -> None:
    if kind == "folder":
        if out.exists() and not out.is_dir():
            raise error(f"{out}: exists and is not a folder")
        if out.is_dir() and not overwrite:
            try:
                non_empty = any(out.iterdir())
            except OSError as exc:
                raise error(f"{out}: cannot read the folder ({exc.strerror or exc})") from None
            if non_empty:
                raise error(f"{out}: folder is not empty (use overwrite=True / --overwrite to replace it)")
        if out.is_dir() and overwrite and not _is_empty_dir(out):
            why = None if replace_any else _foreign_reason(out)
            if why:
                raise error(f"{out}: {why}; nothing was changed: choose a new or empty folder, or move those files away")
            _replaceable(out, error)
    else:
        if out.is_dir():
            raise error(f"{out}: is a folder, not a file name")
        if (out.exists() or out.is_symlink()) and not overwrite:
            raise error(f"{out}: exists (use overwrite=True / --overwrite to replace it)")
    _writable_folder(out, error)


def check_output(
    out: str | os.PathLike,
    *,
    inputs: Iterable[Any] = (),
    overwrite: bool = False,
    kind: str = "folder",
    companions: Iterable[Any] = (),
    error: type[Exception] = OutputError,
    replace_any: bool = False,
) -> Path:
    """Check, before any work, that ``out`` may be written; returns it absolute.

    Parameters
    ----------
    out : str or path-like
        The output folder (``kind="folder"``) or file (``kind="file"``).
    inputs : iterable of path-like
        Everything the run reads: ``out`` (and each companion) must not be one of them, lie
        inside one or hold one (:func:`check_not_input`), ``overwrite`` or not.
    overwrite : bool
        Accept an existing file, or a non-empty folder of DICOM files that t2t wrote
        (:func:`foreign_files` is empty), replaced at the commit.
    kind : {"folder", "file"}
    companions : iterable of path-like
        Files written with ``out`` (a NIfTI file's JSON sidecar), checked like a file.
    error : exception type
        Raised on refusal (default :class:`~t2tcore.io.errors.OutputError`).
    replace_any : bool
        With ``overwrite``, replace a non-empty folder whatever it holds: only for a caller that
        has recognised the folder as its own by other means (the virtual cohorts, by their
        manifest).

    Returns
    -------
    pathlib.Path
        ``out``, absolute (where a link points, if ``out`` is one).

    Raises
    ------
    error
        An input; a file where a folder is wanted or the reverse; an existing file or a
        non-empty folder without ``overwrite``; with it, a folder holding files t2t did not
        write; a folder above it that is not writable.
    """
    if kind not in ("folder", "file"):
        raise ValueError(f"kind must be 'folder' or 'file', got {kind!r}")
    inputs = list(inputs)
    path = check_not_input(_target(out), inputs, error=error, noun=f"output {kind}")
    extra = [_target(c) for c in companions]
    for c in extra:
        check_not_input(c, inputs, error=error, noun="output file")
    _check_target(path, kind, overwrite, error, replace_any)
    for c in extra:
        _check_target(c, "file", overwrite, error)
    return path


# --------------------------------------------------------------------------------------
# 3. Staging (hidden, beside the output, named with the pid)
# --------------------------------------------------------------------------------------


def _stage_prefix(out: Path) -> str:
    return f".{out.name}.t2t-tmp-{os.getpid()}-"


def staging_dir(out: str | os.PathLike) -> Path:
    """Create an empty hidden folder beside ``out`` to build it in.

    Named ``.NAME.t2t-tmp-PID-XXXX`` (the pid lets a later run remove it once this process
    is gone, :func:`remove_stale_staging`). Unlike :func:`tempfile.mkdtemp` (mode 0700), the
    folder gets the permissions an ordinary ``mkdir`` would (0777 less the umask).
    """
    out = _abs(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=_stage_prefix(out), dir=out.parent))
    os.chmod(tmp, 0o777 & ~_umask())
    return tmp


def staging_file(out: str | os.PathLike, suffix: str = "") -> Path:
    """Create an empty hidden file beside ``out`` to write it in, then commit it.

    Named ``.NAME.t2t-tmp-PID-XXXX`` + ``suffix`` (e.g. ``".nii.gz"``, which tells nibabel
    to compress); its permissions are those of an ordinary new file (0666 less the umask),
    not :func:`tempfile.mkstemp`'s 0600.
    """
    out = _abs(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=_stage_prefix(out), suffix=suffix, dir=out.parent)
    os.close(fd)
    os.chmod(name, 0o666 & ~_umask())
    return Path(name)


_STAGED = re.compile(r"\.t2t-(?:tmp|old)-(\d+)-")


def remove_stale_staging(out: str | os.PathLike) -> tuple[list[Path], list[Path]]:
    """Remove the staging folders and files of ``out`` whose process is gone.

    Looks beside ``out`` for ``.NAME.t2t-tmp-PID-*`` (staging) and ``.NAME.t2t-old-PID-*``
    (an old output moved aside by an interrupted replace). Call it while holding the claim
    (:func:`claim_output` does).

    Returns
    -------
    removed : list of pathlib.Path
        Stale entries removed (their pid no longer runs on this host).
    unknown : list of pathlib.Path
        Entries without a pid (left by an older t2t): kept, for the caller to mention.
    """
    out = _abs(out)
    removed, unknown = [], []
    head = f".{out.name}.t2t-"
    try:
        entries = [p for p in out.parent.iterdir() if p.name.startswith(head)]
    except OSError:
        return removed, unknown
    for p in entries:
        rest = p.name[len(f".{out.name}") :]
        if not rest.startswith((".t2t-tmp-", ".t2t-old-")):
            continue
        m = _STAGED.match(rest)
        if m is None:
            unknown.append(p)
            continue
        pid = int(m.group(1))
        if pid == os.getpid() or _lock.process_alive(pid):
            continue
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
        removed.append(p)
    return removed, unknown


# --------------------------------------------------------------------------------------
# 4. Commit
# --------------------------------------------------------------------------------------


def _kept_name(out: Path) -> Path:
    """A visible, unused name beside ``out`` for a result that could not be committed."""
    name = out.name
    low = name.lower()
    stem, suffix = name, ""
    for s in _NIFTI_SUFFIXES + (".json", ".pt", ".csv"):
        if low.endswith(s) and len(low) > len(s):
            stem, suffix = name[: -len(s)], name[-len(s) :]
            break
    base = f"{stem}.t2t-kept-{os.getpid()}"
    for n in range(1000):
        cand = out.with_name(f"{base}{'' if n == 0 else f'-{n}'}{suffix}")
        if not cand.exists() and not cand.is_symlink():
            return cand
    raise FileExistsError(f"no free name beside {out}")  # pragma: no cover


def _keep(tmp: Path, out: Path, why: str, error: type[Exception], hint: str = "use --overwrite to replace it") -> None:
    kept = _kept_name(out)
    try:
        os.rename(tmp, kept)
    except OSError as exc:
        err = error(f"{out}: {why}; nothing was replaced, the finished result is in {tmp} "
                    f"(cannot rename it: {exc.strerror or exc})")
        err.kept = tmp
        raise err from None
    err = error(f"{out}: {why}; nothing was replaced, the finished result is in {kept} ({hint})")
    err.kept = kept  # where the result is, for callers that keep several files together
    raise err


def _mode(path: Path) -> int | None:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None


def _is_empty_dir(path: Path) -> bool:
    try:
        return path.is_dir() and not path.is_symlink() and not any(path.iterdir())
    except OSError:
        return False


def _commit_folder(tmp: Path, out: Path, overwrite: bool, error: type[Exception], replace_any: bool = False) -> None:
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        _keep(tmp, out, "is a file now, not a folder (it was made during this run)", error)
    if overwrite and out.is_dir() and not _is_empty_dir(out):
        why = None if replace_any else _foreign_reason(out)  # checked before the work and now: files may have come
        if why:
            _keep(tmp, out, why, error, hint="move those files away, or choose another output")
        _replace_folder(tmp, out)
        return
    mode = _mode(out) if out.is_dir() else None  # an empty folder: keep its permissions
    if mode is not None:
        os.chmod(tmp, mode)
    try:
        os.rename(tmp, out)  # creates out, or replaces it if it is (still) an empty folder
    except OSError as exc:
        if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
            raise
        if not overwrite:
            _keep(tmp, out, "is no longer empty (something was written there during this run)", error)
        _commit_folder(tmp, out, overwrite, error, replace_any)


def _replace_folder(tmp: Path, out: Path) -> None:
    """Old content aside, new in, old deleted last (put back if the rename fails)."""
    mode = _mode(out)
    if mode is not None:
        os.chmod(tmp, mode)
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.t2t-old-{os.getpid()}-", dir=out.parent))
    try:
        os.replace(out, old / out.name)
    except OSError:  # not ours to move: nothing changed, and no empty .t2t-old- folder is left
        shutil.rmtree(old, ignore_errors=True)
        raise
    try:
        os.replace(tmp, out)
    except OSError:
        os.replace(old / out.name, out)
        shutil.rmtree(old, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _commit_file(tmp: Path, out: Path, overwrite: bool, error: type[Exception]) -> None:
    if out.is_dir() and not out.is_symlink():
        _keep(tmp, out, "is a folder now", error)
    if overwrite:
        mode = _mode(out) if out.exists() else None
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, out)
        return
    try:
        os.link(tmp, out)  # atomic: fails if out exists, whoever made it
    except FileExistsError:
        _keep(tmp, out, "exists now (it was written by something else during this run)", error)
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK, errno.ENOSYS):
            raise
        # no hard links on this file system: check, then rename (the claim keeps other t2t runs out)
        if out.exists() or out.is_symlink():
            _keep(tmp, out, "exists now (it was written by something else during this run)", error)
        os.rename(tmp, out)
        return
    tmp.unlink()


def commit_output(
    tmp: str | os.PathLike, out: str | os.PathLike, *, overwrite: bool, error: type[Exception] = OutputChangedError,
    replace_any: bool = False,
) -> Path:
    """Move a finished staging folder or file ``tmp`` to ``out`` in one rename.

    Parameters
    ----------
    tmp : str or path-like
        A folder from :func:`staging_dir` or a file from :func:`staging_file`, beside ``out``.
    out : str or path-like
        Where it goes.
    overwrite : bool
        False: ``out`` must be absent (or an empty folder, for a folder) at this moment; if
        it is not, nothing is replaced, ``tmp`` is renamed to a visible ``NAME.t2t-kept-PID``
        beside ``out`` and ``error`` names it. True: an existing ``out`` is replaced (moved
        aside, the new one renamed in, the old one deleted; put back if the rename fails), a
        folder only if t2t wrote it (:func:`foreign_files` is empty; otherwise ``tmp`` is kept
        as above).
    error : exception type
        Raised when the result is kept instead (default
        :class:`~t2tcore.io.errors.OutputChangedError`).
    replace_any : bool
        As in :func:`check_output`.

    Returns
    -------
    pathlib.Path
        ``out``, absolute. A replaced ``out`` keeps its permission bits.

    Raises
    ------
    error
        ``out`` changed during the run and ``overwrite`` is False (the message says where
        the result is).
    OSError
        The rename failed (the old content, if any, is back in place).
    """
    tmp, out = _abs(tmp), _abs(out)
    if tmp.is_dir():
        _commit_folder(tmp, out, overwrite, error, replace_any)
    else:
        _commit_file(tmp, out, overwrite, error)
    return out


def swap_in(tmp: str | os.PathLike, out: str | os.PathLike) -> None:
    """Move the finished folder ``tmp`` to ``out``, replacing whatever ``out`` held.

    The replacing form of :func:`commit_output` (``overwrite=True``), kept for existing
    callers; new code uses :func:`commit_output` or :meth:`OutputClaim.commit`, which only
    replace when the user asked to, and only a folder that t2t wrote.
    """
    commit_output(tmp, out, overwrite=True, replace_any=True)


def finish_with_manifest(
    tmp: str | os.PathLike, out: str | os.PathLike, name: str, manifest: dict, *, overwrite: bool = True,
    replace_any: bool = False,
) -> None:
    """Write ``manifest`` as ``tmp/name`` (JSON), then commit ``tmp`` as ``out``.

    The manifest is the last file written into the staging folder (through a ``.part`` file
    and :func:`os.replace`), so a folder with a manifest is always complete.
    ``overwrite`` and ``replace_any`` as in :func:`commit_output`.
    """
    import json

    tmp = Path(tmp)
    part = tmp / (name + ".part")
    part.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    os.replace(part, tmp / name)
    commit_output(tmp, out, overwrite=overwrite, replace_any=replace_any)


# --------------------------------------------------------------------------------------
# 2. The claim
# --------------------------------------------------------------------------------------


class OutputClaim:
    """This run's exclusive claim of an output (made by :func:`claim_output`).

    Attributes
    ----------
    path : pathlib.Path
        The output, absolute.
    companions : tuple of pathlib.Path
        Files written with it (a NIfTI sidecar).
    overwrite : bool
        Whether the user allowed replacing what is there.
    kind : {"folder", "file"}

    Use it as a context manager (or call :meth:`release`): on the way out the lock file is
    removed, and so is any staging made through :meth:`staging_dir` / :meth:`staging_file`
    that was not committed (an error or an interrupt leaves nothing behind).
    """

    def __init__(self, path: Path, companions: tuple[Path, ...], overwrite: bool, kind: str, made: list[Path],
                 replace_any: bool = False) -> None:
        self.path, self.companions, self.overwrite, self.kind = path, companions, overwrite, kind
        self.replace_any = replace_any
        self._made, self._staged, self._committed = made, [], set()
        self._open = True

    def staging_dir(self) -> Path:
        """A new hidden staging folder beside :attr:`path` (see :func:`staging_dir`)."""
        tmp = staging_dir(self.path)
        self._staged.append(tmp)
        return tmp

    def staging_file(self, suffix: str = "", target: str | os.PathLike | None = None) -> Path:
        """A new hidden staging file beside :attr:`path` (or ``target``, e.g. a companion)."""
        tmp = staging_file(self.path if target is None else target, suffix)
        self._staged.append(tmp)
        return tmp

    def commit(self, tmp: str | os.PathLike, target: str | os.PathLike | None = None) -> Path:
        """Commit ``tmp`` as :attr:`path` (or ``target``) with :func:`commit_output`.

        Without ``overwrite``, the first commit of a target needs it absent (or an empty
        folder); later commits of the same target in this claim (a checkpoint rewritten
        during training) replace the run's own earlier result.

        Raises
        ------
        OutputChangedError
            The target changed during the run; the message says where the result was kept.
        """
        out = self.path if target is None else _abs(target)
        tmp = _abs(tmp)
        done = commit_output(tmp, out, overwrite=self.overwrite or out in self._committed,
                             replace_any=self.replace_any or out in self._committed)
        self._committed.add(out)
        if tmp in self._staged:
            self._staged.remove(tmp)
        return done

    def release(self) -> None:
        """Remove uncommitted staging and the lock file; remove folders made for the output if
        nothing was committed into them."""
        if not self._open:
            return
        self._open = False
        try:
            for tmp in self._staged:
                if tmp.is_dir() and not tmp.is_symlink():
                    shutil.rmtree(tmp, ignore_errors=True)
                else:
                    tmp.unlink(missing_ok=True)
        finally:
            _lock.release(self.path)
            if not self._committed:
                for d in self._made:  # deepest first
                    try:
                        d.rmdir()
                    except OSError:
                        break

    def __enter__(self) -> "OutputClaim":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def claim_output(
    out: str | os.PathLike,
    *,
    inputs: Iterable[Any] = (),
    overwrite: bool = False,
    kind: str = "folder",
    companions: Iterable[Any] = (),
    error: type[Exception] = OutputError,
    replace_any: bool = False,
) -> OutputClaim:
    """Check ``out`` (:func:`check_output`) and claim it for this run.

    Creates the folders above ``out``, the lock file beside it (:mod:`t2tcore.io.lock`) and
    removes the stale staging of killed runs (:func:`remove_stale_staging`, with an
    :class:`~t2tcore.io.errors.OutputWarning` saying what was removed or what was found and
    kept). Then checks ``out`` again (it may have changed while the claim was made).

    A claim of an output that this process already holds (a writer called by a command that
    claimed the output for its whole run) only checks that it is not an input: whether it
    may be replaced was decided by the first claim and is enforced again by
    :meth:`OutputClaim.commit`.

    Parameters
    ----------
    out, inputs, overwrite, kind, companions, error, replace_any
        As in :func:`check_output`.

    Returns
    -------
    OutputClaim
        Use it as a context manager.

    Raises
    ------
    OutputBusyError
        Another live t2t run holds the claim (the message names it, and the lock file to
        remove if that run is known to be gone).
    error
        See :func:`check_output`; the lock file cannot be created (folder not writable).
    """
    inputs = list(inputs)
    out = _target(out)
    comps = tuple(_target(c) for c in companions)
    if _lock.held(out):
        path = check_not_input(out, inputs, error=error, noun=f"output {kind}")
        for c in comps:
            check_not_input(c, inputs, error=error, noun="output file")
        _lock.acquire(path)
        return OutputClaim(path, comps, overwrite, kind, [])
    path = check_output(out, inputs=inputs, overwrite=overwrite, kind=kind, companions=comps, error=error,
                        replace_any=replace_any)
    made: list[Path] = []
    d = path.parent
    while not d.exists():
        made.append(d)
        d = d.parent
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _, note = _lock.acquire(path)
    except BlockingIOError as exc:
        _rmdirs(made)
        raise OutputBusyError(f"{path}: {exc}") from None
    except OSError as exc:
        _rmdirs(made)
        raise error(f"{path}: cannot write in {path.parent} ({exc.strerror or exc})") from None
    claim = OutputClaim(path, comps, overwrite, kind, made, replace_any)
    try:
        if note:
            warnings.warn(f"{path}: {note}", OutputWarning, stacklevel=2)
        for target in (path,) + comps:
            removed, unknown = remove_stale_staging(target)
            if removed:
                warnings.warn(f"{path}: removed {len(removed)} staging item(s) of earlier runs that were killed "
                              f"({', '.join(p.name for p in removed[:3])}{', ...' if len(removed) > 3 else ''})",
                              OutputWarning, stacklevel=2)
            if unknown:
                warnings.warn(f"{path}: found staging left by an older t2t: {', '.join(str(p) for p in unknown[:3])} "
                              "(remove it if no t2t run is writing there)", OutputWarning, stacklevel=2)
        check_output(path, inputs=inputs, overwrite=overwrite, kind=kind, companions=comps, error=error,
                     replace_any=replace_any)
    except BaseException:
        claim.release()
        raise
    return claim


def _rmdirs(made: list[Path]) -> None:
    for d in made:
        try:
            d.rmdir()
        except OSError:
            break
