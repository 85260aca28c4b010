"""Which thin series ``t2t pairs`` makes pairs from: a folder tree, a known data set, or a CSV list.

Three ways in, one result (:func:`discover`): a list of :class:`SeriesSource` (where a
series is, a unique name for its files, its patient when known, and the files whose size
and modification time say whether it changed since the last run) and the series that were
found but are not thin CT series (named, with the reason).

**A folder tree** (or one file): found as ``t2t info`` finds them. NIfTI files
(``*.nii``, ``*.nii.gz``) are one series each; every DICOM file below the folder is read
(headers only) and grouped by SeriesInstanceUID, so a folder may hold several series and a
series may span folders. Localizers and other modalities are listed as skipped.
**A data set** (``dataset="ldct_gc"`` or ``"rplhr_ct"``): the thin training series the SR
chapters use (:mod:`t2tcore.data`): the full-dose image series of the TCIA
LDCT-and-Projection-data layout, or the 1 mm volumes of RPLHR-CT's train split (read with
the folder's nominal 1 mm when no sidecar gives a thickness).
**A CSV file** with a header row and a ``path`` column (relative to the CSV's folder), and
optionally ``id``, ``patient``, ``series_uid`` and ``thin_thickness`` (mm). Each row names
one series: a folder holding several CT series needs its ``series_uid``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from t2tcore.errors import T2TError

__all__ = ["DATASETS", "SeriesSource", "Discovery", "PairSourceError", "discover"]

#: Data sets ``t2t pairs --dataset`` knows.
DATASETS = ("ldct_gc", "rplhr_ct")


class PairSourceError(T2TError):
    """DATA holds no series, is not a data set's layout, or a CSV list is malformed."""


@dataclass(frozen=True)
class SeriesSource:
    """One thin series to make pairs from.

    Attributes
    ----------
    id : str
        Unique name of its files in the output (``thin/<id>.nii.gz``): letters, digits, ``._-``.
    path : str
        A DICOM folder or file, or a NIfTI file.
    series_uid : str or None
        The SeriesInstanceUID to read where the folder holds several series.
    patient : str or None
        Patient ID when the layout says it (else the DICOM PatientID, else ``id``).
    thin_thickness : float or None
        Thin slice thickness (mm) replacing the header's (``--thin-thickness``, CSV).
    nominal_thickness : float or None
        Thickness (mm) for a file that stores none (RPLHR-CT's NIfTI without sidecar).
    files : tuple of str
        The files of the series, for :meth:`fingerprint`.
    """

    id: str
    path: str
    series_uid: str | None = None
    patient: str | None = None
    thin_thickness: float | None = None
    nominal_thickness: float | None = None
    files: tuple[str, ...] = ()

    def fingerprint(self) -> str:
        """sha256 of what was read: the series' files (name, size, modification time) and how.

        A changed, added or removed file changes it; so does another series UID or thickness.
        """
        stats = []
        for f in sorted(self.files):
            try:
                st = os.stat(f)
                stats.append((f, st.st_size, st.st_mtime_ns))
            except OSError:
                stats.append((f, -1, -1))
        data = [self.path, self.series_uid, self.thin_thickness, self.nominal_thickness, stats]
        return hashlib.sha256(json.dumps(data).encode()).hexdigest()


@dataclass
class Discovery:
    """What :func:`discover` found.

    Attributes
    ----------
    sources : list of SeriesSource
        Thin series to make pairs from, sorted by id.
    skipped : list of (str, str)
        (series name, reason) of series found and not used (localizers, other modalities).
    inputs : list of Path
        The input paths (the output may not be inside any of them).
    """

    sources: list[SeriesSource]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    inputs: list[Path] = field(default_factory=list)


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _safe(text: str) -> str:
    name = _UNSAFE.sub("_", text).strip("._-")
    return name or "series"


def _unique(sources: list[SeriesSource]) -> list[SeriesSource]:
    """Sources sorted by id, ids made unique by a numbered suffix where two are equal."""
    seen: dict[str, int] = {}
    out = []
    for s in sorted(sources, key=lambda s: (s.id, s.path, s.series_uid or "")):
        n = seen.get(s.id, 0)
        seen[s.id] = n + 1
        out.append(s if n == 0 else SeriesSource(**{**s.__dict__, "id": f"{s.id}-{n + 1}"}))
    return out


def _nifti_files(path: Path) -> list[str]:
    from t2tcore.io.nifti import sidecar_path

    side = sidecar_path(path)
    return [str(path)] + ([str(side)] if side.is_file() else [])


def _folder_files(path: Path) -> list[str]:
    if path.is_file():
        return [str(path)]
    out = []
    for root, dirs, names in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        out += [os.path.join(root, n) for n in sorted(names) if not n.startswith(".")]
    return out


def _tidy(path: Path) -> Path:
    """``path`` without ``.`` and ``..`` parts (as pairs.csv records it), where that names the same place."""
    norm = Path(os.path.normpath(path))
    try:
        return norm if norm == path or os.path.samefile(norm, path) else path
    except OSError:  # missing (said later, by name) or unreachable
        return path


def _named(path: Path, **kw) -> SeriesSource:
    """A source for one named path (data set, CSV row): one series, its files listed."""
    from t2tcore.io import is_nifti_path

    if not path.exists():
        raise PairSourceError(f"{path}: no such file or folder")
    files = _nifti_files(path) if is_nifti_path(path) else _folder_files(path)
    return SeriesSource(path=str(path), files=tuple(files), **kw)


def _stem(path: Path) -> str:
    from t2tcore.io.nifti import NIFTI_SUFFIXES

    for suffix in NIFTI_SUFFIXES:
        if path.name.lower().endswith(suffix):
            return path.name[: -len(suffix)]
    return path.name


def _common_prefix(names: list[tuple[str, ...]]) -> int:
    """How many leading folder names all of ``names`` share (the last name never counts)."""
    if len(names) < 2:
        return 0
    n = 0
    while all(len(x) > n + 1 for x in names) and len({x[n] for x in names}) == 1:
        n += 1
    return n


def _from_tree(root: Path, progress: bool) -> Discovery:
    from t2tcore.io import is_nifti_path
    from t2tcore.io.dicom_scan import scan_series

    if is_nifti_path(root):
        return Discovery([_named(root, id=_safe(_stem(root)))], inputs=[root])
    scan, files = scan_series(root, progress=progress)
    base = root if root.is_dir() else root.parent
    named: list[tuple[tuple[str, ...], dict]] = []  # (relative name parts, SeriesSource fields)
    for dirpath, dirs, names in os.walk(base):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for n in sorted(names):
            p = Path(dirpath) / n
            if not n.startswith(".") and is_nifti_path(p):
                rel = p.relative_to(base)
                named.append((rel.parent.parts + (_stem(p),), dict(path=str(p), files=tuple(_nifti_files(p)))))
    skipped: list[tuple[str, str]] = []
    folders: dict[Path, list] = {}
    for info, paths in zip(scan.series, files):
        name = f"series {info.uid}" + (f" ({info.description})" if info.description else "")
        if info.localizer:
            skipped.append((name, "a localizer (scout), not a volume"))
        elif not info.is_ct:
            skipped.append((name, f"not CT (modality {info.modality or 'unknown'})"))
        elif info.n_slices == 0:
            skipped.append((name, "no image that forms a volume"))
        else:
            folder = Path(os.path.commonpath([os.path.dirname(p) for p in paths]))
            folders.setdefault(folder, []).append((info, paths))
    for folder, found in folders.items():
        parts = folder.relative_to(base).parts if folder != base else (base.name,)
        for info, paths in found:
            last = ()
            if len(found) > 1:  # several series in one folder: say which
                number = info.series_number
                unique = number is not None and sum(1 for i, _ in found if i.series_number == number) == 1
                last = (f"s{number}" if unique else info.uid.split(".")[-1],)
            named.append((parts + last, dict(path=str(folder), series_uid=info.uid, files=tuple(paths))))
    if not named:
        kinds = "; ".join(f"{n} {why}" for why, n in scan.skipped.items()) or "no image files"
        raise PairSourceError(f"{root}: no CT series or NIfTI file found ({kinds})")
    cut = _common_prefix([parts for parts, _ in named])
    sources = [SeriesSource(id=_safe("_".join(parts[cut:])), **fields) for parts, fields in named]
    return Discovery(_unique(sources), skipped, [root])


