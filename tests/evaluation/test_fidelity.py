"""Tests of t2tcore.evaluation.fidelity: alignment of stacks, per-patient evaluation, FID rows, Fig. 7."""

from __future__ import annotations

import numpy as np
import pytest

from t2tcore.evaluation import fidelity as fd
from t2tcore.evaluation import metrics
from t2tcore.io import Series
from t2tcore.simulation.simulate import simulate_thick


# ----------------------------------------------------------------------------- helpers


def linear_stack(positions, ny=4, nx=5, slope=3.0, offset=-7.0):
    """Slices whose every pixel is ``slope * z + offset + pixel``: linear in z, so linear
    interpolation in mm must reproduce it exactly at any position inside the range."""
    z = np.asarray(positions, dtype=np.float64)
    pix = np.arange(ny * nx, dtype=np.float64).reshape(ny, nx)
    return (slope * z[:, None, None] + offset + pix[None]).astype(np.float32)


def object_series(positions, thickness, ny=24, nx=24, seed=0):
    """A Series sampling a smooth 3-D object (a z-varying body with a tilted rod)."""
    z = np.asarray(positions, dtype=np.float64)
    y, x = np.mgrid[0:ny, 0:nx].astype(np.float64)
    vol = np.empty((z.size, ny, nx), dtype=np.float32)
    for i, zi in enumerate(z):
        body = np.where((x - 12) ** 2 + (y - 12) ** 2 < 100, 40.0 + 30 * np.sin(zi / 2.3), -1000.0)
        rod = 300.0 * (((x - 8 - 0.4 * zi) ** 2 + (y - 12) ** 2) < 6)
        vol[i] = body + rod
    return Series.from_array(vol, z, (0.7, 0.7), thickness)


# ----------------------------------------------------------------------------- resample_z


def test_resample_z_is_exact_on_linear_data_and_at_sample_positions():
    pos = np.array([0.0, 0.8, 1.6, 2.4, 3.2, 4.0])
    vol = linear_stack(pos)
    targets = np.array([0.0, 0.3, 1.7, 3.99, 4.0, 2.4])
    out = fd.resample_z(vol, pos, targets)
    np.testing.assert_allclose(out, linear_stack(targets), rtol=0, atol=1e-4)
    # at a sample position the slice comes back bit for bit
    np.testing.assert_array_equal(fd.resample_z(vol, pos, pos[[3, 1]]), vol[[3, 1]])
    assert out.dtype == np.float32 and out.shape == (6, 4, 5)


def test_resample_z_against_literal_loop_with_unsorted_positions():
    rng = np.random.default_rng(1)
    pos = np.sort(rng.uniform(0, 10, 9))
    vol = rng.normal(size=(9, 3, 3)).astype(np.float32)
    perm = rng.permutation(9)
    targets = rng.uniform(pos[0], pos[-1], 7)
    got = fd.resample_z(vol[perm], pos[perm], targets)
    for j, t in enumerate(targets):
        b = int(np.searchsorted(pos, t))
        a = b - 1
        w = (t - pos[a]) / (pos[b] - pos[a])
        np.testing.assert_allclose(got[j], (1 - w) * vol[a] + w * vol[b], atol=1e-5)


def test_resample_z_refuses_or_clamps_outside_and_never_extrapolates():
    pos = np.array([1.0, 2.0, 3.0])
    vol = linear_stack(pos)
    with pytest.raises(ValueError, match="outside the covered range"):
        fd.resample_z(vol, pos, [0.5, 2.0])
    out = fd.resample_z(vol, pos, [0.5, 3.5], outside="clamp")
    np.testing.assert_array_equal(out[0], vol[0])
    np.testing.assert_array_equal(out[1], vol[2])
    np.testing.assert_array_equal(fd.covered(pos, [0.5, 1.0, 3.0, 3.0000001, 3.1]), [False, True, True, True, False])


