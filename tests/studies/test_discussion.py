"""The Discussion page's verdicts, computed from small chapter tables made here."""

import numpy as np
import pandas as pd
import pytest

from t2tcore.studies import discussion as D


def _claim(key):
    return next(c for c in D.CLAIMS if c.key == key)


def _table3_rows(best: str, n: int = 6, seed: int = 0) -> pd.DataFrame:
    """Per-patient metrics where ``best`` is clearly best on every patient (paper convention)."""
    rng = np.random.default_rng(seed)
    rows = []
    for k in ("B30", "D45"):
        for p in range(n):
            for m in ("proposed", "average", "gaussian", "direct"):
                good = m == best
                psnr = (50.0 if good else 40.0) + rng.uniform(0, 1)
                rows.append({"kernel": k, "dose": "full", "patient": f"V{p + 1:03d}", "method": m,
                             "alignment": "physical", "convention": "paper", "psnr": psnr,
                             "rmse": 2 * 10 ** (-psnr / 20), "ssim_2d": 0.99 if good else 0.95 + rng.uniform(0, 0.01)})
    return pd.DataFrame(rows)


def _write(root, stem, name, df):
    d = root / stem
    d.mkdir(parents=True, exist_ok=True)
    df.to_csv(d / name, index=False)


def test_missing_chapters_are_not_run_and_foreign_tables_are_not_read(tmp_path):
    _write(tmp_path, "02_simulation_fidelity", "other.csv", pd.DataFrame({"a": [1]}))
    found = {f.claim.key: f for f in D.findings(tmp_path)}
    assert found["table3"].status == "no table" and "expected columns" in found["table3"].why
    for key in ("slice_count", "fig7", "triangle", "table4", "table5", "table6"):
        assert found[key].status == "not run", key
    table = D.summary(found.values())
    assert list(table["verdict"]).count("not run") == 6


def test_table3_agrees_only_when_proposed_is_best_and_significant(tmp_path):
    _write(tmp_path, "02_x", "per_patient.csv", _table3_rows("proposed", n=6))
    f = D.findings(tmp_path, [_claim("table3")])[0]
    assert f.status == "agrees", f.ours
    assert (f.table["ours: best"] == "proposed").all() and len(f.table) == 6  # 2 kernels x 3 metrics
    assert (f.table["ours: p vs runner-up"] < 0.05).all()
    assert "virtual cohort, 6 patients" in f.data
    # the paper's numbers stand beside ours
    b30 = f.table[(f.table.kernel == "B30") & (f.table.metric == "psnr")].iloc[0]
    assert b30["paper: proposed"] == pytest.approx(48.5801)


def test_table3_with_too_few_patients_is_partial_and_says_why(tmp_path):
    _write(tmp_path, "02_x", "per_patient.csv", _table3_rows("proposed", n=3))
    f = D.findings(tmp_path, [_claim("table3")])[0]
    assert f.status == "partly" and "no † is possible" in f.why


def test_table3_disagrees_when_a_baseline_wins(tmp_path):
    _write(tmp_path, "02_x", "per_patient.csv", _table3_rows("average", n=6))
    f = D.findings(tmp_path, [_claim("table3")])[0]
    assert f.status == "disagrees" and (f.table["ours: best"] == "average").all()


def test_slice_count_uses_the_package_and_the_chapter_table(tmp_path):
    df = pd.DataFrame({"method": ["proposed", "average"], "slices": [22, 18], "scanner's slices": [22, 22]})
    _write(tmp_path, "00_walk", "errors.csv", df)
    f = D.findings(tmp_path, [_claim("slice_count")])[0]
    assert f.status == "agrees"
    geo = f.table[f.table.case.str.startswith("L286")]
    assert list(geo["ours"]) == [175, 210] and list(geo["paper"]) == [175, 210]


def test_fig7_compares_proposed_with_index_methods_per_position(tmp_path):
    df = pd.DataFrame({"where": ["first"] * 3 + ["interior"] * 3,
                       "method": ["real", "proposed", "average"] * 2,
                       "best_minus_real_mm": 0.0, "same_best_as_real": [1, 1, 0, 1, 0.9, 0.5]})
    _write(tmp_path, "03_sim", "summary.csv", df)
    assert D.findings(tmp_path, [_claim("fig7")])[0].status == "agrees"
    df.loc[4, "same_best_as_real"] = 0.2
    _write(tmp_path, "03_sim", "summary.csv", df)
    assert D.findings(tmp_path, [_claim("fig7")])[0].status == "partly"


