"""Folder layouts of the paper's data sets, shared by the real data and the virtual cohort.

Two layouts are understood:

**Grand Challenge layout** (2016 NIH-AAPM-Mayo Low Dose CT Grand Challenge, the paper's
test set) -- one folder per reconstruction, kernel, dose, patient::

    ROOT/Training_Image_Data/1mm B30/full_1mm/L067/full_1mm/*.IMA
    ROOT/Training_Image_Data/1mm B30/quarter_1mm/L067/quarter_1mm/*.IMA
    ROOT/Training_Image_Data/1mm D45/full_1mm_sharp/L067/full_1mm_sharp/*.IMA
    ROOT/Training_Image_Data/3mm B30/full_3mm/L067/full_3mm/*.IMA
    ROOT/Training_Image_Data/3mm D45/quarter_3mm_sharp/L067/quarter_3mm_sharp/*.IMA

The sharp kernel (D45) is marked by ``_sharp`` in the dose folders of the real download.
Reading is tolerant: folder names are matched case-insensitively wherever they sit below
ROOT (extra or missing wrapper folders are fine, ``Traning_Image_Data`` or no top folder
at all, ``FD``/``QD`` for ``full``/``quarter``, suffixes such as ``_sorted``), the kernel
is taken from a ``<thickness> <kernel>`` folder when there is one and from ``_sharp``
otherwise, and files may be ``.IMA``, ``.dcm`` or extension-less DICOM.

**TCIA layout** (LDCT-and-Projection-data, the paper's training set, thin slices only), as
the NBIA Data Retriever writes it with descriptive directory names::

    ROOT/LDCT-and-Projection-data/C002/08-30-2018-NA-NA-09658/1.000000-Full dose images-31186/1-001.dcm

Image series are recognised by ``images`` in the series folder name (projection-data
folders are skipped) and the dose by ``full``/``low`` in it; with classic (UID) folder
names the series description in the first file's header is used instead.

The virtual cohort (:mod:`t2tcore.scanner.cohort`) writes both layouts with patients named
``V001``, ``V002``, ... -- never like real patients -- through :func:`series_dir` and
:func:`training_series_dir`, so that every notebook reads real and virtual data with the
same functions (:func:`find_series`, :func:`pairs`, :func:`find_training_series`).
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from t2tcore.errors import SeriesWarning, T2TError

__all__ = [
    "KERNELS",
    "DOSES",
    "GC_ROOT_FOLDER",
    "TCIA_COLLECTION",
    "SeriesEntry",
    "TrainingEntry",
    "find_series",
    "series_dir",
    "patients",
    "pairs",
    "find_training_series",
    "training_series_dir",
    "virtual_patients",
    "is_virtual_patient",
    "thickness_label",
    "expected_layout_text",
    "dicom_files",
]

KERNELS = ("B30", "D45")
"""Reconstruction kernels of the Grand Challenge: smooth B30 and sharp D45."""

DOSES = ("full", "quarter")
"""Dose levels of the Grand Challenge: 200 (full) and 50 (quarter) quality-reference mAs."""

GC_ROOT_FOLDER = "Training_Image_Data"
"""Top folder of the Grand Challenge image download (also written by the virtual cohort)."""

TCIA_COLLECTION = "LDCT-and-Projection-data"
"""TCIA collection name; the NBIA Data Retriever writes it as the top folder."""

_SHARP_KERNEL = "D45"

# "1mm B30", "3 mm d45", "1mm_B30", "B30 1mm"
_KERNEL_DIR = re.compile(
    r"^(?:(?P<t1>\d+(?:\.\d+)?)\s*mm[\s_-]*(?P<k1>b30|d45)|(?P<k2>b30|d45)[\s_-]*(?P<t2>\d+(?:\.\d+)?)\s*mm)"
    r"(?:[\s_-].*)?$",
    re.IGNORECASE,
)
# "full_1mm", "quarter_3mm_sharp", "FD_1mm_sharp", "full_3mm_sorted"
_DOSE_DIR = re.compile(
    r"^(?P<dose>full|quarter|fd|qd)[\s_-]*(?P<t>\d+(?:\.\d+)?)\s*mm(?P<rest>(?:[\s_-].*)?)$",
    re.IGNORECASE,
)
_PATIENT = re.compile(r"^[A-Za-z]\d{3,4}$")
_VIRTUAL_PATIENT = re.compile(r"^V\d{3,}$")
_TCIA_PATIENT = re.compile(r"^[A-Za-z]\d{3,4}$")
_DICOM_SUFFIXES = {".ima", ".dcm", ".dicom"}


@dataclass(frozen=True)
class SeriesEntry:
    """One reconstruction of one patient in the Grand Challenge layout.

    Attributes
    ----------
    patient : str
        Patient ID as in the folder name, upper case (``"L067"``, ``"V001"``).
    kernel : str
        ``"B30"`` or ``"D45"``.
    dose : str
        ``"full"`` or ``"quarter"``.
    thickness_label : str
        Nominal slice thickness as labelled by the folders, ``"1mm"`` or ``"3mm"``.
    path : pathlib.Path
        Folder holding the DICOM files of the series.
    n_files : int
        Number of DICOM-looking files in ``path`` (by name; headers are not read here).
    """

    patient: str
    kernel: str
    dose: str
    thickness_label: str
    path: Path
    n_files: int = 0

    @property
    def key(self) -> tuple[str, str, str, str]:
        """``(patient, kernel, dose, thickness_label)``."""
        return (self.patient, self.kernel, self.dose, self.thickness_label)


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


def _norm_kernel(kernel: str) -> str:
    k = str(kernel).strip().upper()
    if k not in KERNELS:
        raise ValueError(f"kernel must be one of {', '.join(KERNELS)}, got {kernel!r}")
    return k


def _norm_dose(dose: str) -> str:
    d = str(dose).strip().lower()
    d = {"fd": "full", "qd": "quarter"}.get(d, d)
    if d not in DOSES:
        raise ValueError(f"dose must be one of {', '.join(DOSES)}, got {dose!r}")
    return d


def _as_set(value, norm) -> set[str] | None:
    if value is None:
        return None
    if isinstance(value, (str, int, float)):
        value = [value]
    return {norm(v) for v in value}


def _looks_dicom(path: Path) -> bool:
    """True for a file named like DICOM, or extension-less with the DICM magic
    (:func:`pydicom.misc.is_dicom`, which reads the 132-byte preamble and prefix only)."""
    suffix = path.suffix.lower()
    if suffix in _DICOM_SUFFIXES:
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
    return [f for f in sorted(folder.iterdir()) if f.is_file() and not f.name.startswith(".") and _looks_dicom(f)]


def _series_folders(root: Path) -> list[tuple[Path, int]]:
    """Every folder under ``root`` (itself included) that directly holds DICOM files."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        names = sorted(f for f in filenames if not f.startswith("."))
        if not names:
            continue
        n = sum(1 for f in names if Path(f).suffix.lower() in _DICOM_SUFFIXES)
        if n == 0:
            # extension-less files: decide from the first one (cheap), count the rest by name
            no_ext = [f for f in names if not Path(f).suffix]
            if no_ext and _looks_dicom(Path(dirpath) / no_ext[0]):
                n = len(no_ext)
        if n:
            found.append((Path(dirpath), n))
    return found


