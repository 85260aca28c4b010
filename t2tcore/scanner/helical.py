"""A virtual multi-row helical CT scanner: thin and thick slices from the same raw data.

On a real scanner, thin and thick slices are two reconstructions of one set of projection
data that differ only in how the detector rows are weighted along z. This module does the
same with a simple, explicit physics model, so that the book's "real" thick slices come from
physics and not from any of the thick-slice simulation methods it compares.

Acquisition (:func:`project`, :func:`add_noise`, :func:`acquire`)
    Parallel-beam rebinned helical geometry without cone angle. View ``v`` has the angle
    ``theta_v = 2 pi v / V`` and the table (detector centre) at
    ``z_v = z_start + v * pitch * n_rows * row_width / V``; row ``r`` (centre offset
    ``c_r``) measures the line integral of mu averaged over its aperture
    ``[z_v + c_r - w/2, z_v + c_r + w/2]``. The phantom's mu is sampled on the image grid
    (optionally supersampled in-plane) at fine z steps (``dz_fine`` <= 0.2 mm), each fine
    slice is projected with a separable-footprint 2-D projector (square pixels, exact
    chord-length trapezoids averaged over each detector bin; a sparse system matrix over the
    object's support applied with ``torch.sparse.mm``, ~5-40x faster on 2 CPU cores than
    rotate-and-sum with ``grid_sample``, see ``benchmarks/bench_scanner.py``), and the
    projections are integrated exactly over each row's aperture, with linear interpolation
    between fine slices. Monochromatic Beer-Lambert: the counts are Poisson
    with mean ``N0 exp(-p)`` (plus optional Gaussian electronic noise) and the measured line
    integral is ``-ln(max(N, 1) / N0)``.

Dose calibration
    ``N0`` (unattenuated photons per ray) is proportional to the dose (effective mAs). At
    200 mAs it is set, for each geometry, so that a 300 mm water cylinder gives
    ``noise_ref_hu`` (default 12 HU) in its centre (20 mm radius) in a 3 mm B30 trapezoid reconstruction,
    computed by exact linear noise propagation through the z-filter, the ramp filter and
    the back-projection (:func:`predict_noise_sd`). 200 and 50 mAs are the full and quarter
    dose of the AAPM-Mayo LDCT Grand Challenge. Each dose is an independent noise
    realisation of the same noiseless line integrals.

Reconstruction (:func:`reconstruct`, :func:`reconstruct_many`)
    z-filtered, wFBP-style. For each slice at ``z_s`` and each of the ``V/2`` view angles in
    [0, pi), all rays with that angle -- direct (``theta``) and complementary
    (``theta + pi``, ``p(theta + pi, t) = p(theta, -t)``) rays of every row and rotation --
    are combined as ``P_s(theta, t) = sum h(z_ray - z_s) p / sum h``; then each slice is
    reconstructed by 2-D filtered back-projection with a kernel (:data:`KERNELS`: a smooth
    "B30"-like and a sharper "D45"-like one) and returned in HU,
    ``1000 (mu - mu_water) / mu_water``. Pixels outside the circular field of view are
    set to air (-1000 HU).

z-weighting
    ``h`` is a trapezoid (default), triangle or Gaussian whose width is calibrated
    numerically (:func:`z_weight_width`, cached) so that the slice sensitivity profile --
    row aperture, fine-z interpolation and helical sampling included -- has a FWHM equal
    to the nominal slice thickness (IEC 61223). :func:`slice_sensitivity_profile` gives the
    model SSP; the tests measure it with a thin disk.

Defaults (:class:`ScannerConfig`) are sized for the book's ``quick`` cohort (256^2, 100 mm
in well under a minute per patient on 2 CPU cores): 16 rows x 0.6 mm (a Siemens-like
collimation; 1 mm slices are still thicker than a row), pitch 15/16 (complementary rays
interleave, z-sampling 0.3 mm), ``2 ceil(1.125 n)`` views per rotation (1152 at 512^2),
bins as wide as a pixel covering the image diagonal, phantom sampled at pixel centres
every 0.2 mm. Memory: the fine-slice projections (V/2 x n_fine x n_bins floats) and the raw
data (n_views x n_rows x n_bins floats), about 2 GB in all at 256^2 and 100 mm.

Everything heavy runs in torch on ``device`` (default: CUDA when available, else CPU).
Positions and thicknesses are in mm, images are float32 HU, arrays are (Z, Y, X) with x
the column and y the row coordinate of the phantom (:meth:`t2tcore.scanner.phantoms.Phantom.grid`).
"""

from __future__ import annotations

import functools
import math
import time
import warnings
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Mapping, Sequence

import numpy as np
import torch

from t2tcore.progress import bar
from t2tcore.scanner.phantoms import MU_WATER

__all__ = [
    "KERNELS",
    "Z_WEIGHTINGS",
    "ScannerConfig",
    "ReconConfig",
    "RawData",
    "ScanResult",
    "project",
    "add_noise",
    "acquire",
    "reconstruct",
    "reconstruct_many",
    "scan",
    "photons_per_ray",
    "predict_noise_sd",
    "slice_sensitivity_profile",
    "fwhm",
    "z_weight",
    "z_weight_width",
    "z_weight_variance_factor",
    "kernel_response",
]

