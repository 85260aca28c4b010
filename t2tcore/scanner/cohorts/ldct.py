"""The ``ldct`` virtual cohort: DICOM series of virtual patients in the layouts of the paper's data.

The paper tests on the 2016 Low Dose CT Grand Challenge and trains on TCIA
LDCT-and-Projection-data; neither may be redistributed. :func:`make_cohort` writes a
stand-in for both, made by the virtual helical scanner (:func:`t2tcore.scanner.reconstruction.scan`)
from seeded phantoms (:mod:`t2tcore.scanner.abdomen`, :mod:`t2tcore.scanner.chest`), so that
every notebook reads virtual and real data with the same code (:mod:`t2tcore.data.layout`).

Test cohort (stands in for the Grand Challenge)
    Patients ``V001 ...``, abdomen phantoms. Per patient and dose (full 200 mAs, quarter
    50 mAs) ONE helical acquisition; every reconstruction of that dose -- thin 1.0/0.8 mm
    and thick 3.0/2.0 mm, kernels B30 and D45 -- comes from that one set of noisy raw data,
    as on a real scanner. So the "real" thick slices are physics (z-filtered FBP with a
    z-weighting whose SSP has FWHM = the nominal thickness), not any of the thick-slice
    simulation methods the book compares. Grand Challenge folders
    (:func:`t2tcore.data.layout.series_dir`), e.g.
    ``Training_Image_Data/3mm D45/quarter_3mm_sharp/V001/quarter_3mm_sharp/IM0001.dcm``.
Training cohort (stands in for TCIA LDCT-and-Projection-data)
    Patients ``V501 ...`` (seeds disjoint from the test cohort), abdomen and chest phantoms
    alternating (chests with a random fibrosis extent), thin slices only, from a DIFFERENT
    scanner configuration (:data:`TRAIN_SCANNER`: 16 x 0.625 mm rows at pitch 1.375
    instead of 16 x 0.6 mm at pitch 0.9375), TCIA folders
    (:func:`t2tcore.data.layout.training_series_dir`).

Both cohorts are written through :func:`t2tcore.io.write_series`. All series of one
patient share StudyInstanceUID and FrameOfReferenceUID, derived deterministically from the
profile name, seed and patient ID; SeriesInstanceUIDs and SOPInstanceUIDs are new on every
run (so files differ byte-wise between runs while the pixel data are identical on the same
device). Headers record ConvolutionKernel, KVP, Exposure (mAs), the helical geometry and
Manufacturer ``"t2t virtual scanner"``; SeriesDescription reads like ``"V001 full 1mm B30"``.

Manifest and atomicity
    ``cohort_manifest.json`` at the root records everything that determines the content
    (:func:`cohort_spec`: the profile, scanner and reconstruction configurations, every
    patient's phantom and noise seeds, the package version and a hash of the generating
    source code) and, besides, per-series slice counts and per-patient timings. Written as
    every virtual cohort is (:func:`t2tcore.scanner.cohorts.writer.write_cohort`): a cohort
    whose manifest matches the requested spec and whose series are all present is kept
    (unless ``force``); otherwise it is made in a hidden staging folder beside ``out_dir``,
    the manifest last, and moved into place at the end, replacing an older cohort only then.

Profiles (``data_manifests/virtual_<profile>.yaml``): ``smoke`` (CI), ``quick`` (book
default), ``paper``; see :func:`t2tcore.data.manifests.load_profile`.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from t2tcore import __version__
from t2tcore.errors import T2TError
from t2tcore.scanner.cohorts.writer import MANIFEST_NAME, CohortJob, generator_info, read_manifest, uid, write_cohort
from t2tcore.scanner.cohorts import writer

__all__ = [
    "MANIFEST_NAME",
    "COHORT_FORMAT",
    "TEST_SCANNER",
    "TRAIN_SCANNER",
    "DOSE_MAS",
    "PatientPlan",
    "resolve_profile",
    "scanner_configs",
    "recon_configs",
    "plan_patients",
    "make_phantom",
    "cohort_spec",
    "read_manifest",
    "is_up_to_date",
    "make_cohort",
]

#: Version of the cohort's folder/manifest format (part of the spec).
COHORT_FORMAT = 1

#: Scanner geometry of the test cohort (Grand Challenge stand-in): 16 x 0.6 mm rows,
#: pitch 15/16 (complementary rays half-way between direct rays).
TEST_SCANNER: dict[str, Any] = {"n_rows": 16, "row_width": 0.6, "pitch": 0.9375, "kvp": 120.0}

#: Scanner geometry of the training cohort (TCIA stand-in): another detector and a faster
#: helix, 16 x 0.625 mm rows at pitch 1.375 (a common high-speed helical protocol).
TRAIN_SCANNER: dict[str, Any] = {"n_rows": 16, "row_width": 0.625, "pitch": 1.375, "kvp": 120.0}

#: Effective mAs of the dose levels (Grand Challenge: 200 full, 50 quarter quality-reference
#: mAs); the training cohort's "low" dose is the quarter dose.
DOSE_MAS: dict[str, float] = {"full": 200.0, "quarter": 50.0}

_MANUFACTURER = "t2t virtual scanner"
# Extra z (mm) of phantom beyond the planned slice range on each side: covers the overscan,
# half a table feed and the detector width of either scanner, with room to spare.
_PHANTOM_MARGIN_MM = 40.0
# Random anatomical level of each patient (mm, +- this) relative to the phantoms' default.
_ANATOMY_JITTER_MM = 25.0


# --------------------------------------------------------------------------------------
# profile, configurations, plan
# --------------------------------------------------------------------------------------


def resolve_profile(profile: str | os.PathLike | Mapping) -> dict:
    """The ``profile:`` block of a virtual manifest, validated, with patient IDs.

    Parameters
    ----------
    profile : str, path-like or mapping
        ``"smoke"``, ``"quick"``, ``"paper"``, a manifest name (``"virtual_quick"``), a YAML
        manifest path, or a profile block as a mapping (same keys as in the YAML files;
        handy for tests and small experiments).

    Returns
    -------
    dict
        As :func:`t2tcore.data.manifests.load_profile`: ``name``, ``seed``, ``image_size``,
        ``z_length_mm``, ``n_test``, ``n_train``, ``test_first_id``, ``train_first_id``,
        ``test``, ``train``, ``test_patients``, ``train_patients``.

    Raises
    ------
    T2TError
        Unknown profile, or an invalid profile block (the message names the key).
    """
    from t2tcore.data.layout import virtual_patients
    from t2tcore.data.manifest_schema import load_profile, validate_profile

    if isinstance(profile, Mapping):
        p = json.loads(json.dumps(dict(profile)))  # a deep, JSON-clean copy
        for key in ("test_patients", "train_patients", "manifest"):
            p.pop(key, None)
        validate_profile(p, "profile")
        p["test_patients"] = virtual_patients(p["n_test"], p["test_first_id"])
        p["train_patients"] = virtual_patients(p["n_train"], p["train_first_id"])
        p["manifest"] = None
    else:
        p = load_profile(str(profile))
    if len(p["train"]["kernels"]) != 1:
        raise T2TError(
            f"profile {p['name']}: the training cohort has one kernel (TCIA layout has no kernel folders), "
            f"got {p['train']['kernels']}"
        )
    return p


def scanner_configs(profile: Mapping):
    """``(test, train)`` :class:`~t2tcore.scanner.config.ScannerConfig` of a profile.

    The in-plane field of view is left to each phantom (``fov_mm=None``: a display field
    of view fitted to the patient, as on a real scanner), so pixel spacing varies a little
    between patients.
    """
    from t2tcore.scanner.config import ScannerConfig

    n = int(profile["image_size"])
    return ScannerConfig(image_size=n, **TEST_SCANNER), ScannerConfig(image_size=n, **TRAIN_SCANNER)


def recon_configs(profile: Mapping) -> dict[str, list]:
    """Reconstructions of a profile: ``{"test": [...], "train": [...]}`` of ReconConfig.

    Test: thin and thick, every kernel; training: thin, its one kernel. All slices span
    ``[-z_length_mm / 2, z_length_mm / 2]`` from its start in steps of the increment.
    """
    from t2tcore.scanner.config import ReconConfig

    zr = _z_range(profile)
    te, tr = profile["test"], profile["train"]
    test = [
        ReconConfig(float(te[slab]["thickness_mm"]), float(te[slab]["increment_mm"]), k, "trapezoid", zr)
        for slab in ("thin", "thick")
        for k in te["kernels"]
    ]
    train = [ReconConfig(float(tr["thin"]["thickness_mm"]), float(tr["thin"]["increment_mm"]), k, "trapezoid", zr)
             for k in tr["kernels"]]
    return {"test": test, "train": train}


def _z_range(profile: Mapping) -> tuple[float, float]:
    half = float(profile["z_length_mm"]) / 2
    return (-half, half)


@dataclass(frozen=True)
class PatientPlan:
    """What one virtual patient is made of.

    Attributes
    ----------
    patient : str
        ``"V001"``.
    role : str
        ``"test"`` or ``"train"``.
    anatomy : str
        ``"abdomen"`` or ``"chest"``.
    phantom_seed : int
        Seed of :func:`t2tcore.scanner.abdomen.abdomen` / :func:`~t2tcore.scanner.chest.chest`.
    noise_seed : int
        Seed of the quantum noise (each dose derives its own stream from it).
    anatomy_offset_mm : float
        Anatomical level at the centre of the scan relative to the phantom's default, mm.
    fibrosis : float
        Fibrosis extent of a chest phantom (0 for abdomens).
    """

    patient: str
    role: str
    anatomy: str
    phantom_seed: int
    noise_seed: int
    anatomy_offset_mm: float
    fibrosis: float


def _derive(*keys: int) -> int:
    """A non-negative 31-bit integer derived from integer keys (numpy SeedSequence)."""
    return int(np.random.SeedSequence([int(k) for k in keys]).generate_state(1, np.uint32)[0] >> np.uint32(1))


def plan_patients(profile: Mapping) -> list[PatientPlan]:
    """Every patient of the cohort, test patients first; deterministic from the profile seed.

    Phantom seeds are distinct across the whole cohort (test and training seeds are
    disjoint), noise seeds too. Training patients alternate abdomen, chest, abdomen, ...;
    half of the chests (drawn from the seed) have a fibrosis extent in [0.1, 0.6].
    """
    base = int(profile["seed"])
    plans: list[PatientPlan] = []
    used: set[int] = set()

    def unique(*keys: int) -> int:
        s, bump = _derive(base, *keys), 0
        while s in used:  # practically never; keeps the seeds disjoint by construction
            bump += 1
            s = _derive(base, *keys, bump)
        used.add(s)
        return s

    for role, code, ids in (("test", 1, profile["test_patients"]), ("train", 2, profile["train_patients"])):
        for i, pid in enumerate(ids):
            num = int(pid[1:])
            seed = unique(code, num, 0)
            rng = np.random.default_rng([base, code, num, 7])
            anatomy = "abdomen" if role == "test" or i % 2 == 0 else "chest"
            offset = round(float(rng.uniform(-_ANATOMY_JITTER_MM, _ANATOMY_JITTER_MM)), 2)
            fib = round(float(rng.uniform(0.1, 0.6)), 3) if anatomy == "chest" and rng.uniform() < 0.5 else 0.0
            plans.append(PatientPlan(pid, role, anatomy, seed, unique(code, num, 1), offset, fib))
    return plans


def make_phantom(plan: PatientPlan, profile: Mapping):
    """The phantom of one planned patient, covering the slice range with a margin."""
    from t2tcore.scanner.abdomen import abdomen
    from t2tcore.scanner.chest import chest

    z0, z1 = _z_range(profile)
    ext = (z0 - _PHANTOM_MARGIN_MM, z1 + _PHANTOM_MARGIN_MM)
    if plan.anatomy == "abdomen":
        return abdomen(plan.phantom_seed, z_extent=ext, anatomy_offset_mm=plan.anatomy_offset_mm)
    return chest(plan.phantom_seed, z_extent=ext, fibrosis=plan.fibrosis,
                          anatomy_offset_mm=plan.anatomy_offset_mm)


def _doses(names) -> dict[str, float]:
    return {d: DOSE_MAS[d] for d in names}


def cohort_spec(profile: str | os.PathLike | Mapping) -> dict:
    """Everything that determines a cohort's content, as a JSON-able dict.

    Two cohorts with equal specs hold the same images (up to the floating-point
    differences between devices). :func:`make_cohort` skips generation when the manifest
    of an existing cohort has this spec.
    """
    p = resolve_profile(profile)
    test_cfg, train_cfg = scanner_configs(p)
    recons = recon_configs(p)
    prof = {k: v for k, v in p.items() if k != "manifest"}
    return {
        "format": COHORT_FORMAT,
        "t2t_version": __version__,
        "source_sha256": writer.source_hash(__file__),
        "profile": prof,
        "z_range_mm": list(_z_range(p)),
        "phantom_margin_mm": _PHANTOM_MARGIN_MM,
        "test": {
            "scanner": asdict(test_cfg),
            "recons": [asdict(r) for r in recons["test"]],
            "doses_mAs": _doses(p["test"]["doses"]),
        },
        "train": {
            "scanner": asdict(train_cfg),
            "recons": [asdict(r) for r in recons["train"]],
            "doses_mAs": _doses(p["train"]["doses"]),
        },
        "patients": [asdict(x) for x in plan_patients(p)],
    }


# --------------------------------------------------------------------------------------
# manifest
# --------------------------------------------------------------------------------------



def is_up_to_date(profile: str | os.PathLike | Mapping, out_dir: str | os.PathLike) -> bool:
    """True if ``out_dir`` holds a complete cohort made with this profile's spec."""
    return writer.is_up_to_date(out_dir, cohort_spec(profile))


