"""Figures of the teaching lab: one per exercise of :mod:`t2tcore.teaching`.

Each function takes the dict an exercise returns and draws it, without computing anything
new. Figures are at most :data:`~t2tcore.figures.TEXT_WIDTH_IN` wide and made without pyplot;
plotted data carry a ``gid`` so that tests can read back what was drawn.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from t2tcore.figures import TEXT_WIDTH_IN
from t2tcore.figures.style import method_style

__all__ = ["profiles_figure", "noise_figure", "errors_figure", "misplaced_figure", "wrong_pairs_figure"]

def _colour(name: str) -> str:
    """The book's colour of a method (``t2tcore.figures.style``); ``"real"`` is black."""
    return method_style(name)["color"]


def _need(res: dict, *keys: str) -> None:
    missing = [k for k in keys if k not in res]
    if missing:
        raise ValueError(f"the exercise result lacks {missing}: pass what the t2tcore.teaching function returned")


def profiles_figure(res: dict) -> Figure:
    """Exercise 1: the real thick SSP, each method's effective profile, and z coverage.

    gids: ``"profile:real"``, ``"profile:<method>"``, ``"coverage"``.
    """
    _need(res, "z", "real", "effective", "fwhm", "offset", "coverage_z", "coverage")
    fig = Figure(figsize=(TEXT_WIDTH_IN, 3.0), layout="constrained")
    a0, a1 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.5, 1]})
    a0.plot(res["z"], res["real"], lw=2.2, label=f"real thick SSP (FWHM {res['fwhm']['real']:.2f} mm)",
            gid="profile:real", color=_colour("real"))
    for m, eff in res["effective"].items():
        a0.plot(res["z"], eff, lw=1.3, color=_colour(m), gid=f"profile:{m}",
                label=f"{m} (FWHM {res['fwhm'][m]:.2f} mm, centre {res['offset'][m]:+.2f} mm)")
    a0.set_xlabel("z − real slice centre (mm)", fontsize=8)
    a0.set_ylabel("weight (unit area)", fontsize=8)
    a0.set_title(f"what one thick slice averages: t = {res['thickness']:g} mm, pitch {res['pitch']:g}, "
                 f"{res['z_weighting']}", fontsize=8)
    a0.legend(fontsize=6.5, frameon=False, loc="upper left")
    a0.set_ylim(0, max(np.max(res["real"]), *(np.max(v) for v in res["effective"].values())) * 1.45)
    a1.plot(res["coverage_z"], res["coverage"], color="k", lw=1.2, gid="coverage")
    a1.set_ylim(0, max(1.2, float(np.max(res["coverage"])) * 1.15))
    a1.set_title(f"sum of real SSPs every d = {res['interval']:g} mm", fontsize=8)
    a1.set_xlabel("z (mm)", fontsize=8)
    return fig


def noise_figure(res: dict) -> Figure:
    """Exercise 2: predicted noise against thickness per kernel; the chosen setting; the
    triangle's effect on independent thin-slice noise.

    gids: ``"noise:<kernel>"``, ``"noise:chosen"``, ``"noise:simulated"``.
    """
    _need(res, "curves", "sd", "sd_thin", "sd_simulated", "thickness", "kernel", "mAs")
    fig = Figure(figsize=(TEXT_WIDTH_IN, 3.0), layout="constrained")
    a0, a1 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.4, 1]})
    for i, (k, (t, sd)) in enumerate(res["curves"].items()):
        a0.plot(t, sd, "o-", color=f"C{i}", label=k, gid=f"noise:{k}")
    a0.plot([res["thickness"]], [res["sd"]], "r*", ms=12, label="your choice", gid="noise:chosen")
    a0.set_xlabel("slice thickness (mm)", fontsize=8)
    a0.set_ylabel("noise SD (HU)", fontsize=8)
    a0.set_title(f"real reconstructions at {res['mAs']:g} mAs", fontsize=8)
    a0.legend(fontsize=7, frameon=False)
    labels = [f"thin 1 mm\n({res['kernel']})", f"real {res['thickness']:g} mm", f"triangle over\nthin slices*"]
    vals = [res["sd_thin"], res["sd"], res["sd_simulated"]]
    a1.bar(range(3), vals, color=["0.6", _colour("real"), _colour("proposed")], gid="noise:simulated")
    a1.set_xticks(range(3), labels, fontsize=7)
    a1.set_ylabel("noise SD (HU)", fontsize=8)
    a1.set_title("*if thin-slice noise were independent", fontsize=7)
    return fig


