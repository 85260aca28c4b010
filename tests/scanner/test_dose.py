"""Tests for t2tcore.scanner.dose (with the noise of t2tcore.scanner.acquisition): quantum
statistics with dose, the z-weights' noise ratio with thickness, the calibrated noise level."""

from __future__ import annotations

import math

import pytest

from t2tcore import scanner as S
from t2tcore.scanner import physics_phantoms as P
from tests.scanner.helpers import _radius_map


@pytest.fixture(scope="module")
def water_noise():
    """A 300 mm water cylinder: noiseless, full- and quarter-dose recons, 1 and 3 mm B30."""
    n, fov = 96, 330.0
    cfg = S.ScannerConfig(image_size=n, fov_mm=fov)
    clean = S.project(P.WaterCylinder(150.0, 200.0), cfg, z_range=(-20.0, 20.0), device="cpu")
    recons = [S.ReconConfig(1.0, 1.0, "B30"), S.ReconConfig(3.0, 3.0, "B30")]
    ref = S.reconstruct_many(clean, recons)
    noise = {}
    for name, mAs in (("full", 200.0), ("quarter", 50.0)):
        raw = S.add_noise(clean, mAs, seed=11)
        for r, (v, _), (v0, _) in zip(recons, S.reconstruct_many(raw, recons), ref):
            noise[(name, r.thickness)] = v - v0
    return cfg, fov, recons, ref, noise


def test_noise_falls_with_dose_as_quantum_statistics(water_noise):
    cfg, fov, recons, ref, noise = water_noise
    roi = _radius_map(cfg.image_size, fov) < 60.0
    for th in (1.0, 3.0):
        sd_full = noise[("full", th)][:, roi].std()
        sd_quarter = noise[("quarter", th)][:, roi].std()
        assert sd_quarter / sd_full == pytest.approx(2.0, rel=0.15)  # SD ~ 1/sqrt(mAs)


def test_noise_falls_with_thickness_as_the_z_weights_predict(water_noise):
    cfg, fov, recons, ref, noise = water_noise
    roi = _radius_map(cfg.image_size, fov) < 60.0
    predicted = math.sqrt(S.z_weight_variance_factor(cfg, 1.0) / S.z_weight_variance_factor(cfg, 3.0))
    assert predicted > 1.4
    for dose in ("full", "quarter"):
        ratio = noise[(dose, 1.0)][:, roi].std() / noise[(dose, 3.0)][:, roi].std()
        assert ratio == pytest.approx(predicted, rel=0.15)


def test_full_dose_noise_level_is_the_calibrated_one(water_noise):
    """3 mm B30 at 200 mAs: the measured SD in the central 20 mm matches the linear noise
    propagation that sets N0 (``noise_ref_hu``), which is independent of the simulation."""
    cfg, fov, recons, ref, noise = water_noise
    roi = _radius_map(cfg.image_size, fov) <= 20.0
    sd = noise[("full", 3.0)][:, roi].std()
    assert S.predict_noise_sd(cfg, recons[1], 200.0, fov) == pytest.approx(cfg.noise_ref_hu, rel=1e-6)
    assert sd == pytest.approx(cfg.noise_ref_hu, rel=0.15)
    assert S.photons_per_ray(cfg, 50.0, fov) == pytest.approx(S.photons_per_ray(cfg, 200.0, fov) / 4)
