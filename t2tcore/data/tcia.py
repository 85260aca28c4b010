"""The TCIA layout (LDCT-and-Projection-data, the paper's training set, thin slices only), as the NBIA Data
Retriever writes it (:mod:`t2tcore.data.layout` describes it)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from t2tcore.data.dicom_tree import TCIA_COLLECTION, as_filter_set, check_root, dicom_files, looks_dicom, series_folders
from t2tcore.data.grand_challenge import parse_gc
from t2tcore.errors import T2TError

__all__ = ["TrainingEntry", "find_training_series", "training_series_dir"]

_TCIA_PATIENT = re.compile(r"^[A-Za-z]\d{3,4}$")


@dataclass(frozen=True)
class TrainingEntry:
    """One image series in the TCIA (LDCT-and-Projection-data) layout.

    Attributes
    ----------
    patient : str
        Patient ID, upper case (``"C002"``, ``"L014"``, ``"V501"``); its first letter is
        the scan type in TCIA (N head, C chest, L abdomen).
    dose : str or None
        ``"full"`` or ``"low"`` when the folder name or series description says so.
    description : str
        The series folder name (or the series description for UID-named folders).
    path : pathlib.Path
        Folder holding the DICOM files.
    n_files : int
        Number of DICOM-looking files in ``path``.
    """

    patient: str
    dose: str | None
    description: str
    path: Path
    n_files: int = 0

    @property
    def scan_type(self) -> str:
        """First letter of the patient ID: ``"N"``, ``"C"``, ``"L"`` (``"V"`` for virtual)."""
        return self.patient[:1]



# --------------------------------------------------------------------------- TCIA training data


def _tcia_dose(text: str) -> str | None:
    t = text.lower()
    if re.search(r"\bfull\b", t):
        return "full"
    if re.search(r"\blow\b", t):
        return "low"
    return None


def _series_description(folder: Path) -> str:
    """SeriesDescription of the first DICOM file in ``folder`` (header only), or ''."""
    import pydicom  # local: layout discovery itself never needs it

    for f in sorted(folder.iterdir()):
        if f.is_file() and looks_dicom(f):
            try:
                ds = pydicom.dcmread(f, stop_before_pixels=True, specific_tags=["SeriesDescription"])
            except Exception:  # noqa: BLE001 - unreadable file: no description
                return ""
            return str(getattr(ds, "SeriesDescription", "") or "")
    return ""


def find_training_series(
    root,
    *,
    patient: str | Iterable[str] | None = None,
    dose: str | None = None,
) -> list[TrainingEntry]:
    """Find the image series of a TCIA LDCT-and-Projection-data download (or virtual stand-in).

    Parameters
    ----------
    root : str or os.PathLike
        The download folder (the one holding ``LDCT-and-Projection-data``, possibly inside
        a ``manifest-...`` folder), that folder itself, or a patient folder.
    patient : str or iterable of str, optional
        Keep only these patients.
    dose : str, optional
        ``"full"`` or ``"low"``.

    Returns
    -------
    list of TrainingEntry
        Sorted by patient and folder. Projection-data (DICOM-CT-PD) folders are skipped.

    Raises
    ------
    T2TError
        If ``root`` does not exist or holds no recognisable image series.
    """
    root = check_root(root)
    want_p = as_filter_set(patient, lambda p: str(p).strip().upper())
    if dose is not None and dose not in ("full", "low"):
        raise ValueError(f"dose must be 'full' or 'low', got {dose!r}")
    base = root.parent if root.parent != root else root
    entries = []
    any_found = False
    for folder, n in series_folders(root):
        parts = folder.relative_to(base).parts
        if parse_gc(parts, warn=False) is not None:
            continue  # a Grand-Challenge-layout series (a virtual cohort root holds both)
        pid = next((p.upper() for p in reversed(parts[:-1]) if _TCIA_PATIENT.match(p)), None)
        if pid is None:
            continue
        name = folder.name
        text = name
        if not re.search(r"images?|projections?", name, re.IGNORECASE):
            text = _series_description(folder) or name  # classic (UID) folder names
        if re.search(r"projection", text, re.IGNORECASE):
            continue
        any_found = True
        d = _tcia_dose(text)
        if (want_p and pid not in want_p) or (dose is not None and d != dose):
            continue
        entries.append(TrainingEntry(pid, d, text, folder, n))
    if not any_found:
        raise T2TError(
            f"no {TCIA_COLLECTION} image series found under {root}; expected folders like "
            f"{TCIA_COLLECTION}/C002/<study>/1.000000-Full dose images-31186/*.dcm "
            "(as the NBIA Data Retriever writes them)"
        )
    entries.sort(key=lambda e: (e.patient, str(e.path)))
    return entries


def training_series_dir(root, patient: str, *, dose: str = "full") -> Path:
    """Folder of one training series in the TCIA layout, as the virtual cohort writes it.

    Parameters
    ----------
    root : str or os.PathLike
        Cohort root; the series goes under ``root/LDCT-and-Projection-data``.
    patient : str
        Patient ID (``"V501"``).
    dose : str, optional
        ``"full"`` (default) or ``"low"``.

    Returns
    -------
    pathlib.Path
        e.g. ``root/LDCT-and-Projection-data/V501/01-01-2000-NA-virtual-00000/1.000000-Full dose images-00000``,
        shaped like the NBIA Data Retriever's descriptive names. Nothing is created.
    """
    p = str(patient).strip().upper()
    if not _TCIA_PATIENT.match(p):
        raise ValueError(f"patient ID must be a letter and 3-4 digits like 'V501', got {patient!r}")
    if dose not in ("full", "low"):
        raise ValueError(f"dose must be 'full' or 'low', got {dose!r}")
    series = f"1.000000-{dose.capitalize()} dose images-00000"
    return Path(root) / TCIA_COLLECTION / p / "01-01-2000-NA-virtual-00000" / series
