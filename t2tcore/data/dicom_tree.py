"""What the data layouts share: the Grand Challenge's kernels and doses, folder and thickness labels, finding
DICOM files under a folder, and the names of virtual patients (:mod:`t2tcore.data.grand_challenge`,
:mod:`t2tcore.data.tcia`; :mod:`t2tcore.data.layout` re-exports all)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from t2tcore.errors import T2TError

__all__ = ["DOSES", "GC_ROOT_FOLDER", "KERNELS", "TCIA_COLLECTION", "check_root", "dicom_files", "is_virtual_patient",
           "series_folders", "thickness_label", "virtual_patients"]

KERNELS = ("B30", "D45")
"""Reconstruction kernels of the Grand Challenge: smooth B30 and sharp D45."""

DOSES = ("full", "quarter")
"""Dose levels of the Grand Challenge: 200 (full) and 50 (quarter) quality-reference mAs."""

GC_ROOT_FOLDER = "Training_Image_Data"
"""Top folder of the Grand Challenge image download (also written by the virtual cohort)."""

TCIA_COLLECTION = "LDCT-and-Projection-data"
"""TCIA collection name; the NBIA Data Retriever writes it as the top folder."""

_VIRTUAL_PATIENT = re.compile(r"^V\d{3,}$")
DICOM_SUFFIXES = {".ima", ".dcm", ".dicom"}


# --------------------------------------------------------------------------- helpers


def thickness_label(thickness: str | float | int) -> str:
    """Normalise a nominal thickness to the folder label used by the layout.

    Parameters
    ----------
    thickness : str or float or int
        ``1``, ``1.0``, ``"1mm"``, ``"1 mm"``, ``"1.0mm"`` ...

    Returns
    -------
    str
        ``"1mm"``, ``"3mm"``, or e.g. ``"1.5mm"``.

    Raises
    ------
    ValueError
        If ``thickness`` is not a positive number of millimetres.
    """
    if isinstance(thickness, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(?:mm)?\s*", thickness, re.IGNORECASE)
        if not m:
            raise ValueError(f"thickness must look like '1mm' or 3.0, got {thickness!r}")
        value = float(m.group(1))
    else:
        value = float(thickness)
    if not value > 0:
        raise ValueError(f"thickness must be positive, got {thickness!r}")
    return f"{value:g}mm"


def norm_kernel(kernel: str) -> str:
    k = str(kernel).strip().upper()
    if k not in KERNELS:
        raise ValueError(f"kernel must be one of {', '.join(KERNELS)}, got {kernel!r}")
    return k


def norm_dose(dose: str) -> str:
    d = str(dose).strip().lower()
    d = {"fd": "full", "qd": "quarter"}.get(d, d)
    if d not in DOSES:
        raise ValueError(f"dose must be one of {', '.join(DOSES)}, got {dose!r}")
    return d


def as_filter_set(value, norm) -> set[str] | None:
    if value is None:
        return None
    if isinstance(value, (str, int, float)):
        value = [value]
    return {norm(v) for v in value}


def looks_dicom(path: Path) -> bool:
    """True for a file named like DICOM, or extension-less with the DICM magic
    (:func:`pydicom.misc.is_dicom`, which reads the 132-byte preamble and prefix only)."""
    suffix = path.suffix.lower()
    if suffix in DICOM_SUFFIXES:
        return True
    if suffix:
        return False
    from pydicom.misc import is_dicom  # local: naming layouts does not need pydicom loaded

    try:
        return is_dicom(path)
    except OSError:
        return False


def dicom_files(folder) -> list[Path]:
    """The DICOM files directly in ``folder``, sorted by name.

    Files named ``*.IMA``, ``*.dcm`` or ``*.dicom`` count by name; extension-less files
    count when they carry the ``DICM`` magic. Hidden files are ignored. No header is parsed.

    Parameters
    ----------
    folder : str or os.PathLike

    Returns
    -------
    list of pathlib.Path
    """
    folder = Path(folder)
    return [f for f in sorted(folder.iterdir()) if f.is_file() and not f.name.startswith(".") and looks_dicom(f)]


def series_folders(root: Path) -> list[tuple[Path, int]]:
    """Every folder under ``root`` (itself included) that directly holds DICOM files."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        names = sorted(f for f in filenames if not f.startswith("."))
        if not names:
            continue
        n = sum(1 for f in names if Path(f).suffix.lower() in DICOM_SUFFIXES)
        if n == 0:
            # extension-less files: decide from the first one (cheap), count the rest by name
            no_ext = [f for f in names if not Path(f).suffix]
            if no_ext and looks_dicom(Path(dirpath) / no_ext[0]):
                n = len(no_ext)
        if n:
            found.append((Path(dirpath), n))
    return found


def check_root(root) -> Path:
    root = Path(root).expanduser()
    if not root.exists():
        raise T2TError(f"data folder {root} does not exist")
    if not root.is_dir():
        raise T2TError(f"data folder {root} is not a folder")
    return root


# --------------------------------------------------------------------------- virtual names


def virtual_patients(n: int, first: int = 1, prefix: str = "V") -> list[str]:
    """IDs of virtual patients: ``V001``, ``V002``, ... (never like a real patient).

    Parameters
    ----------
    n : int
        How many.
    first : int, optional
        Number of the first one (the training cohort starts at 501).
    prefix : str, optional
        Must be ``"V"``; real data sets use L, C and N.

    Returns
    -------
    list of str
    """
    if prefix != "V":
        raise ValueError(f"virtual patients are named V..., got prefix {prefix!r}")
    if n < 0 or first < 1:
        raise ValueError(f"need n >= 0 and first >= 1, got n={n}, first={first}")
    width = max(3, len(str(first + n - 1)))
    return [f"{prefix}{i:0{width}d}" for i in range(first, first + n)]


def is_virtual_patient(patient: str) -> bool:
    """True if ``patient`` is named like a virtual patient (``V`` and digits)."""
    return bool(_VIRTUAL_PATIENT.match(str(patient).strip().upper()))
