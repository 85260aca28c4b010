"""Chapter 02's Table III beside the paper's: the tables, the rankings and the words.

From the long-form statistics of :func:`t2tcore.studies.table3.summary`: one compact paper-shaped table per
kernel and dose with the paper's numbers beside ours (:func:`compact_table`), the full side-by-side table
(:func:`beside_paper`), the ranking of the paper's four methods in ours and in the paper
(:func:`ranking_vs_paper`), and the sentences that state what agrees and what does not (:func:`ranking_text`,
:func:`findings`, :func:`fid_text`, :func:`paper_source`).
"""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import pandas as pd

from t2tcore.evaluation import stats
from t2tcore.evaluation.alignment import ALIGNMENTS

__all__ = ["PAPER_METHODS", "beside_paper", "compact_table", "fid_text", "findings", "paper_source", "ranking_text",
           "ranking_vs_paper"]

#: The paper's four methods, in the paper's row order.
PAPER_METHODS = ("average", "gaussian", "direct", "proposed")

# Paper metric -> our column (SSIM: the paper does not say 2-D or 3-D; ours is per slice).
_PAPER_METRICS = ("psnr", "rmse", "ssim")
_LABELS = {"psnr": "PSNR", "rmse": "RMSE", "ssim": "SSIM", "fid": "FID"}


def paper_source(paper_kernels: Mapping[str, str] | None = None) -> str:
    """Where the paper's numbers beside ours come from, for a table caption.

    Parameters
    ----------
    paper_kernels : mapping, optional
        Our kernel -> the paper's kernel set beside it, for a data set with kernels of its
        own (None: the paper's own kernels, the same names).
    """
    if not paper_kernels:
        return "paper: 10 patients"
    pk = ", ".join(dict.fromkeys(paper_kernels.values()))
    return f"paper ({pk}): its Table III, 10 patients of the 2016 LDCT Grand Challenge, 1 mm → 3 mm"


def _method_order(methods: Iterable[str]) -> list[str]:
    ms = list(dict.fromkeys(methods))
    return [m for m in PAPER_METHODS if m in ms] + [m for m in ms if m not in PAPER_METHODS]


def _paper_kernel(kernel: str, paper_kernels: Mapping[str, str] | None) -> str:
    """The kernel of the paper's Table III set beside our ``kernel`` (the same name by default)."""
    return kernel if paper_kernels is None else paper_kernels.get(kernel, kernel)


def _paper_best(paper: pd.DataFrame, kernel: str, metric: str) -> str:
    pk = paper[(paper["kernel"] == kernel) & (paper["metric"] == metric)].set_index("method")["mean"]
    return pk.idxmax() if stats.higher_is_better(metric) else pk.idxmin()


