"""Paired statistics and Table III style summaries of per-patient metrics.

* :func:`paired_wilcoxon` — two-sided Wilcoxon signed-rank test of paired per-patient values
  (:func:`scipy.stats.wilcoxon`), with the small-sample facts spelled out.
* :func:`summary_stats` — numeric long-form table (mean, std, n, p against the reference
  method, significance, best) per group (kernel, dose), method and metric, for plotting.
* :func:`summary_table` — the same as "mean ± std" strings with ``†`` where p < 0.05
  against the reference method, as in the paper's Table III.
* :func:`paper_table3` — the paper's Table III numbers, to show beside ours.
* :func:`hierarchical_bootstrap` — a mean difference between two methods with a 95 % interval
  from a bootstrap over patients and then training seeds (models), for effects of methods whose
  results also vary with the seed a model was trained with (chapter 05).

**Small cohorts.** With ``n`` patients whose differences are all non-zero and untied, the
exact two-sided signed-rank test can reach at best ``p = 2 / 2**n`` (all differences of one
sign): 0.5 for n = 2, 0.25 for n = 3, 0.125 for n = 4, 0.0625 for n = 5, 0.03125 for
n = 6. So **fewer than 6 patients can never give p < 0.05** (no ``†`` is possible), whatever
the effect size. The paper's Table III used the 10 training patients of the 2016 LDCT Grand
Challenge (minimum p = 0.00195).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from t2tcore import paper as _paper

__all__ = [
    "BootstrapResult",
    "WilcoxonResult",
    "hierarchical_bootstrap",
    "higher_is_better",
    "min_attainable_p",
    "paired_wilcoxon",
    "paper_table3",
    "summary_stats",
    "summary_table",
]

#: Significance level of the † mark.
ALPHA = 0.05


def min_attainable_p(n: int) -> float:
    """Smallest two-sided p-value of the exact Wilcoxon signed-rank test with ``n`` pairs.

    Parameters
    ----------
    n : int
        Number of non-zero paired differences.

    Returns
    -------
    float
        ``min(1, 2 / 2**n)`` (all differences of one sign, no ties); 1 for n = 0.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    return min(1.0, 2.0 ** (1 - n))


@dataclass(frozen=True)
class WilcoxonResult:
    """Result of :func:`paired_wilcoxon`.

    Attributes
    ----------
    statistic : float
        scipy's statistic (the smaller of the positive and negative rank sums).
    pvalue : float
        Two-sided p-value (1.0 when every difference is zero).
    n : int
        Number of pairs given.
    n_nonzero : int
        Pairs with a non-zero difference (the test drops zero differences).
    min_p : float
        Smallest p-value attainable with ``n_nonzero`` pairs (:func:`min_attainable_p`).
    note : str
        Empty, or why the p-value deserves care (all differences zero, too few pairs).
    """

    statistic: float
    pvalue: float
    n: int
    n_nonzero: int
    min_p: float
    note: str = ""


def paired_wilcoxon(a: Any, b: Any) -> WilcoxonResult:
    """Two-sided Wilcoxon signed-rank test of paired values (e.g. one per patient).

    Parameters
    ----------
    a, b : array_like, shape (n,)
        Paired values (``a[i]`` and ``b[i]`` from the same patient), finite.

    Returns
    -------
    WilcoxonResult
        ``pvalue`` from :func:`scipy.stats.wilcoxon` (``zero_method="wilcox"``: zero
        differences are dropped; exact distribution for small samples, as scipy chooses).
        When every difference is zero: statistic 0, p = 1 and a note. When fewer than 6
        non-zero differences remain, the note says that p < 0.05 cannot be reached.

    Raises
    ------
    ValueError
        If the lengths differ, there are no pairs, or a value is not finite.
    """
    from scipy import stats

    x = np.asarray(a, dtype=np.float64).ravel()
    y = np.asarray(b, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"paired samples must have the same length, got {x.size} and {y.size}")
    if x.size == 0:
        raise ValueError("no pairs given")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("paired samples must be finite (drop missing patients first)")
    d = x - y
    n_nonzero = int(np.count_nonzero(d))
    min_p = min_attainable_p(n_nonzero)
    if n_nonzero == 0:
        return WilcoxonResult(0.0, 1.0, int(x.size), 0, min_p, "all differences are zero; p set to 1")
    res = stats.wilcoxon(x, y, zero_method="wilcox", alternative="two-sided")
    note = ""
    if min_p >= ALPHA:
        note = (
            f"only {n_nonzero} non-zero difference(s): the smallest attainable p is "
            f"{min_p:.4g}, so p < {ALPHA} is impossible"
        )
    return WilcoxonResult(float(res.statistic), float(res.pvalue), int(x.size), n_nonzero, min_p, note)


