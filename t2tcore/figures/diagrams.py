"""Explanatory diagrams of the book: our own drawings of the ideas of the paper's Figs 1–2.

Each function draws one idea along the patient axis ``z`` (mm) and returns a
``matplotlib.figure.Figure`` (made without pyplot, so nothing is shown twice in a notebook):

* :func:`thin_and_thick` — what a thin and a thick series record of a small structure;
* :func:`thickness_vs_interval` — thickness ``t`` and interval ``d`` are two settings;
* :func:`slice_misplacement` — where index-based simulations put their slices, against the
  scanner's grid and Algorithm 1 (the paper's Fig. 2a–b);
* :func:`weight_functions` — the triangle of Algorithm 2 beside a Gaussian and a box;
* :func:`algorithm2_weights` — the normalised weights of one thick slice over irregular thin
  slices.

The positions and weights drawn come from the package itself (:func:`misplacement_positions`
runs :func:`t2tcore.simulation.simulate_thick`; the kernels are
:func:`t2tcore.simulation.triangle_kernel` and :func:`~t2tcore.simulation.gaussian_kernel`),
so a diagram shows what the code does. Plotted data carry a ``gid`` (e.g.
``"positions:average"``) so that tests can read back what was drawn.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from t2tcore import paper as _paper
from t2tcore.figures import TEXT_WIDTH_IN
from t2tcore.figures.style import method_style

__all__ = [
    "slab_average",
    "misplacement_positions",
    "thin_and_thick",
    "thickness_vs_interval",
    "slice_misplacement",
    "weight_functions",
    "algorithm2_weights",
]

# colours of the diagrams: the book's method colours (t2tcore.figures.style); the scanner's own
# (real) thick slices in black as everywhere in the book
_COLOURS = {
    "thin": "0.45",
    "thick": method_style("proposed")["color"],
    "scanner": method_style("real")["color"],
    **{m: method_style(m)["color"] for m in ("proposed", "average", "direct", "gaussian", "gaussian_z")},
}


def _check_positive(**values: float) -> None:
    for name, v in values.items():
        if not (np.isfinite(v) and v > 0):
            raise ValueError(f"{name} must be a finite number > 0 (mm), got {v}")


# ------------------------------------------------------------------------------ data
def slab_average(centres: Sequence[float], width: float, lo: float, hi: float) -> np.ndarray:
    """Mean of a unit box structure ``[lo, hi]`` (mm) seen through rect slabs of ``width``.

    The value a slice of a rect slice profile records of a structure of contrast 1 that fills
    ``lo <= z <= hi``: the length of the overlap of ``[c - width/2, c + width/2]`` with the
    structure, divided by ``width``.

    Parameters
    ----------
    centres : array_like, shape (n,)
        Slice centres, mm.
    width : float
        Slice thickness, mm (> 0).
    lo, hi : float
        The structure's extent along z, mm (``lo < hi``).

    Returns
    -------
    ndarray, shape (n,), float64
        Values in [0, 1].
    """
    _check_positive(width=width)
    if not hi > lo:
        raise ValueError(f"the structure needs lo < hi, got [{lo}, {hi}] mm")
    c = np.asarray(centres, dtype=np.float64)
    overlap = np.minimum(c + width / 2, hi) - np.maximum(c - width / 2, lo)
    return np.clip(overlap, 0.0, None) / width


def misplacement_positions(
    n_thin: int,
    thin_interval: float = 0.8,
    thin_thickness: float = 1.0,
    thickness: float = 3.0,
    interval: float = 2.0,
    start: float = 0.0,
) -> dict[str, np.ndarray]:
    """Slice positions of each way of making thick slices from a regular thin series.

    Runs :func:`t2tcore.simulation.simulate_thick` on a ``(n_thin, 1, 1)`` volume and keeps the
    positions it reports, so the diagram shows what the package does.

    Parameters
    ----------
    n_thin : int
        Number of thin slices (>= 1), at ``start + i * thin_interval``.
    thin_interval, thin_thickness : float
        Thin spacing and thickness, mm.
    thickness, interval : float
        Wanted thick thickness ``t`` and interval ``d``, mm.
    start : float
        First thin position, mm.

    Returns
    -------
    dict of str to ndarray (float64, mm)
        ``"thin"``; ``"scanner"`` (a scanner's thick grid ``s + k d`` over the same range, which
        is what Algorithm 1 reproduces); ``"proposed"`` (Algorithm 1), ``"average"`` (group
        means of ``k = round(t / thin_thickness)`` slices) and ``"direct"`` (each group's
        centre slice).
    """
    from t2tcore.simulation import simulate_thick

    if int(n_thin) != n_thin or n_thin < 1:
        raise ValueError(f"n_thin must be a positive integer, got {n_thin}")
    _check_positive(thin_interval=thin_interval, thin_thickness=thin_thickness, thickness=thickness,
                    interval=interval)
    thin = float(start) + thin_interval * np.arange(int(n_thin), dtype=np.float64)
    vol = np.zeros((thin.size, 1, 1), dtype=np.float32)
    out = {"thin": thin}
    n_grid = int(np.floor((thin[-1] - thin[0]) / interval + 1e-9)) + 1
    out["scanner"] = thin[0] + interval * np.arange(n_grid)
    for method in ("proposed", "average", "direct"):
        _, pos = simulate_thick(vol, thin, thickness, interval, method=method, thin_thickness=thin_thickness)
        out[method] = np.asarray(pos, dtype=np.float64)
    return out


# ------------------------------------------------------------------------- drawing
def _slabs(ax, centres, width, y, height, colour, gid, alternate=True):
    """Draw slices as rectangles of ``width`` centred at ``centres`` (alternating rows)."""
    for i, c in enumerate(centres):
        dy = (i % 2) * height * 1.1 if alternate else 0.0
        ax.add_patch(Rectangle((c - width / 2, y + dy), width, height, facecolor=colour, alpha=0.35,
                               edgecolor=colour, lw=0.8))
    ax.plot(centres, np.full(len(centres), y - 0.12), "|", color=colour, ms=6, gid=gid)


def thin_and_thick(
    thin_thickness: float = 1.0,
    thin_interval: float = 0.8,
    thickness: float = 3.0,
    interval: float = 2.0,
    structure_mm: float = 2.0,
    span_mm: float = 16.0,
) -> Figure:
    """Thin and thick slices of the same stretch of ``z``, and what each records of a small
    structure.

    Top: the thin series (slabs of ``thin_thickness`` every ``thin_interval``) and the thick
    series (slabs of ``thickness`` every ``interval``), drawn on alternating rows so that
    overlaps show. Bottom: a structure ``structure_mm`` long along ``z`` (contrast 1) and the
    value each slice records of it (:func:`slab_average`, rect slice profiles): the thick
    slices spread it over more slices at a lower peak.

    Returns
    -------
    matplotlib.figure.Figure
        ``TEXT_WIDTH_IN`` wide. Data gids: ``"positions:thin"``, ``"positions:thick"``,
        ``"recorded:thin"``, ``"recorded:thick"``.
    """
    _check_positive(thin_thickness=thin_thickness, thin_interval=thin_interval, thickness=thickness,
                    interval=interval, structure_mm=structure_mm, span_mm=span_mm)
    thin = np.arange(0.0, span_mm + 1e-9, thin_interval)
    thick = np.arange(0.0, span_mm + 1e-9, interval)
    lo = span_mm / 2 - structure_mm / 2 + 0.3 * thin_interval  # not centred on any grid on purpose
    hi = lo + structure_mm

    fig = Figure(figsize=(TEXT_WIDTH_IN, 3.6), layout="constrained")
    a0, a1 = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1.25, 1]})
    _slabs(a0, thin, thin_thickness, 1.6, 0.32, _COLOURS["thin"], "positions:thin")
    _slabs(a0, thick, thickness, 0.15, 0.45, _COLOURS["thick"], "positions:thick")
    a0.axvspan(lo, hi, color="C3", alpha=0.12, lw=0)  # the structure (not a method)
    a0.set_ylim(-0.3, 2.45)
    a0.set_yticks([0.55, 1.95], [f"thick\n{thickness:g} mm / {interval:g} mm",
                                 f"thin\n{thin_thickness:g} mm / {thin_interval:g} mm"], fontsize=8)
    a0.set_title("the same z range as a thin and as a thick series (slabs on alternating rows)", fontsize=9)

    z = np.linspace(thin[0] - 1, thin[-1] + 1, 2001)
    a1.fill_between(z, ((z >= lo) & (z <= hi)).astype(float), step="mid", color="C3", alpha=0.15,
                    label=f"structure, {structure_mm:g} mm long")
    a1.plot(thin, slab_average(thin, thin_thickness, lo, hi), "o-", color=_COLOURS["thin"], ms=3.5, lw=1,
            label="thin slices record", gid="recorded:thin")
    a1.plot(thick, slab_average(thick, thickness, lo, hi), "s-", color=_COLOURS["thick"], ms=5, lw=1.5,
            label="thick slices record", gid="recorded:thick")
    a1.set_ylim(-0.05, 1.15)
    a1.set_ylabel("contrast seen", fontsize=8)
    a1.set_xlabel("z (mm)")
    a1.legend(fontsize=7, loc="upper left", frameon=False)
    return fig


def thickness_vs_interval(thickness: float = 3.0, intervals: Sequence[float] = (3.0, 2.0, 4.0),
                          n_slices: int = 5) -> Figure:
    """Slice thickness ``t`` and slice interval ``d`` are independent settings.

    One row per interval: ``n_slices`` thick slices of the same thickness, each drawn as its
    triangular sensitivity profile ``max(0, 1 - |z - p| / t)`` (FWHM ``t``, the paper's
    weight) over the slab of width ``t`` it stands for. ``d = t`` tiles ``z``, ``d < t``
    overlaps, ``d > t`` leaves gaps that no slice sees at full weight.

    Returns
    -------
    matplotlib.figure.Figure
        Data gids ``"centres:d=<d>"`` (the slice positions of each row).
    """
    _check_positive(thickness=thickness)
    intervals = [float(d) for d in intervals]
    if not intervals:
        raise ValueError("intervals must name at least one interval")
    _check_positive(**{f"intervals[{i}]": d for i, d in enumerate(intervals)})
    if int(n_slices) != n_slices or n_slices < 1:
        raise ValueError(f"n_slices must be a positive integer, got {n_slices}")
    span = max(intervals) * (n_slices - 1) + 2 * thickness
    fig = Figure(figsize=(TEXT_WIDTH_IN, 1.15 * len(intervals) + 0.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(len(intervals), 1, sharex=True))
    for ax, d in zip(axes, intervals):
        centres = d * np.arange(n_slices)
        z = np.linspace(-thickness, span - thickness, 1201)
        for i, c in enumerate(centres):
            ax.add_patch(Rectangle((c - thickness / 2, 0), thickness, 0.5, facecolor=f"C{i % 10}", alpha=0.18,
                                   lw=0))
            ax.plot(z, np.maximum(0.0, 1 - np.abs(z - c) / thickness), color=f"C{i % 10}", lw=1.2)
        ax.plot(centres, np.zeros_like(centres), "k^", ms=5, gid=f"centres:d={d:g}")
        kind = "contiguous" if abs(d - thickness) < 1e-9 else ("overlapping" if d < thickness else "with gaps")
        ax.set_title(f"t = {thickness:g} mm, d = {d:g} mm: {kind}", fontsize=9, loc="left")
        ax.set_yticks([])
        ax.set_ylim(-0.1, 1.15)
        if n_slices > 1:  # the interval as a dimension line between the first two slices
            ax.annotate("", xy=(centres[1], 1.05), xytext=(centres[0], 1.05),
                        arrowprops=dict(arrowstyle="<->", lw=0.8))
            ax.text((centres[0] + centres[1]) / 2, 1.07, "d", ha="center", va="bottom", fontsize=8)
    axes[-1].set_xlabel("z (mm); shaded: the slab of width t each slice stands for; line: its weight")
    return fig


def slice_misplacement(
    n_thin: int = _paper.L286["n_thin"],
    thin_interval: float = _paper.L286["thin_interval"],
    thin_thickness: float = _paper.L286["thin_thickness"],
    thickness: float = _paper.L286["thickness"],
    interval: float = _paper.L286["interval"],
    show_first: int = 8,
) -> Figure:
    """Where each way of making thick slices puts them (the paper's Fig. 2a–b, our drawing).

    Top: the first ``show_first`` thick slices of the scanner's grid (black), Algorithm 1, and
    the index-based ``average`` (group means) and ``direct`` (centre slices), over the thin
    slices; thin lines join slice ``j`` of each method to the scanner's slice ``j`` — the pair
    an SR model would be trained on. Bottom: that offset for every slice of the series, and
    the slice counts.

    Parameters
    ----------
    n_thin, thin_interval, thin_thickness, thickness, interval
        As :func:`misplacement_positions`; the defaults are patient L286 of the 2016 Low Dose
        CT Grand Challenge (:data:`t2tcore.paper.L286`: 525 thin slices of 1 mm every 0.8 mm, a
        real 3 mm series every 2 mm).
    show_first : int
        Thick slices drawn in the top panel.

    Returns
    -------
    matplotlib.figure.Figure
        Data gids ``"positions:<series>"`` (top panel, the first slices) and
        ``"offset:<method>"`` (bottom panel: position minus the scanner's, mm).
    """
    if int(show_first) != show_first or show_first < 1:
        raise ValueError(f"show_first must be a positive integer, got {show_first}")
    pos = misplacement_positions(n_thin, thin_interval, thin_thickness, thickness, interval)
    rows = ["scanner", "proposed", "average", "direct"]
    names = {"scanner": "scanner's thick slices", "proposed": "Algorithm 1 (proposed)",
             "average": "index groups: average", "direct": "index groups: centre slice"}

    fig = Figure(figsize=(TEXT_WIDTH_IN, 4.6), layout="constrained")
    a0, a1 = fig.subplots(2, 1, gridspec_kw={"height_ratios": [1.3, 1]})
    last = pos["scanner"][min(show_first, pos["scanner"].size) - 1]
    thin = pos["thin"][pos["thin"] <= last + thickness]
    a0.plot(thin, np.full(thin.size, len(rows)), "|", color=_COLOURS["thin"], ms=9, gid="positions:thin")
    ref = pos["scanner"][:show_first]
    for r, name in enumerate(rows):
        p = pos[name][:show_first]
        a0.plot(p, np.full(p.size, r), "o", color=_COLOURS[name], ms=5, gid=f"positions:{name}")
        if name != "scanner":
            for j in range(min(p.size, ref.size)):
                a0.plot([ref[j], p[j]], [0, r], color=_COLOURS[name], lw=0.6, alpha=0.6)
    for p in ref:
        a0.axvline(p, color=_COLOURS["scanner"], lw=0.6, alpha=0.35, zorder=0)
    a0.set_yticks(range(len(rows) + 1), [names[r] for r in rows] + ["thin slices"], fontsize=8)
    a0.invert_yaxis()
    a0.set_xlabel("z (mm)", fontsize=8)
    a0.set_title(f"{thin_thickness:g} mm every {thin_interval:g} mm  →  {thickness:g} mm every {interval:g} mm: "
                 f"the first {show_first} thick slices", fontsize=9)

    for name, ls, lw in (("proposed", "-", 2.0), ("average", "-", 3.0), ("direct", "--", 1.5)):
        n = min(pos[name].size, pos["scanner"].size)
        off = pos[name][:n] - pos["scanner"][:n]
        a1.plot(np.arange(n), off, color=_COLOURS[name], lw=lw, ls=ls,
                label=f"{names[name]}: {pos[name].size} slices", gid=f"offset:{name}")
    a1.axhline(0, color=_COLOURS["scanner"], lw=0.8)
    a1.set_xlabel(f"thick slice index j (the scanner makes {pos['scanner'].size} slices from "
                  f"{pos['thin'].size} thin ones)", fontsize=8)
    a1.set_ylabel("position − scanner's (mm)", fontsize=8)
    a1.legend(fontsize=7, frameon=False, loc="upper left")
    return fig


def weight_functions(thickness: float = 3.0) -> Figure:
    """The weight of a thin slice in a thick slice against their distance ``p − l``.

    The paper's triangle ``g(p, l, t) = max(0, 1 − |p − l| / t)`` (Eq. 1), a Gaussian with the
    same FWHM (``gaussian_z``) and a box of width ``t`` (the physical meaning of "averaging the
    slices within the thickness"), each with peak 1; the half maximum is marked.

    Returns
    -------
    matplotlib.figure.Figure
        Data gids ``"weight:triangle"``, ``"weight:gaussian"``, ``"weight:box"``.
    """
    from t2tcore.simulation import gaussian_kernel, triangle_kernel

    _check_positive(thickness=thickness)
    t = float(thickness)
    dz = np.linspace(-2 * t, 2 * t, 801)
    fig = Figure(figsize=(TEXT_WIDTH_IN * 0.75, 2.8), layout="constrained")
    ax = fig.subplots()
    ax.plot(dz, triangle_kernel(t)(dz), color=_COLOURS["proposed"], lw=2, label="triangle g (Algorithm 2)", gid="weight:triangle")
    ax.plot(dz, gaussian_kernel(t)(dz), color=_COLOURS["gaussian_z"], lw=1.3, ls="--", label="Gaussian, same FWHM",
            gid="weight:gaussian")
    ax.plot(dz, (np.abs(dz) <= t / 2).astype(float), color=_COLOURS["average"], lw=1.3, ls=":", label="box of width t",
            gid="weight:box")
    ax.axhline(0.5, color="0.7", lw=0.8)
    ax.annotate("", xy=(t / 2, 0.5), xytext=(-t / 2, 0.5), arrowprops=dict(arrowstyle="<->", lw=0.8))
    ax.text(0, 0.53, f"FWHM = t = {t:g} mm", ha="center", va="bottom", fontsize=8)
    ax.set_xlabel("p − l: distance between thick and thin slice (mm)", fontsize=8)
    ax.set_ylabel("weight", fontsize=8)
    ax.legend(fontsize=7, frameon=False, loc="upper right")
    return fig


def algorithm2_weights(thin_positions: Sequence[float], p: float, thickness: float = 3.0) -> Figure:
    """Algorithm 2 for one thick slice: the triangle's weights and their normalisation.

    Parameters
    ----------
    thin_positions : array_like, shape (n,)
        Thin slice positions, mm (any spacing: gaps and overlaps are the point).
    p : float
        The thick slice's position, mm.
    thickness : float
        ``t``, mm.

    Returns
    -------
    matplotlib.figure.Figure
        Left: ``g(p, l, t)`` at each thin position (gid ``"weight:g"``) under the triangle;
        right: the normalised weights ``g / sum g`` that multiply the thin images (gid
        ``"weight:normalised"``), summing to 1.
    """
    from t2tcore.simulation import triangle_kernel, weight_matrix

    _check_positive(thickness=thickness)
    l = np.sort(np.asarray(thin_positions, dtype=np.float64).ravel())
    if l.size == 0 or not np.all(np.isfinite(l)):
        raise ValueError("thin_positions must be a non-empty array of finite positions (mm)")
    kern = triangle_kernel(thickness)
    g = kern(p - l)
    if not np.any(g > 0):
        raise ValueError(f"no thin slice lies within t = {thickness:g} mm of p = {p:g} mm")
    w = weight_matrix(l, [p], kern)[0]
    near = np.abs(l - p) <= 2 * thickness
    fig = Figure(figsize=(TEXT_WIDTH_IN, 2.6), layout="constrained")
    a0, a1 = fig.subplots(1, 2, sharex=True)
    z = np.linspace(p - 1.5 * thickness, p + 1.5 * thickness, 601)
    a0.plot(z, kern(p - z), color=_COLOURS["proposed"], lw=1)
    a0.vlines(l[near], 0, g[near], color="k", lw=2)
    a0.plot(l[near], g[near], "ko", ms=3, gid="weight:g")
    a0.set_title(f"g(p, l, t) at the thin slices (p = {p:g} mm, t = {thickness:g} mm)", fontsize=8)
    a1.vlines(l[near], 0, w[near], color=_COLOURS["proposed"], lw=2)
    a1.plot(l[near], w[near], "o", color=_COLOURS["proposed"], ms=3, gid="weight:normalised")
    a1.set_title("normalised: g / Σ g (sums to 1)", fontsize=8)
    for ax in (a0, a1):
        ax.axvline(p, color=_COLOURS["scanner"], lw=0.8, ls="--")
        ax.plot(l[near], np.zeros(near.sum()), "|", color=_COLOURS["thin"], ms=8)
        ax.set_xlabel("thin slice position l (mm)", fontsize=8)
    return fig
