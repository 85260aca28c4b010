"""Chapter 05's study from data to tables, as functions the notebook calls in order.

1. The data folder and what it is: :func:`t2tcore.evaluation.datasets.resolve_data_root` and
   :func:`~t2tcore.evaluation.datasets.describe_data` (shared with the other chapters).
2. :func:`read_training` — the thin training series.
3. :func:`calibrate` — a slice profile fitted on one paired test patient (who then leaves
   the test set), for the ``calibrated`` training simulation.
4. :func:`train_runs` — every (model, simulation, seed) of the profile, from the cache or trained
   (:func:`t2tcore.sr.cache.cached_model`); ESRGAN starts from the ESRResNet of the same
   simulation and seed when the profile says so; :func:`training_table` and
   :func:`training_notes` — what each run did and whether it converged.
5. :func:`evaluate` — every model and the linear-interpolation baseline on every test case
   (:func:`t2tcore.sr.evaluate.evaluate_case`), FID per kernel; :func:`figure_case` — the
   volumes of Fig. 6 (one case, all its slices).
6. :func:`findings` — the chapter's opening findings in words, computed from the results.

Every step takes the data set (``dataset``: ``"ldct_gc"``, the paper's and the default, or
``"rplhr_ct"``; :mod:`t2tcore.sr.datasets`): its test pairs and training series, the nominal
thickness its files are read with, its kernel/dose group, and the thickness and interval of the
simulated training pairs (:data:`t2tcore.evaluation.datasets.DATASETS`: 3 mm every 2 mm for
``ldct_gc``, 5 mm every 5 mm for ``rplhr_ct``). :func:`dataset_notes` says in words what changes
on a data set other than the paper's, and why the paper's Table IV cells (:data:`PAPER_DATASET`
only) and no published RPLHR-CT numbers stand beside ours.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from t2tcore.sr import evaluate as ev
from t2tcore.sr.datasets import TestCase, case_name, nominal_thickness, read_volume, training_paths
from t2tcore.sr.pairs import ThinSeries
from t2tcore.sr.profiles import ChapterSettings, train_config

__all__ = [
    "PAPER_DATASET",
    "Calibration",
    "StudyResult",
    "calibrate",
    "dataset_notes",
    "evaluate",
    "figure_case",
    "findings",
    "read_training",
    "resolve",
    "train_runs",
    "training_notes",
    "training_table",
]


#: The data set of the paper's Table IV: only there are its cells set beside ours.
PAPER_DATASET = "ldct_gc"


def resolve(path: str | Path) -> Path:
    """``path`` as given when absolute, else below the book's root folder (the one holding ``_toc.yml``)."""
    from t2tcore.evaluation.datasets import book_root

    p = Path(path)
    return p if p.is_absolute() else book_root() / p


def read_training(data_root: Path, dataset: str = "ldct_gc", *, progress: bool = False) -> list[ThinSeries]:
    """The thin training series of a data set, read once (body masks are cached on them).

    Files that store no slice thickness (RPLHR-CT's NIfTI) are read with the data set's nominal
    thin thickness (:func:`t2tcore.sr.datasets.nominal_thickness`); a series without a patient
    ID then takes its case name, so validation holds out whole cases.
    """
    from t2tcore.progress import bar

    paths = training_paths(data_root, dataset)
    thin_mm, _ = nominal_thickness(dataset)
    out = []
    for p in bar(paths, desc="reading training series", unit="series", enabled=progress):
        s = ThinSeries.from_series(read_volume(p, thin_mm))
        out.append(replace(s, patient=case_name(p)) if thin_mm is not None and not s.patient else s)
    return out


@dataclass
class Calibration:
    """A slice profile fitted on one paired test patient: ``profile`` (dict), ``patient``, ``kernel``, ``dose``, ``fwhm_mm``."""

    profile: dict
    patient: str
    kernel: str
    dose: str
    fwhm_mm: float


