"""Simple phantoms for physics tests of the virtual scanner: cylinder, disk, bead, composite.

This module owns the deterministic test objects (no seed) that the scanner's physics
checks and the book's scanner chapter use: a uniform :class:`WaterCylinder`, a thin
:class:`Disk` with a sharp rect z-profile (slice sensitivity profile), a small
:class:`Bead` (point spread) and :class:`Composite`, which combines phantoms and
primitives in painter's order. All are :class:`~t2tcore.scanner.primitives.Phantom`
objects made of the primitives of :mod:`t2tcore.scanner.primitives` (coordinates in mm,
values in HU as described there).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from t2tcore.scanner.primitives import Ellipsoid, Extrusion, Phantom, Primitive

__all__ = [
    "WaterCylinder",
    "Disk",
    "Bead",
    "Composite",
]


def _cyl(radius, z0, z1, value, cx=0.0, cy=0.0):
    return Extrusion([z0, z1], cx, cy, radius, radius, value)


class WaterCylinder(Phantom):
    """Uniform cylinder along z in air.

    Parameters
    ----------
    radius_mm, length_mm : float
        Radius and length in mm; the cylinder spans ``center_z_mm +- length_mm/2`` in z.
    hu : float
        Its HU (default water, 0).
    center_z_mm : float
    center_xy_mm : (float, float)
    """

    def __init__(self, radius_mm: float, length_mm: float, hu: float = 0.0, center_z_mm: float = 0.0,
                 center_xy_mm=(0.0, 0.0)):
        if not radius_mm > 0 or not length_mm > 0:
            raise ValueError("radius_mm and length_mm must be > 0")
        self.radius_mm, self.length_mm, self.value_hu = float(radius_mm), float(length_mm), float(hu)
        self.center_xy_mm = tuple(float(v) for v in center_xy_mm)
        z0, z1 = center_z_mm - length_mm / 2, center_z_mm + length_mm / 2
        cx, cy = self.center_xy_mm
        fov = 2 * (max(abs(cx), abs(cy)) + radius_mm) * 1.1
        super().__init__([_cyl(radius_mm, z0, z1, float(hu), cx, cy)], (z0, z1), fov, name="water_cylinder")


class Disk(Phantom):
    """Thin disk perpendicular to z with a sharp rect z-profile (slice sensitivity profile).

    Points with ``|z - z0_mm| <= thickness_mm/2`` and in-plane radius ``<= radius_mm`` have
    ``hu``; evaluation is exact at the sample points.

    Parameters
    ----------
    z0_mm : float
        z of the disk's centre plane, mm.
    thickness_mm, radius_mm : float
    hu : float
        HU of the disk (e.g. 1000 for a high-contrast foil).
    inside : WaterCylinder, optional
        Embed the disk in this cylinder (painted first).
    center_xy_mm : (float, float)
    """

    def __init__(self, z0_mm: float, thickness_mm: float, radius_mm: float, hu: float,
                 inside: WaterCylinder | None = None, center_xy_mm=(0.0, 0.0)):
        if not thickness_mm > 0 or not radius_mm > 0:
            raise ValueError("thickness_mm and radius_mm must be > 0")
        self.z0_mm, self.thickness_mm, self.radius_mm, self.value_hu = float(z0_mm), float(thickness_mm), float(radius_mm), float(hu)
        z0, z1 = z0_mm - thickness_mm / 2, z0_mm + thickness_mm / 2
        cx, cy = (float(v) for v in center_xy_mm)
        prims = list(inside.primitives) if inside is not None else []
        prims.append(_cyl(radius_mm, z0, z1, float(hu), cx, cy))
        fov = 2 * (max(abs(cx), abs(cy)) + radius_mm) * 1.1
        ze = (z0, z1)
        if inside is not None:
            fov = max(fov, inside.fov_mm)
            ze = (min(z0, inside.z_extent[0]), max(z1, inside.z_extent[1]))
        super().__init__(prims, ze, fov, name="disk")


class Bead(Phantom):
    """Small sphere (e.g. a tungsten bead for the SSP or a point-spread test).

    Parameters
    ----------
    center_mm : (float, float, float)
        (x, y, z) in mm.
    radius_mm : float
    hu : float
    inside : Phantom, optional
        Embed the bead in this phantom (painted first).
    """

    def __init__(self, center_mm, radius_mm: float, hu: float, inside: Phantom | None = None):
        if not radius_mm > 0:
            raise ValueError("radius_mm must be > 0")
        c = np.asarray(center_mm, dtype=np.float64).reshape(3)
        self.center_mm, self.radius_mm, self.value_hu = tuple(c), float(radius_mm), float(hu)
        prims = list(inside.primitives) if inside is not None else []
        prims.append(Ellipsoid(c, (radius_mm,) * 3, float(hu)))
        fov = 2 * (max(abs(c[0]), abs(c[1])) + radius_mm) * 1.1
        ze = (c[2] - radius_mm, c[2] + radius_mm)
        if inside is not None:
            fov = max(fov, inside.fov_mm)
            ze = (min(ze[0], inside.z_extent[0]), max(ze[1], inside.z_extent[1]))
        super().__init__(prims, ze, fov, name="bead")


class Composite(Phantom):
    """Phantoms and/or primitives combined in painter's order (later overwrite earlier).

    Parameters
    ----------
    parts : sequence of Phantom or Primitive
    name : str
    fov_mm : float, optional
        Default: the largest part's field of view (primitives: their bounding box).
    """

    def __init__(self, parts: Sequence, name: str = "composite", fov_mm: float | None = None):
        prims, z0, z1, fov = [], np.inf, -np.inf, 0.0
        for p in parts:
            if isinstance(p, Phantom):
                prims.extend(p.primitives)
                z0, z1, fov = min(z0, p.z_extent[0]), max(z1, p.z_extent[1]), max(fov, p.fov_mm)
            elif isinstance(p, Primitive):
                prims.append(p)
                b = p.bbox
                z0, z1 = min(z0, b[4]), max(z1, b[5])
                fov = max(fov, 2.2 * max(abs(b[0]), abs(b[1]), abs(b[2]), abs(b[3])))
            else:
                raise ValueError(f"Composite parts must be Phantom or Primitive, got {type(p).__name__}")
        if not prims:
            raise ValueError("Composite needs at least one part")
        super().__init__(prims, (z0, z1), fov_mm if fov_mm is not None else fov, name=name)
