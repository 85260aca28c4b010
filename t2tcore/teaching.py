"""The teaching lab: small experiments along one line of ``z`` that run in a second or two.

Every exercise works on a **z-object**: ``n_columns`` independent pixel columns, each a
piecewise-constant profile along the patient axis (structures from a fraction of a millimetre
to several millimetres long, in HU). A series of slices is made from it the way a scanner
makes them: each slice is the object averaged under a slice sensitivity profile (SSP) centred
on the slice position. The SSPs are those of the virtual helical scanner
(:func:`t2tcore.scanner.slice_sensitivity_profile`: FWHM = nominal thickness, shape set by the
pitch, the row width and the reconstruction z-weighting), so "real" thick slices here come
from the scanner model, not from any simulation method. The methods under test are the
package's own (:func:`t2tcore.simulation.simulate_thick`).

Exercises (one function each; the notebooks in ``notebooks/teaching/`` call them and draw
with :mod:`t2tcore.figures.teaching`):

1. :func:`profiles` — the real SSP of a thick slice against the effective profile of each
   simulated thick slice (what the method really averages), and how the interval samples z.
2. :func:`noise` — predicted noise against thickness, kernel and dose
   (:func:`t2tcore.scanner.predict_noise_sd`), and what a triangle over thin slices does to noise.
3. :func:`errors` — every method's error against the real thick slices, paired by index (as
   an SR training pair is) and at its own positions.
4. :func:`misplaced` — which thin slice does thick slice ``j`` look like? (the paper's Fig. 7).
5. :func:`wrong_pairs` — train the simplest SR model (a linear filter along z, least squares)
   on the pairs of each method and test it on real thick slices.
6. :func:`look_along_z` — a 3-D object's thin, real thick and simulated thick series, shown by
   :func:`view_along_z` in linked 3-D slice views (ipyniivue with sliders in JupyterLab, the
   book's NiiVue viewer in the built book).

:func:`explore` shows an exercise with ipywidgets sliders in a live kernel, or as a static
figure at the initial values (with a note naming the sliders) in the built book.

Positions and lengths are in mm, values in HU.
"""

from __future__ import annotations

import functools
import html
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Mapping, Sequence

import numpy as np

__all__ = [
    "THIN",
    "ZObject",
    "z_object",
    "scanner_ssp",
    "record",
    "thin_series",
    "profiles",
    "noise",
    "errors",
    "misplaced",
    "LinearSR",
    "fit_linear_sr",
    "wrong_pairs",
    "OBJECT_WINDOW",
    "look_along_z",
    "LiveViews",
    "view_along_z",
    "EXERCISES",
    "figure",
    "explore",
]

#: The thin series of every exercise: 1 mm slices every 0.8 mm (the Grand Challenge's).
THIN = {"thickness": 1.0, "interval": 0.8}

_DZ = 0.05  # fine z step (mm) of the z-objects
_IMAGE_SIZE = 64  # the scanner model's matrix for the SSP and noise: small keeps every call fast


# ------------------------------------------------------------------------- objects
@dataclass(frozen=True)
class ZObject:
    """An object sampled finely along z.

    Attributes
    ----------
    z : ndarray, shape (n_fine,), float64
        Sample positions, mm (step ``0.05`` mm).
    values : ndarray, shape (n_fine, n_columns), float64
        HU of each column at each ``z``.
    """

    z: np.ndarray
    values: np.ndarray

    @property
    def n_columns(self) -> int:
        return int(self.values.shape[1])


def z_object(n_columns: int = 48, length_mm: float = 60.0, n_structures: int = 8,
             sizes_mm: tuple[float, float] = (0.6, 6.0), seed: int = 0) -> ZObject:
    """A random piecewise-constant object: ``n_structures`` boxes per column on a 0 HU background.

    Each box has a length drawn uniformly from ``sizes_mm``, a position uniform in the
    object, and a contrast uniform in ±(50…300) HU; overlapping boxes add.

    Parameters
    ----------
    n_columns : int
        Independent pixel columns (>= 1).
    length_mm : float
        Extent along z, from 0 (mm, > 0).
    n_structures : int
        Boxes per column (>= 1).
    sizes_mm : (float, float)
        Shortest and longest box, mm (0 < lo <= hi).
    seed : int
        Seed of :func:`numpy.random.default_rng`.

    Returns
    -------
    ZObject
    """
    if int(n_columns) != n_columns or n_columns < 1:
        raise ValueError(f"n_columns must be a positive integer, got {n_columns}")
    if int(n_structures) != n_structures or n_structures < 1:
        raise ValueError(f"n_structures must be a positive integer, got {n_structures}")
    if not length_mm > 0:
        raise ValueError(f"length_mm must be > 0, got {length_mm}")
    lo, hi = (float(v) for v in sizes_mm)
    if not 0 < lo <= hi:
        raise ValueError(f"sizes_mm must be (lo, hi) with 0 < lo <= hi, got {sizes_mm}")
    rng = np.random.default_rng(seed)
    z = np.arange(0.0, length_mm + _DZ / 2, _DZ)
    vals = np.zeros((z.size, int(n_columns)))
    for c in range(int(n_columns)):
        for _ in range(int(n_structures)):
            size = rng.uniform(lo, hi)
            start = rng.uniform(-size / 2, length_mm - size / 2)
            contrast = rng.choice([-1.0, 1.0]) * rng.uniform(50.0, 300.0)
            vals[(z >= start) & (z < start + size), c] += contrast
    return ZObject(z, vals)


