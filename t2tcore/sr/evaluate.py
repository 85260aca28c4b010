"""Scoring SR models on real thick -> real thin pairs: Table IV, its baseline rows, and Table VI's rank.

For every test case (a patient, kernel and dose with a real thin and a real thick series of
the same raw data), :func:`evaluate_case` feeds the real thick series through the one input
pipeline (:func:`t2tcore.sr.pairs.to_thin_grid`, linear along z to the real thin positions)
and every model **once**, and scores each output against the real thin series in every metric
convention (``paper``: each volume min-max scaled on its own; ``window``: a fixed -1000..1000 HU
window for every volume; ``hu``), in every region of the real thin image (all, body, lung, soft
tissue, bone, edges: :mod:`t2tcore.evaluation.regions`), and measures how far its edges are
displaced along z. The input itself is scored too: the **linear-interpolation baseline**
(label ``"linear"``), what you get with no network. Labels are ``"<model>/<method>"`` or
``"<model>/<method>/s<seed>"`` (several training seeds).

Which voxels are scored (:func:`eval_region`): thin slices inside the real thick series' range
(nothing extrapolated), optionally only the central ``n_slices`` of them and only the body's
bounding box in-plane (plus a margin) to save time on CPU; the model sees ``halo`` more
slices on each side, which are not scored. The chapter states the region it used.

Tables: :func:`table4` (mean ± sd over seeds, † where the 95 % interval of the difference from
``proposed`` excludes zero; :mod:`t2tcore.sr.effects`), :func:`table4_cells` and
:func:`beside_paper` (ours next to the paper's Table IV), :func:`baseline_verdict` (does a
model beat linear interpolation?), :func:`naive_verdict` (do proposed pairs beat naive pairs?),
:func:`fid_rows` (KID, and FID where each set has enough slices), :func:`performance_rank`
(Table VI: models ranked by mean PSNR over every test volume).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from t2tcore import paper as _paper
from t2tcore.masks import body_mask
from t2tcore.sr.checkpoint import checkpoint_scaling, load_checkpoint, model_from_checkpoint
from t2tcore.sr.effects import BASELINE, DEFAULT_REGION, baseline_verdict, naive_verdict, split_label, table4
from t2tcore.sr.infer import DEFAULT_ROI, predict
from t2tcore.sr.pairs import to_thin_grid

__all__ = [
    "BASELINE",
    "EvalRegion",
    "LoadedModel",
    "baseline_verdict",
    "beside_paper",
    "eval_region",
    "evaluate_case",
    "extremes",
    "fid_rows",
    "load_models",
    "naive_verdict",
    "paper_table4",
    "paper_table6",
    "performance_rank",
    "table4",
    "table4_cells",
]

MODEL_LABELS = {"vdsr": "VDSR", "unet": "U-Net", "esrresnet": "ESRResNet", "esrgan": "ESRGAN"}


def paper_table4() -> pd.DataFrame:
    """The paper's Table IV (SR models trained on simulated pairs, tested on real thick slices).

    Returns
    -------
    DataFrame
        Columns ``kernel, model, method`` (``average`` = the paper's Simple Averaging,
        ``proposed``), ``metric`` (psnr, rmse, ssim, fid), ``mean, std, significant`` (the
        paper's † against proposed): :data:`t2tcore.paper.TABLE4` as a table. The paper's
        convention: min-max scaling to [-1, 1]; its FID scale is not explained.
    """
    rows = []
    for k, models in _paper.TABLE4.items():
        for m, methods in models.items():
            for meth, metrics in methods.items():
                for metric, (mean, std) in metrics.items():
                    sig = meth == "average" and (m, metric) not in _paper.TABLE4_NO_DAGGER
                    rows.append({"kernel": k, "model": m, "method": meth, "metric": metric, "mean": mean, "std": std,
                                 "significant": sig})
    return pd.DataFrame(rows)


def paper_table6() -> pd.DataFrame:
    """The paper's Table VI (:data:`t2tcore.paper.TABLE6`): ``model, inference_s`` (per volume, NVIDIA RTX 6000),
    ``parameter_mb``, ``rank``."""
    return pd.DataFrame(
        [{"model": m, "inference_s": t, "parameter_mb": mb, "rank": r} for m, (t, mb, r) in _paper.TABLE6.items()]
    )


# --------------------------------------------------------------------------------------
# Scoring one case
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvalRegion:
    """Which voxels of a thin series are scored, and which slices the models see.

    Attributes
    ----------
    z : slice
        Scored thin slices (indices into the thin series).
    z_in : slice
        Thin slices fed to the models (``z`` plus a halo, inside the thick range).
    y, x : slice
        In-plane crop (rows, columns).
    """

    z: slice
    z_in: slice
    y: slice
    x: slice


def _box(mask: np.ndarray, axis: tuple, n: int, margin: int) -> slice:
    hit = np.flatnonzero(mask.any(axis=axis))
    if hit.size == 0:
        return slice(0, n)
    return slice(max(0, int(hit[0]) - margin), min(n, int(hit[-1]) + 1 + margin))


def eval_region(thin, thick, n_slices: int | None = None, margin_px: int | None = None, halo: int = 4) -> EvalRegion:
    """The scored region of one case (see the module docstring).

    Parameters
    ----------
    thin, thick : t2tcore.io.Series
    n_slices : int, optional
        Score only the central ``n_slices`` thin slices inside the thick range (default all).
    margin_px : int, optional
        Crop in-plane to the bounding box of the thin series' body mask plus this margin
        (default: whole slices).
    halo : int
        Extra input slices on each side (inside the thick range).

    Returns
    -------
    EvalRegion
    """
    from t2tcore.sr.errors import SRInputError

    lo, hi = float(thick.positions.min()), float(thick.positions.max())
    inside = np.flatnonzero((thin.positions >= lo - 1e-6) & (thin.positions <= hi + 1e-6))
    if inside.size == 0:
        raise SRInputError("no thin slice lies inside the thick series' range")
    a, b = int(inside[0]), int(inside[-1]) + 1
    if n_slices is not None and n_slices < b - a:
        mid = (a + b) // 2
        a2 = mid - int(n_slices) // 2
        za, zb = a2, a2 + int(n_slices)
    else:
        za, zb = a, b
    z_in = slice(max(a, za - int(halo)), min(b, zb + int(halo)))
    ny, nx = thin.volume.shape[1:]
    if margin_px is None:
        y, x = slice(0, ny), slice(0, nx)
    else:
        mask = body_mask(thin.volume[za:zb])
        y = _box(mask, (0, 2), ny, int(margin_px))
        x = _box(mask, (0, 1), nx, int(margin_px))
    return EvalRegion(slice(za, zb), z_in, y, x)


@dataclass
class LoadedModel:
    """A checkpoint's generator ready for scoring: ``label``, ``name`` (model), ``method``, ``model``, ``scaling``, ``roi``, ``seed``."""

    label: str
    name: str
    method: str
    model: Any
    scaling: Any
    roi: tuple
    seed: int = 0


def load_models(checkpoints: Mapping[str, Any], device: Any = "cpu") -> list[LoadedModel]:
    """Load checkpoints (label -> path or dict) for :func:`evaluate_case`.

    Labels are ``"<model>/<method>"`` or ``"<model>/<method>/s<seed>"``; the seed is the
    label's, else the checkpoint's training seed, else 0.
    """
    out = []
    for label, c in checkpoints.items():
        ck = load_checkpoint(c)
        try:
            seed = split_label(label)[2] if str(label).count("/") == 2 else int(ck.get("config", {}).get("seed", 0))
        except ValueError:
            seed = int(ck.get("config", {}).get("seed", 0))
        out.append(LoadedModel(label, ck["model"]["name"], ck["simulation"]["method"], model_from_checkpoint(ck, device),
                               checkpoint_scaling(ck), DEFAULT_ROI[ck["model"]["preset"]], seed))
    return out


def _score(scorer, ref, vol, conventions, ssim_modes) -> list[dict]:
    """Rows (convention x region) of one output: :class:`t2tcore.evaluation.regions.CaseScorer`."""
    from t2tcore.evaluation.metrics import ssim
    from t2tcore.evaluation.regions import convention_scale

    rows = scorer.score(vol)
    for row in rows:
        c = row["convention"]
        if "2d" not in ssim_modes:
            row.pop("ssim_2d", None)
        row["rmse_unit"] = "HU" if c == "hu" else "[-1,1] scale"
        if "3d" in ssim_modes:  # one 3-D SSIM, on the convention's Table IV region (paper profile only)
            reg = DEFAULT_REGION.get(c, "all")
            if row["region"] == reg:
                _, rs, r = convention_scale(ref, c)
                _, ts, _ = convention_scale(vol, c)
                row["ssim_3d"] = ssim(rs, ts, r, mode="3d", mask=None if reg == "all" else scorer.masks[reg])
            else:
                row["ssim_3d"] = float("nan")
    return rows


def evaluate_case(
    thin,
    thick,
    models: Sequence[LoadedModel],
    region: EvalRegion,
    *,
    conventions: Sequence[str] = ("paper", "window", "hu"),
    ssim_modes: Sequence[str] = ("2d",),
    regions: Sequence[str] | None = None,
    z_edges: bool = True,
    fid_slices: int = 0,
    keep: bool = False,
    device: Any = None,
) -> tuple[list[dict], dict]:
    """Score every model and the linear baseline on one real thick -> real thin pair.

    Each model predicts once; every convention, region and the z displacement of edges are
    computed from that one output (:mod:`t2tcore.evaluation.regions`).

    Parameters
    ----------
    thin, thick : t2tcore.io.Series
        Real thin and real thick series of one patient, kernel and dose.
    models : sequence of LoadedModel
        From :func:`load_models`.
    region : EvalRegion
        From :func:`eval_region`.
    conventions : sequence of {"paper", "window", "hu"}
        Metric conventions (:mod:`t2tcore.evaluation.metrics`).
    ssim_modes : sequence of {"2d", "3d"}
        ``2d``: SSIM maps of every axial slice, averaged per region; ``3d``: one 3-D SSIM on
        each convention's Table IV region (slow; other regions NaN).
    regions : sequence of str, optional
        Regions of :data:`t2tcore.evaluation.regions.REGIONS` (default all of them).
    z_edges : bool
        Measure the z displacement of strong edges (:func:`t2tcore.evaluation.regions.z_displacement`).
    fid_slices : int
        Evenly spaced scored slices kept (HU) for :func:`fid_rows` (0: none).
    keep : bool
        Also return the scored volumes (HU) for figures.
    device : str, optional
        Inference device (default: each model's).

    Returns
    -------
    rows : list of dict
        One per label, convention and region: ``label, model, method, seed, convention,
        region, psnr, rmse, ssim_2d`` (``ssim_3d``), ``n_voxels, rmse_unit, n_slices, z_first,
        z_last``, the scored volumes' extremes in HU (``ref_min, ref_max`` of the real thin
        volume, ``test_min, test_max`` of the label's: the ``paper`` convention scales each
        volume by its own), and the label's edge displacement along z (the same on every row
        of the label): ``z_displacement_mm, z_abs_displacement_mm, z_edges``.
    extra : dict
        ``"fid"``: label (and ``"reference"``) -> slices (k, y, x); ``"volumes"`` (when
        ``keep``): ``"thin"``, ``"linear"`` and each label -> (z, y, x) HU;
        ``"positions"``: the scored slices' positions (mm); ``"voxels"``: region -> voxels.
    """
    from t2tcore.evaluation.regions import REGIONS, CaseScorer, z_displacement

    pos_in = thin.positions[region.z_in]
    inp = to_thin_grid(thick.volume, thick.positions, pos_in, outside="clamp")[:, region.y, region.x]
    inner = slice(region.z.start - region.z_in.start, region.z.stop - region.z_in.start)
    ref = np.ascontiguousarray(thin.volume[region.z, region.y, region.x])
    pos = thin.positions[region.z]
    dz = float(np.median(np.diff(pos))) if pos.size > 1 else float(thin.spacing)
    wanted = list(REGIONS) if regions is None else list(regions)
    wanted += [r for r in (DEFAULT_REGION.get(c, "all") for c in conventions) if r not in wanted]
    scorer = CaseScorer(ref, (dz, *thin.pixel_spacing), conventions, [r for r in REGIONS if r in wanted],
                        ssim="2d" in ssim_modes)
    body = scorer.masks["body"]
    pick = (np.unique(np.round(np.linspace(0, ref.shape[0] - 1, min(int(fid_slices), ref.shape[0]))).astype(int))
            if fid_slices else None)
    extra: dict = {"positions": pos, "voxels": {k: int(scorer.masks[k].sum()) for k in scorer.regions}}
    if pick is not None:
        extra["fid"] = {"reference": ref[pick]}
    if keep:
        extra["volumes"] = {"thin": ref}
    rows = []
    todo = [(BASELINE, BASELINE, BASELINE, 0, None), *[(m.label, m.name, m.method, m.seed, m) for m in models]]
    for label, name, method, seed, m in todo:
        if m is None:
            vol = np.ascontiguousarray(inp[inner])
        else:
            y = predict(m.model, m.scaling.forward(inp), roi=m.roi, device=device)
            vol = np.ascontiguousarray(m.scaling.inverse(y)[inner])
        head = {"label": label, "model": name, "method": method, "seed": int(seed), "n_slices": int(ref.shape[0]),
                "z_first": float(pos[0]), "z_last": float(pos[-1]), "ref_min": float(ref.min()),
                "ref_max": float(ref.max()), "test_min": float(vol.min()), "test_max": float(vol.max())}
        if z_edges:
            zd = z_displacement(ref, vol, dz, body=body)
            head.update(z_displacement_mm=zd["z_displacement_mm"], z_abs_displacement_mm=zd["z_abs_displacement_mm"],
                        z_edges=zd["z_edges"])
        rows += [{**head, **r} for r in _score(scorer, ref, vol, conventions, ssim_modes)]
        if pick is not None:
            extra["fid"][label] = vol[pick]
        if keep:
            extra["volumes"][label] = vol
    return rows, extra


def fid_rows(slice_sets: Sequence[Mapping[str, np.ndarray]], *, device: Any = None, progress: bool = False,
             min_fid_slices: int | None = None) -> list[dict]:
    """KID, and FID where there are enough slices, of every label against the real thin slices, pooled over cases.

    Parameters
    ----------
    slice_sets : sequence of mapping
        ``extra["fid"]`` of :func:`evaluate_case` for each case of the group (e.g. a kernel).
    min_fid_slices : int, optional
        FID only with at least this many slices per set (default
        :data:`t2tcore.evaluation.metrics.FID_MIN_SLICES`); NaN below, with a note.

    Returns
    -------
    list of dict
        ``label, fid, kid, kid_se, n_slices, n_cases, note``. Slices are HU, shown to the
        network through the fixed window -1000..1000 HU (:data:`t2tcore.evaluation.FID_WINDOW`),
        not each volume's own extremes; both distances use the same InceptionV3 features.
        KID (:func:`t2tcore.evaluation.kernel_inception_distance`) is unbiased at any number
        of slices; FID's bias grows as the sets shrink, so with few slices it is not given.
    """
    from t2tcore.evaluation import FID_WINDOW, fid_features, frechet_distance, kernel_inception_distance
    from t2tcore.evaluation.metrics import FID_MIN_SLICES

    if not slice_sets:
        return []
    lim = FID_MIN_SLICES if min_fid_slices is None else int(min_fid_slices)
    kw = dict(window=FID_WINDOW, device=device, progress=progress)
    ref = fid_features([s["reference"] for s in slice_sets], **kw)
    n = int(ref.shape[0])
    rows = []
    for label in slice_sets[0]:
        if label == "reference":
            continue
        f = fid_features([s[label] for s in slice_sets], **kw)
        k = kernel_inception_distance(ref, f) if n >= 3 else {"kid": float("nan"), "kid_se": float("nan")}
        ok = n >= lim
        rows.append({"label": label, "fid": frechet_distance(ref, f) if ok else float("nan"), "kid": k["kid"],
                     "kid_se": k["kid_se"], "n_slices": n, "n_cases": len(slice_sets),
                     "note": "" if ok else f"FID not given: {n} slices per set, fewer than {lim}"})
    return rows


# --------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------


def table4_cells(stats: pd.DataFrame, kernel: str, ssim_col: str = "ssim_2d",
                 paper: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One kernel's Table IV with the paper's cells beside ours, for :func:`t2tcore.evaluation.tables.style_table`.

    Parameters
    ----------
    stats : DataFrame
        :func:`table4`.
    kernel : str
    ssim_col : str
        Our SSIM column shown under the paper's SSIM.
    paper : bool
        Set the paper's cells beside ours. False on another data set than the paper's (e.g.
        RPLHR-CT): only the "ours" columns.

    Returns
    -------
    cells : DataFrame of str
        Rows (model, method); columns (metric, "ours" | "paper"): "mean ± std", † where p < 0.05
        against proposed (ours: our paired Wilcoxon test; paper: the paper's mark); "—" where the
        paper has no such row.
    bold : DataFrame of bool
        Our best value per model and metric.
    """
    from t2tcore.evaluation.tables import DAGGER, mean_std, summary_cells

    s = stats[stats.kernel == kernel]
    ours, best = summary_cells(s, index=["model", "method"], columns="metric")
    theirs = paper_table4()
    theirs = theirs[theirs.kernel == kernel].set_index(["model", "method", "metric"])
    names = {"psnr": "PSNR", "rmse": "RMSE", ssim_col: "SSIM"}
    cols, bold_cols = {}, {}
    for col in ours.columns:
        pm = "ssim" if col == ssim_col else col
        name = names.get(col, col)
        cols[(name, "ours")] = ours[col]
        bold_cols[(name, "ours")] = best[col]
        if not paper:
            continue
        cells = []
        for model, method in ours.index:
            key = (model, method, pm)
            if key in theirs.index:
                r = theirs.loc[key]
                cells.append(mean_std(r["mean"], r["std"]) + (DAGGER if r["significant"] else ""))
            else:
                cells.append("—")
        cols[(name, "paper")] = pd.Series(cells, index=ours.index)
        bold_cols[(name, "paper")] = pd.Series(False, index=ours.index)
    return pd.DataFrame(cols), pd.DataFrame(bold_cols)


def _fmt(mean: float, std: float) -> str:
    return f"{mean:.4f} ± {std:.4f}" if np.isfinite(std) else f"{mean:.4f}"


def beside_paper(df: pd.DataFrame, convention: str = "paper", ssim_col: str = "ssim_2d") -> pd.DataFrame:
    """Our Table IV cells next to the paper's (same kernel, model, simulation, metric).

    Returns
    -------
    DataFrame
        Index (kernel, model, method, metric); columns ``ours`` ("mean ± sd" over seeds of the
        per-seed means over cases, as :func:`t2tcore.sr.effects.table4`; one seed: the mean
        alone) and ``paper`` (its "mean ± std" over test volumes, with † where it marks one);
        methods the paper lacks have an empty ``paper`` cell.
    """
    paper = paper_table4()
    metrics = [m for m in ("psnr", "rmse", ssim_col) if m in df.columns]
    t = table4(df, metrics, convention, eff=pd.DataFrame())
    rows = []
    for r in t[t.method != BASELINE].itertuples(index=False):
        pm = "ssim" if r.metric == ssim_col else r.metric
        p = paper[(paper.kernel == r.kernel) & (paper.model == r.model) & (paper.method == r.method) & (paper.metric == pm)]
        pcell = _fmt(p["mean"].iloc[0], p["std"].iloc[0]) + ("†" if p["significant"].iloc[0] else "") if len(p) else ""
        rows.append({"kernel": r.kernel, "model": r.model, "method": r.method, "metric": pm,
                     "ours": _fmt(r.mean, r.std), "paper": pcell})
    return pd.DataFrame(rows).set_index(["kernel", "model", "method", "metric"])


def extremes(df: pd.DataFrame) -> pd.DataFrame:
    """How far each label's extremes lie from the real thin volume's, per kernel (mean over cases, HU).

    The ``paper`` convention min-max scales every volume on its own, so a few voxels beyond the
    real volume's extremes rescale all the others: ``max_over`` (test max - real max) and
    ``min_under`` (real min - test min) show how much.

    Returns
    -------
    DataFrame
        ``kernel, label, max_over, min_under, n``.
    """
    d = df.drop_duplicates(["kernel", "patient", "dose", "label"])  # extremes are the same in every row of a label
    d = d.assign(max_over=d.test_max - d.ref_max, min_under=d.ref_min - d.test_min)
    out = d.groupby(["kernel", "label"], sort=False).agg(max_over=("max_over", "mean"), min_under=("min_under", "mean"),
                                                          n=("max_over", "size"))
    return out.reset_index()


def performance_rank(df: pd.DataFrame, convention: str = "paper", method: str = "proposed") -> pd.DataFrame:
    """Table VI's rank: models trained on ``method`` pairs, by mean PSNR over every test volume and seed (1 = best)."""
    d = df[(df.convention == convention) & (df.method == method)]
    if "region" in d.columns:
        d = d[d.region == DEFAULT_REGION.get(convention, "all")]
    m = d.groupby("model")["psnr"].agg(["mean", "count"]).rename(columns={"mean": "mean_psnr", "count": "n_volumes"})
    m["rank"] = m["mean_psnr"].rank(ascending=False, method="min").astype(int)
    return m.sort_values("rank").reset_index()
