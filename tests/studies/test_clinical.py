"""The chapter-07 pipeline (t2tcore.studies.clinical): end to end on the tiny cohort, and its
statistics on tables with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from t2tcore.studies import clinical as A
from t2tcore.studies import clinical_report as report
from t2tcore.clinical.radiomics import FEATURES
from tests.clinical.conftest import survival_table


def test_run_study_covers_every_patient_and_input(clinical_study, tiny_cohort):
    res, cache = clinical_study
    seg = res.segmentation
    assert res.inputs == ["thick", "SR naive", "SR proposed", "thin"]
    assert len(seg) == 2 * 4 and set(seg.patient_id) == {"F001", "F002"}
    assert set(seg.columns) >= {"dice", "branches_detected", "length_detected", "seed_found", "threshold_hu"}
    assert seg["dice"].between(0, 1).all()
    rmse = seg.set_index("input")["rmse_hu_vs_thin"]
    assert (rmse["thin"] == 0).all() and (rmse["thick"] > 0).all()
    for k in res.inputs + [A.REFERENCE]:
        assert list(res.features[k].columns) == list(FEATURES) and list(res.features[k].index) == ["F001", "F002"]
    # the reference features are the true mask's: its volume is the truth's voxel count times the voxel volume
    assert res.features[A.REFERENCE]["MeshVolume"].notna().all()
    assert res.tuning is not None and len(res.tuning) == 15  # tuned on the SR training patient's thin image
    assert set(res.figure["masks"]) == {"truth", "thick", "SR naive", "SR proposed", "thin"}
    assert {"SR naive", "SR proposed"} <= set(res.models)
    assert res.models["SR proposed"]["simulation"]["method"] == "proposed"
    assert res.models["SR naive"]["simulation"]["method"] == "average"
    # every offered thickness in training (4 per thin training series), intervals = thickness for proposed
    sim = res.models["SR proposed"]["simulation"]
    assert sorted(set(sim["thickness"])) == [1.5, 2.0, 2.5, 3.0] and sim["interval"] == sim["thickness"]
    # a second run reads the models from the cache
    again = A.run_study(tiny_cohort["root"], "smoke", cache, progress=False, device="cpu")
    assert all(m["cached"] for m in again.models.values())
    pd.testing.assert_frame_equal(again.segmentation, seg)


def test_no_thin_training_series_is_a_named_error(tiny_cohort, tmp_path):
    import shutil

    from t2tcore.clinical.errors import CohortError

    dst = tmp_path / "c"
    shutil.copytree(tiny_cohort["root"], dst)
    shutil.rmtree(dst / "sr_train")
    with pytest.raises(CohortError, match="no thin series to train the SR models"):
        A.run_study(dst, "smoke", tmp_path / "m", progress=False)
    with pytest.raises(CohortError, match="no such folder"):
        A.run_study(dst, "smoke", tmp_path / "m", sr_train_root=tmp_path / "nowhere", progress=False)


def test_survival_study_finds_the_informative_feature_and_reports_exclusions():
    surv, feats, _ = survival_table()
    feats["thick"].iloc[3, 0] = np.nan
    feats["thick"]["10Percentile"] = 1.0  # constant: dropped by the low-variance filter
    out = A.survival_study(feats, surv, ["thin", "thick"], n_boot=10)
    assert out["excluded"] == {"thin": [], "thick": ["P03"]}
    assert out["dropped"] == {"thin": [], "thick": ["10Percentile"]}
    cox = out["cox"]
    thin = cox[cox.input == "thin"].set_index("feature")
    assert thin.loc["MeshVolume", "p"] < 0.001 and thin.loc["MeshVolume", "exp_coef"] > 1.5
    assert (cox[cox.input == "thick"].n == 59).all() and "10Percentile" not in set(cox[cox.input == "thick"].feature)
    assert set(out["concordance"].input) == {"thin", "thick"} and set(out["power"].input) == {"thin", "thick"}
    events = int(surv.event.sum())
    assert out["power"].set_index("input").loc["thin", "events"] == events
    assert report.significant_features(cox)["thin"] == ["MeshVolume"]


def test_km_study_tertiles_and_log_rank():
    surv, feats, _ = survival_table(seed=1)
    km = A.km_study(feats, surv, ["thin", "thick"], "MeshVolume")
    assert km["thin"]["n"] == 60 and len(km["thin"]["curves"]) == 3
    assert km["thin"]["logrank"]["p"] < 0.01 < km["thick"]["logrank"]["p"]
    low = km["thin"]["curves"][0][2]
    high = km["thin"]["curves"][2][2]
    assert low[-1] >= high[-1]  # the low tertile survives better when the hazard grows with the feature


def test_dice_summary_tests_against_sr_proposed():
    rows = [{"patient_id": f"P{i}", "input": k, "dice": d + 0.01 * i, "branches_detected": 0.5, "length_detected": 0.5}
            for i in range(8) for k, d in (("thick", 0.5), ("SR proposed", 0.7), ("thin", 0.7))]
    out = A.dice_summary(pd.DataFrame(rows)).set_index("input")
    assert out.loc["SR proposed", "dice_mean"] == pytest.approx(0.735)
    assert out.loc["thick", "p_dice"] == pytest.approx(2 / 2 ** 8)  # exact two-sided test, all 8 differences one way
    assert out.loc["thin", "p_dice"] == 1.0 and np.isnan(out.loc["SR proposed", "p_dice"])
    with pytest.raises(ValueError):
        A.dice_summary(pd.DataFrame(rows).drop(columns="dice"))


def test_table5_beside_paper_and_oracle():
    surv, feats, s = survival_table(seed=2)
    out = A.survival_study(feats, surv, ["thin"], n_boot=5)
    t5 = A.table5_beside_paper(out["cox"], ["thick", "thin"])
    assert t5.loc[("thick", "Elongation"), "paper upper 95%"] == "22.1"
    assert t5.loc[("thick", "Elongation"), "ours p"] is None  # no thick model given
    assert t5.loc[("thin", "MeshVolume"), "paper p"] is None and t5.loc[("thin", "MeshVolume"), "ours p"] == "< 0.005"
    truth = pd.DataFrame({"severity": s}, index=surv.index)
    o = A.oracle_cox(truth, surv)
    assert o["summary"].loc["severity", "coef"] == pytest.approx(0.9, abs=0.45)


def test_a_real_cohort_without_thin_or_truth_runs_on_its_own_thin_grid(clinical_study, tiny_cohort, tmp_path):
    import shutil

    _, cache = clinical_study
    dst = tmp_path / "real"
    shutil.copytree(tiny_cohort["root"], dst)
    for p in ("F001", "F002"):
        shutil.rmtree(dst / "images" / p / "thin")
        (dst / "images" / p / "airway_truth.nii.gz").unlink()
    (dst / "truth.csv").unlink()
    (dst / "cohort_manifest.json").unlink()
    res = A.run_study(dst, "smoke", cache, progress=False, device="cpu")
    assert res.inputs == ["thick", "SR naive", "SR proposed"] and A.REFERENCE not in res.features
    assert "dice" not in res.segmentation.columns and "rmse_hu_vs_thin" not in res.segmentation.columns
    assert all(m["cached"] for m in res.models.values())
    assert res.tuning is not None  # the SR training patient still has its true mask
    assert set(res.figure["masks"]) == {"thick", "SR naive", "SR proposed"}
    summary = report.cohort_summary(res.cohort)  # thickness from the headers
    assert summary.loc["true airway masks", "ours"] == "0 patients"
    assert report.true_model_table(dst) is None and "real cohort" in report.data_description(res, dst)


def test_input_comparison_and_design_power_on_a_known_survival_model():
    from t2tcore.clinical.cohort import SurvivalModel

    surv, feats, s = survival_table(n=80, seed=6, beta=1.0)
    features = {"truth": feats["thin"], "SR proposed": feats["thin"] + 0.05, "SR naive": feats["thick"],
                "thick": feats["thick"]}
    comp = A.input_comparison(features, surv, ["thick", "SR naive", "SR proposed"], n_boot=40).set_index(["a", "b"])
    # an input with the truth's features (shifted) has the truth's concordance; noise is worse than the truth
    same = comp.loc[("SR proposed", "truth")]
    assert same["diff"] == pytest.approx(0.0, abs=1e-9) and not same["separated"]
    assert comp.loc[("thick", "truth"), "diff"] < 0 and comp.loc[("thick", "truth"), "separated"]
    assert comp.loc[("SR proposed", "SR naive"), "diff"] > 0 and comp.loc[("SR proposed", "SR naive"), "n"] == 80
    model = SurvivalModel(beta=float(np.log(2.0)))
    d = A.design_power(surv, true_model=model, truth_features=feats["thin"][["MeshVolume"]],
                       severity=pd.Series(s, index=surv.index), sizes=(36, 150), n_sim=40)
    assert d["true_hr"] == pytest.approx(2.0) and d["n"] == 80 and 0 < d["event_fraction"] <= 1
    assert d["n_80_true_hr"] == pytest.approx(16.34 / d["event_fraction"], rel=1e-2)
    assert d["oracle_curve"]["power"].iloc[1] > d["oracle_curve"]["power"].iloc[0]
    assert list(d["truth_curve"]["n"]) == [36, 150]
    text = report.design_statement(comp.reset_index(), d)
    assert "SR proposed − SR naive" in text and "Schoenfeld" in text and "2.00 per SD" in text
    # an interval that includes 0 for the paper's claim is called inconclusive
    flat = comp.reset_index().assign(ci_low=-0.1, ci_high=0.1, separated=False)
    assert "**inconclusive**" in report.design_statement(flat, d)