def _check_root(root) -> Path:
    root = Path(root).expanduser()
    if not root.exists():
        raise T2TError(f"data folder {root} does not exist")
    if not root.is_dir():
        raise T2TError(f"data folder {root} is not a folder")
    return root


def expected_layout_text() -> str:
    """One line describing the Grand Challenge layout, for error messages and reports."""
    return (
        f"expected folders like {GC_ROOT_FOLDER}/1mm B30/full_1mm/L067/full_1mm/*.IMA: "
        "a kernel folder '<1mm|3mm> <B30|D45>', a dose folder '<full|quarter>_<1mm|3mm>[_sharp]' "
        "and a patient folder such as L067 or V001"
    )


def _parse_gc(rel_parts: tuple[str, ...], warn: bool = True) -> tuple[str, str, str, str] | None:
    """``(patient, kernel, dose, label)`` from the folder names below the root, or None."""
    patient = dose = label = kernel = None
    kdir_kernel = kdir_label = None
    sharp = False
    for part in rel_parts:
        name = part.strip()
        if _PATIENT.match(name):
            patient = name.upper()
            continue
        m = _DOSE_DIR.match(name)
        if m:
            dose = _norm_dose(m.group("dose"))
            label = thickness_label(m.group("t"))
            sharp = "sharp" in m.group("rest").lower()
            continue
        m = _KERNEL_DIR.match(name)
        if m:
            kdir_kernel = (m.group("k1") or m.group("k2")).upper()
            kdir_label = thickness_label(m.group("t1") or m.group("t2"))
    if patient is None or dose is None:
        return None
    if kdir_kernel is not None:
        if kdir_label != label:
            if not warn:
                return None
            warnings.warn(
                f"skipping {'/'.join(rel_parts)}: kernel folder says {kdir_label}, dose folder says {label}",
                SeriesWarning,
                stacklevel=3,
            )
            return None
        kernel = kdir_kernel
    else:
        kernel = _SHARP_KERNEL if sharp else "B30"
    return patient, kernel, dose, label


