"""Table IV's answer: effects of the training simulation with confidence intervals, and verdicts.

The paper's question is whether a model trained on pairs of one simulation restores real
thick slices better than the same model trained on pairs of another. Chapter 05 answers it
model by model, from the per-case metrics of :func:`t2tcore.sr.evaluate.evaluate_case`
(one row per case = patient, kernel and dose; label = model/method/seed; convention; region):

* The **unit of replication is the patient.** The two doses of a patient share its anatomy
  and the models' errors on it, so they are averaged (or one dose is taken on its own,
  ``dose=``), never counted as independent pairs.
* **Seeds are models.** A model trained with another seed is another draw of the training
  noise; seed ``s`` of one simulation is not paired with seed ``s`` of another.
* An effect (:func:`effects`) is ``mean over patients of (mean over seeds of A) - (mean over
  seeds of B)`` for the contrasts of :data:`CONTRASTS` (and each simulation against the
  ``linear`` baseline), with a 95 % interval from a bootstrap over patients and then seeds
  (:func:`t2tcore.evaluation.stats.hierarchical_bootstrap`), and a paired Wilcoxon test over
  patients (doses and seeds averaged) beside it.
* A **verdict** (:func:`verdict_of`) comes from the interval: ``better`` (A better than B:
  the interval excludes zero in A's favour), ``worse``, or ``inconclusive`` where the interval
  includes zero **or a run of either side did not converge** (``converged`` column of the
  training table, :func:`t2tcore.sr.runs.training_table`); the ``reason`` column says which.
* **One answer per metric** (:func:`convention_rule`): a verdict that is the same in every
  metric convention (``paper``: each volume min-max scaled on its own; ``window``: a fixed
  -1000..1000 HU window for every volume; ``hu``: HU in the body) is stated as a result;
  otherwise the answer is ``depends on the metric``, with the verdict in each convention.

:func:`table4` gives Table IV's cells (mean ± sd over seeds of the per-seed means over cases),
with † where the interval of the difference from ``proposed`` excludes zero.
"""

from __future__ import annotations

import math
import re
from typing import Any, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "BASELINE",
    "CONTRASTS",
    "DEFAULT_REGION",
    "baseline_verdict",
    "convention_rule",
    "effects",
    "naive_verdict",
    "patient_matrix",
    "split_label",
    "table4",
    "verdict_of",
    "with_seeds",
]

#: Label, model and method of the no-network row (real thick series, linear along z).
BASELINE = "linear"

#: (A, B) contrasts between training simulations, read "A - B" (the ablation splits the first).
CONTRASTS = (("proposed", "average"), ("placed_average", "average"), ("proposed", "placed_average"))

#: The region each convention's Table IV is computed on (as the paper: the whole volume; HU: the body).
DEFAULT_REGION = {"paper": "all", "window": "all", "hu": "body"}

_SEED = re.compile(r"^s(\d+)$")


def split_label(label: str) -> tuple[str, str, int]:
    """``"vdsr/proposed/s1"`` -> ``("vdsr", "proposed", 1)``; ``"vdsr/proposed"`` -> seed 0; ``"linear"`` -> linear."""
    parts = str(label).split("/")
    if parts == [BASELINE]:
        return BASELINE, BASELINE, 0
    if len(parts) == 3 and _SEED.match(parts[2]):
        return parts[0], parts[1], int(parts[2][1:])
    if len(parts) == 2:
        return parts[0], parts[1], 0
    raise ValueError(f"label {label!r} is not '<model>/<method>' or '<model>/<method>/s<seed>'")


