"""The lab's model: z-objects (independent pixel columns along z), the virtual scanner's slice profiles, and
series recorded from them as a scanner makes them (each slice the object averaged under its SSP)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Sequence

import numpy as np

__all__ = ["DZ", "IMAGE_SIZE", "THIN", "ZObject", "inside", "real_thick", "record", "scanner_ssp", "thin_series",
           "z_object"]

#: The thin series of every exercise: 1 mm slices every 0.8 mm (the Grand Challenge's).
THIN = {"thickness": 1.0, "interval": 0.8}

#: Fine z step (mm) of the z-objects.
DZ = 0.05
#: The scanner model's matrix for the SSP and noise: small keeps every call fast.
IMAGE_SIZE = 64  # the scanner model's matrix for the SSP and noise: small keeps every call fast


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
    z = np.arange(0.0, length_mm + DZ / 2, DZ)
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

    cfg = ScannerConfig(image_size=IMAGE_SIZE, pitch=pitch, row_width=row_width)
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


def inside(obj: ZObject, margin: float) -> tuple[float, float]:
    return float(obj.z[0] + margin), float(obj.z[-1] - margin)


def thin_series(obj: ZObject, pitch: float = 0.9375, row_width: float = 0.6,
                z_weighting: str = "trapezoid", margin_mm: float = 6.0) -> tuple[np.ndarray, np.ndarray]:
    """The thin series of :data:`THIN` through the scanner's 1 mm SSP, ``margin_mm`` inside the object.

    Returns
    -------
    volume : ndarray, shape (n, 1, n_columns), float32
    positions : ndarray, shape (n,), float64, mm
    """
    lo, hi = inside(obj, margin_mm)
    pos = lo + THIN["interval"] * np.arange(int(np.floor((hi - lo) / THIN["interval"] + 1e-9)) + 1)
    ssp = scanner_ssp(THIN["thickness"], pitch, row_width, z_weighting)
    return record(obj, pos, ssp), pos


def real_thick(obj, thin_pos, thickness, interval, pitch, row_width, z_weighting):
    """The scanner's thick series over the thin coverage: positions s + k d, its SSP."""
    from t2tcore.simulation import thick_positions

    pos = thick_positions(thin_pos[0], thin_pos[-1], interval)
    return record(obj, pos, scanner_ssp(thickness, pitch, row_width, z_weighting)), pos