def calibrate(cases: Sequence[TestCase], *, kernel: str | None = None, dose: str | None = None,
              thickness: float | None = None, interval: float | None = None,
              dataset: str = "ldct_gc") -> Calibration | None:
    """Fit the real thick series' slice profile on the first patient with a ``kernel``/``dose`` pair.

    That patient must then be left out of the test (the chapter does). None when no such case
    exists or it is the only patient (nothing would be left to test). Arguments left None are
    ``dataset``'s (:data:`t2tcore.evaluation.datasets.DATASETS`): its first kernel and dose,
    its thick slices' thickness and interval (``ldct_gc``: B30, full, 3 mm, 2 mm; ``rplhr_ct``:
    its one group, 5 mm, 5 mm).
    """
    from t2tcore.evaluation.datasets import dataset_spec
    from t2tcore.simulation import fit_profile

    spec = dataset_spec(dataset)
    kernel = spec.kernels[0] if kernel is None else kernel
    dose = spec.doses[0] if dose is None else dose
    thickness = spec.thickness if thickness is None else float(thickness)
    interval = spec.interval if interval is None else float(interval)
    patients = sorted({c.patient for c in cases})
    pick = [c for c in cases if c.kernel == kernel and c.dose == dose]
    if not pick or len(patients) < 2:
        return None
    c = min(pick, key=lambda c: c.patient)
    thin, thick = c.read()
    prof = fit_profile([(thin.volume, thin.positions, thick.volume, thick.positions)], thickness=thickness,
                       interval=interval, meta={"patient": c.patient, "kernel": kernel, "dose": dose})
    return Calibration(prof.to_dict(), c.patient, kernel, dose, float(prof.fwhm_mm))


def train_runs(
    settings: ChapterSettings,
    train: Sequence[ThinSeries],
    cache_dir: str | Path,
    *,
    calibration: Calibration | None = None,
    thickness: Any = None,
    interval: Any = None,
    dataset: str = "ldct_gc",
    device: Any = None,
    progress: bool = False,
) -> dict[str, dict]:
    """Every (model, simulation, seed) of ``settings``: label ``"<model>/<method>/s<seed>"`` -> checkpoint.

    Checkpoints come from the cache or are trained now (:func:`t2tcore.sr.cache.cached_model`);
    each one's ``config`` carries its seed, its ``training`` what the run achieved
    (:func:`training_table`). ESRGAN seed ``k`` starts from ESRResNet seed ``k`` of the same
    simulation when the profile says so (``gan_steps``). The training pairs are simulated at
    ``thickness`` and ``interval`` (mm), by default the real thick series' of ``dataset``
    (:func:`t2tcore.sr.profiles.train_config`).
    """
    from t2tcore.sr.cache import cached_model

    out: dict[str, dict] = {}
    for model, method in settings.runs():
        if method == "calibrated" and calibration is None:
            continue
        for seed in settings.seeds_for(model, method):
            base = (out.get(f"esrresnet/{method}/s{seed}") if model == "esrgan" and settings.gan_steps is not None
                    else None)
            cfg = train_config(settings, model, method, len(train), thickness=thickness, interval=interval,
                               dataset=dataset, profile=calibration.profile if calibration else None,
                               init_from=base["cache_key"] if base else None, seed=seed)
            out[f"{model}/{method}/s{seed}"] = cached_model(cfg, train, cache_dir,
                                                            init_state=base["state_dict"] if base else None,
                                                            device=device, progress=progress)
    return out


#: Columns of :func:`training_table` (the first eleven are chapter 05's ``training_runs.csv`` contract).
TRAINING_COLUMNS = ["model", "method", "seed", "steps", "best_step", "seconds", "val_l2_untrained", "val_l2_best",
                    "val_ratio", "converged", "note", "cap", "val_ratio_se", "improvement", "noise", "lr", "batch",
                    "patch", "precision", "init_from", "cached", "label"]