# --------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------


def _label(thickness: float) -> str:
    from t2tcore.data.layout import thickness_label

    return thickness_label(thickness)


def _extra(cfg, kernel: str, mAs: float, fov: float, anatomy: str, plan: PatientPlan, study: str) -> dict:
    return {
        "ConvolutionKernel": kernel,
        "KVP": cfg.kvp,
        "Exposure": int(round(mAs)),
        "Manufacturer": _MANUFACTURER,
        "ManufacturerModelName": f"helical {cfg.n_rows}x{cfg.row_width:g}mm",
        "SoftwareVersions": f"t2t {__version__}",
        "BodyPartExamined": anatomy.upper(),
        "SpiralPitchFactor": cfg.pitch,
        "SingleCollimationWidth": cfg.row_width,
        "TotalCollimationWidth": round(cfg.n_rows * cfg.row_width, 6),
        "TableFeedPerRotation": round(cfg.feed_mm, 6),
        "ReconstructionDiameter": round(fov, 3),
        "StudyDescription": study,
        "ImageComments": (f"virtual {anatomy} phantom seed {plan.phantom_seed}, anatomy offset "
                          f"{plan.anatomy_offset_mm:g} mm" + (f", fibrosis {plan.fibrosis:g}" if plan.fibrosis else "")
                          + f", noise seed {plan.noise_seed}"),
    }



