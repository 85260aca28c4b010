"""The ``fibrosis`` virtual cohort: chest CT with a known disease severity, airway truth and survival.

The paper's clinical cohort (36 IPF patients, thick slices 2.27 +- 0.44 mm, survival) is
private, and nobody knows its true airways. This module makes a stand-in where everything is
known, with the virtual helical scanner of :mod:`t2tcore.scanner`:

Severity
    Each patient has a latent disease severity ``s ~ N(0, 1)`` (``u = Phi(s)`` in (0, 1)).
    It drives the fibrosis extent of the chest phantom and the airway tree
    (:class:`~t2tcore.scanner.cohorts.fibrosis_models.DiseaseModel`, :func:`diseased_airways`): overall calibre, the number of
    air-filled distal branches, their tortuosity and a traction-bronchiectasis-like
    dilation of distal airways (they stop tapering), on the patient's own seeded tree.
Survival
    Drawn from a Weibull proportional-hazards model of ``s`` with administrative censoring
    (staggered follow-up) and loss to follow-up
    (:class:`~t2tcore.scanner.cohorts.fibrosis_models.SurvivalModel`). The true model is
    written into the manifest.
Scans
    ONE helical acquisition per patient (16 x 0.6 mm rows, pitch 0.9375, 200 mAs, 120 kV;
    kernel "D45", the sharper of the two) and two reconstructions of its raw data: the thin
    reference (1.0 mm every 0.8 mm) and the "clinical" thick series, whose thickness is drawn
    from N(2.27, 0.44) mm and rounded to the nearest thickness scanners offer
    (:data:`OFFERED_THICKNESS_MM`: 1.5, 2, 2.5, 3 mm), reconstructed contiguously (interval
    = thickness), as archived thick chest series usually are. The scanned range starts 4-8
    mm above the patient's carina and runs ``z_length_mm`` down (:func:`scan_range`), so the
    tree is connected from the trachea. The true airway lumen on the thin grid
    (:func:`airway_truth`) is saved beside them.
SR training patients
    Separate patients (other seeds, same disease model, no survival), thin only, for
    training the SR models: in the paper the SR models were trained on other data (TCIA)
    than the clinical cohort, whose thin images never existed.

Folder layout: :mod:`t2tcore.data.fibrosis`. Written as every virtual cohort is
(:func:`t2tcore.scanner.cohorts.writer.write_cohort`): ``cohort_manifest.json`` holds the spec
(profile, models, scanner, every patient's seeds and draws, a hash of the generating source: the
scanner package, this module and its models); a cohort whose manifest has the requested spec and
whose series are complete is kept; it is built in a hidden staging folder and moved into place at
the end, the manifest written last. ``t2tcore.clinical.cohort`` re-exports this module.

Profiles (:data:`PROFILES`): ``smoke`` (12 + 2 patients, 96 px, 24 mm), ``quick`` (36 + 6,
160 px, 48 mm), ``paper`` (72 + 12, 256 px, 80 mm). Images are small and the z range is short
(the trachea above the carina down to the lobar and segmental bronchi) so the cohort and the
chapter fit a laptop's CPU: pixels are about 2.1-2.5 mm at ``quick`` (3-4 mm at ``smoke``),
so the smallest airways seen are about 4 mm wide.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from t2tcore import __version__
from t2tcore import paper as _paper
from t2tcore.data.fibrosis import IMAGES_DIR, SR_TRAIN_DIR, SURVIVAL_CSV, TRUTH_CSV, TRUTH_MASK
from t2tcore.effort import EFFORTS
from t2tcore.errors import ClinicalError
from t2tcore.scanner.cohorts import writer
from t2tcore.scanner.cohorts.fibrosis_models import (
    TRUTH_SUBSAMPLES,
    DiseaseModel,
    SurvivalModel,
    airway_truth,
    diseased_airways,
)
from t2tcore.scanner.cohorts.writer import CohortJob, generator_info, uid, write_cohort

__all__ = [
    "COHORT_KIND",
    "OFFERED_THICKNESS_MM",
    "THICKNESS_MEAN_SD_MM",
    "PROFILES",
    "DiseaseModel",
    "SurvivalModel",
    "FibrosisPlan",
    "resolve_fibrosis_profile",
    "snap_thickness",
    "plan_fibrosis",
    "diseased_airways",
    "make_patient_phantom",
    "scan_range",
    "airway_truth",
    "fibrosis_cohort_spec",
    "is_fibrosis_up_to_date",
    "make_fibrosis_cohort",
]


#: ``spec["kind"]`` of this cohort (the manifest of another kind of cohort is never replaced).
COHORT_KIND = "fibrosis"
_FORMAT = 1

#: Slice thicknesses (mm) the thick series are rounded to: what common scanners reconstruct
#: in this range (Siemens 1.5, 2, 3 mm; GE 2.5 mm).
OFFERED_THICKNESS_MM = (1.5, 2.0, 2.5, 3.0)
#: The paper's clinical cohort: thick slices of mean and SD (mm) :data:`t2tcore.paper.CLINICAL_COHORT`'s.
THICKNESS_MEAN_SD_MM = _paper.CLINICAL_COHORT["thickness_mm"]

THIN_MM = (1.0, 0.8)  # thin reference: thickness, increment
KERNEL = "D45"
MAS = 200.0
SCANNER = {"n_rows": 16, "row_width": 0.6, "pitch": 0.9375, "kvp": 120.0}
_PHANTOM_Z_MM = (-100.0, 100.0)  # the phantom's z extent; the carina lies 25-40 mm above its centre
_TOP_ABOVE_CARINA_MM = (4.0, 8.0)  # the scan starts this far above the carina (drawn per patient)
_MANUFACTURER = "t2t virtual scanner"

#: Sizes of the cohort per profile (``n_patients`` analysed, ``n_train`` SR training patients), from
#: :attr:`t2tcore.effort.ClinicalEffort.cohort`.
PROFILES: dict[str, dict[str, Any]] = {name: {"name": name, **asdict(e.clinical.cohort)} for name, e in EFFORTS.items()}
_PROFILE_KEYS = {"name": str, "seed": int, "image_size": int, "z_length_mm": float, "n_patients": int, "n_train": int}


# --------------------------------------------------------------------------------------
# profile and plan
# --------------------------------------------------------------------------------------


def resolve_fibrosis_profile(profile: str | Mapping) -> dict:
    """A profile of :data:`PROFILES` by name, or a mapping with the same keys (checked).

    Raises
    ------
    ClinicalError
        Unknown name, a missing or invalid key.
    """
    if isinstance(profile, Mapping):
        p = dict(profile)
    else:
        name = str(profile)
        if name not in PROFILES:
            raise ClinicalError(f"unknown fibrosis cohort profile {name!r}; known: {', '.join(PROFILES)}")
        p = dict(PROFILES[name])
    missing = [k for k in _PROFILE_KEYS if k not in p]
    if missing:
        raise ClinicalError(f"fibrosis profile: missing key(s) {', '.join(missing)}")
    extra = sorted(set(p) - set(_PROFILE_KEYS))
    if extra:
        raise ClinicalError(f"fibrosis profile: unknown key(s) {', '.join(extra)}")
    out = {}
    for k, typ in _PROFILE_KEYS.items():
        try:
            out[k] = typ(p[k])
        except (TypeError, ValueError):
            raise ClinicalError(f"fibrosis profile: {k} must be {typ.__name__}, got {p[k]!r}") from None
    if out["image_size"] < 32 or out["z_length_mm"] < 8 or out["n_patients"] < 1 or out["n_train"] < 0:
        raise ClinicalError("fibrosis profile: needs image_size >= 32, z_length_mm >= 8, n_patients >= 1, n_train >= 0")
    return out


def snap_thickness(t) -> np.ndarray:
    """The nearest of :data:`OFFERED_THICKNESS_MM` to each thickness (mm; ties to the thinner)."""
    offered = np.asarray(OFFERED_THICKNESS_MM)
    t = np.atleast_1d(np.asarray(t, dtype=np.float64))
    return offered[np.argmin(np.abs(t[:, None] - offered[None, :]) + 1e-9 * offered[None, :], axis=1)]


@dataclass(frozen=True)
class FibrosisPlan:
    """One virtual patient of the fibrosis cohort.

    Attributes
    ----------
    patient : str
        ``"F001"`` (analysed) or ``"F501"`` (SR training).
    role : {"analysis", "sr_train"}
    phantom_seed, noise_seed, morph_seed : int
        Seeds of the chest phantom, the quantum noise and the airway changes.
    top_above_carina_mm : float
        The scanned range starts this far above the patient's carina (4-8 mm: a few slices
        of trachea, then the main, lobar and segmental bronchi below), and runs
        ``z_length_mm`` down from there (:func:`scan_range`).
    severity : float
        Latent severity ``s`` (SD units).
    fibrosis : float
        Fibrosis extent made by ``s``.
    thickness_mm, interval_mm : float or None
        The thick series (None for SR training patients).
    time, event : float or None, int or None
        Observed survival time (years) and event (1 death, 0 censored); None for training.
    true_time : float or None
        Time of death had nobody been censored (the truth; never given to the analysis).
    """

    patient: str
    role: str
    phantom_seed: int
    noise_seed: int
    morph_seed: int
    top_above_carina_mm: float
    severity: float
    fibrosis: float
    thickness_mm: float | None
    interval_mm: float | None
    time: float | None
    event: int | None
    true_time: float | None

    @property
    def u(self) -> float:
        """Severity rank Phi(s) in (0, 1)."""
        return 0.5 * (1.0 + math.erf(self.severity / math.sqrt(2.0)))


def _derive(*keys: int) -> int:
    return int(np.random.SeedSequence([int(k) for k in keys]).generate_state(1, np.uint32)[0] >> np.uint32(1))


def plan_fibrosis(profile: str | Mapping, disease: DiseaseModel = DiseaseModel(),
                  survival: SurvivalModel = SurvivalModel()) -> list[FibrosisPlan]:
    """Every patient of the cohort (analysed first, then SR training); deterministic from the seed.

    Severity, thickness and survival are drawn from separate streams, so severity and
    thickness are independent, and changing the survival model does not change the images.
    """
    p = resolve_fibrosis_profile(profile)
    base = p["seed"]
    plans = []
    for role, code, n, first in (("analysis", 1, p["n_patients"], 1), ("sr_train", 2, p["n_train"], 501)):
        if n == 0:
            continue
        sev = np.random.default_rng([base, code, 1]).standard_normal(n)
        tmean, tsd = THICKNESS_MEAN_SD_MM
        thick = snap_thickness(np.random.default_rng([base, code, 3]).normal(tmean, tsd, n))
        if role == "analysis":
            time_, event, t_true = survival.draw(sev, np.random.default_rng([base, code, 2]))
        top = np.random.default_rng([base, code, 4]).uniform(*_TOP_ABOVE_CARINA_MM, n)
        for i in range(n):
            num = first + i
            u = 0.5 * (1.0 + math.erf(sev[i] / math.sqrt(2.0)))
            plans.append(FibrosisPlan(
                patient=f"F{num:03d}", role=role,
                phantom_seed=_derive(base, 91, code, num, 0), noise_seed=_derive(base, 91, code, num, 1),
                morph_seed=_derive(base, 91, code, num, 2),
                top_above_carina_mm=round(float(top[i]), 2),
                severity=round(float(sev[i]), 6), fibrosis=round(disease.fibrosis_extent(u), 6),
                thickness_mm=float(thick[i]) if role == "analysis" else None,
                interval_mm=float(thick[i]) if role == "analysis" else None,
                time=round(float(time_[i]), 4) if role == "analysis" else None,
                event=int(event[i]) if role == "analysis" else None,
                true_time=round(float(t_true[i]), 4) if role == "analysis" else None,
            ))
    return plans


# --------------------------------------------------------------------------------------
# the diseased chest
# --------------------------------------------------------------------------------------


def make_patient_phantom(plan: FibrosisPlan, disease: DiseaseModel = DiseaseModel()):
    """The chest phantom of a planned patient (fibrosis and airways from its severity)."""
    from t2tcore.scanner.chest import chest

    ph = chest(plan.phantom_seed, z_extent=_PHANTOM_Z_MM, fibrosis=plan.fibrosis)
    return diseased_airways(ph, plan.u, np.random.default_rng(plan.morph_seed), disease)


def scan_range(phantom, plan: FibrosisPlan, z_length_mm: float) -> tuple[float, float]:
    """The scanned z range (mm): from ``top_above_carina_mm`` above the carina, ``z_length_mm`` down.

    Rounded to 0.1 mm. A range anchored at the carina keeps the main bronchi and the roots
    of the lobar trees inside it, so the tree is connected from the trachea.
    """
    top = round(float(phantom.anatomy["carina_z"]) + plan.top_above_carina_mm, 1)
    return round(top - float(z_length_mm), 1), top


# --------------------------------------------------------------------------------------
# spec, manifest, writing
# --------------------------------------------------------------------------------------

def _recon_configs(plan: FibrosisPlan, z0: float, z1: float):
    """Thin over [z0, z1]; thick contiguous slices centred on it, covering it."""
    from t2tcore.scanner.config import ReconConfig

    thin = ReconConfig(THIN_MM[0], THIN_MM[1], KERNEL, "trapezoid", (z0, z1))
    if plan.thickness_mm is None:
        return [thin]
    t, L = float(plan.interval_mm), z1 - z0
    n = math.ceil(L / t - 1e-9) + 1
    start = 0.5 * (z0 + z1) - (n - 1) * t / 2
    thick = ReconConfig(float(plan.thickness_mm), t, KERNEL, "trapezoid", (start, start + (n - 1) * t))
    return [thin, thick]


def fibrosis_cohort_spec(profile: str | Mapping, disease: DiseaseModel = DiseaseModel(),
                         survival: SurvivalModel = SurvivalModel()) -> dict:
    """Everything that determines the cohort's content, as JSON data (the manifest's ``spec``)."""
    p = resolve_fibrosis_profile(profile)
    return json.loads(json.dumps({
        "kind": COHORT_KIND,
        "format": _FORMAT,
        "t2t_version": __version__,
        "source_sha256": writer.source_hash(__file__, Path(__file__).with_name("fibrosis_models.py"),
                                             _paper.__file__),
        "profile": p,
        "scanner": {**SCANNER, "image_size": p["image_size"], "mAs": MAS, "kernel": KERNEL},
        "thin": {"thickness_mm": THIN_MM[0], "increment_mm": THIN_MM[1]},
        "thick": {"thickness": f"N({THICKNESS_MEAN_SD_MM[0]}, {THICKNESS_MEAN_SD_MM[1]}) mm rounded to the nearest "
                               f"offered thickness", "offered_mm": list(OFFERED_THICKNESS_MM),
                  "interval": "= thickness (contiguous)"},
        "truth_subsamples": TRUTH_SUBSAMPLES,
        "disease_model": asdict(disease),
        "survival_model": survival.describe(),
        "patients": [asdict(x) for x in plan_fibrosis(p, disease, survival)],
    }))


def is_fibrosis_up_to_date(profile: str | Mapping, out_dir: str | os.PathLike, disease: DiseaseModel = DiseaseModel(),
                           survival: SurvivalModel = SurvivalModel()) -> bool:
    """True if ``out_dir`` holds a complete fibrosis cohort of exactly this spec."""
    return writer.is_up_to_date(out_dir, fibrosis_cohort_spec(profile, disease, survival), (SURVIVAL_CSV,))


def _uid(profile: dict, patient: str, what: str) -> str:
    return uid("t2t fibrosis cohort", profile, patient, what)


def _make_patient(plan: FibrosisPlan, p: dict, tmp: Path, device, disease: DiseaseModel) -> tuple[list, dict]:
    from t2tcore.io import Series, write_series
    from t2tcore.scanner.config import ScannerConfig
    from t2tcore.scanner.reconstruction import scan

    t0 = time.perf_counter()
    ph = make_patient_phantom(plan, disease)
    z0, z1 = scan_range(ph, plan, p["z_length_mm"])
    recons = _recon_configs(plan, z0, z1)
    margin = max(r.thickness for r in recons) / 2 + 0.5
    cfg = ScannerConfig(image_size=p["image_size"], **SCANNER)
    res = scan(ph, cfg, recons, doses={"full": MAS}, seed=plan.noise_seed, z_range=(z0 - margin, z1 + margin),
               device=device, progress=False, keep_raw=False)
    t_scan = time.perf_counter() - t0
    folder = tmp / (IMAGES_DIR if plan.role == "analysis" else SR_TRAIN_DIR) / plan.patient
    study, frame = _uid(p, plan.patient, "study"), _uid(p, plan.patient, "frame")
    series, thin = [], None
    for number, (name, r) in enumerate(zip(("thin", "thick"), recons), start=1):
        vol, pos = res.volumes[("full", r)], res.positions[r]
        s = Series.from_array(
            vol, pos, (res.pixel_mm, res.pixel_mm), r.thickness, interval=r.increment, patient_id=plan.patient,
            study_uid=study, frame_of_reference_uid=frame, description=f"{plan.patient} {name} {r.thickness:g}mm {KERNEL}",
            extra={"ConvolutionKernel": KERNEL, "KVP": SCANNER["kvp"], "Exposure": int(MAS), "Manufacturer": _MANUFACTURER,
                   "BodyPartExamined": "CHEST", "SpiralPitchFactor": SCANNER["pitch"],
                   "ReconstructionDiameter": round(float(ph.fov_mm), 3),
                   "ImageComments": f"virtual fibrosis chest, phantom seed {plan.phantom_seed}, severity {plan.severity:+.3f}"})
        s.series_number = number
        s.derivation = f"t2t virtual scanner: z-filtered FBP, SSP FWHM {r.thickness:g} mm, of one helical acquisition"
        write_series(s, folder / name)
        series.append({"patient": plan.patient, "role": plan.role, "kind": name, "format": "dicom",
                       "path": (folder / name).relative_to(tmp).as_posix(), "n_slices": int(vol.shape[0]),
                       "thickness_mm": r.thickness, "interval_mm": r.increment, "first_mm": float(pos[0]),
                       "last_mm": float(pos[-1]), "pixel_mm": float(res.pixel_mm), "rows": int(vol.shape[1])})
        if name == "thin":
            thin = s
    t1 = time.perf_counter()
    grid = ph.grid(p["image_size"]) if abs(res.pixel_mm * p["image_size"] - ph.fov_mm) < 1e-6 else None
    if grid is None:
        raise RuntimeError("the scan's field of view is not the phantom's")  # a bug, not bad input
    truth = airway_truth(ph, grid, grid, thin.positions, THIN_MM[1])
    mask = thin.derive(truth.astype(np.float32), thin.positions, thickness=THIN_MM[0], interval=THIN_MM[1],
                       description=f"{plan.patient} airway lumen truth", derivation="t2t: true airway lumen of the phantom")
    write_series(mask, folder / TRUTH_MASK)
    series.append({"patient": plan.patient, "role": plan.role, "kind": "truth", "format": "nifti",
                   "path": (folder / TRUTH_MASK).relative_to(tmp).as_posix(), "n_slices": int(truth.shape[0])})
    info = {"fov_mm": float(ph.fov_mm), "pixel_mm": float(res.pixel_mm), "carina_z_mm": float(ph.anatomy["carina_z"]),
            "scan_range_mm": [z0, z1],
            "n_airway_segments": int(len(ph.airway_segments)), "truth_voxels": int(truth.sum()),
            "timings_s": {"scan": round(t_scan, 2), "truth": round(time.perf_counter() - t1, 2),
                          "total": round(time.perf_counter() - t0, 2)}}
    del res, ph
    return series, info


def _write_tables(tmp: Path, plans: list[FibrosisPlan], infos: dict) -> None:
    import pandas as pd

    rows = [{"patient_id": x.patient, "time": x.time, "event": x.event} for x in plans if x.role == "analysis"]
    pd.DataFrame(rows).to_csv(tmp / SURVIVAL_CSV, index=False)
    truth = [{"patient_id": x.patient, "role": x.role, "severity": x.severity, "severity_rank": round(x.u, 6),
              "fibrosis": x.fibrosis, "thickness_mm": x.thickness_mm, "interval_mm": x.interval_mm,
              "true_time": x.true_time, "truth_voxels": infos[x.patient]["truth_voxels"],
              "n_airway_segments": infos[x.patient]["n_airway_segments"]} for x in plans]
    pd.DataFrame(truth).to_csv(tmp / TRUTH_CSV, index=False)


def make_fibrosis_cohort(profile: str | Mapping, out_dir: str | os.PathLike, *, force: bool = False,
                         progress: bool = True, device=None, disease: DiseaseModel = DiseaseModel(),
                         survival: SurvivalModel = SurvivalModel()) -> Path:
    """Make the virtual fibrosis cohort of a profile in ``out_dir`` (or keep the one already there).

    Parameters
    ----------
    profile : str or mapping
        ``"smoke"``, ``"quick"``, ``"paper"`` or a mapping with the keys of :data:`PROFILES`.
    out_dir : str or path-like
        Cohort folder (layout: :mod:`t2tcore.data.fibrosis`).
    force : bool
        Make it again even if an up-to-date cohort is there.
    progress : bool
        Progress bar per patient.
    device : str, optional
        Torch device of the scanner (default CUDA when available, else CPU).
    disease, survival : DiseaseModel, SurvivalModel
        The true models (defaults: the book's).

    Returns
    -------
    pathlib.Path
        ``out_dir``, absolute.

    Raises
    ------
    ClinicalError
        Unknown or invalid profile; ``out_dir`` a file, a non-empty folder that is not a
        virtual cohort, or a virtual cohort of another kind.
    """
    p = resolve_fibrosis_profile(profile)
    spec = fibrosis_cohort_spec(p, disease, survival)
    plans = plan_fibrosis(p, disease, survival)

    def make(plan, tmp, dev, bar):
        return _make_patient(plan, p, tmp, dev, disease)

    def manifest(series, infos, seconds):
        return {
            "spec": spec,
            "true_model": {"severity": "s ~ N(0, 1) per patient; u = Phi(s) drives the disease model linearly",
                           "disease": asdict(disease), "survival": survival.describe()},
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "generator": generator_info(),
            "summary": {"n_patients": sum(x.role == "analysis" for x in plans),
                        "n_sr_train": sum(x.role == "sr_train" for x in plans),
                        "n_events": int(sum(x.event or 0 for x in plans)), "n_series": len(series),
                        "wall_s": round(seconds, 2)},
            "patients": [{**asdict(x), **infos[x.patient]} for x in plans],
            "series": series,
        }

    job = CohortJob(COHORT_KIND, f"fibrosis cohort '{p['name']}'", spec, plans, make, manifest,
                    finish=lambda tmp, infos: _write_tables(tmp, plans, infos), required=(SURVIVAL_CSV,),
                    error=ClinicalError)
    return write_cohort(job, out_dir, force=force, progress=progress, device=device)