def _legacy_training(c: dict) -> dict:
    """The ``training`` summary of a checkpoint written before the convergence rule (from its history)."""
    h = [e for e in c.get("history") or [] if e.get("val_loss") is not None and np.isfinite(e["val_loss"])]
    first = h[0]["val_loss"] if h else float("nan")
    best = min(h[1:], key=lambda e: e["val_loss"]) if len(h) > 1 else None
    return {"steps": int(c["step"]), "cap": int(c["config"]["steps"]), "best_step": best["step"] if best else c["step"],
            "val_l2_untrained": first, "val_l2_best": best["val_loss"] if best else float("nan"),
            "val_ratio": best["val_loss"] / first if best and first > 0 else float("nan"), "val_ratio_se": float("nan"),
            "converged": False, "convergence": {}, "precision": "fp32",
            "note": "not judged: trained before the convergence rule (no per-patch validation losses)"}


def training_table(checkpoints: dict[str, dict]) -> pd.DataFrame:
    """One row per training run: what it did and whether it converged (chapter 05's ``training_runs.csv``).

    Parameters
    ----------
    checkpoints : dict
        Label -> checkpoint (:func:`train_runs`, or any :func:`t2tcore.sr.train.train_model` checkpoints).

    Returns
    -------
    DataFrame
        :data:`TRAINING_COLUMNS`: ``model, method, seed``; ``steps`` trained and the step ``cap``;
        ``best_step`` (the weights kept: lowest validation L2); ``seconds`` of training (of the
        run that made a cached model); ``val_l2_untrained`` (the untrained model's validation L2,
        i.e. linear interpolation's, network units squared), ``val_l2_best``, ``val_ratio`` (best /
        untrained; below 1 is better than linear interpolation) and ``val_ratio_se`` (its standard
        error over the fixed validation patches); ``converged`` and ``note`` (why, or why not;
        "WORSE than untrained" when the ratio is 1 or more); the last quarter's ``improvement`` and
        its ``noise`` (:func:`t2tcore.sr.convergence.check`); ``lr, batch, patch, precision,
        init_from`` (ESRGAN: the ESRResNet it started from, by label where known), ``cached``, ``label``.
    """
    keys = {c.get("cache_key"): k for k, c in checkpoints.items() if c.get("cache_key")}
    rows = []
    for label, c in checkpoints.items():
        t = c.get("training") or _legacy_training(c)
        cfg, conv = c["config"], t.get("convergence") or {}
        init = cfg.get("init_from")
        rows.append({
            "model": c["model"]["name"], "method": c["simulation"]["method"], "seed": int(cfg.get("seed", 0)),
            "steps": int(t["steps"]), "best_step": int(t["best_step"]), "seconds": float(c.get("seconds", np.nan)),
            "val_l2_untrained": float(t["val_l2_untrained"]), "val_l2_best": float(t["val_l2_best"]),
            "val_ratio": float(t["val_ratio"]), "converged": bool(t["converged"]), "note": t["note"],
            "cap": int(t.get("cap", cfg["steps"])), "val_ratio_se": float(t.get("val_ratio_se", np.nan)),
            "improvement": float(conv.get("improvement", np.nan)), "noise": float(conv.get("noise", np.nan)),
            "lr": float(cfg["lr"]), "batch": int(cfg["batch"]), "patch": "×".join(map(str, cfg["patch"])),
            "precision": t.get("precision", ""), "init_from": keys.get(init, init) if init else "",
            "cached": bool(c.get("cached", False)), "label": label,
        })
    return pd.DataFrame(rows, columns=TRAINING_COLUMNS)