@functools.lru_cache(maxsize=64)
def _ssp(thickness: float, pitch: float, row_width: float, z_weighting: str) -> tuple[np.ndarray, np.ndarray]:
    from t2tcore.scanner import ScannerConfig, slice_sensitivity_profile

    cfg = ScannerConfig(image_size=_IMAGE_SIZE, pitch=pitch, row_width=row_width)
    u, s = slice_sensitivity_profile(cfg, thickness, z_weighting)
    u, s = np.asarray(u, float), np.nan_to_num(np.asarray(s, float))
    u.flags.writeable = False
    s.flags.writeable = False
    return u, s


def scanner_ssp(thickness: float, pitch: float = 0.9375, row_width: float = 0.6,
                z_weighting: str = "trapezoid") -> tuple[np.ndarray, np.ndarray]:
    """The virtual scanner's slice sensitivity profile for a nominal ``thickness`` (cached).

    Returns
    -------
    u : ndarray, shape (n,), float64
        Distance from the slice centre, mm.
    ssp : ndarray, shape (n,), float64
        Profile, peak 1; its FWHM is ``thickness`` (the scanner's calibration).
    """
    if not thickness > 0:
        raise ValueError(f"thickness must be > 0 mm, got {thickness}")
    return _ssp(float(thickness), float(pitch), float(row_width), str(z_weighting))


