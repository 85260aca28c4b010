"""Chapter 02, the paper's Table III: every simulation method against the real thick slices of a cohort.

:func:`run` takes the chapter's :class:`Settings` and returns a :class:`Result`: the data folder and what it is,
every measurement (:class:`Table3Result`), the tables beside the paper's (:mod:`t2tcore.studies.table3_report`),
the words, and the data of Fig. 4 (:mod:`t2tcore.studies.fig4`).

:func:`run_table3` is its per-patient loop: for each group (kernel, dose) of
(thin, real thick) series pairs, a leave-one-out ``calibrated`` profile per patient, every
method simulated (:func:`t2tcore.evaluation.fidelity.simulate_methods`), put on the real
slice grid in both alignments (:func:`~t2tcore.evaluation.fidelity.aligned_pairs`) and
scored in both metric conventions (:func:`~t2tcore.evaluation.fidelity.evaluate_pairs`);
the FID slices are pooled per group and scored once per group
(:func:`~t2tcore.evaluation.fidelity.fid_rows`). The groups come from
:mod:`t2tcore.datasets`, so the driver does not know where the series live. :func:`summary` gives the
long-form statistics the tables are made from.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import pandas as pd

from t2tcore.datasets import pairing
from t2tcore.effort import EFFORTS
from t2tcore.evaluation import fidelity, stats
from t2tcore.studies import fig4 as _fig4
from t2tcore.studies import table3_report as _report

__all__ = [
    "Result",
    "Settings",
    "Table3Result",
    "csv_tables",
    "effort",
    "metric_columns",
    "run",
    "run_table3",
    "summary",
]

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
        geometry of :func:`t2tcore.datasets.pairing.pair_geometry` (with the group's
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
    """Chapter 02's effort knobs: each one given, or the book profile's (:class:`t2tcore.effort.Effort`) where it is None.

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
    e = EFFORTS.get(profile)  # another profile name: all slices, the first group, 2-D SSIM
    if fid_max_slices is None:
        fid_max_slices = e.fid_max_slices if e else None
    if fid_all_groups is None:
        fid_all_groups = e.fid_all_groups if e else False
    if ssim_modes is None:
        ssim_modes = e.ssim_modes if e else ["2d"]
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
        One per kernel and dose (:func:`t2tcore.datasets.iter_groups`). Series
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


# --------------------------------------------------------------------------------------
# The chapter
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """Chapter 02's parameters (those of its notebook). None: the data set's default, or the profile's effort.

    Attributes
    ----------
    data_root : str or os.PathLike, optional
        A data folder; None: the book's virtual cohort of ``profile`` (:func:`t2tcore.datasets.resolve_data_root`).
    dataset : str
        Its layout (:data:`t2tcore.datasets.DATASETS`): ``"ldct_gc"`` or ``"rplhr_ct"``.
    split : str, optional
        ``rplhr_ct`` only: ``test`` (None), ``val`` or ``train``.
    profile : {"smoke", "quick", "paper"}
        The cohort size and the FID/SSIM effort (:func:`effort`).
    kernels, doses : sequence of str, optional
    thickness, interval : float, optional
        Simulated thick slices and the real thick spacing (checked), mm.
    methods : sequence of str
    convention : {"paper", "hu"}
        Of the tables and of FID.
    gaussian_sigma_px : float
        In-plane blur of ``gaussian``, pixels.
    calibration_patients : int, optional
        ``calibrated`` is fitted on at most this many other patients.
    paper_kernel : str, optional
        The paper's kernel beside ours (``rplhr_ct``: B30).
    fid : bool
    fid_max_slices : int, optional
    fid_all_groups : bool, optional
    ssim_modes : sequence of str, optional
    table_dose : str, optional
        Dose of the tables shown first (None: the first dose).
    fig_patient : str, optional
        Patient of Fig. 4 (None: the first one).
    fig_slice : int, optional
        Real thick slice of Fig. 4 (None: a quarter along z).
    viewer_methods : tuple of str
        The methods of Fig. 4's slice viewer.
    """

    data_root: Any = None
    dataset: str = "ldct_gc"
    split: str | None = None
    profile: str = "quick"
    kernels: Sequence[str] | None = None
    doses: Sequence[str] | None = None
    thickness: float | None = None
    interval: float | None = None
    methods: Sequence[str] = ("proposed", "direct", "average", "gaussian", "gaussian_z", "calibrated")
    convention: str = "paper"
    gaussian_sigma_px: float = 1.0
    calibration_patients: int | None = None
    paper_kernel: str | None = None
    fid: bool = True
    fid_max_slices: int | None = None
    fid_all_groups: bool | None = None
    ssim_modes: Sequence[str] | None = None
    table_dose: str | None = None
    fig_patient: str | None = None
    fig_slice: int | None = None
    viewer_methods: tuple[str, ...] = ("proposed", "average")


