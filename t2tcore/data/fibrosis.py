"""The folder of a clinical cohort (virtual or real) and how it is read: :func:`load_cohort`.

One layout for the virtual fibrosis cohort (:mod:`t2tcore.scanner.cohorts.fibrosis`) and for a real
cohort, so chapter 07 runs on either (``t2tcore.clinical.layout`` is the name the clinical code
imports it by)::

    ROOT/
      survival.csv                         one row per patient (required; columns below)
      images/<patient_id>/thick/           the thick series: a DICOM folder, or
      images/<patient_id>/thick.nii.gz     ... a NIfTI file (thick.nii too)       (required)
      images/<patient_id>/thin/            thin reconstruction of the same scan   (optional)
      images/<patient_id>/airway_truth.nii.gz
                                           true airway lumen on the thin grid     (optional)
      sr_train/<id>/thin/                  thin series of OTHER patients to train the SR
                                           models on (optional; DICOM or thin.nii.gz)
      truth.csv, cohort_manifest.json      virtual cohort only: the known truth

``survival.csv`` columns (:data:`SURVIVAL_COLUMNS`):

``patient_id``
    Text; names the folder ``images/<patient_id>``.
``time``
    Follow-up time, > 0, in one unit for all patients (the virtual cohort: years).
``event``
    1 if death was observed at ``time``, 0 if the patient was censored then.

Other columns are kept and ignored. Every patient must have both a survival row and a thick
series: patients without images and images without a survival row are an error that names
them (:class:`~t2tcore.errors.CohortError`), never a silent drop.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from t2tcore.errors import CohortError

__all__ = [
    "SURVIVAL_CSV",
    "SURVIVAL_COLUMNS",
    "TRUTH_CSV",
    "IMAGES_DIR",
    "SR_TRAIN_DIR",
    "TRUTH_MASK",
    "ClinicalCohort",
    "image_path",
    "thin_series_in",
    "load_cohort",
    "load_survival",
]

SURVIVAL_CSV = "survival.csv"
SURVIVAL_COLUMNS = ("patient_id", "time", "event")
TRUTH_CSV = "truth.csv"
IMAGES_DIR = "images"
SR_TRAIN_DIR = "sr_train"
TRUTH_MASK = "airway_truth.nii.gz"

_NIFTI = (".nii.gz", ".nii")


def _names(items, limit: int = 12) -> str:
    items = sorted(str(i) for i in items)
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def image_path(folder: str | os.PathLike, name: str) -> Path | None:
    """The series ``name`` in a patient folder: ``folder/name/`` (DICOM) or ``folder/name.nii[.gz]``.

    Returns None when there is none; a folder and a NIfTI file of the same name is an error.
    """
    folder = Path(folder)
    found = [p for p in [folder / name, *(folder / (name + s) for s in _NIFTI)] if p.exists()]
    found = [p for p in found if p.is_file() or (p.is_dir() and any(p.iterdir()))]
    if len(found) > 1:
        raise CohortError(f"{folder}: both {' and '.join(p.name for p in found)}; keep one {name} series")
    return found[0] if found else None


def thin_series_in(folder: str | os.PathLike) -> tuple[list[Path], dict]:
    """Thin series of a folder of patients: ``<id>/thin`` (or ``<id>/thin.nii.gz``), else each
    sub-folder or NIfTI file is one thin series; with ``<id>/airway_truth.nii.gz`` where present.

    Returns
    -------
    (paths, truths) : list of pathlib.Path, dict of path -> true mask path
        Sorted by name.

    Raises
    ------
    CohortError
        No such folder.
    """
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise CohortError(f"{folder}: no such folder of thin series")
    paths, truths = [], {}
    for p in sorted(folder.iterdir()):
        if p.name.startswith("."):
            continue
        inner = image_path(p, "thin") if p.is_dir() else None
        if inner is not None:
            paths.append(inner)
            if (p / TRUTH_MASK).is_file():
                truths[inner] = p / TRUTH_MASK
        elif p.is_dir() or p.name.endswith(_NIFTI):
            paths.append(p)
    return paths, truths


def load_survival(path: str | os.PathLike):
    """Read and check a survival table (see the module docstring).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``patient_id`` (str), with ``time`` (float) and ``event`` (int 0/1) and
        any other columns as read.

    Raises
    ------
    CohortError
        Missing file or column, an empty patient ID (naming the lines), duplicate patients,
        a time that is not a finite positive number or an event that is not 0/1 (naming the
        patients and lines).
    """
    import numpy as np
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise CohortError(f"no survival table at {path} (a CSV with columns {', '.join(SURVIVAL_COLUMNS)})")
    try:
        df = pd.read_csv(path, dtype={"patient_id": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise CohortError(f"{path}: not a readable CSV ({str(exc).splitlines()[0]})") from None
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in SURVIVAL_COLUMNS if c not in df.columns]
    if missing:
        raise CohortError(f"{path}: missing column(s) {', '.join(missing)} (needs {', '.join(SURVIVAL_COLUMNS)}; "
                          f"has {', '.join(df.columns) or 'none'})")
    if df.empty:
        raise CohortError(f"{path}: no patients")
    lines = df.index.to_numpy() + 2  # the line of each row in the file (line 1: the header)
    ids = df["patient_id"].where(df["patient_id"].isna(), df["patient_id"].astype(str).str.strip())
    empty = lines[(ids.isna() | (ids == "")).to_numpy()]
    if len(empty):
        raise CohortError(f"{path}: empty patient_id on line(s) {', '.join(str(n) for n in empty[:12])}"
                          + (f" and {len(empty) - 12} more" if len(empty) > 12 else ""))
    df["patient_id"] = ids
    dup = df["patient_id"][df["patient_id"].duplicated()].unique()
    if len(dup):
        raise CohortError(f"{path}: patient(s) listed more than once: {_names(dup)}")
    time = pd.to_numeric(df["time"], errors="coerce")
    bad = ~((time > 0) & np.isfinite(time))
    if bad.any():
        rows = [f"{pid} (line {n})" for pid, n in zip(df["patient_id"][bad], lines[bad.to_numpy()])]
        raise CohortError(f"{path}: time must be a number > 0; not for {_names(rows)} (finite: inf is no time)")
    event = pd.to_numeric(df["event"], errors="coerce")
    bad = df["patient_id"][~event.isin([0, 1])]
    if len(bad):
        raise CohortError(f"{path}: event must be 0 (censored) or 1 (death); not for {_names(bad)}")
    df["time"], df["event"] = time.astype(float), event.astype(int)
    return df.set_index("patient_id")


@dataclass
class ClinicalCohort:
    """A cohort folder, checked: who is in it and where their series are.

    Attributes
    ----------
    root : pathlib.Path
    survival : pandas.DataFrame
        :func:`load_survival` of ``survival.csv``, rows in :attr:`patients` order.
    patients : list of str
        Sorted patient IDs (each has a survival row and a thick series).
    thick, thin, truth : dict of str to pathlib.Path
        Per patient: the thick series; the thin series and the true airway mask where they
        exist (patients without them are absent from the dict).
    sr_train : list of pathlib.Path
        Thin series for SR training (``sr_train/<id>/thin``), sorted.
    sr_train_truth : dict of pathlib.Path to pathlib.Path
        True airway masks of those thin series, where present (segmentation tuning).
    truth_table : pandas.DataFrame or None
        ``truth.csv`` (virtual cohorts), indexed by ``patient_id``.
    """

    root: Path
    survival: object
    patients: list
    thick: dict
    thin: dict = field(default_factory=dict)
    truth: dict = field(default_factory=dict)
    sr_train: list = field(default_factory=list)
    sr_train_truth: dict = field(default_factory=dict)
    truth_table: object = None

    @property
    def has_truth(self) -> bool:
        """True when every patient has a thin series and a true airway mask (a virtual cohort)."""
        return bool(self.patients) and all(p in self.thin and p in self.truth for p in self.patients)


def load_cohort(root: str | os.PathLike) -> ClinicalCohort:
    """Find the patients and series of a cohort folder and check them against ``survival.csv``.

    Parameters
    ----------
    root : str or path-like
        The cohort folder (see the module docstring).

    Returns
    -------
    ClinicalCohort

    Raises
    ------
    CohortError
        No such folder, no ``images/``, a bad survival table, a patient folder without a
        thick series, patients without images or images without a survival row (all named).
    """
    import pandas as pd

    root = Path(root).expanduser()
    if not root.is_dir():
        raise CohortError(f"{root}: no such cohort folder")
    survival = load_survival(root / SURVIVAL_CSV)
    images = root / IMAGES_DIR
    if not images.is_dir():
        raise CohortError(f"{root} has no {IMAGES_DIR}/ folder (one sub-folder per patient with a thick series)")
    folders = {p.name: p for p in images.iterdir() if p.is_dir() and not p.name.startswith(".")}
    thick, thin, truth, no_thick = {}, {}, {}, []
    for pid, folder in folders.items():
        t = image_path(folder, "thick")
        if t is None:
            no_thick.append(pid)
            continue
        thick[pid] = t
        th = image_path(folder, "thin")
        if th is not None:
            thin[pid] = th
        if (folder / TRUTH_MASK).is_file():
            truth[pid] = folder / TRUTH_MASK
    if no_thick:
        raise CohortError(f"{images}: no thick series (thick/ DICOM folder or thick.nii.gz) for {_names(no_thick)}")
    no_images = sorted(set(survival.index) - set(thick))
    no_row = sorted(set(thick) - set(survival.index))
    if no_images or no_row:
        parts = []
        if no_images:
            parts.append(f"{len(no_images)} patient(s) in {SURVIVAL_CSV} without images: {_names(no_images)}")
        if no_row:
            parts.append(f"{len(no_row)} patient(s) with images but no row in {SURVIVAL_CSV}: {_names(no_row)}")
        raise CohortError(f"{root}: " + "; ".join(parts))
    patients = sorted(thick)
    sr_train, sr_truth = thin_series_in(root / SR_TRAIN_DIR) if (root / SR_TRAIN_DIR).is_dir() else ([], {})
    truth_table = None
    if (root / TRUTH_CSV).is_file():
        truth_table = pd.read_csv(root / TRUTH_CSV, dtype={"patient_id": str}).set_index("patient_id")
    return ClinicalCohort(root, survival.loc[patients], patients, thick, thin, truth, sr_train, sr_truth, truth_table)
