"""t2tcore.teaching.linear_sr: the linear SR model of exercise 5 (against independent truths: literal loops, physics, known models)."""

import numpy as np

from t2tcore import teaching as T


def test_fit_linear_sr_recovers_a_known_linear_map():
    # thin slice i (0.8 mm) is built from thick slices (2 mm) by a known filter per phase
    rng = np.random.default_rng(1)
    n_thick = 40
    thick = rng.standard_normal((n_thick, 1, 30))
    tpos = 2.0 * np.arange(n_thick)
    n_thin = 5 * (n_thick // 2) - 5
    thin_pos = 0.8 * np.arange(n_thin)
    true = rng.standard_normal((5, 3))  # p = 5 phases, K = 1
    centre = [int(np.argmin(np.abs(tpos - x))) for x in thin_pos[:5]]
    thin = np.zeros((n_thin, 1, 30))
    for i in range(n_thin):
        c = 2 * (i // 5) + centre[i % 5]
        if 1 <= c < n_thick - 1:
            thin[i] = sum(true[i % 5, k] * thick[c - 1 + k] for k in range(3))
    model = T.fit_linear_sr([thick], [tpos], [thin], [thin_pos], half_width=1, ridge=0.0, bias=False)
    assert (model.p, model.q) == (5, 2)
    np.testing.assert_allclose(model.coef, true, atol=1e-8)
    out = model.predict(thick)
    ok = np.isfinite(out[:n_thin, 0, 0])
    np.testing.assert_allclose(out[:n_thin][ok], thin[ok], atol=1e-8)


def test_wrong_pairs_break_the_model():
    res = T.wrong_pairs(methods=("proposed", "average"), n_train=2)
    prop, avg = res["table"]["proposed"], res["table"]["average"]
    assert (prop["p"], prop["q"]) == (5, 2) and (avg["p"], avg["q"]) == (3, 1)
    assert avg["rmse"] > 2 * prop["rmse"]
