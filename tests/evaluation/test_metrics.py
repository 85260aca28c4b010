"""Tests of t2tcore.evaluation.metrics against independent truth: numpy formulas written out here,
literal SSIM window statistics, analytic offsets and phantoms, closed-form Fréchet
distances."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from t2tcore.evaluation import metrics as M

# ---------------------------------------------------------------- small phantoms


def phantom(shape=(12, 40, 40), seed=0, noise=5.0):
    """Ellipse of soft tissue (40 HU) in air (-1000 HU) with a lung-like hole and a bone
    spot; Gaussian noise."""
    rng = np.random.default_rng(seed)
    z, y, x = np.indices(shape)
    cy, cx = shape[1] / 2, shape[2] / 2
    body = ((y - cy) / (0.4 * shape[1])) ** 2 + ((x - cx) / (0.45 * shape[2])) ** 2 < 1
    lung = (y - cy) ** 2 + (x - cx + shape[2] * 0.15) ** 2 < (0.1 * shape[1]) ** 2
    bone = (y - cy) ** 2 + (x - cx - shape[2] * 0.15) ** 2 < (0.06 * shape[1]) ** 2
    v = np.full(shape, -1000.0)
    v[body] = 40.0
    v[lung & body] = -850.0
    v[bone & body] = 700.0 + 10.0 * z[bone & body]
    v += rng.normal(0.0, noise, shape)
    return v.astype(np.float32)


def np_psnr(a, b, r):
    return 10 * np.log10(r**2 / np.mean((np.float64(a) - np.float64(b)) ** 2))


def np_minmax(v):
    v = np.float64(v)
    return 2 * (v - v.min()) / (v.max() - v.min()) - 1


def literal_ssim_at(a, b, index, r, win=7):
    """SSIM at one voxel from its window, written out (sample covariance, K1 .01, K2 .03)."""
    h = win // 2
    sl = tuple(slice(i - h, i + h + 1) for i in index)
    x, y = np.float64(a[sl]).ravel(), np.float64(b[sl]).ravel()
    mx, my = x.mean(), y.mean()
    vx, vy = x.var(ddof=1), y.var(ddof=1)
    cxy = ((x - mx) * (y - my)).sum() / (x.size - 1)
    c1, c2 = (0.01 * r) ** 2, (0.03 * r) ** 2
    return ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))


# ---------------------------------------------------------------- PSNR / RMSE


def test_psnr_rmse_match_numpy_formulas_on_raw_arrays():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(5, 9, 11)).astype(np.float32)
    b = a + rng.normal(scale=0.1, size=a.shape).astype(np.float32)
    assert M.rmse(a, b) == pytest.approx(math.sqrt(np.mean((np.float64(a) - np.float64(b)) ** 2)), rel=1e-6)
    assert M.psnr(a, b, 3.0) == pytest.approx(np_psnr(a, b, 3.0), rel=1e-6)
    mask = rng.random(a.shape) > 0.5
    d = np.float64(a[mask]) - np.float64(b[mask])
    assert M.rmse(a, b, mask=mask) == pytest.approx(math.sqrt(np.mean(d**2)), rel=1e-6)


def test_compare_paper_convention_matches_hand_computed_minmax_metrics():
    ref = phantom(seed=1)
    tst = phantom(seed=2, noise=20.0)
    out = M.compare(ref, tst, "paper")
    a, b = np_minmax(ref), np_minmax(tst)
    assert out["rmse"] == pytest.approx(math.sqrt(np.mean((a - b) ** 2)), rel=1e-5)
    assert out["psnr"] == pytest.approx(np_psnr(a, b, 2.0), rel=1e-5)
    assert out["data_range"] == 2.0 and out["n_voxels"] == ref.size


def test_compare_hu_convention_matches_hand_computed_metrics_in_body():
    ref = phantom(seed=1)
    tst = phantom(seed=2, noise=20.0)
    out = M.compare(ref, tst, "hu")
    body = M.body_mask(ref)
    d = np.float64(ref[body]) - np.float64(tst[body])
    assert out["rmse"] == pytest.approx(math.sqrt(np.mean(d**2)), rel=1e-5)
    assert out["psnr"] == pytest.approx(10 * np.log10(2000.0**2 / np.mean(d**2)), rel=1e-5)
    assert out["data_range"] == 2000.0 and out["rmse_unit"] == "HU"
    assert out["n_voxels"] == body.sum() < ref.size
    # a different stated range changes PSNR by exactly 20 log10 of the ratio
    out2 = M.compare(ref, tst, "hu", hu_range=(-1024.0, 3071.0))
    assert out2["psnr"] - out["psnr"] == pytest.approx(20 * np.log10(4095 / 2000), rel=1e-6)
    assert out2["rmse"] == pytest.approx(out["rmse"], rel=1e-6)


def test_hu_convention_ignores_everything_outside_the_body_mask():
    ref = phantom(seed=3)
    tst = phantom(seed=4)
    out = M.compare(ref, tst, "hu", ssim_modes=("2d",))
    tst2 = tst.copy()
    tst2[~M.body_mask(ref)] += 500.0
    out2 = M.compare(ref, tst2, "hu", ssim_modes=("2d",))
    assert out2["rmse"] == pytest.approx(out["rmse"], rel=1e-6)
    assert out2["psnr"] == pytest.approx(out["psnr"], rel=1e-6)


def test_identical_volumes_give_zero_rmse_unit_ssim_infinite_psnr():
    v = phantom()
    for conv in M.CONVENTIONS:
        out = M.compare(v, v.copy(), conv)
        assert out["rmse"] == 0.0
        assert out["psnr"] == math.inf
        assert out["ssim_3d"] == pytest.approx(1.0, abs=1e-6)
        assert out["ssim_2d"] == pytest.approx(1.0, abs=1e-6)


def test_constant_offset_gives_analytic_rmse_and_psnr():
    v = phantom()
    c = 12.5
    out = M.compare(v, v + np.float32(c), "hu", mask=np.ones(v.shape, bool))
    assert out["rmse"] == pytest.approx(c, rel=1e-4)
    assert out["psnr"] == pytest.approx(20 * math.log10(2000.0 / c), rel=1e-4)
    # on raw arrays with an arbitrary peak
    assert M.psnr(v, v - np.float32(c), 100.0) == pytest.approx(20 * math.log10(100.0 / c), rel=1e-4)
    # the paper convention rescales each volume on its own: a global offset (or gain)
    # disappears completely
    paper = M.compare(v, v * np.float32(2.0) + np.float32(c), "paper")
    assert paper["rmse"] < 1e-6 and paper["psnr"] > 120


# ---------------------------------------------------------------- SSIM


def test_ssim_3d_and_2d_differ_and_stay_in_range():
    ref = phantom(seed=5)
    rng = np.random.default_rng(0)
    # noise correlated along z changes the 3-D statistics differently from the 2-D ones
    tst = ref + np.float32(60.0) * np.cumsum(rng.normal(size=ref.shape), axis=0).astype(np.float32)
    s3 = M.ssim(ref + 1000, tst + 1000, 2000.0, mode="3d")
    s2 = M.ssim(ref + 1000, tst + 1000, 2000.0, mode="2d")
    assert -1 <= s3 <= 1 and -1 <= s2 <= 1
    assert abs(s3 - s2) > 1e-3
    # same local means, mirrored texture: luminance term ~1, structure term ~-1
    tex = rng.normal(size=(9, 16, 16)).astype(np.float32)
    neg = M.ssim(1 + tex, 1 - tex, 2.0, mode="3d")
    assert -1 <= neg < -0.9


def test_ssim_at_one_voxel_matches_literal_window_statistics():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(9, 12, 13)).astype(np.float32)
    b = (a + rng.normal(scale=0.7, size=a.shape)).astype(np.float32)
    for idx in [(4, 5, 6), (3, 3, 9)]:
        mask = np.zeros(a.shape, bool)
        mask[idx] = True
        assert M.ssim(a, b, 4.0, mode="3d", mask=mask) == pytest.approx(literal_ssim_at(a, b, idx, 4.0), rel=1e-4)
        expected_2d = literal_ssim_at(a[idx[0]], b[idx[0]], idx[1:], 4.0)
        assert M.ssim(a, b, 4.0, mode="2d", mask=mask) == pytest.approx(expected_2d, rel=1e-4)


def test_ssim_2d_is_the_mean_of_per_slice_ssims():
    from skimage.metrics import structural_similarity

    ref, tst = phantom(seed=6), phantom(seed=7, noise=30)
    per = [structural_similarity(np.float64(r), np.float64(t), data_range=2000.0, win_size=7) for r, t in zip(ref, tst)]
    assert M.ssim(ref, tst, 2000.0, mode="2d") == pytest.approx(np.mean(per), rel=1e-4)


# ---------------------------------------------------------------- scaling, masks


def test_minmax_scale_is_exact_and_leaves_input_alone():
    rng = np.random.default_rng(3)
    v = (rng.normal(size=(4, 17, 19)) * 700 - 300).astype(np.float32)
    before = v.copy()
    s = M.minmax_scale(v)
    assert s.dtype == np.float32
    assert s.min() == -1.0 and s.max() == 1.0
    assert s.flat[np.argmin(v)] == -1.0 and s.flat[np.argmax(v)] == 1.0
    np.testing.assert_allclose(s, np_minmax(v), atol=1e-6)
    np.testing.assert_array_equal(v, before)
    s255 = M.minmax_scale(v.astype(np.int16), 0.0, 255.0)
    assert s255.min() == 0.0 and s255.max() == 255.0
    with pytest.raises(ValueError, match="constant"):
        M.minmax_scale(np.ones((3, 3)))


def test_body_mask_on_disk_in_air_fills_holes_and_drops_couch():
    z, y, x = np.indices((6, 64, 64))
    disk = (y - 30) ** 2 + (x - 32) ** 2 < 20**2
    hole = (y - 30) ** 2 + (x - 32) ** 2 < 6**2
    couch = (y >= 58) & (y <= 60) & (x > 5) & (x < 59)
    v = np.full(z.shape, -1000.0, np.float32)
    v[disk] = 30.0
    v[hole] = -900.0  # air inside the body (lung/bowel gas)
    v[couch] = 200.0  # separate object below the body
    m = M.body_mask(v)
    np.testing.assert_array_equal(m, disk)
    np.testing.assert_array_equal(M.body_mask(v[2]), disk[2])
    assert not M.body_mask(np.full((3, 8, 8), -1000.0)).any()


# ---------------------------------------------------------------- validation


def test_bad_input_raises_clear_value_errors():
    v = phantom()
    with pytest.raises(ValueError, match="same shape"):
        M.compare(v, v[:-1])
    bad = v.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        M.compare(v, bad)
    with pytest.raises(ValueError, match="convention"):
        M.compare(v, v, "dB")
    with pytest.raises(ValueError, match="empty"):
        M.compare(v, v, "hu", mask=np.zeros(v.shape, bool))
    with pytest.raises(ValueError, match="data_range"):
        M.psnr(v, v, 0.0)
    with pytest.raises(ValueError, match="3-D SSIM"):
        M.ssim(v[:3], v[:3], 2.0, mode="3d")


# ---------------------------------------------------------------- Fréchet distance, FID


def test_frechet_distance_matches_closed_form_and_sqrtm():
    rng = np.random.default_rng(4)
    # diagonal covariances: d = |mu_a - mu_b|^2 + sum (s_a - s_b)^2 (s: standard deviations)
    n, dim = 4000, 5
    sa, sb = rng.uniform(0.5, 2, dim), rng.uniform(0.5, 2, dim)
    ma, mb = rng.normal(size=dim), rng.normal(size=dim)
    fa = ma + sa * rng.standard_normal((n, dim))
    fb = mb + sb * rng.standard_normal((n, dim))
    # closed form on the samples' own moments
    va, vb = fa.var(axis=0, ddof=1), fb.var(axis=0, ddof=1)
    ca, cb = np.cov(fa, rowvar=False), np.cov(fb, rowvar=False)
    off = np.abs(ca - np.diag(va)).max() + np.abs(cb - np.diag(vb)).max()
    closed = np.sum((fa.mean(0) - fb.mean(0)) ** 2) + np.sum((np.sqrt(va) - np.sqrt(vb)) ** 2)
    assert M.frechet_distance(fa, fb) == pytest.approx(closed, abs=10 * off)
    # general covariances: all routes == scipy.linalg.sqrtm, symmetric, zero on itself;
    # with more and with fewer samples than dimensions (rank-deficient covariances)
    for n_a, n_b in [(50, 60), (12, 9)]:
        ga = rng.normal(size=(n_a, 30)) @ rng.normal(size=(30, 30))
        gb = rng.normal(size=(n_b, 30)) @ rng.normal(size=(30, 30)) + 0.5
        d = M.frechet_distance(ga, gb, method="sqrtm")
        for method in ("auto", "gram", "eigh"):
            assert M.frechet_distance(ga, gb, method=method) == pytest.approx(d, rel=1e-7)
            assert M.frechet_distance(gb, ga, method=method) == pytest.approx(d, rel=1e-7)
            assert abs(M.frechet_distance(ga, ga, method=method)) < 1e-7 * d
    with pytest.raises(ValueError, match="at least 2"):
        M.frechet_distance(ga[:1], gb)


def fid_slices(n=8, size=96, seed=0):
    """n different axial slices (HU) of random ellipse phantoms."""
    rng = np.random.default_rng(seed)
    y, x = np.indices((size, size))
    out = np.full((n, size, size), -1000.0, np.float32)
    for i in range(n):
        body = ((y - size / 2) / rng.uniform(0.3, 0.45) / size) ** 2 + ((x - size / 2) / rng.uniform(0.35, 0.48) / size) ** 2 < 1
        out[i][body] = rng.uniform(0, 60)
        for _ in range(4):
            cy, cx, r = rng.uniform(0.3, 0.7) * size, rng.uniform(0.3, 0.7) * size, rng.uniform(2, 10)
            out[i][((y - cy) ** 2 + (x - cx) ** 2 < r * r) & body] = rng.uniform(-900, 900)
        out[i] += rng.normal(0, 10, (size, size)).astype(np.float32)
    return out


@pytest.mark.slow
def test_fid_zero_on_itself_symmetric_and_monotone_in_noise_and_blur():
    a = fid_slices(n=6)
    fa = M.fid_features(a, progress=False)
    assert fa.shape == (len(a), 2048)
    assert abs(M.frechet_distance(fa, M.fid_features(a.copy(), progress=False))) < 1e-3
    rng = np.random.default_rng(1)
    noisy = [M.fid_features(a + rng.normal(0, s, a.shape).astype(np.float32), progress=False) for s in (20, 80, 250)]
    d_noise = [M.frechet_distance(fa, f) for f in noisy]
    print("FID vs noise 20/80/250 HU:", d_noise)
    assert 0 < d_noise[0] < d_noise[1] < d_noise[2], d_noise
    blurred = [M.fid_features(gaussian_filter(a, (0, s, s)), progress=False) for s in (0.7, 1.5, 3.0)]
    d_blur = [M.frechet_distance(fa, f) for f in blurred]
    print("FID vs blur sigma 0.7/1.5/3 px:", d_blur)
    assert 0 < d_blur[0] < d_blur[1] < d_blur[2], d_blur
    assert M.frechet_distance(noisy[1], fa) == pytest.approx(d_noise[1], rel=1e-6)
    # the "paper" window (per-volume min-max) gives other images, hence other features
    fp = M.fid_features(a, window="paper", progress=False)
    assert fp.shape == fa.shape and M.frechet_distance(fa, fp) > 0


def test_fid_input_checks():
    with pytest.raises(ValueError, match="window"):
        M.fid_features(np.zeros((2, 16, 16)), window="lung", progress=False)
    with pytest.raises(ValueError, match="stride"):
        M.fid_features(np.zeros((2, 16, 16)), stride=0, progress=False)
    with pytest.raises(ValueError, match="expected"):
        M.fid_features(np.zeros((2, 2, 16, 16)), progress=False)


# ---------------------------------------------------------------- KID


def _kid_literal(a, b):
    """The unbiased MMD^2 with k(x, y) = (x.y / d + 1)^3, written as loops."""
    d = a.shape[1]

    def k(x, y):
        return (float(x @ y) / d + 1.0) ** 3

    m, n = len(a), len(b)
    xx = sum(k(a[i], a[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(b[i], b[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(a[i], b[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def test_kid_matches_the_literal_u_statistic_and_is_unbiased_where_fid_is_not():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, (9, 5)), rng.normal(0.3, 1, (7, 5))
    out = M.kernel_inception_distance(a, b)
    assert out["kid"] == pytest.approx(_kid_literal(a, b), rel=1e-10)
    assert out["n_a"] == 9 and out["n_b"] == 7 and out["kid_se"] > 0
    # two samples of ONE distribution, 20 vectors each in 64 dimensions: KID averages to 0, FID does not
    kids, fids, ses = [], [], []
    for _ in range(200):
        x, y = rng.normal(0, 1, (20, 64)), rng.normal(0, 1, (20, 64))
        r = M.kernel_inception_distance(x, y)
        kids.append(r["kid"])
        ses.append(r["kid_se"])
        fids.append(M.frechet_distance(x, y))
    se = np.std(kids) / np.sqrt(len(kids))
    assert abs(np.mean(kids)) < 3 * se
    assert 0.8 < np.mean(ses) / np.std(kids) < 1.8  # the jackknife standard error: right size, a little conservative
    assert np.mean(fids) > 20  # FID's small-sample bias
    # a real difference: positive, several standard errors away from 0
    x, y = rng.normal(0, 1, (60, 16)), rng.normal(0.5, 1, (60, 16))
    k = M.kernel_inception_distance(x, y)
    assert k["kid"] > 3 * k["kid_se"]
    with pytest.raises(ValueError):
        M.kernel_inception_distance(a[:2], b)
