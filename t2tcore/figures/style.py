"""What every figure of the book shares: one colour and marker per method, the figure size.

Figures are made without pyplot (:class:`matplotlib.figure.Figure`), so that a notebook shows
each one once, where it displays it.
"""

from __future__ import annotations

from matplotlib.figure import Figure

from t2tcore.figures import TEXT_WIDTH_IN

__all__ = ["HU_WINDOW", "METHOD_ORDER", "method_style", "new_figure", "save"]

#: Every simulation method, in the order that fixes its colour (``C0``, ``C1``, ...) and marker.
METHOD_ORDER = ("proposed", "direct", "average", "gaussian", "gaussian_z", "calibrated")

_MARKERS = "osD^vP"

#: Soft-tissue display window (HU): level 40, width 400.
HU_WINDOW = (-160.0, 240.0)


def method_style(method: str) -> dict:
    """Colour and marker of a method in every figure (``"real"``: black, thick line).

    Parameters
    ----------
    method : str
        A simulation method, ``"real"``, or another name (grey).

    Returns
    -------
    dict
        ``color`` and ``marker`` (keyword arguments of ``Axes.plot``).
    """
    if method == "real":
        return {"color": "k", "marker": "o"}
    if method in METHOD_ORDER:
        i = METHOD_ORDER.index(method)
        return {"color": f"C{i}", "marker": _MARKERS[i]}
    return {"color": "0.5", "marker": "x"}


def new_figure(height: float, width: float = TEXT_WIDTH_IN) -> Figure:
    """A constrained-layout Figure ``width`` x ``height`` inches (default the text column's width)."""
    if not (0 < width <= TEXT_WIDTH_IN + 1e-9):
        raise ValueError(f"width must be in (0, {TEXT_WIDTH_IN}] inches, got {width}")
    if not height > 0:
        raise ValueError(f"height must be > 0 inches, got {height}")
    return Figure(figsize=(width, height), layout="constrained")


def save(fig: Figure, out_dir, name: str, dpi: int = 150) -> Figure:
    """Write ``fig`` as ``<out_dir>/<name>.png`` (whole or not at all) and return it, to display.

    Parameters
    ----------
    fig : Figure
    out_dir : str or os.PathLike
        Created if missing.
    name : str
        File name without folders (``.png`` added when missing).
    dpi : int

    Returns
    -------
    Figure
        ``fig`` itself.
    """
    import os
    from pathlib import Path

    from t2tcore.io import staging_file

    if not name or Path(name).name != name:
        raise ValueError(f"name must be a plain file name, got {name!r}")
    if not name.endswith(".png"):
        name += ".png"
    out = Path(out_dir) / name
    tmp = staging_file(out)
    try:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format="png")
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return fig
