"""Reading back what a figure drew: artists by their gid."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from t2tcore.figures import TEXT_WIDTH_IN


def artists(fig: Figure, gid: str) -> list:
    """Every artist of ``fig`` with this gid."""
    return [a for a in fig.findobj() if getattr(a, "get_gid", lambda: None)() == gid]


def one(fig: Figure, gid: str):
    found = artists(fig, gid)
    assert len(found) == 1, f"{gid}: {len(found)} artists"
    return found[0]


def line_xy(fig: Figure, gid: str) -> tuple[np.ndarray, np.ndarray]:
    ln = one(fig, gid)
    return np.asarray(ln.get_xdata(), float), np.asarray(ln.get_ydata(), float)


def image(fig: Figure, gid: str) -> np.ndarray:
    """The array an AxesImage or a QuadMesh shows."""
    a = one(fig, gid)
    return np.asarray(a.get_array())


def fits_the_column(fig: Figure) -> bool:
    return isinstance(fig, Figure) and fig.get_size_inches()[0] <= TEXT_WIDTH_IN + 1e-9