def test_resample_z_bad_input():
    vol = np.zeros((3, 2, 2), np.float32)
    with pytest.raises(ValueError, match="distinct"):
        fd.resample_z(vol, [0, 1, 1], [0.5])
    with pytest.raises(ValueError, match="3 slices"):
        fd.resample_z(vol, [0, 1], [0.5])
    with pytest.raises(ValueError, match="outside must be"):
        fd.resample_z(vol, [0, 1, 2], [0.5], outside="extrapolate")
    before = vol.copy()
    fd.resample_z(vol, [0, 1, 2], [0.5])
    np.testing.assert_array_equal(vol, before)


# ----------------------------------------------------------------------------- resize_slices


@pytest.mark.parametrize("z, n", [(7, 16), (17, 16), (16, 16), (48, 16), (5, 1), (3, 11), (1, 4)])
def test_resize_slices_matches_torch_trilinear(z, n):
    import torch
    rng = np.random.default_rng(z * 100 + n)
    vol = rng.normal(size=(z, 6, 5)).astype(np.float32)
    want = torch.nn.functional.interpolate(
        torch.from_numpy(vol)[None, None], size=(n, 6, 5), mode="trilinear", align_corners=False
    )[0, 0].numpy()
    np.testing.assert_allclose(fd.resize_slices(vol, n), want, rtol=0, atol=1e-5)


def test_resize_slices_literal_formula_and_identity():
    vol = linear_stack(np.arange(6.0))
    got = fd.resize_slices(vol, 4)  # scale 1.5: sources 0.25, 1.75, 3.25, 4.75
    for i, s in enumerate([0.25, 1.75, 3.25, 4.75]):
        np.testing.assert_allclose(got[i], linear_stack([s])[0], atol=1e-4)
    same = fd.resize_slices(vol, 6)
    np.testing.assert_array_equal(same, vol)
    assert same is not vol
    with pytest.raises(ValueError, match="positive integer"):
        fd.resize_slices(vol, 0)


def test_count_positions_follow_the_slices():
    pos = np.array([0.8, 3.2, 5.6, 8.0])
    got = fd.count_positions(pos, 6)
    # a stack whose value is its position: resizing it gives the represented positions
    vol = np.broadcast_to(pos[:, None, None], (4, 2, 2)).astype(np.float64)
    np.testing.assert_allclose(got, fd.resize_slices(vol, 6)[:, 0, 0])
    np.testing.assert_allclose(got[[0, -1]], [0.8, 8.0])
    np.testing.assert_allclose(fd.count_positions(pos, 4), pos)


def test_align_modes_differ_when_positions_are_not_where_the_count_says():
    # a simulated stack at 1, 3, 5, ... vs real slices at 0, 2, 4, ...: counting slices
    # pairs slice i with slice i (1 mm off), physical resampling does not
    sim_pos = np.arange(1.0, 20.0, 2.0)
    sim = linear_stack(sim_pos)
    ref_pos = np.arange(2.0, 19.0, 2.0)
    phys = fd.align(sim, sim_pos, ref_pos, "physical")
    np.testing.assert_allclose(phys, linear_stack(ref_pos), atol=1e-4)
    cnt = fd.align(sim, sim_pos, ref_pos, "count")
    np.testing.assert_allclose(cnt, fd.resize_slices(sim, ref_pos.size))
    assert np.abs(cnt - linear_stack(ref_pos)).max() > 0.5
    with pytest.raises(ValueError, match="mode must be"):
        fd.align(sim, sim_pos, ref_pos, "nearest")


# ----------------------------------------------------------------------------- evaluate


@pytest.fixture
def thin_thick():
    thin = object_series(np.arange(0.0, 30.0, 0.8), 1.0)  # 0 .. 29.6
    thick = object_series(np.arange(0.0, 30.1, 2.0), 3.0, seed=1)  # 0 .. 30 (30 outside thin)
    return thin, thick