def training_notes(table: pd.DataFrame) -> str:
    """Markdown: one sentence per run of :func:`training_table`, converged or not and why, worst first.

    Runs that ended worse than untrained on validation are named first and in bold.
    """
    if not len(table):
        return "No training runs."
    t = table.assign(worse_=table.val_ratio >= 1, order_=np.arange(len(table)))
    t = t.sort_values(["worse_", "converged", "order_"], ascending=[False, True, True])
    lines = []
    for r in t.itertuples():
        what = f"`{r.model}/{r.method}` seed {r.seed}"
        state = "converged" if r.converged else "**did not converge**"
        ratio = (f"validation L2 {r.val_ratio:.3f} × the untrained model's (± {r.val_ratio_se:.3f})"
                 if np.isfinite(r.val_ratio) else "no validation loss")
        line = (f"* {what}: {state} — {r.steps} of at most {r.cap} steps, best at step {r.best_step}, {ratio}; "
                f"{r.note}.")
        lines.append(line.replace("* ", "* **WORSE THAN UNTRAINED** ", 1) if r.worse_ else line)
    n_conv, n = int(table.converged.sum()), len(table)
    head = f"{n_conv} of {n} runs converged by the rule above"
    worse = int((table.val_ratio >= 1).sum())
    head += f"; {worse} ended worse than the untrained model (linear interpolation) on validation." if worse else \
        "; none ended worse than the untrained model (linear interpolation) on validation."
    return head + "\n\n" + "\n".join(lines)


@dataclass
class StudyResult:
    """What :func:`evaluate` returns.

    Attributes
    ----------
    metrics : DataFrame
        One row per case (patient, kernel, dose), label and convention.
    fid : DataFrame
        Per kernel and label: ``fid, n_slices, n_cases`` (empty without FID).
    regions : DataFrame
        Per case: scored slices and in-plane box.
    seconds : float
    """

    metrics: pd.DataFrame
    fid: pd.DataFrame
    regions: pd.DataFrame = field(default_factory=pd.DataFrame)
    seconds: float = 0.0


def figure_case(case: TestCase, checkpoints: dict[str, dict], settings: ChapterSettings, *, device: Any = None) -> dict:
    """Fig. 6's volumes: every slice of one case inside the thick range (not only the scored ones).

    Returns
    -------
    dict
        ``volumes`` (``"thin"``, ``"linear"`` and each checkpoint's label -> (Z, Y, X) HU),
        ``case`` (patient, kernel, dose), ``pixel_mm``, ``slice_mm``.
    """
    thin, thick = case.read()
    region = ev.eval_region(thin, thick, None, settings.eval_margin_px, 0)
    _, extra = ev.evaluate_case(thin, thick, ev.load_models(checkpoints, device or "cpu"), region, conventions=(),
                                keep=True, device=device)
    return {"volumes": extra["volumes"], "case": (case.patient, case.kernel, case.dose),
            "pixel_mm": float(thin.pixel_spacing[0]), "slice_mm": float(np.median(np.diff(thin.positions)))}


def evaluate(
    cases: Sequence[TestCase],
    checkpoints: dict[str, dict],
    settings: ChapterSettings,
    *,
    conventions: Sequence[str] = ("paper", "hu"),
    device: Any = None,
    progress: bool = False,
) -> StudyResult:
    """Score every checkpoint and the baseline on every case (see the module docstring)."""
    from t2tcore.progress import bar

    t0 = time.perf_counter()
    models = ev.load_models(checkpoints, device or "cpu")
    rows, regions, fid_sets = [], [], {}
    for c in bar(cases, desc="scoring SR models", unit="case", enabled=progress):
        thin, thick = c.read()
        region = ev.eval_region(thin, thick, settings.eval_slices, settings.eval_margin_px, settings.eval_halo)
        r, extra = ev.evaluate_case(thin, thick, models, region, conventions=conventions,
                                    ssim_modes=settings.ssim_modes, fid_slices=settings.fid_slices, device=device)
        rows += [{"patient": c.patient, "kernel": c.kernel, "dose": c.dose, **x} for x in r]
        regions.append({"patient": c.patient, "kernel": c.kernel, "dose": c.dose, "slices": region.z.stop - region.z.start,
                        "z_first_mm": float(extra["positions"][0]), "z_last_mm": float(extra["positions"][-1]),
                        "rows": region.y.stop - region.y.start, "columns": region.x.stop - region.x.start})
        if "fid" in extra:
            fid_sets.setdefault(c.kernel, []).append(extra["fid"])
    fid = [{"kernel": k, **r} for k, sets in fid_sets.items() for r in ev.fid_rows(sets, device=device)]
    return StudyResult(pd.DataFrame(rows), pd.DataFrame(fid), pd.DataFrame(regions), time.perf_counter() - t0)


