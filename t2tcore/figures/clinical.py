"""Figures of chapter 07 (clinical relevance): airway trees, Dice, Kaplan-Meier curves, feature agreement.

Each function takes tables or arrays that :mod:`t2tcore.clinical` made and returns a
:class:`matplotlib.figure.Figure` (never shown here). Artists carry gids (``"mip:<label>"``,
``"km:<input>:<tertile>"``, ...) so tests can read back what was drawn.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from t2tcore.figures.style import new_figure

__all__ = ["INPUT_COLOURS", "airway_mips", "segmentation_scores", "km_curves", "feature_agreement"]

#: One colour per input of the clinical study (same in every figure).
INPUT_COLOURS = {"truth": "k", "thin": "0.45", "thick": "C3", "SR naive": "C1", "SR proposed": "C0"}

_TITLES = {"truth": "true airways", "thin": "thin", "thick": "thick (linear in z)", "SR naive": "SR naive",
           "SR proposed": "SR proposed"}


def airway_mips(masks: Mapping[str, np.ndarray], spacing: Sequence[float],
                labels: Sequence[str] = ("truth", "thick", "SR naive", "SR proposed"), title: str | None = None,
                margin_px: int = 4):
    """Maximum-intensity projections of airway masks: coronal (top row) and axial (bottom row), per input.

    Every panel is cropped to the bounding box of all the masks shown (plus ``margin_px``)
    and keeps the physical aspect.

    Parameters
    ----------
    masks : mapping of label -> (Z, Y, X) bool array
        Masks on one grid (slices ascending in z: in the coronal row the head is at the top).
    spacing : (dz, dy, dx)
        mm.
    labels : sequence of str
        Masks to show, in order.
    title : str, optional
        Figure title.
    margin_px : int
        Pixels around the union of the masks.
    """
    if not labels:
        raise ValueError("no masks to show")
    shapes = {np.shape(masks[k]) for k in labels}
    if len(shapes) != 1:
        raise ValueError(f"masks of different shapes: {sorted(shapes)}")
    dz, dy, dx = (float(s) for s in spacing)
    union = np.zeros(next(iter(shapes)), dtype=bool)
    for k in labels:
        union |= np.asarray(masks[k], dtype=bool)
    if union.any():
        ys, xs = np.nonzero(union.any(axis=(0, 2)))[0], np.nonzero(union.any(axis=(0, 1)))[0]
        y0, y1 = max(ys[0] - margin_px, 0), min(ys[-1] + 1 + margin_px, union.shape[1])
        x0, x1 = max(xs[0] - margin_px, 0), min(xs[-1] + 1 + margin_px, union.shape[2])
    else:
        y0, y1, x0, x1 = 0, union.shape[1], 0, union.shape[2]
    width_mm, depth_mm, height_mm = (x1 - x0) * dx, (y1 - y0) * dy, union.shape[0] * dz
    panel_w = 7.0 / len(labels)
    fig = new_figure(min(8.0, 0.6 + panel_w * (height_mm + depth_mm) / width_mm + 0.5))
    axes = fig.subplots(2, len(labels), squeeze=False, height_ratios=[max(height_mm, 1e-3), max(depth_mm, 1e-3)])
    for col, k in enumerate(labels):
        m = np.asarray(masks[k], dtype=bool)[:, y0:y1, x0:x1]
        for row, (img, aspect, gid) in enumerate(((m.max(axis=1)[::-1], dz / dx, "mip:"),
                                                  (m.max(axis=0), dy / dx, "axial:"))):
            ax = axes[row, col]
            im = ax.imshow(img.astype(float), cmap="gray_r", vmin=0, vmax=1, interpolation="nearest", aspect=aspect)
            im.set_gid(f"{gid}{k}")
            ax.set_xticks([])
            ax.set_yticks([])
        vol = np.asarray(masks[k], dtype=bool).sum() * dz * dy * dx / 1000
        axes[0, col].set_title(f"{_TITLES.get(k, k)}\n{vol:.1f} ml", fontsize=8)
    axes[0, 0].set_ylabel("coronal", fontsize=7)
    axes[1, 0].set_ylabel("axial", fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def segmentation_scores(segmentation, inputs: Sequence[str]):
    """Per-patient Dice and branch detection of each input (points, with the median as a bar).

    Parameters
    ----------
    segmentation : DataFrame
        :attr:`t2tcore.studies.clinical.StudyResult.segmentation` (with ``dice`` and
        ``branches_detected``).
    inputs : sequence of str
        Inputs to show, in order.
    """
    fig = new_figure(2.6)
    axes = fig.subplots(1, 2)
    rng = np.random.default_rng(0)
    for ax, col, name in zip(axes, ("dice", "branches_detected"), ("Dice", "branches detected")):
        for i, k in enumerate(inputs):
            y = segmentation.loc[segmentation.input == k, col].to_numpy(dtype=float)
            x = i + rng.uniform(-0.15, 0.15, y.size)
            pts = ax.scatter(x, y, s=8, color=INPUT_COLOURS.get(k, "0.5"), alpha=0.7)
            pts.set_gid(f"{col}:{k}")
            med = ax.plot([i - 0.3, i + 0.3], [np.nanmedian(y)] * 2, color="k", lw=1.5)[0]
            med.set_gid(f"{col}:median:{k}")
        ax.set_xticks(range(len(inputs)))
        ax.set_xticklabels(inputs, rotation=20, fontsize=8)
        ax.set_ylabel(name)
        ax.set_ylim(0, 1)
    return fig


def km_curves(km: Mapping[str, dict], feature: str, time_unit: str = "years"):
    """Kaplan-Meier curves of the tertiles of one feature, one panel per input, log-rank p in the title.

    Parameters
    ----------
    km : mapping of input -> dict
        :func:`t2tcore.studies.clinical.km_study` output.
    feature : str
        The feature the tertiles are of (axis label).
    time_unit : str
    """
    names = list(km)
    fig = new_figure(2.5 if len(names) <= 3 else 4.6)
    ncol = min(len(names), 3 if len(names) <= 3 else 2)
    nrow = int(np.ceil(len(names) / ncol))
    axes = np.atleast_1d(fig.subplots(nrow, ncol, sharex=True, sharey=True)).ravel()
    for ax, name in zip(axes, names):
        for k, (label, t, s) in enumerate(km[name]["curves"]):
            ln = ax.step(np.r_[0.0, t], np.r_[1.0, s], where="post", color=("C2", "C1", "C3")[k], label=label)[0]
            ln.set_gid(f"km:{name}:{k}")
        lr = km[name]["logrank"]
        ax.set_title(f"{name}: log-rank p = {lr['p']:.3g}", fontsize=8)
        ax.legend(fontsize=6, title=feature, title_fontsize=6, loc="lower left")
        ax.set_ylim(0, 1.02)
    for ax in axes[len(names):]:
        ax.set_visible(False)
    for ax in axes[(nrow - 1) * ncol:]:
        ax.set_xlabel(f"time ({time_unit})")
    for ax in axes[::ncol]:
        ax.set_ylabel("survival")
    return fig


def feature_agreement(features: Mapping[str, object], reference, inputs: Sequence[str], columns: Sequence[str]):
    """Each input's feature against the reference's, patient by patient, one panel per feature.

    Parameters
    ----------
    features : mapping of input -> DataFrame
        Patients x features.
    reference : DataFrame
        The reference features (true mask on the thin image).
    inputs, columns : sequences of str
        Inputs and features to show.
    """
    fig = new_figure(2.4 * int(np.ceil(len(columns) / 3)))
    nrow = int(np.ceil(len(columns) / 3))
    axes = np.atleast_1d(fig.subplots(nrow, 3)).ravel()
    for ax, f in zip(axes, columns):
        ref = reference[f]
        lo, hi = np.inf, -np.inf
        for k in inputs:
            tab = features[k]
            common = tab.index.intersection(ref.index)
            x, y = ref.loc[common].to_numpy(float), tab.loc[common, f].to_numpy(float)
            pts = ax.scatter(x, y, s=6, color=INPUT_COLOURS.get(k, "0.5"), label=k, alpha=0.8)
            pts.set_gid(f"agree:{f}:{k}")
            ok = np.isfinite(x) & np.isfinite(y)
            if ok.any():
                lo, hi = min(lo, x[ok].min(), y[ok].min()), max(hi, x[ok].max(), y[ok].max())
        if np.isfinite(lo):
            ax.plot([lo, hi], [lo, hi], color="k", lw=0.6, ls=":")
        ax.set_title(f, fontsize=8)
        ax.tick_params(labelsize=6)
        ax.set_xlabel("true mask, thin", fontsize=7)
    axes[0].legend(fontsize=6)
    for ax in axes[len(columns):]:
        ax.set_visible(False)
    return fig