def compact_table(
    summary_df: pd.DataFrame,
    kernel: str,
    dose: str,
    *,
    alignments: Sequence[str] = ALIGNMENTS,
    fid: pd.DataFrame | None = None,
    ssim_col: str = "ssim_2d",
    decimals: int = 4,
    paper: pd.DataFrame | None = None,
    paper_kernel: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The paper's Table III for one kernel and dose: ours beside the paper's, per method.

    Rows are ``(method, source)``: the paper's row (``"paper"``; its four methods only,
    kernels D45 and B30; ``"paper (<kernel>)"`` when ``paper_kernel`` sets another kernel's
    rows beside ours), then ours in each alignment (``"count"``, ``"physical"``). Columns
    are PSNR, RMSE, SSIM and FID. Cells are
    "mean ± std" with † where the paired test against ``proposed`` gives p < 0.05 (the
    paper's †, or ours). Bold: the best method of each column within each source (ours: of
    every method we ran). Our FID is one value per group over all patients (count
    alignment only); "—" where it was not computed.

    Parameters
    ----------
    summary_df : DataFrame
        :func:`t2tcore.studies.table3.summary` (one convention).
    kernel, dose : str
    alignments : sequence of str
        Our alignments to show.
    fid : DataFrame, optional
        :attr:`Table3Result.fid` (its ``convention`` must be that of ``summary_df``).
    ssim_col : str
        Our SSIM column set beside the paper's SSIM.
    decimals : int
    paper : DataFrame, optional
        Default :func:`t2tcore.evaluation.stats.paper_table3`.
    paper_kernel : str, optional
        The paper's kernel whose rows stand beside ours (default ``kernel``; e.g. ``"B30"``
        for a data set with kernels of its own). None of the paper's rows if it has none.

    Returns
    -------
    cells : DataFrame of str
    bold : DataFrame of bool
        For :func:`t2tcore.evaluation.tables.style_table`.
    """
    from t2tcore.evaluation.tables import DAGGER, mean_std

    paper = stats.paper_table3() if paper is None else paper
    ours = summary_df[(summary_df["kernel"] == kernel) & (summary_df["dose"] == dose)]
    if ours.empty:
        raise ValueError(f"no statistics for kernel {kernel!r} and dose {dose!r}")
    cols = {"psnr": "psnr", "rmse": "rmse", "ssim": ssim_col}
    pk = kernel if paper_kernel is None else paper_kernel
    in_paper = pk in set(paper["kernel"])
    source = "paper" if pk == kernel else f"paper ({pk})"
    fid_g = None
    if fid is not None and len(fid):
        fid_g = fid[(fid["kernel"] == kernel) & (fid["dose"] == dose)].set_index("method")["fid"]
    cells, bold = {}, {}
    for m in _method_order(ours["method"]):
        if in_paper and m in PAPER_METHODS:
            key = (m, source)
            cells[key], bold[key] = {}, {}
            for pm in (*_PAPER_METRICS, "fid"):
                r = paper[(paper["kernel"] == pk) & (paper["method"] == m) & (paper["metric"] == pm)].iloc[0]
                cells[key][_LABELS[pm]] = mean_std(r["mean"], r["std"], decimals) + (DAGGER if r["significant"] else "")
                bold[key][_LABELS[pm]] = m == _paper_best(paper, pk, pm)
        for a in alignments:
            key = (m, a)
            cells[key], bold[key] = {}, {}
            for pm, col in cols.items():
                r = ours[(ours["alignment"] == a) & (ours["method"] == m) & (ours["metric"] == col)]
                if r.empty:
                    cells[key][_LABELS[pm]], bold[key][_LABELS[pm]] = "—", False
                    continue
                r = r.iloc[0]
                cells[key][_LABELS[pm]] = mean_std(r["mean"], r["std"], decimals) + (DAGGER if r["significant"] else "")
                bold[key][_LABELS[pm]] = bool(r["best"])
            has_fid = fid_g is not None and a == "count" and m in fid_g.index
            cells[key]["FID"] = f"{fid_g[m]:.{decimals}f}" if has_fid else "—"
            bold[key]["FID"] = bool(has_fid and fid_g[m] == fid_g.min())
    index = pd.MultiIndex.from_tuples(list(cells), names=["method", "source"])
    columns = [_LABELS[m] for m in (*_PAPER_METRICS, "fid")]
    return (
        pd.DataFrame([cells[k] for k in cells], index=index, columns=columns),
        pd.DataFrame([bold[k] for k in bold], index=index, columns=columns).astype(bool),
    )


def beside_paper(
    summary_df: pd.DataFrame,
    kernels: Sequence[str],
    doses: Sequence[str],
    methods: Sequence[str],
    *,
    ssim_col: str = "ssim_2d",
    paper: pd.DataFrame | None = None,
    paper_kernels: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Every number of ours beside the paper's: one row per kernel, metric and method.

    Columns: ``paper`` and ``ours <dose> <alignment>`` for each dose and alignment, as
    "mean ± std" strings (4 decimals). Kernels the paper does not have are left out, unless
    ``paper_kernels`` maps them to one of the paper's (then a ``paper kernel`` column says
    which kernel's numbers stand beside ours).

    Returns
    -------
    DataFrame
        Index ``(kernel, metric, method)``.
    """
    from t2tcore.evaluation.tables import mean_std

    paper = stats.paper_table3() if paper is None else paper
    cols = {"psnr": "psnr", "rmse": "rmse", "ssim": ssim_col}
    side = []
    for k in [k for k in kernels if _paper_kernel(k, paper_kernels) in set(paper["kernel"])]:
        pk = _paper_kernel(k, paper_kernels)
        for pm, om in cols.items():
            for meth in list(PAPER_METHODS) + [m for m in methods if m not in PAPER_METHODS]:
                row = {"kernel": k, "metric": pm, "method": meth}
                if paper_kernels is not None:
                    row["paper kernel"] = pk
                pr = paper[(paper["kernel"] == pk) & (paper["metric"] == pm) & (paper["method"] == meth)]
                row["paper"] = mean_std(pr["mean"].iloc[0], pr["std"].iloc[0]) if len(pr) else ""
                for d in doses:
                    for a in ALIGNMENTS:
                        o = summary_df[(summary_df["kernel"] == k) & (summary_df["dose"] == d)
                                       & (summary_df["alignment"] == a) & (summary_df["metric"] == om)
                                       & (summary_df["method"] == meth)]
                        row[f"ours {d} {a}"] = mean_std(o["mean"].iloc[0], o["std"].iloc[0]) if len(o) else ""
                side.append(row)
    return pd.DataFrame(side).set_index(["kernel", "metric", "method"])


