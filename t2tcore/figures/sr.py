"""Figures of the SR chapters: Fig. 6, training curves, effects with intervals, errors by region and
along z, slice profiles (chapter 05), Table VI (06).

Every function takes what :mod:`t2tcore.sr` computed and returns a
:class:`matplotlib.figure.Figure` as wide as the text column; plotted lines, bars and images
carry a ``gid`` so tests can read back what was drawn.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from t2tcore.figures.style import HU_WINDOW, method_style, new_figure

__all__ = ["effects_forest", "fig6", "gains", "slice_profiles", "table6_bars", "training_curves", "z_displacement"]

#: Colour of each verdict in the effect plots.
VERDICT_COLOURS = {"better": "C2", "worse": "C3", "inconclusive": "0.55"}


def fig6(
    volumes: Mapping[str, np.ndarray],
    labels: Sequence[str],
    *,
    z_index: int | None = None,
    row: int | None = None,
    pixel_mm: float = 1.0,
    slice_mm: float = 1.0,
    window: tuple[float, float] = HU_WINDOW,
    error_hu: float | None = None,
    titles: Mapping[str, str] | None = None,
    focus: tuple[str, str] | None = None,
) -> Figure:
    """Fig. 6: thin, thick and SR slices with their errors, axially and in a coronal view.

    Parameters
    ----------
    volumes : mapping
        ``"thin"`` (the real thin volume) and every label of ``labels`` -> (Z, Y, X) HU, all
        on the thin grid (e.g. :func:`t2tcore.sr.evaluate.evaluate_case` with ``keep=True``).
    labels : sequence of str
        Columns after ``"thin"``, e.g. ``["linear", "esrgan/average", "esrgan/proposed"]``.
    z_index : int, optional
        Axial slice shown (default: see ``focus``, else the middle one).
    row : int, optional
        Image row of the coronal view (default: see ``focus``, else the middle row).
    focus : (str, str), optional
        Two labels (e.g. the naive- and the proposed-trained model): by default show the axial
        slice and the coronal row where their outputs differ most (mean absolute difference
        inside the body, i.e. where the real thin volume is above -500 HU; slices in the
        outer tenth at either end of the volume are not chosen), which is where a
        misplacement shows.
    pixel_mm, slice_mm : float
        In-plane pixel size and thin slice spacing (mm), for the coronal aspect ratio.
    window : (float, float)
        Display window (HU).
    error_hu : float, optional
        Error colour range ±error_hu (default: the 99th percentile of |error| over labels,
        rounded up to 10 HU, at least 20).
    titles : mapping, optional
        Column titles per label.

    Returns
    -------
    Figure
        4 rows (axial, axial error, coronal, coronal error) x (1 + len(labels)) columns;
        images gid ``"<view>:<label>"`` and ``"<view>-error:<label>"``.
    """
    if "thin" not in volumes:
        raise ValueError("volumes needs the real thin volume under 'thin'")
    missing = [lab for lab in labels if lab not in volumes]
    if missing:
        raise ValueError(f"no volume for {missing}")
    thin = np.asarray(volumes["thin"])
    shapes = {k: np.asarray(volumes[k]).shape for k in ["thin", *labels]}
    if len(set(shapes.values())) != 1:
        raise ValueError(f"volumes must share one shape, got {shapes}")
    z, r = thin.shape[0] // 2, thin.shape[1] // 2
    if focus is not None and all(f in volumes for f in focus):
        d = np.abs(np.asarray(volumes[focus[0]], np.float32) - np.asarray(volumes[focus[1]], np.float32))
        d *= thin > -500.0  # inside the body (air differences are noise)
        edge = thin.shape[0] // 10  # not at the volume's ends, where the input is clamped
        per_z = d.mean(axis=(1, 2))
        z = edge + int(np.argmax(per_z[edge : thin.shape[0] - edge])) if thin.shape[0] > 2 * edge + 1 else int(np.argmax(per_z))
        r = int(np.argmax(d.mean(axis=(0, 2))))
    z = z if z_index is None else int(z_index)
    r = r if row is None else int(row)
    views = {"axial": lambda v: v[z], "coronal": lambda v: v[:, r, :]}
    err = {(view, lab): f(np.asarray(volumes[lab], dtype=np.float32)) - f(thin) for view, f in views.items()
           for lab in labels}
    if error_hu is None:
        e = max([float(np.percentile(np.abs(x), 99)) for x in err.values()] + [0.0])
        error_hu = max(20.0, float(np.ceil(e / 10.0) * 10.0))
    cols = ["thin", *labels]
    aspect = {"axial": 1.0, "coronal": slice_mm / pixel_mm}
    ny, nx = thin.shape[1:]
    ratio = thin.shape[0] * aspect["coronal"] / ny  # coronal height / axial height
    col_in = 6.3 / len(cols)
    fig = new_figure(0.9 + 2 * col_in * ny / nx * (1 + ratio))
    axes = fig.subplots(4, len(cols), squeeze=False, gridspec_kw={"height_ratios": [1, 1, ratio, ratio]})
    im_err = None
    for j, lab in enumerate(cols):
        name = (titles or {}).get(lab, lab)
        for i, view in enumerate(views):
            ax = axes[2 * i, j]
            ax.imshow(views[view](np.asarray(volumes[lab])), cmap="gray", vmin=window[0], vmax=window[1],
                      aspect=aspect[view], gid=f"{view}:{lab}")
            if i == 0:
                ax.set_title(name, fontsize=8)
            axe = axes[2 * i + 1, j]
            if lab != "thin":
                x = err[view, lab]
                im_err = axe.imshow(x, cmap="RdBu_r", vmin=-error_hu, vmax=error_hu, aspect=aspect[view],
                                    gid=f"{view}-error:{lab}")
                axe.set_title(f"RMSE {np.sqrt(np.mean(x.astype(np.float64) ** 2)):.1f} HU", fontsize=7)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    for i, text in enumerate(["axial", "error", "coronal", "error"]):
        axes[i, 0].set_ylabel(text, fontsize=8)
    axes[1, 0].set_axis_off()
    axes[3, 0].set_axis_off()
    axes[2, 0].axhline(z, color="y", lw=0.6)
    axes[0, 0].axhline(r, color="y", lw=0.6)
    if im_err is not None:
        fig.colorbar(im_err, ax=axes[[1, 3], :].ravel().tolist(), shrink=0.6, aspect=30, label="SR − thin (HU)")
    return fig


def training_curves(
    histories: Mapping[str, Sequence[Mapping[str, Any]]],
    untrained: Mapping[str, float] | None = None,
    best_steps: Mapping[str, int] | None = None,
    converged: Mapping[str, bool] | None = None,
) -> Figure:
    """Validation loss during training, relative to the untrained model (= linear interpolation).

    One panel per model (the first part of a ``"model/method/seed"`` label), one colour per
    training simulation, one line style per seed; a filled dot marks the weights kept (lowest
    validation loss), and a run that did not converge ends in an open square.

    Parameters
    ----------
    histories : mapping
        Label -> checkpoint ``history`` (entries with ``step`` and ``val_loss``).
    untrained : mapping, optional
        Label -> validation loss of the untrained model (the checkpoint's
        ``training["val_l2_untrained"]``); default the history's step-0 loss (which for an
        ESRGAN started from an ESRResNet is that ESRResNet's).
    best_steps, converged : mapping, optional
        Label -> the kept step, and whether the run converged.

    Returns
    -------
    Figure
        Lines gid ``"val:<label>"`` with y = val_loss / untrained; dots ``"best:<label>"``.
    """
    models = list(dict.fromkeys(label.split("/")[0] for label in histories))
    fig = new_figure(2.6 if len(models) > 1 else 3.0)
    axes = np.atleast_1d(fig.subplots(1, max(1, len(models)), sharey=True, squeeze=False)[0])
    seeds: dict = {}
    for label, hist in histories.items():
        parts = label.split("/")
        ax = axes[models.index(parts[0])]
        h = [e for e in hist if e.get("val_loss") is not None and np.isfinite(e["val_loss"])]
        base = (untrained or {}).get(label)
        if base is None or not np.isfinite(base):
            base = next((e["val_loss"] for e in h if e["step"] == 0), None)
        if not h or base is None or base <= 0:
            continue
        method = parts[1] if len(parts) > 1 else parts[0]
        style = method_style(method)
        seed = parts[2] if len(parts) > 2 else ""
        ls = seeds.setdefault(seed, ["-", "--", ":", "-."][len(seeds) % 4])
        steps, ratio = [e["step"] for e in h], [e["val_loss"] / base for e in h]
        first_of_method = method not in {ln.get_label() for ln in ax.get_lines()}
        ax.plot(steps, ratio, ls=ls, color=style["color"], lw=1.0, label=method if first_of_method else "_", gid=f"val:{label}")
        b = (best_steps or {}).get(label)
        if b is not None and b in steps:
            ax.plot([b], [ratio[steps.index(b)]], "o", ms=3.5, color=style["color"], gid=f"best:{label}")
        if converged is not None and not converged.get(label, True):
            ax.plot([steps[-1]], [ratio[-1]], "s", ms=4, mfc="none", color=style["color"], gid=f"notconv:{label}")
    for ax, m in zip(axes, models):
        ax.axhline(1.0, color="k", lw=0.6)
        ax.set_title(m, fontsize=8)
        ax.set_xlabel("training step")
        ax.legend(fontsize=5.5, loc="upper right")
    axes[0].set_ylabel("validation L2 / untrained")
    return fig


def gains(verdict: pd.DataFrame, metric: str = "psnr") -> Figure:
    """Each SR model's mean gain over the linear-interpolation baseline, per kernel (and convention).

    Parameters
    ----------
    verdict : DataFrame
        :func:`t2tcore.sr.evaluate.baseline_verdict` (columns ``kernel, model, method,
        mean_diff_<metric>, better``, optionally ``ci_low, ci_high``), optionally several with a
        ``convention`` column.
    metric : str

    Returns
    -------
    Figure
        One panel per (convention,) kernel, one horizontal bar per label, gid
        ``"gain:<kernel>:<model>/<method>"`` (prefixed ``"<convention>:"`` with a convention
        column); bars of models judged better (``better``: the 95 % interval excludes 0) are
        filled, others hatched; a black line spans ``ci_low``..``ci_high`` where given.
    """
    col = f"mean_diff_{metric}"
    if col not in verdict:
        raise ValueError(f"no column {col} in the verdict table")
    v = verdict.assign(convention=verdict["convention"] if "convention" in verdict else "")
    panels = list(dict.fromkeys(zip(v.convention, v.kernel)))
    n_rows = max(len(g) for _, g in v.groupby(["convention", "kernel"]))
    fig = new_figure(0.6 + 0.2 * n_rows)
    axes = fig.subplots(1, len(panels), squeeze=False, sharey=True)[0]
    for ax, (conv, k) in zip(axes, panels):
        d = v[(v.convention == conv) & (v.kernel == k)].reset_index(drop=True)
        for i, row in d.iterrows():
            lab = f"{row['model']}/{row['method']}"
            style = method_style(row["method"])
            ax.barh(i, row[col], color=style["color"], hatch=None if row["better"] else "///",
                    alpha=1.0 if row["better"] else 0.45, gid=(f"{conv}:" if conv else "") + f"gain:{k}:{lab}")
            if {"ci_low", "ci_high"} <= set(d.columns) and np.isfinite(row["ci_low"]):
                ax.plot([row["ci_low"], row["ci_high"]], [i, i], color="k", lw=0.8)
        ax.set_yticks(range(len(d)))
        ax.set_yticklabels([f"{m}/{s}" for m, s in zip(d["model"], d["method"])], fontsize=7)
        ax.axvline(0, color="k", lw=0.6)
        ax.set_title(f"{k}, {conv}" if conv else k, fontsize=8)
        ax.set_xlabel(f"{metric.upper()} − linear" + (" (dB)" if metric == "psnr" else ""), fontsize=7)
    return fig


def table6_bars(ours: pd.DataFrame, paper: pd.DataFrame) -> Figure:
    """Table VI as bars: parameter size, inference time and peak memory, ours beside the paper's.

    Parameters
    ----------
    ours : DataFrame
        Columns ``model``, ``parameter_mb``, ``inference_s``, ``peak_mb`` (one row per model;
        several presets may be given with a ``preset`` column).
    paper : DataFrame
        :func:`t2tcore.sr.evaluate.paper_table6`.

    Returns
    -------
    Figure
        Three panels; bars gid ``"<quantity>:<who>:<model>"``.
    """
    models = list(dict.fromkeys(paper.model))
    groups = [("paper", paper.set_index("model"))]
    for preset, g in (ours.groupby("preset", sort=False) if "preset" in ours else [("ours", ours)]):
        groups.append((f"ours {preset}" if preset != "ours" else "ours", g.set_index("model")))
    fig = new_figure(2.6)
    axes = fig.subplots(1, 3)
    width = 0.8 / len(groups)
    for ax, (q, title) in zip(axes, [("parameter_mb", "parameters (MB)"), ("inference_s", "inference (s/volume)"),
                                     ("peak_mb", "peak memory (MB)")]):
        for gi, (who, g) in enumerate(groups):
            if q not in g:
                continue
            vals = [float(g[q].get(m, np.nan)) for m in models]
            xs = np.arange(len(models)) + (gi - (len(groups) - 1) / 2) * width
            for x, v, m in zip(xs, vals, models):
                if np.isfinite(v):
                    ax.bar(x, v, width, color=f"C{gi}", label=who if m == models[0] else None, gid=f"{q}:{who}:{m}")
        ax.set_xticks(range(len(models)))
        ax.set_xticklabels(models, fontsize=7, rotation=30)
        ax.set_yscale("log")
        ax.set_title(title, fontsize=8)
    axes[0].legend(fontsize=6)
    return fig


def effects_forest(eff: pd.DataFrame, panels: str = "convention", unit: str = "dB") -> Figure:
    """Effects with their 95 % intervals, one row per model and contrast, coloured by verdict.

    Parameters
    ----------
    eff : DataFrame
        :func:`t2tcore.sr.effects.effects` rows of one metric (columns ``kernel, model,
        contrast, mean_diff, ci_low, ci_high, verdict`` and the ``panels`` column).
    panels : str
        Column whose values make the panels (``convention``, or ``region``), one per value.
    unit : str
        The metric's unit, for the axis.

    Returns
    -------
    Figure
        One panel per value of ``panels``; a point (gid ``"effect:<panel>:<kernel>:<model>:<contrast>"``)
        at the mean difference with a line over the interval; dashed line at 0.
    """
    if not len(eff):
        raise ValueError("no effects to plot")
    keys = list(dict.fromkeys(zip(eff.kernel, eff.model, eff.contrast)))
    vals = list(dict.fromkeys(eff[panels]))
    fig = new_figure(0.9 + 0.17 * len(keys))
    axes = fig.subplots(1, len(vals), squeeze=False, sharey=True)[0]
    for ax, v in zip(axes, vals):
        d = eff[eff[panels] == v].set_index(["kernel", "model", "contrast"])
        for i, key in enumerate(keys):
            if key not in d.index:
                continue
            r = d.loc[key]
            r = r.iloc[0] if isinstance(r, pd.DataFrame) else r
            c = VERDICT_COLOURS.get(r["verdict"], "0.55")
            ax.plot([r["ci_low"], r["ci_high"]], [i, i], color=c, lw=1.4)
            ax.plot([r["mean_diff"]], [i], "o", color=c, ms=3.5, gid=f"effect:{v}:{key[0]}:{key[1]}:{key[2]}")
        ax.axvline(0, color="k", lw=0.6, ls="--")
        ax.set_title(str(v), fontsize=8)
        if len(vals) <= 3:
            ax.set_xlabel(f"difference ({unit})", fontsize=7)
        ax.tick_params(labelsize=6)
    if len(vals) > 3:
        fig.supxlabel(f"difference ({unit})", fontsize=7)
    axes[0].set_yticks(range(len(keys)))
    axes[0].set_yticklabels([f"{m} {c} ({k})" for k, m, c in keys], fontsize=6)
    axes[0].invert_yaxis()
    handles = [axes[0].plot([], [], "o-", color=c, label=v)[0] for v, c in VERDICT_COLOURS.items()]
    fig.legend(handles=handles, loc="outside lower center", ncol=3, fontsize=6)
    return fig


def z_displacement(df: pd.DataFrame) -> Figure:
    """The displacement along z of strong edges, per case, for every model and simulation.

    Parameters
    ----------
    df : DataFrame
        Per-case metrics with ``kernel, patient, dose, label, model, method, z_displacement_mm,
        z_abs_displacement_mm`` (one value per case and label; duplicates are dropped).

    Returns
    -------
    Figure
        Two panels (signed median displacement, its magnitude); one row per model/method, a
        dot per case and seed (gid ``"z:<signed|abs>:<model>/<method>"``, one collection each)
        and a bar at the median.
    """
    d = df.drop_duplicates(["kernel", "patient", "dose", "label"])
    d = d[d["z_displacement_mm"].notna()]
    if not len(d):
        raise ValueError("no z displacement measured")
    rows = list(dict.fromkeys(zip(d.model, d.method)))
    fig = new_figure(0.9 + 0.2 * len(rows))
    axes = fig.subplots(1, 2, sharey=True)
    for ax, (col, key, title) in zip(axes, [("z_displacement_mm", "signed", "edge displacement (mm, + = towards +z)"),
                                           ("z_abs_displacement_mm", "abs", "|edge displacement| (mm)")]):
        for i, (m, meth) in enumerate(rows):
            v = d[(d.model == m) & (d.method == meth)][col].to_numpy(float)
            st = method_style(meth)
            jitter = (np.arange(v.size) % 7 - 3) * 0.04
            ax.scatter(v, i + jitter, s=5, color=st["color"], alpha=0.6, gid=f"z:{key}:{m}/{meth}")
            ax.plot([np.median(v)] * 2, [i - 0.3, i + 0.3], color="k", lw=1.2)
        ax.axvline(0, color="k", lw=0.6, ls="--")
        ax.set_xlabel(title, fontsize=7)
        ax.tick_params(labelsize=6)
    axes[0].set_yticks(range(len(rows)))
    axes[0].set_yticklabels([f"{m}/{s}" for m, s in rows], fontsize=6)
    axes[0].invert_yaxis()
    return fig


def slice_profiles(profiles: Mapping[str, tuple], table: pd.DataFrame, labels: Sequence[str] | None = None) -> Figure:
    """Profiles across a thin disk (normalised to their peak), with each one's FWHM.

    Parameters
    ----------
    profiles : mapping
        Label -> (position mm, signal) (:func:`t2tcore.sr.slice_profile.measure_profiles`).
    table : DataFrame
        Its table (``label, method, fwhm_mm``).
    labels : sequence of str, optional
        Which to draw (default all).

    Returns
    -------
    Figure
        Lines gid ``"ssp:<label>"`` (y = signal / peak); the real series black (thin solid,
        thick dotted).
    """
    labels = list(profiles) if labels is None else list(labels)
    t = table.set_index("label")
    fig = new_figure(2.6 + 0.12 * math.ceil(len(labels) / 4))
    ax = fig.subplots()
    for lab in labels:
        u, s = profiles[lab]
        peak = float(np.max(s)) if np.max(s) > 0 else 1.0
        meth = t.loc[lab, "method"]
        st = {"color": "k"} if meth == "real" else {"color": method_style(meth)["color"]}
        ls = ":" if lab == "thick" else ("-" if meth in ("real", "proposed") else "--")
        ax.plot(u, np.asarray(s) / peak, ls=ls, lw=1.5 if meth == "real" else 0.9, **st, gid=f"ssp:{lab}",
                label=f"{lab} ({t.loc[lab, 'fwhm_mm']:.2f} mm)")
    ax.axhline(0.5, color="0.6", lw=0.5)
    ax.set_xlabel("z from the disk (mm)")
    ax.set_ylabel("signal / peak")
    fig.legend(loc="outside lower center", fontsize=5.5, ncol=4)
    return fig
