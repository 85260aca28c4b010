"""What the virtual helical scanner is and what is asked of it: :class:`ScannerConfig`, :class:`ReconConfig`.

This module owns the scanner's configuration (geometry, sampling and dose model), the
configuration of one reconstruction (thickness, increment, kernel, z-weighting), the names
of the known kernels (:data:`KERNELS`) and z-weightings (:data:`Z_WEIGHTINGS`), and the
geometry derived from a configuration that every other part of the scanner shares.

Geometry
    Parallel-beam rebinned helical geometry without cone angle. View ``v`` has the angle
    ``theta_v = 2 pi v / V`` and the table (detector centre) at
    ``z_v = z_start + v * pitch * n_rows * row_width / V``; row ``r`` has its centre at
    ``z_v + c_r`` (:attr:`ScannerConfig.row_offsets`). Detector bins are as wide as a
    pixel, the centre bin at ``t = 0``.

Defaults
    :class:`ScannerConfig` is sized for the book's ``quick`` cohort (256^2, 100 mm in well
    under a minute per patient on 2 CPU cores): 16 rows x 0.6 mm (a Siemens-like
    collimation; 1 mm slices are still thicker than a row), pitch 15/16 (complementary rays
    interleave, z-sampling 0.3 mm), ``2 ceil(1.125 n)`` views per rotation (1152 at 512^2),
    bins as wide as a pixel covering the image diagonal, phantom sampled at pixel centres
    every 0.2 mm. Memory: the fine-slice projections (V/2 x n_fine x n_bins floats) and the
    raw data (n_views x n_rows x n_bins floats), about 2 GB in all at 256^2 and 100 mm.

Everything heavy runs in torch on ``device`` (default: CUDA when available, else CPU).
Positions and thicknesses are in mm, images are float32 HU, arrays are (Z, Y, X) with x
the column and y the row coordinate of the phantom
(:meth:`t2tcore.scanner.primitives.Phantom.grid`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from t2tcore import device as _device
from t2tcore.scanner.primitives import MU_WATER

__all__ = [
    "KERNELS",
    "Z_WEIGHTINGS",
    "ScannerConfig",
    "ReconConfig",
]


#: Reconstruction kernels: ramp x Hann window with cut-off ``cutoff`` (cycles/mm), times a
#: mid-frequency boost ``1 + boost sin^2(pi f / cutoff)``. The names mark the intent
#: (smooth soft-tissue "B30"-like, sharper "D45"-like), not a vendor's exact kernel.
KERNELS: dict[str, dict[str, float]] = {
    "B30": {"cutoff": 0.85, "boost": 0.0},
    "D45": {"cutoff": 1.40, "boost": 0.25},
}

#: z-weighting functions known to :func:`~t2tcore.scanner.z_weighting.z_weight`.
Z_WEIGHTINGS = ("trapezoid", "triangle", "gaussian")


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
        sets the photons per ray (see :func:`~t2tcore.scanner.dose.photons_per_ray`).
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


# where the scanner computes: t2tcore.device (one helper for every part of t2t that runs torch)
check_device = _device.check_device
_default_device = _device.resolve_device


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
