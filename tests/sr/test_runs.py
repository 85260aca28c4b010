"""t2tcore.sr.runs: one row per training run, read from checkpoints made by hand (new and pre-convergence-rule)."""

import math

import numpy as np

from t2tcore.sr.runs import TRAINING_COLUMNS, training_table


def _checkpoint(method, seed, *, training=None, history=None, init_from=None, key=None):
    cfg = {"seed": seed, "steps": 100, "lr": 1e-4, "batch": 4, "patch": [8, 16, 16], "init_from": init_from}
    c = {"model": {"name": "vdsr"}, "simulation": {"method": method}, "config": cfg, "step": 100, "seconds": 3.5,
         "history": history or [], "cache_key": key}
    if training is not None:
        c["training"] = training
    return c


def test_a_judged_run_and_a_legacy_run():
    judged = _checkpoint("proposed", 1, key="k1", training={
        "steps": 80, "cap": 100, "best_step": 60, "val_l2_untrained": 2.0, "val_l2_best": 1.5, "val_ratio": 0.75,
        "val_ratio_se": 0.01, "converged": True, "note": "converged", "precision": "fp32",
        "convergence": {"improvement": 0.001, "noise": 0.002}})
    # written before the convergence rule: the summary comes from the history (first = untrained, best after it)
    legacy = _checkpoint("average", 0, init_from="k1", history=[
        {"step": 0, "val_loss": 4.0}, {"step": 50, "val_loss": 3.0}, {"step": 100, "val_loss": 3.5}])
    t = training_table({"vdsr/proposed/s1": judged, "vdsr/average/s0": legacy})
    assert list(t.columns) == TRAINING_COLUMNS
    a, b = t.iloc[0], t.iloc[1]
    assert (a.model, a.method, a.seed, a.steps, a.best_step, a.converged) == ("vdsr", "proposed", 1, 80, 60, True)
    assert a.val_ratio == 0.75 and a.improvement == 0.001 and a.patch == "8×16×16" and a.init_from == ""
    assert (b.steps, b.cap, b.best_step, b.val_l2_untrained, b.val_l2_best) == (100, 100, 50, 4.0, 3.0)
    assert b.val_ratio == 0.75 and not b.converged and b.note.startswith("not judged")
    assert math.isnan(b.val_ratio_se) and np.isnan(b.improvement)
    assert b.init_from == "vdsr/proposed/s1"  # the ESRResNet it started from, by label where known
