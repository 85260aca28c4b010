"""Survival analysis against known models and hand computations (t2tcore.clinical.survival)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from t2tcore.clinical import survival as S


def _exp_cox(n, betas, rng, censor_rate=0.3):
    """Exponential proportional hazards: T = E / (0.2 exp(x.b)), censoring independent."""
    X = rng.standard_normal((n, len(betas)))
    t = rng.standard_exponential(n) / (0.2 * np.exp(X @ np.asarray(betas)))
    c = rng.standard_exponential(n) / censor_rate
    return X, np.minimum(t, c), (t <= c).astype(int)


def test_cox_recovers_known_coefficients():
    X, t, e = _exp_cox(3000, [0.7, 0.0, -0.4], np.random.default_rng(1))
    fit = S.fit_cox(pd.DataFrame(X, columns=["a", "b", "c"]), t, e, standardise=False)
    coef = fit["summary"]["coef"]
    assert coef["a"] == pytest.approx(0.7, abs=0.08)
    assert coef["b"] == pytest.approx(0.0, abs=0.08)
    assert coef["c"] == pytest.approx(-0.4, abs=0.08)
    assert fit["summary"].loc["a", "p"] < 1e-10 and fit["summary"].loc["b", "p"] > 0.001
    s = fit["summary"].loc["a"]
    assert s["exp_coef_lower95"] < s["exp_coef"] < s["exp_coef_upper95"]
    assert fit["n"] == 3000 and fit["events"] == int(e.sum()) and 0.6 < fit["concordance"] < 0.8


def test_standardised_hazard_ratio_is_per_sd():
    rng = np.random.default_rng(2)
    X, t, e = _exp_cox(1500, [0.5], rng)
    raw = 3.0 * X[:, 0] + 10.0  # the same covariate in other units
    per_unit = S.fit_cox({"x": raw}, t, e, standardise=False)["summary"].loc["x", "coef"]
    per_sd = S.fit_cox({"x": raw}, t, e, standardise=True)["summary"].loc["x", "coef"]
    assert per_sd == pytest.approx(per_unit * raw.std(ddof=1), rel=1e-4)
    assert per_sd == pytest.approx(0.5, abs=0.08)


def test_fit_cox_refuses_missing_values_and_bad_times():
    with pytest.raises(ValueError, match="missing"):
        S.fit_cox({"x": [1.0, np.nan, 2.0, 3.0]}, [1, 2, 3, 4], [1, 0, 1, 1])
    with pytest.raises(ValueError, match="time"):
        S.fit_cox({"x": [1.0, 2.0, 3.0]}, [1, 0, 3], [1, 0, 1])
    with pytest.raises(ValueError, match="differ"):
        S.fit_cox({"x": [1.0, 2.0, 3.0]}, [1, 2], [1, 0])


def test_kaplan_meier_matches_a_hand_computation():
    # times 1 2 2 3 4 5, deaths at 1, 2 (one of the two at 2), 3 and 5; censored at 2 and 4
    t = [1, 2, 2, 3, 4, 5]
    e = [1, 1, 0, 1, 0, 1]
    times, surv = S.kaplan_meier(t, e)
    expect = {0: 1.0, 1: 5 / 6, 2: 5 / 6 * 4 / 5, 3: 5 / 6 * 4 / 5 * 2 / 3, 4: 5 / 6 * 4 / 5 * 2 / 3, 5: 0.0}
    got = dict(zip(times.tolist(), surv.tolist()))
    for k, v in expect.items():
        assert got[k] == pytest.approx(v)


def _hand_logrank(t, e, g):
    """Two-group log-rank statistic by the textbook loop over distinct death times."""
    t, e, g = map(np.asarray, (t, e, g))
    o_minus_e, var = 0.0, 0.0
    for u in np.unique(t[e == 1]):
        at_risk = t >= u
        n, n1 = at_risk.sum(), (at_risk & (g == 1)).sum()
        d = ((t == u) & (e == 1)).sum()
        d1 = ((t == u) & (e == 1) & (g == 1)).sum()
        o_minus_e += d1 - d * n1 / n
        if n > 1:
            var += d * (n1 / n) * (1 - n1 / n) * (n - d) / (n - 1)
    return o_minus_e ** 2 / var


def test_logrank_matches_the_textbook_formula():
    rng = np.random.default_rng(3)
    g = np.repeat([0, 1], 15)
    t = np.round(rng.exponential(np.where(g == 1, 1.0, 2.0)), 1) + 0.1  # rounded: ties happen
    e = (rng.uniform(size=30) < 0.8).astype(int)
    r = S.logrank(t, e, g)
    assert r["dof"] == 1
    assert r["statistic"] == pytest.approx(_hand_logrank(t, e, g), rel=1e-6)
    from scipy.stats import chi2

    assert r["p"] == pytest.approx(chi2.sf(r["statistic"], 1), rel=1e-6)
    with pytest.raises(ValueError):
        S.logrank(t, e, np.zeros(30))


def test_tertiles_by_rank():
    x = [5.0, 1.0, 3.0, 9.0, 7.0, 2.0]
    assert S.tertiles(x).tolist() == [1, 0, 1, 2, 2, 0]
    assert np.bincount(S.tertiles(np.arange(36.0))).tolist() == [12, 12, 12]
    with pytest.raises(ValueError):
        S.tertiles([1.0, 2.0])


def test_schoenfeld_power_reproduces_the_classic_event_count():
    # HR 2 between two equal groups (a 0/1 covariate, SD 1/2): 80% power at alpha 0.05 needs
    # 4 (1.96 + 0.8416)^2 / ln(2)^2 = 65.4 events (Schoenfeld 1983)
    d = 4 * (1.959964 + 0.841621) ** 2 / math.log(2) ** 2
    assert d == pytest.approx(65.35, abs=0.05)
    assert S.schoenfeld_power(d, math.log(2), sd=0.5) == pytest.approx(0.8, abs=1e-4)
    hr = S.detectable_hazard_ratio(40)
    assert S.schoenfeld_power(40, math.log(hr)) == pytest.approx(0.8, abs=1e-6)
    assert S.detectable_hazard_ratio(40, vif=4) == pytest.approx(hr ** 2, rel=1e-9)  # sqrt(vif) on the log scale
    assert S.schoenfeld_power(10, 0.0) == pytest.approx(0.025, abs=1e-4)  # one tail of alpha


def test_simulated_power_agrees_with_schoenfeld():
    beta = 0.5

    def draw(s, rng):
        t = rng.standard_exponential(s.shape) / np.exp(beta * s)
        c = rng.uniform(0.5, 3.0, s.shape)
        return np.minimum(t, c), (t <= c).astype(int)

    sim = S.simulated_power(draw, n=40, n_sim=150, seed=4)
    expect = S.schoenfeld_power(sim["mean_events"], beta)
    assert sim["n_sim"] >= 140
    assert sim["power"] == pytest.approx(expect, abs=0.12)


def test_variance_inflation():
    rng = np.random.default_rng(5)
    a = rng.standard_normal(2000)
    b = rng.standard_normal(2000)
    v = S.variance_inflation(pd.DataFrame({"a": a, "b": b}))
    assert v["a"] == pytest.approx(1.0, abs=0.02)
    c = a + 0.5 * rng.standard_normal(2000)
    r = np.corrcoef(a, c)[0, 1]
    v = S.variance_inflation(pd.DataFrame({"a": a, "c": c}))
    assert v["a"] == pytest.approx(1 / (1 - r ** 2), rel=1e-6)


def test_bootstrap_concordance_is_optimistic_on_noise_and_not_on_signal():
    rng = np.random.default_rng(6)
    X, t, e = _exp_cox(40, [0.0, 0.0, 0.0, 0.0, 0.0], rng)
    noise = S.bootstrap_concordance(pd.DataFrame(X, columns=list("abcde")), t, e, n_boot=40, seed=1)
    assert noise["optimism"] > 0.02 and noise["corrected"] < noise["apparent"]
    assert noise["ci_low"] <= noise["apparent"] <= noise["ci_high"]
    X, t, e = _exp_cox(200, [1.2], rng)
    strong = S.bootstrap_concordance(pd.DataFrame(X, columns=["a"]), t, e, n_boot=40, seed=1)
    assert strong["corrected"] > 0.65 and abs(strong["optimism"]) < 0.02


def test_cox_table_and_strongest_feature():
    rng = np.random.default_rng(7)
    X, t, e = _exp_cox(300, [0.8, 0.0], rng)
    ids = [f"P{i:03d}" for i in range(300)]
    surv = pd.DataFrame({"time": t, "event": e}, index=ids)
    tab = pd.DataFrame(X, columns=["f1", "f2"], index=ids)
    table, fits = S.cox_table({"thin": tab, "thick": tab.iloc[::-1]}, surv, ["f1", "f2"])
    assert list(table["input"]) == ["thin", "thin", "thick", "thick"]
    thin, thick = table[table.input == "thin"], table[table.input == "thick"]
    np.testing.assert_allclose(thin["exp_coef"].to_numpy(), thick["exp_coef"].to_numpy(), rtol=1e-6)  # order-free
    assert S.strongest_feature(fits["thin"]) == "f1"
    with pytest.raises(ValueError, match="no survival row"):
        S.cox_table({"x": pd.DataFrame({"f1": [1.0]}, index=["nobody"])}, surv, ["f1"])


def test_paper_table5():
    p = S.paper_table5()
    assert len(p) == 15 and set(p["input"]) == {"thick", "SR naive", "SR proposed"}
    row = p[(p.input == "SR proposed") & (p.feature == "Maximum2DDiameterSlice")].iloc[0]
    assert (row.exp_coef, row.exp_coef_upper95, row.p_text) == (1.19, 1.31, "< 0.005")
    assert S.PAPER_CONCORDANCE == 0.85


def test_concordance_difference_separates_an_informative_input_from_noise_and_not_from_itself():
    from t2tcore.clinical.survival import concordance_difference
    from tests.clinical.conftest import survival_table

    surv, feats, _ = survival_table(n=120, seed=4, beta=1.2)
    d = concordance_difference(feats["thin"], feats["thick"], surv["time"], surv["event"], n_boot=60, seed=1)
    assert d["c_a"] > d["c_b"] and d["diff"] == pytest.approx(d["c_a"] - d["c_b"])
    assert d["ci_low"] > 0 and d["n"] == 120 and d["n_boot"] >= 50
    same = concordance_difference(feats["thin"], feats["thin"], surv["time"], surv["event"], n_boot=20)
    assert same["diff"] == 0 and same["ci_low"] == 0 and same["ci_high"] == 0


def test_patients_for_power_is_schoenfeld_turned_round():
    from t2tcore.clinical.survival import detectable_hazard_ratio, patients_for_power

    # HR 2 per SD: (1.96 + 0.8416)^2 / ln(2)^2 = 16.3 events; half the patients die -> 32.7 patients
    assert patients_for_power(2.0, 0.5) == pytest.approx(16.34 / 0.5, rel=1e-3)
    n = patients_for_power(1.5, 0.4)
    assert detectable_hazard_ratio(n * 0.4) == pytest.approx(1.5, rel=1e-9)
    assert patients_for_power(1.0, 0.5) == math.inf


def test_bootstrap_power_grows_with_the_cohort_and_is_the_test_size_without_signal():
    from t2tcore.clinical.survival import bootstrap_power
    from tests.clinical.conftest import survival_table

    surv, feats, s = survival_table(n=60, seed=5, beta=0.5)

    def draw(sev, rng):  # the generating model of survival_table
        t = rng.standard_exponential(sev.size) / np.exp(0.5 * sev)
        c = rng.uniform(0.5, 3.0, sev.size)
        return np.minimum(t, c), (t <= c).astype(int)

    cols = ["MeshVolume", "Elongation"]
    p = bootstrap_power(feats["thin"], s, draw, cols, sizes=(20, 300), n_sim=40, seed=2)
    assert list(p["n"]) == [20, 300] and p["power"].iloc[1] > p["power"].iloc[0] and p["power"].iloc[1] > 0.8
    noise = bootstrap_power(feats["thick"], s, draw, cols, sizes=(60,), n_sim=100, seed=3)
    assert noise["power"].iloc[0] < 0.13  # fresh outcomes: no signal gives about alpha = 0.05
