"""What chapter 07 (Table V, :mod:`t2tcore.studies.clinical`) says in words and small tables, made from the numbers.

* :func:`resolve_cohort` -- the chapter's ``data_root``: a given cohort folder, or the virtual
  fibrosis cohort of the profile (made when missing or out of date).
* :func:`cohort_summary` -- the cohort beside the paper's (patients, deaths, follow-up, slice
  thickness).
* :func:`significant_features` -- which features of each input have Wald p < 0.05.
* :func:`findings` -- the chapter's opening paragraph of results.
* :func:`power_statement` -- what this many patients can and cannot show.
* :func:`true_survival_model` -- the virtual cohort's true survival model, from its manifest.
* :func:`design_statement` -- which inputs the cohort can tell apart, and the cohort size and
  effect size the truth needs for 80 % power, in words.

Nothing here is written by hand. This was ``t2tcore.clinical.report``, whose names still resolve, with a
DeprecationWarning, for one release.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from t2tcore import paper as _paper
from t2tcore.effort import EFFORTS

__all__ = ["PAPER_COHORT", "ALPHA", "BOOTSTRAP", "resolve_cohort", "data_description", "cohort_summary",
           "true_model_table", "sr_runs", "significant_features", "findings", "power_statement", "true_survival_model",
           "design_statement", "radiomics_settings", "left_out"]

#: The paper's clinical cohort (Section VI-D).
PAPER_COHORT = {"patients": _paper.CLINICAL_COHORT["patients"],
                "thickness_mm": "{:.2f} (SD {:.2f})".format(*_paper.CLINICAL_COHORT["thickness_mm"]),
                "age": "{:.2f} (SD {:.2f})".format(*_paper.CLINICAL_COHORT["age"]),
                "source": _paper.CLINICAL_COHORT["source"], "deaths": None, "follow_up": None}
ALPHA = 0.05
#: Bootstrap resamples of the concordance per book profile (:attr:`t2tcore.effort.ClinicalEffort.bootstrap`).
BOOTSTRAP = {name: e.clinical.bootstrap for name, e in EFFORTS.items()}


def resolve_cohort(data_root: str | os.PathLike | None, profile: str, build_dir: str | os.PathLike = "_build/data",
                   progress: bool = True) -> Path:
    """The cohort folder of the chapter.

    ``data_root`` given: that folder (checked later by :func:`t2tcore.data.fibrosis.load_cohort`).
    None: ``<build_dir>/virtual-fibrosis-<profile>``, made (or kept when up to date) by
    :func:`t2tcore.scanner.cohorts.fibrosis.make_fibrosis_cohort`.
    """
    if data_root is not None:
        return Path(data_root).expanduser()
    from t2tcore.scanner.cohorts import ensure_cohort

    return ensure_cohort("fibrosis", profile, data_dir=build_dir, progress=progress)


def data_description(result, root) -> str:
    """What data made the chapter's numbers, in one phrase (for captions)."""
    from t2tcore.scanner import MANIFEST_NAME

    c = result.cohort
    kind = "real cohort"
    man = Path(root) / MANIFEST_NAME
    if man.is_file():
        import json

        spec = json.loads(man.read_text(encoding="utf-8")).get("spec", {})
        if spec.get("kind") == "fibrosis":
            kind = f"virtual fibrosis cohort '{spec['profile']['name']}' ({spec['profile']['image_size']} px)"
    deaths = int(c.survival["event"].sum())
    return (f"{kind} {Path(root).name}: {len(c.patients)} patients, {deaths} deaths; SR models trained on "
            f"{len(c.sr_train)} other patients' thin series; every input on the thin grid")


def _fibrosis_manifest(root) -> dict | None:
    """The manifest of a virtual fibrosis cohort at ``root``, or None (no manifest, or another kind)."""
    import json

    from t2tcore.scanner import MANIFEST_NAME

    man = Path(root) / MANIFEST_NAME
    if not man.is_file():
        return None
    m = json.loads(man.read_text(encoding="utf-8"))
    return m if m.get("spec", {}).get("kind") == "fibrosis" else None