def test_simulate_methods_places_position_methods_at_real_positions(thin_thick):
    thin, thick = thin_thick
    sims = fd.simulate_methods(thin, thick, ["proposed", "average", "direct"])
    inside = thick.positions[thick.positions <= thin.positions[-1]]
    np.testing.assert_array_equal(sims["proposed"][1], inside)
    want, _ = simulate_thick(thin.volume, thin.positions, 3.0, target_positions=inside)
    np.testing.assert_array_equal(sims["proposed"][0], want)
    # index-based: k = round(3 / 1) = 3 groups of thin slices; centre positions
    assert sims["average"][0].shape[0] == thin.volume.shape[0] // 3
    np.testing.assert_allclose(sims["average"][1][:2], [0.8, 3.2])
    np.testing.assert_allclose(sims["direct"][1][:2], [0.8, 3.2])


def test_aligned_pairs_slice_sets(thin_thick):
    thin, thick = thin_thick
    sims = fd.simulate_methods(thin, thick, ["proposed", "average", "direct"])
    pairs = fd.aligned_pairs(thin, thick, sims)
    by = {(p.method, p.alignment): p for p in pairs}
    # count: every real slice inside the thin coverage (30.0 mm is past 29.6 mm)
    cnt = by["average", "count"]
    np.testing.assert_array_equal(cnt.ref_index, np.arange(15))
    assert cnt.n_ref_dropped == 1
    np.testing.assert_array_equal(cnt.reference, thick.volume[:15])
    np.testing.assert_allclose(cnt.test, fd.resize_slices(sims["average"][0], 15))
    # physical: 38 thin slices make 12 groups of 3 (slices 36, 37 dropped) with centres
    # 0.8 .. 27.2 mm, so the real slices at 2 .. 26 mm are compared, for every method
    np.testing.assert_allclose(sims["average"][1][[0, -1]], [0.8, 27.2])
    phys = by["average", "physical"]
    np.testing.assert_allclose(phys.ref_positions, np.arange(2.0, 26.1, 2.0))
    for m in ("proposed", "direct"):
        np.testing.assert_array_equal(by[m, "physical"].ref_index, phys.ref_index)
    np.testing.assert_allclose(
        phys.test, fd.resample_z(sims["average"][0], sims["average"][1], phys.ref_positions)
    )
    # the proposed slices are the same in both alignments (simulated at the real positions)
    np.testing.assert_array_equal(by["proposed", "physical"].test, by["proposed", "count"].test[1:-1])


def test_evaluate_patient_rows_match_metrics_compare(thin_thick):
    thin, thick = thin_thick
    rows = fd.evaluate_patient(thin, thick, ["proposed", "average"], ssim_modes=("2d",))
    assert len(rows) == 2 * 2 * 2  # methods x alignments x conventions
    assert {(r["method"], r["alignment"], r["convention"]) for r in rows} == {
        (m, a, c) for m in ("proposed", "average") for a in ("count", "physical") for c in ("paper", "hu")
    }
    r = next(r for r in rows if (r["method"], r["alignment"], r["convention"]) == ("average", "count", "paper"))
    sim, _ = simulate_thick(thin.volume, thin.positions, 3.0, method="average", thin_thickness=1.0)
    want = metrics.compare(thick.volume[:15], fd.resize_slices(sim, 15), "paper", ssim_modes=("2d",))
    assert r["psnr"] == pytest.approx(want["psnr"])
    assert r["rmse"] == pytest.approx(want["rmse"])
    assert r["n_slices"] == 15 and r["n_ref_dropped"] == 1 and r["z_last"] == pytest.approx(28.0)


def test_physical_alignment_helps_a_shifted_index_method():
    # thin and real thick series of one smooth object, the real thick slices starting at
    # the first thin slice: the index groups' centres sit 0.8 mm higher, which counting
    # slices ignores and physical resampling corrects.
    thin = object_series(np.arange(0.0, 40.0, 0.8), 1.0)
    thick = Series.from_array(
        simulate_thick(thin.volume, thin.positions, 3.0, target_positions=np.arange(0.0, 39.3, 2.0))[0],
        np.arange(0.0, 39.3, 2.0),
        (0.7, 0.7),
        3.0,
    )
    rows = fd.evaluate_patient(thin, thick, ["proposed", "average"], conventions=("hu",), ssim_modes=("2d",))
    get = {(r["method"], r["alignment"]): r for r in rows}
    # the proposed method made this "real" series, so it matches exactly
    assert get["proposed", "count"]["rmse"] == pytest.approx(0.0, abs=1e-3)
    assert get["average", "physical"]["rmse"] < get["average", "count"]["rmse"]


