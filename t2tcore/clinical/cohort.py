"""The virtual fibrosis cohort: chest CT with a known disease severity, airway truth and survival.

The paper's clinical cohort (36 IPF patients, thick slices 2.27 +- 0.44 mm, survival) is
private, and nobody knows its true airways. This module makes a stand-in where everything is
known, with the virtual helical scanner of :mod:`t2tcore.scanner`:

Severity
    Each patient has a latent disease severity ``s ~ N(0, 1)`` (``u = Phi(s)`` in (0, 1)).
    It drives the fibrosis extent of the chest phantom and the airway tree
    (:class:`DiseaseModel`, :func:`diseased_airways`): overall calibre, the number of
    air-filled distal branches, their tortuosity and a traction-bronchiectasis-like
    dilation of distal airways (they stop tapering), on the patient's own seeded tree.
Survival
    Drawn from a Weibull proportional-hazards model of ``s`` with administrative censoring
    (staggered follow-up) and loss to follow-up (:class:`SurvivalModel`). The true model is
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

Folder layout: :mod:`t2tcore.clinical.layout`. The manifest and the regeneration rule are
those of the other virtual cohorts (:mod:`t2tcore.scanner.cohort`): ``cohort_manifest.json``
holds the spec (profile, models, scanner, every patient's seeds and draws, a hash of the
generating source: the scanner package and this module); a cohort whose manifest has the
requested spec and whose series are complete is kept; it is built in a hidden staging folder
and moved into place at the end, the manifest written last.

Profiles (:data:`PROFILES`): ``smoke`` (12 + 2 patients, 96 px, 24 mm), ``quick`` (36 + 6,
160 px, 48 mm), ``paper`` (72 + 12, 256 px, 80 mm). Images are small and the z range is short
(the trachea above the carina down to the lobar and segmental bronchi) so the cohort and the
chapter fit a laptop's CPU: pixels are about 2.1-2.5 mm at ``quick`` (3-4 mm at ``smoke``),
so the smallest airways seen are about 4 mm wide.
"""

from __future__ import annotations

import copy
import gc
import hashlib
import json
import math
import os
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from t2tcore import __version__
from t2tcore.clinical.errors import ClinicalError
from t2tcore.clinical.layout import IMAGES_DIR, SR_TRAIN_DIR, SURVIVAL_CSV, TRUTH_CSV, TRUTH_MASK

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
#: The paper's clinical cohort: thick slices 2.27 (SD 0.44) mm.
THICKNESS_MEAN_SD_MM = (2.27, 0.44)

THIN_MM = (1.0, 0.8)  # thin reference: thickness, increment
KERNEL = "D45"
MAS = 200.0
SCANNER = {"n_rows": 16, "row_width": 0.6, "pitch": 0.9375, "kvp": 120.0}
_PHANTOM_Z_MM = (-100.0, 100.0)  # the phantom's z extent; the carina lies 25-40 mm above its centre
_TOP_ABOVE_CARINA_MM = (4.0, 8.0)  # the scan starts this far above the carina (drawn per patient)
_TRUTH_SUBSAMPLES = 3
_SENTINEL_HU = -4321.0  # a value no primitive paints: marks the lumen while the truth is painted
_MANUFACTURER = "t2t virtual scanner"

#: Sizes of the cohort per profile (``n_patients`` analysed, ``n_train`` SR training patients).
PROFILES: dict[str, dict[str, Any]] = {
    "smoke": {"name": "smoke", "seed": 2019, "image_size": 96, "z_length_mm": 24.0, "n_patients": 12, "n_train": 2},
    "quick": {"name": "quick", "seed": 2019, "image_size": 160, "z_length_mm": 48.0, "n_patients": 36, "n_train": 6},
    "paper": {"name": "paper", "seed": 2019, "image_size": 256, "z_length_mm": 80.0, "n_patients": 72, "n_train": 12},
}
_PROFILE_KEYS = {"name": str, "seed": int, "image_size": int, "z_length_mm": float, "n_patients": int, "n_train": int}