def true_model_table(root):
    """The true disease and survival model of a virtual cohort (from its manifest), or None."""
    import pandas as pd

    m = _fibrosis_manifest(root)
    if m is None:
        return None
    rows = [("severity", m["true_model"]["severity"])]
    rows += [(f"survival: {k}", v) for k, v in m["true_model"]["survival"].items()]
    rows += [(f"disease: {k}", v) for k, v in m["true_model"]["disease"].items()]
    rows += [("thick series", f"{m['spec']['thick']['thickness']}; interval {m['spec']['thick']['interval']}")]
    return pd.DataFrame([(k, str(v)) for k, v in rows], columns=["", "value"]).set_index("")


def sr_runs(models: dict):
    """The SR training runs: model, simulation, steps (and cap), best step, seconds, cached, validation loss, converged.

    Parameters
    ----------
    models : dict
        :attr:`t2tcore.studies.clinical.StudyResult.models`.

    Returns
    -------
    DataFrame
        Index ``input``; ``val L2 / untrained`` is the best validation L2 over the untrained
        model's (linear interpolation along z; also for an ESRGAN, which starts from its ESRResNet),
        ``converged`` and ``note`` by the rule of :mod:`t2tcore.sr.convergence`
        (:func:`t2tcore.clinical.sr.training_table`).
    """
    import pandas as pd

    from t2tcore.clinical.sr import training_table

    t = training_table(models)
    rows = []
    for label, c in models.items():
        r = t.loc[label]
        rows.append({"input": label, "model": c["model"]["name"], "simulation": c["simulation"]["method"],
                     "thicknesses mm": ", ".join(f"{x:g}" for x in sorted(set(c["simulation"]["thickness"]))),
                     "training series": len(c["simulation"]["thickness"]), "steps": int(r.steps), "cap": int(r.cap),
                     "best step": int(r.best_step), "patch": "x".join(map(str, c["config"]["patch"])),
                     "batch": c["config"]["batch"], "train s": round(float(c.get("seconds", float("nan")))),
                     "from cache": bool(c.get("cached")), "val L2 / untrained": float(r.val_ratio),
                     "converged": bool(r.converged), "note": r.note})
    return pd.DataFrame(rows).set_index("input")


def _thicknesses(paths: dict) -> list[float]:
    """Slice thickness of each series from its header (DICOM or NIfTI sidecar; NaN when unknown)."""
    from t2tcore.io import list_series

    out = []
    for p in paths.values():
        info = list_series(p)
        t = info[0].thickness if info else None
        out.append(float(t) if t else float("nan"))
    return out


def cohort_summary(cohort, thickness_mm: Sequence[float] | None = None):
    """Our cohort beside the paper's.

    Parameters
    ----------
    cohort : ClinicalCohort
    thickness_mm : sequence of float, optional
        Thickness of every patient's thick series (default read from the ``truth.csv`` of a
        virtual cohort, else from the series headers).

    Returns
    -------
    pandas.DataFrame
        Rows: patients, deaths, censored, median follow-up, thick slice thickness, thin
        reference, true airway masks, SR training series; columns ``paper`` and ``ours``.
    """
    import pandas as pd

    s = cohort.survival
    if thickness_mm is None:
        tt = cohort.truth_table
        if tt is not None and "thickness_mm" in tt.columns:
            thickness_mm = tt.loc[cohort.patients, "thickness_mm"].to_numpy(float)
        else:
            thickness_mm = _thicknesses(cohort.thick)
    t = np.asarray(thickness_mm, float)
    values, counts = np.unique(t[np.isfinite(t)], return_counts=True)
    mix = ", ".join(f"{v:g} mm: {c}" for v, c in zip(values, counts))
    rows = [
        ("patients", PAPER_COHORT["patients"], len(cohort.patients)),
        ("deaths", "not reported", int(s["event"].sum())),
        ("censored", "not reported", int((s["event"] == 0).sum())),
        ("median follow-up (time units of survival.csv)", "not reported", f"{float(np.median(s['time'])):.2f}"),
        ("thick slice thickness, mm", PAPER_COHORT["thickness_mm"],
         f"{np.nanmean(t):.2f} (SD {np.nanstd(t, ddof=1):.2f}); {mix}"),
        ("thin reconstruction of the same scan", "no", f"{len(cohort.thin)} patients"),
        ("true airway masks", "no (Section VI-F)", f"{len(cohort.truth)} patients"),
        ("thin series for SR training", "TCIA LDCT (other patients)", f"{len(cohort.sr_train)} (other patients)"),
    ]
    return pd.DataFrame(rows, columns=["", "paper", "ours"]).set_index("")