def record(obj: ZObject, centres: Sequence[float], profile: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Slices of ``obj`` through a slice profile: the profile-weighted mean at each centre.

    Parameters
    ----------
    obj : ZObject
    centres : array_like, shape (n,)
        Slice positions, mm.
    profile : (u, weight)
        The profile sampled at offsets ``u`` (mm, ascending); 0 outside them.

    Returns
    -------
    ndarray, shape (n, 1, n_columns), float32
        A volume ``(Z, Y, X)`` with ``Y = 1``, as the simulation functions take.
    """
    u, w = (np.asarray(a, dtype=np.float64) for a in profile)
    c = np.asarray(centres, dtype=np.float64).reshape(-1)
    if c.size == 0:
        raise ValueError("centres is empty")
    weights = np.interp(obj.z[None, :] - c[:, None], u, w, left=0.0, right=0.0)
    total = weights.sum(axis=1, keepdims=True)
    if np.any(total <= 0):
        raise ValueError("a slice centre is too close to the object's ends: its profile sees nothing")
    return ((weights / total) @ obj.values).astype(np.float32)[:, None, :]


def _inside(obj: ZObject, margin: float) -> tuple[float, float]:
    return float(obj.z[0] + margin), float(obj.z[-1] - margin)


def thin_series(obj: ZObject, pitch: float = 0.9375, row_width: float = 0.6,
                z_weighting: str = "trapezoid", margin_mm: float = 6.0) -> tuple[np.ndarray, np.ndarray]:
    """The thin series of :data:`THIN` through the scanner's 1 mm SSP, ``margin_mm`` inside the object.

    Returns
    -------
    volume : ndarray, shape (n, 1, n_columns), float32
    positions : ndarray, shape (n,), float64, mm
    """
    lo, hi = _inside(obj, margin_mm)
    pos = lo + THIN["interval"] * np.arange(int(np.floor((hi - lo) / THIN["interval"] + 1e-9)) + 1)
    ssp = scanner_ssp(THIN["thickness"], pitch, row_width, z_weighting)
    return record(obj, pos, ssp), pos


def _real_thick(obj, thin_pos, thickness, interval, pitch, row_width, z_weighting):
    """The scanner's thick series over the thin coverage: positions s + k d, its SSP."""
    from t2tcore.simulation import thick_positions

    pos = thick_positions(thin_pos[0], thin_pos[-1], interval)
    return record(obj, pos, scanner_ssp(thickness, pitch, row_width, z_weighting)), pos


# ----------------------------------------------------------------- 1 · profiles
def profiles(thickness: float = 3.0, interval: float = 2.0, pitch: float = 0.9375, row_width: float = 0.6,
             z_weighting: str = "trapezoid", methods: Sequence[str] = ("proposed", "gaussian_z", "average")) -> dict:
    """Exercise 1: the real SSP of a thick slice against what each simulation really averages.

    A simulated thick slice is a weighted sum of thin slices, each of which has the scanner's
    1 mm SSP, so its effective profile is ``sum_l w_l SSP_thin(z - l)``. The weights ``w`` are
    measured by running :func:`t2tcore.simulation.simulate_thick` on unit impulses (nothing is
    re-implemented). The thick slice taken is the one nearest the middle of a regular thin series.

    Returns
    -------
    dict
        ``z`` (mm, relative to the real slice's centre), ``real`` (the scanner's thick SSP),
        ``effective`` (method -> profile, all scaled to unit area like ``real``), ``offset``
        (method -> centre of its slice minus the real one's, mm), ``fwhm`` (name -> mm),
        ``coverage_z`` and ``coverage`` (the sum of the real SSPs of slices every ``interval``
        mm: flat when ``interval`` samples z densely enough), and the settings.
    """
    from t2tcore.scanner import fwhm
    from t2tcore.simulation import simulate_thick

    if not thickness > THIN["thickness"]:
        raise ValueError(f"thickness must be more than the thin slices' {THIN['thickness']:g} mm, got {thickness}")
    if not interval > 0:
        raise ValueError(f"interval must be > 0 mm, got {interval}")
    thin_pos = THIN["interval"] * np.arange(121)  # 96 mm of thin slices
    centre = float(thin_pos[60])
    u_thin, s_thin = scanner_ssp(THIN["thickness"], pitch, row_width, z_weighting)
    u_t, s_t = scanner_ssp(thickness, pitch, row_width, z_weighting)
    z = np.arange(-2.5 * thickness, 2.5 * thickness + 1e-9, 0.01)
    real = np.interp(z, u_t, s_t, left=0.0, right=0.0)
    area = np.trapezoid(real, z)
    out = {"z": z, "real": real / area, "effective": {}, "offset": {}, "fwhm": {"real": fwhm(z, real)},
           "thickness": thickness, "interval": interval, "pitch": pitch, "row_width": row_width,
           "z_weighting": z_weighting}
    impulses = np.eye(thin_pos.size, dtype=np.float64)[:, None, :]
    for m in methods:
        kw = {"thin_thickness": THIN["thickness"]} if m in ("direct", "average", "gaussian") else {}
        w, pos = simulate_thick(impulses, thin_pos, thickness, interval, method=m, sigma=0.0, **kw)
        j = int(np.argmin(np.abs(np.asarray(pos) - centre)))
        weights = w[j, 0, :]
        eff = np.zeros_like(z)
        for l_pos, wl in zip(thin_pos, weights):
            if wl != 0:
                eff += wl * np.interp(z + centre - l_pos, u_thin, s_thin, left=0.0, right=0.0)
        offset = float(pos[j]) - centre
        out["offset"][m] = offset
        out["effective"][m] = eff / np.trapezoid(eff, z)
        out["fwhm"][m] = fwhm(z, eff)
    cz = np.arange(-2 * interval - thickness, 2 * interval + thickness + 1e-9, 0.01)
    grid = interval * np.arange(-6, 7)
    out["coverage_z"] = cz
    out["coverage"] = sum(np.interp(cz - g, u_t, s_t, left=0.0, right=0.0) for g in grid)
    return out


# -------------------------------------------------------------------- 2 · noise
def noise(thickness: float = 3.0, kernel: str = "B30", mAs: float = 200.0, pitch: float = 0.9375,
          thicknesses: Sequence[float] = (1.0, 2.0, 3.0, 5.0), kernels: Sequence[str] = ("B30", "D45"),
          fov_mm: float = 350.0) -> dict:
    """Exercise 2: noise against thickness, kernel and dose, predicted by the scanner model.

    Real thick slices: :func:`t2tcore.scanner.predict_noise_sd` (the noise SD in the centre of a
    300 mm water cylinder, reconstructed on a coarse 64² matrix, so the values are lower than on
    512² clinical images; the ratios are what matter). Simulated thick slices: the proposed
    triangle over thin slices every 0.8 mm multiplies the thin slices' noise SD by
    ``sqrt(sum w^2)`` (weights from :func:`t2tcore.simulation.weight_matrix`) if the thin
    slices' noise were independent from slice to slice; real thin slices share rays, so their
    noise is correlated along z and the true reduction is smaller.

    Returns
    -------
    dict
        ``curves``: kernel -> (thicknesses, SD in HU) at ``mAs``; ``sd`` (the chosen thickness,
        kernel and dose); ``sd_thin`` (1 mm, same kernel and dose); ``triangle_factor``
        (``sqrt(sum w^2)`` of the proposed weights for ``thickness``); ``sd_simulated``
        (``sd_thin * triangle_factor``); the settings.
    """
    from t2tcore.scanner import KERNELS, ReconConfig, ScannerConfig, predict_noise_sd
    from t2tcore.simulation import thick_positions, triangle_kernel, weight_matrix

    if kernel not in KERNELS:
        raise ValueError(f"unknown kernel {kernel!r}; known: {sorted(KERNELS)}")
    if not mAs > 0:
        raise ValueError(f"mAs must be > 0, got {mAs}")
    if not thickness >= THIN["thickness"]:
        raise ValueError(f"thickness must be at least {THIN['thickness']:g} mm, got {thickness}")
    cfg = ScannerConfig(image_size=_IMAGE_SIZE, pitch=pitch)

    def sd(t, k):
        return predict_noise_sd(cfg, ReconConfig(thickness=float(t), kernel=k), float(mAs), fov_mm)

    curves = {k: (np.asarray(thicknesses, float), np.array([sd(t, k) for t in thicknesses])) for k in kernels}
    thin_pos = THIN["interval"] * np.arange(61)
    centre = thick_positions(thin_pos[0], thin_pos[-1], 2.0)[15]
    w = weight_matrix(thin_pos, [centre], triangle_kernel(thickness))[0]
    factor = float(np.sqrt(np.sum(w**2)))
    sd_thin = sd(THIN["thickness"], kernel)
    return {"curves": curves, "sd": sd(thickness, kernel), "sd_thin": sd_thin, "triangle_factor": factor,
            "sd_simulated": sd_thin * factor, "thickness": thickness, "kernel": kernel, "mAs": mAs, "pitch": pitch}


# ------------------------------------------------------------------- 3 · errors
def errors(thickness: float = 3.0, interval: float = 2.0, pitch: float = 0.9375, z_weighting: str = "trapezoid",
           methods: Sequence[str] = ("proposed", "gaussian_z", "average", "direct"), seed: int = 0,
           column: int = 0) -> dict:
    """Exercise 3: each method's error against the scanner's real thick slices.

    Thin slices (:data:`THIN`) and real thick slices (``thickness`` every ``interval``, at
    ``s + k d`` from the first thin position) are recorded from the same z-object through the
    scanner's SSPs. Every method simulates from the thin slices. Two errors, RMSE in HU over
    the slices whose profile lies inside the object:

    * **paired by index** — simulated slice ``j`` against real slice ``j`` (how a training
      pair is formed; counts misplacement and the weighting);
    * **own positions** — against real-SSP slices made at the positions the method reports
      (the weighting alone).

    Returns
    -------
    dict
        ``table`` (method -> dict of ``n_slices``, ``rmse_paired``, ``rmse_own``,
        ``max_shift_mm``), ``n_real`` (real slice count), and for the drawing: ``z`` and
        ``truth`` (the object along ``column``), ``real`` (positions, values) and ``series``
        (method -> positions, values) of that column.
    """
    from t2tcore.simulation import simulate_thick

    obj = z_object(seed=seed)
    thin, thin_pos = thin_series(obj, pitch, 0.6, z_weighting)
    real, real_pos = _real_thick(obj, thin_pos, thickness, interval, pitch, 0.6, z_weighting)
    ssp = scanner_ssp(thickness, pitch, 0.6, z_weighting)
    table, series = {}, {}
    for m in methods:
        kw = {"thin_thickness": THIN["thickness"]} if m in ("direct", "average", "gaussian") else {}
        vol, pos = simulate_thick(thin, thin_pos, thickness, interval, method=m, sigma=0.0, **kw)
        vol, pos = np.asarray(vol, np.float64), np.asarray(pos, np.float64)
        n = min(pos.size, real_pos.size)
        own = record(obj, pos, ssp).astype(np.float64)
        table[m] = {
            "n_slices": int(pos.size),
            "rmse_paired": float(np.sqrt(np.mean((vol[:n] - real[:n]) ** 2))),
            "rmse_own": float(np.sqrt(np.mean((vol - own) ** 2))),
            "max_shift_mm": float(np.max(np.abs(pos[:n] - real_pos[:n]))),
        }
        series[m] = (pos, vol[:, 0, column])
    return {"table": table, "n_real": int(real_pos.size), "z": obj.z, "truth": obj.values[:, column],
            "real": (real_pos, real[:, 0, column].astype(np.float64)), "series": series,
            "thickness": thickness, "interval": interval, "pitch": pitch, "z_weighting": z_weighting}


# ---------------------------------------------------------------- 4 · misplaced
def misplaced(j: int = 10, thickness: float = 3.0, interval: float = 2.0, seed: int = 1,
              half_width: int = 5) -> dict:
    """Exercise 4: which thin slice does thick slice ``j`` look like? (the paper's Fig. 7)

    The mean squared error between thick slice ``j`` — real, ``proposed`` and index-based
    ``average`` — and the thin slices around it (:func:`t2tcore.evaluation.slice_similarity`).
    A real slice is most like the thin slice nearest its position ``s + j d``; an index-based
    slice ``j`` is built from thin slices ``k j .. k j + k - 1`` whatever the spacing.

    Returns
    -------
    dict
        ``thin_index`` (the thin slices compared), ``mse`` (series -> MSE, HU²), ``best``
        (series -> the thin index with the lowest MSE), ``position`` (series -> its slice
        position, mm), ``nearest`` (the thin index nearest the real slice's position),
        ``index_guess`` (the centre of the index group, ``k j + k // 2``), ``k``, ``j``.
    """
    from t2tcore.evaluation import slice_similarity
    from t2tcore.simulation import simulate_thick

    if int(j) != j or j < 0:
        raise ValueError(f"j must be a non-negative integer, got {j}")
    obj = z_object(seed=seed, length_mm=100.0)
    thin, thin_pos = thin_series(obj)
    real, real_pos = _real_thick(obj, thin_pos, thickness, interval, 0.9375, 0.6, "trapezoid")
    k = max(1, int(np.floor(thickness / THIN["thickness"] + 0.5)))
    prop, prop_pos = simulate_thick(thin, thin_pos, thickness, interval, method="proposed")
    avg, avg_pos = simulate_thick(thin, thin_pos, thickness, method="average", thin_thickness=THIN["thickness"])
    n = min(real_pos.size, avg_pos.size)
    if j >= n:
        raise ValueError(f"j must be below {n} (the shorter series has {n} slices)")
    nearest = int(np.argmin(np.abs(thin_pos - real_pos[j])))
    centre = max(nearest, k * j + k // 2)
    lo = max(0, min(nearest, k * j) - half_width)
    hi = min(thin_pos.size, centre + half_width + 1)
    idx = np.arange(lo, hi)
    sl = {"real": real[j], "proposed": np.asarray(prop)[j], "average": np.asarray(avg)[j]}
    mse = {name: slice_similarity(s, thin, idx) for name, s in sl.items()}
    return {"thin_index": idx, "mse": mse, "best": {m: int(idx[np.argmin(v)]) for m, v in mse.items()},
            "position": {"real": float(real_pos[j]), "proposed": float(prop_pos[j]), "average": float(avg_pos[j])},
            "nearest": nearest, "index_guess": k * j + k // 2, "k": k, "j": int(j), "thin_positions": thin_pos[idx]}


# -------------------------------------------------------------- 5 · wrong pairs
@dataclass(frozen=True)
class LinearSR:
    """The simplest SR model: a linear filter along z from thick slices to thin slices.

    Output thin slice ``i = p m + r`` (phase ``r``) is ``sum_k coef[r, k] thick[q m + c[r] + k - K]``:
    ``p`` thin slices per ``q`` thick slices, the geometry the model saw in training. This is
    what any SR network trained on pairs with a fixed slice-count ratio learns to assume, in
    its plainest form.

    Attributes
    ----------
    p, q : int
        Thin slices per ``q`` thick slices in the training pairs.
    centre : ndarray, shape (p,), int
        ``c[r]``: the thick slice nearest thin slice ``r`` in training.
    coef : ndarray, shape (p, 2 K + 1), float64
        The filter of each phase (the last column is a constant term when ``bias``).
    half_width : int
        ``K``.
    bias : bool
    """

    p: int
    q: int
    centre: np.ndarray
    coef: np.ndarray
    half_width: int
    bias: bool = True

    def centre_index(self, i: np.ndarray) -> np.ndarray:
        i = np.asarray(i)
        return self.q * (i // self.p) + self.centre[i % self.p]

    def predict(self, thick: np.ndarray) -> np.ndarray:
        """Thin slices from a thick volume ``(n, Y, X)``: as many as the model's geometry gives,
        ``(p / q) n`` less the ends where the filter would leave the volume."""
        thick = np.asarray(thick, dtype=np.float64)
        K = self.half_width
        n_out = int(self.p * thick.shape[0] // self.q) + self.p
        i = np.arange(n_out)
        c = self.centre_index(i)
        i = i[(c - K >= 0) & (c + K < thick.shape[0])]
        out = np.full((n_out,) + thick.shape[1:], np.nan)
        for ii in i:
            feats = thick[self.centre_index(ii) - K: self.centre_index(ii) + K + 1]
            coef = self.coef[ii % self.p]
            out[ii] = np.tensordot(coef[: 2 * K + 1], feats, axes=1) + (coef[-1] if self.bias else 0.0)
        return out


def fit_linear_sr(thick: Sequence[np.ndarray], thick_positions: Sequence[np.ndarray], thin: Sequence[np.ndarray],
                  thin_positions: Sequence[np.ndarray], half_width: int = 2, ridge: float = 1e-3,
                  bias: bool = True) -> LinearSR:
    """Fit a :class:`LinearSR` by least squares on training pairs.

    The geometry (``p``, ``q``, ``centre``) is read from the first pair's positions: ``p / q``
    is the ratio of the thick to the thin spacing (as a small fraction), and ``centre[r]``
    the thick slice nearest thin slice ``r``. Each phase's filter solves a ridge-regularised
    least-squares problem (:func:`numpy.linalg.lstsq` on the stacked normal equations).

    Parameters
    ----------
    thick, thin : sequence of ndarray, shape (n, Y, X) and (m, Y, X)
        Training pairs (same Y, X within a pair).
    thick_positions, thin_positions : sequence of ndarray
        Their slice positions, mm (regular spacing).
    half_width : int
        ``K``: the filter sees ``2 K + 1`` thick slices.
    ridge : float
        Tikhonov weight relative to the mean squared feature (>= 0).
    bias : bool
        Add a constant term.
    """
    if not (len(thick) == len(thin) == len(thick_positions) == len(thin_positions)) or not thick:
        raise ValueError("give the same (non-zero) number of thick and thin volumes and positions")
    if int(half_width) != half_width or half_width < 0:
        raise ValueError(f"half_width must be a non-negative integer, got {half_width}")
    tp, Tp = np.asarray(thin_positions[0], float), np.asarray(thick_positions[0], float)
    if tp.size < 2 or Tp.size < 2:
        raise ValueError("each series needs at least 2 slices")
    ratio = Fraction(float(np.median(np.diff(Tp)) / np.median(np.diff(tp)))).limit_denominator(8)
    p, q = ratio.numerator, ratio.denominator
    centre = np.array([int(np.argmin(np.abs(Tp - x))) for x in tp[:p]])
    K = int(half_width)
    geo = LinearSR(p, q, centre, np.zeros((p, 2 * K + 1 + bias)), K, bias)
    rows: dict[int, list] = {r: [] for r in range(p)}
    targets: dict[int, list] = {r: [] for r in range(p)}
    for T, t in zip(thick, thin):
        T = np.asarray(T, np.float64).reshape(T.shape[0], -1)
        t = np.asarray(t, np.float64).reshape(t.shape[0], -1)
        for i in range(t.shape[0]):
            c = int(geo.centre_index(i))
            if c - K < 0 or c + K >= T.shape[0]:
                continue
            f = T[c - K: c + K + 1].T  # (pixels, 2K+1)
            if bias:
                f = np.hstack([f, np.ones((f.shape[0], 1))])
            rows[i % p].append(f)
            targets[i % p].append(t[i])
    coef = np.zeros_like(geo.coef)
    for r in range(p):
        if not rows[r]:
            raise ValueError(f"no training sample for phase {r}: the series are too short for half_width={K}")
        A, b = np.vstack(rows[r]), np.concatenate(targets[r])
        lam = ridge * float(np.mean(A[:, : 2 * K + 1] ** 2))
        reg = np.sqrt(lam) * np.eye(A.shape[1])
        if bias:
            reg[-1, -1] = 0.0
        coef[r] = np.linalg.lstsq(np.vstack([A, reg]), np.concatenate([b, np.zeros(A.shape[1])]), rcond=None)[0]
    return LinearSR(p, q, centre, coef, K, bias)


def wrong_pairs(thickness: float = 3.0, interval: float = 2.0, methods: Sequence[str] = ("proposed", "average"),
                n_train: int = 4, seed: int = 10, column: int = 0) -> dict:
    """Exercise 5: train the linear SR model on each method's pairs, test on real thick slices.

    Training: ``n_train`` z-objects; thin slices through the scanner's 1 mm SSP, thick slices
    simulated from them by each method. Test: another z-object's **real** thick slices (the
    scanner's SSP at ``s + k d``) go in; the output is compared, slice by slice by index, with
    the real thin slices (RMSE in HU over the slices both have), as an SR model's output is.

    Returns
    -------
    dict
        ``table`` (method -> ``rmse``, ``n_out`` (slices the model makes), ``n_thin``, ``p``,
        ``q``), and for the drawing ``thin`` (positions, values of ``column``), ``real``
        (positions, values) and ``sr`` (method -> values by output index, NaN where the
        model makes nothing).
    """
    from t2tcore.simulation import simulate_thick

    pairs = []
    for s in range(n_train):
        obj = z_object(seed=seed + 1 + s)
        pairs.append(thin_series(obj))
    test_obj = z_object(seed=seed)
    thin, thin_pos = thin_series(test_obj)
    real, real_pos = _real_thick(test_obj, thin_pos, thickness, interval, 0.9375, 0.6, "trapezoid")
    table, sr = {}, {}
    for m in methods:
        kw = {"thin_thickness": THIN["thickness"]} if m in ("direct", "average", "gaussian") else {}
        sims = [simulate_thick(t, tp, thickness, interval, method=m, sigma=0.0, **kw) for t, tp in pairs]
        model = fit_linear_sr([v for v, _ in sims], [p for _, p in sims], [t for t, _ in pairs],
                              [tp for _, tp in pairs])
        out = model.predict(real)
        n = min(out.shape[0], thin.shape[0])
        ok = np.isfinite(out[:n, 0, 0])
        err = out[:n][ok] - thin[:n][ok]
        table[m] = {"rmse": float(np.sqrt(np.mean(err**2))), "n_out": int(np.isfinite(out[:, 0, 0]).sum()),
                    "n_thin": int(thin.shape[0]), "p": model.p, "q": model.q}
        sr[m] = out[:, 0, column]
    return {"table": table, "thin": (thin_pos, thin[:, 0, column].astype(np.float64)),
            "real": (real_pos, real[:, 0, column].astype(np.float64)), "sr": sr,
            "thickness": thickness, "interval": interval}


# ------------------------------------------------------------- 6 · look along z
_LOOK_MM = 48.0  # z extent of the lab's 3-D object
#: The lab viewer's grey window: the object's values (-200...450 HU), as level and width.
OBJECT_WINDOW = (125.0, 650.0)


@functools.lru_cache(maxsize=4)
def _rods(n_xy: int, seed: int) -> tuple[ZObject, float, np.ndarray]:
    """Chapter 00's analytic object (tilted rods, a sphere, a box oscillating along z) on planes
    every 0.05 mm over ``_LOOK_MM``, as a z-object of ``n_xy * n_xy`` columns (cached, read-only)."""
    from t2tcore.evaluation.analytic import ExactSlicer, RodsObject

    obj = RodsObject.random(np.random.default_rng(seed), n_xy, gap_z=_LOOK_MM / 2)
    planes = ExactSlicer(obj, (0.0, _LOOK_MM), h=_DZ)
    values = planes.planes.astype(np.float64)
    values.flags.writeable = False
    return ZObject(planes.z, values), float(obj.fov) / n_xy, obj.xy


def look_along_z(thickness: float = 3.0, interval: float = 2.0, offset: float = 0.0, method: str = "average",
                 n_xy: int = 48, seed: int = 0) -> dict:
    """Exercise 6: a 3-D object's thin series, the scanner's thick series and one simulation of it.

    The object is chapter 00's (two rods tilted in the coronal plane, a sphere, a box whose
    value oscillates along z; :class:`t2tcore.evaluation.analytic.RodsObject`), ``n_xy`` pixels
    square. Thin slices: :data:`THIN` through the scanner's 1 mm SSP (:func:`thin_series`). Real
    thick slices: the scanner's SSP of ``thickness`` at ``s + offset + k interval`` (``s`` the
    first thin slice). Simulated: :func:`t2tcore.simulation.simulate_thick` with ``method``;
    the position-based methods are given the real positions (``target_positions``), the
    index-based ones make their own groups, whatever the offset and interval.

    Returns
    -------
    dict
        ``series``: ``"thin"``, ``"real thick"`` and ``method`` -> ``(volume (Z, n_xy, n_xy) HU,
        positions (Z,) mm, thickness mm)``; ``pixel_mm``; ``x`` (pixel centres, mm);
        ``misplacement_mm`` (largest |position of simulated slice j - real slice j|);
        the settings.
    """
    from t2tcore.simulation import simulate_thick, thick_positions

    if not THIN["thickness"] < thickness <= 6.0:
        raise ValueError(f"thickness must be in ({THIN['thickness']:g}, 6] mm, got {thickness}")
    if not interval > 0:
        raise ValueError(f"interval must be > 0 mm, got {interval}")
    if not 0 <= offset < 20:
        raise ValueError(f"offset must be in [0, 20) mm, got {offset}")
    obj, px, x = _rods(int(n_xy), int(seed))
    thin, thin_pos = thin_series(obj)
    thin = thin.reshape(-1, n_xy, n_xy)
    real_pos = thick_positions(thin_pos[0] + offset, thin_pos[-1], interval)
    real = record(obj, real_pos, scanner_ssp(thickness)).reshape(-1, n_xy, n_xy)
    index_based = method in ("direct", "average", "gaussian")
    kw = {"thin_thickness": THIN["thickness"]} if index_based else {"target_positions": real_pos}
    sim, sim_pos = simulate_thick(thin, thin_pos, thickness, interval, method=method, **kw)
    n = min(real_pos.size, np.asarray(sim_pos).size)
    return {"series": {"thin": (thin, thin_pos, THIN["thickness"]), "real thick": (real, real_pos, thickness),
                       method: (np.asarray(sim), np.asarray(sim_pos, dtype=float), thickness)},
            "pixel_mm": px, "x": x, "misplacement_mm": float(np.max(np.abs(np.asarray(sim_pos)[:n] - real_pos[:n]))),
            "thickness": thickness, "interval": interval, "offset": offset, "method": method}


@dataclass
class LiveViews:
    """The lab's live slice views: ``box`` (what is displayed), the slider ``controls`` and the
    ipyniivue ``views`` (one per series), with their ``labels``."""

    box: Any
    controls: dict
    views: list
    labels: list

    def _repr_mimebundle_(self, **kwargs):
        return self.box._repr_mimebundle_(**kwargs)


def _look_caption(res: dict) -> str:
    return (f"The {res['method']} slices against the scanner's ({res['thickness']:g} mm every {res['interval']:g} mm, "
            f"first slice {res['offset']:g} mm after the first thin slice); largest misplacement of slice j: "
            f"{res['misplacement_mm']:.1f} mm. In the coronal and sagittal views every thick slice is a band at its "
            "own position: compare where the bands of the two rows sit, and where the tilted rods and the sphere "
            "step. With the difference on, each row shows itself minus the thin series at the same z.")


def view_along_z(initial: Mapping[str, Any], controls: Mapping[str, Any], interactive: bool = True,
                 out_dir: str | None = None):
    """Exercise 6's linked 3-D views: live with sliders (JupyterLab), or the book's viewer.

    Parameters
    ----------
    initial : mapping
        Keyword arguments of :func:`look_along_z` to start from.
    controls : mapping
        Keyword -> ``(lo, hi, step)`` (a slider) or a list of choices (a dropdown).
    interactive : bool
        True: ipywidgets sliders that update three ipyniivue views (thin, real thick,
        simulated; linked crosshair) while a slider is dragged. False (the built book): a note
        naming the sliders, a static coronal figure, and :func:`t2tcore.figures.viewer.slice_viewer`
        at ``initial``.
    out_dir : str, optional
        Where the book's viewer writes its NIfTI files.

    Returns
    -------
    LiveViews or IPython.display.HTML
        What the notebook shows last (the live views, or the book's viewer).
    """
    from IPython.display import HTML, display

    from t2tcore.figures import viewer

    missing = [k for k in controls if k not in initial]
    if missing:
        raise ValueError(f"controls without an initial value: {missing}")
    if not interactive:
        from t2tcore.figures.simulation import coronal_inputs

        sliders = "; ".join(_describe(k, v) for k, v in controls.items())
        display(HTML('<div class="t2t-static-note">In JupyterLab (<code>make lab</code>) these views have sliders: '
                     f"{html.escape(sliders)}, and the thick slices move while you drag. Here they are shown at "
                     f"{html.escape(', '.join(f'{k} = {v}' for k, v in initial.items()))}.</div>"))
        res = look_along_z(**initial)
        mid = res["series"]["thin"][0].shape[1] // 2
        display(coronal_inputs(res["x"], [(k, v[:, mid], p) for k, (v, p, _) in res["series"].items()]))
        return viewer.slice_viewer(res["series"], res["pixel_mm"], reference="thin",
                                   show=("real thick", res["method"]), window="object",
                                   windows={"object": OBJECT_WINDOW}, out_dir=out_dir, name="lab6",
                                   caption=_look_caption(res))

    import pathlib
    import tempfile

    import ipyniivue as nv
    import ipywidgets as w

    tmp = pathlib.Path(tempfile.mkdtemp(prefix="t2t-lab6-"))
    views = [nv.NiiVue(height=220, slice_type=nv.SliceType.MULTIPLANAR, multiplanar_layout=nv.MultiplanarType.ROW,
                       multiplanar_show_render=nv.ShowRender.NEVER, is_radiological_convention=True,
                       is_nearest_interpolation=True, drag_mode=nv.DragMode.NONE, crosshair_width=1.0)
             for _ in range(3)]
    for v in views:
        v.broadcast_to([o for o in views if o is not v], {"crosshair": True, "zoom_pan": True})
    labels = [w.HTML() for _ in views]
    widgets = {}
    for k, spec in controls.items():
        if isinstance(spec, tuple) and len(spec) == 3:
            cls = w.IntSlider if all(isinstance(x, int) for x in (*spec, initial[k])) else w.FloatSlider
            widgets[k] = cls(value=initial[k], min=spec[0], max=spec[1], step=spec[2], description=k,
                             continuous_update=True)
        else:
            widgets[k] = w.Dropdown(options=list(spec), value=initial[k], description=k)
    fixed = {k: v for k, v in initial.items() if k not in widgets}
    lo, hi = OBJECT_WINDOW[0] - OBJECT_WINDOW[1] / 2, OBJECT_WINDOW[0] + OBJECT_WINDOW[1] / 2
    caption = w.HTML()

    def update(**values):
        res = look_along_z(**fixed, **values)
        items = [viewer.ViewSeries.make(k, v) for k, v in res["series"].items()]
        span = (min(s.positions[0] for s in items), max(s.positions[-1] for s in items))
        for i, (s, view, label) in enumerate(zip(items, views, labels)):
            raw, desc = viewer.nifti_volume(s, (res["pixel_mm"], res["pixel_mm"]), tmp, i, span)
            view.volumes = [nv.Volume(data=raw, name=desc["file"], cal_min=lo, cal_max=hi, colormap="gray")]
            label.value = f"<b>{html.escape(s.name)}</b>: {html.escape(desc['info'])}"
        caption.value = f"<small>{html.escape(_look_caption(res))}</small>"

    w.interactive_output(update, widgets)
    rows = [w.VBox([label, view]) for label, view in zip(labels, views)]
    box = w.VBox([w.HBox(list(widgets.values()), layout=w.Layout(flex_flow="row wrap")), *rows, caption])
    return LiveViews(box, widgets, views, labels)


# ---------------------------------------------------------------- interactivity
#: exercise name -> (the function that computes it, the name of its figure in t2tcore.figures.teaching)
EXERCISES = {
    "profiles": (profiles, "profiles_figure"),
    "noise": (noise, "noise_figure"),
    "errors": (errors, "errors_figure"),
    "misplaced": (misplaced, "misplaced_figure"),
    "wrong_pairs": (wrong_pairs, "wrong_pairs_figure"),
}


def figure(exercise: str, **settings: Any):
    """Run an exercise with ``settings`` and draw it (:mod:`t2tcore.figures.teaching`).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from t2tcore.figures import teaching as figs

    if exercise not in EXERCISES:
        raise ValueError(f"unknown exercise {exercise!r}; known: {', '.join(EXERCISES)}")
    compute, draw = EXERCISES[exercise]
    return getattr(figs, draw)(compute(**settings))


def _describe(name: str, spec: Any) -> str:
    if isinstance(spec, tuple) and len(spec) == 3:
        return f"{name} from {spec[0]:g} to {spec[1]:g}"
    return f"{name} in {{{', '.join(str(v) for v in spec)}}}"


def explore(draw: str | Callable[..., Any], initial: Mapping[str, Any], controls: Mapping[str, Any],
            interactive: bool = True) -> None:
    """Show ``draw(**values)`` with sliders (live kernel) or once, statically, at ``initial``.

    Parameters
    ----------
    draw : str or callable
        An exercise name of :data:`EXERCISES` (drawn by :func:`figure`), or a callable that
        returns what to display (a Figure) for keyword values.
    initial : mapping
        Initial value of every keyword.
    controls : mapping
        Keyword -> ``(lo, hi, step)`` for a slider or a list of choices for a dropdown; the
        keywords not named keep their initial value.
    interactive : bool
        True: ipywidgets sliders (the figure is redrawn when a slider is released). False (the
        built book): the figure at ``initial``, after a note naming the sliders, so that the
        static page says what the live one does.
    """
    from IPython.display import HTML, display

    if isinstance(draw, str):
        draw = functools.partial(figure, draw)
    missing = [k for k in controls if k not in initial]
    if missing:
        raise ValueError(f"controls without an initial value: {missing}")
    if not interactive:
        shown = ", ".join(f"{k} = {v}" for k, v in initial.items())
        sliders = "; ".join(_describe(k, v) for k, v in controls.items())
        display(HTML(
            '<div class="t2t-static-note">In JupyterLab (<code>make lab</code>) this figure has sliders: '
            f"{html.escape(sliders)}. Here it is drawn once, at {html.escape(shown)}.</div>"
        ))
        display(draw(**initial))
        return

    import ipywidgets as w

    widgets = {}
    for k, spec in controls.items():
        if isinstance(spec, tuple) and len(spec) == 3:
            lo, hi, step = spec
            cls = w.IntSlider if all(isinstance(v, int) for v in (lo, hi, step, initial[k])) else w.FloatSlider
            widgets[k] = cls(value=initial[k], min=lo, max=hi, step=step, description=k, continuous_update=False)
        else:
            widgets[k] = w.Dropdown(options=list(spec), value=initial[k], description=k)
    fixed = {k: v for k, v in initial.items() if k not in widgets}
    out = w.interactive_output(lambda **kw: display(draw(**fixed, **kw)), widgets)
    display(w.VBox([w.HBox(list(widgets.values()), layout=w.Layout(flex_flow="row wrap")), out]))
