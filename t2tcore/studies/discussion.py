"""The Discussion page: every claim of the paper beside what the chapters of this book found.

The page is a notebook that ``book/build.py`` runs after every chapter. It calls
:func:`findings` with ``_build/results/<profile>``, and this module reads the CSV tables the
chapters wrote there (one folder per chapter, ``<stem>/``); nothing is typed in by hand, and the
paper's own numbers come from :mod:`t2tcore.paper`. (Its old place, ``t2tcore.figures.discussion``,
re-exports it: it draws no figure.) A chapter that has not been run (or not written yet) gives the status
``"not run"``; a chapter folder without a table of the expected columns gives ``"no table"``.
Tables are found by their **columns**, not their file names, so that a chapter may rename its
files without breaking this page.

Each claim is checked by one function ``_check_<key>`` and reported as a :class:`Finding`: a
status (``agrees``, ``partly``, ``disagrees``, ``inconclusive``, ``depends on the metric``,
``not run``, ``no table``), one sentence of what we found, one of why the two may differ, what
data made our numbers, and a detail table with the paper's numbers beside ours.

The SR claims (Tables IV, V, VI) follow chapter 05's rule (:mod:`t2tcore.sr.effects`): a
difference counts only where its 95 % interval (over patients and training seeds) excludes zero
and the models behind it converged; otherwise the claim is **inconclusive**, and the page says
which. A verdict on Table IV that differs between the metric conventions is **depends on the
metric**.

The expected tables (one row per patient and method unless said otherwise):

========  =================================================================================
chapter   columns
========  =================================================================================
00        ``method, slices, scanner's slices`` (slice counts of each method)
02        ``kernel, dose, patient, method, alignment, convention, psnr, rmse, ssim_2d``
03        ``where, method, best_minus_real_mm, same_best_as_real`` (a summary per method)
04        ``axis, value, dose, best, triangle_best, gap`` (the triangle against fixed kernels)
05        ``kernel, model, contrast, convention, metric, mean_diff, ci_low, ci_high, verdict``
          (+ ``region``, ``reason``): the effects with intervals (:func:`t2tcore.sr.effects.effects`);
          else ``model, method, patient, psnr`` (+ ``kernel``, ``dose``, ``convention``, ``label``,
          ``seed``): SR tested on real thick slices, ``method`` = the simulation of the training
          pairs; ``model, method, converged``: the training runs
06        ``model`` and columns whose names contain ``param`` or ``inference`` (rank: from 05)
07        ``group, covariate, p`` or ``input, feature, p``: multivariate Cox regression per image
          source (``thick``, an SR model trained on ``average``/naive or ``proposed`` pairs, ...);
          ``a, b, diff, ci_low, ci_high, separated``: concordance differences between inputs
========  =================================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from t2tcore import paper as _paper

__all__ = ["Claim", "Finding", "CLAIMS", "PAPER_TABLE4", "PAPER_TABLE5", "PAPER_TABLE6", "chapter_dir",
           "find_table", "findings", "summary"]

# ------------------------------------------------------------------ the paper's numbers
_MODEL_NAMES = {"vdsr": "VDSR", "unet": "U-Net", "u-net": "U-Net", "esrresnet": "ESRResNet", "esrgan": "ESRGAN"}

#: Table IV of the paper (:data:`t2tcore.paper.TABLE4`): PSNR (dB, mean, std) of SR models tested on real thick
#: slices, by the simulation that made their training pairs.
PAPER_TABLE4 = {(k, _MODEL_NAMES[m]): {meth: metrics["psnr"] for meth, metrics in methods.items()}
                for k, models in _paper.TABLE4.items() for m, methods in models.items()}

#: Table VI of the paper (:data:`t2tcore.paper.TABLE6`): inference time (s/image), parameter size (MB), rank by
#: mean PSNR.
PAPER_TABLE6 = pd.DataFrame([(_MODEL_NAMES[m], *v) for m, v in _paper.TABLE6.items()],
                            columns=["model", "inference_s", "params_mb", "rank"])

#: Table V of the paper (:data:`t2tcore.paper.TABLE5`): multivariate Cox regression on airway radiomics
#: (exp(coef), p; the paper prints "< 0.005" as 0.005 here).
_TABLE5_GROUPS = {"thick": "thick", "SR naive": "naive", "SR proposed": "ours"}
PAPER_TABLE5 = pd.DataFrame(
    [(_TABLE5_GROUPS[g], c, float(e), float(p.replace("<", "").strip()))
     for g, rows in _paper.TABLE5.items() for c, (e, _, p) in zip(_paper.TABLE5_FEATURES, rows)],
    columns=["group", "covariate", "exp_coef", "p"],
)

#: The paper's arithmetic of the slice counts (:data:`t2tcore.paper.L286`).
_L286 = _paper.L286


# ------------------------------------------------------------------------- structure
@dataclass(frozen=True)
class Claim:
    """One claim of the paper and the chapter that tests it."""

    key: str
    chapter: str  # stem prefix of the chapter, e.g. "02"
    where: str  # where the paper says it, e.g. "Table III"
    paper: str  # the claim in one sentence


@dataclass
class Finding:
    """What the book found about one :class:`Claim`."""

    claim: Claim
    status: str  # "agrees" | "partly" | "disagrees" | "inconclusive" | "depends on the metric" | "not run" | "no table"
    ours: str = ""
    why: str = ""
    data: str = ""
    table: pd.DataFrame | None = field(default=None, repr=False)


CLAIMS = (
    Claim("slice_count", "00", "Sec. II-B, Fig. 2a",
          f"Index-based simulation gets the slice count wrong: {_L286['n_thin']} thin slices become "
          f"{_L286['n_index']}, where the scanner made {_L286['n_real']} thick slices (patient L286)."),
    Claim("table3", "02", "Table III",
          "The proposed simulation is closer to real thick slices than simple averaging, Gaussian "
          "averaging and direct downsampling, for both kernels, in PSNR, RMSE and SSIM (p < 0.05)."),
    Claim("fig7", "03", "Fig. 7",
          "The real first thick slice is most like a thin slice that index-based methods miss "
          "(slice 4, not 3); the proposed method finds the real pattern."),
    Claim("triangle", "04", "Sec. II-B, III-B",
          "A triangular weight along z is a better slice profile than the Gaussian or a plain average."),
    Claim("table4", "05", "Table IV",
          "SR models trained on pairs made by the proposed simulation beat the same models trained on "
          "simple-averaging pairs on real thick slices, for all four models and both kernels (p < 0.05)."),
    Claim("table6", "06", "Table VI",
          "By mean PSNR the models rank ESRGAN, ESRResNet, U-Net, VDSR."),
    Claim("table5", "07", "Table V",
          "Only radiomics features from images super-resolved by the model trained on the proposed "
          "simulation correlate with mortality (multivariate Cox, p < 0.005)."),
)


def chapter_dir(results_root: str | Path, prefix: str) -> Path | None:
    """The chapter folder ``<results_root>/<prefix>_*`` (the first in name order), or None."""
    root = Path(results_root)
    if not root.is_dir():
        return None
    found = sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith(f"{prefix}_"))
    return found[0] if found else None


def find_table(folder: Path, columns: Sequence[str]) -> tuple[Path, pd.DataFrame] | None:
    """The first CSV in ``folder`` (name order) that has all ``columns``, read; or None."""
    need = set(columns)
    for csv in sorted(Path(folder).glob("*.csv")):
        try:
            head = pd.read_csv(csv, nrows=0)
        except (OSError, ValueError, pd.errors.ParserError):
            continue
        if need <= set(head.columns):
            return csv, pd.read_csv(csv)
    return None


def _data_note(df: pd.DataFrame, csv: Path) -> str:
    """Which data made a table: virtual or real patients, and how many."""
    from t2tcore.data import is_virtual_patient

    where = f"{csv.parent.name}/{csv.name}"
    if "patient" not in df.columns:
        return f"the chapter's table {where}"
    pats = sorted({str(p) for p in df["patient"].dropna()})
    kind = "virtual cohort" if pats and all(is_virtual_patient(p) for p in pats) else "real data"
    return f"{kind}, {len(pats)} patients ({', '.join(pats[:6])}{', ...' if len(pats) > 6 else ''}); table {where}"


def _verdict(hits: int, total: int) -> str:
    if total == 0:
        return "no table"
    return "agrees" if hits == total else ("disagrees" if hits == 0 else "partly")


# ----------------------------------------------------------------------------- checks
def _check_slice_count(claim: Claim, folder: Path) -> Finding:
    from t2tcore.simulation import simulate_thick, thick_positions

    got = find_table(folder, ["method", "slices", "scanner's slices"])
    # the paper's arithmetic for L286, by the package itself: n_thin slices every thin_interval mm
    g = _L286
    thin = g["thin_interval"] * np.arange(g["n_thin"])
    n_alg1 = thick_positions(thin[0], thin[-1], g["interval"]).size
    n_avg = simulate_thick(np.zeros((g["n_thin"], 1, 1), np.float32), thin, g["thickness"], method="average",
                           thin_thickness=g["thin_thickness"])[0].shape[0]
    rows = [{"case": "L286 geometry (paper)", "method": "index-based", "paper": g["n_index"], "ours": n_avg},
            {"case": "L286 geometry (paper)", "method": "proposed (Algorithm 1)", "paper": g["n_real"], "ours": n_alg1}]
    if got is None:
        return Finding(claim, "no table", data="", table=pd.DataFrame(rows))
    csv, df = got
    for r in df.itertuples(index=False):
        rows.append({"case": f"chapter {claim.chapter} series", "method": r[0], "paper": None, "ours": int(r[1]),
                     "scanner's": int(r[2])})
    table = pd.DataFrame(rows)
    for col in ("paper", "ours", "scanner's"):  # counts: integers, missing ones shown as missing
        table[col] = table[col].astype("Int64")
    wrong = df[df["slices"] != df["scanner's slices"]]["method"].tolist()
    right = df[df["slices"] == df["scanner's slices"]]["method"].tolist()
    ok = n_avg == g["n_index"] and n_alg1 == g["n_real"] and "proposed" in right and bool(wrong)
    ours = (f"For L286's geometry the package makes {n_alg1} slices by Algorithm 1 and {n_avg} by index groups. "
            f"On chapter {claim.chapter}'s series, {', '.join(right) or 'no method'} match the scanner's count; "
            f"{', '.join(wrong) or 'none'} do not.")
    why = "" if ok else "The counts differ from the paper's arithmetic: see the table."
    return Finding(claim, "agrees" if ok else "disagrees", ours, why, f"chapter table {csv.parent.name}/{csv.name} and "
                   f"the L286 geometry ({g['n_thin']} thin slices every {g['thin_interval']:g} mm, "
                   f"{g['thickness']:g} mm every {g['interval']:g} mm)", table)


def _check_table3(claim: Claim, folder: Path) -> Finding:
    from t2tcore.evaluation.stats import min_attainable_p, paper_table3, summary_stats

    cols = ["kernel", "dose", "patient", "method", "alignment", "convention", "psnr", "rmse", "ssim_2d"]
    got = find_table(folder, cols)
    if got is None:
        return Finding(claim, "no table")
    csv, df = got
    df = df[df["convention"] == "paper"]
    paper = paper_table3()
    four = ["proposed", "average", "gaussian", "direct"]
    df = df[df["method"].isin(four)]
    st = summary_stats(df, ["psnr", "rmse", "ssim_2d"], group_cols=("kernel", "dose", "alignment"))
    rows, hits, sig = [], 0, 0
    for (k, d, a, metric), g in st.groupby(["kernel", "dose", "alignment", "metric"], sort=False):
        pm = "ssim" if metric == "ssim_2d" else metric
        pp = paper[(paper.kernel == k) & (paper.metric == pm)].set_index("method")
        if pp.empty or "proposed" not in set(g["method"]):
            continue
        hib = metric != "rmse"
        g = g.set_index("method")
        best = g["mean"].idxmax() if hib else g["mean"].idxmin()
        others = g.drop("proposed")
        runner = others["mean"].idxmax() if hib else others["mean"].idxmin()
        p_best = pp["mean"].idxmax() if hib else pp["mean"].idxmin()
        first = best == "proposed"
        hits += first
        significant = bool(first and others.loc[runner, "significant"])
        sig += significant
        rows.append({"kernel": k, "dose": d, "alignment": a, "metric": pm,
                     "paper: proposed": pp.loc["proposed", "mean"], "paper: best other": pp.drop("proposed")["mean"].agg(
                         "max" if hib else "min"), "paper: best": p_best,
                     "ours: proposed": g.loc["proposed", "mean"], "ours: best other": others.loc[runner, "mean"],
                     "ours: best": best, "ours: p vs runner-up": others.loc[runner, "p"],
                     "patients": int(g.loc["proposed", "n"])})
    table = pd.DataFrame(rows)
    total = len(rows)
    # the claim is "best, and significantly so": first everywhere without p < 0.05 is only partial agreement
    status = "agrees" if total and sig == total else ("partly" if hits else _verdict(0, total))
    n_pat = int(table["patients"].min()) if total else 0
    ours = (f"proposed has the best mean in {hits} of {total} kernel × dose × alignment × metric cells "
            f"(paper convention), and is separated from the runner-up at p < 0.05 in {sig} of them.")
    why = []
    if total and n_pat and min_attainable_p(n_pat) >= 0.05:
        why.append(f"With {n_pat} test patients no Wilcoxon p-value can fall below 0.05 "
                   f"(smallest possible: {min_attainable_p(n_pat):.3g}), so no † is possible.")
    if hits < total:
        losers = table[table["ours: best"] != "proposed"]
        why.append("Where proposed is not first: " + "; ".join(
            f"{r['kernel']} {r['dose']} {r['alignment']} {r['metric']}: {r['ours: best']}"
            for _, r in losers.head(6).iterrows())
            + ("; ..." if len(losers) > 6 else "") + ".")
    why.append("The thick slices here come from the virtual scanner's trapezoid z-weighting, not from a "
               "Siemens scanner, and the data are virtual patients: agreement in ranking is the test, "
               "not the values." if "virtual" in _data_note(df, csv) else
               "Real data: values can be compared with the paper's directly (same convention).")
    return Finding(claim, status, ours, " ".join(why), _data_note(df, csv), table)


def _check_fig7(claim: Claim, folder: Path) -> Finding:
    got = find_table(folder, ["where", "method", "best_minus_real_mm", "same_best_as_real"])
    if got is None:
        return Finding(claim, "no table")
    csv, df = got
    table = df.copy()
    per, better, worse = [], 0, 0
    for where, g in df.groupby("where", sort=False):
        idx = g[g["method"].isin(["direct", "average", "gaussian"])]["same_best_as_real"]
        prop = g[g["method"] == "proposed"]["same_best_as_real"]
        if idx.empty or prop.empty:
            continue
        better += float(prop.mean()) > float(idx.mean())
        worse += float(prop.mean()) < float(idx.mean())
        per.append(f"{where}: {float(prop.mean()):.0%} for proposed, {float(idx.mean()):.0%} for the index-based methods")
    status = "disagrees" if not better else ("partly" if worse else "agrees")
    ours = ("Share of thick slices whose best-matching thin slice is the real slice's: " + "; ".join(per) + ".")
    why = ("At the first slice every simulation sees thin slices on one side only, while the scanner used raw "
           "data beyond it; chapter 03 separates the first slice from interior ones.")
    return Finding(claim, status, ours, why, f"chapter table {csv.parent.name}/{csv.name}", table)


def _check_triangle(claim: Claim, folder: Path) -> Finding:
    got = find_table(folder, ["axis", "value", "dose", "best", "triangle_best", "gap"])
    if got is None:
        return Finding(claim, "no table")
    csv, df = got
    # the table against fixed kernels only, when the chapter wrote both (the calibrated profile is not a guess)
    fixed = [p for p in sorted(folder.glob("*.csv")) if "fixed" in p.name]
    if fixed:
        df = pd.read_csv(fixed[0])
        csv = fixed[0]
    wins = int(df["triangle_best"].astype(bool).sum())
    total = len(df)
    beaten = df.loc[~df["triangle_best"].astype(bool), "best"].value_counts()
    ours = (f"Against the other fixed weights the triangle is best in {wins} of {total} scanner settings × doses"
            + ("; elsewhere " + ", ".join(f"{m} ({n}×)" for m, n in beaten.items()) + " is better" if len(beaten) else "")
            + ".")
    why = ("Which weight is best depends on the scanner's own slice profile (its z-weighting, pitch and row width); "
           "the paper tested one scanner. No paper numbers exist for this chapter.")
    table = df[["axis", "value", "dose", "best", "triangle_best", "gap"]].copy()
    return Finding(claim, _verdict(wins, total), ours, why, f"virtual scanner sweep, table {csv.parent.name}/{csv.name}",
                   table)


def _paper_convention(df: pd.DataFrame) -> pd.DataFrame:
    """The rows in the paper's metric convention, when the table has both conventions."""
    return df[df["convention"] == "paper"] if "convention" in df.columns else df