# --------------------------------------------------------------------------- Grand Challenge


def find_series(
    root,
    *,
    patient: str | Iterable[str] | None = None,
    kernel: str | Iterable[str] | None = None,
    dose: str | Iterable[str] | None = None,
    thickness: str | float | Iterable | None = None,
) -> list[SeriesEntry]:
    """Find the series of a Grand-Challenge-layout folder (real or virtual).

    Only folder and file names are looked at (no DICOM header is read), so this is fast
    even on the full download.

    Parameters
    ----------
    root : str or os.PathLike
        The download or cohort folder: the folder holding ``Training_Image_Data``, that
        folder itself, or any folder below it (e.g. ``.../1mm B30``).
    patient, kernel, dose, thickness : str or iterable, optional
        Keep only these patients (``"L067"``), kernels (``"B30"``/``"D45"``), doses
        (``"full"``/``"quarter"``) and nominal thicknesses (``"1mm"``, ``3``, ``3.0``).
        Case does not matter.

    Returns
    -------
    list of SeriesEntry
        Sorted by patient, kernel, dose, thickness. Empty if the filters exclude all. The
        same key may appear twice if the folder holds a copy of a series.

    Raises
    ------
    T2TError
        If ``root`` does not exist, or nothing under it looks like the layout (the
        message says what is expected).
    ValueError
        If a filter value is not a known kernel, dose or thickness.
    """
    root = _check_root(root)
    want_p = _as_set(patient, lambda p: str(p).strip().upper())
    want_k = _as_set(kernel, _norm_kernel)
    want_d = _as_set(dose, _norm_dose)
    want_t = _as_set(thickness, thickness_label)
    # parse the path from root's parent down, so that root itself may be e.g. "L067"
    base = root.parent if root.parent != root else root
    entries = []
    recognised = False
    for folder, n in _series_folders(root):
        parsed = _parse_gc(folder.relative_to(base).parts)
        if parsed is None:
            continue
        recognised = True
        p, k, d, t = parsed
        if (want_p and p not in want_p) or (want_k and k not in want_k):
            continue
        if (want_d and d not in want_d) or (want_t and t not in want_t):
            continue
        entries.append(SeriesEntry(p, k, d, t, folder, n))
    if not recognised:
        raise T2TError(f"no LDCT Grand Challenge series found under {root}; {expected_layout_text()}")
    entries.sort(key=lambda e: (e.key, str(e.path)))
    return entries


