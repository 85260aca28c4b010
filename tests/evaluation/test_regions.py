"""Tests of t2tcore.evaluation.regions against independent truth: analytic phantoms with known
regions, scikit-image's SSIM slice by slice, and volumes shifted by a known sub-voxel displacement."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage
from skimage.metrics import structural_similarity

from t2tcore.evaluation import compare
from t2tcore.evaluation import regions as R


def body_phantom(n=16, size=48, seed=0):
    """An elliptic body (40 HU) in air with a lung-like ellipse (-800 HU) and a bone disc (700 HU), noise 10 HU."""
    rng = np.random.default_rng(seed)
    z, y, x = np.meshgrid(np.arange(n), np.arange(size), np.arange(size), indexing="ij")
    c = (size - 1) / 2
    body = ((y - c) / (0.42 * size)) ** 2 + ((x - c) / (0.45 * size)) ** 2 <= 1
    lung = ((y - c) / (0.15 * size)) ** 2 + ((x - c + 0.2 * size) / (0.12 * size)) ** 2 <= 1
    bone = (y - c) ** 2 + (x - c - 0.22 * size) ** 2 <= (0.07 * size) ** 2
    v = np.where(body, 40.0, -1000.0)
    v = np.where(lung, -800.0, v)
    v = np.where(bone, 700.0, v)
    return (v + rng.normal(0, 10, v.shape)).astype(np.float32), body, lung, bone


def test_region_masks_find_the_tissues_of_a_known_phantom():
    v, body, lung, bone = body_phantom()
    m = R.region_masks(v, (1.0, 1.0, 1.0))
    assert list(m) == list(R.REGIONS)
    assert m["all"].all()
    assert (m["body"] == body).mean() > 0.999
    assert (m["lung"] == lung).mean() > 0.999 and (m["bone"] == bone).mean() > 0.999
    assert not (m["soft_tissue"] & (m["lung"] | m["bone"])).any()
    # edges: the top tenth of the gradient inside the body, i.e. at the tissue borders
    frac = m["edge"].sum() / m["body"].sum()
    assert 0.09 <= frac <= 0.11
    border = (ndimage.binary_dilation(lung) ^ ndimage.binary_erosion(lung)) | (ndimage.binary_dilation(bone) ^ ndimage.binary_erosion(bone))
    border |= ndimage.binary_dilation(~body) & body
    assert (m["edge"] & border).sum() / m["edge"].sum() > 0.9


def test_ssim_map_2d_is_scikit_image_slice_by_slice():
    rng = np.random.default_rng(1)
    a = rng.normal(0, 1, (4, 30, 37)).astype(np.float32)
    b = (a + rng.normal(0, 0.7, a.shape)).astype(np.float32)
    for r in (2.0, 7.5):
        smap = R.ssim_map_2d(a, b, r)
        for z in range(4):
            want, full = structural_similarity(a[z], b[z], win_size=7, data_range=r, full=True)
            np.testing.assert_allclose(smap[z], full, atol=2e-5)
            assert smap[z, 3:-3, 3:-3].mean() == pytest.approx(want, abs=1e-5)


def test_region_scores_are_the_errors_inside_each_region_in_each_convention():
    v, *_ = body_phantom(seed=2)
    rng = np.random.default_rng(3)
    t = (v + rng.normal(0, 30, v.shape)).astype(np.float32)
    masks = R.region_masks(v)
    hu = R.region_scores(v, t, masks, "hu")
    for name in ("body", "lung", "bone", "edge"):
        m = masks[name]
        rmse = math.sqrt(np.mean((v[m].astype(float) - t[m]) ** 2))
        assert hu[name]["rmse"] == pytest.approx(rmse, rel=1e-5) and hu[name]["n_voxels"] == m.sum()
        assert hu[name]["psnr"] == pytest.approx(20 * math.log10(2000 / rmse), rel=1e-5)
    # the whole box in the paper and window conventions, the body in HU: what compare() gives
    for conv, reg in (("paper", "all"), ("window", "all"), ("hu", "body")):
        got = R.region_scores(v, t, masks, conv)[reg]
        want = compare(v, t, conv, mask=None if reg == "all" else masks[reg], ssim_modes=("2d",))
        assert got["psnr"] == pytest.approx(want["psnr"], abs=1e-4) and got["rmse"] == pytest.approx(want["rmse"], rel=1e-5)
        if reg == "all":
            assert got["ssim_2d"] == pytest.approx(want["ssim_2d"], abs=1e-5)
    empty = R.region_scores(v, t, {"none": np.zeros(v.shape, bool)}, "hu")["none"]
    assert empty["n_voxels"] == 0 and math.isnan(empty["rmse"])


def test_the_window_convention_cannot_be_swung_by_one_voxel_the_paper_convention_can():
    v, *_ = body_phantom(seed=4)
    rng = np.random.default_rng(5)
    t = (v + rng.normal(0, 20, v.shape)).astype(np.float32)
    spike = t.copy()
    spike[8, 24, 24] = 3000.0  # one voxel beyond every other (metal, a hot pixel)
    paper = compare(v, t, "paper")["psnr"] - compare(v, spike, "paper")["psnr"]
    window = compare(v, t, "window")["psnr"] - compare(v, spike, "window")["psnr"]
    # clipped at +1000 HU, one voxel adds at most 4 / N to the window's MSE (scale [-1, 1])
    mse = compare(v, t, "window")["rmse"] ** 2
    bound = 10 * math.log10(1 + 4 / (v.size * mse))
    assert 0 < window <= bound + 1e-6
    assert paper > 3.0 and paper > 10 * bound  # the paper's scale follows the spike: every voxel moves


def edges(n=48, size=24, seed=0, shift=0.0, blur=0.0):
    """Columns with tanh edges at random z (smooth, so a sub-voxel shift is exact: sampled at z - shift)."""
    rng = np.random.default_rng(seed)
    z = np.arange(n, dtype=float)[:, None, None]
    c = rng.uniform(12, n - 12, (1, size, size))
    w = rng.uniform(0.8, 2.0, (1, size, size)) if blur == 0 else np.sqrt(rng.uniform(0.8, 2.0, (1, size, size)) ** 2 + blur ** 2)
    s = rng.choice([-1.0, 1.0], (1, size, size))
    return (500.0 * s * np.tanh((z - shift - c) / w)).astype(np.float32)


@pytest.mark.parametrize("shift", [0.0, 0.25, -0.4, 0.8, -1.3])
def test_z_displacement_recovers_a_known_sub_voxel_shift(shift):
    ref = edges()
    out = R.z_displacement(ref, edges(shift=shift), 0.8, body=np.ones(ref.shape, bool))
    assert out["z_edges"] > 300
    assert out["z_displacement_mm"] == pytest.approx(0.8 * shift, abs=0.01)
    assert out["z_abs_displacement_mm"] == pytest.approx(0.8 * abs(shift), abs=0.01)


def test_z_displacement_of_a_symmetric_blur_is_zero_and_without_edges_nan():
    ref = edges(seed=1)
    blurred = edges(seed=1, blur=1.5)  # wider edges at the same places: no displacement
    out = R.z_displacement(ref, blurred, 1.0, body=np.ones(ref.shape, bool))
    assert abs(out["z_displacement_mm"]) < 0.02 and out["z_abs_displacement_mm"] < 0.05
    flat = np.zeros((20, 8, 8), np.float32)
    none = R.z_displacement(flat, flat, 1.0, body=np.ones(flat.shape, bool))
    assert none["z_edges"] == 0 and math.isnan(none["z_displacement_mm"])
    with pytest.raises(ValueError):
        R.z_displacement(flat, flat[:10], 1.0)


def test_case_scorer_gives_region_scores_in_every_convention():
    v, *_ = body_phantom(n=12, size=40, seed=6)
    rng = np.random.default_rng(7)
    t = (v + rng.normal(0, 25, v.shape)).astype(np.float32)
    t[3, 20, 20], t[5, 10, 30] = 2500.0, -1300.0  # beyond the window and the volume's extremes
    cs = R.CaseScorer(v, (0.8, 1.0, 1.0))
    rows = cs.score(t)
    assert len(rows) == 3 * 6
    for c in ("paper", "window", "hu"):
        want = R.region_scores(v, t, cs.masks, c)
        for r in (r for r in rows if r["convention"] == c):
            w = want[r["region"]]
            assert r["n_voxels"] == w["n_voxels"]
            assert r["psnr"] == pytest.approx(w["psnr"], abs=1e-4) and r["rmse"] == pytest.approx(w["rmse"], rel=1e-5)
            assert r["ssim_2d"] == pytest.approx(w["ssim_2d"], abs=2e-5)
    with pytest.raises(ValueError):
        cs.score(t[:5])