def _counts(v: pd.DataFrame) -> str:
    b, w = int(v.better.sum()), int(v.worse.sum())
    return f"better in {b}, worse in {w}, not distinguishable in {len(v) - b - w} of {len(v)}"


def findings(metrics: pd.DataFrame, conventions: Sequence[str] = ("paper", "hu"), dataset: str = "ldct_gc") -> str:
    """The chapter's findings in Markdown, computed from the per-case metrics (PSNR, paired by patient and dose).

    Each statement is made in every metric convention present: ``paper`` (every volume min-max
    scaled on its own) and ``hu`` (HU in a body mask, fixed 2000 HU range). On a data set other
    than the paper's (``dataset``), the paper's result is named as one on its own data set.
    """
    conventions = [c for c in conventions if c in set(metrics.convention)]
    names = {"paper": "the paper's convention", "hu": "HU"}
    base = {c: ev.baseline_verdict(metrics, c) for c in conventions}
    naive = {c: ev.naive_verdict(metrics, c) for c in conventions}
    lines = []
    if any(len(v) for v in base.values()):
        lines.append("* **SR against no network** (model × kernel cells against the real thick series linearly "
                     "interpolated to the thin grid, paired Wilcoxon p < 0.05): " + "; ".join(
                         f"in {names[c]} {_counts(v)} (mean PSNR change {v.mean_diff_psnr.min():+.2f} to "
                         f"{v.mean_diff_psnr.max():+.2f} dB)" for c, v in base.items() if len(v)) + ".")
        never = [names[c] for c, v in base.items() if len(v) and not v.better.any()]
        if never:
            lines[-1] += f" **In {' and '.join(never)} no SR model beats linear interpolation.**"
    if any(len(v) for v in naive.values()):
        pp = ev.paper_table4()
        pp = pp[pp.metric == "psnr"].pivot_table(index=["kernel", "model"], columns="method", values="mean")
        gap = pp["proposed"] - pp["average"]
        who = "The paper reports" if dataset == PAPER_DATASET else (
            "On its own data (the 2016 LDCT Grand Challenge, 1 mm → 3 mm, not this data set) the paper reports")
        lines.append("* **Proposed vs naive training pairs** (the same model trained on proposed or on naive averaging "
                     "pairs): proposed is " + "; ".join(
                         f"in {names[c]} {_counts(v)} cells (PSNR difference {v.mean_diff_psnr.min():+.2f} to "
                         f"{v.mean_diff_psnr.max():+.2f} dB)" for c, v in naive.items() if len(v))
                     + f". {who} proposed better in all {len(gap)} cells, by {gap.min():.2f} to {gap.max():.2f} dB.")
    if {"paper", "hu"} <= set(conventions) and {"test_max", "ref_max"} <= set(metrics.columns):
        ex = ev.extremes(metrics[metrics.convention == "paper"])
        ex = ex.merge(metrics[["label", "method"]].drop_duplicates(), on="label")
        over = ex.groupby("method")["max_over"].mean()
        if {"proposed", "average"} <= set(over.index):
            lines.append(
                f"* **Why the conventions can disagree.** The paper's convention scales each volume by its own "
                f"minimum and maximum, so a handful of voxels decides the scale of all the others: the brightest voxel "
                f"of the models trained on proposed pairs lies on average {over['proposed']:+.0f} HU from the real thin "
                f"series' brightest, that of the models trained on naive pairs {over['average']:+.0f} HU "
                f"(linear interpolation: {over.get('linear', float('nan')):+.0f} HU).")
    for c in conventions:
        d = metrics[metrics.convention == c]
        for model in dict.fromkeys(d[d.method == "placed_average"].model):
            m = d[d.model == model].groupby("method")["psnr"].mean()
            if {"average", "placed_average", "proposed"} <= set(m.index):
                lines.append(
                    f"* **Ablation ({model}, {names[c]}).** Placing the naive averaging at the real positions changes "
                    f"mean PSNR by {m['placed_average'] - m['average']:+.2f} dB (position correction); replacing the "
                    f"box by the triangle by {m['proposed'] - m['placed_average']:+.2f} dB (weighting)"
                    + (f"; the calibrated profile by {m['calibrated'] - m['proposed']:+.2f} dB against the triangle."
                       if "calibrated" in m.index else "."))
    return "\n".join(lines) if lines else "No results."


