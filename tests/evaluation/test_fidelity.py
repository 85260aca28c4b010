"""Tests of t2tcore.evaluation.fidelity: per-patient evaluation, leave-one-out, FID slices and rows."""

from __future__ import annotations

import numpy as np
import pytest

from t2tcore.evaluation import fidelity as fd
from t2tcore.evaluation import metrics
from t2tcore.io import Series
from t2tcore.simulation.simulate import simulate_thick
from tests.evaluation.stacks import object_series


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