def _model(name: str) -> str:
    return _MODEL_NAMES.get(str(name).lower().replace("_", "-"), _MODEL_NAMES.get(str(name).lower(), str(name)))


_EFFECT_COLUMNS = ["kernel", "model", "contrast", "convention", "metric", "mean_diff", "ci_low", "ci_high", "verdict"]


def _effects_table(folder: Path) -> tuple[Path, pd.DataFrame] | None:
    """Chapter 05's effects with intervals (its verdicts CSV), or computed from its per-case table."""
    got = find_table(folder, _EFFECT_COLUMNS)
    if got is not None:
        return got
    got = find_table(folder, ["model", "method", "patient", "psnr"])
    if got is None:
        return None
    from t2tcore.sr.effects import effects

    csv, df = got
    if "kernel" not in df.columns:
        df = df.assign(kernel="all")
    if "dose" not in df.columns:
        df = df.assign(dose="all")
    if "convention" not in df.columns:
        df = df.assign(convention="paper")
    if "label" not in df.columns:
        df = df.assign(label=[m if m == "linear" else f"{m}/{s}" for m, s in zip(df["model"], df["method"])])
    return csv, effects(df, metrics=["psnr"], training=_training(folder), n_boot=2000)


def _training(folder: Path) -> pd.DataFrame | None:
    got = find_table(folder, ["model", "method", "converged"])
    return None if got is None else got[1]


