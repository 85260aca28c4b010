"""Tests of t2tcore.evaluation.stats: the Wilcoxon test against an exact enumeration written out here,
† placement on constructed cohorts, formatting, and the paper's Table III numbers."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from t2tcore.evaluation.stats import min_attainable_p, paired_wilcoxon, paper_table3, summary_stats, summary_table


def exact_signed_rank_p(d):
    """Two-sided exact p of the signed-rank test by enumerating all 2**n sign patterns
    (no zeros, no ties)."""
    ranks = np.argsort(np.argsort(np.abs(d))) + 1
    observed = ranks[d > 0].sum()
    mean = ranks.sum() / 2
    hits = 0
    for signs in itertools.product((0, 1), repeat=len(d)):
        w = sum(r for r, s in zip(ranks, signs) if s)
        hits += abs(w - mean) >= abs(observed - mean) - 1e-12
    return hits / 2 ** len(d)


def test_paired_wilcoxon_matches_exact_enumeration():
    a = np.array([10.2, 11.5, 9.8, 12.1, 10.9, 11.1, 9.5, 10.0])
    b = np.array([10.0, 10.4, 10.1, 11.3, 10.3, 10.25, 9.9, 9.1])
    res = paired_wilcoxon(a, b)
    assert res.pvalue == pytest.approx(exact_signed_rank_p(a - b), rel=1e-12)
    assert res.n == res.n_nonzero == 8 and res.note == ""
    # all of one sign with 6 pairs: the smallest attainable p, 2 / 2**6
    assert paired_wilcoxon(np.arange(6.0) + 1, np.arange(6.0)).pvalue == pytest.approx(0.03125)


def test_paired_wilcoxon_small_and_degenerate_samples():
    same = paired_wilcoxon([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert same.pvalue == 1.0 and same.n_nonzero == 0 and "zero" in same.note
    two = paired_wilcoxon([1.0, 2.0], [2.0, 3.5])
    assert two.pvalue == pytest.approx(0.5) and two.min_p == 0.5 and "impossible" in two.note
    assert [min_attainable_p(n) for n in (0, 1, 2, 5, 6)] == [1.0, 1.0, 0.5, 0.0625, 0.03125]
    with pytest.raises(ValueError, match="same length"):
        paired_wilcoxon([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="finite"):
        paired_wilcoxon([1.0, np.nan], [1.0, 2.0])


def cohort(n=8, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for kernel in ("B30", "D45"):
        base = rng.normal(45, 2, n)
        for p in range(n):
            prop = base[p]
            vals = {
                "proposed": prop,
                "same": prop,  # identical to the reference: never significant
                "worse": prop - 6 - rng.uniform(0, 1),  # clearly worse for every patient
            }
            for method, psnr in vals.items():
                rows.append({"kernel": kernel, "dose": "full", "patient": f"P{p}", "method": method, "psnr": psnr, "rmse": 10 ** (-psnr / 20)})
    return pd.DataFrame(rows)


def test_summary_places_dagger_and_best_marks():
    df = cohort()
    long = summary_stats(df, ["psnr", "rmse"])
    worse = long[long.method == "worse"]
    assert worse.significant.all() and np.allclose(worse.p, 2 / 2**8)
    assert not long[long.method.isin(["same", "proposed"])].significant.any()
    assert long[long.method == "proposed"].p.isna().all()
    best = long[long.best]
    assert set(best.method) == {"proposed", "same"}  # tie: both marked
    table = summary_table(df, ["psnr", "rmse"], best_format=None)
    assert list(table.columns) == ["psnr", "rmse"]
    assert table.index.names == ["kernel", "dose", "method"]
    assert table.loc[("B30", "full", "worse"), "psnr"].endswith("†")
    assert not table.loc[("B30", "full", "same"), "psnr"].endswith("†")
    assert "†" not in table.loc[("D45", "full", "proposed"), "rmse"]


def test_summary_table_formatting():
    df = pd.DataFrame(
        {
            "kernel": ["B30"] * 6,
            "patient": ["a", "b", "c"] * 2,
            "method": ["proposed"] * 3 + ["average"] * 3,
            "psnr": [40.0, 42.0, 44.0, 30.0, 31.0, 35.0],
        }
    )
    t = summary_table(df, ["psnr"], group_cols=("kernel",), decimals=2)
    assert t.loc[("B30", "proposed"), "psnr"] == "**42.00 ± 2.00**"
    assert t.loc[("B30", "average"), "psnr"] == f"32.00 ± {np.std([30, 31, 35], ddof=1):.2f}"
    long = summary_stats(df, ["psnr"], group_cols=("kernel",))
    assert "impossible" in long.set_index("method").loc["average", "note"]
    with pytest.raises(ValueError, match="more than one row"):
        summary_table(pd.concat([df, df.iloc[:1]]), ["psnr"], group_cols=("kernel",))
    with pytest.raises(ValueError, match="reference method"):
        summary_table(df, ["psnr"], group_cols=("kernel",), reference="proposed_v2")


def test_paper_table3_values():
    t = paper_table3()
    assert t.shape == (32, 7)
    assert set(t.kernel) == {"D45", "B30"} and set(t.metric) == {"psnr", "rmse", "ssim", "fid"}
    idx = t.set_index(["kernel", "method", "metric"])
    assert tuple(idx.loc[("D45", "proposed", "psnr"), ["mean", "std"]]) == (49.7369, 2.5223)
    assert tuple(idx.loc[("B30", "proposed", "psnr"), ["mean", "std"]]) == (48.5801, 7.3271)
    assert tuple(idx.loc[("D45", "average", "psnr"), ["mean", "std"]]) == (40.6623, 3.1264)
    assert tuple(idx.loc[("B30", "gaussian", "fid"), ["mean", "std"]]) == (0.0660, 0.0090)
    assert tuple(idx.loc[("D45", "direct", "ssim"), ["mean", "std"]]) == (0.9489, 0.0204)
    assert tuple(idx.loc[("B30", "direct", "rmse"), ["mean", "std"]]) == (0.0334, 0.0150)
    assert idx.loc[("B30", "average", "ssim"), "label"] == "Simple Averaging"
    assert t[t.method != "proposed"].significant.all() and not t[t.method == "proposed"].significant.any()
    # in the paper the proposed method is best in every cell
    for (kernel, metric), g in t.groupby(["kernel", "metric"]):
        best = g["mean"].max() if metric in ("psnr", "ssim") else g["mean"].min()
        assert g.loc[g["mean"] == best, "method"].tolist() == ["proposed"]


# ---------------------------------------------------------------- hierarchical bootstrap

from t2tcore.evaluation.stats import hierarchical_bootstrap  # noqa: E402


def _draw(rng, n=7, k=3, effect=0.5, sd_patient=1.0, sd_seed=0.3, sd_noise=0.2):
    """Patients x seeds of two methods: shared patient effects, model-level seed effects, noise."""
    pat = rng.normal(0, sd_patient, (n, 1))
    a = effect + pat + rng.normal(0, sd_seed, (1, k)) + rng.normal(0, sd_noise, (n, k))
    b = pat + rng.normal(0, sd_seed, (1, k)) + rng.normal(0, sd_noise, (n, k))
    return a, b


def test_hierarchical_bootstrap_effect_and_its_interval_on_known_values():
    a = np.repeat([[1.0], [2.0], [0.5], [1.5]], 3, axis=1)  # seeds agree
    b = a - 0.4  # a constant difference: the interval is that difference exactly
    r = hierarchical_bootstrap(a, b, n_boot=500)
    assert r.mean_diff == pytest.approx(0.4) and r.ci_low == pytest.approx(0.4) and r.ci_high == pytest.approx(0.4)
    assert (r.n_patients, r.n_seeds_a, r.n_seeds_b) == (4, 3, 3)
    # one seed each (1-D): the mean of the paired differences, an interval around it
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    y = x - np.array([0.1, 0.5, 0.2, 0.4, 0.3, 0.3])
    r1 = hierarchical_bootstrap(x, y, n_boot=2000)
    assert r1.mean_diff == pytest.approx(0.3) and r1.ci_low < 0.3 < r1.ci_high and r1.ci_low > 0
    # seeds that disagree (seed s of a and of b are different models): the interval widens
    rs = hierarchical_bootstrap(a + [[0.0, 0.2, -0.2]], b, n_boot=2000)
    assert rs.mean_diff == pytest.approx(0.4) and rs.ci_low < 0.4 < rs.ci_high
    with pytest.raises(ValueError):
        hierarchical_bootstrap(np.ones((3, 2)), np.ones((4, 2)))
    with pytest.raises(ValueError):
        hierarchical_bootstrap(np.array([1.0, np.nan]), np.array([1.0, 2.0]))


def test_hierarchical_bootstrap_covers_the_true_effect_95_percent_of_the_time():
    """Coverage by simulation, 7 patients x 3 seeds with model-level seed noise (chapter 05's design)."""
    rng = np.random.default_rng(11)
    n_sim, hits, plain, widths = 300, 0, 0, []
    for i in range(n_sim):
        a, b = _draw(rng)
        r = hierarchical_bootstrap(a, b, n_boot=1000, seed=i)
        hits += r.ci_low <= 0.5 <= r.ci_high
        p = hierarchical_bootstrap(a, b, n_boot=1000, seed=i, expand=False)
        plain += p.ci_low <= 0.5 <= p.ci_high
        widths.append(r.ci_high - r.ci_low)
    assert 0.92 <= hits / n_sim <= 0.99  # expanded percentile: close to nominal
    assert plain < hits  # the plain percentile interval is too narrow with 7 patients


def test_seed_noise_widens_the_interval():
    rng = np.random.default_rng(2)
    w_small = np.mean([(lambda r: r.ci_high - r.ci_low)(hierarchical_bootstrap(*_draw(rng, sd_seed=0.0), n_boot=500, seed=i))
                       for i in range(40)])
    w_big = np.mean([(lambda r: r.ci_high - r.ci_low)(hierarchical_bootstrap(*_draw(rng, sd_seed=0.6), n_boot=500, seed=i))
                     for i in range(40)])
    assert w_big > 1.5 * w_small
