"""Z-weighting kernels and thin-to-thick weight matrices.

A :class:`Kernel` is a symmetric weight as a function of the z distance in mm with a
support radius. :func:`weight_matrix` turns a kernel into the normalised weights between
thin and thick slice positions (Algorithm 2 of the paper for the triangle);
:func:`group_weights` gives the index-based weights of the baselines; :func:`apply_weights`
applies any such matrix slice by slice in bounded memory; :func:`blur_in_plane` is the 2-D
Gaussian the ``gaussian`` baseline and calibrated profiles add in every slice.

Positions and thicknesses are in mm; images are float32 (HU) unless stated.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

__all__ = [
    "FWHM_PER_SIGMA",
    "Kernel",
    "apply_weights",
    "blur_in_plane",
    "gaussian_kernel",
    "group_weights",
    "triangle_kernel",
    "weight_matrix",
]

#: FWHM of a Gaussian divided by its standard deviation, 2 sqrt(2 ln 2).
FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))

# Number of in-plane pixels handled per step of the numpy applier: a window of a few thin
# slices of this many pixels stays in the CPU cache while it is reused by neighbouring
# thick slices, so the volume is read from main memory about once. 2**14 float32 pixels
# (64 KiB a slice) measured best with benchmarks/bench_simulate.py on 512 x 512 slices:
# larger windows fall out of the L2 cache, smaller ones pay more calls.
_CHUNK = 1 << 14

# Chunks of image rows are spread over at most this many threads (numpy releases the GIL).
_MAX_THREADS = 8



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
                # BLAS gemv, releases the GIL. matmul reads the block in place through its
                # row stride; np.dot first copies a block that is not C-contiguous, which
                # doubled the time of the whole apply (benchmarks/bench_simulate.py).
                np.matmul(w, block, out=dst)

    starts = range(0, ny, step_rows)
    workers = min(_MAX_THREADS, _n_cpus(), len(starts))
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
# helpers
# --------------------------------------------------------------------------------------


def _n_cpus() -> int:
    """CPUs this process may run on (its affinity mask, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


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