def test_triangle_counts_its_wins(tmp_path):
    df = pd.DataFrame({"axis": ["pitch"] * 4, "value": [0.5, 0.5, 1.5, 1.5], "dose": ["full", "noiseless"] * 2,
                       "best": ["proposed", "proposed", "gaussian_z", "proposed"],
                       "triangle_best": [True, True, False, True], "gap": [0, 0, 0.3, 0]})
    _write(tmp_path, "04_rob", "triangle_vs_fixed.csv", df)
    f = D.findings(tmp_path, [_claim("triangle")])[0]
    assert f.status == "partly" and "3 of 4" in f.ours and "gaussian_z (1×)" in f.ours


def test_table4_table6_table5_when_the_later_chapters_land(tmp_path):
    """The shapes chapters 05-07 write: both conventions and doses, baseline rows, presets, Cox inputs."""
    rng = np.random.default_rng(2)
    rows = []
    for model, base in (("vdsr", 36.0), ("unet", 37.0), ("esrresnet", 38.0), ("esrgan", 39.0)):
        for p in range(3):
            for dose in ("full", "quarter"):
                for m, gain in (("proposed", 1.5), ("average", 0.0), ("linear", -3.0)):
                    for conv, shift in (("paper", 0.0), ("hu", -20.0)):
                        rows.append({"kernel": "B30", "model": model, "method": m, "patient": f"L{p:03d}",
                                     "dose": dose, "convention": conv, "psnr": base + gain + shift + rng.uniform(0, 0.2)})
    _write(tmp_path, "05_sr", "per_case_metrics.csv", pd.DataFrame(rows))
    bench = pd.DataFrame({"model": ["vdsr", "vdsr", "unet", "esrresnet", "esrgan"],
                          "preset": ["paper", "small", "paper", "paper", "paper"],
                          "parameter_mb": [2.6, 0.3, 7.7, 4.4, 4.4], "inference_s": [1.0, 0.2, 2, 3, 4],
                          "seconds_timed": [9, 9, 9, 9, 9]})
    _write(tmp_path, "06_bench", "table6_measurements.csv", bench)
    cox = pd.DataFrame({"input": ["thick", "thick", "SR naive", "SR proposed", "SR proposed", "thin"],
                        "feature": ["a", "b", "a", "a", "b", "a"], "exp_coef": 1.0,
                        "p": [0.4, 0.3, 0.2, 0.001, 0.2, 0.0001]})
    _write(tmp_path, "07_clin", "cox_models.csv", cox)
    found = {f.claim.key: f for f in D.findings(tmp_path)}
    t4 = found["table4"]
    assert t4.status == "agrees", t4.ours
    assert len(t4.table) == 4 and "real data, 3 patients" in t4.data
    row = t4.table.set_index("model").loc["esrgan"]
    assert row["paper: proposed − average"] == pytest.approx(40.5083 - 38.2401)
    assert row["ours (paper)"].startswith("+1.") and row["ours (paper)"].endswith("better")
    assert row["answer"] == "better" and row["patients"] == 3  # patients (doses averaged), not patient x dose
    t6 = found["table6"]
    assert t6.status == "agrees", t6.ours  # ESRGAN > ESRResNet > U-Net > VDSR by construction
    vdsr = t6.table.set_index("model").loc["VDSR"]
    assert vdsr["ours: preset"] == "paper" and vdsr["ours: parameter_mb"] == 2.6
    assert "ours: seconds_timed" not in t6.table.columns
    t5 = found["table5"]
    assert t5.status == "agrees", t5.ours  # the true thin images may correlate; thick and naive do not
    assert t5.table.set_index("group").loc["thick", "paper: p < 0.05"] == 0
    assert t5.table.set_index("group").loc["SR naive", "paper: p < 0.05"] == 2
    cox.loc[2, "p"] = 0.001  # now the naive SR features correlate too
    _write(tmp_path, "07_clin", "cox_models.csv", cox)
    assert D.findings(tmp_path, [_claim("table5")])[0].status == "disagrees"