#: Reconstruction kernels: ramp x Hann window with cut-off ``cutoff`` (cycles/mm), times a
#: mid-frequency boost ``1 + boost sin^2(pi f / cutoff)``. The names mark the intent
#: (smooth soft-tissue "B30"-like, sharper "D45"-like), not a vendor's exact kernel.
KERNELS: dict[str, dict[str, float]] = {
    "B30": {"cutoff": 0.85, "boost": 0.0},
    "D45": {"cutoff": 1.40, "boost": 0.25},
}

#: z-weighting functions known to :func:`z_weight`.
Z_WEIGHTINGS = ("trapezoid", "triangle", "gaussian")

#: Full dose, quality-reference mAs of the LDCT Grand Challenge (quarter dose: 50).
FULL_DOSE_MAS = 200.0

# Half-support of each z-weighting in units of its own FWHM (Gaussian truncated there).
_HALF_SUPPORT = {"trapezoid": 0.75, "triangle": 1.0, "gaussian": 1.25}

# Reference object of the dose calibration: a centred water cylinder of this diameter (mm),
# 3 mm B30 trapezoid slices.
_REF_DIAMETER_MM = 300.0
_REF_RECON = ("B30", 3.0, "trapezoid")
# Noise is predicted (and calibrated) as the mean variance over pixels within this radius (mm).
_ROI_MM = 20.0

# Work sizes (columns of the sparse products, views per aperture step, slices per recon step).
_PROJ_COLS = 32
_APERTURE_VIEWS = 256
_RECON_SLICES = 16
_SAMPLE_VOXELS = 1 << 22
_NOISE_CHUNK = 1 << 22


# --------------------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScannerConfig:
    """Geometry, sampling and dose model of the virtual scanner.

    Parameters
    ----------
    image_size : int
        Reconstructed image matrix (pixels per side); the in-plane sampling grid of the phantom.
    fov_mm : float, optional
        Side of the square image (mm), centred at x = y = 0; the circular field of view is
        inscribed in it. Default: the phantom's ``fov_mm``.
    n_rows, row_width : int, float
        Detector rows and their width at the isocentre (mm).
    pitch : float
        Table feed per rotation / (n_rows * row_width), in (0, 2]. The default 15/16 makes
        the complementary rays fall half-way between the direct rays (z-sampling w/2).
    views_per_rot : int, optional
        Views per rotation (even). Default ``2 ceil(1.125 image_size)`` (1152 at 512).
    n_bins : int, optional
        Detector bins (odd; bin width = pixel size). Default: enough to cover the image
        diagonal.
    dz_fine : float
        z step (mm) at which the phantom is sampled and projected, <= 0.2.
    supersample : int
        In-plane supersampling of the phantom (1: pixel centres; 2: 2 x 2 points per pixel).
    overscan_mm : float
        Extra z (mm) beyond the planned range over which every view angle has rays, i.e. the
        largest half-support of a z-weighting that can be reconstructed at the range's ends.
    mu_water : float
        mu of water (1/mm) at the effective energy of the monochromatic beam.
    kvp : float
        Nominal tube voltage, recorded only (the beam is monochromatic at ``mu_water``).
    noise_ref_hu : float
        Noise SD (HU) at 200 mAs in the centre of a 300 mm water cylinder, 3 mm B30 slices;
        sets the photons per ray (see :func:`photons_per_ray`).
    electronic_noise : float
        SD of additive Gaussian electronic noise per ray, in photons (0: none).
    seed : int
        Default noise seed.
    """

    image_size: int = 256
    fov_mm: float | None = None
    n_rows: int = 16
    row_width: float = 0.6
    pitch: float = 0.9375
    views_per_rot: int | None = None
    n_bins: int | None = None
    dz_fine: float = 0.2
    supersample: int = 1
    overscan_mm: float = 4.0
    mu_water: float = MU_WATER
    kvp: float = 120.0
    noise_ref_hu: float = 12.0
    electronic_noise: float = 0.0
    seed: int = 0

    def __post_init__(self):
        if int(self.image_size) != self.image_size or self.image_size < 8:
            raise ValueError(f"image_size must be an integer >= 8, got {self.image_size}")
        if self.fov_mm is not None and not self.fov_mm > 0:
            raise ValueError(f"fov_mm must be > 0, got {self.fov_mm}")
        if int(self.n_rows) != self.n_rows or self.n_rows < 1:
            raise ValueError(f"n_rows must be a positive integer, got {self.n_rows}")
        if not self.row_width > 0:
            raise ValueError(f"row_width must be > 0 mm, got {self.row_width}")
        if not 0 < self.pitch <= 2:
            raise ValueError(f"pitch must be in (0, 2] (gap-free parallel helical sampling), got {self.pitch}")
        if self.views_per_rot is not None and (self.views_per_rot < 8 or self.views_per_rot % 2):
            raise ValueError(f"views_per_rot must be an even integer >= 8, got {self.views_per_rot}")
        if self.n_bins is not None and (self.n_bins < 8 or self.n_bins % 2 == 0):
            raise ValueError(f"n_bins must be an odd integer >= 9, got {self.n_bins}")
        if not 0 < self.dz_fine <= 0.2:
            raise ValueError(f"dz_fine must be in (0, 0.2] mm, got {self.dz_fine}")
        if int(self.supersample) != self.supersample or self.supersample < 1:
            raise ValueError(f"supersample must be a positive integer, got {self.supersample}")
        if not self.overscan_mm >= 0:
            raise ValueError(f"overscan_mm must be >= 0, got {self.overscan_mm}")
        if not self.mu_water > 0:
            raise ValueError(f"mu_water must be > 0 (1/mm), got {self.mu_water}")
        if not self.noise_ref_hu > 0:
            raise ValueError(f"noise_ref_hu must be > 0, got {self.noise_ref_hu}")
        if not self.electronic_noise >= 0:
            raise ValueError(f"electronic_noise must be >= 0, got {self.electronic_noise}")

    @property
    def views(self) -> int:
        """Views per rotation actually used."""
        return int(self.views_per_rot) if self.views_per_rot else 2 * math.ceil(1.125 * self.image_size)

    @property
    def bins(self) -> int:
        """Detector bins actually used (odd, centre bin at t = 0)."""
        if self.n_bins:
            return int(self.n_bins)
        return 2 * math.ceil(self.image_size * math.sqrt(2) / 2) + 5

    @property
    def feed_mm(self) -> float:
        """Table feed per rotation, mm."""
        return self.pitch * self.n_rows * self.row_width

    @property
    def row_offsets(self) -> np.ndarray:
        """(n_rows,) float64 z offsets (mm) of the row centres from the detector centre."""
        return (np.arange(self.n_rows) - (self.n_rows - 1) / 2) * self.row_width