def _make_patient(plan: PatientPlan, profile: dict, tmp: Path, device, cfgs: dict, recons: dict,
                  bar=None) -> tuple[list[dict], dict, dict]:
    """Scan, reconstruct and write one patient into ``tmp``; returns (series, timings, info)."""
    from t2tcore.io import Series, write_series
    from t2tcore.data.layout import series_dir, training_series_dir
    from t2tcore.scanner.reconstruction import scan

    t_start = time.perf_counter()
    role = plan.role
    cfg, rec = cfgs[role], recons[role]
    doses = _doses(profile[role]["doses"])
    t0 = time.perf_counter()
    ph = make_phantom(plan, profile)
    t_build = time.perf_counter() - t0
    if bar is not None:
        bar.set_postfix_str(f"{plan.patient} scanning")
    res = scan(ph, cfg, rec, doses=doses, seed=plan.noise_seed, z_range=_z_range(profile), device=device,
               progress=False, keep_raw=False)
    fov = float(ph.fov_mm)
    study_uid, for_uid = _uid(profile, plan.patient, "study"), _uid(profile, plan.patient, "frame-of-reference")
    study = f"t2t virtual cohort '{profile['name']}', {'test' if role == 'test' else 'training'}"
    if bar is not None:
        bar.set_postfix_str(f"{plan.patient} writing")
    t0 = time.perf_counter()
    series, number = [], 0
    for dose in doses:
        for r in rec:
            number += 1
            vol, pos = res.volumes[(dose, r)], res.positions[r]
            label = _label(r.thickness)
            if role == "test":
                folder = series_dir(tmp, plan.patient, r.kernel, dose, r.thickness)
            else:
                folder = training_series_dir(tmp, plan.patient, dose="full" if dose == "full" else "low")
            s = Series.from_array(
                vol, pos, (res.pixel_mm, res.pixel_mm), r.thickness, interval=r.increment,
                patient_id=plan.patient, study_uid=study_uid, frame_of_reference_uid=for_uid,
                description=f"{plan.patient} {dose} {label} {r.kernel}",
                extra=_extra(cfg, r.kernel, doses[dose], fov, plan.anatomy, plan, study),
            )
            s.series_number = number
            s.derivation = (f"t2t virtual scanner: z-filtered FBP ({r.z_weighting} z-weighting, SSP FWHM "
                            f"{r.thickness:g} mm) of the {dose}-dose ({doses[dose]:g} mAs) helical raw data")
            write_series(s, folder)
            series.append({
                "patient": plan.patient, "role": role, "anatomy": plan.anatomy, "kernel": r.kernel, "dose": dose,
                "thickness_mm": r.thickness, "increment_mm": r.increment, "label": label,
                "path": folder.relative_to(tmp).as_posix(), "n_slices": int(vol.shape[0]),
                "first_mm": float(pos[0]), "last_mm": float(pos[-1]), "pixel_mm": float(res.pixel_mm),
                "rows": int(vol.shape[1]), "study_uid": study_uid, "frame_of_reference_uid": for_uid,
            })
    t_dicom = time.perf_counter() - t0
    timings = {
        "phantom": t_build + res.timings["phantom"],
        "projection": res.timings["projection"],
        "noise": res.timings["noise"],
        "reconstruction": res.timings["reconstruction"],
        "dicom": t_dicom,
    }
    timings["total"] = time.perf_counter() - t_start
    info = {"phantom": ph.name, "fov_mm": fov, "pixel_mm": float(res.pixel_mm)}
    for attr in ("lesions", "nodules"):
        if hasattr(ph, attr):
            info[f"n_{attr}"] = len(getattr(ph, attr))
    del res, ph
    return series, {k: round(v, 3) for k, v in timings.items()}, info