def dataset_notes(dataset: str = "ldct_gc") -> str:
    """Markdown: how the chapter runs on a data set other than the paper's, and why no published numbers are beside ours.

    Empty for ``ldct_gc`` (the paper's setting, described in the chapter's text). The numbers
    (thicknesses, interval, group size ``k``) come from :mod:`t2tcore.evaluation.datasets`,
    :func:`t2tcore.sr.datasets.nominal_thickness` and :func:`t2tcore.sr.pairs.group_size`.
    """
    if dataset == PAPER_DATASET:
        return ""
    from t2tcore.evaluation.datasets import dataset_spec
    from t2tcore.sr.pairs import group_size

    spec = dataset_spec(dataset)
    thin_mm, thick_mm = nominal_thickness(dataset)
    t, d = spec.thickness, spec.interval
    k = group_size(t, thin_mm)
    return f"""**This run is on {spec.title}, not on the paper's data.** Training pairs are simulated from
the {thin_mm:g} mm volumes of its *train* split at the real thick series' thickness and spacing,
{t:g} mm every {d:g} mm (not the paper's 3 mm every 2 mm); validation holds out whole training cases
(the val split is not used); the test feeds the real {thick_mm:g} mm volumes of the *test* split to the
models and scores the outputs against the real {thin_mm:g} mm volumes of the same cases. NIfTI stores
no slice thickness: both are read with the folders' nominal {thin_mm:g} mm and {thick_mm:g} mm. So
`average` averages groups of k = {k} thin slices (thick slice i placed at thin index {k}i + {(k - 1) / 2:g});
where the thin slices are {thin_mm:g} mm apart this grid is {k * thin_mm:g} mm, the real series' spacing,
and also the authors' loader pairing (thick slice z covers thin slices {k}z … {k}z+{k - 1}), so naive
averaging is not misplaced here as it is on the paper's data, and `proposed` against `average` mostly
tests the weighting. `calibrated` is fitted on the first test case, which then leaves the test.
The descriptions below give the paper's 3 mm / 2 mm numbers; these are this run's.

**Table IV shows our numbers only.** The paper's Table IV cells are for the 2016 LDCT Grand Challenge
(3 mm → 1 mm, kernels B30 and D45), another data set, so they are not set beside ours. The RPLHR-CT
paper (Yu et al., MICCAI 2022) publishes PSNR and SSIM of its TVSRN and of CNN baselines on its
test split; those numbers could not be retrieved offline for this build and are therefore **not
quoted** here. They would not be directly comparable anyway: the authors' code crops the volumes
(five {thin_mm:g} mm slices at each end) and computes PSNR and SSIM on intensities scaled to [0, 1]
(peak 1; SSIM slice by slice with 11 × 11 Gaussian windows), while ours are computed on the scored
region named below, in the `paper` convention (each volume min-max scaled to [−1, 1]) or in HU."""
