"""Tests of t2tcore.simulation.simulate against independent truth: literal loops of the paper's
algorithms, hand-computed groups, scipy, and analytic volumes."""

from __future__ import annotations

import gc
import math
import tracemalloc

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from t2tcore import METHODS, simulate_thick, thick_positions
from t2tcore.simulation.simulate import blur_in_plane, gaussian_kernel, triangle_kernel, weight_matrix

RTOL = 1e-5


# ---------------------------------------------------------------- literal references


def literal_algorithm1(s, e, d):
    """Algorithm 1 as printed (accumulating p += d)."""
    out = []
    p = s
    while s <= p <= e:
        out.append(p)
        p = p + d
    return out


def literal_algorithm2(thick_locs, thin_images, thin_locs, t):
    """Algorithm 2 as printed, one slice at a time, in float64 (the paper's p/l naming:
    l is the thick location, p the thin one)."""
    result = []
    for l in thick_locs:
        w_total = 0.0
        acc = np.zeros(thin_images[0].shape, dtype=np.float64)
        for i, p in zip(thin_images, thin_locs):
            w = max(0.0, 1.0 - abs(p - l) / t)
            if w == 0:
                continue
            acc = acc + i.astype(np.float64) * w
            w_total += w
        result.append(acc / w_total)
    return np.stack(result)


def assert_close(actual, expected, scale=None):
    """Relative comparison at RTOL, with an absolute floor at RTOL of the data's scale (values
    that cross 0 have no meaningful relative error)."""
    expected = np.asarray(expected, dtype=np.float64)
    scale = np.abs(expected).max() if scale is None else scale
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), expected, rtol=RTOL, atol=RTOL * scale)


