"""The Grand Challenge layout (2016 NIH-AAPM-Mayo Low Dose CT Grand Challenge, the paper's test set): one folder
per reconstruction, kernel, dose and patient, read tolerantly (:mod:`t2tcore.data.layout` describes it)."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from t2tcore.data.dicom_tree import (
    DOSES,
    GC_ROOT_FOLDER,
    KERNELS,
    as_filter_set,
    check_root,
    norm_dose,
    norm_kernel,
    series_folders,
    thickness_label,
)
from t2tcore.errors import SeriesWarning, T2TError

__all__ = ["SeriesEntry", "expected_layout_text", "find_series", "pairs", "parse_gc", "patients", "series_dir"]

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




def expected_layout_text() -> str:
    """One line describing the Grand Challenge layout, for error messages and reports."""
    return (
        f"expected folders like {GC_ROOT_FOLDER}/1mm B30/full_1mm/L067/full_1mm/*.IMA: "
        "a kernel folder '<1mm|3mm> <B30|D45>', a dose folder '<full|quarter>_<1mm|3mm>[_sharp]' "
        "and a patient folder such as L067 or V001"
    )


def parse_gc(rel_parts: tuple[str, ...], warn: bool = True) -> tuple[str, str, str, str] | None:
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
            dose = norm_dose(m.group("dose"))
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
    root = check_root(root)
    want_p = as_filter_set(patient, lambda p: str(p).strip().upper())
    want_k = as_filter_set(kernel, norm_kernel)
    want_d = as_filter_set(dose, norm_dose)
    want_t = as_filter_set(thickness, thickness_label)
    # parse the path from root's parent down, so that root itself may be e.g. "L067"
    base = root.parent if root.parent != root else root
    entries = []
    recognised = False
    for folder, n in series_folders(root):
        parsed = parse_gc(folder.relative_to(base).parts)
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
    k, d, t = norm_kernel(kernel), norm_dose(dose), thickness_label(thickness)
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
            f"{norm_kernel(kernel)} {norm_dose(dose)}: left out {', '.join(lonely)}", SeriesWarning, stacklevel=2
        )
    if not out:
        raise T2TError(
            f"no patient under {root} has both a {t_thin} and a {t_thick} {norm_kernel(kernel)} "
            f"{norm_dose(dose)}-dose series; {expected_layout_text()}"
        )
    return out
