"""Tests of t2tcore.studies.robustness and robustness_report (the scanner-setting sweep of notebook 04)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.ndimage import gaussian_filter

from t2tcore.studies import robustness as rb
from t2tcore.studies import robustness_report as rr
from t2tcore.simulation import simulate as sim


def test_one_at_a_time_passes_every_axis_through_the_base():
    st = rb.one_at_a_time(["triangle", "gaussian"], [0.5, 1.5], [0.75])
    base = rb.Setting("z_weighting")
    by_axis = {a: [s for s in st if s.axis == a] for a in rb.AXES}
    assert [s.value for s in by_axis["z_weighting"]] == ["triangle", "gaussian", "trapezoid"]
    assert [s.value for s in by_axis["pitch"]] == [0.5, base.pitch, 1.5]
    assert [s.value for s in by_axis["row_width"]] == [base.row_width, 0.75]
    for s in st:  # everything but the varied axis is the base
        for other in rb.AXES:
            if other != s.axis:
                assert getattr(s, other) == getattr(base, other)
    with pytest.raises(ValueError, match="unknown z-weighting"):
        rb.one_at_a_time(["box"])


def _pair(seed: int, kernel: sim.Kernel) -> rb.Pair:
    rng = np.random.default_rng(seed)
    pos = 2.0 + 0.8 * np.arange(44)
    thin = (gaussian_filter(rng.normal(0, 300, (44, 20, 20)), 1.0) + 40).astype(np.float32)
    targets = np.arange(8.0, 30.01, 2.0)
    thick = sim.apply_weights(thin, sim.weight_matrix(pos, targets, kernel)).astype(np.float32)
    return rb.Pair(thin, pos, thick, targets)


def test_evaluate_setting_scores_on_the_test_phantoms_only():
    # a scanner whose thin-to-thick kernel is a trapezoid: the calibrated profile (fitted on
    # phantom 0) must reproduce phantom 1 far better than the triangle
    trap = sim.Kernel(lambda a: np.clip((2.25 - a) / 1.5, 0, 1), 2.25, "trapezoid")
    pairs = [_pair(0, trap), _pair(1, trap)]
    rows, prof = rb.evaluate_setting(pairs, ["proposed", "average", "calibrated"])
    assert {r["phantom"] for r in rows} == {1} and [r["method"] for r in rows] == ["proposed", "average", "calibrated"]
    assert abs(prof.fwhm_mm - 3.0) < 0.15
    r = {x["method"]: x for x in rows}
    # literal RMSE of the triangle at the real thick positions (every voxel is in the body)
    p = pairs[1]
    w = np.maximum(0, 1 - np.abs(p.thick_positions[:, None] - p.thin_positions[None, :]) / 3.0)
    tri = np.einsum("ji,iyx->jyx", w / w.sum(1, keepdims=True), p.thin.astype(np.float64))
    expected = np.sqrt(np.mean((tri - p.thick) ** 2))
    assert r["proposed"]["rmse_hu"] == pytest.approx(expected, rel=1e-4)
    assert r["proposed"]["psnr_db"] == pytest.approx(20 * np.log10(2000 / expected), rel=1e-4)
    assert r["calibrated"]["rmse_hu"] < 0.05 * r["proposed"]["rmse_hu"]
    with pytest.raises(ValueError, match=">= 2 phantoms"):
        rb.evaluate_setting(pairs[:1])


def _frame(values: dict) -> pd.DataFrame:
    """rows from {(axis, value, dose): {method: [rmse per test phantom]}}."""
    rows = []
    for (axis, value, dose), per in values.items():
        for m, errs in per.items():
            for ph, e in enumerate(errs, start=1):
                rows.append({"axis": axis, "value": value, "dose": dose, "phantom": ph, "method": m, "rmse_hu": e,
                             "psnr_db": 20 * np.log10(2000 / e)})
    return pd.DataFrame(rows)


def test_ranking_and_triangle_verdict_by_hand():
    df = _frame(
        {
            ("z_weighting", "triangle", "full"): {"proposed": [1.0, 1.2], "gaussian_z": [1.5, 1.3], "calibrated": [0.9, 1.5]},
            ("pitch", 1.5, "full"): {"proposed": [4.0, 6.0], "gaussian_z": [3.0, 6.2], "calibrated": [1.0, 3.0]},
        }
    )
    rk = rr.ranking(df).set_index(["axis", "method"])
    assert rk.loc[("z_weighting", "proposed"), "mean"] == pytest.approx(1.1)
    assert rk.loc[("z_weighting", "calibrated"), "rank"] == 2 and rk.loc[("z_weighting", "proposed"), "rank"] == 1
    assert rk.loc[("pitch", "gaussian_z"), "rank"] == 2 and rk.loc[("pitch", "gaussian_z"), "n"] == 2
    assert rr.ranking(df, "psnr_db").set_index(["axis", "method"]).loc[("z_weighting", "proposed"), "rank"] == 1

    v = rr.triangle_verdict(df).set_index("axis")
    assert v.loc["z_weighting", "triangle_best"] and v.loc["z_weighting", "gap"] == 0
    assert v.loc["pitch", "best"] == "calibrated" and v.loc["pitch", "gap"] == pytest.approx(3.0)
    assert v.loc["pitch", "gap_pct"] == pytest.approx(150.0) and v.loc["pitch", "wins"] == 2
    fixed = rr.triangle_verdict(df, exclude=["calibrated"]).set_index("axis")
    # gaussian_z: mean 4.6 vs 5.0, better on phantom 1 only
    assert fixed.loc["pitch", "best"] == "gaussian_z" and fixed.loc["pitch", "gap"] == pytest.approx(0.4)
    assert fixed.loc["pitch", "wins"] == 1 and fixed.loc["pitch", "triangle_rank"] == 2
    with pytest.raises(ValueError, match="cannot be excluded"):
        rr.triangle_verdict(df, exclude=["proposed"])


def test_tiny_sweep_scans_once_per_geometry(monkeypatch):
    import t2tcore.scanner as scanner

    calls = []
    real_scan = scanner.scan

    def counting_scan(phantom, config, recons, **kw):
        calls.append((config.pitch, config.row_width, len(recons)))
        return real_scan(phantom, config, recons, **kw)

    monkeypatch.setattr(scanner, "scan", counting_scan)
    st = [rb.Setting("z_weighting", "trapezoid"), rb.Setting("z_weighting", "gaussian"), rb.Setting("pitch", pitch=1.5)]
    study = rb.StudyConfig(image_size=24, z_length_mm=22.0, doses={"noiseless": None})
    res, profiles, timings = rb.sweep([3, 4], st, study, ["proposed", "calibrated"])
    # 2 phantoms x 2 geometries; the base geometry reconstructs 2 weightings x (thin, thick)
    assert sorted(calls) == sorted([(0.9375, 0.6, 4), (1.5, 0.6, 2)] * 2)
    assert len(res) == 3 * 1 * 2 and set(res["phantom"]) == {4}
    assert list(res.columns[:6]) == ["axis", "value", "z_weighting", "pitch", "row_width", "dose"]
    assert np.all(res["rmse_hu"] > 0) and np.all(res["n_slices"] == 4)  # thick 8..14 mm every 2 mm
    assert len(profiles) == 3 and np.all((profiles["fwhm_mm"] > 2.0) & (profiles["fwhm_mm"] < 3.5))
    with pytest.raises(ValueError, match="distinct phantom seeds"):
        rb.sweep([1, 1], st, study)


def _two_settings() -> pd.DataFrame:
    return _frame(
        {
            ("z_weighting", "trapezoid", "full"): {"proposed": [2.0, 2.2], "gaussian_z": [1.9, 2.1], "calibrated": [1.0, 1.2]},
            ("z_weighting", "triangle", "full"): {"proposed": [1.0, 1.2], "gaussian_z": [1.5, 1.3], "calibrated": [1.1, 1.3]},
        }
    )


def test_ranking_tables_pivot_the_means_and_ranks():
    df = _two_settings()
    rt = rr.ranking_tables(df, ["calibrated", "proposed", "gaussian_z"])
    assert list(rt["rmse"].columns) == ["calibrated", "proposed", "gaussian_z"]
    assert rt["rmse"].loc[("z_weighting", "trapezoid", "full"), "proposed"] == pytest.approx(2.1)
    assert rt["rank"].loc[("z_weighting", "triangle", "full")].tolist() == [2, 1, 3]
    want = np.mean([20 * np.log10(2000 / e) for e in (1.0, 1.2)])
    assert rt["psnr"].loc[("z_weighting", "triangle", "full"), "proposed"] == pytest.approx(want)


def test_profile_table_adds_fwhm_over_nominal():
    profiles = pd.DataFrame({"axis": ["pitch", "pitch"], "value": [0.5, 0.5], "dose": ["noiseless", "full"],
                             "fwhm_mm": [2.7, 2.85], "residual_rmse_hu": [1.0, 3.0], "radius_mm": [5.0, 5.0],
                             "profile": [None, None]})
    t = rr.profile_table(profiles, 3.0)
    assert t.loc[("pitch", 0.5), ("fwhm / nominal", "full")] == pytest.approx(0.95)
    assert t.loc[("pitch", 0.5), ("residual_rmse_hu", "noiseless")] == 1.0


def test_verdict_text_and_findings_state_the_verdicts():
    df = _two_settings()
    v_all = rr.triangle_verdict(df)
    v_fixed = rr.triangle_verdict(df, exclude=["calibrated"])
    text = rr.verdict_text(v_all, v_fixed, calibration_seed=7, n_test=2)
    assert text.startswith("**Scored on 2 test phantom(s)** (2 setting x dose combinations).")
    assert "the triangle is the best choice in: z_weighting=triangle (full)" in text
    assert "fitted on phantom 7 only) is best in 1 of 2" in text
    # trapezoid: triangle 2.1 HU, best fixed gaussian_z 2.0 HU
    assert "full: triangle 2.10 HU, best fixed `gaussian_z` 2.00 HU" in text
    opening = rr.findings(v_all, v_fixed)
    assert "best of all methods in 1 of 2" in opening and "`calibrated` (1x)" in opening
    assert "excess RMSE is 0.10 to 0.10 HU" in opening
