"""t2tcore.teaching.model: z-objects, the scanner's slice profiles, recording a series (against independent truths: literal loops, physics, known models)."""

import numpy as np
import pytest

from t2tcore import teaching as T


def test_z_object_is_reproducible_and_piecewise_constant():
    a, b = T.z_object(n_columns=3, seed=4), T.z_object(n_columns=3, seed=4)
    np.testing.assert_array_equal(a.values, b.values)
    assert not np.array_equal(a.values, T.z_object(n_columns=3, seed=5).values)
    np.testing.assert_allclose(np.diff(a.z), 0.05)
    # piecewise constant: few value changes along z compared with the number of samples
    changes = np.count_nonzero(np.diff(a.values, axis=0), axis=0)
    assert np.all(changes <= 2 * 8) and np.all(changes >= 1)
    for bad in (dict(n_columns=0), dict(length_mm=0), dict(sizes_mm=(2, 1)), dict(n_structures=0)):
        with pytest.raises(ValueError):
            T.z_object(**bad)


def test_record_is_the_profile_weighted_mean():
    obj = T.ZObject(np.arange(0, 20.0001, 0.05), np.zeros((401, 1)))
    obj.values[(obj.z >= 8) & (obj.z < 10), 0] = 100.0  # a 2 mm box of 100 HU
    rect = (np.array([-0.5, -0.4999, 0.4999, 0.5]) * 3.0, np.array([0.0, 1.0, 1.0, 0.0]))  # 3 mm rect
    got = T.record(obj, [9.0, 12.0, 3.0], rect)[:, 0, 0]
    # a 3 mm slab centred on the box sees 2/3 of it; at 12 mm the slab [10.5, 13.5] misses it
    # (tolerance: the object is sampled every 0.05 mm, 2 % of 100 HU)
    np.testing.assert_allclose(got, [200 / 3, 0.0, 0.0], atol=2.0)
    with pytest.raises(ValueError, match="too close"):
        T.record(obj, [-10.0], rect)


def test_scanner_ssp_has_the_nominal_thickness_as_fwhm():
    from t2tcore.scanner import fwhm

    for t in (1.0, 3.0):
        u, s = T.scanner_ssp(t)
        assert s.max() == pytest.approx(1.0)
        assert fwhm(u, s) == pytest.approx(t, abs=0.02)
