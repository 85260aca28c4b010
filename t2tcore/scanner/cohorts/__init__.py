"""The virtual cohorts: data made by the virtual scanner, written one way, found in one place.

One skeleton (:mod:`~t2tcore.scanner.cohorts.writer`: plan, make each patient, manifest last, all
or nothing, kept when up to date) and three kinds:

``ldct`` (:mod:`~t2tcore.scanner.cohorts.ldct`)
    The stand-in of the paper's data: Grand Challenge test patients (thin and thick, two kernels,
    two doses) and TCIA training patients; chapters 01-06.
``fibrosis`` (:mod:`~t2tcore.scanner.cohorts.fibrosis`, its true models in
:mod:`~t2tcore.scanner.cohorts.fibrosis_models`)
    Chest CT with a known severity, airway truth and survival; chapter 07.
``rplhr`` (:mod:`~t2tcore.scanner.cohorts.rplhr`)
    A tiny RPLHR-CT-shaped tree of 1 mm / 5 mm NIfTI pairs, for tests and trial runs.

Where the book keeps a profile's cohort is said once, here: :func:`cohort_dir`
(``<book root>/_build/data/virtual-<profile>``, ``.../virtual-fibrosis-<profile>``), and
:func:`ensure_cohort` makes it there (or keeps it). ``book/build.py``, the chapters' data access
(:func:`t2tcore.datasets.roots.resolve_data_root`) and chapter 07
(:func:`t2tcore.studies.clinical_report.resolve_cohort`) all ask these two.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

from t2tcore.scanner.cohorts.writer import MANIFEST_NAME, read_manifest  # noqa: F401

__all__ = ["KINDS", "MANIFEST_NAME", "cohort_dir", "ensure_cohort", "find_book_root", "is_cohort_up_to_date",
           "read_manifest"]

#: kind -> (folder name under the book's data folder, module, maker, up-to-date check). The makers take
#: ``(profile, out_dir, *, force, progress, device)``, the checks ``(profile, out_dir)``.
KINDS = {
    "ldct": ("virtual-{profile}", "t2tcore.scanner.cohorts.ldct", "make_cohort", "is_up_to_date"),
    "fibrosis": ("virtual-fibrosis-{profile}", "t2tcore.scanner.cohorts.fibrosis", "make_fibrosis_cohort",
                 "is_fibrosis_up_to_date"),
}


def find_book_root(start: str | os.PathLike | None = None) -> Path | None:
    """The first of ``start`` (default the working folder) and its parents that holds ``_toc.yml``, or None."""
    here = Path(start or Path.cwd()).resolve()
    return next((p for p in (here, *here.parents) if (p / "_toc.yml").is_file()), None)


def _kind(kind: str):
    if kind not in KINDS:
        raise ValueError(f"unknown cohort kind {kind!r}; known: {', '.join(KINDS)}")
    pattern, module, maker, check = KINDS[kind]
    mod = importlib.import_module(module)
    return pattern, getattr(mod, maker), getattr(mod, check)


def cohort_dir(kind: str, profile: str, data_dir: str | os.PathLike | None = None) -> Path:
    """Where the book keeps the virtual cohort of ``kind`` (``"ldct"``, ``"fibrosis"``) and ``profile``.

    Parameters
    ----------
    kind : str
        A key of :data:`KINDS`.
    profile : str
        ``"smoke"``, ``"quick"`` or ``"paper"``.
    data_dir : str or path-like, optional
        The book's data folder; default ``<book root>/_build/data`` (:func:`find_book_root`), or
        ``_build/data`` in the working folder outside a book.

    Returns
    -------
    pathlib.Path
        E.g. ``_build/data/virtual-quick``, ``_build/data/virtual-fibrosis-quick``.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown cohort kind {kind!r}; known: {', '.join(KINDS)}")
    if data_dir is None:
        root = find_book_root()
        data_dir = (root if root is not None else Path()) / "_build" / "data"
    return Path(data_dir) / KINDS[kind][0].format(profile=profile)


def is_cohort_up_to_date(kind: str, profile: str, out_dir: str | os.PathLike | None = None) -> bool:
    """True when the cohort of ``kind`` and ``profile`` in ``out_dir`` (default :func:`cohort_dir`) is complete and
    made with the current spec (profile, scanner, source code)."""
    _, _, check = _kind(kind)
    out = cohort_dir(kind, profile) if out_dir is None else Path(out_dir)
    return out.is_dir() and check(profile, out)


def ensure_cohort(kind: str, profile: str, out_dir: str | os.PathLike | None = None, *,
                  data_dir: str | os.PathLike | None = None, force: bool = False, progress: bool = True,
                  device=None) -> Path:
    """The virtual cohort of ``kind`` and ``profile``, made in ``out_dir`` unless an up-to-date one is there.

    Parameters
    ----------
    kind : str
        ``"ldct"`` or ``"fibrosis"``.
    profile : str
    out_dir : str or path-like, optional
        Default :func:`cohort_dir` (``kind``, ``profile``, ``data_dir``).
    data_dir : str or path-like, optional
        See :func:`cohort_dir`.
    force, progress, device
        As the kind's maker (:func:`t2tcore.scanner.cohorts.ldct.make_cohort`,
        :func:`t2tcore.scanner.cohorts.fibrosis.make_fibrosis_cohort`).

    Returns
    -------
    pathlib.Path
        The cohort folder, absolute.
    """
    _, make, _ = _kind(kind)
    out = cohort_dir(kind, profile, data_dir) if out_dir is None else Path(out_dir)
    return Path(make(profile, out, force=force, progress=progress, device=device))
