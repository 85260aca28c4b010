"""Figures of the simulation walkthrough (chapter 00): slices, weights, positions, coronal views.

Every function takes what the chapter computed (positions in mm, weights, volumes in HU)
and returns a :class:`matplotlib.figure.Figure` as wide as the text column. Plotted data
carry a ``gid`` (e.g. ``"positions:average"``) so that tests can read back what was drawn.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from t2tcore.figures.style import method_style, new_figure

__all__ = ["coronal_inputs", "coronal_methods", "positions", "thin_layout", "weights", "z_lines"]

_GREY = dict(shading="nearest", vmin=-200, vmax=450, cmap="gray")
_RED_BLUE = dict(shading="nearest", cmap="RdBu_r", vmin=-150, vmax=150)


def thin_layout(thin_positions: Any, thin_thickness: float) -> Figure:
    """The thin slices as slabs along z (alternate rows), and the spacing between neighbours.

    Parameters
    ----------
    thin_positions : array_like, shape (n,)
        Increasing positions, mm.
    thin_thickness : float
        Slab width, mm.

    Returns
    -------
    Figure
        Two axes: slabs (one ``Rectangle`` per slice, gid ``"slab"``), spacing against the
        midpoint between neighbours (gid ``"spacing"``).
    """
    pos = np.asarray(thin_positions, dtype=float)
    if pos.ndim != 1 or pos.size < 2:
        raise ValueError("thin_positions must hold at least 2 positions")
    fig = new_figure(3.2)
    a0, a1 = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1, 1.4]})
    for i, p in enumerate(pos):
        a0.add_patch(Rectangle((p - thin_thickness / 2, 0.1 + 0.4 * (i % 2)), thin_thickness, 0.4,
                               color="C0", alpha=0.55, gid="slab"))
    a0.set_ylim(0, 1)
    a0.set_yticks([])
    a0.set_title(f"thin slices: {thin_thickness:g} mm slabs (alternate rows)", fontsize=9)
    a1.plot(pos[1:] - np.diff(pos) / 2, np.diff(pos), "o-", ms=3, gid="spacing")
    a1.set_ylabel("spacing (mm)")
    a1.set_xlabel("z (mm)")
    a1.set_xlim(pos[0] - 2, pos[-1] + 2)
    return fig


def weights(
    dz: Any,
    shapes: Mapping[str, Any],
    thin_positions: Any,
    method_weights: Mapping[str, Any],
    method_positions: Mapping[str, float],
    ref_position: float,
    index: int,
    thickness: float,
) -> Figure:
    """Weight shapes (top) and the weights each method gives the thin slices for one thick slice.

    Parameters
    ----------
    dz : array_like, shape (k,)
        Distances p - l (mm) where ``shapes`` are sampled.
    shapes : mapping
        Label -> weight shape on ``dz`` (peak 1), e.g. the triangle and a Gaussian.
    thin_positions : array_like, shape (n,)
        Thin slice positions, mm.
    method_weights : mapping
        Method -> weights of the ``n`` thin slices in its thick slice ``index``.
    method_positions : mapping
        Method -> the position (mm) it returns for that thick slice.
    ref_position : float
        The scanner's thick slice ``index`` (mm).
    index : int
        Which thick slice (for the title).
    thickness : float
        Thickness (mm): the x range of the lower panel is ± 2.5 thicknesses.

    Returns
    -------
    Figure
        Lines gid ``"shape:<label>"``; per method a LineCollection gid ``"weights:<method>"``
        (one segment per thin slice with a weight above 1e-6, height weight / max) and a
        marker gid ``"position:<method>"``.
    """
    tp = np.asarray(thin_positions, dtype=float)
    fig = new_figure(5.6)
    a0, a1 = fig.subplots(2, 1, gridspec_kw={"height_ratios": [1, 1.5]})
    x = np.asarray(dz, dtype=float)
    for label, y in shapes.items():
        a0.plot(x, np.asarray(y, dtype=float), label=label, gid=f"shape:{label}")
    a0.axhline(0.5, color="0.7", lw=0.8, ls=":")
    a0.set_xlabel("p − l (mm)")
    a0.set_ylabel("weight (peak = 1)")
    a0.legend(fontsize=7)
    a0.set_title("weight shapes", fontsize=9)
    a1.plot(tp, np.full_like(tp, 1.2), "|", color="0.4", ms=9, label="thin slices")
    methods = list(method_weights)
    for row, m in enumerate(methods):
        w = np.asarray(method_weights[m], dtype=float)
        nz = w > 1e-6
        base = -1.3 * (row + 1)
        st = method_style(m)
        a1.vlines(tp[nz], base, base + w[nz] / w.max(), color=st["color"], lw=2.5, gid=f"weights:{m}")
        a1.plot(method_positions[m], base - 0.12, "^", color=st["color"], ms=7, gid=f"position:{m}")
    a1.axvline(ref_position, color="red", ls="--", lw=1.2, label=f"scanner's thick slice #{index}")
    a1.set_yticks([1.2] + [-1.3 * (r + 1) + 0.5 for r in range(len(methods))], ["thin"] + methods)
    a1.set_xlim(ref_position - 2.5 * thickness, ref_position + 2.5 * thickness)
    a1.set_ylim(-1.3 * len(methods) - 0.4, 1.7)
    a1.set_xlabel("z (mm)")
    a1.legend(fontsize=7, loc="lower left")
    a1.set_title(f"weights of thick slice #{index} (▲ its returned position)", fontsize=9)
    return fig


def positions(thin_positions: Any, ref_positions: Any, method_positions: Mapping[str, Any]) -> Figure:
    """Where each method's thick slices land against the scanner's grid, and their drift.

    Parameters
    ----------
    thin_positions : array_like, shape (n,)
        mm.
    ref_positions : array_like, shape (m,)
        The scanner's thick slices, mm.
    method_positions : mapping
        Method -> positions of its thick slices, mm.

    Returns
    -------
    Figure
        Top: one row per method (gid ``"positions:<method>"``, x = positions); bottom: slice
        index j against position j minus the scanner's position j (gid ``"drift:<method>"``),
        for the slices both have.
    """
    ref = np.asarray(ref_positions, dtype=float)
    tp = np.asarray(thin_positions, dtype=float)
    methods = list(method_positions)
    fig = new_figure(5.0)
    a0, a1 = fig.subplots(2, 1, gridspec_kw={"height_ratios": [1.2, 1]})
    for p in ref:
        a0.axvline(p, color="red", lw=0.8, alpha=0.6)
    for row, m in enumerate(methods):
        pos = np.asarray(method_positions[m], dtype=float)
        a0.plot(pos, np.full(pos.size, row), ls="", ms=4, gid=f"positions:{m}", **method_style(m))
    a0.plot(tp, np.full_like(tp, len(methods)), "|", color="0.3", ms=9)
    a0.set_yticks(range(len(methods) + 1), methods + ["thin slices"])
    a0.invert_yaxis()
    a0.set_xlabel("z (mm)")
    a0.set_title("thick slice positions (red: the scanner's grid s + k·d)", fontsize=9)
    for row, m in enumerate(methods):
        pos = np.asarray(method_positions[m], dtype=float)
        n = min(pos.size, ref.size)
        a1.plot(np.arange(n), pos[:n] - ref[:n], ms=8 - 1.2 * row, mfc="none", label=m, gid=f"drift:{m}",
                **method_style(m))
    a1.axhline(0, color="red", lw=0.8)
    a1.set_xlabel("thick slice index j")
    a1.set_ylabel("position − scanner's (mm)")
    a1.legend(fontsize=7, loc="upper left")
    return fig


def coronal_inputs(x: Any, panels: Sequence[tuple[str, Any, Any]]) -> Figure:
    """Coronal images drawn at the physical positions of their slices (grey −200…450 HU).

    Parameters
    ----------
    x : array_like, shape (X,)
        Pixel centres along x, mm.
    panels : sequence of (title, image (Z, X) HU, z (Z,) mm)

    Returns
    -------
    Figure
        One axes per panel; each holds one QuadMesh (gid ``"coronal:<title>"``).
    """
    fig = new_figure(3.3)
    axes = np.atleast_1d(fig.subplots(1, len(panels), sharey=True))
    for ax, (name, img, z) in zip(axes, panels):
        ax.pcolormesh(x, z, img, gid=f"coronal:{name}", **_GREY)
        ax.set_title(name, fontsize=9)
        ax.set(xlabel="x (mm)", aspect="equal")
    axes[0].set_ylabel("z (mm)")
    return fig


def coronal_methods(x: Any, images: Mapping[str, tuple[Any, Any]], errors: Mapping[str, Any], zlim) -> Figure:
    """Each method's coronal view (top) and its error (bottom, −150…150 HU).

    Parameters
    ----------
    x : array_like, shape (X,)
        Pixel centres along x, mm.
    images : mapping
        Method -> (image (Z, X) HU, z (Z,) mm).
    errors : mapping
        Method -> error image (Z, X) HU on the same z.
    zlim : (float, float)
        z range shown, mm.

    Returns
    -------
    Figure
        2 x n image axes (QuadMesh gids ``"image:<method>"`` and ``"error:<method>"``) and a
        colour bar.
    """
    methods = list(images)
    fig = new_figure(3.2)
    axes = fig.subplots(2, len(methods), sharex=True, sharey=True, squeeze=False)
    im = None
    for col, m in enumerate(methods):
        img, z = images[m]
        axes[0, col].pcolormesh(x, z, img, gid=f"image:{m}", **_GREY)
        im = axes[1, col].pcolormesh(x, z, errors[m], gid=f"error:{m}", **_RED_BLUE)
        axes[0, col].set_title(m, fontsize=8)
        axes[1, col].set_xlabel("x (mm)", fontsize=8)
    for ax in axes.flat:
        ax.set(aspect="equal", ylim=tuple(zlim))
        ax.tick_params(labelsize=7)
    axes[0, 0].set_ylabel("z (mm)")
    axes[1, 0].set_ylabel("error, z (mm)")
    fig.colorbar(im, ax=axes[1, :], shrink=0.9, label="HU")
    return fig


def z_lines(
    z_object: Any,
    z_reference: Any,
    lines: Sequence[tuple[str, Any, Any, Mapping[str, tuple[Any, Any]]]],
    xlim,
) -> Figure:
    """Values along z through one pixel: the object, the reference profile and each method.

    Parameters
    ----------
    z_object : array_like
        Planes where the object is sampled, mm.
    z_reference : array_like
        Positions of the (dense) reference slices, mm.
    lines : sequence of (title, object values, reference values, {method: (positions, values)})
        One panel each.
    xlim : (float, float)
        z range shown, mm.

    Returns
    -------
    Figure
        Per panel: lines gid ``"object"``, ``"reference"`` and ``"method:<m>"``.
    """
    fig = new_figure(3.6)
    axes = np.atleast_1d(fig.subplots(1, len(lines)))
    for ax, (name, obj, ref, methods) in zip(axes, lines):
        ax.plot(z_object, obj, color="0.75", lw=1, label="object", gid="object")
        ax.plot(z_reference, ref, color="k", lw=1.5, label="reference (triangle)", gid="reference")
        for row, (m, (pos, val)) in enumerate(methods.items()):
            ax.plot(pos, val, ls="", ms=7 - row, mfc="none", label=m, gid=f"method:{m}", **method_style(m))
        ax.set_xlim(*xlim)
        ax.set_xlabel("z (mm)")
        ax.set_ylabel("HU")
        ax.set_title(name, fontsize=9)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=4, fontsize=7)
    return fig
