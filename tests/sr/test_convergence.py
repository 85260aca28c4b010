"""The convergence rule and the learning-rate schedule, on loss curves whose answer is known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from t2tcore.sr.convergence import check, lr_factor, note


def curves(fn, steps, n=200, noise=0.0, seed=0):
    """Per-patch losses: patch i's loss is scale_i * fn(step) (+ independent noise)."""
    rng = np.random.default_rng(seed)
    scale = rng.uniform(0.5, 1.5, n)
    return {s: (scale * fn(s) * (1 + noise * rng.standard_normal(n))).tolist() for s in steps}


STEPS = list(range(0, 1001, 50))


def test_a_flat_curve_has_converged_a_falling_one_has_not():
    flat = curves(lambda s: 1.0 if s == 0 else 0.5 + 0.5 * math.exp(-s / 50), STEPS)
    c = check(flat)
    assert c.converged and c.step == 1000 and c.ref_step == 750 and 0 <= c.improvement < 0.02
    assert "converged" in c.reason
    falling = curves(lambda s: 1.0 / (1 + s / 100), STEPS)  # still 23 % lower over the last quarter
    c = check(falling)
    assert not c.converged
    assert c.improvement > 0.1 and "still improving" in c.reason


def test_the_improvement_is_the_smoothed_relative_change_over_the_last_quarter():
    per = curves(lambda s: 2.0 - s / 1000, STEPS)  # linear: exact values known
    c = check(per, smooth=1)
    mean = {s: float(np.mean(v)) for s, v in per.items()}
    assert c.ref_step == 750 and c.improvement == pytest.approx((mean[750] - mean[1000]) / mean[750])
    c3 = check(per, smooth=3)
    s0 = np.mean([mean[650], mean[700], mean[750]])
    s1 = np.mean([mean[900], mean[950], mean[1000]])
    assert c3.improvement == pytest.approx((s0 - s1) / s0)


def test_noisy_validation_cannot_declare_convergence():
    noisy = curves(lambda s: 0.5, STEPS, n=8, noise=0.5)  # flat, but 8 patches with 50 % noise each
    c = check(noisy)
    assert not c.converged and c.noise >= 0.02 and "noise too large" in c.reason
    quiet = curves(lambda s: 0.5, STEPS, n=400, noise=0.01)
    assert check(quiet).converged


def test_nothing_to_judge_early_or_without_evaluations():
    assert not check({}).converged
    per = curves(lambda s: 1.0, [0, 50, 100])
    c = check(per)
    assert not c.converged and "too few evaluations" in c.reason
    assert "minimum" in check(curves(lambda s: 1.0, STEPS), min_steps=2000).reason


def test_note_says_converged_or_why_not_and_flags_worse_than_untrained():
    c = check(curves(lambda s: 0.5, STEPS))
    assert note(c, steps=1000, cap=2000, val_untrained=1.0, val_best=0.5).startswith("converged")
    assert "stopped early at step 1000 of at most 2000" in note(c, steps=1000, cap=2000, val_untrained=1.0,
                                                                val_best=0.5)
    assert "WORSE than untrained" in note(c, steps=1000, cap=1000, val_untrained=1.0, val_best=1.01)
    f = check(curves(lambda s: 1.0 / (1 + s / 100), STEPS))
    assert note(f, steps=1000, cap=1000, val_untrained=1.0, val_best=0.1).startswith("step cap 1000 reached")


def test_lr_schedule():
    assert lr_factor(0, 100, warmup=10) == pytest.approx(0.1)
    assert lr_factor(9, 100, warmup=10) == pytest.approx(1.0)
    assert lr_factor(10, 100, warmup=10) == pytest.approx(1.0)
    assert lr_factor(55, 100, warmup=10) == pytest.approx(0.5)  # half-way through the cosine
    assert lr_factor(100, 100, warmup=10, min_lr_ratio=0.02) == pytest.approx(0.02)
    assert lr_factor(500, 100, min_lr_ratio=0.0) == pytest.approx(0.0)  # past the cap: the floor
    assert lr_factor(50, 100, schedule="constant", warmup=10) == 1.0
    f = [lr_factor(s, 100, warmup=10) for s in range(100)]
    assert all(a >= b for a, b in zip(f[9:], f[10:]))  # falls monotonically after the warm-up
    with pytest.raises(ValueError):
        lr_factor(1, 10, schedule="step")


def test_a_run_that_flattened_without_learning_is_not_converged():
    from t2tcore.sr.convergence import learned

    c = check(curves(lambda s: 1.0 if s == 0 else 0.995, STEPS))  # flat at the identity's loss: dead units
    assert c.converged  # the curve is flat ...
    assert not learned(1.0, 0.995) and learned(1.0, 0.9)  # ... but nothing was learned
    text = note(c, steps=1000, cap=1000, val_untrained=1.0, val_best=0.995)
    assert text.startswith("NOT converged") and "did not learn" in text