def _from_dataset(root: Path, dataset: str) -> Discovery:
    if dataset == "rplhr_ct":
        from t2tcore.data import rplhr

        cases = [c for c in rplhr.cases(root, "train") if c.thin is not None]
        if not cases:
            raise PairSourceError(f"no {rplhr.THIN_LABEL} volume in the train split of {rplhr.find_root(root)}; "
                                  f"{rplhr.expected_layout_text()}")
        sources = [_named(Path(c.thin), id=_safe(c.case), patient=c.case, nominal_thickness=rplhr.THIN_MM)
                   for c in cases]
    elif dataset == "ldct_gc":
        from t2tcore.data import find_training_series

        entries = find_training_series(root, dose="full")
        sources = [_named(Path(e.path), id=_safe(e.patient), patient=e.patient) for e in entries]
    else:
        raise PairSourceError(f"unknown data set {dataset!r}; known: {', '.join(DATASETS)}")
    return Discovery(_unique(sources), [], [root])


def _number(text: str, row: int, column: str, csv_path: Path) -> float | None:
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (value > 0 and value < float("inf")):
        raise PairSourceError(f"{csv_path}, row {row}: {column} must be a number > 0 (mm), got {text!r}")
    return value


def _from_csv(path: Path) -> Discovery:
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise PairSourceError(f"{path}: cannot read the CSV list ({exc})") from None
    if not rows or "path" not in rows[0]:
        raise PairSourceError(f"{path}: a CSV list needs a header row with a 'path' column (and one row per series)")
    sources, inputs = [], []
    for i, row in enumerate(rows, 2):
        text = (row.get("path") or "").strip()
        if not text:
            raise PairSourceError(f"{path}, row {i}: empty path")
        p = Path(text).expanduser()
        p = _tidy(p if p.is_absolute() else path.parent / p)
        ident = (row.get("id") or "").strip() or "_".join(Path(text).parent.parts[-2:] + (_stem(p),))
        sources.append(_named(
            p,
            id=_safe(ident),
            patient=(row.get("patient") or "").strip() or None,
            series_uid=(row.get("series_uid") or "").strip() or None,
            thin_thickness=_number((row.get("thin_thickness") or "").strip(), i, "thin_thickness", path),
        ))
        inputs.append(p)
    ids = [s.id for s in sources]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup and any((r.get("id") or "").strip() for r in rows):
        raise PairSourceError(f"{path}: the id {dup[0]!r} is given to several rows")
    return Discovery(_unique(sources), [], inputs + [path])


def discover(
    data: str | os.PathLike,
    *,
    dataset: str | None = None,
    thin_thickness: float | None = None,
    progress: bool = False,
) -> Discovery:
    """The thin series of ``data`` (see the module docstring).

    Parameters
    ----------
    data : path
        A folder tree, a DICOM or NIfTI file, a CSV list (``*.csv``), or a data set's root.
    dataset : {"ldct_gc", "rplhr_ct"}, optional
        Read ``data`` as that data set's layout.
    thin_thickness : float, optional
        Thin slice thickness (mm) for every series that has none of its own in the CSV.
    progress : bool
        Progress bar of the header scan.

    Returns
    -------
    Discovery

    Raises
    ------
    PairSourceError, DicomReadError, T2TError
        Missing path, no series, not the data set's layout, a malformed CSV list.
    """
    root = _tidy(Path(data).expanduser().absolute())
    if not root.exists():
        raise PairSourceError(f"{root}: no such file or folder")
    if dataset is not None:
        found = _from_dataset(root, dataset)
    elif root.is_file() and root.name.lower().endswith(".csv"):
        found = _from_csv(root)
    else:
        found = _from_tree(root, progress)
    if thin_thickness is not None:
        found.sources = [s if s.thin_thickness is not None else SeriesSource(**{**s.__dict__, "thin_thickness":
                         float(thin_thickness)}) for s in found.sources]
    return found
