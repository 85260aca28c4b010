"""Data manifests (``data_manifests/*.yaml``) and the download check behind ``t2t data check``.

A manifest describes one data set: the real 2016 Low Dose CT Grand Challenge (the paper's
test set, Table II), TCIA LDCT-and-Projection-data (its training set, Table I), RPLHR-CT
(real 1 mm / 5 mm NIfTI pairs, Yu et al. 2022), or one profile of the virtual cohort
(``virtual_smoke``, ``virtual_quick``, ``virtual_paper``, whose ``profile:`` block is what
the cohort writer reads). The schema is documented at the top of every manifest file.

:func:`check` verifies a folder against a manifest -- series present per patient, kernel,
dose and thickness, slice counts where the manifest knows them, slice thickness and
increment from the DICOM headers (:func:`t2tcore.io.scan_folder`, no pixel data); for
RPLHR-CT, cases present and paired per split, image size, slice spacing and the 5:1 slice
relation from the NIfTI headers -- and returns a :class:`CheckReport` whose lines say in
plain words what is missing or wrong.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from t2tcore.io import DicomReadError, NiftiReadError, scan_folder
from t2tcore.errors import T2TError
from t2tcore.data import rplhr
from t2tcore.data.layout import (
    DOSES,
    KERNELS,
    TCIA_COLLECTION,
    SeriesEntry,
    dicom_files,
    expected_layout_text,
    find_series,
    find_training_series,
    is_virtual_patient,
    series_dir,
    thickness_label,
    virtual_patients,
)

__all__ = [
    "MANIFEST_DIR",
    "available_manifests",
    "load_manifest",
    "load_profile",
    "expectations",
    "CheckReport",
    "check",
]

MANIFEST_DIR = Path(__file__).resolve().parents[2] / "data_manifests"
"""Folder of the repository's manifests; names given to :func:`load_manifest` resolve here."""

SCHEMA_VERSION = 1

_VENDORS = {"SIEMENS": "SIEMENS", "GE": "GE"}  # Manufacturer header prefix -> Table I vendor key


# --------------------------------------------------------------------------- loading


def available_manifests() -> list[str]:
    """Names of the manifests in :data:`MANIFEST_DIR` (file names without ``.yaml``)."""
    return sorted(p.stem for p in MANIFEST_DIR.glob("*.yaml"))


def _fail(where: str, msg: str):
    raise T2TError(f"manifest {where}: {msg}")


def _need(mapping, key, where, types=None):
    if not isinstance(mapping, dict) or key not in mapping or mapping[key] is None:
        _fail(where, f"missing key '{key}'")
    value = mapping[key]
    if types is not None and not isinstance(value, types):
        _fail(where, f"'{key}' has the wrong type ({type(value).__name__})")
    return value


def _check_slab(spec, where: str) -> tuple[float, float]:
    t = _need(spec, "thickness_mm", where, (int, float))
    i = _need(spec, "increment_mm", where, (int, float))
    if not (t > 0 and i > 0):
        _fail(where, f"thickness_mm and increment_mm must be positive, got {t} and {i}")
    return float(t), float(i)


def _check_choice(values, allowed, key, where):
    if not isinstance(values, list) or not values or any(v not in allowed for v in values):
        _fail(where, f"'{key}' must be a non-empty list of {', '.join(allowed)}, got {values!r}")


def _validate(m: dict, where: str) -> None:
    if not isinstance(m, dict):
        _fail(where, "is not a YAML mapping")
    if m.get("schema_version") != SCHEMA_VERSION:
        _fail(where, f"schema_version must be {SCHEMA_VERSION}, got {m.get('schema_version')!r}")
    for key in ("name", "kind", "title", "description"):
        _need(m, key, where, str)
    if m["kind"] not in ("real", "virtual"):
        _fail(where, f"kind must be 'real' or 'virtual', got {m['kind']!r}")
    layout = _need(m, "layout", where, dict)
    for part, spec in layout.items():
        if part not in ("test", "train"):
            _fail(where, f"layout has unknown part '{part}' (expected test, train)")
        _need(spec, "type", f"{where} layout.{part}", str)
        _need(spec, "root_folder", f"{where} layout.{part}", str)
        _need(spec, "pattern", f"{where} layout.{part}", str)
    tol = _need(m, "tolerance_mm", where, dict)
    for key in ("thickness", "increment"):
        if not isinstance(tol.get(key), (int, float)) or tol[key] < 0:
            _fail(where, f"tolerance_mm.{key} must be a non-negative number")
    if m["kind"] == "real":
        src = _need(m, "source", where, dict)
        if not (src.get("url") or src.get("doi")):
            _fail(where, "source needs a 'url' or a 'doi'")
        for key in ("how_to_get", "licence", "citation"):
            _need(src, key, f"{where} source", str)
        expect = _need(m, "expect", where, dict)
        if not ({"test", "train"} & set(expect)):
            _fail(where, "expect needs a 'test' or a 'train' part")
        if _is_rplhr(m):
            _validate_rplhr(m, expect, where)
            return
        if "test" in expect:
            _validate_real_test(expect["test"], f"{where} expect.test")
        if "train" in expect:
            _validate_real_train(expect["train"], f"{where} expect.train")
    else:
        _validate_profile(_need(m, "profile", where, dict), f"{where} profile")
        if "test" not in layout or "train" not in layout:
            _fail(where, "a virtual manifest needs layout.test and layout.train")