# --------------------------------------------------------------------------------------
# the true models
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiseaseModel:
    """How the severity rank ``u = Phi(s)`` in (0, 1) changes the chest (all linear in u).

    Attributes
    ----------
    fibrosis : (float, float)
        Fibrosis extent of :func:`t2tcore.scanner.chest` at u = 0 and u = 1.
    calibre : (float, float)
        Factor on every airway radius at u = 0 and u = 1.
    dilation : float
        Extra relative widening of distal airways at u = 1 (traction-bronchiectasis-like:
        ``r * (1 + dilation * u * w(g))``, so distal airways stop tapering).
    distal_generations : (int, int)
        ``w(g)`` ramps from 0 at the first generation to 1 at the second (trachea 0, main
        bronchi 1, lobar bronchi 2, ...).
    prune_radius_mm : (float, float)
        Distal segments (generation >= 2) whose outer radius in the healthy tree is below
        this are not air-filled (absent), at u = 0 and u = 1: more branches with severity.
        Radii shrink along every path, so what remains is a connected tree.
    tortuosity : float
        Amplitude of an S-shaped bend of each distal segment, as a fraction of its length,
        at u = 1 (times ``w(g)``).
    """

    fibrosis: tuple = (0.05, 0.7)
    calibre: tuple = (0.95, 1.15)
    dilation: float = 0.8
    distal_generations: tuple = (2, 6)
    prune_radius_mm: tuple = (1.6, 1.0)
    tortuosity: float = 0.15

    @staticmethod
    def _lerp(pair, u: float) -> float:
        return float(pair[0] + (pair[1] - pair[0]) * u)

    def fibrosis_extent(self, u: float) -> float:
        return self._lerp(self.fibrosis, u)

    def distal_weight(self, generation) -> np.ndarray:
        g0, g1 = self.distal_generations
        return np.clip((np.asarray(generation, dtype=np.float64) - g0) / max(g1 - g0, 1e-9), 0.0, 1.0)


