"""Dose calibration and noise prediction of the virtual scanner.

This module owns how many photons a ray gets at a dose, and the noise that makes in a
reconstruction:

Dose calibration
    ``N0`` (unattenuated photons per ray, :func:`photons_per_ray`) is proportional to the
    dose (effective mAs). At 200 mAs it is set, for each geometry, so that a 300 mm water
    cylinder gives ``noise_ref_hu`` (default 12 HU) in its centre (20 mm radius) in a 3 mm
    B30 trapezoid reconstruction, computed by exact linear noise propagation through the
    z-filter, the ramp filter and the back-projection (:func:`predict_noise_sd`). 200 and
    50 mAs are the full and quarter dose of the AAPM-Mayo LDCT Grand Challenge.

The noise itself is drawn in :func:`t2tcore.scanner.acquisition.add_noise`. Noise SDs are
in HU, lengths in mm.
"""

from __future__ import annotations

import functools
import math
from dataclasses import replace

import numpy as np

from t2tcore.scanner.config import ReconConfig, ScannerConfig, _Geom
from t2tcore.scanner.filters import _nfft, kernel_response
from t2tcore.scanner.z_weighting import z_weight_variance_factor

__all__ = [
    "photons_per_ray",
    "predict_noise_sd",
]


#: Full dose, quality-reference mAs of the LDCT Grand Challenge (quarter dose: 50).
FULL_DOSE_MAS = 200.0

# Reference object of the dose calibration: a centred water cylinder of this diameter (mm),
# 3 mm B30 trapezoid slices.
_REF_DIAMETER_MM = 300.0
_REF_RECON = ("B30", 3.0, "trapezoid")
# Noise is predicted (and calibrated) as the mean variance over pixels within this radius (mm).
_ROI_MM = 20.0


def _bp_coefficients(g: _Geom, H: np.ndarray, x: float, y: float) -> np.ndarray:
    """(V2, n_bins) coefficients c such that the FBP value at (x, y) is sum c * P."""
    n = _nfft(g.nb)
    k = np.fft.irfft(H, n)  # filter impulse response (circular, zero-padded so no wrap)
    th = g.angles()
    u = (x * np.cos(th) + y * np.sin(th)) / g.pix + (g.nb - 1) / 2
    b0 = np.floor(u).astype(int)
    f = u - b0
    j = np.arange(g.nb)
    # q(b) = sum_j k[b - j] P(j);  value = pi/V2 sum_a [(1-f) q(b0) + f q(b0+1)]
    c = (1 - f)[:, None] * k[(b0[:, None] - j[None, :]) % n] + f[:, None] * k[(b0[:, None] + 1 - j[None, :]) % n]
    return c * (np.pi / g.V2)


def predict_noise_sd(config: ScannerConfig, recon: ReconConfig, mAs: float, fov_mm: float,
                     diameter_mm: float = _REF_DIAMETER_MM, n0: float | None = None) -> float:
    """Predicted noise SD (HU) in the centre of a centred water cylinder (RMS over the pixels
    within 20 mm of the centre).

    Linear propagation of Poisson noise (variance ``exp(p) / N0`` per ray, rays independent)
    through the z-filter (:func:`~t2tcore.scanner.z_weighting.z_weight_variance_factor`), the ramp filter and the
    linear-interpolation back-projection; electronic noise adds ``sigma_e^2 exp(2p) / N0^2``.

    Parameters
    ----------
    config : ScannerConfig
    recon : ReconConfig
    mAs : float
    fov_mm : float
        Image side (mm).
    diameter_mm : float
        Cylinder diameter (mm).
    n0 : float, optional
        Photons per unattenuated ray; default :func:`photons_per_ray`.
    """
    g = _Geom.of(config, fov_mm)
    if n0 is None:
        n0 = photons_per_ray(config, mAs, fov_mm)
    return math.sqrt(_variance_per_inverse_n0(config, g, recon.kernel, recon.thickness, recon.z_weighting,
                                              diameter_mm, n0)) * 1000 / config.mu_water


def _roi_pixels(g: _Geom, radius_mm: float, max_n: int = 32) -> np.ndarray:
    """(n, 2) x, y (mm) of up to ``max_n`` pixel centres within ``radius_mm`` of the centre."""
    c = g.grid()
    X, Y = np.meshgrid(c, c)
    r = np.hypot(X, Y).ravel()
    sel = np.nonzero(r <= max(radius_mm, 2.5 * g.pix))[0]
    sel = sel[np.linspace(0, sel.size - 1, min(max_n, sel.size)).round().astype(int)]
    return np.stack([X.ravel()[sel], Y.ravel()[sel]], 1)


def _variance_per_inverse_n0(cfg, g, kernel, thickness, kind, diameter, n0=1.0) -> float:
    H = kernel_response(kernel, g.pix, g.nb)[1]
    t = (np.arange(g.nb) - (g.nb - 1) / 2) * g.pix
    p = 2 * cfg.mu_water * np.sqrt(np.clip((diameter / 2) ** 2 - t**2, 0, None))
    var_ray = np.exp(p) / n0 + (cfg.electronic_noise**2) * np.exp(2 * p) / n0**2
    kap = z_weight_variance_factor(cfg, thickness, kind)
    v = np.mean([((_bp_coefficients(g, H, x, y) ** 2) * var_ray[None, :]).sum() for x, y in _roi_pixels(g, _ROI_MM)])
    return kap * float(v)


@functools.lru_cache(maxsize=64)
def _n0_ref(cfg: ScannerConfig, fov: float) -> float:
    g = _Geom.of(cfg, fov)
    kern, thick, kind = _REF_RECON
    c = replace(cfg, electronic_noise=0.0)
    v1 = _variance_per_inverse_n0(c, g, kern, thick, kind, _REF_DIAMETER_MM, 1.0)
    return v1 * (1000 / cfg.mu_water) ** 2 / cfg.noise_ref_hu**2


def photons_per_ray(config: ScannerConfig, mAs: float, fov_mm: float) -> float:
    """Unattenuated photons per ray ``N0`` at a dose of ``mAs``.

    ``N0 = N0_ref * mAs / 200`` with ``N0_ref`` set so that a 300 mm water cylinder at 200 mAs
    has ``config.noise_ref_hu`` of Poisson noise in its central 20 mm in 3 mm B30 trapezoid slices.
    """
    if not mAs > 0:
        raise ValueError(f"mAs must be > 0, got {mAs}")
    return _n0_ref(config, float(fov_mm)) * float(mAs) / FULL_DOSE_MAS
