"""The scanner's forward projector and back-projector, as sparse matrices applied with torch.

This module owns the two linear operators between an image slice and its V/2 parallel
projections in [0, pi):

Forward projector (``_projection_matrix``)
    Separable-footprint ("SF-TR") model: a square pixel's line integrals form a trapezoid
    in the detector coordinate (its chord lengths, area side^2), averaged exactly over each
    detector bin (a bin-averaged footprint table, linearly interpolated). The CSR system
    matrix over the object's support is built once per patient and applied to many fine z
    slices with ``torch.sparse.mm``, ~5-40x faster on 2 CPU cores than rotate-and-sum with
    ``grid_sample`` (see ``benchmarks/bench_scanner.py``).

Back-projector (``_backprojector``)
    Linear interpolation between detector bins, over the pixels inside the circular field
    of view (in tile order, for cache locality), values times ``pi / (V/2)``; cached per
    geometry and device.

Hand-written because no dependency of the project has them: scikit-image's ``radon`` /
``iradon`` rotate and interpolate on the CPU without a pixel footprint model, and neither
MONAI nor torch ships a CT projector. Lengths in mm; ``A @ mu`` (mu in 1/mm) gives
dimensionless line integrals.
"""

from __future__ import annotations

import functools
import math
import warnings

import numpy as np
import torch

from t2tcore.scanner.config import _Geom

__all__: list[str] = []


def _stable_argsort_rows(keys: torch.Tensor) -> torch.Tensor:
    """Stable argsort along dim 1 of small non-negative integer keys."""
    if keys.device.type == "cpu" and keys.dtype == torch.int16:
        # numpy's stable sort of int16 is a radix sort: ~10x faster than a comparison sort
        return torch.from_numpy(np.argsort(keys.numpy(), axis=1, kind="stable"))
    return torch.sort(keys, dim=1, stable=True).indices


_FOOT_LUT = 512  # steps of the bin-averaged footprint table per bin width


def _footprint_lut(g: _Geom, side: float, dev) -> tuple[torch.Tensor, int]:
    """Bin-averaged trapezoid footprint of a square pixel of side ``side`` (mm).

    Returns ``(lut, reach)``: ``lut[k + reach, a, j]`` is the mean chord length (mm) over
    bin ``b0 + k`` of a pixel whose centre lies at ``(b0 - 0.5 + j / _FOOT_LUT)`` bins, at
    angle ``a``; exact at the table points (float64), linearly interpolated in between.
    """
    th = g.angles()
    c, s = np.abs(np.cos(th)), np.abs(np.sin(th))
    a = side * np.maximum(c, s)
    # ramp width of the trapezoid = side * min(|cos|, |sin|); at least 2 % of a pixel
    # (within ~1 deg of the axes), which keeps the difference of squares well conditioned
    rho = np.maximum(side * np.minimum(c, s), 0.02 * side)
    p, q = (a + rho) / 2, (a - rho) / 2
    h = side * side / a
    reach = int(math.ceil(float(p.max()) / g.pix - 1e-9))

    def G(x):  # integral of the trapezoid from -inf to x (mm); arrays broadcast over angles
        r2 = lambda z: np.maximum(z, 0.0) ** 2
        return (h / (2 * rho))[:, None] * (r2(x + p[:, None]) - r2(x + q[:, None]) - r2(x - q[:, None]) + r2(x - p[:, None]))

    pos = (np.arange(_FOOT_LUT + 1) / _FOOT_LUT - 0.5) * g.pix  # pixel centre - centre of bin b0
    e = g.pix / 2
    lut = np.stack([(G(k * g.pix - pos[None, :] + e) - G(k * g.pix - pos[None, :] - e)) / g.pix
                    for k in range(-reach, reach + 1)])
    return torch.as_tensor(lut, dtype=torch.float32, device=dev), reach


