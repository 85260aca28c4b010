"""Where the SR chapters get their data: one function per question, one branch per data set.

* :func:`test_cases` — the paired real thin / real thick series SR models are tested on
  (one :class:`TestCase` per patient, kernel and dose).
* :func:`training_paths` — the thin series SR models are trained on.

``dataset="ldct_gc"``: the paper's setting, read through :mod:`t2tcore.data.layout` — test pairs
in the 2016 LDCT Grand Challenge layout (1 mm and 3 mm, kernels B30/D45, full/quarter dose),
training series in the TCIA LDCT-and-Projection-data layout. The virtual cohort
(``t2t data virtual``) writes both layouts under one root.

``dataset="rplhr_ct"`` (RPLHR-CT, real 1 mm / 5 mm NIfTI pairs) is not wired in yet: adding it
is one branch in each function (its train split for :func:`training_paths`, its test split
as pairs for :func:`test_cases`, with kernel and dose ``"-"``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from t2tcore.errors import SeriesWarning
from t2tcore.sr.errors import SRError

__all__ = ["DATASETS", "TestCase", "test_cases", "training_paths"]

#: Data sets the SR chapters know.
DATASETS = ("ldct_gc", "rplhr_ct")


@dataclass(frozen=True)
class TestCase:
    """One real thin / real thick pair to test SR on.

    Attributes
    ----------
    patient, kernel, dose : str
    thin, thick : pathlib.Path
        Folders (or files) of the two series.
    """

    __test__ = False  # not a pytest test class

    patient: str
    kernel: str
    dose: str
    thin: Path
    thick: Path


def _check(dataset: str) -> None:
    if dataset not in DATASETS:
        raise SRError(f"unknown dataset {dataset!r}; known: {', '.join(DATASETS)}")
    if dataset == "rplhr_ct":
        raise SRError("dataset 'rplhr_ct' is not supported by the SR chapters yet (t2tcore.sr.datasets)")


def test_cases(
    data_root: str | Path,
    dataset: str = "ldct_gc",
    *,
    kernels: Sequence[str] = ("B30", "D45"),
    doses: Sequence[str] = ("full", "quarter"),
    patients: Sequence[str] | None = None,
) -> list[TestCase]:
    """Real thin / real thick pairs of a test data set, sorted by kernel, dose, patient.

    Parameters
    ----------
    data_root : path
        The data set's folder.
    dataset : {"ldct_gc"}
        See the module docstring.
    kernels, doses : sequence of str
        Kernels and doses to use.
    patients : sequence of str, optional
        Restrict to these patients.

    Returns
    -------
    list of TestCase
        Patients lacking one of the two series are left out (a SeriesWarning says which).
    """
    from t2tcore.data import pairs

    _check(dataset)
    out = []
    for k in kernels:
        for d in doses:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", SeriesWarning)
                found = pairs(data_root, k, d, patient=patients)
            for w in caught:
                warnings.warn(str(w.message), SeriesWarning, stacklevel=2)
            out += [TestCase(p, k, d, Path(a), Path(b)) for p, a, b in found]
    return out


def training_paths(data_root: str | Path, dataset: str = "ldct_gc", *, dose: str = "full") -> list[Path]:
    """Folders of the thin training series, sorted by patient.

    Parameters
    ----------
    data_root : path
        The training data's folder (for the virtual cohort: the cohort root).
    dataset : {"ldct_gc"}
        ``"ldct_gc"``: the TCIA LDCT-and-Projection-data layout (the paper's training set).
    dose : {"full", "low"}
        Which dose's image series.

    Returns
    -------
    list of pathlib.Path
    """
    from t2tcore.data import find_training_series

    _check(dataset)
    return [Path(e.path) for e in find_training_series(data_root, dose=dose)]