def _uid(profile: Mapping, patient: str, what: str) -> str:
    return uid("t2t virtual cohort", profile, patient, what)


def _peak_rss_mb() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / 1024 / 1024 if sys.platform == "darwin" else r / 1024


def make_cohort(profile: str | os.PathLike | Mapping, out_dir: str | os.PathLike, *, force: bool = False,
                progress: bool = True, device=None) -> Path:
    """Make the virtual cohort of a profile in ``out_dir`` (or keep the one already there).

    Parameters
    ----------
    profile : str, path-like or mapping
        ``"smoke"``, ``"quick"``, ``"paper"``, a virtual manifest name or YAML path, or a
        profile block (see :func:`resolve_profile`).
    out_dir : str or path-like
        Cohort root (created). Holds ``Training_Image_Data/`` (test cohort, Grand Challenge
        layout), ``LDCT-and-Projection-data/`` (training cohort, TCIA layout) and
        ``cohort_manifest.json``.
    force : bool
        Make it again even if an up-to-date cohort is there.
    progress : bool
        Progress bar per patient (tqdm, on stderr).
    device : str or torch.device, optional
        Where the scanner computes; default CUDA when available, else CPU.

    Returns
    -------
    pathlib.Path
        ``out_dir`` (absolute).

    Raises
    ------
    T2TError
        Unknown or invalid profile or device; ``out_dir`` is a file, a non-empty folder that is
        not a virtual cohort, or a virtual cohort of another kind.

    Notes
    -----
    See the module docstring: one acquisition per dose per test patient, thin and thick
    from the same raw data; written by :func:`t2tcore.scanner.cohorts.writer.write_cohort`
    (staging folder beside ``out_dir``, the manifest last, one rename at the end).
    """
    from t2tcore.device import device_name

    p = resolve_profile(profile)
    spec = json.loads(json.dumps(cohort_spec(p)))
    cfgs = dict(zip(("test", "train"), scanner_configs(p)))
    recons = recon_configs(p)
    plans = plan_patients(p)
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)

    def make(plan, tmp, dev, bar):
        series, timings, info = _make_patient(plan, p, tmp, dev, cfgs, recons, bar)
        return series, {**asdict(plan), **info, "n_series": len(series), "timings_s": timings}

    def manifest(series, infos, seconds):
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        patients = list(infos.values())
        totals = {k: round(sum(x["timings_s"][k] for x in patients), 3)
                  for k in ("phantom", "projection", "noise", "reconstruction", "dicom", "total")}
        return {
            "spec": spec,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "generator": generator_info(torch=_torch_version(), device=device_name(device, detail=False),
                                        torch_threads=_torch_threads()),
            "summary": {
                "n_test_patients": sum(1 for x in plans if x.role == "test"),
                "n_train_patients": sum(1 for x in plans if x.role == "train"),
                "n_series": len(series),
                "n_slices": sum(s["n_slices"] for s in series),
                "wall_s": round(seconds, 2),
                "cpu_s": round((cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime), 2),
                "timings_s": totals,
                "peak_rss_mb": round(_peak_rss_mb(), 1),
            },
            "patients": patients,
            "series": series,
        }

    job = CohortJob("ldct", f"virtual cohort '{p['name']}'", spec, plans, make, manifest)
    return write_cohort(job, out_dir, force=force, progress=progress, device=device)


def _torch_version() -> str:
    import torch

    return torch.__version__


def _torch_threads() -> int:
    import torch

    return torch.get_num_threads()
