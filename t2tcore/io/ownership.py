"""Which files of a folder t2t wrote: what ``--overwrite`` may replace (:mod:`t2tcore.io.outdir`).

A file is t2t's when it is a DICOM file whose file meta ``ImplementationVersionName`` names t2t
(``T2T_<version>``, :data:`t2tcore.io.dicom_write.IMPLEMENTATION_VERSION`, any version). Nothing
is added to an output to recognise it, so tools that read every file of a series folder as DICOM
keep working.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Iterator

__all__ = ["foreign_files"]


def _walk_files(folder: Path) -> Iterator[str]:
    """Every file and link under ``folder`` (not following links), as POSIX paths relative to it."""
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        rel = Path(root).relative_to(folder)
        yield from ((rel / n).as_posix() for n in sorted(names))
        yield from ((rel / d).as_posix() for d in dirs if (Path(root) / d).is_symlink())


def _written_by_t2t(path: Path) -> bool:
    """Whether ``path`` is a DICOM file whose file meta names t2t's implementation (what
    :func:`t2tcore.io.write_series` writes)."""
    try:
        if path.is_symlink() or not path.is_file():
            return False
        with open(path, "rb") as f:
            head = f.read(132)
        if len(head) < 132 or head[128:132] != b"DICM":
            return False
        from pydicom.filereader import read_file_meta_info

        return str(read_file_meta_info(path).get("ImplementationVersionName", "")).startswith("T2T_")
    except Exception:  # noqa: BLE001 - unreadable or malformed: not known to be t2t's
        return False


def foreign_files(folder: str | os.PathLike, at_most: int | None = None) -> list[str]:
    """Files in ``folder`` that t2t did not write: ``[]`` when ``--overwrite`` may replace it.

    A file is t2t's when it is a DICOM file whose file meta ``ImplementationVersionName`` is
    t2t's (``T2T_<version>``, :data:`t2tcore.io.dicom_write.IMPLEMENTATION_VERSION`, any
    version); anything else (another program's DICOM, any other file, a link) is foreign.

    Parameters
    ----------
    folder : str or path-like
    at_most : int, optional
        Stop after this many (a home folder given by mistake is not walked to the end).

    Returns
    -------
    list of str
        Paths relative to ``folder``, in walking order (names sorted within each folder).
    """
    folder = Path(folder)
    return list(itertools.islice((f for f in _walk_files(folder) if not _written_by_t2t(folder / f)), at_most))