def significant_features(cox, alpha: float = ALPHA) -> dict[str, list[str]]:
    """Input -> features with a Wald p below ``alpha`` in its multivariate Cox model."""
    return {name: list(g.loc[g.p < alpha, "feature"]) for name, g in cox.groupby("input", sort=False)}


def _list(items: Sequence[str]) -> str:
    return ", ".join(items) if items else "none"


def findings(dice=None, cox=None, concordance=None, power=None, oracle: dict | None = None,
             inputs: Sequence[str] = ("thick", "SR naive", "SR proposed", "thin"), comparison=None) -> str:
    """The opening paragraph of results (Markdown), from the study's tables.

    Parameters
    ----------
    dice : DataFrame, optional
        :func:`t2tcore.studies.clinical.dice_summary` (absent for a cohort without truth).
    cox, concordance, power : DataFrame
        From :func:`t2tcore.studies.clinical.survival_study`.
    oracle : dict, optional
        :func:`t2tcore.studies.clinical.oracle_cox` (virtual cohorts).
    inputs : sequence of str
    comparison : DataFrame, optional
        :func:`t2tcore.studies.clinical.input_comparison`: the verdict on the paper's claim
        (SR proposed against SR naive) comes from its interval.
    """
    parts = []
    if dice is not None:
        d = dice.set_index("input")
        txt = "; ".join(f"{k} {d.loc[k, 'dice_mean']:.2f}" for k in inputs if k in d.index)
        ref = "SR proposed"
        tests = "; ".join(f"vs {k}: p = {d.loc[k, 'p_dice']:.3g}" for k in inputs if k in d.index and k != ref
                          and np.isfinite(d.loc[k, "p_dice"]))
        parts.append(f"- **Segmentation against the true airways** (mean Dice): {txt}. Paired Wilcoxon signed-rank "
                     f"tests of Dice, {ref} {tests}.")
    if cox is not None:
        sig = significant_features(cox)
        txt = "; ".join(f"{k}: {_list(sig.get(k, []))}" for k in list(inputs) + ["truth"] if k in sig)
        paper = "the paper: SR proposed only (Maximum2DDiameterColumn, Maximum2DDiameterSlice, 10Percentile; " \
                "SR naive: Maximum2DDiameterSlice, 10Percentile with HR < 1)"
        parts.append(f"- **Table V** (features with Wald p < {ALPHA} in each input's multivariate Cox model): {txt} "
                     f"({paper}). The models' likelihood-ratio tests: " +
                     "; ".join(f"{k} p = {g['model_p'].iloc[0]:.3g}" for k, g in cox.groupby("input", sort=False)) + ".")
    if concordance is not None:
        c = concordance.set_index("input")
        parts.append("- **Concordance** (apparent, optimism-corrected by bootstrap): " + "; ".join(
            f"{k} {c.loc[k, 'apparent']:.2f}, {c.loc[k, 'corrected']:.2f}" for k in c.index) + f" (the paper: {_paper.CONCORDANCE}).")
    if power is not None and len(power):
        p = power.loc[power["n"].idxmax()]
        text = (f"- **What {int(p['n'])} patients can show**: with {int(p['events'])} deaths, one standardised "
                f"covariate needs a hazard ratio of at least {p['hr_80_single']:.2f} per SD for 80% power (Schoenfeld).")
        if oracle is not None:
            o = oracle["summary"].loc["severity"]
            text += (f" A Cox model of the latent severity itself, which no image feature can beat, estimates a hazard "
                     f"ratio of {o['exp_coef']:.2f} per SD (95% CI {o['exp_coef_lower95']:.2f}-{o['exp_coef_upper95']:.2f}, "
                     f"Wald p = {o['p']:.2g}).")
        parts.append(text)
    if comparison is not None and len(comparison):
        main = comparison[(comparison.a == "SR proposed") & (comparison.b == "SR naive")]
        if len(main):
            m = main.iloc[0]
            verdict = ("the interval excludes 0" if m["separated"] else
                       "the interval includes 0: **inconclusive**, these patients cannot tell the two SR inputs apart")
            parts.append(f"- **The paper's claim, by concordance** (SR proposed − SR naive, Harrell's C, 95 % paired "
                         f"bootstrap interval): {m['diff']:+.2f} [{m['ci_low']:+.2f}, {m['ci_high']:+.2f}]; {verdict}.")
    return "\n".join(parts)


