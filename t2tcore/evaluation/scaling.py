"""The intensity scales of the metric conventions: each volume min-max scaled to [-1, 1] on its own
(:func:`minmax_scale`, the ``paper`` convention) or every volume through one fixed HU window
(:func:`fixed_window_scale`, the ``window`` convention); see :mod:`t2tcore.evaluation.metrics`.
Shared by :mod:`~t2tcore.evaluation.metrics` and :mod:`~t2tcore.evaluation.fid_kid` (which maps the
``paper`` scale to grey levels).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["WINDOW", "fixed_window_scale", "minmax_scale"]

#: The ``window`` convention's fixed HU window (mapped to [-1, 1] for every volume).
WINDOW = (-1000.0, 1000.0)


def _as_float32(a: Any, name: str) -> np.ndarray:
    """``a`` as a float32 array (no copy when it already is one), checked to be finite."""
    arr = np.asarray(a)
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    arr = arr.astype(np.float32, copy=False)
    if not np.isfinite(arr).all():
        bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name} has {bad} non-finite value(s) (NaN or inf)")
    return arr




def minmax_scale(volume: Any, lo: float = -1.0, hi: float = 1.0) -> np.ndarray:
    """Scale a volume linearly so that its own minimum is ``lo`` and its maximum ``hi``.

    This is the ``paper`` convention's normalisation (with the default [-1, 1]); each
    volume is scaled on its own.

    Parameters
    ----------
    volume : array_like, any shape
        Image values, e.g. HU. Not modified.
    lo, hi : float
        Target range, ``lo < hi``.

    Returns
    -------
    scaled : ndarray of float32, same shape
        The minimum maps exactly to ``lo`` and the maximum exactly to ``hi``.

    Raises
    ------
    ValueError
        If the volume is empty, not finite, constant, or ``lo >= hi``.
    """
    if not hi > lo:
        raise ValueError(f"need lo < hi, got lo={lo}, hi={hi}")
    v = _as_float32(volume, "volume")
    if v.size == 0:
        raise ValueError("volume is empty")
    vmin, vmax = v.min(), v.max()
    if not vmax > vmin:
        raise ValueError("volume is constant: min-max scaling is undefined")
    # (v - min) / (max - min) in float32: for the maximum the numerator and the
    # denominator are the same rounded number, so the ratio is exactly 1 (and 0 at the
    # minimum); the affine map to [lo, hi] then keeps both ends exact.
    out = np.subtract(v, vmin, dtype=np.float32)
    out /= np.float32(vmax - vmin)
    if (lo, hi) == (-1.0, 1.0):
        out *= np.float32(2.0)
        out -= np.float32(1.0)
    else:
        out *= np.float32(hi - lo)
        out += np.float32(lo)
        np.clip(out, np.float32(lo), np.float32(hi), out=out)
    return out


def fixed_window_scale(volume: Any, window: tuple[float, float] = WINDOW) -> np.ndarray:
    """Map HU to [-1, 1] through a fixed window, clipped: the ``window`` convention's scale.

    Parameters
    ----------
    volume : array_like, any shape
        HU. Not modified.
    window : (float, float)
        (low, high) HU, mapped to -1 and +1; values outside are clipped.

    Returns
    -------
    ndarray of float32, same shape
    """
    lo, hi = (float(x) for x in window)
    if not hi > lo:
        raise ValueError(f"window must be (low, high) with low < high, got {window}")
    v = np.clip(_as_float32(volume, "volume"), np.float32(lo), np.float32(hi))
    v -= np.float32((lo + hi) / 2.0)
    v *= np.float32(2.0 / (hi - lo))
    return v
