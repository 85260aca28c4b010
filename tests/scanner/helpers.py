"""Helpers shared by the scanner tests (not a test module): the anatomy slab, image grids,
and a minimal stand-in phantom defined by a function."""

from __future__ import annotations

import numpy as np

from t2tcore.scanner.primitives import MU_WATER

ZA = (0.0, 16.0)  # small slabs keep the anatomy tests fast


def _grid(n: int, fov: float) -> np.ndarray:
    return (np.arange(n) - (n - 1) / 2) * (fov / n)


def _radius_map(n: int, fov: float) -> np.ndarray:
    c = _grid(n, fov)
    X, Y = np.meshgrid(c, c)
    return np.hypot(X, Y)


class _FunctionPhantom:
    """Minimal stand-in phantom: mu(x, y, z) from a function of broadcast (Z, Y, X) mm."""

    def __init__(self, f, z_extent=(-100.0, 100.0), fov_mm=100.0, name="function"):
        self.f, self.z_extent, self.fov_mm, self.name = f, z_extent, fov_mm, name

    def mu(self, x, y, z, mu_water=MU_WATER):
        X = np.asarray(x, float)[None, None, :]
        Y = np.asarray(y, float)[None, :, None]
        Z = np.asarray(z, float)[:, None, None]
        return np.broadcast_to(self.f(X, Y, Z, mu_water), (Z.shape[0], Y.shape[1], X.shape[2])).astype(np.float32)
