"""An analytic ground truth for the simulation methods (chapter 00).

A small continuous object (:class:`RodsObject`: a body, two rods tilted in the coronal
plane, a sphere and a box whose value oscillates along z) is sliced *exactly* through a
slice sensitivity profile (:class:`ExactSlicer`): the object is sampled on planes every
``h`` mm and each plane gets the exact area of the profile over its cell, for a ``"rect"``
(uniform over the width) or a ``"triangle"`` (falling to zero at ± the width) profile. This
uses nothing of :mod:`t2tcore.simulation`, so it is an independent truth to judge the
methods against: :func:`method_weights` measures the weights a method gives the thin
slices (by simulating impulses), :func:`error_table` its error against thick slices made
exactly, paired by index and at the method's own positions.

The virtual scanner (:mod:`t2tcore.scanner`) is the other truth, with physics; this one is
a few lines of geometry, small enough to check by hand.

Positions and widths in mm, values in HU.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

__all__ = [
    "ExactSlicer",
    "RodsObject",
    "error_table",
    "findings",
    "method_weights",
    "position_summary",
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


def error_table(
    results: Mapping[str, tuple[np.ndarray, np.ndarray]],
    ref_positions: Any,
    references: Mapping[str, np.ndarray],
    slicer: ExactSlicer,
    thickness: float,
    coverage: tuple[float, float],
):
    """Each method's error against exactly made thick slices, paired by index and at its own positions.

    Only slices whose profile lies inside the thin coverage are scored: centres at least
    ``thickness`` mm from either end of ``coverage``.

    Parameters
    ----------
    results : mapping
        ``method -> (volume (n, Y, X), positions (n,))`` from ``simulate_thick``.
    ref_positions : array_like, shape (m,)
        Where a scanner reconstructs its thick slices, mm.
    references : mapping
        ``profile shape -> slices at ref_positions`` (:meth:`ExactSlicer.slices` with width
        ``thickness``).
    slicer : ExactSlicer
        Makes the references at each method's own positions.
    thickness : float
        Width of the reference profiles, mm.
    coverage : (float, float)
        First and last thin position, mm.

    Returns
    -------
    pandas.DataFrame
        Index ``method``; ``slices``, ``scanner's slices``, ``max |shift| paired (mm)`` and,
        per reference shape, ``RMSE paired, <shape> (HU)`` (slice j against the scanner's
        slice j) and ``RMSE own positions, <shape> (HU)``.
    """
    import pandas as pd

    s, e = coverage
    ref_pos = np.asarray(ref_positions, dtype=float)
    inside_ref = (ref_pos >= s + thickness) & (ref_pos <= e - thickness)
    rows = []
    for m, (vol, pos) in results.items():
        vol, pos = np.asarray(vol), np.asarray(pos, dtype=float)
        n = min(pos.size, ref_pos.size)
        paired = np.flatnonzero(inside_ref[:n])
        own = np.flatnonzero((pos >= s + thickness) & (pos <= e - thickness))
        row = {
            "method": m,
            "slices": pos.size,
            "scanner's slices": ref_pos.size,
            "max |shift| paired (mm)": float(np.max(np.abs(pos[paired] - ref_pos[paired]))),
        }
        for shape, ref in references.items():
            row[f"RMSE paired, {shape} (HU)"] = rmse_hu(vol[paired], ref[paired])
            row[f"RMSE own positions, {shape} (HU)"] = rmse_hu(vol[own], slicer.slices(pos[own], shape, thickness))
        rows.append(row)
    return pd.DataFrame(rows).set_index("method")


def position_summary(results: Mapping[str, tuple[np.ndarray, np.ndarray]], ref_positions: Any):
    """How many thick slices each method makes and where the first and last are (mm).

    Parameters
    ----------
    results : mapping
        ``method -> (volume, positions)``.
    ref_positions : array_like
        The scanner's thick slice positions, mm (the last row, ``"scanner"``).

    Returns
    -------
    pandas.DataFrame
        Index ``method``; ``slices``, ``first (mm)``, ``last (mm)``.
    """
    import pandas as pd

    rows = {m: np.asarray(p, dtype=float) for m, (_, p) in results.items()}
    rows["scanner"] = np.asarray(ref_positions, dtype=float)
    return pd.DataFrame(
        [{"method": m, "slices": p.size, "first (mm)": p[0], "last (mm)": p[-1]} for m, p in rows.items()]
    ).set_index("method")


def findings(table) -> str:
    """What :func:`error_table` shows, in two sentences of Markdown (numbers from the table).

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`error_table`, with a ``proposed`` row and at least one index-based method.

    Returns
    -------
    str
    """
    from t2tcore.evaluation.fidelity import INDEX_METHODS

    idx = [m for m in table.index if m in INDEX_METHODS]
    if not idx or "proposed" not in table.index:
        raise ValueError("the table needs 'proposed' and at least one index-based method")
    tri = table["RMSE paired, triangle (HU)"]
    shift = table.loc[idx, "max |shift| paired (mm)"].max()
    own = {shape: table[f"RMSE own positions, {shape} (HU)"] for shape in ("triangle", "rect")
           if f"RMSE own positions, {shape} (HU)" in table}
    best = "; ".join(f"against the {shape} reference `{col.idxmin()}` ({col.min():.2f} HU)" for shape, col in own.items())
    return (
        f"paired by index, as training pairs are formed, the index-based methods ({', '.join(f'`{m}`' for m in idx)}) "
        f"drift up to {shift:.1f} mm from the scanner's slices and their RMSE against the triangle-profile "
        f"thick slices is {tri[idx].min():.2f} to {tri[idx].max():.2f} HU, against {tri['proposed']:.2f} HU for "
        f"`proposed`. Compared at their own positions (the weighting alone), the lowest RMSE is {best}."
    )
