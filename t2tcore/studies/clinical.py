"""Chapter 07, Table V's study: the clinical relevance of SR on one cohort folder (virtual or real).

:func:`run_study` does the per-patient work: it reads the cohort (:func:`load_cohort`), trains
(or loads) the two ESRGANs (:mod:`t2tcore.clinical.sr`), tunes the airway segmentation on the
thin images of the SR training patients where their true masks exist (else keeps the
defaults), and for every patient

1. makes the four inputs on one thin grid (the thin series' positions, or every thin spacing
   across the thick series when there is no thin series): ``thick`` (the thick series
   interpolated linearly along z, the input every SR model gets too), ``SR naive``,
   ``SR proposed`` and ``thin`` (where it exists);
2. segments each with the same method and parameters (:mod:`t2tcore.clinical.airway`);
3. scores each against the true mask where there is one (Dice, branch detection);
4. extracts the five features from each input's own mask, and the reference features
   (``truth``: the true mask on the thin image).

The statistics on the tables it returns are the functions below it: :func:`dice_summary`
(mean, SD and paired Wilcoxon tests of Dice per input), :func:`survival_study` (the
low-variance filter, a multivariate Cox model per input, bootstrap concordance, power),
:func:`km_study` (Kaplan-Meier by tertiles and log-rank) and :func:`table5_beside_paper`.

What a virtual cohort can measure, and the paper could not: :func:`input_comparison` (each
input's concordance minus the truth model's, and SR proposed minus SR naive, with paired
bootstrap intervals: can these patients tell the inputs apart?) and :func:`design_power` (the
effect size and the cohort size at which the truth -- the latent severity, and the Cox model of
the true airway's features -- has 80 % power).

Nothing is dropped silently: a patient whose segmentation finds no trachea gets NaN
features, and the Cox models say which patients they leave out. The chapter's words and small
tables are in :mod:`t2tcore.studies.clinical_report`.

This was ``t2tcore.clinical.analysis``, whose names still resolve, with a DeprecationWarning, for one
release.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from t2tcore.errors import CohortError

__all__ = [
    "INPUTS",
    "REFERENCE",
    "StudyResult",
    "run_study",
    "dice_summary",
    "survival_study",
    "km_study",
    "km_feature",
    "oracle_cox",
    "table5_beside_paper",
    "input_comparison",
    "design_power",
]

#: The inputs compared, in Table V's order (``thin`` last: the reference the paper lacked).
INPUTS = ("thick", "SR naive", "SR proposed", "thin")
#: Features on the true mask of the thin image (virtual cohorts).
REFERENCE = "truth"


@dataclass
class StudyResult:
    """What :func:`run_study` returns.

    Attributes
    ----------
    cohort : ClinicalCohort
    params : SegmentationParams
        The segmentation parameters used for every input.
    tuning : DataFrame or None
        The tuning grid on the SR training patients' thin images (None: defaults kept).
    segmentation : DataFrame
        One row per patient and input: ``patient_id``, ``input``, ``seed_found``,
        ``threshold_hu``, ``leaked``, ``volume_ml``; with a thin series ``rmse_hu_vs_thin`` (RMSE
        of the image against the thin reconstruction inside the body, HU: how far each input
        is from what SR aims at); with a true mask ``dice``, ``branches_detected``,
        ``length_detected``, ``n_branches``.
    features : dict of str -> DataFrame
        Per input (and ``truth``): patients x :data:`t2tcore.clinical.radiomics.FEATURES`.
    models : dict
        The SR checkpoints (:func:`t2tcore.clinical.sr.train_models`).
    figure : dict
        Masks of one patient for the airway-tree figure: ``patient``, ``spacing``,
        ``masks`` (label -> (Z, Y, X) bool), ``thickness_mm``.
    seconds : dict
        Wall time of the stages.
    """

    cohort: Any
    params: Any
    tuning: Any
    segmentation: Any
    features: dict
    models: dict
    figure: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)

    @property
    def inputs(self) -> list[str]:
        """The inputs this cohort has (``thin`` only with thin series)."""
        return [i for i in INPUTS if i in self.features]


def _sr_training(cohort, sr_train_root) -> tuple[list[Path], dict]:
    if sr_train_root is not None:
        from t2tcore.data.fibrosis import SR_TRAIN_DIR, thin_series_in

        root = Path(sr_train_root).expanduser()
        paths, truths = thin_series_in(root / SR_TRAIN_DIR if (root / SR_TRAIN_DIR).is_dir() else root)
    else:
        paths, truths = list(cohort.sr_train), dict(cohort.sr_train_truth)
    if not paths:
        raise CohortError(f"{cohort.root}: no thin series to train the SR models on (put them in "
                          "sr_train/<id>/thin or pass sr_train_root)")
    return paths, truths


def run_study(root: str | os.PathLike, profile: str, cache_dir: str | os.PathLike, *,
              sr_train_root: str | os.PathLike | None = None, figure_patient: str | None = None,
              device: Any = None, progress: bool = True) -> StudyResult:
    """Segment, score and measure every patient of a cohort on every input (see the module docstring).

    Parameters
    ----------
    root : path
        The cohort folder (:mod:`t2tcore.data.fibrosis`).
    profile : {"smoke", "quick", "paper"}
        SR training effort.
    cache_dir : path
        SR model cache.
    sr_train_root : path, optional
        Thin series to train the SR models on, when the cohort has no ``sr_train/``.
    figure_patient : str, optional
        Patient of the airway-tree figure (default: the one with the median true airway
        volume, or the first patient).
    device : str, optional
        Torch device (SR training and inference).
    progress : bool

    Returns
    -------
    StudyResult

    Raises
    ------
    CohortError
        A bad cohort folder (:func:`t2tcore.data.fibrosis.load_cohort`) or no thin series
        for SR training.
    """
    import pandas as pd

    from t2tcore.clinical.airway import (SegmentationParams, branch_detection, centreline_branches, dice,
                                         segment_airways, tune_segmentation)
    from t2tcore.data.fibrosis import load_cohort
    from t2tcore.clinical.radiomics import FEATURES, _extractor, extract_features
    from t2tcore.clinical.sr import lung_box, super_resolve, train_models
    from t2tcore.evaluation import resample_z
    from t2tcore.io import read_series
    from t2tcore.masks import body_mask
    from t2tcore.progress import bar
    from t2tcore.sr import thin_positions

    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    cohort = load_cohort(root)
    paths, truths = _sr_training(cohort, sr_train_root)
    train = [read_series(p) for p in paths]
    seconds["read SR training series"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    params, tuning = SegmentationParams(), None
    tuned = [(s, truths[p]) for s, p in zip(train, paths) if p in truths]
    if tuned:
        vols = [s.volume for s, _ in tuned]
        sps = [(s.spacing, *s.pixel_spacing) for s, _ in tuned]
        masks = [read_series(m).volume > 0.5 for _, m in tuned]
        params, tuning = tune_segmentation(vols, sps, masks, progress=progress)
    seconds["tune segmentation"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    models = train_models(train, profile, cache_dir, device=device, progress=progress)
    seconds["SR models"] = time.perf_counter() - t0
    del train
    spacing_sr = float(models["SR proposed"]["simulation"]["thin_spacing_mm"])

    if figure_patient is None:
        tt = cohort.truth_table
        if tt is not None and "truth_voxels" in tt.columns:
            vox = tt.loc[[p for p in cohort.patients if p in tt.index], "truth_voxels"]
            figure_patient = str((vox - vox.median()).abs().idxmin()) if len(vox) else cohort.patients[0]
        else:
            figure_patient = cohort.patients[0]
    if figure_patient not in cohort.patients:
        raise CohortError(f"figure patient {figure_patient} is not in the cohort")

    ex = _extractor(FEATURES)
    rows, feats, figure = [], {}, {}
    times = {"read": 0.0, "SR inference": 0.0, "segmentation": 0.0, "scoring": 0.0, "radiomics": 0.0}
    for pid in bar(cohort.patients, desc="patients", unit="patient", enabled=progress):
        t = time.perf_counter()
        thick = read_series(cohort.thick[pid])
        thin = read_series(cohort.thin[pid]) if pid in cohort.thin else None
        truth = read_series(cohort.truth[pid]).volume > 0.5 if pid in cohort.truth else None
        targets = thin.positions if thin is not None else thin_positions(thick.positions, spacing_sr)
        step = float(np.median(np.diff(targets)))
        sp = (step, *(thin.pixel_spacing if thin is not None else thick.pixel_spacing))
        inputs = {"thick": resample_z(thick.volume, thick.positions, targets, outside="clamp")}
        times["read"] += time.perf_counter() - t
        t = time.perf_counter()
        box = lung_box(inputs["thick"])
        for label in ("SR naive", "SR proposed"):
            inputs[label] = super_resolve(models[label], thick, targets, box, base=inputs["thick"], device=device)
        times["SR inference"] += time.perf_counter() - t
        if thin is not None:
            inputs["thin"] = thin.volume
        branches = centreline_branches(truth) if truth is not None else None
        body = body_mask(thin.volume) if thin is not None else None
        masks = {}
        for label, vol in inputs.items():
            t = time.perf_counter()
            seg = segment_airways(vol, sp, params)
            times["segmentation"] += time.perf_counter() - t
            t = time.perf_counter()
            row = {"patient_id": pid, "input": label, "seed_found": seg.seed is not None, "threshold_hu": seg.threshold_hu,
                   "leaked": seg.leaked, "volume_ml": float(seg.mask.sum()) * sp[0] * sp[1] * sp[2] / 1000.0}
            if body is not None:  # how far the image is from the thin reconstruction of the same scan
                row["rmse_hu_vs_thin"] = float(np.sqrt(np.mean((vol[body] - thin.volume[body]) ** 2)))
            if truth is not None:
                row.update(dice=dice(seg.mask, truth), **branch_detection(truth, seg.mask, branches=branches))
            rows.append(row)
            times["scoring"] += time.perf_counter() - t
            t = time.perf_counter()
            feats.setdefault(label, {})[pid] = extract_features(vol, seg.mask, sp, FEATURES, ex)
            times["radiomics"] += time.perf_counter() - t
            masks[label] = seg.mask
        if truth is not None:
            t = time.perf_counter()
            feats.setdefault(REFERENCE, {})[pid] = extract_features(thin.volume, truth, sp, FEATURES, ex)
            times["radiomics"] += time.perf_counter() - t
            masks["truth"] = truth
        if pid == figure_patient:
            figure = {"patient": pid, "spacing": sp, "masks": masks, "thickness_mm": thick.thickness}
    seconds.update({f"per patient: {k}": v for k, v in times.items()})
    features = {}
    for label, d in feats.items():
        df = pd.DataFrame.from_dict(d, orient="index", columns=list(FEATURES))
        df.index.name = "patient_id"
        features[label] = df
    return StudyResult(cohort, params, tuning, pd.DataFrame(rows), features, models, figure, seconds)


def dice_summary(segmentation, reference: str = "SR proposed"):
    """Dice, branch and length detection per input: mean, SD, and paired Wilcoxon tests against ``reference``.

    Returns
    -------
    pandas.DataFrame
        One row per input: ``n``, ``rmse_hu_vs_thin`` (mean), ``dice_mean``, ``dice_sd``,
        ``branches_mean``, ``length_mean``, ``p_dice`` (two-sided paired Wilcoxon signed-rank test of Dice
        against ``reference``, per patient; NaN for the reference itself), ``wilcoxon_note``.
    """
    import pandas as pd

    from t2tcore.evaluation import paired_wilcoxon

    if "dice" not in segmentation.columns:
        raise ValueError("no Dice: this cohort has no true masks")
    wide = segmentation.pivot(index="patient_id", columns="input", values="dice")
    rows = []
    for name in [i for i in INPUTS if i in wide.columns]:
        sub = segmentation[segmentation.input == name]
        row = {"input": name, "n": len(sub), "rmse_hu_vs_thin": float(sub.get("rmse_hu_vs_thin", np.nan * sub.dice).mean()),
               "dice_mean": float(sub.dice.mean()), "dice_sd": float(sub.dice.std()),
               "branches_mean": float(sub.branches_detected.mean()), "length_mean": float(sub.length_detected.mean()),
               "p_dice": float("nan"), "wilcoxon_note": ""}
        if name != reference and reference in wide.columns:
            w = paired_wilcoxon(wide[name], wide[reference])
            row["p_dice"], row["wilcoxon_note"] = w.pvalue, w.note
        rows.append(row)
    return pd.DataFrame(rows)


def survival_study(features: dict, survival, inputs: Sequence[str], *, n_boot: int = 200, seed: int = 0,
                   threshold: float | None = None) -> dict:
    """The low-variance filter, a multivariate Cox model per input, bootstrap concordance and power.

    Parameters
    ----------
    features : dict of str -> DataFrame
        Per input, patients x features (:attr:`StudyResult.features`).
    survival : DataFrame
        Indexed by patient: ``time``, ``event``.
    inputs : sequence of str
        Inputs to model (e.g. :data:`INPUTS` and ``truth``).
    n_boot : int
        Bootstrap resamples of the concordance.
    seed : int
    threshold : float, optional
        Low-variance threshold (default :data:`t2tcore.clinical.radiomics.LOW_VARIANCE`).

    Returns
    -------
    dict
        ``cox`` (DataFrame, :func:`t2tcore.clinical.survival.cox_table` rows), ``fits``,
        ``dropped`` (input -> low-variance features dropped), ``excluded`` (input -> patients
        left out for missing features), ``concordance`` (DataFrame per input: apparent,
        bootstrap interval, optimism-corrected), ``power`` (DataFrame per input: events, the
        largest VIF, the hazard ratio per SD detectable with 80% power for a single
        covariate and for the most collinear one).
    """
    import pandas as pd

    from t2tcore.clinical.radiomics import LOW_VARIANCE, low_variance
    from t2tcore.clinical.survival import (bootstrap_concordance, cox_table, detectable_hazard_ratio,
                                           variance_inflation)

    thr = LOW_VARIANCE if threshold is None else threshold
    dropped, excluded, groups = {}, {}, {}
    for name in inputs:
        tab = features[name]
        bad = tab.index[tab.isna().any(axis=1)]
        excluded[name] = list(bad)
        tab = tab.drop(index=bad)
        dropped[name] = low_variance(tab, thr)
        groups[name] = tab.drop(columns=dropped[name])
    cols = {n: list(g.columns) for n, g in groups.items()}
    table_parts, fits = [], {}
    for name, g in groups.items():
        try:
            t, f = cox_table({name: g}, survival, cols[name])
        except ValueError as exc:  # too few patients for this many features, or collinear ones
            t = pd.DataFrame([{"input": name, "feature": c, "n": len(g), "events": int(survival.loc[g.index, "event"].sum()),
                               "note": str(exc)} for c in cols[name]])
            f = {name: None}
        table_parts.append(t)
        fits.update(f)
    conc, power = [], []
    for name, g in groups.items():
        s = survival.loc[g.index]
        if fits[name] is not None:
            b = bootstrap_concordance(g, s["time"], s["event"], cols[name], n_boot=n_boot, seed=seed)
        else:
            b = {k: float("nan") for k in ("apparent", "ci_low", "ci_high", "optimism", "corrected")} | {"n_boot": 0}
        conc.append({"input": name, **b})
        events = int(s["event"].sum())
        vif = variance_inflation(g)
        worst = max(vif.values())
        power.append({"input": name, "n": len(g), "events": events, "max_vif": worst,
                      "worst_feature": max(vif, key=vif.get),
                      "hr_80_single": detectable_hazard_ratio(events),
                      "hr_80_in_model": detectable_hazard_ratio(events, vif=worst) if math.isfinite(worst) else math.inf})
    cox = pd.concat(table_parts, ignore_index=True)
    for c in ("exp_coef", "exp_coef_lower95", "exp_coef_upper95", "z", "p", "concordance", "model_p"):
        if c not in cox.columns:
            cox[c] = float("nan")
    cox["note"] = cox["note"].fillna("")
    return {"cox": cox, "fits": fits, "dropped": dropped, "excluded": excluded,
            "concordance": pd.DataFrame(conc), "power": pd.DataFrame(power)}


def km_feature(fits: dict, prefer: Sequence[str] = ("thin", "SR proposed")) -> tuple[str, str]:
    """The feature for the Kaplan-Meier curves: the largest |Wald z| in the first model of ``prefer`` that
    was fitted (this looks at the outcome), else ``MeshVolume`` (fixed in advance). Returns (feature, why)."""
    from t2tcore.clinical.survival import strongest_feature

    for name in prefer:
        if fits.get(name) is not None:
            return strongest_feature(fits[name]), (f"the feature with the largest |z| in the {name} Cox model: chosen "
                                                   "by looking at the outcome, so these p-values are optimistic")
    return "MeshVolume", "no Cox model could be fitted, so MeshVolume (chosen in advance)"


def oracle_cox(truth_table, survival) -> dict:
    """Cox model of the latent severity itself (virtual cohorts): what these patients can show at best."""
    from t2tcore.clinical.survival import fit_cox

    pids = list(survival.index)
    return fit_cox({"severity": truth_table.loc[pids, "severity"].to_numpy()}, survival["time"], survival["event"],
                   ["severity"], standardise=False)


def km_study(features: dict, survival, inputs: Sequence[str], feature: str) -> dict:
    """Kaplan-Meier curves of the tertiles of one feature, per input, with the log-rank test.

    Returns
    -------
    dict
        Input -> ``{"curves": [(label, times, survival), ...], "logrank": {...}, "n": int}``;
        tertile labels name the feature's range in each group.
    """
    from t2tcore.clinical.survival import kaplan_meier, logrank, tertiles

    out = {}
    for name in inputs:
        x = features[name][feature].dropna()
        s = survival.loc[x.index]
        g = tertiles(x.to_numpy())
        curves = []
        for k, word in enumerate(("low", "middle", "high")):
            sel = g == k
            t, sv = kaplan_meier(s["time"].to_numpy()[sel], s["event"].to_numpy()[sel])
            lo, hi = float(x[sel].min()), float(x[sel].max())
            curves.append((f"{word} ({lo:.3g}-{hi:.3g})", t, sv))
        out[name] = {"curves": curves, "logrank": logrank(s["time"], s["event"], g), "n": int(len(x))}
    return out


def table5_beside_paper(cox, inputs: Sequence[str]):
    """The paper's Table V beside ours: one row per input and feature.

    Returns
    -------
    pandas.DataFrame
        Index (input, feature); columns ``paper exp(coef)``, ``paper upper 95%``,
        ``paper p``, ``ours HR/SD``, ``ours upper 95%``, ``ours p`` (Wald). Inputs the paper
        did not have (thin, truth) show "—" in its columns.
    """
    import pandas as pd

    from t2tcore.clinical.survival import paper_table5
    from t2tcore.paper import TABLE5_FEATURES

    paper = paper_table5().set_index(["input", "feature"])
    rows = []
    for name in inputs:
        sub = cox[cox.input == name].set_index("feature")
        for f in TABLE5_FEATURES:
            p = paper.loc[(name, f)] if (name, f) in paper.index else None
            r = sub.loc[f] if f in sub.index else None
            rows.append({"input": name, "feature": f,
                         "paper exp(coef)": f"{p.exp_coef:.3g}" if p is not None else None,
                         "paper upper 95%": f"{p.exp_coef_upper95:.3g}" if p is not None else None,
                         "paper p": p.p_text if p is not None else None,
                         "ours HR/SD": None if r is None else f"{r.exp_coef:.2f}",
                         "ours upper 95%": None if r is None else f"{r.exp_coef_upper95:.2f}",
                         "ours p": None if r is None else ("< 0.005" if r.p < 0.005 else f"{r.p:.2f}")})
    return pd.DataFrame(rows).set_index(["input", "feature"])


def _common(features: dict, names: Sequence[str], survival):
    """The patients with every feature of every input in ``names`` (and a survival row)."""
    idx = None
    for n in names:
        ok = features[n].dropna().index
        idx = ok if idx is None else idx.intersection(ok)
    return idx.intersection(survival.index)


def input_comparison(features: dict, survival, inputs: Sequence[str], dropped: dict | None = None, *,
                     truth: str = REFERENCE, pairs: Sequence[tuple[str, str]] = (("SR proposed", "SR naive"),),
                     n_boot: int = 200, seed: int = 0):
    """Each input's Cox concordance against the truth model's, and chosen pairs of inputs, with intervals.

    The truth model is the same multivariate Cox model on the features of the true airway mask
    on the thin image (``truth``): the best these five features can do on these patients. Each
    difference is :func:`t2tcore.clinical.survival.concordance_difference` on the patients both
    inputs have (bootstrap over patients, both models refitted on each resample).

    Parameters
    ----------
    features : dict of str -> DataFrame
        :attr:`StudyResult.features`.
    survival : DataFrame
        ``time``, ``event`` by patient.
    inputs : sequence of str
        Inputs compared with ``truth`` (those present).
    dropped : dict, optional
        Input -> low-variance features left out of its model (:func:`survival_study`).
    truth : str
    pairs : sequence of (str, str)
        Further (a, b) comparisons, a - b (default: SR proposed - SR naive, the paper's claim).
    n_boot, seed

    Returns
    -------
    pandas.DataFrame
        ``a, b, c_a, c_b, diff, ci_low, ci_high, n, n_boot, separated`` (the interval excludes 0).
    """
    import pandas as pd

    from t2tcore.clinical.survival import concordance_difference

    dropped = dropped or {}
    todo = [(i, truth) for i in inputs if i in features and i != truth and truth in features]
    todo += [(a, b) for a, b in pairs if a in features and b in features]
    rows = []
    for a, b in todo:
        pids = _common(features, (a, b), survival)
        ca = [c for c in features[a].columns if c not in dropped.get(a, [])]
        cb = [c for c in features[b].columns if c not in dropped.get(b, [])]
        try:
            r = concordance_difference(features[a].loc[pids], features[b].loc[pids], survival.loc[pids, "time"],
                                       survival.loc[pids, "event"], ca, cb, n_boot=n_boot, seed=seed)
        except ValueError as exc:
            r = {"c_a": math.nan, "c_b": math.nan, "diff": math.nan, "ci_low": math.nan, "ci_high": math.nan,
                 "n": len(pids), "n_boot": 0, "note": str(exc)}
        sep = bool(np.isfinite(r["ci_low"]) and (r["ci_low"] > 0 or r["ci_high"] < 0))
        rows.append({"a": a, "b": b, **r, "separated": sep})
    return pd.DataFrame(rows)


def design_power(survival, *, true_model=None, truth_features=None, severity=None, columns: Sequence[str] | None = None,
                 sizes: Sequence[int] = (36, 72, 144, 288), n_sim: int = 100, seed: int = 0) -> dict:
    """What cohort size and effect size the truth needs for 80 % power (the paper's design has 36 patients).

    Parameters
    ----------
    survival : DataFrame
        ``time``, ``event`` of this cohort.
    true_model : SurvivalModel, optional
        The virtual cohort's true model (:func:`t2tcore.studies.clinical_report.true_survival_model`):
        the latent severity's hazard ratio per SD, and new cohorts simulated from it.
    truth_features : DataFrame, optional
        Features of the true airway mask (the ``truth`` input), for the power of its
        multivariate Cox model at other cohort sizes (:func:`t2tcore.clinical.survival.bootstrap_power`:
        patients resampled with their true ``severity``, new outcomes from ``true_model``).
    severity : Series, optional
        The patients' true latent severity (the virtual cohort's truth table).
    columns : sequence of str, optional
        Its features (default all).
    sizes, n_sim, seed

    Returns
    -------
    dict
        ``n``, ``events``, ``event_fraction`` (this cohort), ``hr_80`` (the hazard ratio per SD
        one covariate needs for 80 % power with these events), and with ``true_model``:
        ``true_hr``, ``oracle_power`` (simulated, this cohort's size), ``n_80_true_hr`` (patients
        for 80 % power at the true hazard ratio, Schoenfeld), ``oracle_curve`` (DataFrame ``n,
        power`` simulated at ``sizes``); with ``truth_features`` and ``severity`` too:
        ``truth_curve`` (DataFrame of the truth-feature model's power at ``sizes``).
    """
    from t2tcore.clinical.survival import bootstrap_power, detectable_hazard_ratio, patients_for_power, simulated_power

    import pandas as pd

    n, events = len(survival), int(survival["event"].sum())
    frac = events / n if n else math.nan
    out = {"n": n, "events": events, "event_fraction": frac, "hr_80": detectable_hazard_ratio(events)}
    if true_model is not None:
        hr = math.exp(true_model.beta)
        out["true_hr"] = hr
        out["oracle_power"] = simulated_power(true_model.draw, n, n_sim=n_sim, seed=seed)["power"]
        out["n_80_true_hr"] = patients_for_power(hr, frac) if frac > 0 else math.inf
        out["oracle_curve"] = pd.DataFrame([{"n": k, **simulated_power(true_model.draw, k, n_sim=n_sim, seed=seed + 1)}
                                            for k in sizes])
    if truth_features is not None and true_model is not None and severity is not None:
        tf = truth_features.dropna()
        out["truth_curve"] = bootstrap_power(tf, np.asarray(severity.loc[tf.index], float), true_model.draw, columns,
                                             sizes=sizes, n_sim=n_sim, seed=seed)
    return out
