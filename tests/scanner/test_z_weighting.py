"""Tests for t2tcore.scanner.z_weighting: the measured slice sensitivity profile of a thin disk
has the nominal FWHM and agrees with the model the z-weights are calibrated on."""

from __future__ import annotations

import numpy as np
import pytest

from t2tcore import scanner as S
from t2tcore.scanner import physics_phantoms as P
from tests.scanner.helpers import _radius_map


@pytest.fixture(scope="module")
def disk_raw():
    """Noiseless helical scan of a 0.2 mm thick, 1000 HU disk at z = 0.4 mm (off-centre)."""
    cfg = S.ScannerConfig(image_size=40, fov_mm=60.0)
    return S.project(P.Disk(0.4, 0.2, 20.0, 1000.0), cfg, z_range=(-3.2, 4.0), device="cpu")


@pytest.mark.parametrize("thickness", [1.0, 3.0])
@pytest.mark.parametrize("kind", S.Z_WEIGHTINGS)
def test_measured_ssp_fwhm_equals_nominal(disk_raw, thickness, kind):
    zc = 0.4
    vol, pos = S.reconstruct(disk_raw, S.ReconConfig(thickness, 0.05, "B30", kind, z_range=(zc - 3.0 + 0.013, zc + 3.0)))
    r = _radius_map(40, 60.0)
    prof = (vol[:, r < 8.0] + 1000.0).mean(1)  # disk (2000 HU over air) minus air background
    measured = S.fwhm(pos - zc, prof)
    assert measured == pytest.approx(thickness, rel=0.10)
    # and the model the weights were calibrated on agrees closely with the measurement
    u, model = S.slice_sensitivity_profile(disk_raw.config, thickness, kind)
    assert S.fwhm(u, model) == pytest.approx(thickness, rel=0.01)
    assert measured == pytest.approx(S.fwhm(u, model), rel=0.03)
    # the SSP peak sits at the disk
    assert abs(pos[np.argmax(prof)] - zc) <= 0.1


def test_thinner_than_the_rows_is_refused():
    cfg = S.ScannerConfig(image_size=32)
    with pytest.raises(ValueError, match="thinnest"):
        S.z_weight_width(cfg, 0.3)
    assert S.z_weight_width(cfg, 3.0, "trapezoid") > S.z_weight_width(cfg, 1.0, "trapezoid")