def power_statement(power, concordance, true_hr: float | None = None) -> str:
    """What the cohort can and cannot show (Markdown), from :func:`survival_study`'s tables."""
    lines = []
    for _, r in power.iterrows():
        c = concordance.set_index("input").loc[r["input"]]
        vif = r["max_vif"]
        coll = (f"{r['worst_feature']} is nearly a linear function of the other features (VIF {vif:.0f}): "
                f"its own coefficient would need a hazard ratio of {r['hr_80_in_model']:.3g} per SD to be detected "
                "with 80% power" if vif > 5 else f"the features are not strongly collinear (largest VIF {vif:.1f})")
        lines.append(f"- **{r['input']}**: {int(r['n'])} patients, {int(r['events'])} deaths; a single standardised "
                     f"feature is detected with 80% power only if its hazard ratio is at least {r['hr_80_single']:.2f} "
                     f"per SD (Schoenfeld); {coll}. Concordance {c['apparent']:.2f} (95% bootstrap interval of the fitted "
                     f"score {c['ci_low']:.2f}-{c['ci_high']:.2f}; optimism-corrected {c['corrected']:.2f}).")
    if true_hr is not None:
        lines.append(f"- The true hazard ratio is {true_hr:.2f} per SD of the latent severity: an image feature that "
                     "measures the severity with error has a smaller one, so most single-feature effects here are "
                     "below what these patients can detect reliably, and a p < 0.05 for one of five collinear "
                     "features in one input is weak evidence on its own.")
    return "\n".join(lines)


def true_survival_model(root):
    """The :class:`t2tcore.scanner.cohorts.fibrosis.SurvivalModel` of a virtual fibrosis cohort (from its manifest), or None."""
    from t2tcore.scanner.cohorts.fibrosis import SurvivalModel

    m = _fibrosis_manifest(root)
    if m is None:
        return None
    sv = m["true_model"]["survival"]
    return SurvivalModel(beta=float(sv["beta"]), shape=float(sv["weibull_shape_k"]),
                         median_years=float(sv["median_survival_years_at_s0"]),
                         follow_up=tuple(float(x) for x in sv["follow_up_years"]),
                         dropout_per_year=float(sv["dropout_per_year"]))


def _n80(curve) -> str:
    """The smallest size of a power curve with power >= 0.8, in words."""
    ok = curve[curve["power"] >= 0.8]
    return f"{int(ok['n'].iloc[0])} patients" if len(ok) else f"more than {int(curve['n'].max())} patients"


