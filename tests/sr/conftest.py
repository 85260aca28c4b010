"""Tiny synthetic CT series for the SR tests (made here, no files, no network)."""

from __future__ import annotations

import numpy as np
import pytest


def phantom(n: int = 30, size: int = 32, spacing: float = 0.8, seed: int = 0, z0: float = 0.0):
    """A thin series: an elliptic body (40 HU) with a bright ball (300 HU) and noise, in air.

    Returns (volume (n, size, size) float32 HU, positions (n,) mm).
    """
    rng = np.random.default_rng(seed)
    pos = z0 + spacing * np.arange(n)
    zz, yy, xx = np.meshgrid(pos, np.arange(size), np.arange(size), indexing="ij")
    c = (size - 1) / 2
    body = ((yy - c) / (0.38 * size)) ** 2 + ((xx - c) / (0.45 * size)) ** 2 <= 1
    vol = np.where(body, 40.0, -1000.0)
    zc = pos[n // 2] + rng.uniform(-2, 2)
    ball = (zz - zc) ** 2 + ((yy - c) * 0.8) ** 2 + ((xx - c - 3) * 0.8) ** 2 <= (0.22 * size) ** 2
    vol = np.where(ball, 300.0, vol) + rng.normal(0, 10, vol.shape)
    return vol.astype(np.float32), pos


def thin_series(n: int = 30, size: int = 32, spacing: float = 0.8, seed: int = 0, patient: str = "V900"):
    from t2tcore.io import Series

    vol, pos = phantom(n, size, spacing, seed)
    return Series.from_array(vol, pos, (1.0, 1.0), 1.0, interval=spacing, patient_id=patient,
                             description=f"{patient} thin")


@pytest.fixture(scope="session")
def thins():
    """Three thin series of three patients."""
    return [thin_series(seed=i, patient=f"V90{i}") for i in range(3)]


def thick_of(thin, thickness: float = 3.0, interval: float = 2.0):
    """A 'real' thick series of a thin one (the proposed simulation; same study and frame)."""
    from t2tcore.simulation import simulate_thick

    vol, pos = simulate_thick(thin.volume, thin.positions, thickness, interval)
    return thin.derive(vol, pos, thickness=thickness, interval=interval, description="thick")
