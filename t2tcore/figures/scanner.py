"""Figures of the virtual scanner chapter (01): ray sampling, phantoms, sinogram, SSP, kernels, noise.

Every function takes what :mod:`t2tcore.studies.scanner_qa` measured and returns a
:class:`matplotlib.figure.Figure` as wide as the text column. Plotted lines and images
carry a ``gid`` so that tests can read back what was drawn.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter

from t2tcore.studies.scanner_qa import z_sampling
from t2tcore.figures.style import HU_WINDOW, new_figure

__all__ = ["difference", "kernels", "noise", "phantoms", "ray_sampling", "sinogram", "ssp", "thin_thick"]


def ray_sampling(panels: Mapping[str, tuple[Any, Any]]) -> Figure:
    """z positions of the rays at one view angle, per half-rotation, for each scanner.

    Parameters
    ----------
    panels : mapping
        Title -> ``(m, z)``: half-rotation indices (k,) and ray positions (k, rows) in mm
        (:func:`t2tcore.studies.scanner_qa.ray_z`). Each panel states its z sampling
        (:func:`t2tcore.studies.scanner_qa.z_sampling`).

    Returns
    -------
    Figure
        One axes per scanner; one line per half-rotation (gid ``"rays:<i>"``, x = z, blue for
        direct (even m) and red for complementary rays).
    """
    fig = new_figure(2.9)
    axes = np.atleast_1d(fig.subplots(1, len(panels), sharey=True))
    for ax, (name, (m, z)) in zip(axes, panels.items()):
        sampling = z_sampling(z)
        for k, row in enumerate(np.asarray(z)):
            ax.plot(row, np.full(row.size, m[k]), "o", ms=3, color="C0" if m[k] % 2 == 0 else "C3", gid=f"rays:{k}")
        ax.set_xlim(-6, 6)
        ax.set_xlabel("z of the ray (mm)")
        ax.set_title(name, fontsize=8)
        ax.text(0.02, 0.04, f"z sampling {sampling:.3g} mm", transform=ax.transAxes, fontsize=8)
    axes[0].set_ylabel("half-rotation\n(blue: direct, red: compl.)", fontsize=8)
    return fig


def phantoms(views: Mapping[str, Any], patient: str, chest: str | None = None) -> Figure:
    """A test patient (axial at z = 0, coronal at y = 0) and a training chest (lung window).

    Parameters
    ----------
    views : mapping
        :func:`t2tcore.studies.scanner_qa.phantom_views`.
    patient, chest : str
        Titles (patient IDs).

    Returns
    -------
    Figure
        Images gid ``"axial"``, ``"coronal"`` and ``"chest"`` (when a chest is given).
    """
    c, zc = views["x"], views["z"]
    has_chest = views.get("chest_axial") is not None
    fig = new_figure(2.9)
    axes = fig.subplots(1, 3 if has_chest else 2, gridspec_kw={"width_ratios": [1, 1.3, 1][: 3 if has_chest else 2]})
    lo, hi = HU_WINDOW
    axes[0].imshow(views["axial"], vmin=lo, vmax=hi, cmap="gray", extent=[c[0], c[-1], c[-1], c[0]], gid="axial")
    axes[0].set_title(f"{patient}: axial, z = 0", fontsize=8)
    axes[1].imshow(views["coronal"], vmin=lo, vmax=hi, cmap="gray", extent=[c[0], c[-1], zc[0], zc[-1]],
                   origin="lower", aspect="auto", gid="coronal")
    axes[1].set_title("coronal, y = 0 (z up)", fontsize=8)
    axes[1].set_ylabel("z (mm)")
    if has_chest:
        cc = views["chest_x"]
        axes[2].imshow(views["chest_axial"], vmin=-1200, vmax=300, cmap="gray", extent=[cc[0], cc[-1], cc[-1], cc[0]],
                       gid="chest")
        axes[2].set_title(f"{chest} (training): lung window", fontsize=8)
    for ax in axes:
        ax.set_xlabel("x (mm)")
        ax.tick_params(labelsize=7)
    return fig


def sinogram(example: Mapping[str, Any]) -> Figure:
    """One detector row over one rotation, noiseless, beside its quantum noise.

    Parameters
    ----------
    example : mapping
        :func:`t2tcore.studies.scanner_qa.sinogram_example`.

    Returns
    -------
    Figure
        Images gid ``"sinogram"`` and ``"noise"`` (symmetric colour scale at the 99th
        percentile of |noise|), each with a colour bar.
    """
    t = example["t"]
    ext = [t[0], t[-1], 360, 0]
    fig = new_figure(3.2)
    axes = fig.subplots(1, 2)
    im = axes[0].imshow(example["sinogram"], aspect="auto", extent=ext, cmap="magma", gid="sinogram")
    fig.colorbar(im, ax=axes[0], label="line integral p")
    axes[0].set_title(f"row {example['row']}, one rotation ({example['views']} views)", fontsize=8)
    lim = float(np.percentile(np.abs(example["noise"]), 99))
    im = axes[1].imshow(example["noise"], aspect="auto", extent=ext, cmap="coolwarm", vmin=-lim, vmax=lim, gid="noise")
    fig.colorbar(im, ax=axes[1], label="measured − noiseless")
    axes[1].set_title(f"{example['mAs']:g} mAs quantum noise", fontsize=8)
    for ax in axes:
        ax.set_xlabel("detector position t (mm)")
    axes[0].set_ylabel("view angle (deg)")
    return fig


def ssp(study: Mapping[str, Any], measured_kind: str = "trapezoid") -> Figure:
    """Calibrated z-weightings, model SSPs, and measured SSPs (one weighting) against the model.

    Parameters
    ----------
    study : mapping
        :func:`t2tcore.studies.scanner_qa.ssp_study`.
    measured_kind : str
        The z-weighting whose measured SSPs are drawn.

    Returns
    -------
    Figure
        Three axes (and a fourth holding the legend): lines gid ``"weight:<t>:<kind>"``,
        ``"model:<t>:<kind>"``, ``"measured:<t>"`` (normalised to peak 1) and
        ``"model-dotted:<t>"``.
    """
    keys = list(study["weights"])
    kinds = list(dict.fromkeys(k for _, k in keys))
    thick = list(dict.fromkeys(t for t, _ in keys))
    styles = ["-", "--", "-.", ":"]
    fig = new_figure(4.6)
    axes = fig.subplots(2, 2)
    a_w, a_m, a_x, a_leg = axes[0, 0], axes[0, 1], axes[1, 0], axes[1, 1]
    for (t, kind), h in study["weights"].items():
        ls, col = styles[thick.index(t) % 4], f"C{kinds.index(kind)}"
        a_w.plot(study["z"], h, ls, color=col, label=f"{kind} {t:g} mm", gid=f"weight:{t:g}:{kind}")
        u, s = study["model"][(t, kind)]
        a_m.plot(u, s, ls, color=col, gid=f"model:{t:g}:{kind}")
    for t in thick:
        if (t, measured_kind) not in study["measured"]:
            continue
        z, prof = study["measured"][(t, measured_kind)]
        ls, col = styles[thick.index(t) % 4], f"C{kinds.index(measured_kind)}"
        a_x.plot(z, prof / prof.max(), ls, color=col, label=f"measured {t:g} mm", gid=f"measured:{t:g}")
        u, s = study["model"][(t, measured_kind)]
        a_x.plot(u, s, ":", color="k", lw=1, gid=f"model-dotted:{t:g}")
    a_w.set_title("z-weighting h (calibrated widths)", fontsize=8)
    a_m.set_title("model SSP (test scanner)", fontsize=8)
    a_x.set_title(f"measured disk SSP, {measured_kind} (dotted: model)", fontsize=8)
    a_x.legend(fontsize=7)
    for ax in (a_w, a_m, a_x):
        ax.set_xlabel("z distance from the slice (mm)", fontsize=8)
        ax.set_xlim(-4, 4)
        ax.tick_params(labelsize=7)
    handles, labels = a_w.get_legend_handles_labels()
    a_leg.legend(handles, labels, loc="center", fontsize=7, title="weighting, thickness", title_fontsize=7)
    a_leg.set_axis_off()
    return fig


def kernels(responses: Mapping[str, tuple[Any, Any]], bin_mm: float = 0.5) -> Figure:
    """Filter responses of the reconstruction kernels beside the ideal ramp.

    Parameters
    ----------
    responses : mapping
        Kernel -> (frequencies (cycles/mm), response (1/mm))
        (:func:`t2tcore.scanner.kernel_response`).
    bin_mm : float
        Detector bin width the responses were computed for (title only).

    Returns
    -------
    Figure
        Lines gid ``"kernel:<name>"`` and ``"ramp"``.
    """
    fig = new_figure(3.0, width=0.7 * 7.0)
    ax = fig.subplots()
    f = None
    for k, (f, H) in responses.items():
        ax.plot(f, H, label=f"{k}-like", gid=f"kernel:{k}")
    ax.plot(f, f, "k:", lw=1, label="ideal ramp |f|", gid="ramp")
    ax.set_xlim(0, 1.0)
    ax.set_ylim(0, 0.8)
    ax.set_xlabel("spatial frequency (cycles/mm)")
    ax.set_ylabel("filter response (1/mm)")
    ax.legend(fontsize=8)
    ax.set_title(f"reconstruction kernels ({bin_mm:g} mm detector bins)", fontsize=9)
    return fig


def thin_thick(panels: Sequence[tuple[str, Any, Any, Any]], pixel_mm: float, z: float) -> Figure:
    """Axial slices (top) and coronal views (bottom) of several series of one patient.

    Parameters
    ----------
    panels : sequence of (title, axial slice (Y, X), volume (Z, Y, X), positions (Z,) mm)
    pixel_mm : float
        Pixel size, mm.
    z : float
        Position of the axial slices, mm (title).

    Returns
    -------
    Figure
        2 x n images: gid ``"axial:<title>"`` and ``"coronal:<title>"`` (the volume's y = n/2 row).
    """
    n = np.asarray(panels[0][1]).shape[-1]
    xs = (np.arange(n) - (n - 1) / 2) * pixel_mm
    lo, hi = HU_WINDOW
    fig = new_figure(5.0)
    axes = fig.subplots(2, len(panels), gridspec_kw={"height_ratios": [1.0, 0.75]}, squeeze=False)
    for j, (title, img, vol, pos) in enumerate(panels):
        axes[0, j].imshow(img, extent=[xs[0], xs[-1], xs[-1], xs[0]], vmin=lo, vmax=hi, cmap="gray", gid=f"axial:{title}")
        axes[0, j].set_title(f"{title}, z = {z:.1f} mm", fontsize=8)
        vol = np.asarray(vol)
        axes[1, j].imshow(vol[:, vol.shape[1] // 2, :], extent=[xs[0], xs[-1], pos[0], pos[-1]], origin="lower",
                          aspect="auto", vmin=lo, vmax=hi, cmap="gray", gid=f"coronal:{title}")
        axes[1, j].set_title(f"coronal, {title}", fontsize=8)
        axes[1, j].set_xlabel("x (mm)", fontsize=8)
    for ax in axes.flat:
        ax.tick_params(labelsize=7)
    axes[1, 0].set_ylabel("z (mm)", fontsize=8)
    return fig


def difference(thin_slice: Any, thick_slice: Any, labels: Sequence[str] = ("B30, 1 mm", "B30, 3 mm")) -> Figure:
    """The paper's Fig. 5 layout: a thin slice, the thick slice at the same place, thin − thick.

    Returns
    -------
    Figure
        Images gid ``"thin"``, ``"thick"`` and ``"difference"`` (−100…100 HU, with a colour bar).
    """
    a = np.asarray(thin_slice, dtype=np.float32)
    b = np.asarray(thick_slice, dtype=np.float32)
    lo, hi = HU_WINDOW
    fig = new_figure(2.8)
    axes = fig.subplots(1, 3)
    axes[0].imshow(a, vmin=lo, vmax=hi, cmap="gray", gid="thin")
    axes[0].set_title(f"(1) {labels[0]}", fontsize=8)
    axes[1].imshow(b, vmin=lo, vmax=hi, cmap="gray", gid="thick")
    axes[1].set_title(f"(2) {labels[1]}", fontsize=8)
    im = axes[2].imshow(a - b, cmap="gray", vmin=-100, vmax=100, gid="difference")
    axes[2].set_title("(3) difference (1) − (2), HU", fontsize=8)
    fig.colorbar(im, ax=axes[2], fraction=0.046)
    for ax in axes:
        ax.set_axis_off()
    return fig


def noise(table, doses_shown: Sequence[float] = (200.0, 50.0)) -> Figure:
    """Noise SD against dose (per thickness) and against thickness (per dose), measured and predicted.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`t2tcore.studies.scanner_qa.noise_study`.
    doses_shown : sequence of float
        Doses of the right panel, mAs.

    Returns
    -------
    Figure
        Left (log-log): markers gid ``"measured:<t>"`` and lines ``"predicted:<t>"`` per
        thickness; right: ``"measured-mAs:<d>"`` and ``"predicted-mAs:<d>"`` per dose.
    """
    fig = new_figure(3.2)
    axes = fig.subplots(1, 2)
    thicks = list(dict.fromkeys(table["thickness (mm)"]))
    for k, t in enumerate(thicks):
        d = table[table["thickness (mm)"] == t]
        axes[0].loglog(d["mAs"], d["measured SD (HU)"], "o", ms=4, color=f"C{k}", label=f"{t:g} mm", gid=f"measured:{t:g}")
        axes[0].loglog(d["mAs"], d["predicted SD (HU)"], "-", color=f"C{k}", lw=1, gid=f"predicted:{t:g}")
    axes[0].xaxis.set_major_locator(FixedLocator(sorted(set(float(x) for x in table["mAs"]))))
    axes[0].yaxis.set_major_locator(FixedLocator([5, 10, 20, 40, 80]))
    for axis in (axes[0].xaxis, axes[0].yaxis):
        axis.set_major_formatter(ScalarFormatter())
        axis.set_minor_locator(NullLocator())
    axes[0].set_xlabel("dose (mAs)")
    axes[0].set_ylabel("noise SD (HU)")
    axes[0].set_title("B30, water: points measured, lines predicted", fontsize=8)
    axes[0].legend(fontsize=7)
    for k, mAs in enumerate(doses_shown):
        d = table[table["mAs"] == mAs]
        axes[1].plot(d["thickness (mm)"], d["measured SD (HU)"], "o", ms=4, color=f"C{k}", label=f"{mAs:g} mAs",
                     gid=f"measured-mAs:{mAs:g}")
        axes[1].plot(d["thickness (mm)"], d["predicted SD (HU)"], "-", color=f"C{k}", lw=1, gid=f"predicted-mAs:{mAs:g}")
    axes[1].set_xlabel("slice thickness (mm)")
    axes[1].set_ylabel("noise SD (HU)")
    axes[1].set_title("same raw data, thicker slices", fontsize=8)
    axes[1].legend(fontsize=7)
    for ax in axes:
        ax.tick_params(labelsize=7)
    return fig