@dataclass
class Result:
    """What chapter 02 shows.

    Attributes
    ----------
    settings : Settings
        As given.
    spec : DatasetSpec
        The data set's (its ``label`` names a group in captions).
    kernels, doses : list of str
    thickness, interval : float
    paper_kernels : dict or None
    table_dose : str
    fid_max_slices : int or None
    fid_all_groups : bool
    ssim_modes : list of str
    data_root : pathlib.Path
    data, plain : str
        What the data are, as Markdown and as plain text (:func:`t2tcore.datasets.describe_data`).
    effort : str
        The SSIM modes and the FID effort, in one line.
    measured : Table3Result
        Every measurement (:func:`run_table3`).
    summary : DataFrame
        :func:`summary` in ``settings.convention``.
    n_min : int
        Fewest patients in a group.
    caption : str
        The end of every Table III caption: convention, patients, smallest attainable p, the paper's source, data.
    full, side, rank : DataFrame
        Table III of every group (:func:`t2tcore.evaluation.stats.summary_table`), ours beside the paper's
        (:func:`~t2tcore.studies.table3_report.beside_paper`) and the rankings
        (:func:`~t2tcore.studies.table3_report.ranking_vs_paper`).
    csv : dict
        :func:`csv_tables`.
    about : list of str
        A data set of its own: its protocol and its slice pairing (Markdown; empty strings for the paper's data).
    findings, text : str
        The chapter's finding, and what agrees with the paper and what does not (rankings, then FID).
    fig4 : dict
        ``who`` (patient and group), ``offsets`` (:func:`~t2tcore.studies.fig4.misplacement`), ``panels``
        (:func:`~t2tcore.studies.fig4.fig4_panels`), ``series`` (:func:`~t2tcore.studies.fig4.fig4_series`),
        ``pixel_mm``.
    """

    settings: Settings
    spec: Any
    kernels: list
    doses: list
    thickness: float
    interval: float
    paper_kernels: dict | None
    table_dose: str
    fid_max_slices: int | None
    fid_all_groups: bool
    ssim_modes: list
    data_root: Path
    data: str
    plain: str
    effort: str
    measured: Table3Result
    summary: pd.DataFrame
    n_min: int
    caption: str
    full: pd.DataFrame
    side: pd.DataFrame
    rank: pd.DataFrame
    csv: dict
    about: list
    findings: str
    text: str
    fig4: dict


def run(settings: Settings = Settings(), progress: bool = False) -> Result:
    """Chapter 02 from its settings: resolve the data and the effort, measure, and make its tables and words."""
    from t2tcore import datasets

    st = settings
    spec = datasets.dataset_spec(st.dataset)
    kernels, doses, thickness, interval, paper_kernels, cal = spec.resolve(
        st.kernels, st.doses, st.thickness, st.interval, st.paper_kernel, st.calibration_patients)
    fid_max, fid_all, ssim_modes = effort(st.profile, st.fid_max_slices, st.fid_all_groups, st.ssim_modes)
    table_dose = doses[0] if st.table_dose is None else st.table_dose
    root = datasets.resolve_data_root(st.data_root, st.profile)
    data = datasets.describe_data(root, dataset=st.dataset, split=st.split)
    plain = datasets.describe_data(root, dataset=st.dataset, split=st.split, plain=True)
    fid_line = ("off" if not st.fid else f"at most {fid_max or 'all'} slices per set, "
                + ("every group" if fid_all else "first group"))
    measured = run_table3(
        datasets.iter_groups(root, kernels, doses, dataset=st.dataset, split=st.split), st.methods,
        thickness=thickness, interval=interval, sigma=st.gaussian_sigma_px, ssim_modes=ssim_modes, fid=st.fid,
        fid_convention=st.convention, fid_max_slices=fid_max, fid_all_groups=fid_all, fig_patient=st.fig_patient,
        calibration_patients=cal, progress=progress)
    df, conv = measured.per_patient, st.convention
    summ = summary(df, measured.metrics, conv)
    n_min = int(df.groupby(["kernel", "dose"]).patient.nunique().min())
    caption = (f"convention {conv!r}; rows count and physical are ours ({n_min} patients per group, smallest "
               f"attainable p {stats.min_attainable_p(n_min):.3g}), {_report.paper_source(paper_kernels)}. "
               f"Data: {plain}.")
    rank = _report.ranking_vs_paper(summ, kernels, doses, paper_kernels=paper_kernels)
    full = stats.summary_table(df[df.convention == conv], measured.metrics, best_format=None,
                               group_cols=("kernel", "dose", "alignment"))
    side = _report.beside_paper(summ, kernels, doses, st.methods, paper_kernels=paper_kernels)
    text = _report.ranking_text(rank)
    if measured.fid is not None:
        text += "\n\nFID, one value per group (see below):\n\n"
        text += _report.fid_text(measured.fid, paper_kernels=paper_kernels)
    f4 = measured.fig4
    fig = {"who": f"{f4['patient']}, {spec.label(f4['kernel'], f4['dose'])}", "pixel_mm": f4["pixel_mm"],
           "offsets": _fig4.misplacement(f4["pairs"]), "panels": _fig4.fig4_panels(f4["pairs"], st.fig_slice),
           "series": _fig4.fig4_series(f4["pairs"], list(st.viewer_methods), thickness)}
    return Result(
        st, spec, kernels, doses, thickness, interval, paper_kernels, table_dose, fid_max, fid_all, ssim_modes, root,
        data, plain, f"SSIM {', '.join(ssim_modes)}; FID: {fid_line}", measured, summ, n_min, caption, full, side,
        rank, csv_tables(measured, full, summ, side, rank, conv),
        [datasets.protocol_notes(st.dataset), pairing.pairing_text(measured.geometry)],
        _report.findings(rank, n_min), f"From {data}:\n\n" + text, fig)
