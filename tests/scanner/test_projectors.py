"""Tests for t2tcore.scanner.projectors: the sparse separable-footprint projector against a
brute-force pixel footprint."""

from __future__ import annotations

import numpy as np
import pytest

from t2tcore import scanner as S
from tests.scanner.helpers import _FunctionPhantom, _grid


def test_projector_matches_brute_force_pixel_footprint():
    """One non-zero pixel: every view's projection equals its chord lengths averaged over
    each detector bin, computed here by brute force on 300 x 300 points of the pixel."""
    n, fov = 32, 64.0
    cfg = S.ScannerConfig(image_size=n, fov_mm=fov, n_rows=2, views_per_rot=24, overscan_mm=0.0)
    c = _grid(n, fov)
    ix, iy = 19, 12
    mu0 = 0.02

    def f(X, Y, Z, mw):
        return np.where((np.abs(X - c[ix]) < 1e-6) & (np.abs(Y - c[iy]) < 1e-6), mu0, 0.0) + 0 * Z

    raw = S.project(_FunctionPhantom(f, fov_mm=fov), cfg, z_range=(0.0, 3.0), device="cpu")
    assert raw.n_views >= cfg.views  # a full rotation
    pix = fov / n
    m = 300
    s = (np.arange(m) + 0.5) / m - 0.5
    sx, sy = np.meshgrid(c[ix] + s * pix, c[iy] + s * pix)
    for v in range(raw.n_views):
        th = 2 * np.pi * v / cfg.views
        t = sx * np.cos(th) + sy * np.sin(th)
        idx = np.round(t / pix + (cfg.bins - 1) / 2).astype(int).ravel()
        expect = mu0 * np.bincount(idx, minlength=cfg.bins) * (pix * pix / m**2) / pix  # mean chord x mu
        got = raw.sinogram()[v, 0]
        assert np.abs(got - expect).max() < 0.01 * expect.max(), f"view {v}"
        assert got.sum() == pytest.approx(expect.sum(), rel=1e-4)