def irregular_positions(rng, n):
    """Positions with normal steps, overlaps (spacing well below the thickness), a gap and
    non-integer ratios."""
    steps = rng.choice([0.8, 0.5, 0.3, 1.1, 0.625], size=n - 1)
    steps[n // 2] = 2.4  # a gap, still narrower than the 3 mm kernel
    return 12.3 + np.concatenate([[0.0], np.cumsum(steps)])


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def hu_volume(rng, z, y=9, x=7):
    return (rng.normal(0, 300, size=(z, y, x)) - 500).astype(np.float32)


# ---------------------------------------------------------------- Algorithm 1


def test_algorithm1_matches_literal_loop():
    for s, e, d in [(0.0, 10.0, 2.0), (-171.25, -20.0, 3.0), (5.0, 5.7, 0.25), (0.0, 0.9, 1.0)]:
        np.testing.assert_allclose(thick_positions(s, e, d), literal_algorithm1(s, e, d), atol=1e-12)


def test_algorithm1_end_not_on_grid():
    p = thick_positions(1.0, 8.9, 2.0)
    np.testing.assert_array_equal(p, [1.0, 3.0, 5.0, 7.0])
    assert thick_positions(3.0, 3.0, 2.0).tolist() == [3.0]


def test_algorithm1_end_on_grid_despite_round_off():
    # 0.1 * 3 != 0.3 in floating point, and accumulating p += 0.1 drops the end point
    assert len(literal_algorithm1(0.0, 0.3, 0.1)) == 3
    p = thick_positions(0.0, 0.3, 0.1)
    assert len(p) == 4 and p[-1] == 0.3
    p = thick_positions(-300.1, 99.9, 0.1)
    assert len(p) == 4001 and p[-1] == 99.9
    np.testing.assert_allclose(np.diff(p), 0.1, atol=1e-9)


def test_algorithm1_errors():
    with pytest.raises(ValueError, match="interval"):
        thick_positions(0, 1, 0)
    with pytest.raises(ValueError, match="interval"):
        thick_positions(0, 1, -1)
    with pytest.raises(ValueError, match="end"):
        thick_positions(2, 1, 1)
    with pytest.raises(ValueError, match="finite"):
        thick_positions(0, np.nan, 1)


# ---------------------------------------------------------------- Algorithm 2


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("thickness,interval", [(3.0, 2.0), (2.5, 1.7), (1.3, 0.9)])
def test_proposed_equals_literal_algorithm2(rng, descending, thickness, interval):
    pos = irregular_positions(rng, 40)
    vol = hu_volume(rng, pos.size)
    if thickness < 2.4:  # keep the gap coverable for the thin kernels
        pos = np.sort(pos)
        pos[pos.size // 2 + 1 :] -= 1.6
    if descending:
        pos, vol = pos[::-1].copy(), vol[::-1].copy()
    out, p = simulate_thick(vol, pos, thickness, interval)
    expected_p = literal_algorithm1(pos.min(), pos.max(), interval)
    assert len(p) == len(expected_p)
    np.testing.assert_allclose(p, expected_p, atol=1e-9)
    assert out.dtype == np.float32 and out.shape == (len(p),) + vol.shape[1:]
    assert_close(out, literal_algorithm2(p, list(vol), list(pos), thickness))


def test_proposed_random_order_and_targets(rng):
    pos = irregular_positions(rng, 30)
    vol = hu_volume(rng, pos.size)
    perm = rng.permutation(pos.size)
    targets = np.array([20.0, 13.1, 15.55, 18.0])  # any order, kept as given
    out, p = simulate_thick(vol[perm], pos[perm], 3.0, target_positions=targets)
    np.testing.assert_array_equal(p, targets)
    assert_close(out, literal_algorithm2(targets, list(vol), list(pos), 3.0))


def test_target_outside_coverage_raises(rng):
    pos = np.arange(10) * 0.8
    vol = hu_volume(rng, 10)
    with pytest.raises(ValueError, match=r"-5"):
        simulate_thick(vol, pos, 3.0, target_positions=[1.0, -5.0])
    # inside a gap wider than the kernel
    gap = np.concatenate([np.arange(5) * 0.8, 20 + np.arange(5) * 0.8])
    with pytest.raises(ValueError, match="no weight"):
        simulate_thick(hu_volume(rng, 10), gap, 3.0, 2.0)


def test_linear_volume_stays_linear():
    # uniform 0.5 mm spacing, t = 3 mm (a multiple of the spacing): the triangle's weighted
    # centroid is exactly p at any p, on or off the grid
    pos = np.arange(80) * 0.5 - 7.0
    a, b = -120.0, 4.0
    vol = (a + b * pos)[:, None, None] * np.ones((1, 3, 4), dtype=np.float32)
    vol = vol.astype(np.float32)
    targets = np.linspace(pos[0] + 3.0, pos[-1] - 3.0, 37)  # away from the ends, off grid
    out, p = simulate_thick(vol, pos, 3.0, target_positions=targets)
    assert_close(out[:, 0, 0], a + b * targets, scale=np.abs(vol).max())
    assert np.ptp(out, axis=(1, 2)).max() == 0
    # a Gaussian along z keeps it linear too (to its truncation)
    out, _ = simulate_thick(vol, pos, 3.0, target_positions=targets[3:-3], method="gaussian_z")
    assert_close(out[:, 0, 0], a + b * targets[3:-3], scale=np.abs(vol).max())


@pytest.mark.parametrize("method", METHODS)
def test_constant_stays_constant(rng, method):
    pos = irregular_positions(rng, 30)
    vol = np.full((30, 6, 5), -731.5, dtype=np.float32)
    out, p = simulate_thick(vol, pos, 3.0, 2.0 if method in ("proposed", "gaussian_z") else None, method=method)
    assert out.shape[0] == len(p) > 0
    np.testing.assert_allclose(out, -731.5, rtol=RTOL)


def test_single_bright_slice_gives_triangle():
    # spacing 0.5 mm, t = 3 mm: sum_l g(p, l, t) = t / spacing = 6 for every p away from the
    # ends, so thick(p) = g(p, l0, t) / 6
    pos = np.arange(60) * 0.5
    vol = np.zeros((60, 2, 2), dtype=np.float32)
    l0 = pos[30]
    vol[30] = 1000.0
    targets = l0 + np.linspace(-4.0, 4.0, 81)
    out, _ = simulate_thick(vol, pos, 3.0, target_positions=targets)
    expected = 1000.0 * np.maximum(0.0, 1.0 - np.abs(targets - l0) / 3.0) / 6.0
    assert_close(out[:, 1, 0], expected)
    assert out[:, 1, 0].argmax() == 40


def test_gaussian_z_fwhm():
    pos = np.arange(200) * 0.1
    vol = np.zeros((200, 1, 1), dtype=np.float32)
    vol[100] = 1.0
    targets = pos[100] + np.linspace(-5, 5, 2001)
    out, _ = simulate_thick(vol, pos, 4.0, target_positions=targets, method="gaussian_z")
    prof = out[:, 0, 0].astype(np.float64)
    above = targets[prof >= prof.max() / 2]
    assert above.max() - above.min() == pytest.approx(4.0, abs=0.01)
    # the kernel itself: half its peak at +-FWHM/2
    k = gaussian_kernel(4.0)
    assert k(2.0) == pytest.approx(0.5 * k(0.0), rel=1e-12)
    assert k(k.radius + 1e-6) == 0


def test_kernels_and_weight_matrix():
    tri = triangle_kernel(3.0)
    np.testing.assert_allclose(tri([-3.0, -1.5, 0.0, 1.5, 3.0, 4.0]), [0, 0.5, 1, 0.5, 0, 0])
    thin = np.array([0.0, 0.8, 1.6, 2.4, 3.2])
    w = weight_matrix(thin, [1.6], tri, normalize=False)
    np.testing.assert_allclose(w[0], 1 - np.abs(thin - 1.6) / 3.0)
    w = weight_matrix(thin, [0.0, 1.6], tri)
    np.testing.assert_allclose(w.sum(axis=1), 1.0)


# ---------------------------------------------------------------- baselines


@pytest.fixture
def baseline_case(rng):
    pos = 0.8 * np.arange(10) + 100.0  # 0.8 mm spacing, 1 mm thin thickness
    return hu_volume(rng, 10), pos


def test_direct_and_average_by_hand(baseline_case):
    vol, pos = baseline_case
    # 1 mm -> 3 mm: k = 3 even at 0.8 mm spacing; 10 // 3 = 3 groups, slice 9 dropped
    out, p = simulate_thick(vol, pos, 3.0, method="direct", thin_thickness=1.0)
    np.testing.assert_array_equal(out, vol[[1, 4, 7]])
    np.testing.assert_allclose(p, [100.8, 103.2, 105.6])
    out, p = simulate_thick(vol, pos, 3.0, method="average", thin_thickness=1.0)
    expected = np.stack([(vol[0] + vol[1] + vol[2]) / 3, (vol[3] + vol[4] + vol[5]) / 3, (vol[6] + vol[7] + vol[8]) / 3])
    assert_close(out, expected)
    np.testing.assert_allclose(p, [100.8, 103.2, 105.6])
    # default thin thickness = median spacing 0.8 mm: k = round(3.75) = 4, 2 groups
    out, p = simulate_thick(vol, pos, 3.0, method="average")
    assert_close(out, [vol[0:4].mean(0), vol[4:8].mean(0)])
    np.testing.assert_allclose(p, [101.2, 104.4])
    out, p = simulate_thick(vol, pos, 3.0, method="direct")  # even k: slice k // 2 of a group
    np.testing.assert_array_equal(out, vol[[2, 6]])
    np.testing.assert_allclose(p, pos[[2, 6]])


def test_baselines_follow_position_order(baseline_case):
    vol, pos = baseline_case
    a, pa = simulate_thick(vol, pos, 3.0, method="average", thin_thickness=1.0)
    b, pb = simulate_thick(vol[::-1].copy(), pos[::-1].copy(), 3.0, method="average", thin_thickness=1.0)
    assert_close(a, b)  # same groups, summed in the opposite order
    np.testing.assert_array_equal(pa, pb)


@pytest.mark.parametrize("sigma", [1.0, 0.7, 2.5])
def test_gaussian_is_mean_then_scipy_blur(rng, sigma):
    vol = hu_volume(rng, 9, 23, 17)
    pos = np.arange(9) * 1.0
    out, p = simulate_thick(vol, pos, 3.0, method="gaussian", sigma=sigma)
    expected = [gaussian_filter(vol[3 * g : 3 * g + 3].astype(np.float64).mean(0), sigma) for g in range(3)]
    assert_close(out, expected)
    np.testing.assert_allclose(p, [1.0, 4.0, 7.0])
    out0, _ = simulate_thick(vol, pos, 3.0, method="gaussian", sigma=0)
    out_avg, _ = simulate_thick(vol, pos, 3.0, method="average")
    np.testing.assert_array_equal(out0, out_avg)


# ---------------------------------------------------------------- input handling


@pytest.mark.parametrize("method", METHODS)
def test_inputs_unmodified(rng, method):
    pos = irregular_positions(rng, 25)[::-1].copy()
    vol = hu_volume(rng, 25)
    vol_copy, pos_copy = vol.copy(), pos.copy()
    interval = 2.0 if method in ("proposed", "gaussian_z") else None
    simulate_thick(vol, pos, 3.0, interval, method=method)
    np.testing.assert_array_equal(vol, vol_copy)
    np.testing.assert_array_equal(pos, pos_copy)
    targets = np.array([15.0, 14.0])
    if interval:
        simulate_thick(vol, pos, 3.0, method=method, target_positions=targets)
        np.testing.assert_array_equal(targets, [15.0, 14.0])


def test_any_memory_layout_and_dtype(rng):
    pos = irregular_positions(rng, 20)
    vol = hu_volume(rng, 20, 11, 8)
    expected = literal_algorithm2(thick_positions(pos[0], pos[-1], 2.0), list(vol), list(pos), 3.0)
    fortran_in_plane = np.ascontiguousarray(vol.transpose(0, 2, 1)).transpose(0, 2, 1)
    every_other = np.repeat(vol, 2, axis=0)[::2]
    for v in (fortran_in_plane, every_other, vol.astype(np.float64)):
        out, _ = simulate_thick(v, pos, 3.0, 2.0)
        assert_close(out, expected)
    assert simulate_thick(vol.astype(np.float64), pos, 3.0, 2.0)[0].dtype == np.float64
    as_int = np.round(vol).astype(np.int16)
    out, _ = simulate_thick(as_int, pos, 3.0, 2.0)
    assert out.dtype == np.float32
    assert_close(out, literal_algorithm2(thick_positions(pos[0], pos[-1], 2.0), list(as_int), list(pos), 3.0))


def test_errors(rng):
    vol = hu_volume(rng, 10)
    pos = np.arange(10) * 0.8
    cases = [
        (dict(volume=vol[0], positions=pos[:9]), "3-D"),
        (dict(positions=pos[:9]), "one entry per slice"),
        (dict(positions=np.where(np.arange(10) == 3, np.nan, pos)), "finite"),
        (dict(positions=np.where(np.arange(10) == 3, pos[2], pos)), "distinct"),
        (dict(thickness=0.0), "thickness"),
        (dict(thickness=-3.0), "thickness"),
        (dict(thickness=np.inf), "thickness"),
        (dict(interval=0.0), "interval"),
        (dict(interval=-2.0), "interval"),
        (dict(interval=None), "interval"),
        (dict(method="nearest"), "proposed, direct, average, gaussian, gaussian_z"),
        (dict(interval=None, target_positions=[1.0, np.nan]), "target_positions"),
        (dict(interval=None, target_positions=[]), "target_positions"),
        (dict(method="average", target_positions=[1.0]), "target_positions"),
        (dict(method="average", thin_thickness=0.0), "thin_thickness"),
        (dict(method="average", thin_thickness=0.5, thickness=30.0), "groups"),
        (dict(method="gaussian", sigma=-1.0), "sigma"),
    ]
    for override, match in cases:
        kw = dict(volume=vol, positions=pos, thickness=3.0, interval=2.0)
        kw.update(override)
        with pytest.raises(ValueError, match=match):
            simulate_thick(**kw)


# ---------------------------------------------------------------- torch path


@pytest.mark.parametrize("method", METHODS)
def test_torch_cpu_equals_numpy(rng, method):
    import torch
    pos = irregular_positions(rng, 30)[::-1].copy()
    vol = hu_volume(rng, 30, 19, 13)
    kw = dict(method=method, sigma=1.3)
    if method in ("proposed", "gaussian_z"):
        kw["interval"] = 1.7
    out_np, p_np = simulate_thick(vol, pos, 3.0, **kw)
    out_t, p_t = simulate_thick(torch.from_numpy(vol), torch.from_numpy(pos), 3.0, **kw)
    # a tensor that is not contiguous in-plane gives the same
    vol_t = torch.from_numpy(np.ascontiguousarray(vol.transpose(0, 2, 1))).transpose(1, 2)
    assert_close(simulate_thick(vol_t, pos, 3.0, **kw)[0].numpy(), out_np)
    assert isinstance(out_t, torch.Tensor) and out_t.dtype == torch.float32
    assert isinstance(p_t, torch.Tensor) and p_t.dtype == torch.float64
    assert_close(out_t.numpy(), out_np)
    np.testing.assert_array_equal(p_t.numpy(), p_np)


@pytest.mark.parametrize("shape,sigma", [((20, 31, 24), 1.0), ((3, 3, 5), 2.5)])
def test_torch_blur_equals_scipy(rng, shape, sigma):
    import torch
    vol = rng.normal(size=shape).astype(np.float32)
    out = blur_in_plane(torch.from_numpy(vol), sigma).numpy()
    assert_close(out, [gaussian_filter(v.astype(np.float64), sigma) for v in vol])
    assert_close(blur_in_plane(vol, sigma), [gaussian_filter(v.astype(np.float64), sigma) for v in vol])


def test_torch_cuda_equals_numpy(rng):
    import torch
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    pos = irregular_positions(rng, 30)
    vol = hu_volume(rng, 30, 64, 48)
    for method in METHODS:
        kw = dict(method=method, interval=1.7) if method in ("proposed", "gaussian_z") else dict(method=method)
        out_np, p_np = simulate_thick(vol, pos, 3.0, **kw)
        out_t, p_t = simulate_thick(torch.from_numpy(vol).cuda(), pos, 3.0, **kw)
        assert out_t.is_cuda and p_t.is_cuda
        assert_close(out_t.cpu().numpy(), out_np)
        np.testing.assert_array_equal(p_t.cpu().numpy(), p_np)


# ---------------------------------------------------------------- memory


@pytest.mark.parametrize("method", METHODS)
def test_memory_bounded(method):
    z, y, x = 300, 256, 256
    vol = np.random.default_rng(0).normal(size=(z, y, x)).astype(np.float32)
    pos = np.arange(z) * 0.8
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        out, p = simulate_thick(vol, pos, 3.0, 2.0 if method in ("proposed", "gaussian_z") else None, method=method)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    extra = peak - out.nbytes
    assert out.shape == ((120 if method in ("proposed", "gaussian_z") else 75), y, x)
    assert extra <= 0.25 * (vol.nbytes + out.nbytes), f"extra {extra / 2**20:.1f} MiB"
    if method != "proposed":
        return
    # and the result is right (spot check against the literal loop on a few slices)
    sub = [0, 57, 119]
    expected = literal_algorithm2(p[sub], list(vol[:, :8, :8]), list(pos), 3.0)
    assert_close(out[sub, :8, :8], expected)
    assert math.isclose(p[-1], 238.0)