_HIGHER = ("psnr", "ssim")
_LOWER = ("rmse", "mse", "mae", "fid", "error")


def higher_is_better(metric: str) -> bool:
    """Direction of a metric from its name: PSNR/SSIM higher, RMSE/MSE/MAE/FID lower.

    Parameters
    ----------
    metric : str
        Column name, e.g. ``"psnr"``, ``"ssim_3d"``, ``"rmse_hu"``, ``"fid"``.

    Returns
    -------
    bool

    Raises
    ------
    ValueError
        If the name matches no known metric (pass ``higher_is_better`` explicitly).
    """
    name = metric.lower()
    if any(k in name for k in _HIGHER):
        return True
    if any(k in name for k in _LOWER):
        return False
    raise ValueError(f"cannot tell whether higher {metric!r} is better; pass higher_is_better={{...}}")


def _check_frame(df: pd.DataFrame, cols: Sequence[str]) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"columns missing from the table: {missing}")


def summary_stats(
    df: pd.DataFrame,
    metric_cols: Sequence[str],
    method_col: str = "method",
    patient_col: str = "patient",
    reference: str = "proposed",
    group_cols: Sequence[str] = ("kernel", "dose"),
    higher_is_better_map: Mapping[str, bool] | None = None,
    alpha: float = ALPHA,
) -> pd.DataFrame:
    """Per group, method and metric: mean, std, n and the paired p-value against ``reference``.

    Parameters
    ----------
    df : DataFrame
        One row per (group, method, patient) with the metric values.
    metric_cols : sequence of str
        Metric columns to summarise.
    method_col, patient_col : str
        Column names of the method and the patient (the pairing key).
    reference : str
        The method every other method is tested against (paired by patient, only patients
        that have both values).
    group_cols : sequence of str
        Columns that define separate tables (e.g. kernel and dose); missing ones are an
        error, an empty sequence means one group.
    higher_is_better_map : mapping, optional
        Direction per metric; by default from the name (:func:`higher_is_better`).
    alpha : float
        Significance level of ``significant``.

    Returns
    -------
    DataFrame
        Columns ``*group_cols, method, metric, mean, std, n, p, n_pairs, significant,
        best, note``. ``std`` is the sample standard deviation (ddof = 1, NaN for n = 1);
        ``p`` is NaN for the reference method (and when no pair exists); ``best`` marks
        the best mean per group and metric (ties: all of them).
    """
    group_cols = list(group_cols)
    metric_cols = list(metric_cols)
    if not metric_cols:
        raise ValueError("no metric columns given")
    _check_frame(df, [*group_cols, method_col, patient_col, *metric_cols])
    dup = df.duplicated([*group_cols, method_col, patient_col])
    if dup.any():
        first = df.loc[dup, [*group_cols, method_col, patient_col]].iloc[0].to_dict()
        raise ValueError(f"more than one row per group/method/patient, e.g. {first}")
    directions = {m: (higher_is_better_map or {}).get(m) for m in metric_cols}
    for m, d in directions.items():
        if d is None:
            directions[m] = higher_is_better(m)

    rows = []
    groups = df.groupby(group_cols, sort=False, dropna=False) if group_cols else [((), df)]
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        gvals = dict(zip(group_cols, key))
        methods = list(dict.fromkeys(g[method_col]))
        if reference not in methods:
            raise ValueError(f"reference method {reference!r} missing in group {gvals}")
        for metric in metric_cols:
            wide = g.pivot(index=patient_col, columns=method_col, values=metric)
            block = []
            for method in methods:
                vals = wide[method].dropna().to_numpy(dtype=float)
                row = dict(gvals, method=method, metric=metric)
                row["mean"] = float(vals.mean()) if vals.size else math.nan
                row["std"] = float(vals.std(ddof=1)) if vals.size > 1 else math.nan
                row["n"] = int(vals.size)
                row["p"], row["n_pairs"], row["note"] = math.nan, 0, ""
                if method != reference:
                    both = wide[[method, reference]].dropna()
                    row["n_pairs"] = len(both)
                    if len(both):
                        w = paired_wilcoxon(both[method], both[reference])
                        row["p"], row["note"] = w.pvalue, w.note
                    else:
                        row["note"] = "no patient with both methods"
                row["significant"] = bool(row["p"] < alpha)
                block.append(row)
            means = np.array([r["mean"] for r in block])
            if np.isfinite(means).any():
                best = np.nanmax(means) if directions[metric] else np.nanmin(means)
                for r in block:
                    r["best"] = bool(r["mean"] == best)
            else:
                for r in block:
                    r["best"] = False
            rows.extend(block)
    cols = [*group_cols, "method", "metric", "mean", "std", "n", "p", "n_pairs", "significant", "best", "note"]
    return pd.DataFrame(rows, columns=cols)


@dataclass(frozen=True)
class BootstrapResult:
    """Result of :func:`hierarchical_bootstrap`.

    Attributes
    ----------
    mean_diff : float
        Mean over patients of (mean over seeds of ``a``) minus (mean over seeds of ``b``).
    ci_low, ci_high : float
        The interval's ends (same unit).
    n_patients, n_seeds_a, n_seeds_b, n_boot : int
    level : float
        Nominal coverage (0.95).
    """

    mean_diff: float
    ci_low: float
    ci_high: float
    n_patients: int
    n_seeds_a: int
    n_seeds_b: int
    n_boot: int
    level: float


@functools.lru_cache(maxsize=256)
def _tail(n: int, level: float, expand: bool) -> float:
    """Lower percentile level of the (expanded) percentile interval."""
    from scipy import stats

    alpha = 1.0 - level
    if not expand:
        return alpha / 2.0
    z = math.sqrt(n / (n - 1.0)) * stats.t.ppf(1.0 - alpha / 2.0, n - 1)
    return float(stats.norm.cdf(-z))


def hierarchical_bootstrap(a: Any, b: Any, *, n_boot: int = 4000, level: float = 0.95, seed: int = 0,
                           expand: bool = True) -> BootstrapResult:
    """Mean difference of two methods with a bootstrap interval over patients, then seeds.

    ``a[i, s]`` is the metric of patient ``i`` under method A's model trained with seed ``s``
    (already averaged over anything that is not independent, e.g. the two doses of a patient);
    likewise ``b`` (its seeds are other models: seed ``s`` of A and of B are not paired). The
    effect is ``mean_i (mean_s a[i, s] - mean_s b[i, s])``. Each bootstrap replicate draws
    patients with replacement, then, for each method, seeds with replacement (a seed is one
    trained model, applied to every patient, so it is drawn once per replicate), and recomputes
    the effect on the drawn patients and seeds. With one seed a method's training noise is not
    in the interval: say so where it is shown.

    Few patients make the plain percentile interval too narrow (the bootstrap variance of a
    mean is (n - 1)/n of the usual one, and the t distribution's tails are heavier), so by
    default the **expanded percentile** interval is returned (Hesterberg 2015): the percentiles
    at ``Phi(-sqrt(n / (n - 1)) * t_{n-1, 1 - alpha/2})`` and its complement instead of
    ``alpha/2``, n = patients; its coverage is close to nominal from about 5 patients on
    (``tests/evaluation/test_stats.py`` checks it by simulation).

    Parameters
    ----------
    a, b : array_like, shape (n_patients, n_seeds_a), (n_patients, n_seeds_b)
        Finite values; rows are the same patients in the same order. 1-D arrays are one seed.
    n_boot : int
        Replicates.
    level : float
        Coverage of the interval.
    seed : int
        Seed of the resampling.
    expand : bool
        Expanded percentile interval (default) or the plain percentile interval.

    Returns
    -------
    BootstrapResult
    """
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    x = x[:, None] if x.ndim == 1 else x
    y = y[:, None] if y.ndim == 1 else y
    if x.ndim != 2 or y.ndim != 2 or x.shape[0] != y.shape[0]:
        raise ValueError(f"a and b must be (patients, seeds) arrays with the same patients, got {x.shape} and {y.shape}")
    if x.size == 0 or y.size == 0:
        raise ValueError("no values given")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("values must be finite (drop missing patients or seeds first)")
    if not 0.0 < level < 1.0 or int(n_boot) < 100:
        raise ValueError("need 0 < level < 1 and n_boot >= 100")
    n, ka, kb = x.shape[0], x.shape[1], y.shape[1]
    effect = float(np.mean(x.mean(axis=1) - y.mean(axis=1)))
    if n < 2:
        return BootstrapResult(effect, math.nan, math.nan, n, ka, kb, 0, level)
    rng = np.random.default_rng(seed)
    nb = int(n_boot)
    p = rng.integers(0, n, (nb, n))
    sa = rng.integers(0, ka, (nb, ka))
    sb = rng.integers(0, kb, (nb, kb))
    ma = x[p[:, :, None], sa[:, None, :]].mean(axis=(1, 2))
    mb = y[p[:, :, None], sb[:, None, :]].mean(axis=(1, 2))
    boot = ma - mb
    tail = _tail(n, level, expand)
    lo, hi = np.quantile(boot, [tail, 1.0 - tail])
    return BootstrapResult(effect, float(lo), float(hi), n, ka, kb, nb, level)


def _fmt(x: float, decimals: int) -> str:
    return "n/a" if not np.isfinite(x) else f"{x:.{decimals}f}"


def summary_table(
    df: pd.DataFrame,
    metric_cols: Sequence[str],
    method_col: str = "method",
    patient_col: str = "patient",
    reference: str = "proposed",
    group_cols: Sequence[str] = ("kernel", "dose"),
    *,
    decimals: int = 4,
    best_format: str | None = "**{}**",
    higher_is_better_map: Mapping[str, bool] | None = None,
    alpha: float = ALPHA,
) -> pd.DataFrame:
    """Table III style "mean ± std" strings, ``†`` where p < ``alpha`` against ``reference``.

    Parameters
    ----------
    df, metric_cols, method_col, patient_col, reference, group_cols
        As in :func:`summary_stats`.
    decimals : int
        Decimals of mean and std (the paper prints 4).
    best_format : str or None
        Format of the best value per group and metric (default Markdown bold, the paper
        prints it bold); ``None`` leaves it unmarked.
    higher_is_better_map, alpha
        As in :func:`summary_stats`.

    Returns
    -------
    DataFrame of str
        Index ``(*group_cols, method)`` in the order of first appearance, one column per
        metric; cells like ``"40.6623 ± 3.1264†"``.
    """
    stats_df = summary_stats(
        df, metric_cols, method_col, patient_col, reference, group_cols, higher_is_better_map, alpha
    )
    group_cols = list(group_cols)

    def cell(r: pd.Series) -> str:
        s = f"{_fmt(r['mean'], decimals)} ± {_fmt(r['std'], decimals)}"
        if best_format is not None and r["best"]:
            s = best_format.format(s)
        return s + ("†" if r["significant"] else "")

    stats_df = stats_df.assign(cell=stats_df.apply(cell, axis=1))
    index = [*group_cols, "method"]
    order = stats_df[index].drop_duplicates()
    table = stats_df.pivot(index=index, columns="metric", values="cell")
    table = table.reindex(pd.MultiIndex.from_frame(order) if len(index) > 1 else order["method"])
    table = table[list(metric_cols)]
    table.columns.name = None
    return table


def paper_table3() -> pd.DataFrame:
    """The paper's Table III (simulated vs real thick slices, 2016 LDCT Grand Challenge).

    Returns
    -------
    DataFrame
        32 rows (kernels D45 and B30 x methods ``average``, ``gaussian``, ``direct``,
        ``proposed`` x metrics ``psnr``, ``rmse``, ``ssim``, ``fid``) with columns
        ``kernel, method, label`` (the paper's name), ``metric, mean, std, significant``
        (the paper's † against the proposed method): :data:`t2tcore.paper.TABLE3` as a
        table. The paper's convention: volumes min-max scaled to [-1, 1] (PSNR in dB with
        peak 2, RMSE on that scale); its FID scale is not explained (values 0.002-0.12, far
        below standard FID values).
    """
    rows = []
    for kernel, methods in _paper.TABLE3.items():
        for method, metrics in methods.items():
            for metric, (mean, std) in metrics.items():
                rows.append(
                    {
                        "kernel": kernel,
                        "method": method,
                        "label": _paper.TABLE3_LABELS[method],
                        "metric": metric,
                        "mean": mean,
                        "std": std,
                        "significant": method != "proposed",
                    }
                )
    return pd.DataFrame(rows)
