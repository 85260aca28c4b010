"""Stacks the evaluation tests share: linear in z (exact under linear interpolation in mm), and a Series of a
smooth 3-D object; the ``thin_thick`` fixture is in conftest.py."""

from __future__ import annotations

import numpy as np

from t2tcore.io import Series


def linear_stack(positions, ny=4, nx=5, slope=3.0, offset=-7.0):
    """Slices whose every pixel is ``slope * z + offset + pixel``: linear in z, so linear
    interpolation in mm must reproduce it exactly at any position inside the range."""
    z = np.asarray(positions, dtype=np.float64)
    pix = np.arange(ny * nx, dtype=np.float64).reshape(ny, nx)
    return (slope * z[:, None, None] + offset + pix[None]).astype(np.float32)


def object_series(positions, thickness, ny=24, nx=24, seed=0):
    """A Series sampling a smooth 3-D object (a z-varying body with a tilted rod)."""
    z = np.asarray(positions, dtype=np.float64)
    y, x = np.mgrid[0:ny, 0:nx].astype(np.float64)
    vol = np.empty((z.size, ny, nx), dtype=np.float32)
    for i, zi in enumerate(z):
        body = np.where((x - 12) ** 2 + (y - 12) ** 2 < 100, 40.0 + 30 * np.sin(zi / 2.3), -1000.0)
        rod = 300.0 * (((x - 8 - 0.4 * zi) ** 2 + (y - 12) ** 2) < 6)
        vol[i] = body + rod
    return Series.from_array(vol, z, (0.7, 0.7), thickness)