@dataclass(frozen=True)
class SurvivalModel:
    """Weibull proportional hazards of the latent severity, with censoring.

    ``h(t | s) = (k / lam) (t / lam)^(k - 1) exp(beta s)``, ``lam`` such that the median
    survival at ``s = 0`` is ``median_years``. Each patient is followed for ``U(follow_up)``
    years (staggered entry; administrative censoring) and lost to follow-up at an
    exponential rate ``dropout_per_year``.

    Attributes
    ----------
    beta : float
        log hazard ratio per SD of severity.
    shape : float
        Weibull shape ``k`` (> 1: hazard grows with time, as in IPF).
    median_years : float
    follow_up : (float, float)
        Range of the administrative follow-up, years.
    dropout_per_year : float
    """

    beta: float = math.log(2.0)
    shape: float = 1.3
    median_years: float = 3.0
    follow_up: tuple = (2.0, 6.0)
    dropout_per_year: float = 0.05

    @property
    def scale_years(self) -> float:
        return self.median_years / math.log(2.0) ** (1.0 / self.shape)

    def survival(self, t, s) -> np.ndarray:
        """True S(t | s) (no censoring)."""
        t = np.asarray(t, dtype=np.float64)
        return np.exp(-((t / self.scale_years) ** self.shape) * np.exp(self.beta * np.asarray(s, dtype=np.float64)))

    def draw(self, s, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(observed time, event 0/1, true event time) for severities ``s`` (inverse transform)."""
        s = np.asarray(s, dtype=np.float64)
        e = rng.standard_exponential(s.shape)
        t_true = self.scale_years * (e * np.exp(-self.beta * s)) ** (1.0 / self.shape)
        admin = rng.uniform(*self.follow_up, size=s.shape)
        drop = rng.standard_exponential(s.shape) / self.dropout_per_year if self.dropout_per_year > 0 else np.inf
        c = np.minimum(admin, drop)
        return np.minimum(t_true, c), (t_true <= c).astype(int), t_true

    def describe(self) -> dict:
        return {
            "model": "Weibull proportional hazards of the latent severity s ~ N(0, 1)",
            "hazard": "h(t|s) = (k/lam) (t/lam)^(k-1) exp(beta s), t in years",
            "beta": self.beta,
            "hazard_ratio_per_sd": math.exp(self.beta),
            "weibull_shape_k": self.shape,
            "weibull_scale_lam_years": self.scale_years,
            "median_survival_years_at_s0": self.median_years,
            "censoring": (f"administrative: follow-up ~ U({self.follow_up[0]:g}, {self.follow_up[1]:g}) years; "
                          f"loss to follow-up: exponential, rate {self.dropout_per_year:g} per year"),
            "follow_up_years": list(self.follow_up),
            "dropout_per_year": self.dropout_per_year,
        }


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


def _bend(a, b, ra, rb, amp, rng):
    """Split a segment into 3 with an S-shaped bend of amplitude ``amp`` (mm); joints unchanged."""
    d = b - a
    v = rng.standard_normal(3)
    v -= (v @ d) / max(d @ d, 1e-12) * d
    e = v / max(np.linalg.norm(v), 1e-12)
    p1 = a + d / 3 + amp * math.sin(2 * math.pi / 3) * e
    p2 = a + 2 * d / 3 + amp * math.sin(4 * math.pi / 3) * e
    pts = [a, p1, p2, b]
    rad = np.linspace(ra, rb, 4)
    return [(pts[k], pts[k + 1], rad[k], rad[k + 1]) for k in range(3)]


def diseased_airways(phantom, u: float, rng: np.random.Generator, model: DiseaseModel = DiseaseModel()):
    """The chest phantom with its airway tree changed by a severity rank ``u`` in [0, 1].

    Parameters
    ----------
    phantom : ChestPhantom
        From :func:`t2tcore.scanner.chest` (its ``airway_segments``, ``airway_generation``,
        ``airway_wall`` and ``airway_lumen``). Not modified.
    u : float
        Severity rank in [0, 1].
    rng : numpy.random.Generator
        Draws the bend directions.
    model : DiseaseModel

    Returns
    -------
    ChestPhantom
        A shallow copy whose airway wall and lumen primitives (at the same place in the
        painting order) are the changed tree: pruned, widened, bent (see
        :class:`DiseaseModel`); wall thickness ``max(0.15 r, 0.3 mm)`` as in the chest
        phantom. ``airway_segments`` and ``airway_generation`` describe the new tree.
    """
    from t2tcore.scanner import TubeSet

    if not 0.0 <= float(u) <= 1.0:
        raise ValueError(f"u must be in [0, 1], got {u}")
    seg, gen = phantom.airway_segments, np.asarray(phantom.airway_generation)
    prune = DiseaseModel._lerp(model.prune_radius_mm, u)
    keep = (gen <= 1) | (seg.ra >= prune)
    a, b, ra, rb, g = seg.a[keep], seg.b[keep], seg.ra[keep], seg.rb[keep], gen[keep]
    w = model.distal_weight(g)
    f = DiseaseModel._lerp(model.calibre, u) * (1.0 + model.dilation * u * w)
    ra, rb = ra * f, rb * f
    rows, gens = [], []
    for i in range(len(a)):
        amp = model.tortuosity * u * w[i] * float(np.linalg.norm(b[i] - a[i]))
        pieces = _bend(a[i], b[i], ra[i], rb[i], amp, rng) if amp > 1e-3 else [(a[i], b[i], ra[i], rb[i])]
        rows += [np.r_[p, q, r0, r1] for p, q, r0, r1 in pieces]
        gens += [int(g[i])] * len(pieces)
    t = np.array(rows).reshape(-1, 8)
    z0, z1 = phantom.z_extent
    r = np.maximum(t[:, 6], t[:, 7])
    near = (np.maximum(t[:, 2], t[:, 5]) + r >= z0 - 20) & (np.minimum(t[:, 2], t[:, 5]) - r <= z1 + 20)
    tn = t[near]
    lumen_r = tn[:, 6:8] - np.maximum(0.15 * tn[:, 6:8], 0.3)
    wall = TubeSet(tn[:, :3], tn[:, 3:6], tn[:, 6], tn[:, 7], 50.0)
    lumen = TubeSet(tn[:, :3], tn[:, 3:6], np.maximum(lumen_r[:, 0], 0.05), np.maximum(lumen_r[:, 1], 0.05), -1000.0)
    new = copy.copy(phantom)
    new.primitives = [wall if p is phantom.airway_wall else lumen if p is phantom.airway_lumen else p
                      for p in phantom.primitives]
    new.airway_wall, new.airway_lumen = wall, lumen
    new.airway_segments = TubeSet(t[:, :3], t[:, 3:6], t[:, 6], t[:, 7], 50.0)
    new.airway_generation = np.asarray(gens, dtype=int)
    return new


def make_patient_phantom(plan: FibrosisPlan, disease: DiseaseModel = DiseaseModel()):
    """The chest phantom of a planned patient (fibrosis and airways from its severity)."""
    from t2tcore.scanner import chest

    ph = chest(plan.phantom_seed, z_extent=_PHANTOM_Z_MM, fibrosis=plan.fibrosis)
    return diseased_airways(ph, plan.u, np.random.default_rng(plan.morph_seed), disease)


def scan_range(phantom, plan: FibrosisPlan, z_length_mm: float) -> tuple[float, float]:
    """The scanned z range (mm): from ``top_above_carina_mm`` above the carina, ``z_length_mm`` down.

    Rounded to 0.1 mm. A range anchored at the carina keeps the main bronchi and the roots
    of the lobar trees inside it, so the tree is connected from the trachea.
    """
    top = round(float(phantom.anatomy["carina_z"]) + plan.top_above_carina_mm, 1)
    return round(top - float(z_length_mm), 1), top


def airway_truth(phantom, x, y, z, dz: float, subsamples: int = _TRUTH_SUBSAMPLES) -> np.ndarray:
    """True airway lumen on a voxel grid: voxels at least half filled by the lumen as painted.

    The lumen primitive is painted with a marker value and then every primitive painted after
    it (nodules, bone), so the mask is exactly the air of the airways the scanner sees.

    Parameters
    ----------
    phantom : ChestPhantom
        With ``airway_lumen`` in its ``primitives``.
    x, y, z : (nx,), (ny,), (nz,) array_like
        Ascending voxel-centre coordinates, mm (columns, rows, slice positions).
    dz : float
        Voxel extent along z, mm (the slice increment).
    subsamples : int
        Sub-samples per voxel and axis (``subsamples**3`` per voxel).

    Returns
    -------
    (nz, ny, nx) ndarray of bool
    """
    from t2tcore.scanner import TubeSet

    x, y, z = (np.asarray(v, dtype=np.float64) for v in (x, y, z))
    if min(x.size, y.size, z.size) < 1 or np.any(np.diff(x) <= 0) or np.any(np.diff(y) <= 0) or np.any(np.diff(z) <= 0):
        raise ValueError("x, y, z must be non-empty and strictly increasing")
    if not dz > 0 or int(subsamples) < 1:
        raise ValueError("dz must be > 0 and subsamples >= 1")
    k = int(subsamples)
    lumen = phantom.airway_lumen
    idx = [i for i, p in enumerate(phantom.primitives) if p is lumen]
    if len(idx) != 1:
        raise ValueError("the phantom's airway_lumen is not one of its primitives")
    later = phantom.primitives[idx[0] + 1:]
    marker = TubeSet(lumen.a, lumen.b, lumen.ra, lumen.rb, _SENTINEL_HU)
    off = (np.arange(k) - (k - 1) / 2) / k
    dx = float(x[1] - x[0]) if x.size > 1 else 1.0
    dy = float(y[1] - y[0]) if y.size > 1 else 1.0
    xs = (x[:, None] + off[None, :] * dx).ravel()
    ys = (y[:, None] + off[None, :] * dy).ravel()
    out = np.zeros((z.size, y.size, x.size), dtype=bool)
    buf = np.empty((k, ys.size, xs.size), dtype=np.float32)
    for j, zc in enumerate(z):
        zs = zc + off * dz
        buf.fill(0.0)
        marker.paint(buf, xs, ys, zs)
        for prim in later:
            prim.paint(buf, xs, ys, zs)
        frac = (buf == np.float32(_SENTINEL_HU)).reshape(k, y.size, k, x.size, k).mean(axis=(0, 2, 4))
        out[j] = frac >= 0.5
    return out


# --------------------------------------------------------------------------------------
# spec, manifest, writing
# --------------------------------------------------------------------------------------


def _source_hash() -> str:
    import t2tcore.scanner as scanner_pkg

    h = hashlib.sha256()
    files = sorted(Path(scanner_pkg.__file__).resolve().parent.glob("*.py")) + [Path(__file__).resolve()]
    for path in files:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _recon_configs(plan: FibrosisPlan, z0: float, z1: float):
    """Thin over [z0, z1]; thick contiguous slices centred on it, covering it."""
    from t2tcore.scanner import ReconConfig

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
        "source_sha256": _source_hash(),
        "profile": p,
        "scanner": {**SCANNER, "image_size": p["image_size"], "mAs": MAS, "kernel": KERNEL},
        "thin": {"thickness_mm": THIN_MM[0], "increment_mm": THIN_MM[1]},
        "thick": {"thickness": f"N({THICKNESS_MEAN_SD_MM[0]}, {THICKNESS_MEAN_SD_MM[1]}) mm rounded to the nearest "
                               f"offered thickness", "offered_mm": list(OFFERED_THICKNESS_MM),
                  "interval": "= thickness (contiguous)"},
        "truth_subsamples": _TRUTH_SUBSAMPLES,
        "disease_model": asdict(disease),
        "survival_model": survival.describe(),
        "patients": [asdict(x) for x in plan_fibrosis(p, disease, survival)],
    }))


def _read_manifest(root: Path) -> dict | None:
    from t2tcore.scanner import MANIFEST_NAME

    path = root / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def _complete(root: Path, manifest: dict) -> bool:
    series = manifest.get("series") or []
    for s in series:
        path = root / s["path"]
        if s["format"] == "nifti":
            if not path.is_file():
                return False
        elif not path.is_dir() or sum(1 for f in path.iterdir() if f.suffix == ".dcm") != s["n_slices"]:
            return False
    return bool(series) and (root / SURVIVAL_CSV).is_file()


def is_fibrosis_up_to_date(profile: str | Mapping, out_dir: str | os.PathLike, disease: DiseaseModel = DiseaseModel(),
                           survival: SurvivalModel = SurvivalModel()) -> bool:
    """True if ``out_dir`` holds a complete fibrosis cohort of exactly this spec."""
    root = Path(out_dir).expanduser()
    m = _read_manifest(root)
    return m is not None and m.get("spec") == fibrosis_cohort_spec(profile, disease, survival) and _complete(root, m)


def _check_out_dir(out: Path) -> None:
    from t2tcore.scanner import MANIFEST_NAME

    if out.exists() and not out.is_dir():
        raise ClinicalError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        m = _read_manifest(out)
        if m is None:
            raise ClinicalError(f"{out} is not empty and holds no {MANIFEST_NAME}; choose a new or empty folder "
                                "(a virtual cohort only replaces an older virtual cohort of its kind)")
        kind = (m.get("spec") or {}).get("kind", "ldct")
        if kind != COHORT_KIND:
            raise ClinicalError(f"{out} holds a virtual cohort of another kind ({kind}); choose another folder")


def _uid(profile: dict, patient: str, what: str) -> str:
    from pydicom.uid import generate_uid

    return generate_uid(entropy_srcs=["t2t fibrosis cohort", profile["name"], str(profile["seed"]), patient, what])


def _make_patient(plan: FibrosisPlan, p: dict, tmp: Path, device, disease: DiseaseModel) -> tuple[list, dict]:
    from t2tcore.io import Series, write_series
    from t2tcore.scanner import ScannerConfig, scan

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
        Cohort folder (layout: :mod:`t2tcore.clinical.layout`).
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
    from t2tcore.io.outdir import claim_output

    p = resolve_fibrosis_profile(profile)
    spec = fibrosis_cohort_spec(p, disease, survival)
    out = Path(out_dir).expanduser().absolute()
    _check_out_dir(out)
    from t2tcore.scanner.config import check_device

    device = check_device(device, ClinicalError)
    if not force and is_fibrosis_up_to_date(p, out, disease, survival):
        return out
    older = out.is_dir() and any(out.iterdir())  # an older cohort of this kind (_check_out_dir): replaced
    with claim_output(out, overwrite=older, kind="folder") as claim:
        return _make(p, spec, claim, device, disease, survival, progress)


def _make(p: dict, spec: dict, claim, device, disease: DiseaseModel, survival: SurvivalModel, progress: bool) -> Path:
    """Scan every patient into the claim's staging folder, write the tables, commit (manifest last)."""
    from t2tcore.io.outdir import finish_with_manifest
    from t2tcore.progress import bar as progress_bar
    from t2tcore.scanner import MANIFEST_NAME

    out = claim.path
    plans = plan_fibrosis(p, disease, survival)
    t_start = time.perf_counter()
    tmp = claim.staging_dir()
    bar = progress_bar(total=len(plans), desc=f"fibrosis cohort '{p['name']}'", unit="patient", enabled=progress)
    try:
        series, infos = [], {}
        for plan in plans:
            bar.set_postfix_str(plan.patient)
            s, info = _make_patient(plan, p, tmp, device, disease)
            series += s
            infos[plan.patient] = info
            gc.collect()
            bar.update(1)
        _write_tables(tmp, plans, infos)
        manifest = {
            "spec": spec,
            "true_model": {"severity": "s ~ N(0, 1) per patient; u = Phi(s) drives the disease model linearly",
                           "disease": asdict(disease), "survival": survival.describe()},
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "generator": {"t2t_version": __version__, "python": platform.python_version(), "host_cpus": os.cpu_count()},
            "summary": {"n_patients": sum(x.role == "analysis" for x in plans),
                        "n_sr_train": sum(x.role == "sr_train" for x in plans),
                        "n_events": int(sum(x.event or 0 for x in plans)), "n_series": len(series),
                        "wall_s": round(time.perf_counter() - t_start, 2)},
            "patients": [{**asdict(x), **infos[x.patient]} for x in plans],
            "series": series,
        }
        finish_with_manifest(tmp, out, MANIFEST_NAME, manifest, overwrite=claim.overwrite)
    finally:
        bar.close()
    return out
