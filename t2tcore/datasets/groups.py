"""Which data a study runs on, read as groups of (thin, thick) series pairs.

The fidelity chapters run on one folder, ``data_root`` (:mod:`t2tcore.datasets.roots`): the
book's virtual cohort or a copy of a real data set. A
*dataset* names how that folder is laid out and read (:data:`DATASETS`, one
:class:`DatasetSpec` each):

``"ldct_gc"``
    The 2016 Low Dose CT Grand Challenge layout (:func:`t2tcore.data.pairs`): per kernel
    and dose, each patient's 1 mm and 3 mm DICOM series. The virtual cohort uses it too.
``"rplhr_ct"``
    RPLHR-CT (Yu et al., MICCAI 2022): ``{train,val,test}/{1mm,5mm}/<case>.nii.gz``, real
    1 mm and 5 mm reconstructions of each chest CT (:mod:`t2tcore.data.rplhr`). One kernel
    and one dose per case, so one group, ``RPLHR-CT (one protocol)``, per split (default the
    test split). NIfTI has no slice thickness: 1 mm and 5 mm are passed to the reader
    unless a JSON sidecar beside a file gives its own (:class:`NiftiSource`). The group
    carries the loader's index pairing (``ratio`` 5: thick slice z covers thin slices
    5z ... 5z+4), which the chapters compare with the affines
    (:mod:`t2tcore.datasets.pairing`).

A study gets its data as :class:`StudyGroup` objects, one per kernel and dose: the list of
(patient, thin source, thick source) and a reader that turns a source into a
:class:`t2tcore.io.Series`. Study drivers only iterate over groups (or read one pair at a
time, :meth:`StudyGroup.read_pair`), so another dataset needs one more entry in
:data:`DATASETS`, nothing in the drivers. Tests build groups from in-memory series.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from t2tcore.errors import T2TError

__all__ = [
    "DATASETS",
    "RPLHR_DOSE",
    "RPLHR_KERNEL",
    "DatasetError",
    "DatasetSpec",
    "NiftiSource",
    "StudyGroup",
    "dataset_spec",
    "iter_groups",
    "load_group",
]


class DatasetError(T2TError):
    """A data folder or dataset name a study cannot use."""


def _identity(x: Any) -> Any:
    return x


@dataclass
class StudyGroup:
    """The (thin, thick) series pairs of one group (kernel and dose) of a study.

    Attributes
    ----------
    kernel, dose : str
        The group's labels (e.g. ``"B30"``, ``"full"``).
    entries : list of (str, object, object)
        ``(patient, thin source, thick source)`` in patient order; a source is whatever
        ``read`` takes (a folder for DICOM data, or a Series already in memory).
    notes : list of str
        What the reader noticed while listing the pairs (e.g. a patient without its thick
        series), for the chapter to print.
    read : callable
        ``read(source) -> Series``; the identity for in-memory series.
    ratio : int or None
        The data set's own index pairing: thick slice ``z`` covers thin slices
        ``ratio*z ... ratio*z + ratio - 1`` in its loader (RPLHR-CT: 5); None when the data
        set pairs slices by position only.
    """

    kernel: str
    dose: str
    entries: list[tuple[str, Any, Any]]
    notes: list[str] = field(default_factory=list)
    read: Callable[[Any], Any] = _identity
    ratio: int | None = None

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def patients(self) -> list[str]:
        return [p for p, _, _ in self.entries]

    def __iter__(self) -> Iterator[tuple[str, Any, Any]]:
        """``(patient, thin Series, thick Series)``, each pair read when it is reached."""
        for p, a, b in self.entries:
            yield p, self.read(a), self.read(b)

    def load(self) -> dict[str, tuple[Any, Any]]:
        """Every pair read at once: ``patient -> (thin, thick)`` (reading thin, then thick)."""
        return {p: (thin, thick) for p, thin, thick in self}

    def read_pair(self, i: int) -> tuple[Any, Any]:
        """The thin and thick series of entry ``i`` (read now, thin first)."""
        _, a, b = self.entries[i]
        return self.read(a), self.read(b)


@dataclass(frozen=True)
class NiftiSource:
    """A NIfTI file and the slice thickness to read it with when no JSON sidecar gives one.

    RPLHR-CT's files have no sidecar; the thickness comes from their folder (1 mm, 5 mm).
    A sidecar beside the file (``case.json``, dcm2niix/BIDS ``SliceThickness``) wins.

    Attributes
    ----------
    path : pathlib.Path
    thickness : float
        mm.
    """

    path: Path
    thickness: float

    def read(self):
        """:func:`t2tcore.io.read_series` of the file (float32 HU, slices ascending)."""
        from t2tcore.io import read_series, sidecar_path

        given = None if sidecar_path(self.path).is_file() else self.thickness
        return read_series(self.path, thickness=given)


def _read_source(src: NiftiSource):
    return src.read()


def _ldct_gc_group(root: Path, kernel: str, dose: str, split: str | None) -> StudyGroup:
    from t2tcore.data import pairs
    from t2tcore.io import read_series

    if split is not None:
        raise DatasetError(f"the ldct_gc layout has no splits (got split={split!r}); leave split unset")
    # data.pairs warns (SeriesWarning) about each patient that lacks one of the two series
    # and leaves it out: expected on partial downloads, so the warnings are kept as notes
    # that the chapter prints rather than shown as warnings.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = pairs(root, kernel, dose)
    notes = [f"{kernel} {dose}: {w.message}" for w in caught]
    return StudyGroup(kernel, dose, [(p, a, b) for p, a, b in found], notes, read_series)


#: The one group of RPLHR-CT: one kernel and one dose per case.
RPLHR_KERNEL, RPLHR_DOSE = "RPLHR-CT", "one protocol"


def _rplhr_ct_group(root: Path, kernel: str, dose: str, split: str | None) -> StudyGroup:
    from t2tcore.data import rplhr

    if (kernel, dose) != (RPLHR_KERNEL, RPLHR_DOSE):
        raise DatasetError(f"RPLHR-CT has one kernel and one dose per case: use kernels=[{RPLHR_KERNEL!r}] and "
                           f"doses=[{RPLHR_DOSE!r}] (or leave both unset), got {kernel!r}, {dose!r}")
    split = "test" if split is None else split
    if split not in rplhr.SPLITS:
        raise DatasetError(f"RPLHR-CT split must be one of {', '.join(rplhr.SPLITS)}, got {split!r}")
    found = rplhr.cases(root, split)
    notes = []
    for c in found:
        if not c.paired:
            have, missing = (rplhr.THIN_LABEL, rplhr.THICK_LABEL) if c.thin is not None else (rplhr.THICK_LABEL,
                                                                                             rplhr.THIN_LABEL)
            notes.append(f"{RPLHR_KERNEL} {split}: case {c.case} has a {have} volume and no {missing} one; left out")
    entries = [(c.case, NiftiSource(c.thin, rplhr.THIN_MM), NiftiSource(c.thick, rplhr.THICK_MM))
               for c in found if c.paired]
    if not entries:
        raise DatasetError(f"no complete {rplhr.THIN_LABEL}/{rplhr.THICK_LABEL} pair in the {split} split of "
                           f"{rplhr.find_root(root)}; {rplhr.expected_layout_text()}")
    return StudyGroup(kernel, dose, entries, notes, _read_source, ratio=rplhr.RATIO)


@dataclass(frozen=True)
class DatasetSpec:
    """How a study reads one data set, and its defaults.

    Attributes
    ----------
    name : str
        The key in :data:`DATASETS`.
    title : str
        What the data set is, for sentences ("the 2016 LDCT Grand Challenge").
    group : callable
        ``group(root, kernel, dose, split) -> StudyGroup``.
    kernels, doses : tuple of str
        The groups a study runs on by default.
    thickness : float
        Thickness of the real thick slices, and so of the simulated ones, mm.
    interval : float
        Spacing of the real thick slices, mm.
    splits : tuple of str
        The splits a study can choose (first: the default); empty when there are none.
    paper_kernels : dict or None
        Our kernel -> the kernel of the paper's Table III set beside it. None: the same name
        (the paper's own kernels).
    calibration_patients : int or None
        ``calibrated`` is fitted on at most this many other patients of a group (bounding
        the series held in memory); None: all the others (leave-one-out).
    """

    name: str
    title: str
    group: Callable[[Path, str, str, str | None], StudyGroup]
    kernels: tuple[str, ...]
    doses: tuple[str, ...]
    thickness: float
    interval: float
    splits: tuple[str, ...] = ()
    paper_kernels: dict[str, str] | None = None
    calibration_patients: int | None = None

    def label(self, kernel: str, dose: str) -> str:
        """A group's name in captions: ``"B30, full dose"``, ``"RPLHR-CT (one protocol)"``."""
        if self.name == "rplhr_ct":
            return f"{kernel} ({dose})"
        return f"{kernel}, {dose} dose"

    def resolve(self, kernels: Sequence[str] | None = None, doses: Sequence[str] | None = None,
                thickness: float | None = None, interval: float | None = None, paper_kernel: str | None = None,
                calibration_patients: int | None = None) -> tuple:
        """A study's settings: each argument, or this data set's default where it is None.

        Parameters
        ----------
        kernels, doses : sequence of str, optional
        thickness, interval : float, optional
            mm.
        paper_kernel : str, optional
            The paper's kernel set beside every one of ours.
        calibration_patients : int, optional

        Returns
        -------
        tuple
            ``(kernels, doses, thickness, interval, paper_kernels, calibration_patients)``:
            lists, floats, a dict ``our kernel -> paper kernel`` (None: the same names) and
            an int or None.
        """
        kernels = list(self.kernels if kernels is None else kernels)
        paper_kernels = self.paper_kernels if paper_kernel is None else dict.fromkeys(kernels, paper_kernel)
        return (kernels, list(self.doses if doses is None else doses),
                float(self.thickness if thickness is None else thickness),
                float(self.interval if interval is None else interval), paper_kernels,
                self.calibration_patients if calibration_patients is None else int(calibration_patients))


#: Dataset name -> :class:`DatasetSpec`.
DATASETS: dict[str, DatasetSpec] = {
    "ldct_gc": DatasetSpec(
        "ldct_gc", "the 2016 LDCT Grand Challenge", _ldct_gc_group, ("B30", "D45"), ("full", "quarter"), 3.0, 2.0),
    "rplhr_ct": DatasetSpec(
        "rplhr_ct", "RPLHR-CT (Yu et al., MICCAI 2022)", _rplhr_ct_group, (RPLHR_KERNEL,), (RPLHR_DOSE,), 5.0, 5.0,
        splits=("test", "val", "train"), paper_kernels={RPLHR_KERNEL: "B30"}, calibration_patients=10),
}


def dataset_spec(dataset: str) -> DatasetSpec:
    """The :class:`DatasetSpec` of a dataset name.

    Raises
    ------
    DatasetError
        Unknown dataset.
    """
    if dataset not in DATASETS:
        raise DatasetError(f"unknown dataset {dataset!r}; known: {', '.join(DATASETS)}")
    return DATASETS[dataset]


def load_group(data_root: str | os.PathLike, kernel: str, dose: str, *, dataset: str = "ldct_gc",
               split: str | None = None) -> StudyGroup:
    """The pairs of one kernel and dose in ``data_root`` (listed now, read when iterated).

    Parameters
    ----------
    data_root : str or os.PathLike
        The data folder.
    kernel, dose : str
        E.g. ``"B30"``, ``"full"`` (``ldct_gc``); ``"RPLHR-CT"``, ``"one protocol"``
        (``rplhr_ct``).
    dataset : str
        A key of :data:`DATASETS`.
    split : str, optional
        ``rplhr_ct``: ``"test"`` (default), ``"val"`` or ``"train"``; ``ldct_gc`` has none.

    Returns
    -------
    StudyGroup

    Raises
    ------
    DatasetError
        Unknown dataset, kernel, dose or split, or no complete pair (``rplhr_ct``).
    T2TError
        From the layout: no pair found, a missing folder.
    """
    return dataset_spec(dataset).group(Path(data_root), kernel, dose, split)


def iter_groups(
    data_root: str | os.PathLike, kernels: Sequence[str], doses: Sequence[str], *, dataset: str = "ldct_gc",
    split: str | None = None,
) -> Iterator[StudyGroup]:
    """:func:`load_group` for every kernel, then every dose (kernel-major, as the tables)."""
    for k in kernels:
        for d in doses:
            yield load_group(data_root, k, d, dataset=dataset, split=split)