def _overall(answers: Sequence[str]) -> str:
    """One status from the per-cell answers of a claim that every cell is ``better``."""
    a = list(answers)
    if not a:
        return "no table"
    if all(x == "better" for x in a):
        return "agrees"
    if all(x == "worse" for x in a):
        return "disagrees"
    if all(x == "inconclusive" for x in a):
        return "inconclusive"
    if all(x in ("inconclusive", "depends on the metric") for x in a):
        return "depends on the metric"
    return "partly" if "better" in a else "disagrees"


def _check_table4(claim: Claim, folder: Path) -> Finding:
    from t2tcore.sr.effects import DEFAULT_REGION, convention_rule

    got = _effects_table(folder)
    if got is None:
        return Finding(claim, "no table")
    csv, eff = got
    e = eff[(eff["metric"] == "psnr") & (eff["contrast"] == "proposed - average")]
    if "region" in e.columns:
        e = e[[DEFAULT_REGION.get(c, "all") == r for c, r in zip(e["convention"], e["region"])]]
    if not len(e):
        return Finding(claim, "no table")
    rule = convention_rule(e)
    rows = []
    for r in rule.itertuples(index=False):
        paper = PAPER_TABLE4.get((r.kernel, _model(r.model)), {})
        row = {"kernel": r.kernel, "model": r.model,
               "paper: proposed − average": paper.get("proposed", (np.nan,))[0] - paper.get("average", (np.nan,))[0]}
        g = e[(e["kernel"] == r.kernel) & (e["model"] == r.model)]
        for x in g.itertuples(index=False):
            row[f"ours ({x.convention})"] = f"{x.mean_diff:+.2f} [{x.ci_low:+.2f}, {x.ci_high:+.2f}] {x.verdict}"
        row.update({"answer": r.answer, "why": r.reason,
                    "patients": int(g["n_patients"].max()) if "n_patients" in g.columns else np.nan,
                    "seeds": int(g["n_seeds_a"].min()) if "n_seeds_a" in g.columns else np.nan})
        rows.append(row)
    table = pd.DataFrame(rows)
    counts = table["answer"].value_counts()
    status = _overall(table["answer"])
    ours = ("Proposed − average training pairs, PSNR, 95 % interval over patients and seeds, one answer per metric "
            "across conventions: " + ", ".join(f"{v} in {n}" for v, n in counts.items())
            + f" of {len(table)} kernel × model cells.")
    why = []
    bad = sorted({x for x in e.get("reason", pd.Series(dtype=str)).fillna("").astype(str) if x.startswith("not converged")})
    if bad:
        why.append("Inconclusive because a model did not converge: " + "; ".join(b.replace("not converged: ", "")
                                                                              for b in bad) + ".")
    if (table["answer"] == "depends on the metric").any():
        why.append("Where the answer depends on the metric, the conventions disagree (see the detail table): the "
                   "paper's scales each volume by its own extremes, the fixed window and HU do not.")
    if "seeds" in table and (table["seeds"] == 1).any():
        why.append("Models trained with one seed carry no training noise in their interval.")
    cases = find_table(folder, ["model", "method", "patient", "psnr"])
    data = _data_note(cases[1], cases[0]) if cases else f"chapter table {csv.parent.name}/{csv.name}"
    if "virtual" in data:
        why.append("Virtual data: the direction of the effects can be compared with the paper's, not the values.")
    return Finding(claim, status, ours, " ".join(why), data, table)


def _rank_effects(df: pd.DataFrame, order: Sequence[str]) -> list[dict]:
    """Each adjacent pair of models in ``order`` (proposed pairs): PSNR difference with a 95 % interval."""
    from t2tcore.evaluation.stats import hierarchical_bootstrap
    from t2tcore.sr.effects import patient_matrix, with_seeds

    d = df if "label" in df.columns else df.assign(label=df["model"] + "/" + df["method"])
    d = with_seeds(d[d["method"] == "proposed"]).assign(patient=lambda x: x["patient"].astype(str))
    # one value per patient and seed: the kernels and doses of a patient averaged
    mats = {m: patient_matrix(d[d["model"].map(_model) == m], "psnr") for m in order}
    out = []
    for a, b in zip(order, order[1:]):
        ma, mb = mats[a], mats[b]
        pats = ma.index.intersection(mb.index)
        if not len(pats):
            continue
        r = hierarchical_bootstrap(ma.loc[pats].dropna(axis=1).to_numpy(), mb.loc[pats].dropna(axis=1).to_numpy(),
                                   n_boot=2000)
        v = "agrees" if r.ci_low > 0 else ("disagrees" if r.ci_high < 0 else "inconclusive")
        out.append({"pair": f"{a} > {b}", "mean_diff": r.mean_diff, "ci_low": r.ci_low, "ci_high": r.ci_high,
                    "verdict": v})
    return out