def with_seeds(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with a ``seed`` column (from the labels, 0 where a label has none) when it has none."""
    if "seed" in df.columns:
        return df
    return df.assign(seed=[split_label(x)[2] for x in df["label"]])


def _higher(metric: str) -> bool:
    from t2tcore.evaluation.stats import higher_is_better

    return higher_is_better(metric)


def patient_matrix(d: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Patients x seeds of one (model, method): ``metric`` averaged over the rest (doses)."""
    return d.groupby(["patient", "seed"])[metric].mean().unstack("seed")


def _convergence(training: pd.DataFrame | None) -> dict[tuple[str, str], list] | None:
    """(model, method) -> [(seed, converged), ...] from the training table; None when unknown."""
    if training is None or "converged" not in training.columns:
        return None
    t = training.copy()
    if "seed" not in t.columns:
        t["seed"] = [split_label(x)[2] for x in t["label"]] if "label" in t.columns else 0
    out: dict = {}
    for r in t.itertuples(index=False):
        out.setdefault((r.model, r.method), []).append((int(r.seed), bool(r.converged)))
    return out


def verdict_of(mean_diff: float, ci_low: float, ci_high: float, higher_is_better: bool,
               converged: bool | None = True, not_converged: Sequence[str] = ()) -> tuple[str, str]:
    """``(verdict, reason)`` of one effect A - B: ``better``, ``worse`` or ``inconclusive`` (see the module docstring)."""
    if converged is False:
        return "inconclusive", "not converged: " + ", ".join(not_converged)
    if not (math.isfinite(ci_low) and math.isfinite(ci_high)):
        return "inconclusive", "no interval (fewer than 2 patients)"
    if ci_low <= 0.0 <= ci_high:
        return "inconclusive", "the 95 % interval includes 0"
    good = (ci_low > 0.0) == higher_is_better
    note = "" if converged else "convergence not assessed"
    return ("better" if good else "worse"), note


def effects(df: pd.DataFrame, *, metrics: Sequence[str] = ("psnr",), conventions: Sequence[str] | None = None,
            regions: Sequence[str] | str | None = "default", training: pd.DataFrame | None = None,
            baseline: bool = True, dose: str | None = None, n_boot: int = 4000, seed: int = 0) -> pd.DataFrame:
    """Effects of the training simulation per model, with 95 % intervals and verdicts.

    Parameters
    ----------
    df : DataFrame
        Per-case metrics (:func:`t2tcore.studies.sr_training.evaluate`): ``patient, kernel, dose, label,
        model, method, convention`` (+ ``seed``, ``region``) and the metric columns.
    metrics : sequence of str
        Metric columns (e.g. ``psnr``, ``rmse``, ``ssim_2d``).
    conventions : sequence of str, optional
        Default: every convention in ``df``.
    regions : "default", None or sequence of str
        ``"default"``: each convention's Table IV region (:data:`DEFAULT_REGION`); None: every
        region in ``df``; or these regions. Ignored when ``df`` has no ``region`` column.
    training : DataFrame, optional
        The training table (``model, method, seed, converged``, or ``label, converged``):
        effects of a model with a run that did not converge are ``inconclusive``. Without it
        the verdicts come from the intervals and the reason says "convergence not assessed".
    baseline : bool
        Also each simulation against the ``linear`` baseline (contrast ``"<method> - linear"``).
    dose : str, optional
        One dose on its own (default: the doses of a patient averaged).
    n_boot, seed
        Bootstrap replicates and seed.

    Returns
    -------
    DataFrame
        One row per kernel, model, contrast, convention, region and metric: ``a, b``,
        ``contrast`` ("a - b"), ``mean_diff`` (a - b in the metric's unit, dB for PSNR),
        ``ci_low, ci_high`` (95 %), ``n_patients, n_seeds_a, n_seeds_b``, ``p_wilcoxon``
        (paired over patients, doses and seeds averaged), ``wins`` (patients where a is
        better), ``converged`` (True / False / None = not assessed), ``verdict``, ``reason``.
    """
    from t2tcore.evaluation.stats import hierarchical_bootstrap, paired_wilcoxon

    d = with_seeds(df)
    if dose is not None:
        d = d[d.dose == dose]
    if "region" not in d.columns:
        d = d.assign(region="all")
        regions = None
    conventions = list(dict.fromkeys(d.convention)) if conventions is None else list(conventions)
    metrics = [m for m in metrics if m in d.columns]
    d = d[d.convention.isin(conventions)]
    if regions == "default":
        d = d[[DEFAULT_REGION.get(c, "all") == r for c, r in zip(d.convention, d.region)]]
    elif regions is not None:
        d = d[d.region.isin(list(regions))]
    # one pass: per (convention, region, kernel, model, method) the patients x seeds matrix of every metric
    keys = ["convention", "region", "kernel", "model", "method"]
    agg = d.groupby(keys + ["patient", "seed"], sort=False)[metrics].mean()
    mats = {}
    for key, g in agg.groupby(level=list(range(len(keys))), sort=False):
        for m in metrics:
            w = g[m].droplevel(list(range(len(keys)))).unstack("seed")
            mats.setdefault(key, {})[m] = ({p: i for i, p in enumerate(w.index)}, w.to_numpy(dtype=np.float64))
    conv = _convergence(training)
    rows = []
    groups = list(dict.fromkeys(k[:4] for k in mats))  # (convention, region, kernel, model)
    for c, reg, kernel, model in groups:
        if model == BASELINE:
            continue
        have = {k[4] for k in mats if k[:4] == (c, reg, kernel, model)}
        pairs = [(a, b) for a, b in CONTRASTS if {a, b} <= have]
        if baseline and (c, reg, kernel, BASELINE, BASELINE) in mats:
            pairs += [(m, BASELINE) for m in sorted(have)]
        for a, b in pairs:
            ka = (c, reg, kernel, model, a)
            kb = (c, reg, kernel, BASELINE, BASELINE) if b == BASELINE else (c, reg, kernel, model, b)
            runs = [] if conv is None else conv.get((model, a), []) + ([] if b == BASELINE else conv.get((model, b), []))
            bad = [f"{model}/{m}/s{s}" for m in (a, b) for s, ok in (conv or {}).get((model, m), []) if not ok]
            converged = None if conv is None or not runs else not bad
            for metric in metrics:
                (ia, ma), (ib, mb) = mats[ka][metric], mats[kb][metric]
                pats = [p for p in ia if p in ib]
                ma = ma[[ia[p] for p in pats]]
                mb = mb[[ib[p] for p in pats]]
                ma, mb = ma[:, np.isfinite(ma).all(axis=0)], mb[:, np.isfinite(mb).all(axis=0)]
                if len(pats) == 0 or ma.shape[1] == 0 or mb.shape[1] == 0:
                    continue
                hib = _higher(metric)
                bs = hierarchical_bootstrap(ma, mb, n_boot=n_boot, seed=seed)
                pa, pb = ma.mean(axis=1), mb.mean(axis=1)
                w = paired_wilcoxon(pa, pb)
                diff = pa - pb
                verdict, reason = verdict_of(bs.mean_diff, bs.ci_low, bs.ci_high, hib, converged, bad)
                if ma.shape[1] == 1 or (b != BASELINE and mb.shape[1] == 1):
                    reason = "; ".join(x for x in (reason, "1 seed: training noise is not in the interval") if x)
                rows.append({"kernel": kernel, "model": model, "a": a, "b": b, "contrast": f"{a} - {b}",
                             "convention": c, "region": reg, "metric": metric, "mean_diff": bs.mean_diff,
                             "ci_low": bs.ci_low, "ci_high": bs.ci_high, "n_patients": bs.n_patients,
                             "n_seeds_a": bs.n_seeds_a, "n_seeds_b": bs.n_seeds_b, "p_wilcoxon": w.pvalue,
                             "wins": int(np.sum(diff > 0 if hib else diff < 0)), "converged": converged,
                             "verdict": verdict, "reason": reason})
    return pd.DataFrame(rows)


def convention_rule(eff: pd.DataFrame) -> pd.DataFrame:
    """One answer per kernel, model, contrast, region and metric across the metric conventions.

    Returns
    -------
    DataFrame
        ``kernel, model, contrast, region, metric``, one ``verdict_<convention>`` column per
        convention, ``answer`` and ``reason``: the common verdict when every convention gives
        the same one (``better``, ``worse``, ``inconclusive``), else ``depends on the metric``;
        the reason names the conventions behind each verdict, and non-convergence.
    """
    keys = ["kernel", "model", "contrast", "metric"]
    rows = []
    # each convention's Table IV region counts as one region for the rule (paper/window: all, hu: body)
    e = eff.assign(region=[("default" if DEFAULT_REGION.get(c) == r else r) for c, r in zip(eff.convention, eff.region)])
    for key, g in e.groupby(keys + ["region"], sort=False):
        by = dict(zip(g.convention, g.verdict))
        row = dict(zip(keys + ["region"], key))
        row.update({f"verdict_{c}": v for c, v in by.items()})
        kinds = set(by.values())
        not_conv = [r for r in g.reason.fillna("").astype(str) if r.startswith("not converged")]
        if len(kinds) == 1:
            answer = kinds.pop()
            whys = list(dict.fromkeys(r for r in g.reason.fillna("").astype(str) if r))
            if not_conv:
                reason = not_conv[0]
            elif answer == "inconclusive":
                reason = ("; ".join(whys) if whys and set(whys) != {"the 95 % interval includes 0"}
                          else "the 95 % interval includes 0 in every convention")
            else:
                reason = "the same in every convention (" + ", ".join(by) + ")"
        else:
            answer = "depends on the metric"
            reason = "; ".join(f"{v} in {', '.join(c for c, x in by.items() if x == v)}" for v in dict.fromkeys(by.values()))
        row.update(answer=answer, reason=reason)
        rows.append(row)
    return pd.DataFrame(rows)


def table4(df: pd.DataFrame, metrics: Sequence[str], convention: str = "paper", region: str | None = None,
           eff: pd.DataFrame | None = None) -> pd.DataFrame:
    """Table IV (ours) in long form: per kernel, model and training simulation, with the baseline row.

    Parameters
    ----------
    df : DataFrame
        Per-case metrics (``patient, kernel, dose, label, model, method, convention`` and
        optionally ``seed``, ``region``).
    metrics : sequence of str
    convention : str
    region : str, optional
        Default: the convention's Table IV region (:data:`DEFAULT_REGION`).
    eff : DataFrame, optional
        :func:`effects` of these metrics (computed when not given): the † marks.

    Returns
    -------
    DataFrame
        Columns ``kernel, model, method, metric, mean, std, n, n_seeds, p, significant, best,
        note``: ``mean`` and ``std`` over seeds of each seed's mean over cases (``std`` NaN
        with one seed); ``n`` cases per seed; ``significant``: the 95 % interval of (this
        simulation - proposed) excludes 0 (``p``: its paired Wilcoxon p over patients); the
        ``linear`` baseline appears in every model's block. Columns as
        :func:`t2tcore.evaluation.summary_stats`, so :func:`t2tcore.sr.evaluate.table4_cells`
        shows it.
    """
    d = with_seeds(df[df.convention == convention])
    if "region" in d.columns:
        d = d[d.region == (region or DEFAULT_REGION.get(convention, "all"))]
    if eff is None:
        eff = effects(d, metrics=list(metrics), conventions=[convention], regions=None, n_boot=2000)
    rows = []
    for kernel in dict.fromkeys(d.kernel):
        dk = d[d.kernel == kernel]
        base = dk[dk.method == BASELINE]
        for model in [m for m in dict.fromkeys(dk.model) if m != BASELINE]:
            dm = pd.concat([dk[dk.model == model], base.assign(model=model)])
            for metric in metrics:
                block = []
                for method in dict.fromkeys(dm.method):
                    per_seed = dm[dm.method == method].groupby("seed")[metric].mean()
                    n_cases = int(dm[dm.method == method].groupby("seed")[metric].size().iloc[0])
                    row = {"kernel": kernel, "model": model, "method": method, "metric": metric,
                           "mean": float(per_seed.mean()), "std": float(per_seed.std(ddof=1)) if len(per_seed) > 1 else math.nan,
                           "n": n_cases, "n_seeds": int(len(per_seed)), "p": math.nan, "significant": False, "note": ""}
                    if method != "proposed" and len(eff):
                        e = eff[(eff.kernel == kernel) & (eff.model == model) & (eff.metric == metric)
                                & (eff.a == "proposed") & (eff.b == method)]
                        if len(e):
                            e = e.iloc[0]
                            row["p"] = float(e.p_wilcoxon)
                            row["significant"] = bool(e.ci_low > 0 or e.ci_high < 0)
                            row["note"] = e.reason
                    block.append(row)
                means = np.array([r["mean"] for r in block])
                best = np.nanmax(means) if _higher(metric) else np.nanmin(means)
                for r in block:
                    r["best"] = bool(r["mean"] == best)
                order = {"proposed": 0}
                rows.extend(sorted(block, key=lambda r: order.get(r["method"], 1 if r["method"] != BASELINE else 2)))
    return pd.DataFrame(rows)


def baseline_verdict(df: pd.DataFrame, convention: str = "paper", metric: str = "psnr",
                     training: pd.DataFrame | None = None, n_boot: int = 4000) -> pd.DataFrame:
    """Each model and simulation against the ``linear`` baseline (no network), with intervals.

    Returns
    -------
    DataFrame
        :func:`effects` rows of the contrasts ``<method> - linear`` in the convention's Table IV
        region, with ``method`` (= a), ``compared_with`` (= ``linear``), ``mean_diff_<metric>``,
        ``better`` / ``worse`` (the interval excludes 0 in that direction, and the runs converged).
    """
    e = effects(df, metrics=[metric], conventions=[convention], training=training, n_boot=n_boot)
    e = e[e.b == BASELINE] if len(e) else e
    return _legacy(e, metric)


def naive_verdict(df: pd.DataFrame, convention: str = "paper", metric: str = "psnr", naive: str = "average",
                  training: pd.DataFrame | None = None, n_boot: int = 4000) -> pd.DataFrame:
    """``proposed`` against ``naive`` training pairs, model by model (``proposed - naive``), with intervals."""
    e = effects(df, metrics=[metric], conventions=[convention], training=training, baseline=False, n_boot=n_boot)
    e = e[(e.a == "proposed") & (e.b == naive)] if len(e) else e
    return _legacy(e, metric)


def _legacy(e: pd.DataFrame, metric: str) -> pd.DataFrame:
    if not len(e):
        return pd.DataFrame(columns=["kernel", "model", "method", "compared_with", f"mean_diff_{metric}", "ci_low",
                                     "ci_high", "better", "worse", "verdict", "reason"])
    out = e.rename(columns={"a": "method", "b": "compared_with", "mean_diff": f"mean_diff_{metric}"}).copy()
    out["better"] = out.verdict == "better"
    out["worse"] = out.verdict == "worse"
    return out.reset_index(drop=True)