def ranking_vs_paper(
    summary_df: pd.DataFrame,
    kernels: Sequence[str],
    doses: Sequence[str],
    *,
    ssim_col: str = "ssim_2d",
    paper: pd.DataFrame | None = None,
    paper_kernels: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Best method per kernel, dose, alignment and metric, in ours and in the paper.

    For the paper's four methods: the best one in the paper and in ours, whether
    ``proposed`` is first, its margin over the best other method (positive = ``proposed``
    better; dB for PSNR, the metric's unit otherwise), ours' runner-up and whether our paired
    test separates ``proposed`` from it (p < 0.05), and the best of *all* our methods.

    ``paper_kernels`` maps our kernels to the paper's kernel they are compared with
    (default: the same name; kernels the paper does not have are left out); with it, a
    ``paper kernel`` column says which.

    Returns
    -------
    DataFrame
        One row per kernel (of the paper), dose, alignment and metric (PSNR, RMSE, SSIM).
    """
    paper = stats.paper_table3() if paper is None else paper
    cols = {"psnr": "psnr", "rmse": "rmse", "ssim": ssim_col}
    out = []
    for k in [k for k in kernels if _paper_kernel(k, paper_kernels) in set(paper["kernel"])]:
        pk = _paper_kernel(k, paper_kernels)
        for pm, om in cols.items():
            hib = stats.higher_is_better(pm)
            sign = 1.0 if hib else -1.0
            pp = paper[(paper["kernel"] == pk) & (paper["metric"] == pm)].set_index("method")["mean"]
            p_best = pp.idxmax() if hib else pp.idxmin()
            p_margin = sign * (pp["proposed"] - pp.drop("proposed").agg("max" if hib else "min"))
            for d in doses:
                for a in ALIGNMENTS:
                    o = summary_df[(summary_df["kernel"] == k) & (summary_df["dose"] == d)
                                   & (summary_df["alignment"] == a) & (summary_df["metric"] == om)]
                    oo = o.set_index("method")["mean"].reindex(list(PAPER_METHODS)).dropna()
                    if "proposed" not in oo or len(oo) < 2:
                        continue
                    o_best = oo.idxmax() if hib else oo.idxmin()
                    o_margin = sign * (oo["proposed"] - oo.drop("proposed").agg("max" if hib else "min"))
                    allm = o.set_index("method")["mean"]
                    runner = oo.drop("proposed").idxmax() if hib else oo.drop("proposed").idxmin()
                    out.append({
                        "kernel": k, "dose": d, "alignment": a, "metric": pm,
                        **({} if paper_kernels is None else {"paper kernel": pk}),
                        "paper best": p_best, "ours best": o_best,
                        "proposed first (paper)": p_best == "proposed", "proposed first (ours)": o_best == "proposed",
                        "margin (paper)": p_margin, "margin (ours)": o_margin,
                        "runner-up (ours)": runner,
                        "runner-up differs p<0.05 (ours)": bool(o.set_index("method").loc[runner, "significant"]),
                        "best of all our methods": allm.idxmax() if hib else allm.idxmin(),
                    })
    return pd.DataFrame(out)


# --------------------------------------------------------------------------------------
# Sentences
# --------------------------------------------------------------------------------------


def ranking_text(rank: pd.DataFrame) -> str:
    """Markdown bullets per alignment: where ``proposed`` is first, in ours and the paper's.

    Parameters
    ----------
    rank : DataFrame
        :func:`ranking_vs_paper`.

    Returns
    -------
    str
    """
    lines = []
    for a in ALIGNMENTS:
        r = rank[rank["alignment"] == a]
        if r.empty:
            continue
        lines.append(f"* **{a} alignment**: `proposed` is first on {int(r['proposed first (ours)'].sum())} of {len(r)} "
                     f"kernel × dose × metric cells in ours, and on {int(r['proposed first (paper)'].sum())} of {len(r)} "
                     "in the paper.")
        lines.append(f"  * The paired Wilcoxon test separates `proposed` from the runner-up of the paper's methods "
                     f"(p < 0.05) in {int(r['runner-up differs p<0.05 (ours)'].sum())} of {len(r)} cells in ours "
                     f"(the paper marks every baseline cell with †).")
        for _, x in r[r["paper best"] != r["ours best"]].iterrows():
            lines.append(f"  * {x['kernel']} {x['dose']} {x['metric'].upper()}: the paper's best is `{x['paper best']}`, "
                         f"ours is `{x['ours best']}` (margin of `proposed` {x['margin (ours)']:+.4g} here, "
                         f"{x['margin (paper)']:+.4g} in the paper).")
        ps = r[r["metric"] == "psnr"]
        if len(ps):
            lines.append(f"  * PSNR margin of `proposed` over the best other method: {ps['margin (ours)'].min():+.2f} to "
                         f"{ps['margin (ours)'].max():+.2f} dB in ours, {ps['margin (paper)'].min():+.2f} to "
                         f"{ps['margin (paper)'].max():+.2f} dB in the paper.")
        best_all = r["best of all our methods"].value_counts()
        lines.append("  * Best among all our methods (with those the paper does not have): "
                     + ", ".join(f"`{m}` in {n} of {len(r)} cells" for m, n in best_all.items()) + ".")
    return "\n".join(lines)


def findings(rank: pd.DataFrame, n_patients: int) -> str:
    """One sentence group for the chapter's opening: what we found, from the ranking.

    Parameters
    ----------
    rank : DataFrame
        :func:`ranking_vs_paper`.
    n_patients : int
        Fewest patients of a group (sets the smallest attainable p-value).

    Returns
    -------
    str
        Markdown, no line breaks.
    """
    if rank.empty:
        return "nothing to compare: none of our kernels is in the paper's Table III."
    parts = []
    for a in ALIGNMENTS:
        r = rank[rank["alignment"] == a]
        if r.empty:
            continue
        ps = r[r["metric"] == "psnr"]
        margin = (f"; its PSNR margin over the best other method is {ps['margin (ours)'].min():+.2f} to "
                  f"{ps['margin (ours)'].max():+.2f} dB (paper: {ps['margin (paper)'].min():+.2f} to "
                  f"{ps['margin (paper)'].max():+.2f} dB)") if len(ps) else ""
        parts.append(f"with the **{a}** alignment `proposed` is the best of the paper's four methods in "
                     f"{int(r['proposed first (ours)'].sum())} of {len(r)} kernel × dose × metric cells "
                     f"(paper: {int(r['proposed first (paper)'].sum())} of {len(r)}){margin}")
    minp = stats.min_attainable_p(int(n_patients))
    sig = rank["runner-up differs p<0.05 (ours)"]
    tail = (f"Our paired test separates `proposed` from the runner-up in {int(sig.sum())} of {len(sig)} cells; "
            f"with {n_patients} patients per group the smallest attainable p is {minp:.3g}"
            + (", so no † is possible." if minp >= stats.ALPHA else "."))
    return "; ".join(parts) + ". " + tail


def fid_text(fid_df: pd.DataFrame, paper: pd.DataFrame | None = None,
             paper_kernels: Mapping[str, str] | None = None) -> str:
    """Markdown lines per FID group: the lowest FID of the paper's methods, ours and the paper's.

    Parameters
    ----------
    fid_df : DataFrame
        :attr:`Table3Result.fid`.
    paper : DataFrame, optional
        Default :func:`t2tcore.evaluation.stats.paper_table3`.
    paper_kernels : mapping, optional
        Our kernel -> the paper's kernel it is compared with (default the same name).

    Returns
    -------
    str
    """
    paper = stats.paper_table3() if paper is None else paper
    lines = []
    for (k, d), g in fid_df.groupby(["kernel", "dose"], sort=False):
        g4 = g[g["method"].isin(PAPER_METHODS)].set_index("method")["fid"]
        pk = _paper_kernel(k, paper_kernels)
        pp = paper[(paper["kernel"] == pk) & (paper["metric"] == "fid")].set_index("method")["mean"]
        lines.append(
            f"* {k} {d} ({g['n_slices'].iloc[0]} slices of {g['n_patients'].iloc[0]} patients per set): lowest FID of "
            f"the paper's four methods in ours: `{g4.idxmin() if len(g4) else 'n/a'}`; in the paper ({pk}): "
            f"`{pp.idxmin() if len(pp) else 'n/a'}`. Ours, low to high: "
            + ", ".join(f"{m} {v:.2f}" for m, v in g.set_index("method")["fid"].sort_values().items()) + "."
        )
    return "\n".join(lines)
