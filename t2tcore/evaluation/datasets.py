"""Which data a study runs on, read as groups of (thin, thick) series pairs.

The fidelity chapters run on one folder, ``data_root``: the book's virtual cohort (made
by :func:`t2tcore.scanner.make_cohort` when missing) or a copy of a real data set. A
*dataset* names how that folder is laid out and read:

``"ldct_gc"``
    The 2016 Low Dose CT Grand Challenge layout (:func:`t2tcore.data.pairs`): per kernel
    and dose, each patient's 1 mm and 3 mm DICOM series. The virtual cohort uses it too.

A study gets its data as :class:`StudyGroup` objects, one per kernel and dose: the list of
(patient, thin source, thick source) and a reader that turns a source into a
:class:`t2tcore.io.Series`. Study drivers only iterate over groups, so another dataset
(e.g. RPLHR-CT's NIfTI pairs) needs one more entry in :data:`DATASETS` (a function that
lists its pairs), nothing in the drivers. Tests build groups from in-memory series.
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
    "DatasetError",
    "StudyGroup",
    "book_root",
    "describe_data",
    "iter_groups",
    "load_group",
    "resolve_data_root",
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
    """

    kernel: str
    dose: str
    entries: list[tuple[str, Any, Any]]
    notes: list[str] = field(default_factory=list)
    read: Callable[[Any], Any] = _identity

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


def _ldct_gc_group(root: Path, kernel: str, dose: str) -> StudyGroup:
    from t2tcore.data import pairs
    from t2tcore.io import read_series

    # data.pairs warns (SeriesWarning) about each patient that lacks one of the two series
    # and leaves it out: expected on partial downloads, so the warnings are kept as notes
    # that the chapter prints rather than shown as warnings.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = pairs(root, kernel, dose)
    notes = [f"{kernel} {dose}: {w.message}" for w in caught]
    return StudyGroup(kernel, dose, [(p, a, b) for p, a, b in found], notes, read_series)


#: Dataset name -> function ``(root, kernel, dose) -> StudyGroup``.
DATASETS: dict[str, Callable[[Path, str, str], StudyGroup]] = {"ldct_gc": _ldct_gc_group}


def load_group(data_root: str | os.PathLike, kernel: str, dose: str, *, dataset: str = "ldct_gc") -> StudyGroup:
    """The pairs of one kernel and dose in ``data_root`` (listed now, read when iterated).

    Parameters
    ----------
    data_root : str or os.PathLike
        The data folder.
    kernel, dose : str
        E.g. ``"B30"``, ``"full"``.
    dataset : str
        A key of :data:`DATASETS`.

    Returns
    -------
    StudyGroup

    Raises
    ------
    DatasetError
        Unknown dataset.
    T2TError
        From the layout: no pair found, a missing folder.
    """
    if dataset not in DATASETS:
        raise DatasetError(f"unknown dataset {dataset!r}; known: {', '.join(DATASETS)}")
    return DATASETS[dataset](Path(data_root), kernel, dose)


def iter_groups(
    data_root: str | os.PathLike, kernels: Sequence[str], doses: Sequence[str], *, dataset: str = "ldct_gc"
) -> Iterator[StudyGroup]:
    """:func:`load_group` for every kernel, then every dose (kernel-major, as the tables)."""
    for k in kernels:
        for d in doses:
            yield load_group(data_root, k, d, dataset=dataset)


def book_root(start: str | os.PathLike | None = None) -> Path:
    """The book's root folder: the first of ``start`` (default the working folder) and its
    parents that holds ``_toc.yml``.

    Raises
    ------
    DatasetError
        If there is none (the chapter is run outside the repository: pass absolute paths).
    """
    here = Path(start or Path.cwd()).resolve()
    for p in (here, *here.parents):
        if (p / "_toc.yml").is_file():
            return p
    raise DatasetError(f"no _toc.yml in {here} or above: run the chapter inside the t2t repository, or pass absolute paths")


def resolve_data_root(data_root: str | os.PathLike | None, profile: str, *, root: str | os.PathLike | None = None) -> Path:
    """The data folder a chapter runs on (absolute).

    Parameters
    ----------
    data_root : str, os.PathLike or None
        None: the virtual cohort of ``profile`` in ``<root>/_build/data/virtual-<profile>``,
        made there if missing or out of date (:func:`t2tcore.scanner.make_cohort`). A
        relative path is taken from ``root``.
    profile : str
        ``"smoke"``, ``"quick"`` or ``"paper"``.
    root : str or os.PathLike, optional
        The book's root (default :func:`book_root`).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    DatasetError
        If the folder does not exist.
    """
    if data_root is None:
        from t2tcore.scanner import make_cohort

        base = Path(root) if root is not None else book_root()
        return Path(make_cohort(profile, base / "_build" / "data" / f"virtual-{profile}", progress=False))
    path = Path(data_root).expanduser()
    if not path.is_absolute():
        path = (Path(root) if root is not None else book_root()) / path
    if not path.is_dir():
        raise DatasetError(f"data folder {path} does not exist")
    return path


def describe_data(data_root: str | os.PathLike, *, dataset: str = "ldct_gc", detail: bool = True,
                  plain: bool = False) -> str:
    """One Markdown phrase saying what data a chapter's numbers come from.

    Parameters
    ----------
    data_root : str or os.PathLike
        The data folder.
    dataset : str
        Its dataset name (for real data).
    detail : bool
        For a virtual cohort, add its image size and z length.
    plain : bool
        Plain text (no Markdown emphasis or code marks), e.g. for a table caption.

    Returns
    -------
    str
        For a virtual cohort (a folder with ``cohort_manifest.json``): its profile, number of
        test patients, t2t version and source hash; for real data: the dataset and folder.
    """
    from t2tcore.scanner import MANIFEST_NAME, read_manifest

    if plain:
        return describe_data(data_root, dataset=dataset, detail=detail).replace("**", "").replace("`", "")
    root = Path(data_root)
    if (root / MANIFEST_NAME).is_file():
        spec = read_manifest(root)["spec"]
        prof = spec["profile"]
        size = f"{prof['image_size']}² pixels, {prof['z_length_mm']} mm along z, " if detail else ""
        return (
            f"the **virtual cohort** of profile `{prof['name']}` (manifest `data_manifests/virtual_{prof['name']}.yaml`; "
            f"{prof['n_test']} test patients, {size}t2t {spec['t2t_version']}, source hash {spec['source_sha256']}) "
            f"in `{root.name}`"
        )
    names = {"ldct_gc": "the 2016 LDCT Grand Challenge"}
    return f"**real data**: {names.get(dataset, dataset)} folder `{root}`"