def errors_figure(res: dict) -> Figure:
    """Exercise 3: RMSE of each method (paired by index / at its own positions) and one column
    along z.

    gids: ``"rmse_paired"``, ``"rmse_own"`` (bar containers), ``"z:truth"``, ``"z:real"``,
    ``"z:<method>"``.
    """
    _need(res, "table", "z", "truth", "real", "series")
    methods = list(res["table"])
    fig = Figure(figsize=(TEXT_WIDTH_IN, 3.2), layout="constrained")
    a0, a1 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.6]})
    x = np.arange(len(methods))
    paired = [res["table"][m]["rmse_paired"] for m in methods]
    own = [res["table"][m]["rmse_own"] for m in methods]
    a0.bar(x - 0.2, paired, 0.4, color=[_colour(m) for m in methods], label="paired by index", gid="rmse_paired")
    a0.bar(x + 0.2, own, 0.4, color=[_colour(m) for m in methods], alpha=0.45, hatch="//",
           label="at own positions", gid="rmse_own")
    a0.set_xticks(x, methods, fontsize=7, rotation=20)
    a0.set_ylabel("RMSE vs real thick (HU)", fontsize=8)
    a0.legend(fontsize=7, frameon=False)
    a0.set_title(f"{res['n_real']} real slices; t = {res['thickness']:g}, d = {res['interval']:g} mm", fontsize=8)
    a1.plot(res["z"], res["truth"], color="0.75", lw=1, label="object", gid="z:truth")
    rp, rv = res["real"]
    a1.plot(rp, rv, "k.-", lw=1, ms=6, label="real thick", gid="z:real")
    for m, (p, v) in res["series"].items():
        a1.plot(p, v, "o", mfc="none", ms=5, color=_colour(m), label=m, gid=f"z:{m}")
    lo, hi = rp[0], rp[0] + 30.0
    a1.set_xlim(lo - 1, hi)
    a1.set_xlabel("z (mm): the first 30 mm of one pixel column", fontsize=8)
    a1.set_ylabel("HU", fontsize=8)
    a1.legend(fontsize=6.5, frameon=False, ncol=3, loc="upper left")
    return fig


def misplaced_figure(res: dict) -> Figure:
    """Exercise 4: MSE of thick slice ``j`` against the thin slices around it.

    gids: ``"mse:<series>"``, ``"best:<series>"``.
    """
    _need(res, "thin_index", "mse", "best", "nearest", "index_guess", "j")
    fig = Figure(figsize=(TEXT_WIDTH_IN * 0.8, 3.0), layout="constrained")
    ax = fig.subplots()
    idx = res["thin_index"]
    for name, mse in res["mse"].items():
        ax.plot(idx, mse, "o-", ms=4, color=_colour(name), label=f"{name} slice {res['j']}", gid=f"mse:{name}")
        b = res["best"][name]
        ax.plot([b], [mse[list(idx).index(b)]], "*", ms=14, color=_colour(name), gid=f"best:{name}")
    ax.axvline(res["nearest"], color="k", ls="--", lw=0.8)
    ax.axvline(res["index_guess"], color=_colour("average"), ls=":", lw=1.2)
    ax.text(res["nearest"], ax.get_ylim()[1], " nearest to the real position", fontsize=7, va="top")
    ax.text(res["index_guess"], ax.get_ylim()[1] * 0.88, " index group's centre", fontsize=7, va="top",
            color=_colour("average"))
    ax.set_xlabel("thin slice index", fontsize=8)
    ax.set_ylabel("MSE (HU²)", fontsize=8)
    ax.legend(fontsize=7, frameon=False, loc="lower right")
    return fig


def wrong_pairs_figure(res: dict) -> Figure:
    """Exercise 5: test error of the linear SR model per training method, and its output.

    gids: ``"sr_rmse"`` (bars), ``"z:thin"``, ``"z:real"``, ``"z:sr:<method>"``.
    """
    _need(res, "table", "thin", "real", "sr")
    methods = list(res["table"])
    fig = Figure(figsize=(TEXT_WIDTH_IN, 3.2), layout="constrained")
    a0, a1 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.8]})
    rm = [res["table"][m]["rmse"] for m in methods]
    a0.bar(range(len(methods)), rm, color=[_colour(m) for m in methods], gid="sr_rmse")
    a0.set_xticks(range(len(methods)), [f"trained on\n{m} pairs" for m in methods], fontsize=7)
    a0.set_ylabel("RMSE vs real thin (HU)", fontsize=8)
    a0.set_title("tested on real thick slices", fontsize=8)
    tp, tv = res["thin"]
    a1.plot(tp, tv, color="0.6", lw=1.5, label="real thin (target)", gid="z:thin")
    rp, rv = res["real"]
    a1.plot(rp, rv, "ks", ms=3, label="real thick (input)", gid="z:real")
    for m, out in res["sr"].items():
        n = min(out.size, tp.size)
        a1.plot(tp[:n], out[:n], lw=1, color=_colour(m), label=f"SR output, {m}-trained", gid=f"z:sr:{m}")
    mid = 0.5 * (tp[0] + tp[-1])
    a1.set_xlim(mid - 12, mid + 12)
    a1.set_xlabel("z (mm), 24 mm of one column: output slice i drawn at thin slice i's position", fontsize=8)
    a1.set_ylabel("HU", fontsize=8)
    a1.legend(fontsize=6.5, frameon=False, loc="upper left", ncol=2)
    return fig
