"""Survival analysis of radiomics features (lifelines): Table V, Kaplan-Meier, log-rank, power.

* :func:`fit_cox` -- a multivariate Cox proportional-hazards model (lifelines
  ``CoxPHFitter``) of the features of one input, as in the paper's Table V: exp(coef), its
  95% upper bound, the Wald p-value and Harrell's concordance. Features are standardised
  (z-scores over the patients of that input) unless asked otherwise, so exp(coef) is the
  hazard ratio per standard deviation; the paper's are per raw unit (hence its 0 and 2.5e11
  for Elongation, which lies in (0, 1)), so only directions and p-values compare.
* :func:`cox_table` -- :func:`fit_cox` per input, stacked.
* :func:`tertiles`, :func:`kaplan_meier` and :func:`logrank` -- Kaplan-Meier curves of the
  tertile groups of a feature and the multivariate log-rank test across them.
* :func:`bootstrap_concordance` -- how uncertain a concordance from 36 patients is (percentile
  interval with the model fixed) and how optimistic (Harrell's bootstrap optimism correction).
* :func:`schoenfeld_power`, :func:`detectable_hazard_ratio` -- Schoenfeld's formula: power
  of the Wald test for a covariate from the number of events (and the variance inflation of
  the other covariates), and the smallest hazard ratio per SD that has 80% power;
  :func:`simulated_power` checks it by simulation from a known model.
* :func:`concordance_difference` -- the difference in Harrell's C between the Cox models of two
  inputs on the same patients, with a paired bootstrap interval (both models refitted on every
  resample): can this cohort tell two inputs apart?
* :func:`patients_for_power` -- Schoenfeld's formula turned round: patients needed for 80 % power
  at a hazard ratio per SD, given the fraction who die; :func:`bootstrap_power` -- the power of a
  multivariate Cox model's likelihood-ratio test at other cohort sizes (virtual cohorts: patients
  resampled with their true severity, new outcomes from the true model).
* :func:`paper_table5` -- the paper's Table V.

Times and events are arrays (any one time unit); ``event`` is 1 for death, 0 for censoring.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Mapping, Sequence

import numpy as np

from t2tcore import paper as _paper

__all__ = [
    "PAPER_CONCORDANCE",
    "paper_table5",
    "fit_cox",
    "cox_table",
    "strongest_feature",
    "tertiles",
    "kaplan_meier",
    "logrank",
    "bootstrap_concordance",
    "schoenfeld_power",
    "detectable_hazard_ratio",
    "variance_inflation",
    "simulated_power",
    "concordance_difference",
    "patients_for_power",
    "bootstrap_power",
]

#: The one concordance the paper reports under Table V (:data:`t2tcore.paper.CONCORDANCE`).
PAPER_CONCORDANCE = _paper.CONCORDANCE


def paper_table5():
    """The paper's Table V (multivariate Cox on features of thick, SR-naive and SR-ours images), from
    :data:`t2tcore.paper.TABLE5`.

    Returns
    -------
    pandas.DataFrame
        Columns ``input`` (thick, SR naive, SR proposed), ``feature`` (our names),
        ``exp_coef``, ``exp_coef_upper95``, ``p`` (numbers as printed; "< 0.005" as 0.005 with
        ``p_text`` keeping the text).
    """
    import pandas as pd

    out = [{"input": g, "feature": f, "exp_coef": float(e), "exp_coef_upper95": float(u),
            "p": float(p.replace("<", "").strip()), "p_text": p}
           for g, vals in _paper.TABLE5.items() for f, (e, u, p) in zip(_paper.TABLE5_FEATURES, vals)]
    return pd.DataFrame(out)


def _frame(features, time, event, columns: Sequence[str]):
    import pandas as pd

    X = pd.DataFrame(features).loc[:, list(columns)].astype(float)
    t = np.asarray(time, dtype=np.float64)
    e = np.asarray(event, dtype=np.float64)
    if len(X) != t.size or t.size != e.size:
        raise ValueError(f"features ({len(X)} rows), time ({t.size}) and event ({e.size}) differ in length")
    if not np.all(np.isfinite(t)) or np.any(t <= 0) or not np.all(np.isin(e, (0, 1))):
        raise ValueError("time must be finite and > 0, event 0 or 1")
    df = X.reset_index(drop=True)
    df["_time"], df["_event"] = t, e
    return df


def fit_cox(features, time, event, columns: Sequence[str] | None = None, standardise: bool = True,
            penalizer: float = 0.0) -> dict:
    """Multivariate Cox proportional-hazards model of some features.

    Parameters
    ----------
    features : DataFrame or mapping of column -> values
        Patients x features (rows in the order of ``time``). Rows with a missing value are
        an error (drop them explicitly, and say so, before).
    time, event : array_like
        Follow-up time (> 0) and event (1 death, 0 censored).
    columns : sequence of str, optional
        Features to put in the model (default all).
    standardise : bool
        z-score each feature first (hazard ratios per SD).
    penalizer : float
        lifelines' ridge penalty (0: the plain Cox model).

    Returns
    -------
    dict
        ``summary`` (DataFrame indexed by feature: ``coef``, ``exp_coef``,
        ``exp_coef_lower95``, ``exp_coef_upper95``, ``z``, ``p`` -- the Wald test),
        ``concordance`` (Harrell's C on these patients), ``n``, ``events``,
        ``log_likelihood_ratio_p`` (likelihood-ratio test of the whole model), ``note``
        (convergence warnings, or ""), ``model`` (the fitted CoxPHFitter), ``scale``
        (mean and SD used for the z-scores).
    """
    import pandas as pd
    from lifelines import CoxPHFitter
    from lifelines.exceptions import ConvergenceError, ConvergenceWarning

    cols = list(columns) if columns is not None else list(pd.DataFrame(features).columns)
    if not cols:
        raise ValueError("no features to fit")
    df = _frame(features, time, event, cols)
    if df[cols].isna().any().any():
        raise ValueError("features hold missing values; drop those patients explicitly first")
    scale = {c: (float(df[c].mean()), float(df[c].std(ddof=1))) for c in cols}
    if standardise:
        for c in cols:
            mu, sd = scale[c]
            df[c] = (df[c] - mu) / sd if sd > 0 else 0.0
    cph = CoxPHFitter(penalizer=penalizer)
    note = ""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            cph.fit(df, duration_col="_time", event_col="_event")
        except ConvergenceError as exc:
            raise ValueError(f"the Cox model did not converge ({str(exc).splitlines()[0]})") from None
    msgs = sorted({str(w.message).splitlines()[0] for w in caught if issubclass(w.category, ConvergenceWarning)})
    if msgs:
        note = "; ".join(msgs)
    s = cph.summary
    summary = s.rename(columns={"exp(coef)": "exp_coef", "exp(coef) lower 95%": "exp_coef_lower95",
                                "exp(coef) upper 95%": "exp_coef_upper95"})[
        ["coef", "exp_coef", "exp_coef_lower95", "exp_coef_upper95", "z", "p"]].copy()
    summary.index.name = "feature"
    lr = cph.log_likelihood_ratio_test()
    return {"summary": summary, "concordance": float(cph.concordance_index_), "n": int(len(df)),
            "events": int(df["_event"].sum()), "log_likelihood_ratio_p": float(lr.p_value), "note": note,
            "model": cph, "scale": scale, "standardised": bool(standardise)}


def cox_table(groups: Mapping[str, Any], survival, columns: Sequence[str], standardise: bool = True,
              penalizer: float = 0.0):
    """:func:`fit_cox` for each input, stacked into one table.

    Parameters
    ----------
    groups : mapping of input name -> DataFrame
        Patients (index) x features of each input.
    survival : DataFrame
        Indexed by patient, columns ``time`` and ``event``.
    columns : sequence of str
        The features in every model.

    Returns
    -------
    table : pandas.DataFrame
        One row per input and feature: ``input``, ``feature``, ``exp_coef``,
        ``exp_coef_lower95``, ``exp_coef_upper95``, ``z``, ``p``, ``concordance``, ``n``,
        ``events``, ``model_p`` (likelihood-ratio test), ``note``.
    fits : dict
        Input name -> the :func:`fit_cox` result.
    """
    import pandas as pd

    rows, fits = [], {}
    for name, tab in groups.items():
        pids = list(tab.index)
        missing = [p for p in pids if p not in survival.index]
        if missing:
            raise ValueError(f"{name}: no survival row for {', '.join(missing[:10])}")
        fit = fit_cox(tab.loc[pids, list(columns)], survival.loc[pids, "time"], survival.loc[pids, "event"],
                      columns, standardise, penalizer)
        fits[name] = fit
        for f, r in fit["summary"].iterrows():
            rows.append({"input": name, "feature": f, **{k: float(r[k]) for k in
                         ("exp_coef", "exp_coef_lower95", "exp_coef_upper95", "z", "p")},
                         "concordance": fit["concordance"], "n": fit["n"], "events": fit["events"],
                         "model_p": fit["log_likelihood_ratio_p"], "note": fit["note"]})
    return pd.DataFrame(rows), fits


def strongest_feature(fit: dict) -> str:
    """The feature with the largest |Wald z| in a :func:`fit_cox` result (this looks at the outcome)."""
    z = fit["summary"]["z"].abs()
    return str(z.idxmax())


def tertiles(values) -> np.ndarray:
    """Tertile group of each value: 0 (lowest third), 1, 2 (highest), by rank (ties by order)."""
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1 or x.size < 3 or not np.all(np.isfinite(x)):
        raise ValueError("need at least 3 finite values")
    rank = np.empty(x.size, dtype=np.int64)
    rank[np.argsort(x, kind="stable")] = np.arange(x.size)
    return (3 * rank) // x.size


def kaplan_meier(time, event) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan-Meier estimate (lifelines): (times, survival) as a step function from (0, 1)."""
    from lifelines import KaplanMeierFitter

    km = KaplanMeierFitter().fit(np.asarray(time, float), np.asarray(event, float))
    sf = km.survival_function_
    return sf.index.to_numpy(dtype=np.float64), sf.iloc[:, 0].to_numpy(dtype=np.float64)


def logrank(time, event, groups) -> dict:
    """Multivariate log-rank test of equal survival across groups (lifelines).

    Returns
    -------
    dict
        ``statistic`` (chi-squared), ``dof`` (groups - 1), ``p``.
    """
    from lifelines.statistics import multivariate_logrank_test

    g = np.asarray(groups)
    if np.unique(g).size < 2:
        raise ValueError("the log-rank test needs at least two groups")
    r = multivariate_logrank_test(np.asarray(time, float), g, np.asarray(event, float))
    return {"statistic": float(r.test_statistic), "dof": int(r.degrees_of_freedom), "p": float(r.p_value)}


def bootstrap_concordance(features, time, event, columns: Sequence[str] | None = None, n_boot: int = 200,
                          seed: int = 0, standardise: bool = True, penalizer: float = 0.0) -> dict:
    """How uncertain and how optimistic the concordance of a Cox model is on these patients.

    Returns
    -------
    dict
        ``apparent`` (C of the model on the patients it was fitted to), ``ci_low``,
        ``ci_high`` (2.5 and 97.5 percentiles of the C of the fitted model's risk score on
        bootstrap resamples of the patients), ``optimism`` (mean over bootstrap refits of C
        on the resample minus C on the original patients) and ``corrected`` (apparent minus
        optimism; Harrell's method), ``n_boot`` (refits that converged).
    """
    import pandas as pd
    from lifelines.utils import concordance_index

    X = pd.DataFrame(features)
    cols = list(columns) if columns is not None else list(X.columns)
    X = X.loc[:, cols].astype(float).reset_index(drop=True)
    t = np.asarray(time, dtype=np.float64)
    e = np.asarray(event, dtype=np.float64)
    fit = fit_cox(X, t, e, cols, standardise, penalizer)
    lp = _risk(fit, X)
    apparent = fit["concordance"]
    rng = np.random.default_rng(seed)
    fixed, optimism = [], []
    n = t.size
    for _ in range(int(n_boot)):
        idx = rng.integers(0, n, n)
        if e[idx].sum() < 1:
            continue
        fixed.append(concordance_index(t[idx], -lp[idx], e[idx]))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                b = fit_cox(X.iloc[idx], t[idx], e[idx], cols, standardise, penalizer)
        except (ValueError, np.linalg.LinAlgError):
            continue
        optimism.append(b["concordance"] - concordance_index(t, -_risk(b, X), e))
    opt = float(np.mean(optimism)) if optimism else float("nan")
    return {"apparent": apparent, "ci_low": float(np.percentile(fixed, 2.5)), "ci_high": float(np.percentile(fixed, 97.5)),
            "optimism": opt, "corrected": apparent - opt, "n_boot": len(optimism)}


def _risk(fit: dict, X) -> np.ndarray:
    """Linear predictor of a :func:`fit_cox` model on raw features X (DataFrame)."""
    cols = list(fit["summary"].index)
    Z = np.column_stack([np.asarray(X[c], dtype=np.float64) for c in cols])
    if fit["standardised"]:
        mu = np.array([fit["scale"][c][0] for c in cols])
        sd = np.array([fit["scale"][c][1] for c in cols])
        Z = np.where(sd > 0, (Z - mu) / np.where(sd > 0, sd, 1.0), 0.0)
    return Z @ fit["summary"]["coef"].to_numpy()


def schoenfeld_power(n_events: float, log_hr: float, sd: float = 1.0, alpha: float = 0.05, vif: float = 1.0) -> float:
    """Power of the two-sided Wald test of one Cox coefficient (Schoenfeld 1983).

    ``power = Phi(sqrt(D / vif) * sd * |log_hr| - z_{1 - alpha/2})`` for ``D`` events, a
    covariate of standard deviation ``sd`` and log hazard ratio ``log_hr`` per unit, and the
    variance inflation ``vif = 1 / (1 - R^2)`` of that covariate on the others in the model.
    """
    from scipy.stats import norm

    if n_events < 0 or sd <= 0 or not 0 < alpha < 1 or vif < 1:
        raise ValueError("need n_events >= 0, sd > 0, 0 < alpha < 1, vif >= 1")
    return float(norm.cdf(math.sqrt(n_events / vif) * sd * abs(log_hr) - norm.ppf(1 - alpha / 2)))


def detectable_hazard_ratio(n_events: float, power: float = 0.8, alpha: float = 0.05, vif: float = 1.0) -> float:
    """Smallest hazard ratio per SD that :func:`schoenfeld_power` detects with ``power``."""
    from scipy.stats import norm

    if n_events <= 0:
        return float("inf")
    return float(math.exp((norm.ppf(1 - alpha / 2) + norm.ppf(power)) * math.sqrt(vif / n_events)))


def variance_inflation(features) -> dict:
    """Variance inflation factor ``1 / (1 - R^2)`` of each column on the others (least squares)."""
    import pandas as pd

    X = pd.DataFrame(features).astype(float)
    out = {}
    for c in X.columns:
        y = X[c].to_numpy()
        others = X.drop(columns=c).to_numpy()
        A = np.column_stack([np.ones(len(y)), others])
        coef, *_ = np.linalg.lstsq(A, y, rcond=None)
        ss_res = float(np.sum((y - A @ coef) ** 2))
        ss_tot = float(np.sum((y - y.mean()) ** 2))
        r2 = 1 - ss_res / ss_tot if ss_tot > 0 else 1.0
        out[c] = float("inf") if r2 >= 1 else 1.0 / (1.0 - r2)
    return out


def simulated_power(draw, n: int, n_sim: int = 200, alpha: float = 0.05, seed: int = 0) -> dict:
    """Power of the Cox Wald test of the true covariate, by simulating cohorts of ``n`` patients.

    Parameters
    ----------
    draw : callable
        ``draw(s, rng) -> (time, event, ...)`` for severities ``s`` (e.g.
        :meth:`t2tcore.clinical.cohort.SurvivalModel.draw`).
    n, n_sim : int
        Patients per cohort, cohorts.

    Returns
    -------
    dict
        ``power`` (fraction with p < alpha), ``mean_events``, ``n_sim``.
    """
    rng = np.random.default_rng(seed)
    hits, events, done = 0, [], 0
    for _ in range(int(n_sim)):
        s = rng.standard_normal(n)
        t, e = draw(s, rng)[:2]
        if e.sum() < 2:
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit = fit_cox({"s": s}, t, e, ["s"], standardise=False)
        except ValueError:
            continue
        done += 1
        hits += fit["summary"].loc["s", "p"] < alpha
        events.append(e.sum())
    return {"power": hits / done if done else float("nan"), "mean_events": float(np.mean(events)), "n_sim": done}


def _apparent_c(X, t, e, cols, standardise=True) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit_cox(X, t, e, cols, standardise)["concordance"]


def concordance_difference(features_a, features_b, time, event, columns_a: Sequence[str] | None = None,
                           columns_b: Sequence[str] | None = None, n_boot: int = 200, seed: int = 0,
                           level: float = 0.95) -> dict:
    """Harrell's C of input A's Cox model minus input B's, on the same patients, with a paired bootstrap interval.

    Each replicate draws patients with replacement, refits both multivariate Cox models on them
    and takes the difference of their concordances on those patients; both models' optimism is
    in both Cs, so it mostly cancels in the difference. Replicates where either model does not
    converge are dropped (``n_boot`` says how many remain).

    Parameters
    ----------
    features_a, features_b : DataFrame
        Patients x features of the two inputs, rows in the order of ``time`` and ``event``.
    time, event : array_like
    columns_a, columns_b : sequence of str, optional
        Features in each model (default all).
    n_boot, seed, level

    Returns
    -------
    dict
        ``c_a``, ``c_b``, ``diff`` (c_a - c_b on all patients), ``ci_low``, ``ci_high``, ``n``,
        ``n_boot``.
    """
    import pandas as pd

    A = pd.DataFrame(features_a).reset_index(drop=True).astype(float)
    B = pd.DataFrame(features_b).reset_index(drop=True).astype(float)
    ca = list(columns_a) if columns_a is not None else list(A.columns)
    cb = list(columns_b) if columns_b is not None else list(B.columns)
    t = np.asarray(time, dtype=np.float64)
    e = np.asarray(event, dtype=np.float64)
    if not len(A) == len(B) == t.size == e.size:
        raise ValueError("features_a, features_b, time and event must have one row per patient each")
    c_a, c_b = _apparent_c(A, t, e, ca), _apparent_c(B, t, e, cb)
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(int(n_boot)):
        idx = rng.integers(0, t.size, t.size)
        if e[idx].sum() < 2:
            continue
        try:
            diffs.append(_apparent_c(A.iloc[idx], t[idx], e[idx], ca) - _apparent_c(B.iloc[idx], t[idx], e[idx], cb))
        except (ValueError, np.linalg.LinAlgError):
            continue
    tail = (1.0 - level) / 2.0
    lo, hi = (float(np.quantile(diffs, q)) for q in (tail, 1.0 - tail)) if len(diffs) >= 10 else (math.nan, math.nan)
    return {"c_a": c_a, "c_b": c_b, "diff": c_a - c_b, "ci_low": lo, "ci_high": hi, "n": int(t.size),
            "n_boot": len(diffs)}


def patients_for_power(hazard_ratio: float, event_fraction: float, power: float = 0.8, alpha: float = 0.05,
                       vif: float = 1.0) -> float:
    """Patients a cohort needs for ``power`` to detect ``hazard_ratio`` per SD of one covariate (Schoenfeld).

    ``events = vif * ((z_{1-alpha/2} + z_power) / log HR)^2``, patients = events / the fraction
    of patients who die during follow-up.
    """
    from scipy.stats import norm

    if not hazard_ratio > 0 or hazard_ratio == 1.0:
        return math.inf
    if not 0 < event_fraction <= 1:
        raise ValueError(f"event_fraction must be in (0, 1], got {event_fraction}")
    d = vif * ((norm.ppf(1 - alpha / 2) + norm.ppf(power)) / math.log(hazard_ratio)) ** 2
    return float(d / event_fraction)


def bootstrap_power(features, severity, draw, columns: Sequence[str] | None = None, sizes: Sequence[int] = (36, 72, 144),
                    n_sim: int = 100, alpha: float = 0.05, seed: int = 0):
    """Power of a multivariate Cox model of some features at other cohort sizes (virtual cohorts).

    Each simulated cohort draws patients with replacement -- their features together with their
    true latent severity, so the features' real relation to the disease is kept -- and gives
    them **new** survival times from the true model (``draw``, e.g.
    :meth:`t2tcore.clinical.cohort.SurvivalModel.draw`): the outcome is fresh, so a chance
    association of these patients' features with their own outcomes does not count as power.
    Power is the fraction of cohorts whose likelihood-ratio test of the model gives p < ``alpha``.

    Parameters
    ----------
    features : DataFrame
        Patients x features (rows as ``severity``).
    severity : array_like
        The patients' true latent severity.
    draw : callable
        ``draw(s, rng) -> (time, event, ...)``.
    columns, sizes, n_sim, alpha, seed

    Returns
    -------
    pandas.DataFrame
        ``n`` (cohort size), ``power``, ``mean_events``, ``n_sim`` (fits that converged).
    """
    import pandas as pd

    X = pd.DataFrame(features).reset_index(drop=True).astype(float)
    cols = list(columns) if columns is not None else list(X.columns)
    sev = np.asarray(severity, dtype=np.float64)
    if sev.size != len(X):
        raise ValueError(f"features ({len(X)} rows) and severity ({sev.size}) differ in length")
    rng = np.random.default_rng(seed)
    rows = []
    for n in sizes:
        hits, done, events = 0, 0, []
        for _ in range(int(n_sim)):
            idx = rng.integers(0, len(X), int(n))
            t, e = draw(sev[idx], rng)[:2]
            if e.sum() < len(cols) + 1:
                continue
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    f = fit_cox(X.iloc[idx], t, e, cols)
            except (ValueError, np.linalg.LinAlgError):
                continue
            done += 1
            hits += f["log_likelihood_ratio_p"] < alpha
            events.append(e.sum())
        rows.append({"n": int(n), "power": hits / done if done else math.nan,
                     "mean_events": float(np.mean(events)) if events else math.nan, "n_sim": done})
    return pd.DataFrame(rows)
