"""Figures of the fidelity chapters: misplacement and Fig. 4 (chapter 02), Fig. 7 (chapter 03).

Every function takes what :mod:`t2tcore.studies.fig4` or
:mod:`t2tcore.studies.similarity` computed and returns a
:class:`matplotlib.figure.Figure` as wide as the text column. Plotted lines and images
carry a ``gid`` so that tests can read back what was drawn.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from t2tcore.figures.style import HU_WINDOW, method_style, new_figure

__all__ = ["fig4", "fig7", "misplacement"]


def misplacement(offsets: Mapping[str, tuple[Any, Any]], title: str = "") -> Figure:
    """Count alignment: where each method's slice stands, minus the real slice's position.

    Parameters
    ----------
    offsets : mapping
        Method -> (real slice positions (M,) mm, offsets (M,) mm)
        (:func:`t2tcore.studies.fig4.misplacement`).
    title : str

    Returns
    -------
    Figure
        Lines gid ``"offset:<method>"``.
    """
    fig = new_figure(2.8)
    ax = fig.subplots()
    for m, (pos, off) in offsets.items():
        ax.plot(pos, off, ms=3, lw=1, label=m, gid=f"offset:{m}", **method_style(m))
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel("real thick slice position (mm)")
    ax.set_ylabel("position stood for − real (mm)")
    ax.set_title(title, fontsize=8)
    ax.legend(fontsize=7, ncol=3)
    return fig


def fig4(panels: Mapping[str, Any], title: str = "") -> Figure:
    """The paper's Fig. 4: a real thick slice, each method's slice (count alignment) and errors.

    Parameters
    ----------
    panels : mapping
        :func:`t2tcore.studies.fig4.fig4_panels`.
    title : str

    Returns
    -------
    Figure
        3 x (methods + 1) axes. Images: gid ``"real"``, ``"slice:<method>"`` (count
        alignment), ``"error:count:<method>"`` and ``"error:physical:<method>"`` (simulated −
        real, HU, ± ``panels["limit"]``); a shared colour bar.
    """
    ms = list(panels["methods"])
    lo, hi = HU_WINDOW
    lim = panels["limit"]
    fig = new_figure(3.8)
    axes = fig.subplots(3, len(ms) + 1)
    for ax in axes.ravel():
        ax.set_axis_off()
    axes[0, 0].imshow(panels["real"], vmin=lo, vmax=hi, cmap="gray", gid="real")
    axes[0, 0].set_title(f"real thick\nz = {panels['z']:.1f} mm", fontsize=7)
    im = None
    for i, m in enumerate(ms, start=1):
        axes[0, i].imshow(panels["count"][m], vmin=lo, vmax=hi, cmap="gray", gid=f"slice:{m}")
        axes[0, i].set_title(f"{m}\n({panels['offset'][m]:+.1f} mm off)", fontsize=7)
        for row, a in ((1, "count"), (2, "physical")):
            x = panels["error"][(m, a)]
            im = axes[row, i].imshow(x, cmap="RdBu_r", vmin=-lim, vmax=lim, gid=f"error:{a}:{m}")
            axes[row, i].set_title(f"RMSE {np.sqrt(np.mean(x ** 2)):.1f} HU", fontsize=6)
    axes[1, 0].text(0.5, 0.5, "error\n(count)", ha="center", va="center", transform=axes[1, 0].transAxes, fontsize=8)
    axes[2, 0].text(0.5, 0.5, "error\n(physical)", ha="center", va="center", transform=axes[2, 0].transAxes, fontsize=8)
    cb = fig.colorbar(im, ax=axes[1:, :].ravel().tolist(), shrink=0.8)
    cb.set_label(f"simulated − real (HU), ±{lim:.0f}", fontsize=7)
    cb.ax.tick_params(labelsize=7)
    if title:
        fig.suptitle(title, fontsize=8)
    return fig


def fig7(
    curves: Mapping[tuple[int, str], Mapping[str, Any]],
    real_positions: Mapping[int, float],
    methods: Sequence[str],
    title: str = "",
) -> Figure:
    """The paper's Fig. 7: MSE of a thick slice against the thin slices around it, per method.

    Parameters
    ----------
    curves : mapping
        ``(slice index, method) -> similarity_curve result`` (``"real"`` included;
        :attr:`t2tcore.studies.similarity.SimilarityResult.curves`).
    real_positions : mapping
        Slice index -> the real slice's position (mm): the dashed line.
    methods : sequence of str
        Methods drawn after ``"real"``.
    title : str

    Returns
    -------
    Figure
        One axes per slice index; lines gid ``"mse:<j>:<method>"`` (x = thin positions, y =
        MSE in HU², symlog above 1 HU²) and star markers ``"best:<j>:<method>"``.
    """
    shown = sorted({j for j, _ in curves})
    fig = new_figure(3.4)
    axes = np.atleast_1d(fig.subplots(1, len(shown)))
    for ax, j in zip(axes, shown):
        for m in ["real", *methods]:
            if (j, m) not in curves:
                continue
            c = curves[(j, m)]
            st = method_style(m)
            kw = dict(lw=2.2, zorder=5) if m == "real" else dict(lw=1.1)
            ax.plot(c["positions"], c["mse"], marker="o", ms=3, color=st["color"], label=m, gid=f"mse:{j}:{m}", **kw)
            b = list(c["indices"]).index(c["best_index"])
            ax.plot(c["positions"][b], c["mse"][b], marker="*", ms=11, color=st["color"], zorder=6, gid=f"best:{j}:{m}")
        ax.axvline(real_positions[j], color="k", ls="--", lw=0.8)
        c = curves[(j, "real")]
        ax.set_xticks(c["positions"])
        ax.set_xticklabels([f"{i + 1}\n{z:.1f}" for i, z in zip(c["indices"], c["positions"])], fontsize=6)
        ax.set_xlabel("thin slice (number from 1, position in mm)", fontsize=8)
        ax.set_yscale("symlog", linthresh=1.0)  # logarithmic above 1 HU², linear below (a copied slice has MSE 0)
        ax.set_ylim(bottom=0)
        ax.set_ylabel("MSE vs thin slice (HU², symlog)", fontsize=8)
        ax.set_title(f"real thick slice {j + 1} (z = {real_positions[j]:.1f} mm)", fontsize=8)
        ax.tick_params(axis="y", labelsize=7)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig
