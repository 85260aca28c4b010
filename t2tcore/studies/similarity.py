"""Chapter 03, Fig. 7 over a cohort: which thin slices each thick slice looks like.

The paper (Section VI-C, Fig. 7) takes the first thick slice of a series and computes its
mean squared error against the thin slices around it: the thin slice with the smallest
MSE is where the thick slice's content is centred. :func:`run_similarity` does this for
every real thick slice inside the thin coverage of every patient, kernel and dose, for the
real slice and for the slice each method pairs with it
(:func:`t2tcore.evaluation.slice_mse.similarity_slices`, curves by
:func:`t2tcore.evaluation.slice_mse.similarity_curve`); :func:`summarise` groups the rows by
where the slice is (first, interior, last) and :func:`summary_text` and
:func:`first_slice_claims` state the result beside the paper's two claims. :func:`run` does the
chapter (:class:`Settings` -> :class:`Result`).

Positions are in mm, MSE in HU².
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from t2tcore import paper as _paper
from t2tcore.evaluation.alignment import INDEX_METHODS, covered
from t2tcore.evaluation.slice_mse import similarity_curve, similarity_slices

__all__ = [
    "PAPER_FIG7",
    "SUMMARY_LABELS",
    "Result",
    "Settings",
    "SimilarityResult",
    "beside_paper",
    "findings",
    "first_slice_centroid",
    "first_slice_claims",
    "run",
    "run_similarity",
    "summarise",
    "summary_text",
]


@dataclass
class SimilarityResult:
    """What :func:`run_similarity` measured.

    Attributes
    ----------
    rows : DataFrame
        One row per kernel, dose, patient, real thick slice (``index``, 0 = the first inside
        the thin coverage) and method (``"real"`` included): ``where`` (first, interior,
        last), ``real_position``, ``slice_position``, ``best_thin`` (0-based),
        ``best_position``, ``best_minus_real_mm``, ``same_best_as_real``.
    curves : dict
        ``(index, method) -> similarity_curve result`` for the figure's patient and slices.
    figure : dict
        ``kernel, dose, patient, thin_positions`` (mm) of the figure's series and
        ``real_positions`` (slice index -> the real slice's position, mm) of its curves.
    notes : list of str
        Notes of the groups (missing series...).
    """

    rows: pd.DataFrame
    curves: dict = field(default_factory=dict)
    figure: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def run_similarity(
    groups: Iterable,
    methods: Sequence[str],
    *,
    thickness: float = 3.0,
    interval: float = 2.0,
    half_width: int = 3,
    sigma: float = 1.0,
    slice_index: int = 0,
    interior_index: int | None = None,
    fig_patient: str | None = None,
    progress: bool = False,
) -> SimilarityResult:
    """MSE curves of every real thick slice and of each method's slice paired with it.

    Parameters
    ----------
    groups : iterable of StudyGroup
        One per kernel and dose (:func:`t2tcore.datasets.iter_groups`); the
        series are read one patient at a time.
    methods : sequence of str
        Simulation methods (``"calibrated"`` is left out: it needs a fitted profile).
    thickness, interval : float
        Simulated thickness and Algorithm 1's interval, mm.
    half_width : int
        Thin slices compared on each side of the one nearest the real slice.
    sigma : float
        In-plane blur of ``"gaussian"``, pixels.
    slice_index : int
        First slice of the figure (0: the paper's choice).
    interior_index : int, optional
        Second slice of the figure (default a quarter of the way along the series).
    fig_patient : str, optional
        Patient of the figure, in the first group (default its first patient).
    progress : bool
        A progress bar per group.

    Returns
    -------
    SimilarityResult
    """
    from t2tcore.progress import bar

    methods = [m for m in dict.fromkeys(methods) if m != "calibrated"]
    rows, curves, notes = [], {}, []
    figure: dict = {}
    real_at: dict[int, float] = {}
    first = None
    for group in groups:
        k, d = group.kernel, group.dose
        notes += list(group.notes)
        if first is None:
            first = (k, d)
        for p, thin, thick in bar(group, total=len(group), desc=f"{k} {d}", enabled=progress):
            n_in = int(covered(thin.positions, thick.positions).sum())
            keep = (k, d) == first and not figure and (fig_patient is None or p == fig_patient)
            shown = {slice_index, n_in // 4 if interior_index is None else int(interior_index)}
            all_sl = similarity_slices(thin, thick, methods, list(range(n_in)), thickness=thickness,
                                                interval=interval, sigma=sigma)
            for j, sl in enumerate(all_sl):
                p_real = sl["real"]["position"]
                nearest = int(np.argmin(np.abs(thin.positions - p_real)))
                idx_thin = np.arange(max(0, nearest - half_width), min(thin.positions.size, nearest + half_width + 1))
                where = "first" if j == 0 else ("last" if j == n_in - 1 else "interior")
                for m, s in sl.items():
                    c = similarity_curve(s["slice"], thin.volume, thin.positions, idx_thin,
                                                  position=s["position"])
                    rows.append({"kernel": k, "dose": d, "patient": p, "index": j, "where": where, "method": m,
                                 "real_position": p_real, "slice_position": s["position"],
                                 "best_thin": c["best_index"], "best_position": c["best_position"],
                                 "best_minus_real_mm": c["best_position"] - p_real})
                    if keep and j in shown:
                        curves[(j, m)] = c
                        real_at[j] = p_real
            if keep:
                figure = {"kernel": k, "dose": d, "patient": p, "thin_positions": np.array(thin.positions),
                          "real_positions": dict(real_at)}
            del thin, thick, all_sl
    res = pd.DataFrame(rows)
    if len(res):
        real_best = res[res["method"] == "real"].set_index(["kernel", "dose", "patient", "index"])["best_thin"]
        keys = res[["kernel", "dose", "patient", "index", "best_thin"]].itertuples(index=False)
        res["same_best_as_real"] = [b == real_best[(k, d, p, j)] for k, d, p, j, b in keys]
    return SimilarityResult(res, curves, figure, notes)


def summarise(rows: pd.DataFrame) -> pd.DataFrame:
    """Per slice group (first, interior, last) and method: offsets and agreement with the real slice.

    Parameters
    ----------
    rows : DataFrame
        :attr:`SimilarityResult.rows`.

    Returns
    -------
    DataFrame
        Index ``(where, method)``; columns ``slices``, ``slice_minus_real_mm`` (mean signed
        offset of the method's slice from the real one), ``abs_slice_minus_real_mm``,
        ``best_minus_real_mm`` (mean signed offset of its best-matching thin slice from the
        real slice's position), ``abs_best_minus_real_mm`` and ``same_best_as_real``
        (fraction of slices whose best thin slice is the real slice's).
    """
    return (
        rows.assign(slice_minus_real_mm=rows["slice_position"] - rows["real_position"])
        .assign(abs_slice_mm=lambda x: x["slice_minus_real_mm"].abs(), abs_best_mm=lambda x: x["best_minus_real_mm"].abs())
        .groupby(["where", "method"], sort=False)
        .agg(slices=("patient", "size"),
             slice_minus_real_mm=("slice_minus_real_mm", "mean"),
             abs_slice_minus_real_mm=("abs_slice_mm", "mean"),
             best_minus_real_mm=("best_minus_real_mm", "mean"),
             abs_best_minus_real_mm=("abs_best_mm", "mean"),
             same_best_as_real=("same_best_as_real", "mean"))
    )


#: Short column labels of :func:`summarise` for display (the CSV keeps the names).
SUMMARY_LABELS = {
    "slices": "slices",
    "slice_minus_real_mm": "slice − real",
    "abs_slice_minus_real_mm": "|slice − real|",
    "best_minus_real_mm": "best − real",
    "abs_best_minus_real_mm": "|best − real|",
    "same_best_as_real": "same best as real",
}


def summary_text(summ: pd.DataFrame, methods: Sequence[str]) -> str:
    """Markdown bullets: for each slice group, where the real slice's and each method's best match lie.

    Parameters
    ----------
    summ : DataFrame
        :func:`summarise`.
    methods : sequence of str

    Returns
    -------
    str
    """
    lines = []
    for where in [w for w in ("first", "interior", "last") if w in summ.index.get_level_values(0)]:
        s = summ.loc[where]
        r = s.loc["real"]
        lines.append(f"* **{where} real thick slice{'s' if where == 'interior' else ''}** ({int(r.slices)} in all): the "
                     f"real slice's best-matching thin slice lies {r.best_minus_real_mm:+.2f} mm from it on average.")
        for m in [m for m in methods if m in s.index]:
            x = s.loc[m]
            lines.append(f"  * `{m}`: its slice is {x.abs_slice_minus_real_mm:.2f} mm from the real one (mean |offset|; "
                         f"signed mean {x.slice_minus_real_mm:+.2f} mm), its best match {x.abs_best_minus_real_mm:.2f} mm "
                         f"(signed {x.best_minus_real_mm:+.2f} mm); the same best thin slice as the real slice in "
                         f"{100 * x.same_best_as_real:.0f} % of cases.")
    return "\n".join(lines)


def first_slice_centroid(thin_positions, thickness: float) -> float:
    """Offset (mm) of the centroid of Algorithm 2's weights for a thick slice at the first thin position.

    At the first thin position thin slices exist on one side only, so the triangle's
    weights (:func:`t2tcore.simulation.weight_matrix`) pull the slice inwards.

    Parameters
    ----------
    thin_positions : array_like, shape (n,)
        Increasing thin positions, mm.
    thickness : float
        Triangle width, mm.

    Returns
    -------
    float
        ``sum(w * p) - p[0]`` with normalised weights ``w`` (mm, > 0 inwards).
    """
    from t2tcore.simulation import triangle_kernel, weight_matrix

    tp = np.asarray(thin_positions, dtype=float)
    w = weight_matrix(tp, [tp[0]], triangle_kernel(thickness))[0]
    return float(w @ tp - tp[0])


def _agreement(summ: pd.DataFrame, methods: Sequence[str]) -> dict:
    """How often each method's best match is the real slice's (%), from :func:`summarise`."""
    first = summ.loc["first"]
    idx = [m for m in methods if m in INDEX_METHODS and m in first.index]
    return {
        "index": idx,
        "position": [m for m in methods if m not in INDEX_METHODS and m in first.index],
        "differ": 100 * (1 - first.loc[idx, "same_best_as_real"].mean()) if idx else float("nan"),
        "first": {m: 100 * float(first.loc[m, "same_best_as_real"]) for m in first.index},
        "interior": {m: 100 * float(summ.loc[("interior", m), "same_best_as_real"]) for m in methods
                     if ("interior", m) in summ.index},
    }


def first_slice_claims(
    summ: pd.DataFrame, methods: Sequence[str], thin_positions, thickness: float
) -> str:
    """The paper's two claims about the first thick slice, checked; Markdown bullets.

    (1) The index-based methods' slice looks most like another thin slice than the real
    slice does; (2) the proposed (position-based) slice follows the real slice's pattern.
    Plus the centroid of the proposed method's first-slice weights
    (:func:`first_slice_centroid`) for the series ``thin_positions``.

    Returns
    -------
    str
    """
    r = _agreement(summ, methods)
    tp = np.asarray(thin_positions, dtype=float)
    centroid = first_slice_centroid(tp, thickness)
    claims = []
    if r["index"]:
        claims.append(f"* (1) index-based methods ({', '.join(r['index'])}): their best-matching thin slice differs "
                      f"from the real slice's in {r['differ']:.0f} % of first slices (paper: yes, slice 3 instead "
                      "of 4).")
    for m in r["position"]:
        interior = f"{r['interior'][m]:.0f} %" if m in r["interior"] else "n/a"
        claims.append(f"* (2) `{m}`: the same best-matching thin slice as the real first slice in "
                      f"{r['first'][m]:.0f} % of series (paper, for `proposed`: it follows the real pattern); in the "
                      f"interior: {interior}.")
    claims.append(f"* The proposed method's first slice is a one-sided weighted mean: its weights' centroid lies "
                  f"{centroid:+.2f} mm from its nominal position (the first thin slice), "
                  f"{centroid / np.median(np.diff(tp)):.2f} thin spacings inwards, while the real first thick slice was "
                  "reconstructed from raw data on both sides.")
    return "\n".join(claims)


def findings(summ: pd.DataFrame, methods: Sequence[str]) -> str:
    """One sentence group for the chapter's opening: the paper's two claims, measured.

    Parameters
    ----------
    summ : DataFrame
        :func:`summarise`.
    methods : sequence of str

    Returns
    -------
    str
        Markdown, no line breaks.
    """
    r = _agreement(summ, methods)
    parts = []
    if r["index"]:
        parts.append(f"for the first real thick slice, the index-based methods' best-matching thin slice differs "
                     f"from the real slice's in {r['differ']:.0f} % of cases (paper: slice 3 instead of 4)")
    for m in r["position"]:
        interior = f" ({r['interior'][m]:.0f} % for the interior slices)" if m in r["interior"] else ""
        parts.append(f"`{m}` has the real slice's best match in {r['first'][m]:.0f} % of first slices{interior}")
    return "; ".join(parts) + "."


#: What the paper reports for the first thick slice (Section VI-C, Fig. 7; :data:`t2tcore.paper.FIG7`).
PAPER_FIG7 = {
    "real": f"best match: thin slice {_paper.FIG7['real_best_thin_slice']}",
    "index": f"best match: thin slice {_paper.FIG7['index_best_thin_slice']} (not the real slice's)",
    "proposed": "follows the real slice's pattern",
}


def beside_paper(summ: pd.DataFrame, methods: Sequence[str]) -> pd.DataFrame:
    """The paper's Fig. 7 statements beside our agreement rates, per method.

    Parameters
    ----------
    summ : DataFrame
        :func:`summarise`.
    methods : sequence of str

    Returns
    -------
    DataFrame
        Index ``method`` (``"real"`` first); ``paper (first slice)`` (its statement, "—" for
        methods it does not have), ``ours: best match as real, first (%)`` and ``... interior
        (%)`` (NaN where there is no such slice), ``ours: |best - real|, first (mm)``.
    """
    rows = []
    for m in ["real", *[m for m in methods if m != "real"]]:
        paper = PAPER_FIG7.get(m) or (PAPER_FIG7["index"] if m in INDEX_METHODS else "—")
        row = {"method": m, "paper (first slice)": paper}
        for where in ("first", "interior"):
            key = (where, m)
            row[f"ours: best match as real, {where} (%)"] = (
                100 * float(summ.loc[key, "same_best_as_real"]) if key in summ.index else float("nan"))
        row["ours: |best − real|, first (mm)"] = (
            float(summ.loc[("first", m), "abs_best_minus_real_mm"]) if ("first", m) in summ.index else float("nan"))
        rows.append(row)
    return pd.DataFrame(rows).set_index("method")


# --------------------------------------------------------------------------------------
# The chapter
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """Chapter 03's parameters (those of its notebook).

    Attributes
    ----------
    data_root : str or os.PathLike, optional
        A data folder; None: the book's virtual cohort of ``profile``.
    dataset : str
        Its layout (:data:`t2tcore.datasets.DATASETS`).
    profile : {"smoke", "quick", "paper"}
    kernels, doses : sequence of str
    thickness, interval : float
        Simulated thick slices and Algorithm 1's interval, mm.
    methods : sequence of str
        ``calibrated`` is left out (it needs a fitted profile: chapter 02).
    slice_index, interior_index, half_width, gaussian_sigma_px, fig_patient
        As :func:`run_similarity`.
    """

    data_root: Any = None
    dataset: str = "ldct_gc"
    profile: str = "quick"
    kernels: Sequence[str] = ("B30", "D45")
    doses: Sequence[str] = ("full", "quarter")
    thickness: float = 3.0
    interval: float = 2.0
    methods: Sequence[str] = ("proposed", "direct", "average", "gaussian", "gaussian_z")
    slice_index: int = 0
    interior_index: int | None = None
    half_width: int = 3
    gaussian_sigma_px: float = 1.0
    fig_patient: str | None = None


@dataclass
class Result:
    """What chapter 03 shows.

    Attributes
    ----------
    settings : Settings
    methods : list of str
        The methods compared (``calibrated`` left out).
    data_root : pathlib.Path
    data, plain : str
        What the data are, as Markdown and as plain text.
    measured : SimilarityResult
        Every slice's row, the figure's curves (:func:`run_similarity`).
    summary : DataFrame
        :func:`summarise`.
    paper : DataFrame
        :func:`beside_paper`.
    findings, text, claims : str
        The chapter's finding, the summary in words, and the paper's two claims on the first slice.
    """

    settings: Settings
    methods: list
    data_root: Path
    data: str
    plain: str
    measured: SimilarityResult
    summary: pd.DataFrame
    paper: pd.DataFrame
    findings: str
    text: str
    claims: str


def run(settings: Settings = Settings(), progress: bool = False) -> Result:
    """Chapter 03 from its settings: the data, every slice's curves, the summary and its words."""
    from t2tcore import datasets

    st = settings
    methods = [m for m in dict.fromkeys(st.methods) if m != "calibrated"]
    root = datasets.resolve_data_root(st.data_root, st.profile)
    data = datasets.describe_data(root, dataset=st.dataset, detail=False)
    plain = datasets.describe_data(root, dataset=st.dataset, detail=False, plain=True)
    res = run_similarity(
        datasets.iter_groups(root, st.kernels, st.doses, dataset=st.dataset), methods, thickness=st.thickness,
        interval=st.interval, half_width=st.half_width, sigma=st.gaussian_sigma_px, slice_index=st.slice_index,
        interior_index=st.interior_index, fig_patient=st.fig_patient, progress=progress)
    summ = summarise(res.rows)
    claims = first_slice_claims(summ, methods, res.figure["thin_positions"], st.thickness)
    return Result(st, methods, root, data, plain, res, summ, beside_paper(summ, methods), findings(summ, methods),
                  f"From {data}:\n\n" + summary_text(summ, methods), f"From {data}:\n\n" + claims)
