"""z-weighting of the reconstruction and the slice sensitivity profile it makes.

This module owns how the rays of the helix are weighted along z to make a slice of a given
nominal thickness, and the model of the resulting slice sensitivity profile (SSP).

z-weighting
    ``h`` (:func:`z_weight`) is a trapezoid (default), triangle or Gaussian whose width is
    calibrated numerically (:func:`z_weight_width`, cached) so that the slice sensitivity
    profile -- row aperture, fine-z interpolation and helical sampling included -- has a
    FWHM equal to the nominal slice thickness (IEC 61223). :func:`slice_sensitivity_profile`
    gives the model SSP (the tests measure it with a thin disk); :func:`fwhm` measures a
    profile's width; :func:`z_weight_variance_factor` is the factor by which the z-filter
    scales the variance of one ray (noise ratios between thicknesses).

Distances are in mm; the weights are dimensionless, in [0, 1].
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch

from t2tcore.scanner.config import Z_WEIGHTINGS, ScannerConfig, _Geom

__all__ = [
    "z_weight",
    "fwhm",
    "z_weight_width",
    "slice_sensitivity_profile",
    "z_weight_variance_factor",
]


# Half-support of each z-weighting in units of its own FWHM (Gaussian truncated there).
_HALF_SUPPORT = {"trapezoid": 0.75, "triangle": 1.0, "gaussian": 1.25}


def z_weight(dz, width: float, kind: str = "trapezoid"):
    """z-weighting function ``h`` of the reconstruction.

    Parameters
    ----------
    dz : ndarray or torch.Tensor
        Distances ``z_ray - z_slice`` in mm.
    width : float
        FWHM of ``h`` itself (mm), as calibrated by :func:`z_weight_width`.
    kind : {"trapezoid", "triangle", "gaussian"}
        Trapezoid: ramps of width ``width/2`` (plateau ``width/2``, base ``1.5 width``);
        triangle: base ``2 width``; Gaussian: truncated at ``+-1.25 width``.

    Returns
    -------
    Same type and shape as ``dz``; weights in [0, 1].
    """
    if kind not in Z_WEIGHTINGS:
        raise ValueError(f"unknown z_weighting {kind!r}; known: {list(Z_WEIGHTINGS)}")
    if not width > 0:
        raise ValueError(f"width must be > 0 mm, got {width}")
    lib = torch if isinstance(dz, torch.Tensor) else np
    a = lib.abs(dz) / width
    if kind == "trapezoid":
        return lib.clip((0.75 - a) / 0.5, 0.0, 1.0)
    if kind == "triangle":
        return lib.clip(1.0 - a, 0.0, 1.0)
    g = lib.exp(-4.0 * math.log(2.0) * a * a)
    return lib.where(a <= _HALF_SUPPORT["gaussian"], g, lib.zeros_like(g))


def _tent_cdf(u):
    """Integral of the unit tent (support [-1, 1]) from -inf to u."""
    u = np.clip(u, -1.0, 1.0)
    return np.where(u < 0, 0.5 * (1 + u) ** 2, 1 - 0.5 * (1 - u) ** 2)


def _row_response(u: np.ndarray, w: float, dz: float) -> np.ndarray:
    """Row signal for a thin layer (one fine sample) at distance ``u`` (mm) from the row
    centre: the aperture average of the linear interpolant, ``(rect_w * tent_dz)(u) / w``."""
    return dz / w * (_tent_cdf((u + w / 2) / dz) - _tent_cdf((u - w / 2) / dz))


def _ray_pattern(cfg: ScannerConfig, reach: float, n_phase: int | None = 96) -> np.ndarray:
    """z offsets (mm) of the rays at one view angle relative to a slice, for evenly spread
    phases of the helix: (n_phase, n_rays), all rays within ``reach`` of the slice."""
    g = _Geom.of(cfg, 1.0)
    n_ph = g.V2 if n_phase is None else min(g.V2, n_phase)
    phase = np.arange(n_ph) * (g.half_feed / n_ph)
    c = cfg.row_offsets
    m_lo = math.floor((-reach - c[-1] - g.half_feed) / g.half_feed) - 1
    m_hi = math.ceil((reach - c[0]) / g.half_feed) + 1
    m = np.arange(m_lo, m_hi + 1)
    z = phase[:, None, None] + m[None, :, None] * g.half_feed + c[None, None, :]
    return z.reshape(n_ph, -1)


def _ssp_model(cfg: ScannerConfig, width: float, kind: str, u: np.ndarray, n_phase: int | None = 96) -> np.ndarray:
    hs = _HALF_SUPPORT[kind] * width
    z = _ray_pattern(cfg, hs + cfg.row_width, n_phase)
    h = z_weight(z, width, kind)
    s = h.sum(1, keepdims=True)
    if np.any(s <= 0):
        return np.full(u.shape, np.nan)
    h = h / s
    keep = np.any(h > 0, axis=0)
    z, h = z[:, keep], h[:, keep]
    # mean over phases of sum_rays h * row response (a few tens of ray slots)
    resp = _row_response(u[None, None, :] - z[:, :, None], cfg.row_width, cfg.dz_fine)
    return np.einsum("pr,pru->u", h, resp) / z.shape[0]


def fwhm(z: np.ndarray, profile: np.ndarray) -> float:
    """Full width at half maximum (same unit as ``z``) of a single-peaked profile.

    The half-maximum crossings are found by linear interpolation on each side of the peak
    (the profile's baseline is taken as 0).
    """
    z = np.asarray(z, dtype=np.float64)
    p = np.asarray(profile, dtype=np.float64)
    if z.shape != p.shape or z.ndim != 1 or z.size < 3:
        raise ValueError("z and profile must be 1-D arrays of the same length >= 3")
    if not np.any(np.isfinite(p)):
        return float("nan")
    i = int(np.nanargmax(p))
    half = p[i] / 2
    left = np.nonzero(p[:i] < half)[0]
    right = np.nonzero(p[i:] < half)[0]
    if left.size == 0 or right.size == 0:
        return float("nan")
    a = left[-1]
    b = i + right[0]
    za = z[a] + (half - p[a]) * (z[a + 1] - z[a]) / (p[a + 1] - p[a])
    zb = z[b - 1] + (half - p[b - 1]) * (z[b] - z[b - 1]) / (p[b] - p[b - 1])
    return float(zb - za)


def _ssp_grid(width: float, kind: str, cfg: ScannerConfig) -> np.ndarray:
    r = _HALF_SUPPORT[kind] * width + cfg.row_width + cfg.dz_fine + 0.1
    return np.arange(-r, r + 1e-9, 0.01)


@functools.lru_cache(maxsize=256)
def _width_cached(key: tuple, thickness: float, kind: str) -> float:
    cfg = ScannerConfig(n_rows=key[0], row_width=key[1], pitch=key[2], views_per_rot=key[3], dz_fine=key[4])

    def f(wd):
        u = _ssp_grid(wd, kind, cfg)
        return fwhm(u, _ssp_model(cfg, wd, kind, u))

    # the narrowest usable width: every phase must see at least one ray
    lo = 0.05
    while not np.isfinite(f(lo)):
        lo *= 1.25
        if lo > 10 * thickness:
            raise ValueError("z-weighting calibration failed: no ray coverage")
    f_lo = f(lo)
    if f_lo > thickness:
        raise ValueError(
            f"slice thickness {thickness:g} mm is below the thinnest this scanner can make "
            f"({f_lo:.2f} mm with {kind} weighting; rows of {cfg.row_width:g} mm)"
        )
    hi = max(thickness, 2 * lo)
    while f(hi) < thickness:
        hi *= 1.5
    for _ in range(40):  # bisection on a monotone function
        mid = 0.5 * (lo + hi)
        if f(mid) < thickness:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-4:
            break
    return 0.5 * (lo + hi)


def _zkey(cfg: ScannerConfig) -> tuple:
    return (int(cfg.n_rows), float(cfg.row_width), float(cfg.pitch), int(cfg.views), float(cfg.dz_fine))


def z_weight_width(config: ScannerConfig, thickness: float, z_weighting: str = "trapezoid") -> float:
    """FWHM (mm) of the z-weighting ``h`` that makes the slice sensitivity profile's FWHM
    equal to ``thickness``.

    Solved by bisection on the SSP model of :func:`slice_sensitivity_profile` (row aperture
    x fine-z interpolation x helical ray sampling, averaged over the view angles); cached.

    Raises
    ------
    ValueError
        If ``thickness`` is thinner than the scanner can make (about the row width).
    """
    if z_weighting not in Z_WEIGHTINGS:
        raise ValueError(f"unknown z_weighting {z_weighting!r}; known: {list(Z_WEIGHTINGS)}")
    if not thickness > 0:
        raise ValueError(f"thickness must be > 0 mm, got {thickness}")
    return _width_cached(_zkey(config), float(thickness), z_weighting)


def slice_sensitivity_profile(config: ScannerConfig, thickness: float, z_weighting: str = "trapezoid",
                              width: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Model slice sensitivity profile (response to a thin layer vs its z distance).

    Parameters
    ----------
    config : ScannerConfig
    thickness : float
        Nominal thickness (mm); selects the calibrated width unless ``width`` is given.
    z_weighting : str
    width : float, optional
        FWHM of ``h`` (mm) to use instead of the calibrated one.

    Returns
    -------
    z : (n,) ndarray of float64
        Layer position relative to the slice, mm (step 0.01 mm).
    ssp : (n,) ndarray of float64
        Profile normalised to a peak of 1.
    """
    wd = z_weight_width(config, thickness, z_weighting) if width is None else float(width)
    u = _ssp_grid(wd, z_weighting, config)
    s = _ssp_model(config, wd, z_weighting, u, n_phase=None)
    return u, s / np.nanmax(s)


def z_weight_variance_factor(config: ScannerConfig, thickness: float, z_weighting: str = "trapezoid") -> float:
    """Mean over view angles of ``sum h^2 / (sum h)^2`` for the calibrated z-weights.

    The variance of the z-filtered sinogram is this factor times the variance of one ray
    (rays are independent), so noise SD ratios between reconstructions of the same raw data
    are the square roots of ratios of this factor.
    """
    wd = z_weight_width(config, thickness, z_weighting)
    z = _ray_pattern(config, _HALF_SUPPORT[z_weighting] * wd + config.row_width, None)
    h = z_weight(z, wd, z_weighting)
    return float(np.mean((h**2).sum(1) / h.sum(1) ** 2))
