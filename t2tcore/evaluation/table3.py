"""The paper's Table III study over a cohort, and its tables beside the paper's.

:func:`run_table3` is the per-patient loop of chapter 02: for each group (kernel, dose) of
(thin, real thick) series pairs, a leave-one-out ``calibrated`` profile per patient, every
method simulated (:func:`t2tcore.evaluation.fidelity.simulate_methods`), put on the real
slice grid in both alignments (:func:`~t2tcore.evaluation.fidelity.aligned_pairs`) and
scored in both metric conventions (:func:`~t2tcore.evaluation.fidelity.evaluate_pairs`);
the FID slices are pooled per group and scored once per group
(:func:`~t2tcore.evaluation.fidelity.fid_rows`). The groups come from
:mod:`t2tcore.evaluation.datasets`, so the driver does not know where the series live.

The rest turns its rows into what the chapter shows: the long-form statistics
(:func:`summary`), one compact paper-shaped table per kernel with the paper's numbers
beside ours (:func:`compact_table`), the full side-by-side table (:func:`beside_paper`), the
ranking of the paper's four methods in ours and in the paper (:func:`ranking_vs_paper`),
the sentences that state what agrees and what does not (:func:`ranking_text`,
:func:`findings`, :func:`fid_text`) and the data of Fig. 4 (:func:`misplacement`,
:func:`fig4_panels`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from t2tcore.evaluation import fidelity, pairing, stats

__all__ = [
    "PAPER_METHODS",
    "Table3Result",
    "beside_paper",
    "compact_table",
    "csv_tables",
    "effort",
    "fid_text",
    "fig4_panels",
    "fig4_series",
    "findings",
    "metric_columns",
    "misplacement",
    "paper_source",
    "ranking_text",
    "ranking_vs_paper",
    "run_table3",
    "summary",
]

#: The paper's four methods, in the paper's row order.
PAPER_METHODS = ("average", "gaussian", "direct", "proposed")

# Paper metric -> our column (SSIM: the paper does not say 2-D or 3-D; ours is per slice).
_PAPER_METRICS = ("psnr", "rmse", "ssim")
_LABELS = {"psnr": "PSNR", "rmse": "RMSE", "ssim": "SSIM", "fid": "FID"}


@dataclass
class Table3Result:
    """What :func:`run_table3` measured.

    Attributes
    ----------
    per_patient : DataFrame
        One row per kernel, dose, patient, method, alignment and convention: ``kernel,
        dose, patient`` and the columns of :func:`t2tcore.evaluation.fidelity.evaluate_pairs`.
    fid : DataFrame or None
        One row per group and method: ``kernel, dose, method, convention, fid, n_slices,
        n_patients`` (None when FID was not computed).
    calibration : DataFrame
        One row per held-out patient of the ``calibrated`` profiles: ``kernel, dose,
        held_out, fitted_on, fwhm_mm, radius_mm, fit_rmse_hu``.
    notes : list of str
        What the data did not look as expected (missing series, other thicknesses...).
    fig4 : dict or None
        The aligned pairs of the Fig. 4 patient: ``kernel, dose, patient, pairs, pixel_mm``.
    seconds, fid_seconds : float
        Wall time of the loop and of FID.
    metrics : list of str
        The metric columns scored: ``psnr, rmse`` and ``ssim_<mode>`` per SSIM mode.
    geometry : DataFrame
        One row per kernel, dose and patient: ``kernel, dose, patient`` and the slice
        geometry of :func:`t2tcore.evaluation.pairing.pair_geometry` (with the group's
        index pairing, where its data set has one).
    """

    per_patient: pd.DataFrame
    fid: pd.DataFrame | None
    calibration: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    fig4: dict | None = None
    seconds: float = 0.0
    fid_seconds: float = 0.0
    metrics: list[str] = field(default_factory=list)
    geometry: pd.DataFrame = field(default_factory=pd.DataFrame)


def effort(
    profile: str,
    fid_max_slices: int | None = None,
    fid_all_groups: bool | None = None,
    ssim_modes: Sequence[str] | None = None,
) -> tuple[int | None, bool, list[str]]:
    """Chapter 02's effort knobs: each one given, or the book profile's default where it is None.

    Parameters
    ----------
    profile : {"smoke", "quick", "paper"}
    fid_max_slices : int, optional
        Slices per FID set; default 12 at smoke, 48 at quick, None (all) at paper.
    fid_all_groups : bool, optional
        FID for every kernel x dose group; default only at paper (else the first group).
    ssim_modes : sequence of str, optional
        Default ``["2d"]``, and ``["2d", "3d"]`` at paper (3-D SSIM is the slow one).

    Returns
    -------
    (fid_max_slices, fid_all_groups, ssim_modes)
    """
    if fid_max_slices is None:
        fid_max_slices = {"smoke": 12, "quick": 48}.get(profile)
    if fid_all_groups is None:
        fid_all_groups = profile == "paper"
    if ssim_modes is None:
        ssim_modes = ["2d", "3d"] if profile == "paper" else ["2d"]
    return fid_max_slices, bool(fid_all_groups), list(ssim_modes)


def csv_tables(result: "Table3Result", full: pd.DataFrame, summ: pd.DataFrame, side: pd.DataFrame,
               rank: pd.DataFrame, convention: str) -> dict[str, tuple[pd.DataFrame | None, str, bool]]:
    """The chapter's CSV downloads: ``link text -> (table, file stem, write the index)``.

    ``full``: :func:`t2tcore.evaluation.stats.summary_table`; ``summ``: :func:`summary`;
    ``side``: :func:`beside_paper`; ``rank``: :func:`ranking_vs_paper`. Tables that were not
    computed (no FID, no calibration) are None.
    """
    c = convention
    return {"every patient": (result.per_patient, "per_patient_metrics", False),
            "Table III, every group": (full, f"table3_{c}", True),
            "with p-values": (summ, f"table3_stats_{c}", False),
            "beside the paper": (side, f"table3_beside_paper_{c}", True),
            "rankings": (rank, f"ranking_vs_paper_{c}", False),
            "FID": (result.fid, f"fid_{c}", False),
            "calibrated profiles": (result.calibration, "calibration", False),
            "slice geometry": (result.geometry, "geometry", False)}


def metric_columns(ssim_modes: Sequence[str]) -> list[str]:
    """``["psnr", "rmse", "ssim_<mode>"...]``: the metric columns of one study."""
    return ["psnr", "rmse"] + [f"ssim_{m}" for m in ssim_modes]


def _check_series(kernel, dose, patient, thick, thickness, interval) -> list[str]:
    out = []
    if thick.thickness is not None and abs(thick.thickness - thickness) > 0.05:
        out.append(f"{kernel} {dose} {patient}: real thick SliceThickness {thick.thickness:g} mm, simulated {thickness:g} mm")
    if thick.spacing is not None and abs(thick.spacing - interval) > 0.05:
        out.append(f"{kernel} {dose} {patient}: real thick spacing {thick.spacing:g} mm, not {interval:g} mm")
    return out


def _window(i: int, n: int, size: int) -> list[int]:
    """The other patients ``calibrated`` is fitted on for patient ``i`` of ``n``: the ``size``
    next ones, wrapping around, in group order (all others when ``size >= n - 1``)."""
    return sorted((i + j) % n for j in range(1, min(size, n - 1) + 1))


def run_table3(
    groups: Iterable,
    methods: Sequence[str],
    *,
    thickness: float = 3.0,
    interval: float = 2.0,
    sigma: float = 1.0,
    conventions: Sequence[str] = ("paper", "hu"),
    ssim_modes: Sequence[str] = ("2d",),
    fid: bool = True,
    fid_convention: str = "paper",
    fid_max_slices: int | None = None,
    fid_all_groups: bool = False,
    fig_patient: str | None = None,
    fid_device: str | None = None,
    calibration_patients: int | None = None,
    progress: bool = False,
) -> Table3Result:
    """Every method's simulated thick volume against every patient's real thick volume.

    Parameters
    ----------
    groups : iterable of StudyGroup
        One per kernel and dose (:func:`t2tcore.evaluation.datasets.iter_groups`). Series
        are read when needed and released when no longer needed: without ``calibrated``
        one patient at a time; with it, the patient and those its profile is fitted on.
    methods : sequence of str
        Simulation methods. ``"calibrated"`` is fitted per patient on *other* patients of
        the group (:func:`t2tcore.simulation.fit_profile` with ``thickness`` and
        ``interval``), never on the patient itself; a group with one patient, or a patient
        whose profile cannot be fitted (series too short for its support), has no
        ``calibrated`` rows (a note says so).
    thickness : float
        Simulated slice thickness, mm.
    interval : float
        Expected spacing of the real thick slices, mm (checked, and used by the fit).
    sigma : float
        In-plane blur of ``"gaussian"``, pixels.
    conventions : sequence of {"paper", "hu"}
        Metric conventions of the rows.
    ssim_modes : sequence of {"2d", "3d"}
    fid : bool
        Collect the FID slices and compute FID per group.
    fid_convention : {"paper", "hu"}
        Convention of the FID images.
    fid_max_slices : int, optional
        Slices per FID set (spread over patients: ``max(2, ceil(n / patients))`` each);
        None: all.
    fid_all_groups : bool
        FID for every group; else for the first group only.
    fig_patient : str, optional
        Patient whose aligned pairs are kept for Fig. 4 (default the first one).
    fid_device : str, optional
        Torch device of the FID network.
    calibration_patients : int, optional
        Fit each ``calibrated`` profile on at most this many other patients: the next ones
        in group order, wrapping around (so at most ``calibration_patients + 1`` patients'
        series are in memory). None: all other patients (leave-one-out,
        :func:`t2tcore.evaluation.fidelity.leave_one_out`), every series of a group in memory.
    progress : bool
        Progress bars (per group over patients, and FID).

    Returns
    -------
    Table3Result
    """
    from t2tcore.progress import bar
    from t2tcore.simulation import fit_profile

    if calibration_patients is not None and (int(calibration_patients) != calibration_patients
                                             or calibration_patients < 1):
        raise ValueError(f"calibration_patients must be a positive integer or None, got {calibration_patients!r}")
    methods = list(dict.fromkeys(methods))
    rows, cal_info, geo, notes = [], [], [], []
    fid_sets: dict[tuple[str, str], list] = {}
    fig4 = None
    first_group = None
    t0 = time.perf_counter()
    for group in groups:
        k, d = group.kernel, group.dose
        if first_group is None:
            first_group = (k, d)
        notes += list(group.notes)
        names = group.patients
        n = len(names)
        cal = "calibrated" in methods and n >= 2
        if "calibrated" in methods and not cal:
            notes.append(f"{k} {d}: one patient only, no leave-one-out calibration")
        size = 0 if not cal else (n - 1 if calibration_patients is None else int(calibration_patients))
        cache: dict[int, tuple[Any, Any]] = {}
        if calibration_patients is None and cal:  # every series at once, in order (as leave-one-out)
            cache = dict(enumerate(group.load().values()))
        for i, (thin, thick) in cache.items():
            notes += _check_series(k, d, names[i], thick, thickness, interval)
        with_fid = fid and (fid_all_groups or (k, d) == first_group)
        n_per = None if fid_max_slices is None else max(2, math.ceil(fid_max_slices / n))
        for i in bar(range(n), total=n, desc=f"{k} {d}", enabled=progress):
            need = [i] + (_window(i, n, size) if cal else [])
            for j in [j for j in cache if j not in need]:
                del cache[j]
            for j in need:
                if j not in cache:
                    cache[j] = group.read_pair(j)
                    if j >= i and not (calibration_patients is None and cal):
                        notes += _check_series(k, d, names[j], cache[j][1], thickness, interval)
            p, (thin, thick) = names[i], cache[i]
            profile = None
            if cal:
                others = _window(i, n, size)
                try:
                    profile = fit_profile([(cache[j][0].volume, cache[j][0].positions, cache[j][1].volume,
                                            cache[j][1].positions) for j in others], thickness=thickness,
                                          interval=interval)
                except ValueError as exc:  # e.g. series too short for the profile's support
                    notes.append(f"{k} {d} {p}: no calibrated profile ({exc})")
                else:
                    cal_info.append({"kernel": k, "dose": d, "held_out": p, "fitted_on": len(others),
                                     "fwhm_mm": profile.meta.get("fwhm_mm"), "radius_mm": profile.radius_mm,
                                     "fit_rmse_hu": profile.meta.get("residual_rmse")})
            ms = [m for m in methods if m != "calibrated" or profile is not None]
            sims = fidelity.simulate_methods(thin, thick, ms, thickness=thickness, profile=profile, sigma=sigma)
            prs = fidelity.aligned_pairs(thin, thick, sims)
            for r in fidelity.evaluate_pairs(prs, conventions, ssim_modes=ssim_modes):
                rows.append({"kernel": k, "dose": d, "patient": p, **r})
            g = pairing.pair_geometry(thin, thick, ratio=group.ratio, pairs=prs)
            geo.append({"kernel": k, "dose": d, "patient": p, **g})
            if not g["hu_like"] and "hu" in conventions:
                notes.append(f"{k} {d} {p}: voxel values span only {g['thick_min']:.4g} to {g['thick_max']:.4g} (thick), "
                             "not HU: the hu convention's numbers (body mask, 2000 HU range) do not apply")
            if with_fid:
                fid_sets.setdefault((k, d), []).append(fidelity.fid_slices(prs, n_per, convention=fid_convention))
            if fig4 is None and (fig_patient is None or p == fig_patient):
                fig4 = {"kernel": k, "dose": d, "patient": p, "pairs": prs, "pixel_mm": thick.pixel_spacing[0]}
            del sims, prs, thin, thick
        cache.clear()
    seconds = time.perf_counter() - t0
    t1 = time.perf_counter()
    fid_df = None
    fr = []
    for (k, d), sets in fid_sets.items():
        if sum(s["reference"].shape[0] for s in sets) < 2:
            notes.append(f"{k} {d}: fewer than 2 real thick slices in all, no FID")
            continue
        for r in fidelity.fid_rows(sets, convention=fid_convention, device=fid_device, progress=progress):
            fr.append({"kernel": k, "dose": d, **r})
    if fr:
        fid_df = pd.DataFrame(fr)
    cal_cols = ["kernel", "dose", "held_out", "fitted_on", "fwhm_mm", "radius_mm", "fit_rmse_hu"]
    return Table3Result(
        per_patient=pd.DataFrame(rows),
        fid=fid_df,
        calibration=pd.DataFrame(cal_info, columns=cal_cols),
        notes=notes,
        fig4=fig4,
        seconds=seconds,
        fid_seconds=time.perf_counter() - t1 if fid_sets else 0.0,
        metrics=metric_columns(ssim_modes),
        geometry=pd.DataFrame(geo),
    )


# --------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------


def summary(per_patient: pd.DataFrame, metrics: Sequence[str], convention: str = "paper") -> pd.DataFrame:
    """Long-form statistics per kernel, dose, alignment, method and metric, in one convention.

    :func:`t2tcore.evaluation.stats.summary_stats` of the rows of ``convention`` (mean, std,
    n, p against ``proposed``, significance, best).

    Parameters
    ----------
    per_patient : DataFrame
        :attr:`Table3Result.per_patient`.
    metrics : sequence of str
        Metric columns (:attr:`Table3Result.metrics`).
    convention : {"paper", "hu"}

    Returns
    -------
    DataFrame
    """
    sel = per_patient[per_patient["convention"] == convention]
    if sel.empty:
        raise ValueError(f"no rows of convention {convention!r}")
    return stats.summary_stats(sel, list(metrics), group_cols=("kernel", "dose", "alignment"))


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
    alignments: Sequence[str] = fidelity.ALIGNMENTS,
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
        :func:`summary` (one convention).
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
                    for a in fidelity.ALIGNMENTS:
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
                for a in fidelity.ALIGNMENTS:
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
    for a in fidelity.ALIGNMENTS:
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
    for a in fidelity.ALIGNMENTS:
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


# --------------------------------------------------------------------------------------
# Fig. 4
# --------------------------------------------------------------------------------------


def misplacement(pairs: Sequence[fidelity.AlignedPair]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Where each method's count-aligned slice really is, against the real slice it is paired with.

    Parameters
    ----------
    pairs : sequence of AlignedPair
        One patient's pairs (:attr:`Table3Result.fig4` ``["pairs"]``).

    Returns
    -------
    dict
        ``method -> (real positions (M,) mm, offset (M,) mm)``: position stood for minus
        the real slice's position (:func:`t2tcore.evaluation.fidelity.count_positions` for
        index-based methods; 0 for position-based ones, simulated at the real positions).
    """
    out = {}
    for p in pairs:
        if p.alignment != "count":
            continue
        if p.method in fidelity.INDEX_METHODS:
            at = fidelity.count_positions(p.sim_positions, p.ref_index.size)
        else:
            at = p.ref_positions
        out[p.method] = (np.asarray(p.ref_positions, dtype=float), at - p.ref_positions)
    if not out:
        raise ValueError("no count-aligned pairs given")
    return out


