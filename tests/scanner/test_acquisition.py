"""Tests for t2tcore.scanner.acquisition: line integrals against analytic chords, exact row
aperture integration, seeded and independent noise realisations, bad arguments."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from t2tcore import scanner as S
from t2tcore.scanner import physics_phantoms as P
from tests.scanner.helpers import _FunctionPhantom


def test_projection_of_cylinder_matches_analytic_chords():
    R, mu = 30.0, S.MU_WATER
    cfg = S.ScannerConfig(image_size=48, fov_mm=80.0, supersample=4, n_rows=2, overscan_mm=0.0)
    raw = S.project(P.WaterCylinder(R, 40.0), cfg, z_range=(0.0, 0.0), device="cpu")
    t = (np.arange(cfg.bins) - (cfg.bins - 1) / 2) * raw.pixel_mm
    ana = 2 * mu * np.sqrt(np.clip(R**2 - t**2, 0, None))
    inner = np.abs(t) < 0.9 * R
    got = raw.sinogram()[:, :, inner]
    assert np.abs(got - ana[inner]).max() < 0.01 * ana.max()


def test_row_aperture_integration_is_exact_for_linear_z():
    """mu = mu0 (1 + a z) inside a cylinder: each row sees the cylinder's chord times the
    mean of (1 + a z) over its aperture = 1 + a z_row_centre (exact for a linear profile)."""
    a = 0.02
    cfg = S.ScannerConfig(image_size=32, fov_mm=64.0, n_rows=8, row_width=0.6, pitch=1.3, views_per_rot=48)

    def cyl(X, Y, Z, mw, slope):
        return np.where(X**2 + Y**2 <= 25.0**2, mw * (1 + slope * Z), 0.0)

    lin = S.project(_FunctionPhantom(lambda X, Y, Z, mw: cyl(X, Y, Z, mw, a), fov_mm=64.0), cfg, (-2.0, 2.0), "cpu")
    flat = S.project(_FunctionPhantom(lambda X, Y, Z, mw: cyl(X, Y, Z, mw, 0.0), fov_mm=64.0), cfg, (-2.0, 2.0), "cpu")
    assert lin.p.shape == flat.p.shape and lin.z_start == flat.z_start
    v = np.arange(lin.n_views)
    zrow = lin.z_start + v[:, None] * cfg.pitch * cfg.n_rows * cfg.row_width / cfg.views \
        + (np.arange(cfg.n_rows) - (cfg.n_rows - 1) / 2) * cfg.row_width
    pl, pf = lin.sinogram(), flat.sinogram()
    big = pf > 0.2
    ratio = pl / np.where(big, pf, 1.0)
    expect = np.broadcast_to((1 + a * zrow)[:, :, None], pl.shape)
    assert np.abs(ratio[big] - expect[big]).max() < 2e-5


# --------------------------------------------------------------------------------------
# seeds and doses of the noise
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_clean():
    cfg = S.ScannerConfig(image_size=48, fov_mm=240.0, n_rows=8)
    return S.project(P.WaterCylinder(100.0, 100.0), cfg, z_range=(-5.0, 5.0), device="cpu")


def test_same_seed_same_output_different_seed_different_noise(small_clean):
    r = S.ReconConfig(1.0, 0.8)
    a = S.add_noise(small_clean, 200.0, seed=5)
    b = S.add_noise(small_clean, 200.0, seed=5)
    c = S.add_noise(small_clean, 200.0, seed=6)
    assert torch.equal(a.p, b.p)
    assert np.array_equal(S.reconstruct(a, r)[0], S.reconstruct(b, r)[0])
    assert not torch.equal(a.p, c.p)
    assert small_clean.mAs is None and a.mAs == 200.0  # the noiseless input is not modified
    d1, d2 = (a.p - small_clean.p).flatten(), (c.p - small_clean.p).flatten()
    assert abs(float(torch.corrcoef(torch.stack([d1, d2]))[0, 1])) < 0.02
    # quarter dose is a separate realisation, not a scaled copy of the full-dose noise
    q = S.add_noise(small_clean, 50.0, seed=5)
    d3 = (q.p - small_clean.p).flatten()
    assert abs(float(torch.corrcoef(torch.stack([d1, d3]))[0, 1])) < 0.02


# --------------------------------------------------------------------------------------
# arguments
# --------------------------------------------------------------------------------------


def test_bad_arguments_raise_value_error(small_clean):
    with pytest.raises(ValueError, match="pitch"):
        S.ScannerConfig(pitch=2.5)
    with pytest.raises(ValueError, match="dz_fine"):
        S.ScannerConfig(dz_fine=0.5)
    with pytest.raises(ValueError, match="kernel"):
        S.ReconConfig(kernel="B99")
    with pytest.raises(ValueError, match="z_weighting"):
        S.ReconConfig(z_weighting="box")
    with pytest.raises(ValueError, match="covering"):
        S.reconstruct(small_clean, S.ReconConfig(3.0, 2.0, z_range=(-30.0, 5.0)))
    with pytest.raises(ValueError, match="mAs"):
        S.add_noise(small_clean, 0.0)
    with pytest.raises(ValueError, match="noiseless"):
        S.add_noise(S.add_noise(small_clean, 100.0), 100.0)
    with pytest.raises(ValueError, match="phantom"):
        S.project(object(), small_clean.config)
