"""Calibrated slice profiles: the thin-to-thick z-kernel of one protocol, measured.

The paper's triangle (``simulate_thick(method="proposed")``) is a fixed guess at how a
scanner turns thin slices into thick ones. Where a protocol has even one *paired* scan (a
thin and a thick reconstruction of the same raw data), the kernel can be measured instead
and applied to the unpaired thin series of that protocol (``method="calibrated"``).

Model
    Each real thick slice at position ``p`` (mm) is the normalised weighted sum of the thin
    slices at positions ``l``::

        thick(p) = sum_l k(p - l) thin(l) / sum_l k(p - l)

    (Algorithm 2 of the paper with the triangle replaced by ``k``), optionally followed by a
    small 2-D Gaussian blur of ``inplane_sigma_px`` pixels in every slice. ``k`` is symmetric,
    non-negative and piecewise linear between nodes at ``|dz| = 0, h, 2h, ..., R`` (``h`` =
    ``node_spacing_mm``, ``R`` = ``radius_mm``) and 0 beyond ``R``: a :class:`~t2tcore.simulation.profile.SliceProfile`.

Fit (:func:`fit_slice_profile`; its old name ``fit_profile`` still works)
    1. Sample voxels: in every pair, the thick slices whose whole kernel support lies inside
       the thin coverage, and a seeded random subset of in-plane pixels inside a body mask
       (``t2tcore.masks.body_mask`` of the thick volume by default), at most
       ``max_samples`` voxels in all. Memory stays at a few tens of MB whatever the volumes.
    2. With hat functions ``phi_m`` on the nodes, ``k = sum_m w_m phi_m`` and the model of a
       voxel is ``(sum_m w_m A_m) / (sum_m w_m s_m)`` with ``A_m = sum_l phi_m(p - l) thin(l)``
       and ``s_m = sum_l phi_m(p - l)``: linear in ``w`` but for the normalisation. When the
       thin spacing is regular the normaliser is nearly the same for every thick slice, so
       a non-negative linear least-squares fit (``scipy.optimize.nnls``) of ``thick ~ sum_m
       c_m A_m`` gives a close start, which projected Gauss-Newton steps (each an NNLS on the
       K x K normal equations, with step halving) refine on the exact normalised model.
    3. A small second-difference penalty (``smoothness``) keeps the kernel smooth between
       the distances the data sample: thin slices every 0.8 mm and thick every 2 mm, on one
       grid, only see ``|p - l|`` in steps of 0.4 mm, so nodes every 0.25 mm would
       otherwise be undetermined.
    4. ``fit_inplane_blur``: the in-plane sigma is found by a grid then a bounded scalar
       search on the linear fit's residual (the kernel re-fitted for each sigma), then the
       kernel is refined at that sigma.
    5. With ``radius_mm=None`` the radius starts at 2.5 median thick spacings and grows
       (x1.5, up to 3 times) while the fitted kernel is still above 2 % of its peak at the
       last node.

The kernel is stored with a peak of 1 (any scale gives the same normalised weights).
Positions and distances are in mm, images in HU (float32) unless stated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from t2tcore.simulation.kernels import blur_in_plane
from t2tcore.simulation.profile import (  # noqa: F401  (re-exported: the profile and its fit in one place)
    ProfileError,
    SliceProfile,
    SliceProfileError,
    ZProfile,
    load_profile,
    load_slice_profile,
)

__all__ = ["ProfileError", "SliceProfile", "SliceProfileError", "ZProfile", "fit_profile", "fit_slice_profile",
           "load_profile", "load_slice_profile"]

# The radius grows while the kernel at its last node exceeds this fraction of its peak.
_TAIL_FRACTION = 0.02
_MAX_GROWTH = 3
_SIGMA_MAX_PX = 3.0




# --------------------------------------------------------------------------------------
# Fitting
# --------------------------------------------------------------------------------------


@dataclass
class _Pair:
    thin: np.ndarray  # (Z, Y, X), any order; index with thin_order
    thin_pos: np.ndarray  # sorted
    thin_order: np.ndarray
    thick: np.ndarray
    thick_pos: np.ndarray  # sorted
    thick_order: np.ndarray
    mask: np.ndarray | None  # (Zt, Y, X) bool in the thick volume's own order, or None (body mask)


@dataclass
class _Samples:
    """Sampled voxels of one pair for one radius."""

    thin_idx: np.ndarray  # thin slices used (volume indices)
    ys: np.ndarray
    xs: np.ndarray  # sampled in-plane pixels (n_p,)
    phi: np.ndarray  # (K, J, n_thin_used) hat-basis weights
    y: np.ndarray  # (n,) thick values at the sampled voxels
    keep: np.ndarray  # (J, n_p) bool: voxel inside the mask
    s: np.ndarray  # (n, K) normaliser basis per voxel row
    n_thick: int


def _check_positions(pos: Any, n: int, what: str) -> np.ndarray:
    p = np.array(pos, dtype=np.float64).reshape(-1)
    if p.size != n:
        raise ValueError(f"{what}: {p.size} positions for {n} slices")
    if not np.all(np.isfinite(p)):
        raise ValueError(f"{what}: positions must be finite")
    if np.any(np.diff(np.sort(p)) <= 0):
        raise ValueError(f"{what}: positions must be distinct")
    return p


def _check_pairs(pairs: Any, mask: Any) -> list[_Pair]:
    try:
        pairs = list(pairs)
    except TypeError:
        raise ValueError("pairs must be a sequence of (thin_volume, thin_positions, thick_volume, thick_positions)") from None
    if not pairs:
        raise ValueError("pairs is empty: give at least one paired thin/thick scan")
    if mask is not None:
        masks = list(mask)
        if len(masks) != len(pairs):
            raise ValueError(f"mask must have one entry per pair ({len(pairs)}), got {len(masks)}")
    else:
        masks = [None] * len(pairs)
    out = []
    for n, (item, m) in enumerate(zip(pairs, masks)):
        if not isinstance(item, (tuple, list)) or len(item) != 4:
            raise ValueError(f"pair {n}: expected (thin_volume, thin_positions, thick_volume, thick_positions)")
        thin, tp, thick, kp = item
        thin, thick = np.asarray(thin), np.asarray(thick)
        if thin.ndim != 3 or thick.ndim != 3:
            raise ValueError(f"pair {n}: volumes must be 3-D (Z, Y, X), got {thin.shape} and {thick.shape}")
        if thin.shape[1:] != thick.shape[1:]:
            raise ValueError(f"pair {n}: thin and thick images differ in size: {thin.shape[1:]} vs {thick.shape[1:]}")
        if thin.shape[0] < 2 or thick.shape[0] < 1:
            raise ValueError(f"pair {n}: need >= 2 thin slices and >= 1 thick slice")
        tp = _check_positions(tp, thin.shape[0], f"pair {n} thin")
        kp = _check_positions(kp, thick.shape[0], f"pair {n} thick")
        if m is not None:
            m = np.asarray(m, dtype=bool)
            if m.shape != thick.shape:
                raise ValueError(f"pair {n}: mask shape {m.shape} differs from the thick volume's {thick.shape}")
        to, ko = np.argsort(tp, kind="stable"), np.argsort(kp, kind="stable")
        out.append(_Pair(thin, tp[to], to, thick, kp[ko], ko, m))
    return out


def _hats(d: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """Hat-basis values phi_m(d) for distances d >= 0 (any shape): (K,) + d.shape; 0 beyond
    the last node (same support test as Kernel: d <= radius)."""
    h = np.diff(nodes)
    K = nodes.size
    out = np.zeros((K,) + d.shape, dtype=np.float64)
    inside = d <= nodes[-1]
    seg = np.clip(np.searchsorted(nodes, d, side="right") - 1, 0, K - 2)
    frac = (d - nodes[seg]) / h[seg]
    frac = np.clip(frac, 0.0, 1.0)
    for m in range(K - 1):
        sel = inside & (seg == m)
        out[m][sel] += 1.0 - frac[sel]
        out[m + 1][sel] += frac[sel]
    return out


def _sample_pair(pair: _Pair, nodes: np.ndarray, budget: int, rng: np.random.Generator) -> _Samples | None:
    from t2tcore.masks import body_mask

    R = nodes[-1]
    lo, hi = pair.thin_pos[0], pair.thin_pos[-1]
    tol = 1e-6
    usable = np.flatnonzero((pair.thick_pos - R >= lo - tol) & (pair.thick_pos + R <= hi + tol))
    if usable.size == 0:
        return None
    # spread the thick slices used over the coverage when there are many
    max_j = max(1, min(usable.size, budget // 64))
    if usable.size > max_j:
        usable = usable[np.unique(np.round(np.linspace(0, usable.size - 1, max_j)).astype(int))]
    jvol = pair.thick_order[usable]  # volume indices of the thick slices used
    thick_slices = np.asarray(pair.thick[jvol], dtype=np.float32)
    if pair.mask is None:
        m3 = body_mask(thick_slices)
        if not m3.any():
            m3 = np.ones(thick_slices.shape, dtype=bool)
    else:
        m3 = pair.mask[jvol]
    any2d = np.flatnonzero(m3.any(axis=0).reshape(-1))
    if any2d.size == 0:
        return None
    n_p = int(min(any2d.size, max(1, budget // usable.size)))
    pix = np.sort(rng.choice(any2d, size=n_p, replace=False)) if n_p < any2d.size else any2d
    nx = pair.thick.shape[2]
    ys, xs = pix // nx, pix % nx
    d = np.abs(pair.thick_pos[usable][:, None] - pair.thin_pos[None, :])  # (J, n_thin) sorted thin
    near = np.flatnonzero((d <= R).any(axis=0))
    phi = _hats(d[:, near], nodes)  # (K, J, n_used)
    keep = m3[:, ys, xs]  # (J, n_p)
    y = thick_slices[:, ys, xs][keep].astype(np.float64)
    s_j = phi.sum(axis=2).T  # (J, K)
    s = np.broadcast_to(s_j[:, None, :], keep.shape + (nodes.size,))[keep]
    return _Samples(pair.thin_order[near], ys, xs, phi, y, keep, np.ascontiguousarray(s), usable.size)


def _design(pair: _Pair, smp: _Samples, sigma: float) -> np.ndarray:
    """(n, K) A_m at the sampled voxels, from the thin slices blurred in-plane by sigma px."""
    thin = np.asarray(pair.thin[smp.thin_idx], dtype=np.float32)
    if sigma > 0:
        thin = blur_in_plane(thin, sigma)
    x = thin[:, smp.ys, smp.xs].astype(np.float64)  # (n_used, n_p)
    a = np.tensordot(smp.phi, x, axes=([2], [0]))  # (K, J, n_p)
    return np.ascontiguousarray(np.moveaxis(a, 0, -1)[smp.keep])


def _second_diff(K: int) -> np.ndarray:
    if K < 3:
        return np.zeros((0, K))
    d = np.zeros((K - 2, K))
    for r in range(K - 2):
        d[r, r : r + 3] = (1.0, -2.0, 1.0)
    return d


def _penalty(A: np.ndarray, s: np.ndarray, y: np.ndarray, smoothness: float) -> np.ndarray:
    """sqrt(lambda) * D2, lambda relative to the part of the data that carries the kernel's
    shape (A - y s: thin minus thick), per node."""
    K = A.shape[1]
    B = A - y[:, None] * s
    lam = smoothness * float(np.einsum("ij,ij->", B, B)) / K
    # it acts on c = w / S (linear stage) and on w scaled to a mean normaliser of 1
    # (refinement): the same scale, so one matrix serves both
    return math.sqrt(max(lam, 0.0)) * _second_diff(K)


def _nnls_normal(H: np.ndarray, g: np.ndarray) -> np.ndarray:
    """argmin_{c>=0} c^T H c - 2 g^T c for a symmetric positive (semi-)definite K x K H."""
    from scipy.linalg import solve_triangular
    from scipy.optimize import nnls

    K = H.shape[0]
    L = np.linalg.cholesky(H + 1e-12 * max(np.trace(H), 1e-300) / K * np.eye(K))
    # c^T H c - 2 g^T c = |L^T c - L^-1 g|^2 + const
    c, _ = nnls(L.T, solve_triangular(L, g, lower=True), maxiter=50 * K)
    return c


def _nnls_fit(A: np.ndarray, y: np.ndarray, P: np.ndarray) -> tuple[np.ndarray, float]:
    """argmin_{c>=0} |A c - y|^2 + |P c|^2 (through the K x K normal equations); (c, SSE)."""
    c = _nnls_normal(A.T @ A + P.T @ P, A.T @ y)
    r = A @ c - y
    return c, float(r @ r)


def _refine(A: np.ndarray, s: np.ndarray, y: np.ndarray, P: np.ndarray, c: np.ndarray, iters: int = 50) -> np.ndarray:
    """Exact normalised model, w >= 0: projected Gauss-Newton steps (each an NNLS on the
    K x K normal equations) with step halving; the scale is fixed by mean(s) . w = 1."""
    s_mean = s.mean(axis=0)
    w = np.maximum(c, 0.0) / float(c @ s_mean)
    mu2 = float(y.size) * max(float(np.var(y)), 1.0)

    def objective(w):
        D = s @ w
        if np.any(D <= 0):
            return np.inf
        r = (A @ w) / D - y
        pw = P @ w
        return float(r @ r + pw @ pw + mu2 * (w @ s_mean - 1.0) ** 2)

    f = objective(w)
    for _ in range(iters):
        D = s @ w
        pred = (A @ w) / D
        J = (A - pred[:, None] * s) / D[:, None]  # J @ w == 0: the model is scale invariant
        H = J.T @ J + P.T @ P + mu2 * np.outer(s_mean, s_mean)
        g = J.T @ (J @ w - (pred - y)) + mu2 * s_mean
        v = _nnls_normal(H, g)
        t, f_new = 1.0, objective(v)
        while f_new > f and t > 1e-4:
            t /= 2
            f_new = objective(w + t * (v - w))
        if f_new > f:
            break
        w_new = w + t * (v - w)
        done = abs(f - f_new) <= 1e-12 * max(f, 1e-300) or np.max(np.abs(w_new - w)) <= 1e-9 * np.max(w)
        w, f = w_new, f_new
        if done:
            break
    return w


def _exact_rmse(A: np.ndarray, s: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    pred = (A @ w) / (s @ w)
    return float(np.sqrt(np.mean((pred - y) ** 2)))


def _fit_at_radius(prs, nodes, fit_inplane_blur, smoothness, budget, seed, progress):
    from t2tcore.progress import bar

    rng = np.random.default_rng(seed)
    per_pair = max(256, budget // len(prs))
    samples = []
    for pr in bar(prs, desc="sampling pairs", enabled=progress):
        samples.append(_sample_pair(pr, nodes, per_pair, rng))
    if all(smp is None for smp in samples):
        return None
    used = [(pr, smp) for pr, smp in zip(prs, samples) if smp is not None]
    s = np.concatenate([smp.s for _, smp in used])
    y = np.concatenate([smp.y for _, smp in used])

    def design(sigma):
        return np.concatenate([_design(pr, smp, sigma) for pr, smp in used])

    sigma = 0.0
    if fit_inplane_blur:
        from scipy.optimize import minimize_scalar

        cache: dict[float, float] = {}

        def sse(sig: float) -> float:
            sig = float(sig)
            if sig not in cache:
                A = design(sig)
                cache[sig] = _nnls_fit(A, y, _penalty(A, s, y, smoothness))[1]
            return cache[sig]

        grid = np.arange(0.0, _SIGMA_MAX_PX + 1e-9, 0.25)
        vals = [sse(g) for g in bar(grid, desc="in-plane sigma", enabled=progress)]
        b = int(np.argmin(vals))
        lo, hi = grid[max(b - 1, 0)], grid[min(b + 1, grid.size - 1)]
        best = minimize_scalar(sse, bounds=(lo, hi), method="bounded", options={"xatol": 1e-3})
        sigma = float(best.x) if best.fun <= vals[b] else float(grid[b])
        if int(4.0 * sigma + 0.5) == 0:  # taps of radius 0 (sigma < 0.125): the identity
            sigma = 0.0
    A = design(sigma)
    P = _penalty(A, s, y, smoothness)
    c, _ = _nnls_fit(A, y, P)
    if not np.any(c > 0):
        raise ValueError("the fit found no positive kernel weight: are thin and thick volumes of the same object?")
    w = _refine(A, s, y, P, c)
    if not np.any(w > 0):  # pragma: no cover (refinement from a positive start)
        w = c
    return {
        "weights": w / w.max(),
        "sigma": sigma,
        "rmse": _exact_rmse(A, s, y, w),
        "n_samples": int(y.size),
        "n_thick_slices": int(sum(smp.n_thick for _, smp in used)),
        "n_pairs_used": len(used),
    }


def _check_nodes(n_nodes: int, max_samples: int) -> None:
    """Refuse a kernel with more nodes than the fit's matrices can hold in memory: the design
    and normaliser matrices (samples x nodes, a few copies) and the nodes x nodes normal
    equations."""
    from t2tcore.limits import check_fits

    check_fits(n_nodes, 8 * (4 * max_samples + 4 * n_nodes), "kernel nodes",
               "use a larger node spacing (0.25 mm by default) or a smaller radius")


def fit_slice_profile(
    pairs: Sequence[tuple[Any, Any, Any, Any]],
    *,
    radius_mm: float | None = None,
    node_spacing_mm: float = 0.25,
    fit_inplane_blur: bool = False,
    mask: Sequence[Any] | None = None,
    progress: bool = False,
    thickness: float | None = None,
    interval: float | None = None,
    meta: dict | None = None,
    smoothness: float = 1e-3,
    max_samples: int = 100_000,
    seed: int = 0,
) -> SliceProfile:
    """Fit the z-kernel that best maps thin to thick slices on paired scans of one protocol.

    See the module docstring for the model and the method.

    Parameters
    ----------
    pairs : sequence of (thin_volume, thin_positions, thick_volume, thick_positions)
        Paired scans: ``thin_volume`` (Z, Y, X) and ``thick_volume`` (Zt, Y, X) in HU of the
        same object with the same in-plane grid, and their slice positions in mm (any order,
        distinct) on the same axis. Not modified.
    radius_mm : float, optional
        Support radius of the kernel (mm). Default: 2.5 median thick spacings, grown while
        the fitted kernel has not fallen to 2 % of its peak at the radius.
    node_spacing_mm : float
        Distance between the kernel's nodes (mm), default 0.25.
    fit_inplane_blur : bool
        Also fit a 2-D Gaussian blur (0-3 pixels) of the simulated slices.
    mask : sequence of bool arrays, optional
        One per pair, shaped like its thick volume (None entries allowed): the voxels that
        may be sampled. Default: ``t2tcore.masks.body_mask`` of the thick slices (all
        voxels when it is empty).
    progress : bool
        Show progress bars (tqdm).
    thickness, interval : float, optional
        Nominal thick slice thickness and interval (mm) to record in the profile. Default
        interval: the median thick spacing when every pair has the same (within 1e-3 mm).
    meta : dict, optional
        Extra JSON-serialisable facts to record (patients, series UIDs, kernel...).
    smoothness : float
        Weight of the second-difference penalty relative to the data (default 1e-3).
    max_samples : int
        Voxels sampled over all pairs (default 100 000; memory ~ 8 (K + 1) bytes each).
    seed : int
        Seed of the voxel sampling.

    Returns
    -------
    SliceProfile
        Peak weight 1; ``meta`` holds ``residual_rmse`` (the exact model's RMSE at the
        sampled voxels, in the volumes' unit: HU), ``n_samples``, ``n_thick_slices``,
        ``n_pairs``, ``radius_mm``, ``node_spacing_mm``, ``smoothness``, ``fwhm_mm``,
        ``t2t_version`` and what ``meta`` gave.

    Raises
    ------
    ValueError
        On bad arguments, or when no thick slice has its whole kernel support inside the
        thin coverage (the radius is too large for the data).
    """
    from t2tcore import __version__

    prs = _check_pairs(pairs, mask)
    h = float(node_spacing_mm)
    if not (math.isfinite(h) and h > 0):
        raise ValueError(f"node_spacing_mm must be > 0, got {node_spacing_mm}")
    if smoothness < 0 or not math.isfinite(smoothness):
        raise ValueError(f"smoothness must be a finite number >= 0, got {smoothness}")
    if int(max_samples) < 256:
        raise ValueError(f"max_samples must be >= 256, got {max_samples}")
    spacings = [float(np.median(np.diff(p.thick_pos))) for p in prs if p.thick_pos.size > 1]
    if radius_mm is None:
        if not spacings:
            raise ValueError("every thick series has one slice: give radius_mm")
        radius, grow = 2.5 * float(np.median(spacings)), _MAX_GROWTH
    else:
        radius, grow = float(radius_mm), 0
        if not (math.isfinite(radius) and radius > 0):
            raise ValueError(f"radius_mm must be > 0, got {radius_mm}")
    if radius < h:
        raise ValueError(f"radius ({radius:g} mm) is smaller than the node spacing ({h:g} mm)")

    result, nodes = None, None
    for attempt in range(grow + 1):
        k = int(math.ceil(radius / h - 1e-9))
        _check_nodes(k + 1, int(max_samples))
        try_nodes = h * np.arange(k + 1)
        res = _fit_at_radius(prs, try_nodes, fit_inplane_blur, smoothness, int(max_samples), seed, progress)
        if res is None:
            if result is None:
                raise ValueError(
                    f"no thick slice has its whole kernel support (+-{try_nodes[-1]:g} mm) inside the thin coverage; "
                    "give a smaller radius_mm or longer thin series"
                )
            break  # keep the last radius that fitted
        result, nodes = res, try_nodes
        if attempt == grow or res["weights"][-1] <= _TAIL_FRACTION:
            break
        radius *= 1.5
    if interval is None and spacings and len(spacings) == len(prs) and np.ptp(spacings) <= 1e-3:
        interval = round(float(np.median(spacings)), 6)
    info = {
        "residual_rmse": round(result["rmse"], 6),
        "n_pairs": len(prs),
        "n_pairs_used": result["n_pairs_used"],
        "n_thick_slices": result["n_thick_slices"],
        "n_samples": result["n_samples"],
        "radius_mm": round(float(nodes[-1]), 6),
        "node_spacing_mm": h,
        "smoothness": smoothness,
        "fit_inplane_blur": bool(fit_inplane_blur),
        "t2t_version": __version__,
    }
    prof = SliceProfile(nodes, result["weights"], result["sigma"], thickness, interval, {**(meta or {}), **info})
    prof.meta["fwhm_mm"] = round(prof.fwhm_mm, 6)
    return prof


#: The old name of :func:`fit_slice_profile`.
fit_profile = fit_slice_profile
