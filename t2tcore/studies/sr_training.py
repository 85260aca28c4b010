"""Chapter 05, Table IV's study: SR models trained on each simulation's pairs, scored on real thick slices.

The functions the notebook calls in order:

1. The data folder and what it is: :func:`t2tcore.datasets.resolve_data_root` and
   :func:`~t2tcore.datasets.describe_data` (shared with the other chapters).
2. :func:`read_training` — the thin training series.
3. :func:`calibrate` — a slice profile fitted on one paired test patient (who then leaves
   the test set), for the ``calibrated`` training simulation.
4. :func:`train_runs` — every (model, simulation, seed) of the profile, from the cache or trained
   (:func:`t2tcore.sr.cache.cached_model`); ESRGAN starts from the ESRResNet of the same
   simulation and seed when the profile says so; :func:`training_table`
   (:mod:`t2tcore.sr.runs`, re-exported here) and :func:`training_notes` — what each run did and
   whether it converged.
5. :func:`evaluate` — every model and the linear-interpolation baseline on every test case,
   each model predicting once per case: three metric conventions, six tissue regions, the z
   displacement of edges (:func:`t2tcore.sr.evaluate.evaluate_case`), KID/FID per kernel where
   the profile affords it (:func:`fid_note` says why or why not); :func:`slice_profiles` — the
   effective slice thickness of every model on a thin disk (:mod:`t2tcore.sr.slice_profile`);
   :func:`figure_case` — the volumes of Fig. 6 (one case, all its slices).
6. :func:`findings` — the chapter's opening findings in words, computed from the results: effects
   with 95 % intervals over patients and seeds, and one answer per metric
   (:mod:`t2tcore.sr.effects`).

Every step takes the data set (``dataset``: ``"ldct_gc"``, the paper's and the default, or
``"rplhr_ct"``; :mod:`t2tcore.sr.datasets`): its test pairs and training series, the nominal
thickness its files are read with, its kernel/dose group, and the thickness and interval of the
simulated training pairs (:data:`t2tcore.datasets.DATASETS`: 3 mm every 2 mm for
``ldct_gc``, 5 mm every 5 mm for ``rplhr_ct``). :func:`dataset_notes` says in words what changes
on a data set other than the paper's, and why the paper's Table IV cells (:data:`PAPER_DATASET`
only) and no published RPLHR-CT numbers stand beside ours.

This was ``t2tcore.sr.study``, whose names still resolve, with a DeprecationWarning, for one release.
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
from t2tcore.sr.runs import TRAINING_COLUMNS, training_table

__all__ = [
    "PAPER_DATASET",
    "Calibration",
    "StudyResult",
    "TRAINING_COLUMNS",
    "calibrate",
    "dataset_notes",
    "evaluate",
    "fid_note",
    "fig_labels",
    "figure_case",
    "findings",
    "read_training",
    "resolve",
    "settings_line",
    "slice_profiles",
    "table4_tables",
    "train_runs",
    "training_notes",
    "training_table",
    "z_table",
]


#: The data set of the paper's Table IV: only there are its cells set beside ours.
PAPER_DATASET = "ldct_gc"


def resolve(path: str | Path) -> Path:
    """``path`` as given when absolute, else below the book's root folder (the one holding ``_toc.yml``)."""
    from t2tcore.datasets import book_root

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
    ``dataset``'s (:data:`t2tcore.datasets.DATASETS`): its first kernel and dose,
    its thick slices' thickness and interval (``ldct_gc``: B30, full, 3 mm, 2 mm; ``rplhr_ct``:
    its one group, 5 mm, 5 mm).
    """
    from t2tcore.datasets import dataset_spec
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
        One row per case (patient, kernel, dose), label, convention and region
        (:func:`t2tcore.sr.evaluate.evaluate_case`; labels split into ``model, method, seed``).
    fid : DataFrame
        Per kernel and label: ``fid`` (NaN below the slice count FID needs), ``kid, kid_se,
        n_slices, n_cases, note`` (empty when the profile computes neither).
    regions : DataFrame
        Per case: scored slices, in-plane box and voxels per tissue region.
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
                                regions=(), z_edges=False, keep=True, device=device)
    return {"volumes": extra["volumes"], "case": (case.patient, case.kernel, case.dose),
            "pixel_mm": float(thin.pixel_spacing[0]), "slice_mm": float(np.median(np.diff(thin.positions)))}


def evaluate(
    cases: Sequence[TestCase],
    checkpoints: dict[str, dict],
    settings: ChapterSettings,
    *,
    conventions: Sequence[str] = ("paper", "window", "hu"),
    device: Any = None,
    progress: bool = False,
) -> StudyResult:
    """Score every checkpoint and the baseline on every case, each model once per case (see the module docstring)."""
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
                        "rows": region.y.stop - region.y.start, "columns": region.x.stop - region.x.start,
                        **{f"voxels_{k}": v for k, v in extra["voxels"].items()}})
        if "fid" in extra:
            fid_sets.setdefault(c.kernel, []).append(extra["fid"])
    fid = [{"kernel": k, **r} for k, sets in fid_sets.items() for r in ev.fid_rows(sets, device=device)]
    return StudyResult(pd.DataFrame(rows), pd.DataFrame(fid), pd.DataFrame(regions), time.perf_counter() - t0)


def slice_profiles(case: TestCase, checkpoints: dict[str, dict], *, n_offsets: int = 10, device: Any = None,
                   progress: bool = False) -> tuple[pd.DataFrame, dict, dict]:
    """The effective slice profile of every model's output on a thin disk (:mod:`t2tcore.sr.slice_profile`).

    The disk is scanned with the test cohort's helix and reconstructed at the thin and thick
    thicknesses and increments of ``case``'s series (read from their headers), kernel B30.

    Returns
    -------
    (table, profiles, what)
        :func:`t2tcore.sr.slice_profile.measure_profiles` and the measurement's settings in words.
    """
    from t2tcore.sr.slice_profile import measure_profiles, scan_disk

    thin, thick = case.read()

    def grid(s):
        return float(s.thickness or np.median(np.diff(s.positions))), float(np.median(np.diff(s.positions)))

    scans = scan_disk(thin=grid(thin), thick=grid(thick), n_offsets=n_offsets, progress=progress)
    table, profiles = measure_profiles(ev.load_models(checkpoints, device or "cpu"), scans, device=device)
    sp = scans.spec
    what = (f"a {sp['disk_mm']:g} mm disk of {sp['disk_hu']:+g} HU in water, helix {sp['rows']} at pitch {sp['pitch']:g}, "
            f"thin {sp['thin'][0]:g}/{sp['thin'][1]:g} mm and thick {sp['thick'][0]:g}/{sp['thick'][1]:g} mm, "
            f"{sp['kernel']}, {sp['n_offsets']} shifts of the slice grids, pixel {sp['pixel_mm']:.2f} mm")
    return table, profiles, what


def fig_labels(checkpoints: dict, model: str,
               methods: Sequence[str] = ("average", "placed_average", "proposed", "calibrated")) -> list[str]:
    """The checkpoint labels of ``model`` for Fig. 6, one per method in ``methods`` order (its lowest seed)."""
    from t2tcore.sr.effects import split_label

    out = []
    for m in methods:
        hits = sorted((split_label(k)[2], k) for k in checkpoints if split_label(k)[:2] == (model, m))
        if hits:
            out.append(hits[0][1])
    return out


def z_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """One row per case and label: the edge displacement along z (``z_displacement_mm``, ``z_abs_displacement_mm``, ``z_edges``)."""
    cols = ["patient", "kernel", "dose", "label", "model", "method", "seed", "z_displacement_mm",
            "z_abs_displacement_mm", "z_edges"]
    return metrics.drop_duplicates(["patient", "kernel", "dose", "label"])[[c for c in cols if c in metrics.columns]]


def settings_line(settings: ChapterSettings, data: str, dataset: str = "ldct_gc") -> str:
    """One line: the profile's models, training effort, seeds and runs, the data (``data``, in words) and the
    thickness and interval of the simulated training pairs."""
    from t2tcore.datasets import dataset_spec

    S, spec = settings, dataset_spec(dataset)
    return (f"profile {S.profile}: {S.preset} models, at most {S.steps or S.epochs} {'steps' if S.steps else 'epochs'} "
            f"of {S.batch} patches {'×'.join(map(str, S.patch))}, lr {S.lr:g} ({S.warmup} warm-up steps, {S.schedule}); "
            f"ESRGAN: at most {S.gan_steps if S.gan_steps else 'all'} adversarial steps; seeds: "
            f"{', '.join(f'{m} {len(S.seeds_for(m))}' for m in S.models)}; {S.n_runs()} runs; data: {data}; "
            f"training pairs {spec.thickness:g} mm every {spec.interval:g} mm")


def table4_tables(metrics: pd.DataFrame, metric_names: Sequence[str], conventions: Sequence[str],
                  verdicts: pd.DataFrame, settings: ChapterSettings, dataset: str, what: str
                  ) -> tuple[dict[str, pd.DataFrame], list[tuple[pd.DataFrame, pd.DataFrame, str]]]:
    """Table IV per metric convention and kernel, with the paper's cells beside ours on its data set.

    Returns ``(stats, tables)``: :func:`t2tcore.sr.evaluate.table4` per convention (for the CSVs) and, per
    convention and kernel, ``(cells, bold, caption)`` for :func:`t2tcore.evaluation.tables.style_table`.
    ``verdicts`` is the chapter's effects table (:func:`t2tcore.sr.effects.effects`, each convention's
    default region); ``what`` describes the data in the captions.
    """
    paper = dataset == PAPER_DATASET
    side = " beside the paper's (its own convention)" if paper else (
        "; no published numbers beside them (the paper's are for the LDCT Grand Challenge; RPLHR-CT's could not "
        "be retrieved offline and are not quoted; their metric convention differs)")
    stats, tables = {}, []
    for c in conventions:
        stats[c] = ev.table4(metrics, list(metric_names), c, eff=verdicts[verdicts.convention == c])
        for k in sorted(metrics.kernel.unique()):
            cells, bold = ev.table4_cells(stats[c], k, ssim_col=f"ssim_{settings.ssim_modes[0]}", paper=paper)
            tables.append((cells, bold, f"Table IV, kernel {k}, our values in the {c} convention ({what}){side}"))
    return stats, tables


def fid_note(settings: ChapterSettings, n_volumes: int) -> str:
    """Markdown: why this profile computes FID, KID or neither, with the slice counts."""
    from t2tcore.evaluation.metrics import FID_MIN_SLICES

    n = int(settings.fid_slices) * int(n_volumes)
    if not settings.fid_slices:
        return (f"**No FID or KID at profile `{settings.profile}`.** A distribution distance needs many slices per "
                f"set: FID at least {FID_MIN_SLICES} (its bias grows as the set shrinks and would swamp the differences "
                "between models), KID (unbiased at any size, the same InceptionV3 features) a few dozen to have a "
                "standard error below those differences. Every slice costs one InceptionV3 pass (about 0.3-1 s on "
                "this machine's CPU), for the real thin set and every model and seed, per kernel: with a few dozen "
                "slices per set and the models of this profile that is far beyond the chapter's scoring budget, and "
                "fewer slices would rank nothing. Profile `paper` (a GPU) computes both.")
    if n >= FID_MIN_SLICES:
        return (f"FID and KID on {n} slices per set ({settings.fid_slices} evenly spaced scored slices of each of "
                f"{n_volumes} test volumes per kernel), against the real thin slices.")
    return (f"KID only: {n} slices per set ({settings.fid_slices} per test volume × {n_volumes} volumes), fewer than the "
            f"{FID_MIN_SLICES} FID needs; KID is unbiased at this size (± its jackknife standard error).")


_NAMES = {"paper": "the paper's convention", "window": "a fixed −1000…1000 HU window", "hu": "HU in the body"}


def _cis(e: pd.DataFrame, kernel: str, model: str, contrast: str) -> str:
    """"paper +0.31 [+0.10, +0.52], ..." of one effect in every convention."""
    g = e[(e.kernel == kernel) & (e.model == model) & (e.contrast == contrast)]
    return ", ".join(f"{r.convention} {r.mean_diff:+.2f} " + (f"[{r.ci_low:+.2f}, {r.ci_high:+.2f}]" if np.isfinite(r.ci_low)
                                                             else "[no interval]") for r in g.itertuples())


def findings(metrics: pd.DataFrame, conventions: Sequence[str] = ("paper", "window", "hu"), dataset: str = "ldct_gc",
             *, eff: pd.DataFrame | None = None, training: pd.DataFrame | None = None,
             profiles: pd.DataFrame | None = None) -> str:
    """The chapter's findings in Markdown, computed from the per-case metrics (PSNR).

    Every effect is a mean difference over patients (doses averaged) and seeds with its 95 %
    bootstrap interval (:func:`t2tcore.sr.effects.effects`; ``eff``: its table, with every
    region for the line on where the models differ); a verdict holds where the interval
    excludes zero and every run of the two sides converged (``training``), and is stated as a
    result only when it is the same in every metric convention (:func:`t2tcore.sr.effects.convention_rule`).
    ``profiles``: :func:`slice_profiles`' table. On a data set other than the paper's, the
    paper's result is named as one on its own data set.
    """
    from t2tcore.sr.effects import DEFAULT_REGION, convention_rule, effects

    conventions = [c for c in conventions if c in set(metrics.convention)]
    if eff is None:
        eff = effects(metrics, metrics=["psnr", "rmse"], conventions=conventions, training=training, regions=None)
    e = eff[(eff.metric == "psnr") & eff.convention.isin(conventions)]
    e = e[[DEFAULT_REGION.get(c, "all") == r for c, r in zip(e.convention, e.region)]]
    by_region = eff[(eff.metric == "rmse") & (eff.convention == "hu") & (eff.contrast == "proposed - average")]
    if not len(e):
        return "No results."
    rule = convention_rule(e)
    lines = []
    base = e[e.b == "linear"]
    if len(base):
        lines.append("* **SR against no network** (each model and training simulation against the real thick series "
                     "linearly interpolated to the thin grid; PSNR difference, 95 % interval over patients and seeds): "
                     + "; ".join(f"in {_NAMES.get(c, c)} better in {int((g.verdict == 'better').sum())}, worse in "
                                 f"{int((g.verdict == 'worse').sum())}, inconclusive in "
                                 f"{int((g.verdict == 'inconclusive').sum())} of {len(g)} (mean {g.mean_diff.min():+.2f} to "
                                 f"{g.mean_diff.max():+.2f} dB)" for c, g in base.groupby("convention", sort=False)) + ".")
    main = rule[rule.contrast == "proposed - average"]
    if len(main):
        pp = ev.paper_table4()
        pp = pp[pp.metric == "psnr"].pivot_table(index=["kernel", "model"], columns="method", values="mean")
        gap = pp["proposed"] - pp["average"]
        who = "The paper reports" if dataset == PAPER_DATASET else (
            "On its own data (the 2016 LDCT Grand Challenge, 1 mm → 3 mm, not this data set) the paper reports")
        cells = []
        for r in main.itertuples(index=False):
            why = "" if r.answer in ("better", "worse") else f"; {r.reason}"
            cells.append(f"{r.model} ({r.kernel}): **{r.answer}** ({_cis(e, r.kernel, r.model, r.contrast)} dB{why})")
        counts = main.answer.value_counts()
        lines.append("* **Proposed vs naive (`average`) training pairs** (the paper's question; the same model trained "
                     "on each; proposed − average, PSNR dB, 95 % interval): "
                     + ", ".join(f"{n} {a}" for a, n in counts.items()) + f" of {len(main)} model × kernel cells. "
                     + "; ".join(cells) + f". {who} proposed better in all {len(gap)} cells, by {gap.min():.2f} to "
                     f"{gap.max():.2f} dB (p < 0.05, pairs over test volumes, one training run each).")
    for contrast, what in (("placed_average - average", "position correction"), ("proposed - placed_average",
                                                                                 "triangular weighting")):
        rr = rule[rule.contrast == contrast]
        if len(rr):
            lines.append(f"* **Ablation: {what}** ({contrast}): " + "; ".join(
                f"{r.model} ({r.kernel}) {r.answer} ({_cis(e, r.kernel, r.model, contrast)} dB)"
                for r in rr.itertuples(index=False)) + ".")
    if by_region.region.nunique() > 1:
        lines.append("* **Where** (proposed − average, RMSE in HU by region of the real thin image, 95 % interval; "
                     "negative = proposed better): " + "; ".join(
                         f"{reg} " + ", ".join(f"{v} {n}" for v, n in g.verdict.value_counts().items())
                         + f" of {len(g)} ({g.mean_diff.min():+.1f} to {g.mean_diff.max():+.1f} HU)"
                         for reg, g in by_region.groupby("region", sort=False)) + ".")
    bad = sorted({x for x in e.reason.fillna("").astype(str) if x.startswith("not converged")})
    if bad:
        lines.append("* **Not converged** (their verdicts are inconclusive whatever the interval): "
                     + "; ".join(b.replace("not converged: ", "") for b in bad) + ".")
    elif e.converged.isna().all():
        lines.append("* **Convergence was not assessed** for these runs (no training table with a `converged` column): "
                     "the verdicts above rest on the intervals alone.")
    z = metrics.drop_duplicates(["kernel", "patient", "dose", "label"]) if "z_displacement_mm" in metrics else None
    if z is not None and z["z_displacement_mm"].notna().any():
        zm = z.groupby(["model", "method"], sort=False)[["z_displacement_mm", "z_abs_displacement_mm"]].median()
        lines.append("* **Edges along z** (median over cases and seeds of each output's median edge displacement from "
                     "the real thin series, signed, and of its magnitude): " + "; ".join(
                         f"{m if m == meth else m + '/' + meth} {r.z_displacement_mm:+.2f} mm "
                         f"({r.z_abs_displacement_mm:.2f} mm)" for (m, meth), r in zm.iterrows()) + ".")
    if profiles is not None and len(profiles):
        pm = profiles.groupby("method")["fwhm_mm"].agg(["mean", "min", "max"])
        thin = float(profiles.loc[profiles.label == "thin", "fwhm_mm"].iloc[0])
        lines.append(f"* **Effective slice thickness** (FWHM of the output's profile across a thin disk; the real thin "
                     f"series {thin:.2f} mm): " + "; ".join(
                         f"{m} {r['mean']:.2f} mm" + (f" ({r['min']:.2f}–{r['max']:.2f})" if r["max"] > r["min"] else "")
                         for m, r in pm.iterrows() if m not in ("real",)) + ".")
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
                f"(linear interpolation: {over.get('linear', float('nan')):+.0f} HU). The fixed window gives every "
                f"volume the same scale, so no voxel can do that.")
    return "\n".join(lines)


def dataset_notes(dataset: str = "ldct_gc") -> str:
    """Markdown: how the chapter runs on a data set other than the paper's, and why no published numbers are beside ours.

    Empty for ``ldct_gc`` (the paper's setting, described in the chapter's text). The numbers
    (thicknesses, interval, group size ``k``) come from :mod:`t2tcore.datasets`,
    :func:`t2tcore.sr.datasets.nominal_thickness` and :func:`t2tcore.sr.pairs.group_size`.
    """
    if dataset == PAPER_DATASET:
        return ""
    from t2tcore.datasets import dataset_spec
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