def test_no_overlap_is_a_clear_error():
    thin = object_series(np.arange(0.0, 10.0, 0.8), 1.0)
    thick = object_series(np.arange(20.0, 30.0, 2.0), 3.0)
    with pytest.raises(fd.FidelityError, match="thin coverage"):
        fd.evaluate_patient(thin, thick, ["proposed"])


def test_calibrated_needs_a_profile(thin_thick):
    thin, thick = thin_thick
    with pytest.raises(ValueError, match="profile"):
        fd.simulate_methods(thin, thick, ["calibrated"])


def test_leave_one_out_never_fits_on_the_held_out_patient():
    items = {"A": 1, "B": 2, "C": 4}
    got = fd.leave_one_out(items, lambda xs: sorted(xs))
    assert got == {"A": [2, 4], "B": [1, 4], "C": [1, 2]}
    with pytest.raises(ValueError, match="at least 2"):
        fd.leave_one_out({"A": 1}, sum)


# ----------------------------------------------------------------------------- FID rows


def test_fid_slices_pick_the_same_slices_and_scale_whole_volumes():
    rng = np.random.default_rng(0)
    ref = rng.normal(size=(10, 4, 4)).astype(np.float32)
    ref[9, 0, 0] = 50.0  # the maximum sits in a slice that is not picked
    pos = np.arange(10.0)
    pairs = [
        fd.AlignedPair("proposed", "count", ref, ref * 2, np.arange(10), pos, pos),
        fd.AlignedPair("average", "physical", ref[1:], ref[1:], np.arange(9), pos[1:], pos),
    ]
    hu = fd.fid_slices(pairs, 4, convention="hu")
    assert list(hu) == ["reference", "proposed"]
    np.testing.assert_array_equal(hu["reference"], ref[[0, 3, 6, 9]])
    np.testing.assert_array_equal(hu["proposed"], 2 * ref[[0, 3, 6, 9]])
    paper = fd.fid_slices(pairs, 3, convention="paper")
    np.testing.assert_allclose(paper["reference"], metrics.minmax_scale(ref)[[0, 4, 9]])
    assert paper["reference"].max() == 1.0
    with pytest.raises(ValueError, match="no 'physical'"):
        fd.fid_slices(pairs[:1], alignment="physical")


def test_fid_rows_pools_patients(monkeypatch):
    calls = []

    def fake_features(vols, window, device=None, progress=False):
        calls.append(([v.shape[0] for v in vols], window))
        return np.concatenate([v.reshape(v.shape[0], -1)[:, :3].astype(np.float64) for v in vols])

    monkeypatch.setattr(metrics, "fid_features", fake_features)
    rng = np.random.default_rng(0)
    sets = []
    for _ in range(2):
        ref = rng.normal(size=(4, 4, 4)).astype(np.float32)
        sets.append({"reference": ref, "proposed": ref.copy(), "average": ref + 5.0})
    rows = fd.fid_rows(sets, convention="hu")
    assert [r["method"] for r in rows] == ["proposed", "average"]
    assert rows[0]["fid"] == pytest.approx(0.0, abs=1e-9)
    assert rows[1]["fid"] == pytest.approx(3 * 25.0, rel=1e-6)  # a mean shift of 5 in 3 features
    assert rows[0]["n_slices"] == 8 and rows[0]["n_patients"] == 2
    assert calls[0] == ([4, 4], metrics.HU_RANGE)
    fd.fid_rows(sets, convention="paper")
    assert calls[-1][1] == (-1.0, 1.0)
    with pytest.raises(ValueError, match="same methods"):
        fd.fid_rows([sets[0], {"reference": sets[1]["reference"]}])