@dataclass(frozen=True)
class ReconConfig:
    """One reconstruction of the raw data.

    Parameters
    ----------
    thickness : float
        Nominal slice thickness (mm) = FWHM of the slice sensitivity profile.
    increment : float
        Distance between slice positions (mm).
    kernel : str
        A key of :data:`KERNELS` ("B30", "D45").
    z_weighting : str
        "trapezoid" (default), "triangle" or "gaussian".
    z_range : (float, float), optional
        First and last slice position (mm); default: the raw data's planned range.
    """

    thickness: float = 1.0
    increment: float = 0.8
    kernel: str = "B30"
    z_weighting: str = "trapezoid"
    z_range: tuple[float, float] | None = None

    def __post_init__(self):
        if not self.thickness > 0:
            raise ValueError(f"thickness must be > 0 mm, got {self.thickness}")
        if not self.increment > 0:
            raise ValueError(f"increment must be > 0 mm, got {self.increment}")
        if self.kernel not in KERNELS:
            raise ValueError(f"unknown kernel {self.kernel!r}; known: {sorted(KERNELS)}")
        if self.z_weighting not in Z_WEIGHTINGS:
            raise ValueError(f"unknown z_weighting {self.z_weighting!r}; known: {list(Z_WEIGHTINGS)}")
        if self.z_range is not None:
            z0, z1 = (float(v) for v in self.z_range)
            if not z1 >= z0:
                raise ValueError(f"z_range must be (z0, z1) with z1 >= z0, got {self.z_range}")
            object.__setattr__(self, "z_range", (z0, z1))

    @property
    def label(self) -> str:
        """Short name, e.g. ``"1/0.8 mm B30 trapezoid"``."""
        return f"{self.thickness:g}/{self.increment:g} mm {self.kernel} {self.z_weighting}"

    def positions(self, default_range: tuple[float, float]) -> np.ndarray:
        """(n,) float64 slice positions (mm) from ``z_range`` (or ``default_range``)."""
        z0, z1 = self.z_range if self.z_range is not None else default_range
        n = int(math.floor((z1 - z0) / self.increment + 1e-9)) + 1
        return z0 + self.increment * np.arange(n)


# --------------------------------------------------------------------------------------
# geometry helpers
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Geom:
    n: int  # image size
    fov: float
    pix: float  # pixel size (mm) = bin width
    nb: int
    V: int
    V2: int
    delta: float  # table advance per view (mm)
    R: int
    w: float

    @staticmethod
    def of(cfg: ScannerConfig, fov: float) -> "_Geom":
        n = int(cfg.image_size)
        return _Geom(n, float(fov), float(fov) / n, cfg.bins, cfg.views, cfg.views // 2, cfg.feed_mm / cfg.views,
                     int(cfg.n_rows), float(cfg.row_width))

    @property
    def half_feed(self) -> float:
        return self.V2 * self.delta

    def angles(self) -> np.ndarray:
        """(V2,) angles (rad) of the reconstruction views in [0, pi)."""
        return np.pi * np.arange(self.V2) / self.V2

    def grid(self, sub: int = 1) -> np.ndarray:
        """Pixel (or sub-pixel) centre coordinates (mm), as Phantom.grid."""
        m = self.n * sub
        return (np.arange(m) - (m - 1) / 2) * (self.fov / m)