def _check_table6(claim: Claim, folder: Path, results_root: Path) -> Finding:
    # the paper ranks the models by mean PSNR on all test data: from chapter 05's per-case table (with intervals
    # between neighbours in the paper's order), or chapter 06's table if it has PSNR
    ch5 = chapter_dir(results_root, "05")
    got = find_table(ch5, ["model", "method", "patient", "psnr"]) if ch5 else None
    got = got or find_table(folder, ["model", "psnr"])
    if got is None:
        return Finding(claim, "no table")
    csv, df = got
    df = _paper_convention(df)
    if "region" in df.columns:
        df = df[df["region"] == "all"]
    prop = df[df["method"] == "proposed"] if "method" in df.columns else df
    mean = prop.groupby("model")["psnr"].mean().sort_values(ascending=False)
    ours_rank = {_model(m): i + 1 for i, m in enumerate(mean.index)}
    table = PAPER_TABLE6.rename(columns={"inference_s": "paper: s/image", "params_mb": "paper: MB",
                                         "rank": "paper: rank"}).copy()
    table["ours: mean PSNR"] = table["model"].map({_model(m): v for m, v in mean.items()})
    table["ours: rank"] = table["model"].map(ours_rank)
    extra = find_table(folder, ["model"])
    if extra is not None:  # our timings and sizes: the first row of each model (its first preset)
        ex = extra[1].drop_duplicates("model")
        ex = ex.assign(model=ex["model"].map(_model)).set_index("model")
        for c in ex.columns:
            low = c.lower()
            if c == "preset" or "param" in low or "inference" in low:
                table[f"ours: {c}"] = table["model"].map(ex[c])
    have = table.dropna(subset=["ours: rank"])
    same = int((have["ours: rank"] == have["paper: rank"]).sum())
    order = [m for m in PAPER_TABLE6.sort_values("rank")["model"] if m in ours_rank]
    ours = (f"Our order by mean PSNR (paper convention): {', '.join(_model(m) for m in mean.index)}; {same} of "
            f"{len(have)} models have the paper's rank.")
    status = _verdict(same, len(have))
    if {"patient", "method"} <= set(df.columns):
        # neighbours in the paper's order, with intervals, in every convention; one answer across them
        from t2tcore.sr.effects import DEFAULT_REGION

        full = got[1] if "convention" in got[1].columns else got[1].assign(convention="paper")
        by_conv = {}
        ours += " Neighbours in the paper's order, 95 % interval of the PSNR difference over patients and seeds:"
        for conv in dict.fromkeys(full["convention"]):
            d = full[(full["convention"] == conv) & (full["method"] == "proposed")]
            if "region" in d.columns:
                d = d[d["region"] == DEFAULT_REGION.get(conv, "all")]
            pairs = _rank_effects(d, order)
            if pairs:
                v = [p["verdict"] for p in pairs]
                st = ("agrees" if all(x == "agrees" for x in v) else "disagrees" if all(x == "disagrees" for x in v)
                      else "partly" if "agrees" in v and "disagrees" in v else "inconclusive" if "disagrees" not in v
                      else "disagrees")
                by_conv[conv] = st
                ours += f" {conv}: " + "; ".join(
                    f"{p['pair']} {p['mean_diff']:+.2f} "
                    + (f"[{p['ci_low']:+.2f}, {p['ci_high']:+.2f}]" if np.isfinite(p["ci_low"]) else "[no interval]")
                    + f" dB ({p['verdict']})" for p in pairs) + "."
        if by_conv:
            kinds = set(by_conv.values())
            status = kinds.pop() if len(kinds) == 1 else "depends on the metric"
    training = _training(ch5) if ch5 else None
    why = "Inference time depends on the hardware; parameter counts on the widths chosen for the models."
    if training is not None and not training["converged"].astype(bool).all():
        status = "inconclusive"
        why = ("Not every model converged (" + ", ".join(f"{r.model}/{r.method}" for r in training.itertuples()
                                                        if not bool(r.converged)) + "). " + why)
    return Finding(claim, status, ours, why, f"table {csv.parent.name}/{csv.name}", table)


