"""Where a chapter's data folder is: a given folder (relative paths from the book's root), or the book's
virtual cohort of the profile, made there when missing or out of date (where it lives is
:func:`t2tcore.scanner.cohorts.cohort_dir`'s answer)."""

from __future__ import annotations

import os
from pathlib import Path

from t2tcore.datasets.groups import DatasetError

__all__ = ["book_root", "resolve_data_root"]


def book_root(start: str | os.PathLike | None = None) -> Path:
    """The book's root folder: the first of ``start`` (default the working folder) and its
    parents that holds ``_toc.yml``.

    Raises
    ------
    DatasetError
        If there is none (the chapter is run outside the repository: pass absolute paths).
    """
    from t2tcore.scanner.cohorts import find_book_root

    here = Path(start or Path.cwd()).resolve()
    root = find_book_root(here)
    if root is not None:
        return root
    raise DatasetError(f"no _toc.yml in {here} or above: run the chapter inside the t2t repository, or pass absolute paths")


def resolve_data_root(data_root: str | os.PathLike | None, profile: str, *, root: str | os.PathLike | None = None) -> Path:
    """The data folder a chapter runs on (absolute).

    Parameters
    ----------
    data_root : str, os.PathLike or None
        None: the virtual cohort of ``profile`` in ``<root>/_build/data/virtual-<profile>``,
        made there if missing or out of date (:func:`t2tcore.scanner.cohorts.ensure_cohort`). A
        relative path is taken from ``root``.
    profile : str
        ``"smoke"``, ``"quick"`` or ``"paper"``.
    root : str or os.PathLike, optional
        The book's root (default :func:`book_root`).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    DatasetError
        If the folder does not exist.
    """
    if data_root is None:
        from t2tcore.scanner.cohorts import ensure_cohort

        base = Path(root) if root is not None else book_root()
        return ensure_cohort("ldct", profile, data_dir=base / "_build" / "data", progress=False)
    path = Path(data_root).expanduser()
    if not path.is_absolute():
        path = (Path(root) if root is not None else book_root()) / path
    if not path.is_dir():
        raise DatasetError(f"data folder {path} does not exist")
    return path