def _effects_csv(tmp_path, verdicts, converged=True):
    """Chapter 05's verdicts CSV: proposed - average of two models in two conventions."""
    rows = []
    for (model, conv), (m, lo, hi, v) in verdicts.items():
        rows.append({"kernel": "B30", "model": model, "a": "proposed", "b": "average", "contrast": "proposed - average",
                     "convention": conv, "region": "all" if conv == "paper" else "body", "metric": "psnr",
                     "mean_diff": m, "ci_low": lo, "ci_high": hi, "n_patients": 7, "n_seeds_a": 3, "n_seeds_b": 3,
                     "converged": converged, "verdict": v,
                     "reason": "" if converged else f"not converged: {model}/average/s1"})
    _write(tmp_path, "05_sr", "verdicts.csv", pd.DataFrame(rows))


def test_table4_is_inconclusive_or_depends_on_the_metric_by_the_intervals(tmp_path):
    _effects_csv(tmp_path, {("vdsr", "paper"): (0.1, -0.2, 0.4, "inconclusive"), ("vdsr", "hu"): (0.2, -0.1, 0.5, "inconclusive"),
                            ("unet", "paper"): (0.1, -0.3, 0.5, "inconclusive"), ("unet", "hu"): (0.0, -0.2, 0.2, "inconclusive")})
    f = D.findings(tmp_path, [_claim("table4")])[0]
    assert f.status == "inconclusive" and "inconclusive in 2 of 2" in f.ours
    _effects_csv(tmp_path, {("vdsr", "paper"): (-0.5, -0.8, -0.2, "worse"), ("vdsr", "hu"): (0.4, 0.2, 0.6, "better"),
                            ("unet", "paper"): (-0.1, -0.3, 0.1, "inconclusive"), ("unet", "hu"): (0.3, 0.1, 0.5, "better")})
    f = D.findings(tmp_path, [_claim("table4")])[0]
    assert f.status == "depends on the metric" and "conventions disagree" in f.why
    assert f.table.set_index("model").loc["vdsr", "why"] == "worse in paper; better in hu"
    _effects_csv(tmp_path, {("vdsr", "paper"): (0.5, 0.2, 0.8, "inconclusive"), ("vdsr", "hu"): (0.4, 0.2, 0.6, "inconclusive"),
                            ("unet", "paper"): (0.5, 0.2, 0.8, "inconclusive"), ("unet", "hu"): (0.4, 0.2, 0.6, "inconclusive")},
                 converged=False)
    f = D.findings(tmp_path, [_claim("table4")])[0]
    assert f.status == "inconclusive" and "did not converge" in f.why and "vdsr/average/s1" in f.why


def test_table5_is_inconclusive_when_the_two_sr_inputs_cannot_be_told_apart(tmp_path):
    cox = pd.DataFrame({"input": ["thick", "SR naive", "SR proposed"], "feature": "a", "exp_coef": 1.0,
                        "p": [0.4, 0.2, 0.001]})
    _write(tmp_path, "07_clin", "cox_models.csv", cox)
    comp = pd.DataFrame({"a": ["SR proposed"], "b": ["SR naive"], "c_a": [0.7], "c_b": [0.66], "diff": [0.04],
                         "ci_low": [-0.05], "ci_high": [0.12], "n": [36], "separated": [False]})
    _write(tmp_path, "07_clin", "concordance_differences.csv", comp)
    f = D.findings(tmp_path, [_claim("table5")])[0]
    assert f.status == "inconclusive" and "cannot separate" in f.why and "+0.04 [-0.05, +0.12]" in f.ours


def test_table6_rank_from_intervals_in_every_convention(tmp_path):
    rng = np.random.default_rng(4)
    rows = []
    for model, base in (("vdsr", 36.0), ("unet", 37.0), ("esrresnet", 38.0), ("esrgan", 39.0)):
        for p in range(7):
            for conv, gap in (("paper", 1.0), ("hu", 0.0)):  # in HU the models do not differ
                rows.append({"kernel": "B30", "model": model, "method": "proposed", "patient": f"V{p:03d}",
                             "dose": "full", "convention": conv, "psnr": (base if gap else 36.0) + rng.normal(0, 0.1)})
    _write(tmp_path, "05_sr", "per_case_metrics.csv", pd.DataFrame(rows))
    _write(tmp_path, "06_bench", "table6.csv", pd.DataFrame({"model": ["vdsr"], "parameter_mb": [1.0]}))
    f = D.findings(tmp_path, [_claim("table6")])[0]
    assert f.status == "depends on the metric" and "paper: ESRGAN > ESRResNet +" in f.ours and "(agrees)" in f.ours
    assert "(inconclusive)" in f.ours
