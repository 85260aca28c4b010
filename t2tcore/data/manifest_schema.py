"""Data manifests (``data_manifests/*.yaml``): their schema, loading them, and what a folder should hold.

A manifest describes one data set: the real 2016 Low Dose CT Grand Challenge (the paper's
test set, Table II), TCIA LDCT-and-Projection-data (its training set, Table I), RPLHR-CT
(real 1 mm / 5 mm NIfTI pairs, Yu et al. 2022), or one profile of the virtual cohort
(``virtual_smoke``, ``virtual_quick``, ``virtual_paper``, whose ``profile:`` block is what
the cohort writer reads). The schema is documented at the top of every manifest file;
:func:`load_manifest` checks it, :func:`load_profile` reads a virtual profile, and
:func:`expectations` says what a folder of the data set should hold (for
:func:`t2tcore.data.manifests.check`).
"""

from __future__ import annotations

from pathlib import Path

from t2tcore.errors import T2TError
from t2tcore.data import rplhr
from t2tcore.data.layout import DOSES, KERNELS, thickness_label, virtual_patients

__all__ = ["MANIFEST_DIR", "SCHEMA_VERSION", "VENDORS", "as_manifest", "available_manifests", "expectations",
           "is_rplhr", "load_manifest", "load_profile", "validate_profile"]

MANIFEST_DIR = Path(__file__).resolve().parents[2] / "data_manifests"
"""Folder of the repository's manifests; names given to :func:`load_manifest` resolve here."""

SCHEMA_VERSION = 1

VENDORS = {"SIEMENS": "SIEMENS", "GE": "GE"}  # Manufacturer header prefix -> Table I vendor key



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
        if is_rplhr(m):
            _validate_rplhr(m, expect, where)
            return
        if "test" in expect:
            _validate_real_test(expect["test"], f"{where} expect.test")
        if "train" in expect:
            _validate_real_train(expect["train"], f"{where} expect.train")
    else:
        validate_profile(_need(m, "profile", where, dict), f"{where} profile")
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
            if vendor not in VENDORS.values():
                _fail(where, f"unknown vendor {vendor!r} (expected {', '.join(VENDORS.values())})")
            _check_slab(slab, f"{where} scan_types.{letter}.{vendor}")


def is_rplhr(m: dict) -> bool:
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


def validate_profile(p, where):
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


def as_manifest(manifest) -> dict:
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
    m = as_manifest(manifest)
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
    if is_rplhr(m):
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