def _validate_real_test(t, where):
    pts = _need(t, "patients", where, list)
    if not pts or len(set(pts)) != len(pts):
        _fail(where, "patients must be a non-empty list without repeats")
    _check_choice(_need(t, "kernels", where), KERNELS, "kernels", where)
    _check_choice(_need(t, "doses", where), DOSES, "doses", where)
    series = _need(t, "series", where, dict)
    for label, spec in series.items():
        if thickness_label(label) != label:
            _fail(where, f"series label {label!r} should be written like '1mm'")
        _check_slab(spec, f"{where} series.{label}")
    for pid, counts in (t.get("slices") or {}).items():
        if pid not in pts:
            _fail(where, f"slices names {pid}, which is not in patients")
        if counts is None:
            continue
        for label, n in counts.items():
            if label not in series or not (n is None or (isinstance(n, int) and n > 0)):
                _fail(where, f"slices.{pid}.{label} must be a positive integer or null for a known series")


def _validate_real_train(t, where):
    pts = t.get("patients")
    if pts is not None and (not isinstance(pts, list) or not pts):
        _fail(where, "patients must be null (any) or a non-empty list")
    doses = _need(t, "doses", where, list)
    if not doses or any(d not in ("full", "low") for d in doses):
        _fail(where, "doses must list 'full' and/or 'low'")
    types = _need(t, "scan_types", where, dict)
    for letter, spec in types.items():
        vendors = _need(spec, "vendors", f"{where} scan_types.{letter}", dict)
        for vendor, slab in vendors.items():
            if vendor not in _VENDORS.values():
                _fail(where, f"unknown vendor {vendor!r} (expected {', '.join(_VENDORS.values())})")
            _check_slab(slab, f"{where} scan_types.{letter}.{vendor}")


def _is_rplhr(m: dict) -> bool:
    """The manifest describes an RPLHR-CT tree (layout type ``rplhr``)."""
    return any(isinstance(spec, dict) and spec.get("type") == "rplhr" for spec in (m.get("layout") or {}).values())


def _validate_rplhr(m: dict, expect: dict, where: str) -> None:
    if any(spec.get("type") != "rplhr" for spec in m["layout"].values()):
        _fail(where, "an rplhr layout cannot be mixed with other layout types")
    seen: set[str] = set()
    for part in ("test", "train"):
        if part not in expect:
            continue
        w = f"{where} expect.{part}"
        if part not in m["layout"]:
            _fail(where, f"expect.{part} needs layout.{part}")
        splits = _need(expect[part], "splits", w, dict)
        subset = expect[part].get("subset_splits") or {}
        for key, counts in (("splits", splits), ("subset_splits", subset)):
            if not isinstance(counts, dict):
                _fail(w, f"{key} must be a mapping of split to case count")
            for split, n in counts.items():
                if split not in rplhr.SPLITS or isinstance(n, bool) or not isinstance(n, int) or n < 1:
                    _fail(w, f"{key}.{split} must be one of {', '.join(rplhr.SPLITS)} with a positive case count")
        if subset and set(subset) != set(splits):
            _fail(w, "subset_splits must name the same splits as splits")
        if seen & set(splits):
            _fail(where, f"split(s) {', '.join(sorted(seen & set(splits)))} in both expect.test and expect.train")
        seen |= set(splits)
    pairs = _need(expect, "pairs", where, dict)
    for slab in ("thin", "thick"):
        spec = _need(pairs, slab, f"{where} expect.pairs", dict)
        _need(spec, "label", f"{where} expect.pairs.{slab}", str)
        _check_slab(spec, f"{where} expect.pairs.{slab}")
    ratio = _need(pairs, "ratio", f"{where} expect.pairs", int)
    if isinstance(ratio, bool) or ratio < 1:
        _fail(where, "expect.pairs.ratio must be a positive integer")
    size = _need(pairs, "in_plane", f"{where} expect.pairs", list)
    if len(size) != 2 or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in size):
        _fail(where, "expect.pairs.in_plane must be [rows, columns]")


