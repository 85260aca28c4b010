"""The true models of the virtual fibrosis cohort: how severity changes the chest, and survival.

:class:`DiseaseModel` and :func:`diseased_airways` turn a latent severity rank into a chest phantom's
fibrosis extent and airway tree (calibre, pruning, tortuosity, distal dilation);
:class:`SurvivalModel` draws survival from it; :func:`airway_truth` paints the true airway lumen on a
voxel grid. :mod:`t2tcore.scanner.cohorts.fibrosis` makes the cohort from these.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np

__all__ = ["TRUTH_SUBSAMPLES", "DiseaseModel", "SurvivalModel", "airway_truth", "diseased_airways"]

#: Sub-samples per voxel and axis of the airway truth (:func:`airway_truth`).
TRUTH_SUBSAMPLES = 3
_SENTINEL_HU = -4321.0  # a value no primitive paints: marks the lumen while the truth is painted


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
    from t2tcore.scanner.primitives import TubeSet

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



def airway_truth(phantom, x, y, z, dz: float, subsamples: int = TRUTH_SUBSAMPLES) -> np.ndarray:
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
    from t2tcore.scanner.primitives import TubeSet

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