def series_dir(root, patient: str, kernel: str, dose: str, thickness: str | float) -> Path:
    """Folder of one series in the Grand Challenge layout, as the virtual cohort writes it.

    Parameters
    ----------
    root : str or os.PathLike
        Cohort root; the series goes under ``root/Training_Image_Data``.
    patient : str
        Patient ID (``"V001"``).
    kernel : str
        ``"B30"`` or ``"D45"``.
    dose : str
        ``"full"`` or ``"quarter"``.
    thickness : str or float
        Nominal thickness, ``"1mm"``/``1.0`` or ``"3mm"``/``3.0``.

    Returns
    -------
    pathlib.Path
        e.g. ``root/Training_Image_Data/3mm D45/quarter_3mm_sharp/V001/quarter_3mm_sharp``
        (``_sharp`` for D45, as in the real download). Nothing is created.

    Raises
    ------
    ValueError
        If an argument is not a known kernel, dose or thickness, or the patient ID is not
        a single folder name.
    """
    k, d, t = _norm_kernel(kernel), _norm_dose(dose), thickness_label(thickness)
    p = str(patient).strip()
    if not _PATIENT.match(p):
        raise ValueError(f"patient ID must be a letter and 3-4 digits like 'V001', got {patient!r}")
    leaf = f"{d}_{t}" + ("_sharp" if k == _SHARP_KERNEL else "")
    return Path(root) / GC_ROOT_FOLDER / f"{t} {k}" / leaf / p.upper() / leaf


def patients(root, **filters) -> list[str]:
    """Sorted patient IDs that have at least one series matching ``filters``.

    Parameters
    ----------
    root : str or os.PathLike
        As for :func:`find_series`.
    **filters
        ``kernel``, ``dose``, ``thickness`` (and ``patient``) as for :func:`find_series`.

    Returns
    -------
    list of str
    """
    return sorted({e.patient for e in find_series(root, **filters)})


def pairs(
    root,
    kernel: str,
    dose: str,
    *,
    thin: str | float = "1mm",
    thick: str | float = "3mm",
    patient: str | Iterable[str] | None = None,
) -> list[tuple[str, Path, Path]]:
    """Thin/thick series pairs of each patient for one kernel and dose.

    Parameters
    ----------
    root : str or os.PathLike
        As for :func:`find_series`.
    kernel : str
        ``"B30"`` or ``"D45"``.
    dose : str
        ``"full"`` or ``"quarter"``.
    thin, thick : str or float, optional
        Nominal thicknesses of the pair (default ``"1mm"`` and ``"3mm"``).
    patient : str or iterable of str, optional
        Restrict to these patients.

    Returns
    -------
    list of (str, pathlib.Path, pathlib.Path)
        ``(patient, thin_dir, thick_dir)`` sorted by patient. Patients that have only one
        of the two are left out with a :class:`~t2tcore.errors.SeriesWarning`.

    Raises
    ------
    T2TError
        If no patient has both series, or a patient has two copies of one series.
    """
    t_thin, t_thick = thickness_label(thin), thickness_label(thick)
    entries = find_series(root, kernel=kernel, dose=dose, thickness=[t_thin, t_thick], patient=patient)
    by_key: dict[tuple[str, str], Path] = {}
    for e in entries:
        key = (e.patient, e.thickness_label)
        if key in by_key:
            raise T2TError(
                f"{e.patient} {e.kernel} {e.dose} {e.thickness_label} is in two folders: "
                f"{by_key[key]} and {e.path}; remove one"
            )
        by_key[key] = e.path
    out, lonely = [], []
    for p in sorted({e.patient for e in entries}):
        a, b = by_key.get((p, t_thin)), by_key.get((p, t_thick))
        if a is not None and b is not None:
            out.append((p, a, b))
        else:
            lonely.append(f"{p} (no {t_thick if a is not None else t_thin})")
    if lonely:
        warnings.warn(
            f"{_norm_kernel(kernel)} {_norm_dose(dose)}: left out {', '.join(lonely)}", SeriesWarning, stacklevel=2
        )
    if not out:
        raise T2TError(
            f"no patient under {root} has both a {t_thin} and a {t_thick} {_norm_kernel(kernel)} "
            f"{_norm_dose(dose)}-dose series; {expected_layout_text()}"
        )
    return out


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
        if f.is_file() and _looks_dicom(f):
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
    root = _check_root(root)
    want_p = _as_set(patient, lambda p: str(p).strip().upper())
    if dose is not None and dose not in ("full", "low"):
        raise ValueError(f"dose must be 'full' or 'low', got {dose!r}")
    base = root.parent if root.parent != root else root
    entries = []
    any_found = False
    for folder, n in _series_folders(root):
        parts = folder.relative_to(base).parts
        if _parse_gc(parts, warn=False) is not None:
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