def _validate_profile(p, where):
    _need(p, "name", where, str)
    for key in ("seed", "image_size", "n_test", "n_train", "test_first_id", "train_first_id"):
        v = _need(p, key, where, int)
        if isinstance(v, bool) or v < (0 if key == "seed" else 1):
            _fail(where, f"{key} must be a {'non-negative' if key == 'seed' else 'positive'} integer, got {v!r}")
    z = _need(p, "z_length_mm", where, (int, float))
    if not z > 0:
        _fail(where, f"z_length_mm must be positive, got {z}")
    a0, a1 = p["test_first_id"], p["test_first_id"] + p["n_test"]
    b0, b1 = p["train_first_id"], p["train_first_id"] + p["n_train"]
    if a0 < b1 and b0 < a1:
        _fail(where, "test and training patient IDs overlap; move train_first_id")
    test, train = _need(p, "test", where, dict), _need(p, "train", where, dict)
    for part, spec, slabs in (("test", test, ("thin", "thick")), ("train", train, ("thin",))):
        _check_choice(_need(spec, "kernels", f"{where}.{part}"), KERNELS, "kernels", f"{where}.{part}")
        _check_choice(_need(spec, "doses", f"{where}.{part}"), DOSES, "doses", f"{where}.{part}")
        for slab in slabs:
            _check_slab(_need(spec, slab, f"{where}.{part}", dict), f"{where}.{part}.{slab}")
    if thickness_label(test["thin"]["thickness_mm"]) == thickness_label(test["thick"]["thickness_mm"]):
        _fail(where, "test thin and thick thickness must differ")


