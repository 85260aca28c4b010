"""Tests of t2tcore.sr.effects: effects per patient (doses averaged) and seed, intervals, verdicts,
non-convergence, and one answer per metric across conventions, on per-case tables with known effects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from t2tcore.sr import effects as E

TRAINING_COLUMNS = ["model", "method", "seed", "steps", "best_step", "seconds", "val_l2_untrained", "val_l2_best",
                    "val_ratio", "converged", "note"]


def per_case(gains, *, n_patients=7, seeds=(1, 2, 3), conventions=("paper", "window", "hu"), seed_sd=0.05,
             dose_sd=0.02, flip=None, seed=0):
    """Per-case rows: PSNR = patient level + gain[(model, method)] (+ seed and dose noise).

    ``flip``: {(model, method, convention): gain} overrides a gain in one convention.
    """
    rng = np.random.default_rng(seed)
    level = {f"P{i}": 30 + 2 * rng.normal() for i in range(n_patients)}
    seed_fx = {(m, meth, s): seed_sd * rng.normal() for (m, meth) in gains for s in seeds}
    rows = []
    for c in conventions:
        for p, lv in level.items():
            for dose in ("full", "quarter"):
                dn = dose_sd * rng.normal()
                rows.append({"patient": p, "kernel": "B30", "dose": dose, "label": "linear", "model": "linear",
                             "method": "linear", "seed": 0, "convention": c, "region": E.DEFAULT_REGION[c],
                             "psnr": lv + dn, "rmse": 30 - lv - dn})
                for (m, meth), g in gains.items():
                    g = (flip or {}).get((m, meth, c), g)
                    for s in seeds:
                        v = lv + g + seed_fx[(m, meth, s)] + dn + 0.01 * rng.normal()
                        rows.append({"patient": p, "kernel": "B30", "dose": dose, "label": f"{m}/{meth}/s{s}",
                                     "model": m, "method": meth, "seed": s, "convention": c,
                                     "region": E.DEFAULT_REGION[c], "psnr": v, "rmse": 30 - v})
    return pd.DataFrame(rows)


def training(gains, seeds=(1, 2, 3), bad=()):
    """A training table as t2tcore.sr.runs.training_table gives it (built by hand)."""
    rows = []
    for (m, meth) in gains:
        for s in seeds:
            ok = (m, meth, s) not in bad
            rows.append(dict(zip(TRAINING_COLUMNS, [m, meth, s, 1000, 900, 60.0, 1.0, 0.6 if ok else 0.95,
                                                    0.6 if ok else 0.95, ok, "" if ok else "still falling"])))
    return pd.DataFrame(rows)


GAINS = {("vdsr", "average"): 0.2, ("vdsr", "placed_average"): 0.6, ("vdsr", "proposed"): 0.6,
         ("unet", "average"): 0.3, ("unet", "proposed"): 0.3}


def test_effects_are_per_patient_with_intervals_and_verdicts():
    df = per_case(GAINS)
    e = E.effects(df, metrics=["psnr", "rmse"], training=training(GAINS))
    k = e[(e.convention == "hu") & (e.metric == "psnr")].set_index(["model", "contrast"])
    r = k.loc[("vdsr", "proposed - average")]
    assert r.mean_diff == pytest.approx(0.4, abs=0.06) and r.ci_low < 0.4 < r.ci_high
    assert r.n_patients == 7 and r.n_seeds_a == 3 and r.n_seeds_b == 3  # patients, not patient x dose
    assert r.verdict == "better" and bool(r.converged) and r.wins == 7
    assert k.loc[("vdsr", "placed_average - average")].verdict == "better"
    assert k.loc[("vdsr", "proposed - placed_average")].verdict == "inconclusive"  # no difference, only seed noise
    assert "includes 0" in k.loc[("vdsr", "proposed - placed_average")].reason
    assert k.loc[("unet", "proposed - average")].verdict == "inconclusive"  # no effect
    assert k.loc[("vdsr", "proposed - linear")].verdict == "better"
    # RMSE: lower is better, so a negative difference is "better"
    rm = e[(e.convention == "hu") & (e.metric == "rmse")].set_index(["model", "contrast"]).loc[("vdsr", "proposed - average")]
    assert rm.mean_diff == pytest.approx(-0.4, abs=0.06) and rm.verdict == "better"
    # one dose on its own
    one = E.effects(df, metrics=["psnr"], conventions=["hu"], dose="full").set_index(["model", "contrast"])
    assert one.loc[("vdsr", "proposed - average")].n_patients == 7


def test_a_run_that_did_not_converge_makes_its_verdicts_inconclusive():
    df = per_case(GAINS)
    e = E.effects(df, metrics=["psnr"], conventions=["hu"], training=training(GAINS, bad=[("vdsr", "average", 2)]))
    k = e.set_index(["model", "contrast"])
    r = k.loc[("vdsr", "proposed - average")]
    assert r.verdict == "inconclusive" and r.converged == False  # noqa: E712
    assert "vdsr/average/s2" in r.reason
    assert k.loc[("vdsr", "proposed - placed_average")].converged  # the other runs did converge
    assert k.loc[("vdsr", "proposed - linear")].verdict == "better"
    # without a training table: verdicts from the intervals, marked as not assessed
    u = E.effects(df, metrics=["psnr"], conventions=["hu"]).set_index(["model", "contrast"])
    assert u.loc[("vdsr", "proposed - average")].verdict == "better"
    assert "not assessed" in u.loc[("vdsr", "proposed - average")].reason


def test_one_answer_per_metric_across_conventions():
    # the paper's convention says worse where the others say better: "depends on the metric"
    df = per_case(GAINS, flip={("vdsr", "proposed", "paper"): -0.3})
    e = E.effects(df, metrics=["psnr"], training=training(GAINS))
    rule = E.convention_rule(e).set_index(["model", "contrast"])
    r = rule.loc[("vdsr", "proposed - average")]
    assert r.answer == "depends on the metric"
    assert r.verdict_paper == "worse" and r.verdict_window == "better" and r.verdict_hu == "better"
    assert "worse in paper" in r.reason and "better in window, hu" in r.reason
    assert rule.loc[("vdsr", "placed_average - average")].answer == "better"
    assert rule.loc[("unet", "proposed - average")].answer == "inconclusive"


def test_labels_split_into_model_method_seed():
    assert E.split_label("vdsr/proposed/s1") == ("vdsr", "proposed", 1)
    assert E.split_label("unet/placed_average") == ("unet", "placed_average", 0)
    assert E.split_label("linear") == ("linear", "linear", 0)
    with pytest.raises(ValueError):
        E.split_label("vdsr")
    df = pd.DataFrame({"label": ["vdsr/proposed/s2", "linear"]})
    assert list(E.with_seeds(df).seed) == [2, 0]


def test_table4_cells_are_mean_and_sd_over_seeds():
    df = per_case(GAINS, seed_sd=0.3)
    t = E.table4(df, ["psnr"], "hu").set_index(["model", "method"])
    d = df[(df.convention == "hu") & (df.model == "vdsr") & (df.method == "proposed")]
    per_seed = d.groupby("seed").psnr.mean()
    assert t.loc[("vdsr", "proposed"), "mean"] == pytest.approx(per_seed.mean())
    assert t.loc[("vdsr", "proposed"), "std"] == pytest.approx(per_seed.std(ddof=1))
    assert t.loc[("vdsr", "proposed"), "n_seeds"] == 3 and t.loc[("vdsr", "proposed"), "n"] == 14
    assert t.loc[("vdsr", "linear"), "n_seeds"] == 1
