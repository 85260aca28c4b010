"""Chapter 04's tables and words: the sweep's rows (:func:`t2tcore.studies.robustness.sweep`) summarised.

:func:`ranking` (mean error per method and setting, each method's rank), :func:`ranking_tables` (the three
tables the chapter shows), :func:`triangle_verdict` (how far the triangle is from the best method),
:func:`profile_table` (the calibrated profiles) and the sentences (:func:`verdict_text`, :func:`findings`).
"""

from __future__ import annotations

from typing import Iterable, Sequence

__all__ = ["findings", "profile_table", "ranking", "ranking_tables", "triangle_verdict", "verdict_text"]

_KEYS = ["axis", "value", "dose"]


def ranking(results, metric: str = "rmse_hu"):
    """Mean and SD of ``metric`` over the test phantoms, and each method's rank (1 = best).

    Parameters
    ----------
    results : pandas.DataFrame
        From :func:`sweep`.
    metric : {"rmse_hu", "psnr_db"}
        Lower RMSE is better, higher PSNR is better.

    Returns
    -------
    pandas.DataFrame
        ``axis, value, dose, method, mean, sd, n, rank``.
    """
    if metric not in ("rmse_hu", "psnr_db"):
        raise ValueError(f"metric must be 'rmse_hu' or 'psnr_db', got {metric!r}")
    g = results.groupby(_KEYS + ["method"], sort=False)[metric]
    out = g.agg(mean="mean", sd="std", n="count").reset_index()
    out["rank"] = out.groupby(_KEYS, sort=False)["mean"].rank(ascending=(metric == "rmse_hu"), method="min")
    out["rank"] = out["rank"].astype(int)
    return out


def triangle_verdict(results, metric: str = "rmse_hu", reference: str = "proposed", exclude: Iterable[str] = ()):
    """Per setting and dose: the best method and how far the triangle is from it.

    Parameters
    ----------
    results : pandas.DataFrame
        From :func:`sweep`.
    metric : {"rmse_hu", "psnr_db"}
    reference : str
        The method judged (default ``proposed``, the paper's triangle).
    exclude : iterable of str
        Methods left out of the comparison (e.g. ``["calibrated"]`` to compare the triangle
        with the other fixed guesses only).

    Returns
    -------
    pandas.DataFrame
        ``axis, value, dose, best, best_mean, triangle_mean, triangle_rank, gap`` (triangle
        minus best, in the metric's unit; > 0 means worse for RMSE), ``gap_pct`` (relative to
        the best), ``triangle_best`` (bool), ``wins`` (test phantoms where the best method
        beats the triangle) and ``n`` (test phantoms).
    """
    import pandas as pd

    excl = set(exclude)
    if reference in excl:
        raise ValueError(f"the reference method {reference!r} cannot be excluded")
    if metric not in ("rmse_hu", "psnr_db"):
        raise ValueError(f"metric must be 'rmse_hu' or 'psnr_db', got {metric!r}")
    lower = metric == "rmse_hu"
    sub = results[~results["method"].isin(excl)]
    rows = []
    for key, per in sub.groupby(_KEYS, sort=False):
        table = per.pivot_table(index="phantom", columns="method", values=metric, aggfunc="mean")
        if reference not in table.columns:
            raise ValueError(f"no rows of the reference method {reference!r}")
        means = table.mean()
        best = means.idxmin() if lower else means.idxmax()
        ranks = means.rank(ascending=lower, method="min")
        tri, bm = float(means[reference]), float(means[best])
        gap = (tri - bm) if lower else (bm - tri)
        a, b = table[reference], table[best]
        wins = int(((b < a) if lower else (b > a)).sum())
        rows.append(
            {**dict(zip(_KEYS, key)), "best": best, "best_mean": bm, "triangle_mean": tri,
             "triangle_rank": int(ranks[reference]), "gap": gap, "gap_pct": 100.0 * gap / abs(bm) if bm else float("nan"),
             "triangle_best": best == reference, "wins": wins, "n": int(table[reference].count())}
        )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------
# Tables and sentences of the chapter
# --------------------------------------------------------------------------------------


def profile_table(profiles, thickness: float):
    """FWHM and fit residual of the calibrated profiles, per setting (rows) and dose (columns).

    Parameters
    ----------
    profiles : pandas.DataFrame
        The profiles of :func:`sweep`.
    thickness : float
        Nominal thick slice thickness, mm.

    Returns
    -------
    pandas.DataFrame
        Index ``(axis, value)``; columns ``(fwhm_mm | residual_rmse_hu | fwhm / nominal, dose)``.
    """
    fw = profiles.drop(columns="profile").copy()
    fw["fwhm / nominal"] = fw["fwhm_mm"] / float(thickness)
    return fw.pivot_table(index=["axis", "value"], columns="dose",
                          values=["fwhm_mm", "residual_rmse_hu", "fwhm / nominal"], sort=False)