def load_manifest(name_or_path) -> dict:
    """Load and validate a data manifest.

    Parameters
    ----------
    name_or_path : str or os.PathLike
        A manifest name (``"ldct_grand_challenge_2016"``, ``"virtual_quick"``; resolved in
        the repository's ``data_manifests/`` folder) or the path of a YAML file.

    Returns
    -------
    dict
        The manifest as written, plus ``"path"``: the file it was read from (str).

    Raises
    ------
    T2TError
        If the manifest does not exist (the message lists the known names), is not valid
        YAML, or lacks a required key or has a wrong value (the message names it).
    """
    import yaml

    arg = str(name_or_path)
    path = Path(arg).expanduser()
    if not path.is_file():
        if "/" in arg or "\\" in arg:
            raise T2TError(f"manifest file {path} does not exist")
        path = MANIFEST_DIR / (arg if arg.endswith((".yaml", ".yml")) else f"{arg}.yaml")
        if not path.is_file():
            raise T2TError(f"unknown manifest {arg!r}; known: {', '.join(available_manifests()) or 'none'}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise T2TError(f"manifest {path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    _validate(data, str(path.name))
    data["path"] = str(path)
    return data


def load_profile(profile: str) -> dict:
    """The ``profile:`` block of a virtual-cohort manifest (what the cohort writer reads).

    Parameters
    ----------
    profile : str
        ``"smoke"``, ``"quick"``, ``"paper"`` (or the manifest name ``"virtual_quick"``, or a
        YAML path).

    Returns
    -------
    dict
        ``name``, ``seed``, ``image_size``, ``z_length_mm``, ``n_test``, ``n_train``,
        ``test_first_id``, ``train_first_id``, ``test`` (``kernels``, ``doses``, ``thin``,
        ``thick``: ``{thickness_mm, increment_mm}``) and ``train`` (``kernels``, ``doses``,
        ``thin``), plus ``test_patients`` and ``train_patients`` (their IDs) and
        ``manifest`` (the manifest name).

    Raises
    ------
    T2TError
        If there is no such profile, or the manifest is not a virtual one.
    """
    name = str(profile)
    if "/" not in name and not name.endswith((".yaml", ".yml")) and not name.startswith("virtual_"):
        known = [n.removeprefix("virtual_") for n in available_manifests() if n.startswith("virtual_")]
        if name not in known:
            raise T2TError(f"unknown profile {name!r}; known: {', '.join(known)}")
        name = f"virtual_{name}"
    m = load_manifest(name)
    if m["kind"] != "virtual":
        raise T2TError(f"manifest {m['name']} describes real data, not a virtual profile")
    p = dict(m["profile"])
    p["test_patients"] = virtual_patients(p["n_test"], p["test_first_id"])
    p["train_patients"] = virtual_patients(p["n_train"], p["train_first_id"])
    p["manifest"] = m["name"]
    return p


def _as_manifest(manifest) -> dict:
    return manifest if isinstance(manifest, dict) else load_manifest(manifest)


def expectations(manifest) -> dict:
    """What :func:`check` verifies, in one shape for real and virtual manifests.

    Parameters
    ----------
    manifest : dict or str or os.PathLike
        A loaded manifest, or a name/path for :func:`load_manifest`.

    Returns
    -------
    dict
        ``{"test": {...} or None, "train": {...} or None}``. ``test`` has ``patients``,
        ``kernels``, ``doses``, ``series`` (label -> (thickness_mm, increment_mm)) and
        ``slices`` (patient -> label -> count); ``train`` has ``patients`` (list or None),
        ``doses`` and either ``series`` (one (thickness_mm, increment_mm), virtual) or
        ``scan_types`` (letter -> vendor -> (thickness_mm, increment_mm), real). For an
        RPLHR-CT manifest each part has ``layout`` ("rplhr"), ``splits`` and
        ``subset_splits`` (split -> case count), ``thin`` and ``thick`` ((label,
        thickness_mm, increment_mm)), ``ratio`` (thin slices per thick slice) and
        ``in_plane`` ((rows, columns)).
    """
    m = _as_manifest(manifest)
    out = {"test": None, "train": None}
    if m["kind"] == "virtual":
        p = m["profile"]
        te, tr = p["test"], p["train"]
        series = {}
        for slab in ("thin", "thick"):
            t, i = _check_slab(te[slab], slab)
            series[thickness_label(t)] = (t, i)
        out["test"] = {
            "patients": virtual_patients(p["n_test"], p["test_first_id"]),
            "kernels": list(te["kernels"]),
            "doses": list(te["doses"]),
            "series": series,
            "slices": {},
        }
        out["train"] = {
            "patients": virtual_patients(p["n_train"], p["train_first_id"]),
            "doses": ["full" if d == "full" else "low" for d in tr["doses"]],
            "series": _check_slab(tr["thin"], "train.thin"),
            "scan_types": None,
        }
        return out
    exp = m["expect"]
    if _is_rplhr(m):
        pairs = exp["pairs"]
        common = {
            "layout": "rplhr",
            "thin": (pairs["thin"]["label"], *_check_slab(pairs["thin"], "thin")),
            "thick": (pairs["thick"]["label"], *_check_slab(pairs["thick"], "thick")),
            "ratio": int(pairs["ratio"]),
            "in_plane": tuple(int(v) for v in pairs["in_plane"]),
        }
        for part in ("test", "train"):
            if part in exp:
                out[part] = {
                    **common,
                    "splits": dict(exp[part]["splits"]),
                    "subset_splits": dict(exp[part].get("subset_splits") or {}),
                }
        return out
    if "test" in exp:
        t = exp["test"]
        out["test"] = {
            "patients": [str(x).upper() for x in t["patients"]],
            "kernels": list(t["kernels"]),
            "doses": list(t["doses"]),
            "series": {lab: _check_slab(s, lab) for lab, s in t["series"].items()},
            "slices": {pid: {k: v for k, v in (c or {}).items() if v} for pid, c in (t.get("slices") or {}).items()},
        }
    if "train" in exp:
        t = exp["train"]
        out["train"] = {
            "patients": None if t.get("patients") is None else [str(x).upper() for x in t["patients"]],
            "doses": list(t["doses"]),
            "series": None,
            "scan_types": {
                letter: {v: _check_slab(s, v) for v, s in spec["vendors"].items()}
                for letter, spec in t["scan_types"].items()
            },
            "scan_names": {letter: spec.get("name", letter) for letter, spec in t["scan_types"].items()},
            "collection_counts": t.get("collection_counts") or {},
        }
    return out


# --------------------------------------------------------------------------- headers


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


def _judge(name: str, scan, thickness: float, increment: float, n_expected, tol: dict) -> tuple[list, list]:
    """Problems and notes (plain words) of one series folder, from a t2tcore.io.FolderScan."""
    problems, notes = [], []
    for reason, n in scan.skipped.items():
        problems.append(
            f"{name}: {n} of {_plural(scan.n_files, 'file')} skipped, {reason} (e.g. {scan.examples.get(reason, '?')})"
        )
    if not scan.series:
        problems.append(f"{name}: no readable image series in {scan.path}")
        return problems, notes
    if len(scan.series) > 1:
        problems.append(f"{name}: the folder mixes {len(scan.series)} series (different SeriesInstanceUID)")
    info = scan.series[0]
    if n_expected is not None and info.n_slices != n_expected:
        problems.append(f"{name}: {_plural(info.n_slices, 'slice')}, expected {n_expected}")
    if info.thickness is None:
        problems.append(f"{name}: no SliceThickness in the headers, expected {_fmt(thickness)} mm")
    elif abs(info.thickness - thickness) > tol["thickness"]:
        problems.append(f"{name}: slice thickness is {_fmt(info.thickness)} mm, expected {_fmt(thickness)} mm")
    if info.spacing is None:
        if n_expected != 1:
            problems.append(f"{name}: only {_plural(info.n_slices, 'slice')}, so the increment cannot be checked")
    elif abs(info.spacing - increment) > tol["increment"]:
        problems.append(f"{name}: slice increment is {_fmt(info.spacing)} mm, expected {_fmt(increment)} mm")
    for note in info.notes:
        note = note.replace(" (kept as is, not resampled)", "")
        (notes if note.startswith("gantry tilt") else problems).append(f"{name}: {note}")
    return problems, notes


def _manufacturer(folder: Path) -> str:
    """Manufacturer from the first DICOM file of ``folder`` (header only), or ''."""
    import pydicom

    for f in dicom_files(folder):
        try:
            ds = pydicom.dcmread(f, stop_before_pixels=True, specific_tags=["Manufacturer"])
        except Exception:  # noqa: BLE001 - unreadable: try the next file
            continue
        return str(ds.get("Manufacturer", "") or "")
    return ""


# --------------------------------------------------------------------------- report


@dataclass
class CheckReport:
    """Result of :func:`check`.

    Attributes
    ----------
    manifest : str
        Manifest name.
    root : pathlib.Path
        The folder checked.
    problems : list of str
        One plain-words line per thing missing or wrong; empty when complete.
    notes : list of str
        Things worth knowing that are not failures (extra patients, subset downloads).
    expected : int
        Number of series the manifest asks for (training series of a real TCIA download,
        where any subset is fine, count as found ones; RPLHR-CT: thin/thick case pairs).
    present : int
        How many of those were found.
    correct : int
        How many of those passed every header check.
    unit : str
        What is counted: "series", or "case pairs" (RPLHR-CT).
    variant : str
        A known partial variant of the data set that was found (e.g. the authors' subset).
    """

    manifest: str
    root: Path
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    expected: int = 0
    present: int = 0
    correct: int = 0
    unit: str = "series"
    variant: str = ""

    @property
    def ok(self) -> bool:
        """True when nothing is missing or wrong."""
        return not self.problems

    @property
    def summary(self) -> str:
        """One line: counts and COMPLETE / INCOMPLETE."""
        verdict = "COMPLETE" if self.ok else f"INCOMPLETE ({len(self.problems)} problem{'s' * (len(self.problems) != 1)})"
        variant = f" ({self.variant})" if self.variant else ""
        return (
            f"summary: {self.present} of {self.expected} expected {self.unit} present{variant}, "
            f"{self.correct} correct -- {verdict}"
        )

    def lines(self) -> list[str]:
        """The report as lines: header, problems, notes, summary."""
        out = [f"checking {self.root} against manifest {self.manifest}"]
        out += [f"problem: {p}" for p in self.problems]
        out += [f"note: {n}" for n in self.notes]
        out.append(self.summary)
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


# --------------------------------------------------------------------------- check


def _dose_words(dose: str) -> str:
    return f"{dose} dose"


def _series_name(patient, kernel, dose, label) -> str:
    return f"{patient} {label} {kernel} {_dose_words(dose)}"


def check(root, manifest, *, progress: bool = False) -> CheckReport:
    """Verify a downloaded (or generated) data folder against a manifest.

    Reads folder names and DICOM headers only (:func:`t2tcore.io.scan_folder` on each
    series folder), never pixel data; slice counts are the images ``read_series`` would read.

    Parameters
    ----------
    root : str or os.PathLike
        The data folder (holding ``Training_Image_Data`` and/or ``LDCT-and-Projection-data``,
        or one of them).
    manifest : dict or str or os.PathLike
        A loaded manifest, a manifest name or a YAML path.
    progress : bool, optional
        Show a progress bar over the series checked (on stderr, and only on a terminal).

    Returns
    -------
    CheckReport
        Problems and notes in plain words, and counts; ``report.ok`` is True when complete.

    Raises
    ------
    T2TError
        If ``root`` is not an existing folder or the manifest cannot be loaded.
    """
    m = _as_manifest(manifest)
    root = Path(root).expanduser()
    if not root.is_dir():
        raise T2TError(f"data folder {root} does not exist" if not root.exists() else f"{root} is not a folder")
    exp = expectations(m)
    tol = {k: float(v) for k, v in m["tolerance_mm"].items()}
    report = CheckReport(manifest=m["name"], root=root)
    if _is_rplhr(m):
        _check_rplhr(root, exp, tol, report, progress)
        return report
    jobs: list[tuple[str, Path, float, float, int | None]] = []  # header checks to run
    if exp["test"] is not None:
        jobs += _check_test(root, exp["test"], m, report)
    if exp["train"] is not None:
        jobs += _check_train(root, exp["train"], m, report)
    bar = None
    if progress and jobs:
        from t2tcore.progress import bar as progress_bar

        bar = progress_bar(total=len(jobs), desc="checking series", unit="series", enabled=None)
    try:
        for name, folder, thickness, increment, n_expected in jobs:
            try:
                scan = scan_folder(folder)
            except DicomReadError as exc:
                found, notes = [f"{name}: {exc}"], []
            else:
                found, notes = _judge(name, scan, thickness, increment, n_expected, tol)
            report.problems += found
            report.notes += notes
            report.correct += not found
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return report


def _check_test(root: Path, t: dict, m: dict, report: CheckReport) -> list:
    want = [(k, d, lab) for lab in t["series"] for k in t["kernels"] for d in t["doses"]]
    n_per_patient = len(want)
    report.expected += n_per_patient * len(t["patients"])
    try:
        entries = find_series(root)
    except T2TError:
        report.problems.append(
            f"no Grand Challenge series found at all (none of the {report.expected} expected); "
            + expected_layout_text()
        )
        return []
    index: dict[tuple, list[SeriesEntry]] = defaultdict(list)
    for e in entries:
        index[e.key].append(e)
    patients_present = {e.patient for e in entries}
    jobs = []
    expected_patients = set(t["patients"])
    missing_patients = [p for p in t["patients"] if p not in patients_present]
    for p in missing_patients:
        report.problems.append(f"missing patient {p}: none of its {n_per_patient} series is there")
    present = [p for p in t["patients"] if p in patients_present]
    # a kernel/dose/thickness missing for every present patient is one line, not one per patient
    missing_for_all = set()
    if len(present) >= 2:
        for k, d, lab in want:
            if all(not index.get((p, k, d, lab)) for p in present):
                missing_for_all.add((k, d, lab))
                leaf = series_dir(root, "X000", k, d, lab)
                report.problems.append(
                    f"missing for every patient: {lab} {k} {_dose_words(d)} "
                    f"(folder '{leaf.parents[2].name}/{leaf.parents[1].name}')"
                )
    for p in present:
        for k, d, lab in want:
            found = index.get((p, k, d, lab), [])
            if not found:
                if (k, d, lab) not in missing_for_all:
                    rel = series_dir(root, p, k, d, lab).relative_to(root)
                    report.problems.append(f"missing: {_series_name(p, k, d, lab)} (expected in {rel})")
                continue
            report.present += 1
            name = _series_name(p, k, d, lab)
            if len(found) > 1:
                report.problems.append(f"{name}: found in {len(found)} folders: " + ", ".join(str(e.path) for e in found))
            thickness, increment = t["series"][lab]
            n_expected = t["slices"].get(p, {}).get(lab)
            jobs.append((name, found[0].path, thickness, increment, n_expected))
    extra_p = sorted(patients_present - expected_patients)
    if extra_p:
        report.notes.append(f"patients not in the manifest, not checked: {', '.join(extra_p)}")
        if m["kind"] == "virtual":
            real_like = [p for p in extra_p if not is_virtual_patient(p)]
            if real_like:
                report.notes.append(f"these look like real patients in a virtual cohort: {', '.join(real_like)}")
    wanted_keys = set(want)
    extra_s = sorted({(e.kernel, e.dose, e.thickness_label) for e in entries} - wanted_keys)
    for k, d, lab in extra_s:
        report.notes.append(f"series not in the manifest, not checked: {lab} {k} {_dose_words(d)}")
    return jobs


def _check_train(root: Path, t: dict, m: dict, report: CheckReport) -> list:
    try:
        entries = find_training_series(root)
    except T2TError:
        report.expected += len(t["patients"]) * len(t["doses"]) if t["patients"] else 1
        report.problems.append(
            f"no training series found at all; expected {TCIA_COLLECTION}/<patient>/<study>/<series>/*.dcm "
            "as the NBIA Data Retriever writes it"
        )
        return []
    jobs = []
    by_patient: dict[str, list] = defaultdict(list)
    for e in entries:
        by_patient[e.patient].append(e)
    if t["patients"] is not None:
        report.expected += len(t["patients"]) * len(t["doses"])
        for p in t["patients"]:
            got = by_patient.get(p, [])
            for d in t["doses"]:
                hits = [e for e in got if e.dose == d]
                if not hits:
                    report.problems.append(f"missing training series: {p} {_dose_words(d)}")
                    continue
                report.present += 1
                name = f"training {p} {_dose_words(d)}"
                if len(hits) > 1:
                    report.problems.append(f"{name}: found in {len(hits)} folders: " + ", ".join(str(e.path) for e in hits))
                jobs.append((name, hits[0].path, *t["series"], None))
        extra = sorted(set(by_patient) - set(t["patients"]))
        if extra:
            report.notes.append(f"training patients not in the manifest, not checked: {', '.join(extra)}")
        return jobs
    # real TCIA download: any subset; each image series is checked against Table I by scan type and vendor
    used = [e for e in entries if e.dose in t["doses"]]
    skipped = len(entries) - len(used)
    if skipped:
        report.notes.append(f"{skipped} training series of unknown dose were not checked")
    if not used:
        report.expected += 1
        report.problems.append("no full- or low-dose image series found in the training data")
        return []
    report.expected += len(used)
    n_same = Counter((e.patient, e.dose) for e in used)
    for e in used:
        name = f"training {e.patient} {_dose_words(e.dose)}"
        if n_same[(e.patient, e.dose)] > 1:
            name += f" ({e.path.name})"
        vendors = t["scan_types"].get(e.scan_type)
        if vendors is None:
            report.notes.append(f"{name}: scan type '{e.scan_type}' is not in the manifest, not checked")
            report.expected -= 1
            continue
        manufacturer = _manufacturer(e.path)
        vendor = next((v for k, v in _VENDORS.items() if manufacturer.upper().startswith(k)), None)
        report.present += 1
        if vendor is None or vendor not in vendors:
            report.notes.append(f"{name}: manufacturer '{manufacturer}' is not in the manifest, thickness not checked")
            report.correct += 1
            continue
        jobs.append((name, e.path, *vendors[vendor], None))
    counts = Counter(p[:1] for p in by_patient)
    names = t.get("scan_names", {})
    for letter, total in sorted(t.get("collection_counts", {}).items()):
        report.notes.append(
            f"{counts.get(letter, 0)} of the collection's {total} {names.get(letter, letter)} ({letter}) patients present"
        )
    return jobs


# --------------------------------------------------------------------------- RPLHR-CT


def _judge_pair(case: rplhr.RplhrCase, spec: dict, tol: dict) -> tuple[list, list]:
    """Problems and notes of one thin/thick pair, from the NIfTI headers (no voxel data)."""
    name = f"{case.split}/{case.case}"
    try:
        thin, thick = scan_folder(case.thin).series[0], scan_folder(case.thick).series[0]
    except (NiftiReadError, DicomReadError) as exc:
        return [f"{name}: {exc}"], []
    problems, notes = [], []
    rows, cols = spec["in_plane"]
    for (label, thickness, increment), info in ((spec["thin"], thin), (spec["thick"], thick)):
        if (info.rows, info.columns) != (rows, cols):
            problems.append(f"{name}: {label} images are {info.rows} x {info.columns} px, expected {rows} x {cols}")
        if info.spacing is None:
            problems.append(f"{name}: {label} has {_plural(info.n_slices, 'slice')}; its spacing cannot be checked")
        elif abs(info.spacing - increment) > tol["increment"]:
            problems.append(f"{name}: {label} slice spacing is {_fmt(info.spacing)} mm, expected {_fmt(increment)} mm")
        if info.thickness is not None and abs(info.thickness - thickness) > tol["thickness"]:
            problems.append(
                f"{name}: {label} slice thickness (JSON sidecar) is {_fmt(info.thickness)} mm, expected {_fmt(thickness)} mm"
            )
        for note in info.notes:
            note = note.replace(" (kept as is, not resampled)", "")
            if note.startswith("irregular slice spacing"):
                problems.append(f"{name}: {label} {note}")
            elif not note.startswith("no slice thickness"):  # NIfTI has none; not a fault of the download
                notes.append(f"{name}: {label} {note}")
    if thin.pixel_spacing and thick.pixel_spacing:
        if any(abs(a - b) > 1e-3 * max(a, b) for a, b in zip(thin.pixel_spacing, thick.pixel_spacing)):
            problems.append(
                f"{name}: pixel spacing differs, {spec['thin'][0]} {thin.pixel_spacing} mm vs "
                f"{spec['thick'][0]} {thick.pixel_spacing} mm"
            )
    k = spec["ratio"]
    if thin.n_slices != k * thick.n_slices:
        problems.append(
            f"{name}: {thin.n_slices} thin and {thick.n_slices} thick slices; the {k}:1 relation (thick slice z covers "
            f"thin slices {k}z to {k}z+{k - 1} in the authors' loader) needs {k * thick.n_slices} thin slices"
        )
    elif thin.spacing and thin.position_range and thick.position_range:
        off = thick.position_range[0] - (thin.position_range[0] + (k - 1) / 2 * thin.spacing)
        if abs(off) > tol["increment"]:
            notes.append(
                f"{name}: in world coordinates (the affines) thick slice z lies {off:+.3g} mm from the centre of thin "
                f"slices {k}z to {k}z+{k - 1} (the authors' loader pairs them by index)"
            )
    return problems, notes


def _check_rplhr(root: Path, exp: dict, tol: dict, report: CheckReport, progress: bool) -> None:
    """Cases present and paired per split, then every pair's headers (see :func:`_judge_pair`)."""
    parts = [exp[p] for p in ("train", "test") if exp[p] is not None]
    full = {s: n for p in parts for s, n in p["splits"].items()}
    subset = {s: n for p in parts for s, n in p["subset_splits"].items()}
    spec = parts[0]
    report.unit = "case pairs"
    try:
        base = rplhr.find_root(root)
    except T2TError as exc:
        report.expected = sum(full.values())
        report.problems.append(f"{exc} (none of the {report.expected} expected case pairs)")
        return
    if base != root:
        report.notes.append(f"the RPLHR-CT tree is {base}")
    found = {s: rplhr.cases(base, s) for s in full}
    paired = {s: [c for c in cs if c.paired] for s, cs in found.items()}
    for s, cs in found.items():
        for c in cs:
            if not c.paired:
                have, missing = (c.thin, spec["thick"][0]) if c.thin is not None else (c.thick, spec["thin"][0])
                report.problems.append(f"{s}/{c.case}: {have.relative_to(base)} has no {missing} partner")
    counts = {s: len(v) for s, v in paired.items()}
    as_subset = bool(subset) and counts != full and all(counts[s] == subset[s] for s in full)
    target = subset if as_subset else full
    report.expected = sum(target.values())
    order = [s for s in rplhr.SPLITS if s in full]
    if as_subset:
        numbers = "/".join(str(subset[s]) for s in order)
        report.variant = f"the authors' {numbers} subset"
        report.notes.append(
            f"only the authors' small subset is present ({numbers} {'/'.join(order)} cases, the tiny set their "
            f"GitHub README links), not the full data set ({'/'.join(str(full[s]) for s in order)}): every pair is "
            "checked, but results on it are not comparable with results on the full test set"
        )
    for s in order:
        if counts[s] < target[s]:
            report.problems.append(f"{s}: {counts[s]} of {target[s]} case pairs present")
        elif counts[s] > target[s]:
            report.notes.append(f"{s}: {counts[s]} case pairs, more than the manifest's {target[s]}; all are checked")
        report.present += min(counts[s], target[s])
    jobs = [c for s in order for c in paired[s]]
    bar = None
    if progress and jobs:
        from t2tcore.progress import bar as progress_bar

        bar = progress_bar(total=len(jobs), desc="checking pairs", unit="pair", enabled=None)
    correct = {s: 0 for s in order}
    try:
        for c in jobs:
            problems, notes = _judge_pair(c, spec, tol)
            report.problems += problems
            report.notes += notes
            correct[c.split] += not problems
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    report.correct = sum(min(correct[s], target[s]) for s in order)
