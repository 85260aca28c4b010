"""An analytic ground truth for the simulation methods (used by chapter 00 and the teaching lab).

A small continuous object (:class:`RodsObject`: a body, two rods tilted in the coronal
plane, a sphere and a box whose value oscillates along z) is sliced *exactly* through a
slice sensitivity profile (:class:`ExactSlicer`): the object is sampled on planes every
``h`` mm and each plane gets the exact area of the profile over its cell, for a ``"rect"``
(uniform over the width) or a ``"triangle"`` (falling to zero at ± the width) profile. This
uses nothing of :mod:`t2tcore.simulation`, so it is an independent truth to judge the
methods against: :func:`method_weights` measures the weights a method gives the thin
slices (by simulating impulses); chapter 00 (:mod:`t2tcore.studies.walkthrough`) scores each
method against thick slices made exactly, paired by index and at the method's own positions.

The virtual scanner (:mod:`t2tcore.scanner`) is the other truth, with physics; this one is
a few lines of geometry, small enough to check by hand.

Positions and widths in mm, values in HU.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "ExactSlicer",
    "RodsObject",
    "method_weights",
    "profile_cdf",
    "rmse_hu",
]

PROFILES = ("rect", "triangle")


@dataclass(frozen=True)
class RodsObject:
    """A continuous object defined at every point (HU).

    Attributes
    ----------
    n_xy : int
        Pixels per side of the planes it is evaluated on.
    fov : float
        Field of view, mm (pixel centres at ``(i + 0.5) * fov / n_xy - fov / 2``).
    rods : tuple of (x0, tilt, radius)
        Rods of 400 HU through ``(x0, 0, 0)``, tilted by ``tilt`` (radians) in the x-z plane.
    sphere : (x, z, radius)
        A 250 HU sphere centred at ``y = 0``.
    period, phase : float
        The box ``|x - 8| < 3, |y| < 6`` has ``100 + 100 sin(2 pi z / period + phase)`` HU.
    """

    n_xy: int
    fov: float
    rods: tuple
    sphere: tuple
    period: float
    phase: float

    @classmethod
    def random(cls, rng: np.random.Generator, n_xy: int, gap_z: float, *, fov: float = 48.0, period: float = 7.0):
        """The chapter's object: tilts, sphere height and phase drawn from ``rng``.

        Draws, in this order: the first rod's tilt (12-18 degrees), the second's (6-10
        degrees, negative), the sphere's offset from ``gap_z`` (± 1 mm) and the phase.
        """
        rods = (
            (-12.0, float(np.deg2rad(rng.uniform(12, 18))), 1.5),
            (16.0, float(np.deg2rad(-rng.uniform(6, 10))), 1.5),
        )
        sphere = (0.0, float(gap_z + rng.uniform(-1.0, 1.0)), 3.5)
        return cls(int(n_xy), float(fov), rods, sphere, float(period), float(rng.uniform(0, 2 * np.pi)))

    @property
    def xy(self) -> np.ndarray:
        """Pixel centres along x (and y), mm, shape (n_xy,)."""
        return (np.arange(self.n_xy) + 0.5) * (self.fov / self.n_xy) - self.fov / 2

    def __call__(self, z: Any) -> np.ndarray:
        """The object on the planes ``z`` (mm): float32 array (len(z), n_xy, n_xy), HU."""
        xy = self.xy
        Z = np.asarray(z, dtype=float)[:, None, None]
        Y, X = xy[None, :, None], xy[None, None, :]
        f = np.broadcast_to(np.where(X**2 + Y**2 < 22.0**2, 40.0, -1000.0), (Z.size, self.n_xy, self.n_xy)).copy()
        for x0, tilt, r in self.rods:
            f = np.where((X - x0 - Z * np.tan(tilt)) ** 2 + Y**2 < r**2, 400.0, f)
        sx, sz, sr = self.sphere
        f = np.where((X - sx) ** 2 + Y**2 + (Z - sz) ** 2 < sr**2, 250.0, f)
        box = (np.abs(X - 8.0) < 3.0) & (np.abs(Y) < 6.0)
        return np.where(box, 100.0 + 100.0 * np.sin(2 * np.pi * Z / self.period + self.phase), f).astype(np.float32)


def profile_cdf(u: Any, shape: str, w: float) -> np.ndarray:
    """Share of a unit-area slice profile of width ``w`` lying below offset ``u`` (mm).

    Parameters
    ----------
    u : array_like
        Offsets from the slice centre, mm.
    shape : {"rect", "triangle"}
        ``"rect"``: uniform over ``[-w/2, w/2]``; ``"triangle"``: ``max(0, 1 - |u|/w) / w``
        (full width at half maximum ``w``).
    w : float
        Width, mm (> 0).

    Returns
    -------
    ndarray, float64
        In [0, 1], non-decreasing in ``u``.
    """
    if shape not in PROFILES:
        raise ValueError(f"shape must be one of {PROFILES}, got {shape!r}")
    if not w > 0:
        raise ValueError(f"width must be > 0, got {w}")
    u = np.asarray(u, dtype=float)
    if shape == "rect":
        return np.clip(u / w + 0.5, 0.0, 1.0)
    v = np.clip(u, -w, w)
    return np.where(v < 0, (v + w) ** 2 / (2 * w**2), 1 - (w - v) ** 2 / (2 * w**2))


class ExactSlicer:
    """Slices of an object through an exact slice profile.

    The object is evaluated once on planes every ``h`` mm over ``z_range``; a slice at
    centre ``c`` is ``sum_i W_i(c) f(z_i)`` with ``W_i`` the profile's exact area over
    ``[z_i - h/2, z_i + h/2]``.

    Parameters
    ----------
    obj : callable
        ``obj(z) -> (len(z), Y, X)`` values on planes z (e.g. :class:`RodsObject`).
    z_range : (float, float)
        First and last plane, mm (planes ``arange(z0, z1 + h, h)``); slices must lie at
        least their profile's half support inside it.
    h : float
        Plane spacing, mm.
    """

    def __init__(self, obj, z_range: tuple[float, float], h: float = 0.05):
        if not h > 0:
            raise ValueError(f"h must be > 0, got {h}")
        self.h = float(h)
        self.z = np.arange(z_range[0], z_range[1] + h, h)
        planes = obj(self.z)
        self.shape = planes.shape[1:]
        self.planes = planes.reshape(self.z.size, -1)

    def slices(self, centres: Any, shape: str, w: float) -> np.ndarray:
        """Slices at ``centres`` (mm) through profile ``shape`` of width ``w``: float32 (n, Y, X)."""
        u = self.z[None, :] - np.asarray(centres, dtype=float)[:, None]
        weights = profile_cdf(u + self.h / 2, shape, w) - profile_cdf(u - self.h / 2, shape, w)
        return (weights @ self.planes).reshape(-1, *self.shape).astype(np.float32)


def method_weights(
    thin_positions: Any, thickness: float, interval: float, method: str, *, thin_thickness: float | None = None
) -> np.ndarray:
    """The weight each thin slice gets in each thick slice of a method, measured.

    ``simulate_thick`` is given a volume whose slice ``i`` is 1 at pixel ``i`` and 0
    elsewhere (in-plane blur off), so its output pixel ``i`` of thick slice ``j`` is the
    weight of thin slice ``i`` in thick slice ``j``: nothing of the method is re-implemented.

    Parameters
    ----------
    thin_positions : array_like, shape (n,)
        Thin slice positions, mm.
    thickness, interval : float
        As for :func:`t2tcore.simulation.simulate_thick`, mm.
    method : str
    thin_thickness : float, optional
        Thin SliceThickness for the index-based methods, mm.

    Returns
    -------
    ndarray, shape (n_thick, n), float64
    """
    from t2tcore.simulation import simulate_thick

    pos = np.asarray(thin_positions, dtype=float)
    impulses = np.eye(pos.size, dtype=np.float64)[:, None, :]
    w, _ = simulate_thick(impulses, pos, thickness, interval, method=method, thin_thickness=thin_thickness, sigma=0.0)
    return np.asarray(w)[:, 0, :]


def rmse_hu(a: Any, b: Any) -> float:
    """Root mean squared difference (HU) over all voxels, in float64."""
    a = np.asarray(a)
    return float(np.sqrt(np.mean((a.astype(np.float64) - b) ** 2)))
