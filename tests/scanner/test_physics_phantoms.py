"""Tests for t2tcore.scanner.physics_phantoms (and the Phantom they are): values, shapes and
dtypes against literal formulas, mu vs HU, a sharp disk z-profile, painter's order, axes."""

import numpy as np
import pytest

from t2tcore.scanner.physics_phantoms import Bead, Composite, Disk, WaterCylinder
from t2tcore.scanner.primitives import AIR_HU, MU_WATER


def test_water_cylinder_values_shape_dtype():
    w = WaterCylinder(radius_mm=50.0, length_mm=20.0)
    x = np.linspace(-60, 60, 121)  # 1 mm steps, includes +-50 exactly
    z = np.array([-12.0, -10.0, 0.0, 10.0, 12.0])
    h = w.hu(x, x[::2], z)
    assert h.shape == (5, 61, 121) and h.dtype == np.float32
    X, Y = np.meshgrid(x, x[::2])
    inside = X**2 + Y**2 <= 50.0**2
    for k, zk in enumerate(z):
        expect = np.where(inside & (abs(zk) <= 10.0), 0.0, AIR_HU)
        np.testing.assert_array_equal(h[k], expect)
    assert w.z_extent == (-10.0, 10.0) and w.fov_mm >= 100.0


def test_mu_consistent_with_hu():
    ph = Composite([WaterCylinder(40, 10), Bead((0, 0, 0), 5, 1000.0), Bead((20, 0, 0), 5, -1500.0)])
    x = np.linspace(-45, 45, 46)
    z = np.array([0.0, 8.0])
    h = ph.hu(x, x, z)
    m = ph.mu(x, x, z)
    assert m.dtype == np.float32
    np.testing.assert_allclose(m, np.maximum(MU_WATER * (1 + h.astype(np.float64) / 1000), 0), rtol=1e-6, atol=1e-9)
    assert m.min() == 0.0  # air (and the below-air bead) clip at zero
    np.testing.assert_allclose(m[0, 23, 10], MU_WATER, rtol=1e-6)  # water
    np.testing.assert_allclose(m[0, 23, 23], 2 * MU_WATER, rtol=1e-6)  # +1000 HU
    np.testing.assert_allclose(ph.mu(x, x, z, mu_water=0.02)[0, 23, 10], 0.02, rtol=1e-6)


def test_disk_z_profile_is_a_sharp_rect():
    cyl = WaterCylinder(60, 40)
    d = Disk(z0_mm=3.3, thickness_mm=0.5, radius_mm=30, hu=1000.0, inside=cyl)
    z = np.arange(2.0, 4.6, 0.01)
    prof = d.hu([5.0], [-4.0], z)[:, 0, 0]
    expect = np.where(np.abs(z - 3.3) <= 0.25, 1000.0, 0.0)
    # floating-point ties exactly on a face may go either way; everything else must match
    ties = np.isclose(np.abs(z - 3.3), 0.25, atol=1e-9)
    np.testing.assert_array_equal(prof[~ties], expect[~ties])
    assert set(np.unique(prof)) == {0.0, 1000.0}  # no partial-volume values anywhere
    # outside the disk radius only water
    assert np.all(d.hu([40.0], [0.0], z) == 0.0)
    assert d.z_extent == cyl.z_extent


def test_bead_and_painters_order():
    b = Bead((10.0, -5.0, 2.0), 1.5, 2000.0, inside=WaterCylinder(50, 20))
    v = b.hu_at([10.0, 11.4, 11.6, 30.0, 80.0], [-5.0, -5.0, -5.0, 0.0, 0.0], [2.0, 2.0, 2.0, 2.0, 2.0])
    np.testing.assert_array_equal(v, [2000.0, 2000.0, 0.0, 0.0, AIR_HU])
    # later parts overwrite earlier ones, whatever their values
    a = Composite([WaterCylinder(30, 10, hu=100.0), WaterCylinder(10, 10, hu=-50.0)])
    c = Composite([WaterCylinder(10, 10, hu=-50.0), WaterCylinder(30, 10, hu=100.0)])
    assert a.hu_at(0, 0, 0) == -50.0 and a.hu_at(20, 0, 0) == 100.0
    assert c.hu_at(0, 0, 0) == 100.0


def test_descending_axes_and_bad_input():
    w = Composite([WaterCylinder(30, 10), Bead((12, 5, 1), 4, 500.0)])
    x = np.linspace(-35, 35, 36)
    z = np.linspace(-2, 4, 7)
    h = w.hu(x, x, z)
    np.testing.assert_array_equal(w.hu(x[::-1], x, z[::-1]), h[::-1, :, ::-1])
    with pytest.raises(ValueError):
        w.hu([0, 2, 1], x, z)
    with pytest.raises(ValueError):
        w.hu(x, x, np.zeros((2, 2)))
    with pytest.raises(ValueError):
        WaterCylinder(-1, 10)
    with pytest.raises(ValueError):
        Composite([])
