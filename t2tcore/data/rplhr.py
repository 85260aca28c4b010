"""The RPLHR-CT folder layout: real 1 mm / 5 mm chest CT pairs as NIfTI files.

RPLHR-CT (Yu et al., MICCAI 2022; code ``smilenaxx/RPLHR-CT``) ships every case twice, as a
thin (1 mm) and a thick (5 mm) reconstruction of the same scan, split into training,
validation and test cases::

    ROOT/train/1mm/<case>.nii.gz    ROOT/train/5mm/<case>.nii.gz
    ROOT/val/1mm/<case>.nii.gz      ROOT/val/5mm/<case>.nii.gz
    ROOT/test/1mm/<case>.nii.gz     ROOT/test/5mm/<case>.nii.gz

In the authors' loader thick slice ``z`` of a case covers thin slices ``5z ... 5z+4``
(:func:`thin_indices`). ROOT may also be a folder above the split folders (a download
folder, the ``data/`` folder of the authors' code): :func:`find_root` looks up to three
levels down. Case names are the file names without ``.nii.gz`` (or ``.nii``).

Chapters read a tree with :func:`pairs` (the complete thin/thick pairs of a split) and
:func:`t2tcore.io.read_series` on each path; :func:`case_paths` says where a pair belongs
(to write one, as the tests do with the virtual scanner).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from t2tcore.errors import T2TError

__all__ = [
    "SPLITS",
    "THIN_LABEL",
    "THICK_LABEL",
    "RATIO",
    "THIN_MM",
    "THICK_MM",
    "RplhrCase",
    "find_root",
    "cases",
    "pairs",
    "case_paths",
    "thin_indices",
    "expected_layout_text",
]

SPLITS = ("train", "val", "test")
"""The splits, in the order of the authors' code: training, validation, test."""

THIN_LABEL = "1mm"
"""Folder of the thin (1 mm) volumes in each split."""

THICK_LABEL = "5mm"
"""Folder of the thick (5 mm) volumes in each split."""

RATIO = 5
"""Thin slices per thick slice in the authors' loader (thick slice z covers 5z ... 5z+4)."""

THIN_MM = 1.0
"""Nominal thickness of the thin slices, mm (the folder name; NIfTI stores no thickness)."""

THICK_MM = 5.0
"""Nominal thickness of the thick slices, mm (the folder name; NIfTI stores no thickness)."""

_SUFFIXES = (".nii.gz", ".nii")
_MAX_DEPTH = 3


@dataclass(frozen=True)
class RplhrCase:
    """One case of an RPLHR-CT tree.

    Attributes
    ----------
    split : str
        ``"train"``, ``"val"`` or ``"test"``.
    case : str
        Case name (file name without ``.nii.gz``).
    thin, thick : pathlib.Path or None
        The 1 mm and 5 mm NIfTI files; None where the file is missing.
    """

    split: str
    case: str
    thin: Path | None
    thick: Path | None

    @property
    def paired(self) -> bool:
        """Both the thin and the thick file are there."""
        return self.thin is not None and self.thick is not None


def expected_layout_text() -> str:
    """One line saying what an RPLHR-CT tree looks like (for error messages)."""
    return (f"expected ROOT/{{{','.join(SPLITS)}}}/{{{THIN_LABEL},{THICK_LABEL}}}/<case>.nii.gz "
            "as the RPLHR-CT download unpacks")


def _is_split_root(folder: Path) -> bool:
    return any((folder / s / THIN_LABEL).is_dir() or (folder / s / THICK_LABEL).is_dir() for s in SPLITS)


def find_root(root: str | os.PathLike) -> Path:
    """The folder holding the split folders: ``root`` itself or a folder up to three levels below.

    Parameters
    ----------
    root : str or path-like

    Returns
    -------
    pathlib.Path

    Raises
    ------
    T2TError
        ``root`` is not a folder, or no folder at or below it holds ``{train,val,test}/{1mm,5mm}``.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise T2TError(f"data folder {root} does not exist" if not root.exists() else f"{root} is not a folder")
    level = [root]
    for _ in range(_MAX_DEPTH + 1):
        found = [f for f in level if _is_split_root(f)]
        if found:
            if len(found) > 1:
                raise T2TError(f"{root} holds several RPLHR-CT trees: {', '.join(str(f) for f in found)}; give one")
            return found[0]
        level = [c for f in level for c in sorted(f.iterdir()) if c.is_dir() and not c.name.startswith(".")]
    raise T2TError(f"no RPLHR-CT tree in {root}; {expected_layout_text()}")


def _volumes(folder: Path) -> dict[str, Path]:
    """Case name -> NIfTI file directly in ``folder``."""
    if not folder.is_dir():
        return {}
    out: dict[str, Path] = {}
    for f in sorted(folder.iterdir()):
        if f.name.startswith(".") or not f.is_file():
            continue
        for suffix in _SUFFIXES:
            if f.name.lower().endswith(suffix):
                out.setdefault(f.name[: -len(suffix)], f)  # .nii.gz sorts before .nii: it wins
                break
    return out


def cases(root: str | os.PathLike, split: str | None = None) -> list[RplhrCase]:
    """Every case of one split (or of all splits), paired or not, sorted by split and name.

    Parameters
    ----------
    root : str or path-like
        The tree (see :func:`find_root`).
    split : {"train", "val", "test"}, optional
        One split; default all three.

    Returns
    -------
    list of RplhrCase
    """
    if split is not None and split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    base = find_root(root)
    out = []
    for s in SPLITS if split is None else (split,):
        thin, thick = _volumes(base / s / THIN_LABEL), _volumes(base / s / THICK_LABEL)
        for name in sorted(set(thin) | set(thick)):
            out.append(RplhrCase(s, name, thin.get(name), thick.get(name)))
    return out


def pairs(root: str | os.PathLike, split: str) -> list[RplhrCase]:
    """The complete thin/thick pairs of one split, sorted by case name.

    Parameters
    ----------
    root : str or path-like
        The tree (see :func:`find_root`).
    split : {"train", "val", "test"}

    Returns
    -------
    list of RplhrCase
        Every one has ``thin`` and ``thick``; read them with :func:`t2tcore.io.read_series`.
    """
    return [c for c in cases(root, split) if c.paired]


def case_paths(root: str | os.PathLike, split: str, case: str) -> tuple[Path, Path]:
    """Where the thin and thick files of a case belong: ``ROOT/<split>/{1mm,5mm}/<case>.nii.gz``.

    Parameters
    ----------
    root : str or path-like
        The tree's root (need not exist yet).
    split : {"train", "val", "test"}
    case : str
        Case name (no path separators, no dots).

    Returns
    -------
    (pathlib.Path, pathlib.Path)
        The thin and the thick path.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    if not case or "/" in case or "\\" in case or "." in case:
        raise ValueError(f"case must be a plain name without '/', '\\' or '.', got {case!r}")
    base = Path(root)
    return base / split / THIN_LABEL / f"{case}.nii.gz", base / split / THICK_LABEL / f"{case}.nii.gz"


def thin_indices(z: int, ratio: int = RATIO) -> range:
    """The thin slices that thick slice ``z`` covers in the authors' loader: ``ratio*z ... ratio*z + ratio-1``.

    Parameters
    ----------
    z : int
        Index of the thick slice (>= 0).
    ratio : int, optional
        Thin slices per thick slice (5 in RPLHR-CT).

    Returns
    -------
    range
    """
    if z < 0 or ratio < 1:
        raise ValueError(f"need z >= 0 and ratio >= 1, got z={z}, ratio={ratio}")
    return range(ratio * z, ratio * z + ratio)
