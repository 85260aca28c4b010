"""What chapter 07 says in words and small tables (t2tcore.studies.clinical_report), from known tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from t2tcore.studies import clinical as A
from t2tcore.studies import clinical_report as report
from tests.clinical.conftest import survival_table

def test_findings_and_power_statement_say_what_the_numbers_are():
    surv, feats, s = survival_table(seed=3)
    out = A.survival_study(feats, surv, ["thin", "thick"], n_boot=5)
    truth = pd.DataFrame({"severity": s}, index=surv.index)
    text = report.findings(None, out["cox"], out["concordance"], out["power"], A.oracle_cox(truth, surv), ["thick", "thin"])
    assert "thin: MeshVolume" in text and "the paper: 0.85" in text
    hr = out["power"].set_index("input").loc["thin", "hr_80_single"]
    assert f"{hr:.2f} per SD" in text
    stmt = report.power_statement(out["power"], out["concordance"], true_hr=2.0)
    assert "thick" in stmt and "Schoenfeld" in stmt and "2.00 per SD" in stmt


def test_report_tables_of_the_tiny_cohort(clinical_study, tiny_cohort):
    res, _ = clinical_study
    summary = report.cohort_summary(res.cohort)
    assert summary.loc["patients", "ours"] == 2 and summary.loc["patients", "paper"] == 36
    tm = report.true_model_table(tiny_cohort["root"])
    assert float(tm.loc["survival: hazard_ratio_per_sd", "value"]) == pytest.approx(2.0)
    assert "virtual fibrosis cohort 'tiny'" in report.data_description(res, tiny_cohort["root"])
    assert report.resolve_cohort(tiny_cohort["root"], "smoke") == tiny_cohort["root"]


def test_sr_runs_table(clinical_study):
    res, _ = clinical_study
    runs = report.sr_runs(res.models)
    assert set(runs.index) == set(res.models)
    assert runs.loc["SR proposed", "simulation"] == "proposed" and runs.loc["SR naive", "simulation"] == "average"
    assert runs.loc["SR proposed", "thicknesses mm"] == "1.5, 2, 2.5, 3"
    t = res.models["SR proposed"]["training"]
    assert runs.loc["SR proposed", "val L2 / untrained"] == pytest.approx(t["val_l2_best"] / t["val_l2_untrained"],
                                                                          nan_ok=True)
    # an ESRGAN is judged against linear interpolation too, not against the ESRResNet it starts from
    base = res.models["SR proposed (ESRResNet)"]["training"]
    assert t["val_l2_untrained"] == pytest.approx(base["val_l2_untrained"], nan_ok=True)
    assert runs["converged"].dtype == bool and runs.loc["SR naive", "note"]


def test_true_survival_model_is_read_back_from_the_manifest(tiny_cohort):
    m = report.true_survival_model(tiny_cohort["root"])
    tm = report.true_model_table(tiny_cohort["root"])
    assert m is not None and float(np.exp(m.beta)) == pytest.approx(float(tm.loc["survival: hazard_ratio_per_sd", "value"]))


def test_the_radiomics_settings_and_what_was_left_out_in_words():
    from t2tcore.clinical import radiomics as R

    tab = report.radiomics_settings()
    assert list(tab.index) == [*R.SETTINGS, "low-variance threshold (min-max scaled)"]
    assert tab["value"].iloc[-1] == str(R.LOW_VARIANCE) and tab["value"].iloc[0] == str(next(iter(R.SETTINGS.values())))
    text = report.left_out({"dropped": {"thick": ["a", "b"], "SR proposed": []}, "excluded": {"thick": ["P07"]}})
    assert text.splitlines() == ["dropped as low-variance: thick: a, b; SR proposed: none",
                                 "patients left out for a failed segmentation: thick: P07"]
