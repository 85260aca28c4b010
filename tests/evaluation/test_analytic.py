"""Tests of t2tcore.evaluation.analytic: exact slice profiles, the analytic object, measured weights."""

from __future__ import annotations

import numpy as np
import pytest

from t2tcore.evaluation import analytic


@pytest.mark.parametrize("shape", ["rect", "triangle"])
def test_profile_cdf_is_the_integral_of_the_unit_area_profile(shape):
    w = 3.0
    u = np.linspace(-4.0, 4.0, 81)
    fine = np.linspace(-5.0, 5.0, 200_001)
    dens = (np.abs(fine) <= w / 2) / w if shape == "rect" else np.maximum(0.0, 1 - np.abs(fine) / w) / w
    cum = np.concatenate([[0.0], np.cumsum((dens[1:] + dens[:-1]) / 2 * np.diff(fine))])
    np.testing.assert_allclose(analytic.profile_cdf(u, shape, w), np.interp(u, fine, cum), atol=2e-4)
    assert analytic.profile_cdf(-10, shape, w) == 0.0 and analytic.profile_cdf(10, shape, w) == 1.0


def test_profile_cdf_rejects_bad_arguments():
    with pytest.raises(ValueError, match="shape"):
        analytic.profile_cdf(0.0, "gauss", 1.0)
    with pytest.raises(ValueError, match="width"):
        analytic.profile_cdf(0.0, "rect", 0.0)


def test_exact_slicer_against_numerical_integration():
    # an object that varies along z only: f(z) = 100 sin(z / 2) at every pixel
    def obj(z):
        return np.broadcast_to(100 * np.sin(np.asarray(z)[:, None, None] / 2), (len(z), 2, 3)).astype(np.float32)

    slicer = analytic.ExactSlicer(obj, (-10.0, 10.0), h=0.01)
    centres = np.array([-3.0, 0.37, 4.2])
    for shape, w in (("rect", 1.0), ("triangle", 3.0)):
        got = slicer.slices(centres, shape, w)
        assert got.shape == (3, 2, 3) and got.dtype == np.float32
        u = np.linspace(-w, w, 20_001)
        dens = (np.abs(u) <= w / 2) / w if shape == "rect" else np.maximum(0, 1 - np.abs(u) / w) / w
        for c, g in zip(centres, got[:, 0, 0]):
            want = np.trapezoid(dens * 100 * np.sin((c + u) / 2), u)
            assert g == pytest.approx(want, abs=0.02)
    # a constant object stays constant whatever the profile
    const = analytic.ExactSlicer(lambda z: np.full((len(z), 1, 1), 7.0, np.float32), (-5, 5), h=0.05)
    np.testing.assert_allclose(const.slices([0.0, 1.3], "triangle", 3.0), 7.0, rtol=1e-6)


def test_rods_object_draws_in_order_and_paints_its_parts():
    obj = analytic.RodsObject.random(np.random.default_rng(0), 48, gap_z=1.0)
    rng = np.random.default_rng(0)
    t1, t2, dz, phase = rng.uniform(12, 18), rng.uniform(6, 10), rng.uniform(-1, 1), rng.uniform(0, 2 * np.pi)
    assert obj.rods[0][1] == np.deg2rad(t1) and obj.rods[1][1] == np.deg2rad(-t2)
    assert obj.sphere == (0.0, 1.0 + dz, 3.5) and obj.phase == phase
    xy = obj.xy
    np.testing.assert_allclose(xy, (np.arange(48) + 0.5) * 1.0 - 24.0)
    sz = obj.sphere[1]
    img = obj([sz])[0]
    i0 = int(np.argmin(np.abs(xy - 0.0)))
    assert img[i0, i0] == 250.0  # the sphere's centre
    assert img[0, 0] == -1000.0  # outside the body
    ib = int(np.argmin(np.abs(xy - 8.0)))
    assert img[i0, ib] == pytest.approx(100 + 100 * np.sin(2 * np.pi * sz / 7.0 + phase), abs=1e-4)  # the box
    assert img[i0 + 15, i0] == 40.0  # plain body


def test_method_weights_are_the_methods_weights():
    pos = np.arange(12) * 0.8
    w = analytic.method_weights(pos, 3.0, 2.0, "average", thin_thickness=1.0)
    # groups of k = 3 consecutive slices, equal weights
    assert w.shape == (4, 12)
    for j in range(4):
        want = np.zeros(12)
        want[3 * j:3 * j + 3] = 1 / 3
        np.testing.assert_allclose(w[j], want, atol=1e-12)
    tri = analytic.method_weights(pos, 3.0, 2.0, "proposed")
    # Algorithm 1 positions 0, 2, 4, ...; Algorithm 2 normalised triangle weights
    for j, p in enumerate(np.arange(0.0, pos[-1] + 1e-9, 2.0)):
        g = np.maximum(0.0, 1 - np.abs(pos - p) / 3.0)
        np.testing.assert_allclose(tri[j], g / g.sum(), atol=1e-12)