def _projection_matrix(x: np.ndarray, y: np.ndarray, side: float, g: _Geom, dev: torch.device) -> torch.Tensor:
    """CSR matrix (V2 n_bins, n_points) projecting square pixels of side ``side`` (mm)
    centred at (x, y) onto the V2 angles in [0, pi).

    Separable-footprint ("SF-TR") model: a pixel's line integrals form a trapezoid in t
    (its chord lengths, area side^2), averaged over each detector bin. Entry values are in
    mm, so ``A @ mu`` (mu in 1/mm) gives dimensionless line integrals. Zero entries are
    dropped; within a row the columns are in increasing order.
    """
    th = torch.as_tensor(g.angles(), dtype=torch.float64, device=dev)
    cs = torch.stack([torch.cos(th), torch.sin(th)], 1).to(torch.float32) / g.pix  # (V2, 2)
    xy = torch.as_tensor(np.stack([x, y]), dtype=torch.float32, device=dev)  # (2, npt)
    npt = xy.shape[1]
    u = torch.mm(cs, xy).add_((g.nb - 1) / 2)  # (V2, npt) detector coordinate in bins (float32)
    b0 = torch.round(u)
    # position of the pixel centre inside its nearest bin -> lookup-table coordinate
    fi = u.sub_(b0).add_(0.5).mul_(_FOOT_LUT).clamp_(0, _FOOT_LUT - 1e-3)
    i0 = fi.to(torch.int32)
    fw = fi.sub_(i0)
    b0 = b0.to(torch.int16 if g.nb < 32000 else torch.int32)
    lut, reach = _footprint_lut(g, side, dev)  # (2 reach + 1, V2, _FOOT_LUT + 1)
    if int(b0.min()) - reach < 0 or int(b0.max()) + reach > g.nb - 1:
        raise ValueError("the detector does not cover the sampled object; increase n_bins")
    nk = 2 * reach + 1
    flat = i0.add_((torch.arange(g.V2, device=dev, dtype=torch.int32) * (_FOOT_LUT + 1))[:, None]).long()
    vals = torch.empty((g.V2, npt, nk), dtype=torch.float32, device=dev)
    keys = torch.empty((g.V2, npt, nk), dtype=b0.dtype, device=dev)
    for j in range(nk):
        lj = lut[j].reshape(-1)
        v0 = torch.take(lj, flat)
        vals[:, :, j] = torch.take(lj, flat + 1).sub_(v0).mul_(fw).add_(v0)
        keys[:, :, j] = b0 + (j - reach)
    del flat, fw, b0, u
    keys, vals = keys.reshape(g.V2, -1), vals.reshape(g.V2, -1)
    # entries (angle, point, k) with key = bin index b0 + k; a stable sort per angle keeps
    # the points (columns) in increasing order within each row
    order = _stable_argsort_rows(keys)
    keys = torch.gather(keys, 1, order).to(torch.int32).add_(
        (torch.arange(g.V2, device=dev, dtype=torch.int32) * g.nb)[:, None]).reshape(-1)  # CSR row
    vals = torch.gather(vals, 1, order).reshape(-1)
    keep = torch.nonzero(vals > 1e-7 * side).squeeze(1)  # drop the zero entries (once)
    cols = torch.div(order.reshape(-1).index_select(0, keep), nk, rounding_mode="floor").to(torch.int32)
    rows = keys.index_select(0, keep)
    crow = torch.zeros(g.V2 * g.nb + 1, dtype=torch.int64, device=dev)
    crow[1:] = torch.cumsum(torch.bincount(rows, minlength=g.V2 * g.nb), 0)
    return _csr(crow.to(torch.int32), cols, vals.index_select(0, keep), (g.V2 * g.nb, npt))


def _csr(crow, col, val, shape) -> torch.Tensor:
    with warnings.catch_warnings():  # "sparse CSR is in beta" / "invariant checks disabled"
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(crow, col, val, shape)


def _tile_order(n: int, tile: int = 16) -> np.ndarray:
    """Pixel indices (row-major flat) ordered tile by tile (cache locality of the BP)."""
    iy, ix = np.divmod(np.arange(n * n), n)
    key = ((iy // tile) * ((n + tile - 1) // tile) + ix // tile) * (tile * tile) + (iy % tile) * tile + ix % tile
    return np.argsort(key, kind="stable")


@functools.lru_cache(maxsize=2)
def _backprojector(g: _Geom, dev: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, pix): CSR (n_pix, V2 n_bins) linear-interpolation back-projector over the pixels
    inside the circular field of view (flat indices ``pix``, tile order), values x pi/V2."""
    c = g.grid()
    order = _tile_order(g.n)
    iy, ix = np.divmod(order, g.n)
    inside = c[ix] ** 2 + c[iy] ** 2 <= (g.fov / 2) ** 2
    pix = order[inside]
    iy, ix = np.divmod(pix, g.n)
    th = np.pi * np.arange(g.V2) / g.V2
    u = (c[ix][:, None] * np.cos(th)[None, :] + c[iy][:, None] * np.sin(th)[None, :]) / g.pix + (g.nb - 1) / 2
    b0 = np.floor(u)
    f = (u - b0).astype(np.float32)
    b0 = b0.astype(np.int64) + (np.arange(g.V2) * g.nb)[None, :]
    cols = np.stack([b0, b0 + 1], axis=2).reshape(len(pix), -1)
    s = np.float32(np.pi / g.V2)
    vals = np.stack([(1 - f) * s, f * s], axis=2).reshape(len(pix), -1)
    crow = np.arange(len(pix) + 1, dtype=np.int64) * (2 * g.V2)
    B = _csr(torch.from_numpy(crow.astype(np.int32)), torch.from_numpy(cols.reshape(-1).astype(np.int32)),
             torch.from_numpy(vals.reshape(-1)), (len(pix), g.V2 * g.nb)).to(dev)
    return B, torch.from_numpy(pix).to(dev)