def ranking_tables(results, methods: Sequence[str]) -> dict:
    """Mean RMSE, rank by RMSE and mean PSNR per setting and dose (rows) and method (columns).

    Parameters
    ----------
    results : pandas.DataFrame
        From :func:`sweep`.
    methods : sequence of str
        Column order.

    Returns
    -------
    dict
        ``"rmse"`` (HU), ``"rank"`` (1 = lowest RMSE) and ``"psnr"`` (dB): DataFrames with
        index ``(axis, value, dose)``.
    """
    cols = list(methods)
    rk = ranking(results, "rmse_hu")
    idx = ["axis", "value", "dose"]
    return {
        "rmse": rk.pivot_table(index=idx, columns="method", values="mean", sort=False)[cols],
        "rank": rk.pivot_table(index=idx, columns="method", values="rank", sort=False)[cols].astype(int),
        "psnr": ranking(results, "psnr_db").pivot_table(index=idx, columns="method", values="mean", sort=False)[cols],
    }


def _where(v) -> str:
    return ", ".join(f"{r.axis}={r.value} ({r.dose})" for r in v.itertuples()) or "none of them"


def _gaps(v) -> str:
    lost = v[~v["triangle_best"]]
    if lost.empty:
        return "none"
    return (f"{lost['gap'].min():.2f} to {lost['gap'].max():.2f} HU "
            f"({lost['gap_pct'].min():.0f} to {lost['gap_pct'].max():.0f} % of the best method's RMSE)")


def verdict_text(v_all, v_fixed, calibration_seed: int, n_test: int) -> str:
    """Markdown: where the triangle is the best choice, by how much it loses elsewhere.

    Parameters
    ----------
    v_all, v_fixed : pandas.DataFrame
        :func:`triangle_verdict` against all methods and against the fixed guesses only
        (``exclude=["calibrated"]``).
    calibration_seed : int
        Seed of the phantom the calibrated profile was fitted on.
    n_test : int
        Test phantoms per setting.

    Returns
    -------
    str
    """
    base = v_fixed[(v_fixed["axis"] == "z_weighting") & (v_fixed["value"] == "trapezoid")]
    cal = v_all[v_all["best"] == "calibrated"]
    worst = v_all.loc[v_all["gap"].idxmax()]
    lines = [
        f"**Scored on {n_test} test phantom(s)** ({len(v_all)} setting x dose combinations).",
        f"* Against all methods, the triangle is the best choice in: {_where(v_all[v_all['triangle_best']])}. "
        f"Elsewhere the best method is "
        + ", ".join(f"`{m}` ({n}x)" for m, n in v_all.loc[~v_all["triangle_best"], "best"].value_counts().items())
        + f"; the triangle's excess RMSE there is {_gaps(v_all)}.",
        f"* The calibrated profile (fitted on phantom {calibration_seed} only) is best in {len(cal)} of {len(v_all)} "
        f"combinations; it lowers the triangle's RMSE by {cal['gap'].min():.2f} to {cal['gap'].max():.2f} HU "
        f"({(cal['gap'] / cal['triangle_mean']).min() * 100:.0f} to {(cal['gap'] / cal['triangle_mean']).max() * 100:.0f} %)."
        if len(cal) else "* The calibrated profile is never the best method.",
        f"* The triangle is furthest from the best method at {worst['axis']}={worst['value']} ({worst['dose']}): "
        f"{worst['triangle_mean']:.2f} HU vs {worst['best_mean']:.2f} HU for `{worst['best']}`.",
        f"* Among the fixed guesses only, the triangle is best in: {_where(v_fixed[v_fixed['triangle_best']])}; "
        f"it is beaten in {int((~v_fixed['triangle_best']).sum())} of {len(v_fixed)} combinations, by "
        + (", ".join(f"`{m}` ({n}x)" for m, n in v_fixed.loc[~v_fixed["triangle_best"], "best"].value_counts().items())
           or "-")
        + f", with an excess RMSE of {_gaps(v_fixed)}.",
        "* On the base scanner (trapezoid z-weighting): "
        + "; ".join(f"{r.dose}: triangle {r.triangle_mean:.2f} HU, best fixed `{r.best}` {r.best_mean:.2f} HU"
                    for r in base.itertuples())
        + ".",
    ]
    if n_test < 2:
        lines.append("* With a single test phantom these are single measurements, not averages: read them as "
                     "indications (the `quick` profile tests on more phantoms).")
    return "\n".join(lines)


def findings(v_all, v_fixed) -> str:
    """One sentence for the chapter's opening: how often the triangle wins, and what beats it.

    Parameters
    ----------
    v_all, v_fixed : pandas.DataFrame
        As in :func:`verdict_text`.

    Returns
    -------
    str
    """
    n = len(v_all)
    best_all = v_all.loc[~v_all["triangle_best"], "best"].value_counts()
    beaten = ", ".join(f"`{m}` ({k}x)" for m, k in best_all.items()) or "nothing"
    fixed_lost = v_fixed[~v_fixed["triangle_best"]]
    return (
        f"We found that the triangle (`proposed`) is the best of all methods in {int(v_all['triangle_best'].sum())} of "
        f"{n} setting × dose combinations (beaten by {beaten}), and the best of the fixed guesses in "
        f"{int(v_fixed['triangle_best'].sum())} of {len(v_fixed)}"
        + (f"; where a fixed guess beats it, its excess RMSE is {fixed_lost['gap'].min():.2f} to "
           f"{fixed_lost['gap'].max():.2f} HU." if len(fixed_lost) else ".")
    )
