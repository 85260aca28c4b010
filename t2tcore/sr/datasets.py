"""Where the SR chapters get their data: one function per question, one branch per data set.

* :func:`test_cases` — the paired real thin / real thick series SR models are tested on
  (one :class:`TestCase` per patient, kernel and dose); :meth:`TestCase.read` reads a pair.
* :func:`training_paths` — the thin series SR models are trained on; :func:`read_volume`
  reads one with the data set's :func:`nominal_thickness`.

``dataset="ldct_gc"``: the paper's setting, read through :mod:`t2tcore.data.layout` — test pairs
in the 2016 LDCT Grand Challenge layout (1 mm and 3 mm, kernels B30/D45, full/quarter dose),
training series in the TCIA LDCT-and-Projection-data layout. The virtual cohort
(``t2t data virtual``) writes both layouts under one root. DICOM headers give the thicknesses.

``dataset="rplhr_ct"``: RPLHR-CT (Yu et al., MICCAI 2022), real 1 mm / 5 mm chest CT pairs as
NIfTI, read through :mod:`t2tcore.data.rplhr`: the complete 1 mm / 5 mm pairs of the **test**
split are the test cases (patient = case name; kernel and dose are the one group of
:mod:`t2tcore.evaluation.datasets`, ``RPLHR_KERNEL`` / ``RPLHR_DOSE``), the 1 mm volumes of the
**train** split are the training series (the val split is not used: validation holds out
training patients, as for ``ldct_gc``). NIfTI stores no slice thickness: the files are read
with the folder's nominal 1 mm and 5 mm (:func:`nominal_thickness`) unless a JSON sidecar
gives its own (:class:`t2tcore.evaluation.datasets.NiftiSource`), never with the reader's
slice-spacing fallback. The simulated thickness and interval of its training pairs are
``DATASETS["rplhr_ct"]`` of :mod:`t2tcore.evaluation.datasets` (5 mm every 5 mm).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from t2tcore.errors import SeriesWarning
from t2tcore.sr.errors import SRError

__all__ = ["DATASETS", "TestCase", "case_name", "nominal_thickness", "read_volume", "test_cases", "training_paths"]

#: Data sets the SR chapters know.
DATASETS = ("ldct_gc", "rplhr_ct")


def read_volume(path: str | os.PathLike, thickness: float | None = None) -> Any:
    """One series as :class:`t2tcore.io.Series` (float32 HU, slices ascending).

    Parameters
    ----------
    path : path
        A DICOM folder or a NIfTI file.
    thickness : float, optional
        Nominal slice thickness (mm) for a file that stores none: used unless a JSON sidecar
        beside the file gives one. None: the file's own (DICOM header), as
        :func:`t2tcore.io.read_series`.
    """
    from t2tcore.io import read_series

    if thickness is None:
        return read_series(path)
    from t2tcore.evaluation.datasets import NiftiSource

    return NiftiSource(Path(path), float(thickness)).read()


@dataclass(frozen=True)
class TestCase:
    """One real thin / real thick pair to test SR on.

    Attributes
    ----------
    patient, kernel, dose : str
    thin, thick : pathlib.Path
        Folders (or files) of the two series.
    thin_mm, thick_mm : float or None
        Nominal thicknesses (mm) to read files that store none with (RPLHR-CT's NIfTI);
        None: the files' own.
    """

    __test__ = False  # not a pytest test class

    patient: str
    kernel: str
    dose: str
    thin: Path
    thick: Path
    thin_mm: float | None = None
    thick_mm: float | None = None

    def read(self) -> tuple[Any, Any]:
        """The thin and the thick :class:`t2tcore.io.Series` (read now, thin first)."""
        return read_volume(self.thin, self.thin_mm), read_volume(self.thick, self.thick_mm)


def _check(dataset: str) -> None:
    if dataset not in DATASETS:
        raise SRError(f"unknown dataset {dataset!r}; known: {', '.join(DATASETS)}")


def nominal_thickness(dataset: str = "ldct_gc") -> tuple[float | None, float | None]:
    """Thin and thick slice thickness (mm) a data set's files are read with: None where the files give it.

    ``ldct_gc`` (DICOM): ``(None, None)``; ``rplhr_ct`` (NIfTI): ``(1.0, 5.0)``, from the folder names.
    """
    _check(dataset)
    if dataset == "rplhr_ct":
        from t2tcore.data import rplhr

        return rplhr.THIN_MM, rplhr.THICK_MM
    return None, None


def case_name(path: str | os.PathLike) -> str:
    """The case (patient) name of a NIfTI file: its name without ``.nii.gz`` / ``.nii``; else the folder name."""
    name = Path(path).name
    for suffix in (".nii.gz", ".nii"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def _rplhr_test_cases(data_root: str | Path, kernels: Sequence[str], doses: Sequence[str],
                      patients: Sequence[str] | None) -> list[TestCase]:
    from t2tcore.data import rplhr
    from t2tcore.evaluation.datasets import RPLHR_DOSE, RPLHR_KERNEL

    if list(kernels) != [RPLHR_KERNEL] or list(doses) != [RPLHR_DOSE]:
        raise SRError(f"RPLHR-CT has one kernel and one dose per case: use kernels=[{RPLHR_KERNEL!r}] and "
                      f"doses=[{RPLHR_DOSE!r}] (or leave both unset), got {list(kernels)}, {list(doses)}")
    out = []
    for c in rplhr.cases(data_root, "test"):
        if patients is not None and c.case not in patients:
            continue
        if not c.paired:
            missing = rplhr.THICK_LABEL if c.thin is not None else rplhr.THIN_LABEL
            warnings.warn(f"RPLHR-CT test case {c.case} has no {missing} volume; left out", SeriesWarning, stacklevel=3)
            continue
        out.append(TestCase(c.case, RPLHR_KERNEL, RPLHR_DOSE, c.thin, c.thick, rplhr.THIN_MM, rplhr.THICK_MM))
    if not out:
        raise SRError(f"no complete {rplhr.THIN_LABEL}/{rplhr.THICK_LABEL} pair in the test split of "
                      f"{rplhr.find_root(data_root)}; {rplhr.expected_layout_text()}")
    return out


def test_cases(
    data_root: str | Path,
    dataset: str = "ldct_gc",
    *,
    kernels: Sequence[str] | None = None,
    doses: Sequence[str] | None = None,
    patients: Sequence[str] | None = None,
) -> list[TestCase]:
    """Real thin / real thick pairs of a test data set, sorted by kernel, dose, patient.

    Parameters
    ----------
    data_root : path
        The data set's folder.
    dataset : {"ldct_gc", "rplhr_ct"}
        See the module docstring (``rplhr_ct``: the test split).
    kernels, doses : sequence of str, optional
        Kernels and doses to use; default the data set's (:data:`t2tcore.evaluation.datasets.DATASETS`:
        ``ldct_gc`` B30, D45 and full, quarter; ``rplhr_ct`` its one group).
    patients : sequence of str, optional
        Restrict to these patients (RPLHR-CT: case names).

    Returns
    -------
    list of TestCase
        Patients lacking one of the two series are left out (a SeriesWarning says which).

    Raises
    ------
    SRError
        Unknown dataset; RPLHR-CT: another kernel or dose, or no complete test pair.
    """
    from t2tcore.data import pairs
    from t2tcore.evaluation.datasets import dataset_spec

    _check(dataset)
    spec = dataset_spec(dataset)
    kernels = spec.kernels if kernels is None else kernels
    doses = spec.doses if doses is None else doses
    if dataset == "rplhr_ct":
        return _rplhr_test_cases(data_root, kernels, doses, patients)
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
    """Folders (or files) of the thin training series, sorted by patient.

    Parameters
    ----------
    data_root : path
        The training data's folder (for the virtual cohort: the cohort root).
    dataset : {"ldct_gc", "rplhr_ct"}
        ``"ldct_gc"``: the TCIA LDCT-and-Projection-data layout (the paper's training set).
        ``"rplhr_ct"``: the 1 mm NIfTI files of the train split (read them with
        :func:`read_volume` and ``nominal_thickness("rplhr_ct")[0]``).
    dose : {"full", "low"}
        Which dose's image series (``ldct_gc``; RPLHR-CT has one).

    Returns
    -------
    list of pathlib.Path

    Raises
    ------
    SRError
        Unknown dataset; RPLHR-CT: no 1 mm volume in the train split.
    """
    _check(dataset)
    if dataset == "rplhr_ct":
        from t2tcore.data import rplhr

        found = [c.thin for c in rplhr.cases(data_root, "train") if c.thin is not None]
        if not found:
            raise SRError(f"no {rplhr.THIN_LABEL} volume in the train split of {rplhr.find_root(data_root)}; "
                          f"{rplhr.expected_layout_text()}")
        return found
    from t2tcore.data import find_training_series

    return [Path(e.path) for e in find_training_series(data_root, dose=dose)]