def _paper_group(name: str) -> str | None:
    """Our image source in the paper's words: thick, naive (SR trained on averaging pairs), ours."""
    low = str(name).lower()
    if "proposed" in low or low == "ours":
        return "ours"
    if "naive" in low or "average" in low:
        return "naive"
    return "thick" if low == "thick" else None


def _check_table5(claim: Claim, folder: Path) -> Finding:
    got = find_table(folder, ["group", "covariate", "p"]) or find_table(folder, ["input", "feature", "p"])
    if got is None:
        return Finding(claim, "no table")
    comp = find_table(folder, ["a", "b", "diff", "ci_low", "ci_high", "separated"])
    csv, df = got
    df = df.rename(columns={"input": "group", "feature": "covariate"})
    groups = list(dict.fromkeys(df["group"]))
    rows = []
    for g in groups:
        ours_p = df[df["group"] == g]["p"].astype(float)
        paper = PAPER_TABLE5[PAPER_TABLE5["group"] == _paper_group(g)]["p"]
        rows.append({"group": g, "ours: covariates p < 0.05": int((ours_p < 0.05).sum()),
                     "ours: p < 0.005": int((ours_p < 0.005).sum()),
                     "paper: p < 0.05": int((paper < 0.05).sum()) if len(paper) else np.nan,
                     "paper: p < 0.005": int((paper <= 0.005).sum()) if len(paper) else np.nan})
    table = pd.DataFrame(rows)
    strong = {_paper_group(r["group"]) for r in rows if r["ours: p < 0.005"] > 0}
    # the claim: ours correlates, thick and naive do not (other inputs, e.g. the true thin images, may)
    agree = "ours" in strong and not strong & {"thick", "naive"}
    ours = ("Inputs with a covariate at p < 0.005: "
            + (", ".join(str(r["group"]) for r in rows if r["ours: p < 0.005"] > 0) or "none") + ".")
    why = ("In the paper's own Table V the naive group also has two covariates at p < 0.05: 'only ours' holds at "
           "p < 0.005. A Cox model on few patients rarely reaches such p-values: see the chapter's power analysis.")
    status = "agrees" if agree else "disagrees"
    if comp is not None:
        c = comp[1]
        main = c[(c["a"] == "SR proposed") & (c["b"] == "SR naive")]
        if len(main):
            m = main.iloc[0]
            ours += (f" Concordance of SR proposed − SR naive: {m['diff']:+.2f} [{m['ci_low']:+.2f}, "
                     f"{m['ci_high']:+.2f}] (95 % bootstrap interval).")
            if not bool(m["separated"]):
                status = "inconclusive"
                why = ("The interval of the concordance difference between the two SR inputs includes 0: this cohort "
                       "cannot separate them, whatever single features reach p < 0.05. " + why)
    return Finding(claim, status, ours, why, f"table {csv.parent.name}/{csv.name}", table)


