"""Thick-slice CT simulated from thin-slice CT: the paper's method and the baselines.

The proposed method (Tang, Xing, Yang, Section III-A/B) has two steps:

* **Algorithm 1** (position correction, :func:`thick_positions`): thick slices are placed at
  physical positions ``s, s + d, s + 2d, ...`` from the first thin position ``s`` to the last
  one ``e`` in steps of the slice interval ``d`` (mm).
* **Algorithm 2** (weighted average): each thick slice at ``p`` is the normalised weighted sum
  of the thin slices at ``l`` with the triangular weight ``g(p, l, t) = max(0, 1 - |p - l| / t)``
  where ``t`` is the thick slice thickness (mm).

Every method that works on physical positions (``proposed``, ``gaussian_z``, and any later
kernel, e.g. a measured one) is built the same way: a :class:`Kernel` (a symmetric weight as a
function of the z distance in mm, with a support radius) gives a :func:`weight_matrix`
between thin and thick positions, and :func:`apply_weights` applies it slice by slice in
bounded memory. Adding such a method is one entry in ``_KERNEL_METHODS``.

The baselines (``direct``, ``average``, ``gaussian``) are index based, as the paper describes
earlier work (Section II) and as its released code is described to do them: the thin slices
are cut into groups of ``k = round(thickness / thin_thickness)`` consecutive slices,
ignoring where the slices are. Their weights are also a matrix (:func:`group_weights`)
applied by the same :func:`apply_weights`.

All positions and thicknesses are in mm; images are float32 (HU) unless stated.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

__all__ = [
    "METHODS",
    "PROFILE_METHODS",
    "Kernel",
    "apply_weights",
    "blur_in_plane",
    "gaussian_kernel",
    "group_weights",
    "simulate_thick",
    "thick_positions",
    "triangle_kernel",
    "weight_matrix",
]

#: Every simulation method :func:`simulate_thick` knows that needs nothing but its thin
#: series (``calibrated`` also needs a measured profile: :data:`PROFILE_METHODS`).
METHODS = ("proposed", "direct", "average", "gaussian", "gaussian_z")

#: Methods that need ``profile=`` (a slice profile measured by :mod:`t2tcore.calibrate`).
PROFILE_METHODS = ("calibrated",)

#: FWHM of a Gaussian divided by its standard deviation, 2 sqrt(2 ln 2).
FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))

# Number of in-plane pixels handled per step of the numpy applier: a window of a few thin
# slices of this many pixels stays in the CPU cache while it is reused by neighbouring
# thick slices, so the volume is read from main memory about once.
_CHUNK = 1 << 15

# Chunks of image rows are spread over at most this many threads (numpy releases the GIL).
_MAX_THREADS = 8

# Algorithm 1 treats an end point within this many intervals of the grid as on the grid.
_GRID_TOL = 1e-9


# --------------------------------------------------------------------------------------
# Kernels and weights
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kernel:
    """A symmetric weighting function along z.

    Parameters
    ----------
    func : callable
        Maps a float64 array of absolute distances ``|p - l|`` (mm) to weights >= 0 of the
        same shape. Only called with distances ``<= radius``.
    radius : float
        Support radius in mm: thin slices farther than this from a thick slice get weight 0.
    name : str
        Short description, e.g. ``"triangle(t=3 mm)"`` (for plots and logs).
    """

    func: Callable[[np.ndarray], np.ndarray]
    radius: float
    name: str

    def __call__(self, dz: Any) -> np.ndarray:
        """Weights at signed distances ``dz`` (mm, any shape); 0 outside the support."""
        dz = np.abs(np.asarray(dz, dtype=np.float64))
        inside = dz <= self.radius
        w = np.zeros(dz.shape, dtype=np.float64)
        if np.any(inside):
            w[inside] = self.func(dz[inside])
        return w


def triangle_kernel(thickness: float) -> Kernel:
    """The paper's triangular weight ``g(p, l, t) = max(0, 1 - |p - l| / t)`` (Eq. 1).

    Parameters
    ----------
    thickness : float
        Thick slice thickness ``t`` in mm (> 0). The weight is 1 at ``p = l`` and reaches 0
        at ``|p - l| = t``: the triangle's full width at half maximum is ``t``.

    Returns
    -------
    Kernel
        With ``radius = thickness``.
    """
    t = _positive(thickness, "thickness")
    return Kernel(lambda a: np.maximum(0.0, 1.0 - a / t), t, f"triangle(t={t:g} mm)")


def gaussian_kernel(fwhm: float, truncate: float = 4.0) -> Kernel:
    """A Gaussian weight along z with a given full width at half maximum.

    Parameters
    ----------
    fwhm : float
        Full width at half maximum in mm (> 0); ``sigma = fwhm / (2 sqrt(2 ln 2))``.
    truncate : float, optional
        Support radius in standard deviations (as ``scipy.ndimage.gaussian_filter``);
        weights beyond it (< 3.4e-4 of the peak for 4) are dropped.

    Returns
    -------
    Kernel
        ``exp(-dz**2 / (2 sigma**2))`` (peak 1) with ``radius = truncate * sigma``.
    """
    f = _positive(fwhm, "fwhm")
    truncate = _positive(truncate, "truncate")
    sigma = f / FWHM_PER_SIGMA
    return Kernel(lambda a: np.exp(-0.5 * (a / sigma) ** 2), truncate * sigma, f"gaussian(FWHM={f:g} mm)")


def weight_matrix(thin_positions: Any, thick_positions: Any, kernel: Kernel, normalize: bool = True) -> np.ndarray:
    """Weights of every thin slice in every thick slice for a z-kernel.

    ``W[j, i] = kernel(thick_positions[j] - thin_positions[i])``, each row divided by its sum
    when ``normalize`` (Algorithm 2's normalisation by the total weight). Only the thin
    slices within ``kernel.radius`` of a thick slice are evaluated.

    Parameters
    ----------
    thin_positions : array_like, shape (n_thin,)
        Thin slice positions in mm, any order (columns follow this order).
    thick_positions : array_like, shape (n_thick,)
        Thick slice positions in mm, any order (rows follow this order).
    kernel : Kernel
        For example :func:`triangle_kernel` or :func:`gaussian_kernel`.
    normalize : bool, optional
        Divide each row by its total weight (default). Raw weights otherwise.

    Returns
    -------
    ndarray, shape (n_thick, n_thin), float64
        Mostly zeros: each row is non-zero only within ``kernel.radius`` of its position.

    Raises
    ------
    ValueError
        If ``normalize`` and some thick position has no thin slice with a non-zero weight
        (it lies outside the thin coverage, or in a gap wider than the kernel); the
        message lists those positions.
    """
    thin = np.asarray(thin_positions, dtype=np.float64).reshape(-1)
    thick = np.asarray(thick_positions, dtype=np.float64).reshape(-1)
    order = np.argsort(thin, kind="stable")
    thin_sorted = thin[order]
    lo = np.searchsorted(thin_sorted, thick - kernel.radius, side="left")
    hi = np.searchsorted(thin_sorted, thick + kernel.radius, side="right")
    w = np.zeros((thick.size, thin.size), dtype=np.float64)
    for j in range(thick.size):
        cols = order[lo[j] : hi[j]]
        w[j, cols] = kernel(thick[j] - thin[cols])
    if normalize:
        total = w.sum(axis=1)
        empty = np.flatnonzero(total <= 0)
        if empty.size:
            shown = ", ".join(f"{thick[j]:.6g}" for j in empty[:10]) + (" ..." if empty.size > 10 else "")
            raise ValueError(
                f"{empty.size} thick slice position(s) get no weight from any thin slice with the "
                f"{kernel.name} kernel (outside the thin coverage {thin.min():.6g}..{thin.max():.6g} mm "
                f"or in a gap): {shown} mm"
            )
        w /= total[:, None]
    return w


def group_weights(n_thin: int, k: int, mode: str = "mean") -> np.ndarray:
    """Weights of the index-based baselines: groups of ``k`` consecutive slices.

    Group ``g`` holds slices ``g*k, ..., g*k + k - 1`` (0-based, in position order). There
    are ``n_thin // k`` groups: an incomplete last group (``n_thin % k`` slices) is dropped,
    as reducing ``n`` slices to ``n // k`` does.

    Parameters
    ----------
    n_thin : int
        Number of thin slices.
    k : int
        Group size (>= 1).
    mode : {"mean", "centre"}
        ``"mean"``: weight ``1/k`` on each slice of the group (simple averaging).
        ``"centre"``: weight 1 on the centre slice ``g*k + k // 2`` (direct downsampling;
        for an even ``k`` the upper of the two middle slices).

    Returns
    -------
    ndarray, shape (n_thin // k, n_thin), float64
    """
    if k < 1 or n_thin < k:
        raise ValueError(f"cannot make groups of k={k} slices from {n_thin} thin slice(s)")
    n_groups = n_thin // k
    w = np.zeros((n_groups, n_thin), dtype=np.float64)
    for g in range(n_groups):
        if mode == "mean":
            w[g, g * k : (g + 1) * k] = 1.0 / k
        elif mode == "centre":
            w[g, g * k + k // 2] = 1.0
        else:
            raise ValueError(f"unknown group mode {mode!r}; valid: 'mean', 'centre'")
    return w


# --------------------------------------------------------------------------------------
# Applying weights
# --------------------------------------------------------------------------------------


def apply_weights(volume: Any, weights: np.ndarray) -> Any:
    """Thick slices as weighted sums of thin slices: ``out[j] = sum_i weights[j, i] * volume[i]``.

    Only the non-zero weights of each row are used, and the output is accumulated slice by
    slice (numpy: in chunks of pixels that stay in the CPU cache), so memory use is the
    output plus a few slices; neither a (n_thick, n_thin, Y, X) array nor a float64 copy of
    the volume is made.

    Parameters
    ----------
    volume : ndarray or torch.Tensor, shape (n_thin, Y, X)
        Thin slices, in the order of the columns of ``weights``. numpy: float32 (float64 is
        kept as float64; other dtypes are converted chunk by chunk to float32). torch: a
        floating tensor on any device (other dtypes become float32); the computation runs on
        that device.
    weights : ndarray, shape (n_thick, n_thin), float
        For example from :func:`weight_matrix` or :func:`group_weights`.

    Returns
    -------
    ndarray or torch.Tensor, shape (n_thick, Y, X)
        float32 (float64 for float64 input), same kind and device as ``volume``.
    """
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim != 2 or weights.shape[1] != volume.shape[0]:
        raise ValueError(f"weights of shape {weights.shape} do not match a volume of {volume.shape[0]} slices")
    if _is_torch(volume):
        return _apply_torch(volume, weights)
    return _apply_numpy(volume, weights)


def _plan(weights: np.ndarray, dtype) -> list:
    """Per thick slice: None (no weight), or (thin rows, weights) where rows is a slice when
    the non-zero weights are (nearly) contiguous and an index array when they are scattered
    (an input in no position order)."""
    plan = []
    for row in weights:
        idx = np.flatnonzero(row)
        if idx.size == 0:
            plan.append(None)
        elif idx[-1] - idx[0] + 1 <= 2 * idx.size:
            i0, i1 = int(idx[0]), int(idx[-1]) + 1
            plan.append((slice(i0, i1), np.asarray(row[i0:i1], dtype=dtype)))
        else:
            plan.append((idx, np.asarray(row[idx], dtype=dtype)))
    return plan


def _apply_numpy(volume: np.ndarray, weights: np.ndarray) -> np.ndarray:
    n_thick = weights.shape[0]
    _, ny, nx = volume.shape
    dtype = np.float64 if volume.dtype == np.float64 else np.float32
    out = np.empty((n_thick, ny, nx), dtype=dtype)
    plan = _plan(weights, dtype)
    step_rows = max(1, _CHUNK // max(nx, 1))

    def rows_chunk(y0: int) -> None:
        # every thick slice for image rows y0:y1; each output pixel is written by exactly
        # one call, so the result does not depend on the number of threads
        y1 = min(y0 + step_rows, ny)
        for j, item in enumerate(plan):
            dst = out[j, y0:y1].reshape(-1)  # a view: out is C-contiguous
            if item is None:
                dst[...] = 0
                continue
            rows, w = item
            # (b, rows, X) -> (b, rows*X): a view when each slice is C-contiguous in-plane,
            # otherwise a copy of this small block only
            block = volume[rows, y0:y1].reshape(w.size, -1)
            if block.dtype != dtype:
                block = block.astype(dtype)
            if w.size == 1:
                np.multiply(block[0], w[0], out=dst)
            else:
                np.dot(w, block, out=dst)  # BLAS gemv, releases the GIL

    starts = range(0, ny, step_rows)
    workers = min(_MAX_THREADS, os.cpu_count() or 1, len(starts))
    if workers > 1 and n_thick * ny * nx >= 1 << 22:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(rows_chunk, starts))
    else:
        for y0 in starts:
            rows_chunk(y0)
    return out


def _apply_torch(volume, weights: np.ndarray):
    import torch

    dtype = volume.dtype if volume.is_floating_point() else torch.float32
    out = torch.empty((weights.shape[0],) + tuple(volume.shape[1:]), dtype=dtype, device=volume.device)
    for j, item in enumerate(_plan(weights, np.float64)):
        if item is None:
            out[j] = 0
            continue
        rows, w = item
        if isinstance(rows, slice):
            block = volume[rows]
        else:
            block = volume.index_select(0, torch.as_tensor(rows, device=volume.device))
        wt = torch.as_tensor(w, dtype=dtype, device=volume.device)
        out[j] = torch.matmul(wt, block.to(dtype).reshape(wt.numel(), -1)).reshape(out.shape[1:])
    return out


def _gaussian_taps(sigma: float, truncate: float = 4.0) -> np.ndarray:
    """The 1-D taps ``scipy.ndimage.gaussian_filter`` uses (radius ``int(truncate*sigma+0.5)``)."""
    radius = int(truncate * float(sigma) + 0.5)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    taps = np.exp(-0.5 * (x / sigma) ** 2)
    return taps / taps.sum()


def blur_in_plane(volume: Any, sigma: float, inplace: bool = False) -> Any:
    """2-D Gaussian blur of every slice, as ``scipy.ndimage.gaussian_filter`` does it.

    Same taps (truncated at 4 sigma) and the same ``"reflect"`` border (``d c b a | a b c d``);
    no blur along z.

    Parameters
    ----------
    volume : ndarray or torch.Tensor, shape (Z, Y, X), float
        Images.
    sigma : float
        Standard deviation in pixels (>= 0; 0 returns the input unchanged).
    inplace : bool, optional
        Overwrite ``volume`` (used on freshly made output; saves memory).

    Returns
    -------
    ndarray or torch.Tensor, shape (Z, Y, X)
        Same dtype and device as ``volume``.
    """
    sigma = float(sigma)
    if not math.isfinite(sigma) or sigma < 0:
        raise ValueError(f"sigma must be a finite number >= 0 pixels, got {sigma}")
    out = volume if inplace else (volume.clone() if _is_torch(volume) else volume.copy())
    if sigma == 0 or out.shape[0] == 0:
        return out
    if _is_torch(out):
        return _blur_torch(out, sigma)
    from scipy.ndimage import gaussian_filter

    tmp = np.empty(out.shape[1:], dtype=out.dtype)
    for z in range(out.shape[0]):
        gaussian_filter(out[z], sigma, output=tmp, mode="reflect", truncate=4.0)
        out[z] = tmp
    return out


def _blur_torch(out, sigma: float):
    import torch

    taps = [float(v) for v in _gaussian_taps(sigma)]
    r = len(taps) // 2

    def reflect_index(n: int):
        i = np.arange(-r, n + r) % (2 * n)
        i = np.where(i >= n, 2 * n - 1 - i, i)
        return torch.as_tensor(i, device=out.device)

    def correlate(padded, dim: int, n: int):
        # sum_k taps[k] * padded shifted by k along dim: the separable filter as a few fused
        # multiply-adds (fast on CPU and GPU alike)
        acc = padded.narrow(dim, 0, n) * taps[0]
        for k in range(1, len(taps)):
            acc.add_(padded.narrow(dim, k, n), alpha=taps[k])
        return acc

    nz, ny, nx = out.shape
    iy, ix = reflect_index(ny), reflect_index(nx)
    for z0 in range(0, nz, 16):  # a few slices at a time: bounded memory
        blk = out[z0 : z0 + 16]
        blk = correlate(blk.index_select(1, iy), 1, ny)  # along y, then x, as scipy does
        out[z0 : z0 + blk.shape[0]] = correlate(blk.index_select(2, ix), 2, nx)
    return out


# --------------------------------------------------------------------------------------
# Algorithm 1 and the driver
# --------------------------------------------------------------------------------------


def thick_positions(start: float, end: float, interval: float) -> np.ndarray:
    """Algorithm 1: thick slice positions ``s, s + d, s + 2d, ...`` while ``s <= p <= e``.

    Positions are computed as ``p_k = s + k*d`` (no accumulated round-off), and an end
    point that lies on the grid up to float round-off (within 1e-9 intervals) is included
    and returned exactly as ``end``: ``thick_positions(0, 0.3, 0.1)`` has 4 positions.

    Parameters
    ----------
    start, end : float
        First and last thin slice positions ``s <= e`` (mm).
    interval : float
        Slice interval ``d`` (mm, > 0): the distance between consecutive thick slices.

    Returns
    -------
    ndarray, shape (n_thick,), float64
        Ascending positions in mm; ``n_thick = floor((e - s) / d) + 1``.
    """
    s = _finite(start, "start")
    e = _finite(end, "end")
    d = _positive(interval, "interval")
    if e < s:
        raise ValueError(f"end ({e} mm) must not be below start ({s} mm)")
    n = int(math.floor((e - s) / d + _GRID_TOL))
    p = s + np.arange(n + 1, dtype=np.float64) * d
    if abs(p[-1] - e) <= _GRID_TOL * d:
        p[-1] = e
    return p


# method -> kernel factory taking (thickness) in mm. A new physical-position method (e.g. a
# measured kernel) is one more entry here plus its name in METHODS.
_KERNEL_METHODS: dict[str, Callable[[float], Kernel]] = {
    "proposed": triangle_kernel,
    "gaussian_z": gaussian_kernel,
    "calibrated": lambda thickness: _needs_profile(),
}


def _needs_profile() -> Kernel:
    raise ValueError("method 'calibrated' needs profile= (a t2tcore.calibrate.ZProfile or its JSON path)")


def _profile_kernel(profile: Any, thickness: float) -> tuple[Kernel, float]:
    """Kernel and in-plane sigma (pixels) of a calibrated profile (a ZProfile or a JSON path).

    t2tcore.calibrate is imported here, not at module level: it builds on this module."""
    from t2tcore.calibrate import load_profile

    if profile is None:
        _needs_profile()
    prof = load_profile(profile)
    if prof.thickness is not None and abs(prof.thickness - thickness) > 0.01 * prof.thickness:
        raise ValueError(
            f"the profile was fitted for {prof.thickness:g} mm thick slices, not {thickness:g} mm "
            "(simulate with its thickness, or fit a profile for this one)"
        )
    return prof.kernel(), prof.inplane_sigma_px


_GROUP_METHODS = {"direct": "centre", "average": "mean", "gaussian": "mean"}


def simulate_thick(
    volume: Any,
    positions: Any,
    thickness: float,
    interval: float | None = None,
    method: str = "proposed",
    target_positions: Any = None,
    thin_thickness: float | None = None,
    sigma: float = 1.0,
    profile: Any = None,
) -> tuple[Any, Any]:
    """Simulate a thick-slice series from a thin-slice series.

    Every method returns honest physical positions, so that its slices can be paired with
    the slices of a real thick series by position.

    ``proposed``
        The paper's method: positions by Algorithm 1 (:func:`thick_positions` from the
        first to the last thin position in steps of ``interval``) or exactly
        ``target_positions``, and Algorithm 2: ``thick(p) = sum_l g(p,l,t) thin(l) /
        sum_l g(p,l,t)`` with the triangle ``g = max(0, 1 - |p - l| / t)``.
    ``gaussian_z``
        Same positions; a Gaussian weight along z with FWHM = ``thickness`` (truncated at
        4 sigma), normalised by the total weight.
    ``calibrated``
        Same positions; the kernel measured on paired scans of the protocol
        (``profile``, see :mod:`t2tcore.calibrate`), normalised by the total weight, then
        the profile's in-plane blur.
    ``direct``, ``average``, ``gaussian``
        The index-based baselines: groups of ``k = round(thickness / thin_thickness)``
        consecutive slices (halves round up; at least 1), ``n // k`` groups, an incomplete
        last group of ``n % k`` slices is dropped. ``direct`` takes the centre slice of each
        group (slice ``k // 2`` of the group), ``average`` the group mean, ``gaussian`` the
        group mean followed by an in-plane 2-D Gaussian blur of ``sigma`` pixels (what the
        paper's released code is reported to call Gaussian averaging;
        ``scipy.ndimage.gaussian_filter``, mode ``"reflect"``, truncated at 4 sigma).
        ``interval`` is not used (the groups set the spacing). Dropping the incomplete
        last group follows the paper's "n slices become n/k" (525 -> 175 for 1 -> 3 mm). The
        returned positions are honest physical positions: the mean position of each
        group's slices (``average``, ``gaussian``), or the position of the slice taken
        (``direct``).

    Parameters
    ----------
    volume : ndarray or torch.Tensor, shape (Z, Y, X)
        Thin slices in HU, float32 (numpy float64 is kept as float64). A torch tensor is
        processed with torch on its device, and torch tensors are returned. Never modified.
    positions : array_like, shape (Z,)
        Slice positions in mm along the slice normal, in any order (sorted internally; the
        volume's slices are taken in position order). Must be finite and distinct.
    thickness : float
        Thick slice thickness ``t`` in mm (> 0).
    interval : float, optional
        Thick slice interval ``d`` in mm (> 0). Required for ``proposed``/``gaussian_z``
        unless ``target_positions`` is given.
    method : str, optional
        One of :data:`METHODS` or :data:`PROFILE_METHODS`; default ``"proposed"``.
    target_positions : array_like, shape (n_thick,), optional
        ``proposed``/``gaussian_z`` only: compute the thick slices exactly at these positions
        (mm, kept in the given order), e.g. those of a real thick series, instead of
        Algorithm 1. Not accepted by the index-based methods, whose positions are fixed by
        their groups.
    thin_thickness : float, optional
        Index-based methods only: the thin slice thickness in mm used for ``k``. Default:
        the median spacing of ``positions``. (The ``t2t`` command passes the header's
        SliceThickness.)
    sigma : float, optional
        ``gaussian`` only: in-plane blur in pixels (>= 0), default 1.
    profile : ZProfile or str or Path, optional
        ``calibrated`` only (and required there): a measured slice profile
        (:class:`t2tcore.calibrate.ZProfile`) or the path of its JSON file. Its kernel
        replaces the triangle of Algorithm 2 (same positions, same normalisation), then its
        in-plane blur (``inplane_sigma_px``) is applied. ``thickness`` must match the
        profile's own thickness when it records one (1 % tolerance).

    Returns
    -------
    thick_volume : ndarray or torch.Tensor, shape (n_thick, Y, X)
        float32 (float64 for float64 numpy input).
    thick_positions : ndarray or torch.Tensor, shape (n_thick,), float64
        Positions in mm (ascending unless ``target_positions`` were given in another order);
        a float64 tensor on the volume's device for torch input.

    Raises
    ------
    ValueError
        On invalid arguments (non-3-D volume, length mismatch, non-finite or duplicate
        positions, thickness/interval <= 0, unknown method, non-finite targets) and when a
        target position gets no weight from any thin slice (outside the thin coverage).
    """
    is_torch = _is_torch(volume)
    if not is_torch:
        volume = np.asarray(volume)
    if volume.ndim != 3:
        raise ValueError(f"volume must be 3-D (Z, Y, X), got shape {tuple(volume.shape)}")
    if method not in METHODS + PROFILE_METHODS:
        raise ValueError(f"unknown method {method!r}; valid methods: {', '.join(METHODS + PROFILE_METHODS)}")
    if profile is not None and method != "calibrated":
        raise ValueError(f"profile= is for method 'calibrated', not {method!r}")
    n_thin = volume.shape[0]
    pos = _as_float64(positions)
    if pos.ndim != 1 or pos.size != n_thin:
        raise ValueError(f"positions must be 1-D with one entry per slice ({n_thin}), got shape {pos.shape}")
    if n_thin == 0:
        raise ValueError("volume has no slices")
    if not np.all(np.isfinite(pos)):
        raise ValueError("positions must be finite (no NaN or inf)")
    order = np.argsort(pos, kind="stable")
    sorted_pos = pos[order]
    dup = np.flatnonzero(np.diff(sorted_pos) <= 0)
    if dup.size:
        raise ValueError(
            f"positions must be distinct (strictly monotonic after sorting); {dup.size} duplicate(s), "
            f"first at {sorted_pos[dup[0]]:.6g} mm"
        )
    t = _positive(thickness, "thickness")
    if interval is not None:
        interval = _positive(interval, "interval")

    if method in _KERNEL_METHODS:
        if target_positions is not None:
            targets = _as_float64(target_positions).reshape(-1)
            if targets.size == 0:
                raise ValueError("target_positions is empty")
            if not np.all(np.isfinite(targets)):
                raise ValueError("target_positions must be finite (no NaN or inf)")
        elif interval is None:
            raise ValueError(f"method {method!r} needs an interval (mm) or target_positions")
        else:
            targets = thick_positions(sorted_pos[0], sorted_pos[-1], interval)
        if method == "calibrated":
            kernel, blur = _profile_kernel(profile, t)
        else:
            kernel, blur = _KERNEL_METHODS[method](t), 0.0
        w = weight_matrix(pos, targets, kernel)
        out = apply_weights(volume, w)
        if blur > 0:
            out = blur_in_plane(out, blur, inplace=True)
    else:
        s = _finite(sigma, "sigma") if method == "gaussian" else 0.0
        if s < 0:
            raise ValueError(f"sigma must be >= 0 pixels, got {s}")
        if target_positions is not None:
            raise ValueError(
                f"target_positions only works with the physical-position methods "
                f"({', '.join(_KERNEL_METHODS)}); {method!r} places its slices by index groups"
            )
        if thin_thickness is None:
            if n_thin < 2:
                raise ValueError("one thin slice has no spacing: pass thin_thickness")
            thin_t = float(np.median(np.diff(sorted_pos)))
        else:
            thin_t = _positive(thin_thickness, "thin_thickness")
        k = max(1, int(math.floor(t / thin_t + 0.5)))
        w_sorted = group_weights(n_thin, k, _GROUP_METHODS[method])
        if method == "direct":
            targets = sorted_pos[np.arange(w_sorted.shape[0]) * k + k // 2]
        else:
            targets = sorted_pos[: w_sorted.shape[0] * k].reshape(-1, k).mean(axis=1)
        w = np.zeros_like(w_sorted)
        w[:, order] = w_sorted  # back to the volume's own slice order
        out = apply_weights(volume, w)
        if method == "gaussian":
            out = blur_in_plane(out, s, inplace=True)

    if is_torch:
        import torch

        # float64 positions on the volume's device (on CPU for devices without float64, MPS)
        device = volume.device if volume.device.type != "mps" else "cpu"
        return out, torch.as_tensor(targets, dtype=torch.float64, device=device)
    return out, targets


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------


def _is_torch(x: Any) -> bool:
    return type(x).__module__.split(".")[0] == "torch"


def _as_float64(x: Any) -> np.ndarray:
    """A new float64 numpy array from array-like or tensor positions (never a view)."""
    if _is_torch(x):
        x = x.detach().cpu().numpy()
    return np.array(x, dtype=np.float64)


def _finite(value: Any, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v}")
    return v


def _positive(value: Any, name: str) -> float:
    v = _finite(value, name)
    if v <= 0:
        raise ValueError(f"{name} must be > 0 mm, got {v}")
    return v