def design_statement(comparison, design: dict, agreement=None) -> str:
    """Markdown: what this cohort can measure about the inputs, and what the paper's 36-patient design can separate.

    Parameters
    ----------
    comparison : DataFrame
        :func:`t2tcore.studies.clinical.input_comparison`.
    design : dict
        :func:`t2tcore.studies.clinical.design_power`.
    agreement : DataFrame, optional
        :func:`t2tcore.clinical.radiomics.agreement` (ICC and relative error per input and feature).
    """
    lines = []
    if agreement is not None and len(agreement):
        a = agreement.groupby("input", sort=False).agg(icc=("icc", "median"), err=("median_rel_error", "median"))
        lines.append("- **Agreement with the true airway's features** (median over the five features of ICC(2,1) and "
                     "of the median relative error): " + "; ".join(
                         f"{k} ICC {r.icc:.2f}, error {100 * r.err:.0f} %" for k, r in a.iterrows()) + ".")
    if comparison is not None and len(comparison):
        txt = []
        for r in comparison.itertuples(index=False):
            ci = f"[{r.ci_low:+.2f}, {r.ci_high:+.2f}]" if np.isfinite(r.ci_low) else "[no interval]"
            txt.append(f"{r.a} − {r.b} {r.diff:+.2f} {ci}" + ("" if r.separated else " (cannot be told apart)"))
        lines.append("- **Concordance differences** (Harrell's C of each input's Cox model minus another's on the same "
                     f"{int(comparison['n'].max())} patients, 95 % paired bootstrap interval): " + "; ".join(txt) + ".")
        main = comparison[(comparison.a == "SR proposed") & (comparison.b == "SR naive")]
        if len(main):
            m = main.iloc[0]
            lines.append("- **The paper's claim** (only SR trained on proposed pairs gives features that predict "
                         f"survival): on this cohort the two SR inputs' concordances differ by {m['diff']:+.2f}, and the "
                         + ("interval excludes 0." if m["separated"] else
                            "interval includes 0: **inconclusive** — these patients cannot separate the two inputs."))
    n, ev = design["n"], design["events"]
    text = (f"- **Power of the design** ({n} patients, {ev} deaths, as the paper's 36): one standardised covariate needs "
            f"a hazard ratio of at least {design['hr_80']:.2f} per SD to be detected with 80 % power.")
    if "true_hr" in design:
        text += (f" The true latent severity has a hazard ratio of {design['true_hr']:.2f} per SD; a Cox model of the "
                 f"severity itself (no image can do better) reaches p < 0.05 in {100 * design['oracle_power']:.0f} % of "
                 f"simulated cohorts of {n} patients, and needs about {design['n_80_true_hr']:.0f} patients for 80 % "
                 f"power (Schoenfeld; simulated: {_n80(design['oracle_curve'])}).")
    if "truth_curve" in design:
        text += (f" The Cox model of the true airway's five features reaches 80 % power (likelihood-ratio test; cohorts "
                 f"of resampled patients with new outcomes from the true model) at {_n80(design['truth_curve'])}.")
    lines.append(text)
    lines.append("- **So:** with 36 patients, a difference between inputs smaller than the intervals above cannot be "
                 "told from sampling noise, and an image feature that measures the severity with error has even less "
                 "power than the severity itself; a p-value below 0.05 for one of five features of one input is not "
                 "evidence that that input is better.")
    return "\n".join(lines)


def radiomics_settings():
    """The pyradiomics settings and the low-variance threshold as a one-column table (``value``, as text)."""
    import pandas as pd

    from t2tcore.clinical import radiomics as R

    return pd.DataFrame({"value": [str(v) for v in R.SETTINGS.values()] + [str(R.LOW_VARIANCE)]},
                        index=list(R.SETTINGS) + ["low-variance threshold (min-max scaled)"])


def left_out(survival_study: dict) -> str:
    """Two lines: the features dropped as low-variance and the patients left out for a failed segmentation, per
    input (``dropped`` and ``excluded`` of :func:`t2tcore.studies.clinical.survival_study`)."""
    def per_input(d: dict) -> str:
        return "; ".join(f"{k}: {', '.join(v) or 'none'}" for k, v in d.items())

    return (f"dropped as low-variance: {per_input(survival_study['dropped'])}\n"
            f"patients left out for a failed segmentation: {per_input(survival_study['excluded'])}")
