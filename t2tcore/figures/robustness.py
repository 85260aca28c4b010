"""Figures of the robustness chapter (04): calibrated kernels, and error against each scanner setting.

Every function takes what :func:`t2tcore.studies.robustness.sweep` and
:func:`~t2tcore.studies.robustness_report.ranking` made and returns a
:class:`matplotlib.figure.Figure` as wide as the text column. Plotted lines carry a ``gid``
so that tests can read back what was drawn.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from t2tcore.figures.style import method_style, new_figure

__all__ = ["AXIS_LABELS", "calibrated_kernels", "error_vs_setting"]

#: x-axis label of each setting axis.
AXIS_LABELS = {"z_weighting": "reconstruction z-weighting", "pitch": "pitch", "row_width": "row width (mm)"}


def _unit_area(k: np.ndarray, dz: np.ndarray) -> np.ndarray:
    return k / np.trapezoid(k, dz)


def calibrated_kernels(
    profiles,
    references: Mapping[str, Callable[[np.ndarray], np.ndarray]],
    *,
    dose: str = "noiseless",
    dz: Any = None,
    axes_order: Sequence[str] = ("z_weighting", "pitch", "row_width"),
) -> Figure:
    """Shapes of the calibrated kernels per setting, beside fixed kernels, each of unit area.

    Parameters
    ----------
    profiles : pandas.DataFrame
        The profiles of :func:`t2tcore.studies.robustness.sweep` (columns ``axis, value,
        dose, fwhm_mm, profile``; ``profile`` is callable on distances in mm).
    references : mapping
        Label -> kernel callable (e.g. the triangle and the Gaussian of 3 mm), drawn black.
    dose : str
        Which dose's profiles to draw.
    dz : array_like, optional
        Distances (mm); default 401 points over ± 5 mm.
    axes_order : sequence of str
        One panel per setting axis.

    Returns
    -------
    Figure
        One axes per setting axis; lines gid ``"kernel:<axis>:<value>"`` (the profile divided by
        its trapezoid area) and ``"reference:<label>"``.
    """
    x = np.linspace(-5, 5, 401) if dz is None else np.asarray(dz, dtype=float)
    fig = new_figure(3.9)
    axes = np.atleast_1d(fig.subplots(1, len(axes_order), sharey=True))
    styles = ["k--", "k:", "k-."]
    for ax, axis in zip(axes, axes_order):
        sub = profiles[(profiles["axis"] == axis) & (profiles["dose"] == dose)]
        for _, row in sub.iterrows():
            ax.plot(x, _unit_area(row["profile"](x), x), lw=1.2, label=f"{row['value']} ({row['fwhm_mm']:.2f})",
                    gid=f"kernel:{axis}:{row['value']}")
        for i, (label, kern) in enumerate(references.items()):
            ax.plot(x, _unit_area(kern(x), x), styles[i % 3], lw=1, label=label, gid=f"reference:{label}")
        ax.set_title(f"vs {axis} ({dose})", fontsize=8)
        ax.set_xlabel("z distance (mm)", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6, title="setting (FWHM mm)", title_fontsize=6, loc="upper center",
                  bbox_to_anchor=(0.5, -0.22), frameon=False)
    axes[0].set_ylabel("weight (unit area)", fontsize=8)
    return fig


def error_vs_setting(
    rk,
    methods: Sequence[str],
    doses: Sequence[str],
    *,
    base: Mapping[str, Any] | None = None,
    log: bool = True,
    labels: Mapping[str, str] | None = None,
    axes_order: Sequence[str] = ("z_weighting", "pitch", "row_width"),
) -> Figure:
    """Mean error (± SD over test phantoms) of each method against each setting, per dose.

    Parameters
    ----------
    rk : pandas.DataFrame
        :func:`t2tcore.studies.robustness_report.ranking` (``axis, value, dose, method, mean,
        sd``).
    methods : sequence of str
        Methods drawn.
    doses : sequence of str
        One row of panels each.
    base : mapping, optional
        Axis -> the base setting's value, marked by a grey band.
    log : bool
        Logarithmic y axis (else linear from 0).
    labels : mapping, optional
        Legend label per method.
    axes_order : sequence of str
        One column of panels per setting axis.

    Returns
    -------
    Figure
        len(doses) x len(axes) axes; error bars with gid ``"error:<dose>:<axis>:<method>"``
        (x: the values, or 0..n-1 for categorical z-weightings; y: mean; yerr: SD, 0 where
        missing) and one legend below.
    """
    labels = dict(labels or {})
    fig = new_figure(2.4 * len(doses) + 0.8)
    axes = fig.subplots(len(doses), len(axes_order), sharey="row" if log else False, squeeze=False)
    for r, dose in enumerate(doses):
        for c, axis in enumerate(axes_order):
            ax = axes[r, c]
            sub = rk[(rk["axis"] == axis) & (rk["dose"] == dose)]
            values = list(dict.fromkeys(sub["value"]))
            categorical = axis == "z_weighting"
            x = np.arange(len(values)) if categorical else np.array(values, dtype=float)
            for m in methods:
                s = sub[sub["method"] == m].set_index("value").loc[values]
                eb = ax.errorbar(x, s["mean"], yerr=s["sd"].fillna(0), capsize=2, ms=4, lw=1,
                                 label=labels.get(m, m), **method_style(m))
                eb.lines[0].set_gid(f"error:{dose}:{axis}:{m}")
            if categorical:
                ax.set_xticks(x, values, fontsize=7)
            if base is not None and axis in base:
                ax.axvline(values.index(base[axis]) if categorical else base[axis], color="0.85", lw=4, zorder=0)
            if log:
                ax.set_yscale("log")
            else:
                ax.set_ylim(bottom=0)
            ax.set_xlabel(AXIS_LABELS.get(axis, axis), fontsize=8)
            ax.set_title(f"{dose}", fontsize=8)
            ax.tick_params(labelsize=7)
            ax.grid(True, which="both", alpha=0.3)
        axes[r, 0].set_ylabel("RMSE in body (HU)", fontsize=8)
    handles, lab = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, lab, loc="outside lower center", ncol=min(len(lab), 6), fontsize=7)
    return fig