def fig4_panels(pairs: Sequence[fidelity.AlignedPair], fig_slice: int | None = None) -> dict:
    """The images of Fig. 4: one real thick slice, each method's slice and errors.

    Parameters
    ----------
    pairs : sequence of AlignedPair
        One patient's pairs, both alignments.
    fig_slice : int, optional
        Index of the real thick slice in its series; default the compared slice a quarter
        of the way along z (in the physical alignment's slices).

    Returns
    -------
    dict
        ``index`` (real slice), ``z`` (mm), ``real`` (Y, X) HU, ``methods`` (list),
        ``count`` and ``physical``: ``method -> simulated slice`` (Y, X), ``error``:
        ``(method, alignment) -> simulated - real`` (HU), ``offset``: ``method ->``
        count-alignment misplacement (mm) of that slice, ``limit``: the shared colour limit
        of the error maps (HU; the median over maps of their 99th percentile of |error|,
        rounded up to 10, at least 20).

    Raises
    ------
    ValueError
        If ``fig_slice`` is not among the compared slices.
    """
    cnt = {p.method: p for p in pairs if p.alignment == "count"}
    phy = {p.method: p for p in pairs if p.alignment == "physical"}
    if not cnt or not phy:
        raise ValueError("fig4_panels needs the pairs of both alignments")
    any_phy = next(iter(phy.values()))
    if fig_slice is None:
        j_ref = int(any_phy.ref_index[len(any_phy.ref_index) // 4])
    else:
        j_ref = int(fig_slice)
        if j_ref not in set(int(i) for i in any_phy.ref_index):
            raise ValueError(f"fig_slice {j_ref} is not among the compared slices {list(any_phy.ref_index)}")

    def at(p):
        return list(p.ref_index).index(j_ref)

    real = any_phy.reference[at(any_phy)]
    offsets = misplacement(list(cnt.values()))
    ms = list(cnt)
    tests = {a: {m: src[m].test[at(src[m])] for m in ms} for a, src in (("count", cnt), ("physical", phy))}
    err = {(m, a): tests[a][m] - real for m in ms for a in ("count", "physical")}
    lim = max(20.0, float(np.ceil(np.median([np.percentile(np.abs(x), 99) for x in err.values()]) / 10) * 10))
    return {
        "index": j_ref,
        "z": float(any_phy.ref_positions[at(any_phy)]),
        "real": real,
        "methods": ms,
        "count": tests["count"],
        "physical": tests["physical"],
        "error": err,
        "offset": {m: float(offsets[m][1][at(cnt[m])]) for m in ms},
        "limit": lim,
    }


def fig4_series(pairs: Sequence[fidelity.AlignedPair], methods: Sequence[str], thickness: float) -> dict:
    """Fig. 4's volumes for the slice viewer (:func:`t2tcore.figures.viewer.slice_viewer`).

    The real thick slices compared in the count alignment, and for each method its slices on the
    real slice grid: a position-based method once (it is simulated at the real positions, both
    alignments are the same), an index-based method in each alignment (``count``: interpolated
    along the slice index to the real count, as the released code pairs; ``physical``: linearly
    along z in mm to the real positions inside every method's range).

    Returns
    -------
    dict
        Name -> ``(volume (M, Y, X) HU, positions (M,) mm, thickness mm)``; ``"real thick"`` first.
    """
    by = {(p.method, p.alignment): p for p in pairs}
    missing = [m for m in methods if (m, "count") not in by or (m, "physical") not in by]
    if missing:
        raise ValueError(f"no pairs of both alignments for {missing}")
    ref = max((p for p in pairs if p.alignment == "count"), key=lambda p: p.reference.shape[0])
    out = {"real thick": (ref.reference, ref.ref_positions, thickness)}
    for m in methods:
        cnt, phy = by[(m, "count")], by[(m, "physical")]
        if m not in fidelity.INDEX_METHODS:
            out[m] = (phy.test, phy.ref_positions, thickness)
        else:
            out[f"{m}, count"] = (cnt.test, cnt.ref_positions, thickness)
            out[f"{m}, physical"] = (phy.test, phy.ref_positions, thickness)
    return out
