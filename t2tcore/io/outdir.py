"""All-or-nothing output folders and files.

Writers build their output in a hidden staging folder (or file) beside the target and move
it into place at the end (:func:`swap_in`, :func:`os.replace`), so an interrupted run never
leaves a half-written series or cohort where a user would find it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def staging_dir(out: str | os.PathLike) -> Path:
    """Create an empty hidden folder beside ``out`` to build it in.

    Unlike :func:`tempfile.mkdtemp` (mode 0700), the folder gets the permissions an
    ordinary ``mkdir`` would (0777 less the umask), so the finished output is as readable
    as any other folder the user makes.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.t2t-tmp-", dir=out.parent))
    os.chmod(tmp, 0o777 & ~_umask())
    return tmp


def staging_file(out: str | os.PathLike, suffix: str = "") -> Path:
    """Create an empty hidden file beside ``out`` to write it in, then ``os.replace`` it.

    Its name ends with ``suffix`` (e.g. ``".nii.gz"``, which tells nibabel to compress);
    its permissions are those of an ordinary new file (0666 less the umask), not
    :func:`tempfile.mkstemp`'s 0600.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{out.name}.t2t-tmp-", suffix=suffix, dir=out.parent)
    os.close(fd)
    os.chmod(name, 0o666 & ~_umask())
    return Path(name)


def swap_in(tmp: str | os.PathLike, out: str | os.PathLike) -> None:
    """Move the finished folder ``tmp`` to ``out``, replacing whatever ``out`` held.

    An existing ``out`` is first moved aside and only deleted once ``tmp`` is in place; if
    that move fails the old content is put back and the ``OSError`` propagates.
    """
    tmp, out = Path(tmp), Path(out)
    if out.is_dir():
        try:
            out.rmdir()  # empty: nothing to keep
        except OSError:
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.t2t-old-", dir=out.parent))
            os.replace(out, old / out.name)
            try:
                os.replace(tmp, out)
            except OSError:
                os.replace(old / out.name, out)
                shutil.rmtree(old, ignore_errors=True)
                raise
            shutil.rmtree(old, ignore_errors=True)
            return
    os.replace(tmp, out)


def finish_with_manifest(tmp: str | os.PathLike, out: str | os.PathLike, name: str, manifest: dict) -> None:
    """Write ``manifest`` as ``tmp/name`` (JSON), then :func:`swap_in` ``tmp`` as ``out``.

    The manifest is the last file written into the staging folder (through a ``.part`` file
    and :func:`os.replace`), so a folder with a manifest is always complete.
    """
    import json

    tmp = Path(tmp)
    part = tmp / (name + ".part")
    part.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    os.replace(part, tmp / name)
    swap_in(tmp, out)