# ----------------------------------------------------------------------------- Fig. 7


def test_slice_similarity_literal_and_argmin():
    rng = np.random.default_rng(3)
    thin = rng.normal(size=(8, 5, 5)).astype(np.float32)
    thick = thin[4] + 0.1
    got = fd.slice_similarity(thick, thin, [2, 3, 4, 5])
    want = [np.mean((thick.astype(float) - thin[i].astype(float)) ** 2) for i in (2, 3, 4, 5)]
    np.testing.assert_allclose(got, want)
    curve = fd.similarity_curve(thick, thin, np.arange(8) * 0.8, position=3.3, half_width=2)
    np.testing.assert_array_equal(curve["indices"], [2, 3, 4, 5, 6])
    assert curve["nearest_index"] == 4 and curve["best_index"] == 4
    assert curve["best_position"] == pytest.approx(3.2)
    with pytest.raises(ValueError, match="thin_indices"):
        fd.slice_similarity(thick, thin, [8])


def test_similarity_curve_shows_the_index_shift():
    # Fig. 7 in miniature: a real thick slice centred on thin slice 5 (0.0 mm), and the
    # first 'average' slice of a series starting there, the mean of thin slices 5..7,
    # which looks most like slice 6 (0.8 mm): the index groups shift the content.
    thin = object_series(np.arange(-4.0, 12.0, 0.8), 1.0)
    assert thin.positions[5] == pytest.approx(0.0)
    real = simulate_thick(thin.volume, thin.positions, 3.0, target_positions=[0.0])[0][0]
    avg = simulate_thick(thin.volume[5:], thin.positions[5:], 3.0, method="average", thin_thickness=1.0)[0][0]
    idx = np.arange(3, 10)
    assert fd.similarity_curve(real, thin.volume, thin.positions, idx)["best_index"] == 5
    assert fd.similarity_curve(avg, thin.volume, thin.positions, idx)["best_index"] == 6


def test_similarity_slices_pick_what_each_method_pairs_with_the_real_slice(thin_thick):
    thin, thick = thin_thick
    got = fd.similarity_slices(thin, thick, ["proposed", "average", "direct"], 0, interval=2.0)
    assert got["real"]["position"] == 0.0
    np.testing.assert_array_equal(got["real"]["slice"], thick.volume[0])
    # the proposed method puts its first slice at the first thin position (Algorithm 1)
    assert got["proposed"]["position"] == 0.0
    want = simulate_thick(thin.volume, thin.positions, 3.0, 2.0)[0][0]
    np.testing.assert_array_equal(got["proposed"]["slice"], want)
    # average: first group (thin slices 0..2, centre 0.8 mm); resizing 12 -> 15 slices keeps slice 0
    assert got["average"]["position"] == pytest.approx(0.8)
    np.testing.assert_allclose(got["average"]["slice"], thin.volume[:3].mean(axis=0), atol=1e-3)
    np.testing.assert_array_equal(got["direct"]["slice"], thin.volume[1])
    # an interior slice: the index-based slice is interpolated between groups
    mid = fd.similarity_slices(thin, thick, ["average"], 7)
    assert mid["real"]["position"] == 14.0
    s = (7 + 0.5) * 12 / 15 - 0.5  # 5.5: half-way between groups 5 and 6 (12.8 and 15.2 mm)
    assert s == pytest.approx(5.5)
    assert mid["average"]["position"] == pytest.approx(14.0)
    many = fd.similarity_slices(thin, thick, ["average", "proposed"], [0, 7])
    assert len(many) == 2 and many[1]["average"]["position"] == pytest.approx(14.0)
    np.testing.assert_array_equal(many[0]["proposed"]["slice"], want)
    np.testing.assert_array_equal(many[1]["average"]["slice"], mid["average"]["slice"])
    with pytest.raises(ValueError, match="index must be"):
        fd.similarity_slices(thin, thick, ["average"], 15)