_CHECKS: dict[str, Callable] = {
    "slice_count": _check_slice_count, "table3": _check_table3, "fig7": _check_fig7,
    "triangle": _check_triangle, "table4": _check_table4, "table5": _check_table5,
}


def findings(results_root: str | Path, claims: Sequence[Claim] = CLAIMS) -> list[Finding]:
    """One :class:`Finding` per claim, from the chapters' tables under ``results_root``."""
    root = Path(results_root)
    out = []
    for claim in claims:
        folder = chapter_dir(root, claim.chapter)
        if folder is None:
            out.append(Finding(claim, "not run", why=f"chapter {claim.chapter} has no results in this build "
                                                     f"(no folder {claim.chapter}_* in {root.parent.name}/{root.name})"))
            continue
        if claim.key == "table6":
            f = _check_table6(claim, folder, root)
        else:
            f = _CHECKS[claim.key](claim, folder)
        if f.status == "no table":
            f.why = f.why or f"chapter folder {folder.name} has no table with the expected columns"
        out.append(f)
    return out


def summary(found: Sequence[Finding]) -> pd.DataFrame:
    """One row per claim: where in the paper, chapter, the claim, the verdict and what we found
    (why, and the data, are in each :class:`Finding`)."""
    return pd.DataFrame([{"paper": f.claim.where, "chapter": f.claim.chapter, "the paper says": f.claim.paper,
                          "verdict": f.status, "we find": f.ours or "—"} for f in found])