def _default_device(device) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


# --------------------------------------------------------------------------------------
# z-weighting, slice sensitivity profile and its calibration
# --------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------
# kernels (ramp filters)
# --------------------------------------------------------------------------------------


def _nfft(nb: int) -> int:
    """Smallest 2^a 3^b >= 2 nb (zero padding that avoids wrap-around; fast FFT sizes)."""
    best = 1 << math.ceil(math.log2(2 * nb))
    p3 = 1
    while p3 < best:
        n = p3 << max(0, math.ceil(math.log2(2 * nb / p3)))
        best = min(best, n)
        p3 *= 3
    return best


def kernel_response(kernel: str, pixel_mm: float, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Frequency response of a reconstruction filter.

    Parameters
    ----------
    kernel : str
        Key of :data:`KERNELS`.
    pixel_mm : float
        Detector bin width (mm).
    n_bins : int
        Detector bins (the filter is zero-padded to a length 2^a 3^b >= 2 n_bins).

    Returns
    -------
    f : ndarray, float64
        Non-negative frequencies (cycles/mm) of the real FFT.
    H : ndarray, float64
        Filter (1/mm): the discrete ramp of Kak & Slaney (no DC offset) times the bin width,
        times the kernel's apodisation window.
    """
    if kernel not in KERNELS:
        raise ValueError(f"unknown kernel {kernel!r}; known: {sorted(KERNELS)}")
    n = _nfft(n_bins)
    k = np.arange(n)
    k = np.where(k > n // 2, k - n, k)
    h = np.zeros(n)
    h[k == 0] = 1 / (4 * pixel_mm**2)
    odd = k % 2 == 1
    h[odd] = -1 / (np.pi * k[odd] * pixel_mm) ** 2
    ramp = pixel_mm * np.real(np.fft.rfft(h))
    f = np.fft.rfftfreq(n, d=pixel_mm)
    p = KERNELS[kernel]
    x = np.clip(f / p["cutoff"], 0, 1)
    win = 0.5 * (1 + np.cos(np.pi * x)) * (1 + p["boost"] * np.sin(np.pi * x) ** 2)
    return f, ramp * win


@functools.lru_cache(maxsize=16)
def _filter_cached(kernel: str, pixel_mm: float, n_bins: int, dev: str) -> torch.Tensor:
    return torch.as_tensor(kernel_response(kernel, pixel_mm, n_bins)[1], dtype=torch.float32, device=dev)


# --------------------------------------------------------------------------------------
# sparse projector and back-projector
# --------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------
# raw data
# --------------------------------------------------------------------------------------


@dataclass
class RawData:
    """Helical raw data: line integrals per view, row and bin, with their geometry.

    Attributes
    ----------
    config : ScannerConfig
    fov_mm : float
        Side of the image square (mm).
    p : torch.Tensor
        (n_views, n_rows, n_bins) float32 measured line integrals ``-ln(N/N0)`` (noiseless:
        the exact ones), on the device they were made on. View ``v`` has the angle
        ``2 pi v / V``; bin ``b`` is at ``t = (b - (n_bins-1)/2) * pixel_mm``.
    z_start : float
        Table position (detector centre) of view 0, mm; view ``v`` is at
        ``z_start + v * feed_mm / V``.
    z_range : (float, float)
        Planned reconstruction range (mm); default slice range.
    mAs : float or None
        Dose (effective mAs); None for noiseless data.
    n0 : float or None
        Unattenuated photons per ray.
    seed : int or None
        Noise seed.
    phantom : str
        Name of the scanned phantom.
    timings : dict
        Seconds spent: "phantom" (sampling), "projection" (incl. aperture integration),
        "noise".
    """

    config: ScannerConfig
    fov_mm: float
    p: torch.Tensor
    z_start: float
    z_range: tuple[float, float]
    mAs: float | None = None
    n0: float | None = None
    seed: int | None = None
    phantom: str = ""
    timings: dict = field(default_factory=dict)

    @property
    def geom(self) -> _Geom:
        return _Geom.of(self.config, self.fov_mm)

    @property
    def n_views(self) -> int:
        return int(self.p.shape[0])

    @property
    def pixel_mm(self) -> float:
        """Pixel size of the image grid and width of a detector bin (mm)."""
        return self.fov_mm / self.config.image_size

    @property
    def angles(self) -> np.ndarray:
        """(n_views,) view angles in radians."""
        return 2 * np.pi * np.arange(self.n_views) / self.config.views

    @property
    def table_positions(self) -> np.ndarray:
        """(n_views,) table positions (detector centre) in mm."""
        return self.z_start + np.arange(self.n_views) * (self.config.feed_mm / self.config.views)

    def sinogram(self, row: int | None = None) -> np.ndarray:
        """Line integrals as numpy float32: (n_views, n_bins) of one row, or all rows."""
        a = self.p if row is None else self.p[:, row]
        return a.detach().to("cpu").numpy()

    def covered_range(self, half_support: float) -> tuple[float, float]:
        """Slice positions (mm) whose z-window ``+-half_support`` has rays at every angle."""
        g = self.geom
        c = self.config.row_offsets
        m = self.n_views // g.V2
        lo = self.z_start + (g.V2 - 1) * g.delta + c[0] - g.w / 2
        hi = self.z_start + (m - 1) * g.V2 * g.delta + c[-1] + g.w / 2
        return lo + half_support, hi - half_support


def _plan(cfg: ScannerConfig, g: _Geom, z_range) -> tuple[float, int, np.ndarray]:
    """Table start, number of views and the fine z grid for a planned slice range."""
    z0, z1 = z_range
    H = cfg.overscan_mm
    c = cfg.row_offsets
    z_start = z0 - H - c[0] - (g.V2 - 1) * g.delta
    m = math.ceil((z1 + H - c[-1] - z_start) / g.half_feed - 1e-9) + 1
    n_views = m * g.V2
    z_last = z_start + (n_views - 1) * g.delta
    dz = cfg.dz_fine
    k0 = math.floor((z_start + c[0] - g.w / 2) / dz) - 1
    k1 = math.ceil((z_last + c[-1] + g.w / 2) / dz) + 1
    return z_start, n_views, dz * np.arange(k0, k1 + 1)


def project(phantom, config: ScannerConfig = ScannerConfig(), z_range: tuple[float, float] | None = None,
            device=None, progress: bool = False) -> RawData:
    """Noiseless helical acquisition: exact (model) line integrals of every view and row.

    Parameters
    ----------
    phantom : object
        Has ``z_extent`` (mm), ``fov_mm`` and ``mu(x, y, z, mu_water=...)`` -> (nz, ny, nx)
        float32 1/mm (see :mod:`t2tcore.scanner.phantoms`).
    config : ScannerConfig
    z_range : (float, float), optional
        Planned slice range (mm). Default: the phantom's ``z_extent`` shrunk so that the
        irradiated range stays inside it.
    device : str or torch.device, optional
        Default CUDA when available, else CPU.
    progress : bool
        Show a progress bar.

    Returns
    -------
    RawData
        With ``mAs = None`` (noiseless).
    """
    for name in ("z_extent", "fov_mm", "mu"):
        if not hasattr(phantom, name):
            raise ValueError(f"phantom must have a {name!r} attribute (see t2tcore.scanner.phantoms)")
    dev = _default_device(device)
    fov = float(config.fov_mm if config.fov_mm is not None else phantom.fov_mm)
    g = _Geom.of(config, fov)
    if z_range is None:
        margin = config.overscan_mm + g.half_feed + g.R * g.w + 2 * config.dz_fine
        z_range = (phantom.z_extent[0] + margin, phantom.z_extent[1] - margin)
        if z_range[1] < z_range[0]:
            raise ValueError(f"phantom z_extent {phantom.z_extent} is too short for this scanner "
                             f"(needs > {2 * margin:.1f} mm); pass z_range")
    z_range = (float(z_range[0]), float(z_range[1]))
    if not z_range[1] >= z_range[0]:
        raise ValueError(f"z_range must be (z0, z1) with z1 >= z0, got {z_range}")
    z_start, n_views, zf = _plan(config, g, z_range)
    timings = {"phantom": 0.0, "projection": 0.0}

    # 1) sample mu at the fine z steps
    t0 = time.perf_counter()
    S = int(config.supersample)
    xs = g.grid(S)
    mu = np.empty((zf.size, xs.size * xs.size), dtype=np.float32)
    step = max(1, _SAMPLE_VOXELS // (xs.size * xs.size))
    for k in bar(range(0, zf.size, step), desc="phantom", enabled=progress):
        mu[k : k + step] = phantom.mu(xs, xs, zf[k : k + step], mu_water=config.mu_water).reshape(-1, xs.size**2)
    timings["phantom"] += time.perf_counter() - t0

    # 2) project the support of the object, all fine slices, V/2 angles in [0, pi)
    t0 = time.perf_counter()
    support = np.nonzero(mu.max(0) > 0)[0]
    P = torch.zeros((g.V2, zf.size, g.nb), dtype=torch.float32, device=dev)
    if support.size:
        iy, ix = np.divmod(support, xs.size)
        A = _projection_matrix(xs[ix], xs[iy], fov / (g.n * S), g, dev)
        X = torch.from_numpy(np.ascontiguousarray(mu[:, support].T))  # (n_support, n_fine)
        del mu
        for k in bar(range(0, zf.size, _PROJ_COLS), desc="projection", enabled=progress):
            xk = X[:, k : k + _PROJ_COLS].contiguous().to(dev)
            P[:, k : k + xk.shape[1], :] = torch.sparse.mm(A, xk).reshape(g.V2, g.nb, -1).transpose(1, 2)
        del A, X
    else:
        del mu

    # 3) integrate over each row's aperture (linear interpolation between fine slices)
    Pf = P.reshape(g.V2 * zf.size, g.nb)
    c = torch.as_tensor(config.row_offsets, dtype=torch.float64, device=dev)
    nk = int(math.ceil(g.w / config.dz_fine - 1e-9)) + 2
    jj = torch.arange(nk, device=dev)
    p = torch.empty((n_views, g.R, g.nb), dtype=torch.float32, device=dev)
    for v0 in bar(range(0, n_views, _APERTURE_VIEWS), desc="apertures", enabled=progress):
        v = torch.arange(v0, min(n_views, v0 + _APERTURE_VIEWS), device=dev)
        zc = z_start + v.to(torch.float64)[:, None] * g.delta + c[None, :]  # (nv, R) row centres
        za = zc - g.w / 2
        k = torch.floor((za - zf[0]) / config.dz_fine).to(torch.int64)[..., None] + jj  # (nv, R, nk)
        zk = zf[0] + k.to(torch.float64) * config.dz_fine
        wts = _row_weights(zc[..., None] - zk, g.w, config.dz_fine)
        a = (v % g.V2)[:, None, None]
        rows = Pf.index_select(0, (a * zf.size + k.clamp(0, zf.size - 1)).reshape(-1)).reshape(-1, nk, g.nb)
        pv = torch.bmm(wts.to(torch.float32).reshape(-1, 1, nk), rows).reshape(len(v), g.R, g.nb)
        odd = ((v // g.V2) % 2 == 1)
        pv[odd] = pv[odd].flip(-1)  # theta + pi: p(theta + pi, t) = p(theta, -t)
        p[v0 : v0 + len(v)] = pv
    del P, Pf
    _sync(dev)
    timings["projection"] += time.perf_counter() - t0
    return RawData(config, fov, p, float(z_start), z_range, None, None, None,
                   getattr(phantom, "name", type(phantom).__name__), timings)


def _row_weights(u: torch.Tensor, w: float, dz: float) -> torch.Tensor:
    """Torch version of :func:`_row_response`: weight of a fine sample at distance u (mm)
    from a row centre in that row's aperture average."""

    def cdf(x):
        x = x.clamp(-1.0, 1.0)
        return torch.where(x < 0, 0.5 * (1 + x) ** 2, 1 - 0.5 * (1 - x) ** 2)

    return dz / w * (cdf((u + w / 2) / dz) - cdf((u - w / 2) / dz))


# --------------------------------------------------------------------------------------
# dose and noise
# --------------------------------------------------------------------------------------


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
    through the z-filter (:func:`z_weight_variance_factor`), the ramp filter and the
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


def _seed_int(seed) -> int:
    return int(np.random.SeedSequence(seed).generate_state(1, np.uint64)[0] >> np.uint64(1))


def add_noise(raw: RawData, mAs: float, seed: int | None = None) -> RawData:
    """A noisy acquisition at ``mAs`` of the noiseless ``raw`` (which is not modified).

    Counts ``N ~ Poisson(N0 exp(-p))`` (+ Gaussian electronic noise), measured line integral
    ``-ln(max(N, 1) / N0)``. The noise stream is seeded by ``(seed, mAs)``, so two doses
    with the same seed are independent realisations and the same call gives the same data.
    """
    if raw.mAs is not None:
        raise ValueError("add_noise needs noiseless raw data (from project)")
    t0 = time.perf_counter()
    cfg = raw.config
    seed = cfg.seed if seed is None else int(seed)
    n0 = photons_per_ray(cfg, mAs, raw.fov_mm)
    dev = raw.p.device
    base = _seed_int([seed, int(round(float(mAs) * 1000))])
    out = torch.empty_like(raw.p)
    flat_in, flat_out = raw.p.reshape(-1), out.reshape(-1)
    sigma_e = float(cfg.electronic_noise)

    def chunk(i: int) -> None:  # fixed chunks, each with its own seeded generator
        gen = torch.Generator(device=dev)
        gen.manual_seed(_seed_int([base, i]))
        sl = slice(i * _NOISE_CHUNK, (i + 1) * _NOISE_CHUNK)
        n = torch.poisson(torch.exp(-flat_in[sl]).mul_(n0), generator=gen)
        if sigma_e > 0:
            n += sigma_e * torch.randn(n.shape, generator=gen, device=dev)
        flat_out[sl] = torch.log(n.clamp_(min=1.0).div_(n0)).neg_()

    n_chunks = -(-flat_in.numel() // _NOISE_CHUNK)
    if dev.type == "cpu" and torch.get_num_threads() > 1:
        # torch.poisson runs on one core; chunks in threads use them all (the GIL is released)
        with ThreadPoolExecutor(torch.get_num_threads()) as ex:
            list(ex.map(chunk, range(n_chunks)))
    else:
        for i in range(n_chunks):
            chunk(i)
    _sync(dev)
    timings = dict(raw.timings)
    timings["noise"] = timings.get("noise", 0.0) + time.perf_counter() - t0
    return replace(raw, p=out, mAs=float(mAs), n0=n0, seed=seed, timings=timings)


def acquire(phantom, config: ScannerConfig = ScannerConfig(), mAs: float | None = FULL_DOSE_MAS,
            seed: int | None = None, z_range: tuple[float, float] | None = None, device=None,
            progress: bool = False) -> RawData:
    """Helical scan of ``phantom`` at ``mAs`` (None: noiseless); :func:`project` + :func:`add_noise`."""
    raw = project(phantom, config, z_range=z_range, device=device, progress=progress)
    return raw if mAs is None else add_noise(raw, mAs, seed)


# --------------------------------------------------------------------------------------
# reconstruction
# --------------------------------------------------------------------------------------


def _by_angle(raw: RawData) -> torch.Tensor:
    """(V2, M n_rows, n_bins): rays regrouped by angle in [0, pi) (complementary rays flipped)."""
    g = raw.geom
    m = raw.n_views // g.V2
    d = raw.p.reshape(m, g.V2, g.R, g.nb).clone()
    d[1::2] = d[1::2].flip(-1)
    return d.permute(1, 0, 2, 3).reshape(g.V2, m * g.R, g.nb).contiguous()


def reconstruct(raw: RawData, recon: ReconConfig = ReconConfig(), device=None, progress: bool = False,
                timings: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Reconstruct slices from helical raw data (z-filtered FBP).

    Parameters
    ----------
    raw : RawData
    recon : ReconConfig
    device : optional
        Default: the device of ``raw.p``.
    progress : bool
    timings : dict, optional
        If given, the seconds spent are added under "reconstruction".

    Returns
    -------
    volume : (Z, Y, X) ndarray of float32
        HU; air (-1000) outside the circular field of view.
    positions : (Z,) ndarray of float64
        Slice positions (mm).
    """
    return reconstruct_many(raw, [recon], device=device, progress=progress, timings=timings)[0]


def reconstruct_many(raw: RawData, recons: Sequence[ReconConfig], device=None, progress: bool = False,
                     timings: dict | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Several reconstructions of the same raw data, sharing the z-filtering of recons
    that differ only in the kernel and back-projecting them together.

    Returns a list of ``(volume, positions)`` in the order of ``recons`` (see
    :func:`reconstruct`).
    """
    t_start = time.perf_counter()
    recons = list(recons)
    for r in recons:
        if not isinstance(r, ReconConfig):
            raise ValueError(f"recons must be ReconConfig objects, got {type(r).__name__}")
    dev = raw.p.device if device is None else torch.device(device)
    cfg, g = raw.config, raw.geom
    groups: dict[tuple, list[int]] = {}
    for i, r in enumerate(recons):
        groups.setdefault((r.thickness, r.increment, r.z_weighting, r.z_range), []).append(i)
    out: list = [None] * len(recons)
    D = _by_angle(raw).to(dev)
    m_tot = raw.n_views // g.V2
    c = torch.as_tensor(cfg.row_offsets, dtype=torch.float64, device=dev)
    a = torch.arange(g.V2, device=dev, dtype=torch.float64)
    mm = torch.arange(m_tot, device=dev, dtype=torch.float64)
    # ray z (V2, M, R)
    zr = raw.z_start + (mm[None, :, None] * g.V2 + a[:, None, None]) * g.delta + c[None, None, :]
    B, pix = _backprojector(g, str(dev))
    nfft = _nfft(g.nb)
    for (thick, inc, kind, _zr), idx in groups.items():
        r0 = recons[idx[0]]
        pos = r0.positions(raw.z_range)
        width = z_weight_width(cfg, thick, kind)
        hs = _HALF_SUPPORT[kind] * width
        lo, hi = raw.covered_range(hs)
        if pos[0] < lo - 1e-6 or pos[-1] > hi + 1e-6:
            raise ValueError(
                f"slices {pos[0]:.2f}..{pos[-1]:.2f} mm with {thick:g} mm {kind} weighting need raw data "
                f"covering {lo:.2f}..{hi:.2f} mm at every angle; acquire a larger z_range or raise overscan_mm"
            )
        kernels = [recons[i].kernel for i in idx]
        filt = torch.stack([_filter_cached(k, g.pix, g.nb, str(dev)) for k in kernels])  # (K, nfft/2+1)
        K = len(kernels)
        vols = np.empty((K, pos.size, g.n * g.n), dtype=np.float32)
        for s0 in bar(range(0, pos.size, _RECON_SLICES), desc=f"recon {thick:g} mm", enabled=progress):
            zs = torch.as_tensor(pos[s0 : s0 + _RECON_SLICES], dtype=torch.float64, device=dev)
            ns = zs.numel()
            # half-rotations with rays inside any window of this chunk
            zmin = raw.z_start + mm * g.half_feed + c[0]
            zmax = zmin + (g.V2 - 1) * g.delta + (c[-1] - c[0])
            sel = torch.nonzero((zmax >= zs[0] - hs) & (zmin <= zs[-1] + hs)).flatten()
            m0, m1 = int(sel[0]), int(sel[-1]) + 1
            W = z_weight(zr[:, m0:m1, :].reshape(g.V2, 1, -1) - zs[None, :, None], width, kind)  # (V2, ns, nm R)
            norm = W.sum(-1, keepdim=True)
            if bool((norm <= 0).any()):
                raise ValueError("a slice has no rays in its z-window at some angle (increase overscan_mm)")
            W = (W / norm).to(torch.float32)
            Ps = torch.bmm(W, D[:, m0 * g.R : m1 * g.R, :])  # (V2, ns, nb)
            F = torch.fft.rfft(Ps, n=nfft, dim=-1)
            Q = torch.fft.irfft(F[None] * filt[:, None, None, :], n=nfft, dim=-1)[..., : g.nb]  # (K, V2, ns, nb)
            Qm = Q.permute(1, 3, 0, 2).reshape(g.V2 * g.nb, K * ns).contiguous()
            img = torch.sparse.mm(B, Qm).mul_(1000.0 / cfg.mu_water).sub_(1000.0)  # (n_pix, K ns) HU
            full = torch.full((g.n * g.n, K * ns), -1000.0, dtype=torch.float32, device=dev)
            full.index_copy_(0, pix, img)  # air outside the circular field of view
            vols[:, s0 : s0 + ns] = full.T.reshape(K, ns, -1).cpu().numpy()
        for j, i in enumerate(idx):
            out[i] = (vols[j].reshape(pos.size, g.n, g.n), pos.copy())
    _sync(dev)
    if timings is not None:
        timings["reconstruction"] = timings.get("reconstruction", 0.0) + time.perf_counter() - t_start
    return out


# --------------------------------------------------------------------------------------
# convenience: one phantom, several doses and reconstructions
# --------------------------------------------------------------------------------------


@dataclass
class ScanResult:
    """Reconstructions of one phantom at several doses.

    Attributes
    ----------
    volumes : dict
        ``(dose_name, ReconConfig) -> (Z, Y, X) float32 HU``.
    positions : dict
        ``ReconConfig -> (Z,) float64`` slice positions (mm).
    raw : dict
        ``dose_name -> RawData`` each dose's noisy raw data (all recons of a dose come from it).
    pixel_mm : float
    timings : dict
        Seconds: "phantom", "projection", "noise", "reconstruction", "total".
    """

    volumes: dict
    positions: dict
    raw: dict
    pixel_mm: float
    timings: dict


def scan(phantom, config: ScannerConfig = ScannerConfig(), recons: Sequence[ReconConfig] = (ReconConfig(),),
         doses: Mapping[str, float] | Sequence[float] = None, seed: int | None = None,
         z_range: tuple[float, float] | None = None, device=None, progress: bool = True,
         keep_raw: bool = True) -> ScanResult:
    """Scan once per dose and reconstruct every ``recon`` from each dose's raw data.

    The noiseless line integrals are computed once; each dose is an independent Poisson
    realisation of them (seeded by ``seed`` and the dose), like two scans of the same
    patient in the same geometry.

    Parameters
    ----------
    phantom : object
        See :func:`project`.
    config : ScannerConfig
    recons : sequence of ReconConfig
    doses : mapping name -> mAs, or sequence of mAs, optional
        Default ``{"full": 200, "quarter": 50}``. An mAs of None gives noiseless data.
    seed : int, optional
        Default ``config.seed``.
    z_range, device, progress
        See :func:`project`.
    keep_raw : bool
        Keep each dose's RawData in the result (memory: n_views x n_rows x n_bins floats each).
    """
    t0 = time.perf_counter()
    if doses is None:
        doses = {"full": FULL_DOSE_MAS, "quarter": FULL_DOSE_MAS / 4}
    if not isinstance(doses, Mapping):
        doses = {(f"{d:g}mAs" if d is not None else "noiseless"): d for d in doses}
    seed = config.seed if seed is None else int(seed)
    recons = list(recons)
    if not recons:
        raise ValueError("recons must name at least one ReconConfig")
    clean = project(phantom, config, z_range=z_range, device=device, progress=progress)
    timings = {"phantom": clean.timings["phantom"], "projection": clean.timings["projection"], "noise": 0.0,
               "reconstruction": 0.0}
    volumes, positions, raws = {}, {}, {}
    for name, mAs in bar(doses.items(), desc="doses", enabled=progress):
        if mAs is None:
            raw = clean
        else:
            raw = add_noise(clean, mAs, _seed_int([seed, zlib.crc32(str(name).encode())]) % (2**31))
            timings["noise"] += raw.timings["noise"]
        res = reconstruct_many(raw, recons, progress=progress, timings=timings)
        for r, (vol, pos) in zip(recons, res):
            volumes[(name, r)] = vol
            positions[r] = pos
        if keep_raw:
            raws[name] = raw
        del raw
    timings["total"] = time.perf_counter() - t0
    return ScanResult(volumes, positions, raws, clean.pixel_mm, timings)
