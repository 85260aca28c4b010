"""The folder ``t2t pairs`` writes: its guards, its layout, and what it remembers between runs.

Layout of OUT::

    OUT/thin/<id>.nii.gz   (+ <id>.json)      the thin series, as read
    OUT/thick/<id>.nii.gz  (+ <id>.json)      the simulated series (one setting), or
    OUT/thick_<label>/<id>.nii.gz             one folder per setting (several thicknesses)
    OUT/pairs.csv, OUT/datalist.json          the index, written last (t2tcore.pipelines.index)
    OUT/.t2t-pairs/records/<id>.json          one record per finished series (resume)
    OUT/.t2t-pairs/staging/                   pairs being written (hidden, removed on failure)

Every guard on OUT is in :func:`claim_output` (called once, before any work): OUT may not be,
hold or lie inside an input; it must be new, empty, or an earlier ``t2t pairs`` output (which
is then updated); one run at a time holds the lock every t2t writer takes (``.OUT.t2t-lock``
beside OUT, :mod:`t2tcore.io.lock`); staging left by a killed run is removed.
A pair is written into staging, moved into place, and only then recorded
(:meth:`PairsFolder.write_record`): a record always describes files that are all there.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import warnings
from pathlib import Path
from typing import Iterable

from t2tcore.errors import T2TError
from t2tcore.io.errors import OutputWarning
from t2tcore.io.nifti import sidecar_path
from t2tcore.io.outdir import staging_file

__all__ = ["STATE", "PairOutputError", "PairsFolder", "claim_output", "pair_paths"]

#: Hidden folder of a ``t2t pairs`` output (its presence marks a folder as one).
STATE = ".t2t-pairs"


class PairOutputError(T2TError):
    """OUT cannot be written: it is or holds an input, holds other files, or another run holds it."""


def pair_paths(ident: str, labels: list[str]) -> tuple[str, list[str]]:
    """(thin file, thick files) of a series, relative to OUT, one thick file per setting label."""
    thick = ["thick"] if len(labels) == 1 else [f"thick_{label}" for label in labels]
    return f"thin/{ident}.nii.gz", [f"{folder}/{ident}.nii.gz" for folder in thick]


class PairsFolder:
    """An output folder claimed by :func:`claim_output` (holds its lock until :meth:`release`)."""

    def __init__(self, root: Path, new: bool | None = None) -> None:
        self.root = root
        self.state = root / STATE
        self.records = self.state / "records"
        self.staging = self.state / "staging"
        #: OUT did not exist before this run (None: not known): removed again if nothing is made
        self.new = new

    # ---------------------------------------------------------------- records
    def record_path(self, ident: str) -> Path:
        return self.records / f"{ident}.json"

    def read_record(self, ident: str) -> dict | None:
        """The record of a finished series, or None (none, unreadable, or a file of it missing)."""
        try:
            rec = json.loads(self.record_path(ident).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(rec, dict) or not all((self.root / f).is_file() for f in rec.get("files", [])):
            return None
        return rec

    def record_ids(self) -> list[str]:
        return sorted(p.name[: -len(".json")] for p in self.records.glob("*.json"))

    def write_record(self, record: dict) -> None:
        """Write a series' record (atomically): the last step of a pair."""
        self.write_text(self.record_path(record["id"]), json.dumps(record, indent=1) + "\n")

    def remove_pair(self, ident: str) -> None:
        """Remove a series' record, then the files it lists (their sidecars too)."""
        path = self.record_path(ident)
        try:
            rec = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            rec = {}
        path.unlink(missing_ok=True)
        for f in rec.get("files", []) if isinstance(rec, dict) else []:
            target = (self.root / f).resolve()
            if self.root.resolve() in target.parents:  # never anything outside OUT
                target.unlink(missing_ok=True)
                sidecar_path(target).unlink(missing_ok=True)
                if target.parent != self.root.resolve():
                    with contextlib.suppress(OSError):  # thick/ of an earlier setting, now empty
                        target.parent.rmdir()

    # ---------------------------------------------------------------- files
    @staticmethod
    def write_text(path: Path, text: str) -> None:
        """Write a text file all at once: a staging file beside it, then :func:`os.replace`."""
        tmp = staging_file(path, suffix=".part")
        try:
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise PairOutputError(f"{path}: cannot write ({exc.strerror or exc})") from None

    def release(self, *, drop_if_unused: bool = False) -> None:
        """Give the claim back (:func:`t2tcore.io.lock.release`).

        ``drop_if_unused``: a folder this run created and left without a pair (the scheduler
        unreachable, every series bad) is removed first.
        """
        from t2tcore.io import lock

        try:
            if (drop_if_unused and self.new and not any(self.records.glob("*.json"))
                    and [p.name for p in self.root.iterdir()] == [STATE]):
                shutil.rmtree(self.state, ignore_errors=True)
                self.root.rmdir()
        except OSError:
            pass
        finally:
            lock.release(self.root)


def claim_output(out: str | os.PathLike, inputs: Iterable[str | os.PathLike]) -> PairsFolder:
    """Check OUT against every guard and claim it for this run (the one place where OUT is guarded).

    Parameters
    ----------
    out : path
        The output folder: new, empty, or an earlier ``t2t pairs`` output.
    inputs : iterable of path
        The input folders and files: OUT may not be one of them, lie inside one, or hold one.

    Returns
    -------
    PairsFolder
        With its lock held and stale staging removed; call :meth:`PairsFolder.release` at the end.

    Raises
    ------
    PairOutputError
    """
    from t2tcore.io import lock
    from t2tcore.io.outdir import check_not_input

    root = check_not_input(Path(out).expanduser(), inputs, error=PairOutputError, noun="output folder")
    if root.exists() and not root.is_dir():
        raise PairOutputError(f"{root}: exists and is not a folder")
    if root.is_dir() and any(root.iterdir()) and not (root / STATE).is_dir():
        raise PairOutputError(
            f"{root}: holds files that t2t pairs did not write; give a new or empty folder "
            "(or an earlier t2t pairs output, to update it)"
        )
    folder = PairsFolder(root, new=not root.exists())
    try:
        folder.records.mkdir(parents=True, exist_ok=True)
        folder.staging.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PairOutputError(f"{root}: cannot create the folder ({exc.strerror or exc})") from None
    try:
        _, note = lock.acquire(root)  # the lock file every t2t writer takes: .OUT.t2t-lock beside OUT
    except BlockingIOError as exc:
        raise PairOutputError(f"{root}: {exc}") from None
    except OSError as exc:
        raise PairOutputError(f"{root}: cannot claim the folder ({exc.strerror or exc})") from None
    if note:
        warnings.warn(f"{root}: {note}", OutputWarning, stacklevel=2)
    for stale in folder.staging.iterdir():  # left by a killed run: nobody else holds the lock
        shutil.rmtree(stale, ignore_errors=True) if stale.is_dir() else stale.unlink(missing_ok=True)
    return folder
