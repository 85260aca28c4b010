"""Storing HU as int16 with a rescale slope and intercept (DICOM and NIfTI writers alike).

HU = stored * slope + intercept. :func:`rescale_for` chooses the slope and intercept from the
volume's range so that every value is kept within half a step; the slope is 1 (HU rounded
to the nearest integer) for any range of at most 65534 HU, which covers every CT image.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["rescale_for", "to_int16", "finite_range", "check_finite"]


def finite_range(volume: np.ndarray, what: str) -> tuple[float, float]:
    """(min, max) of ``volume``; ValueError if it holds NaN or infinite values."""
    vmin, vmax = float(np.min(volume)), float(np.max(volume))
    if not (math.isfinite(vmin) and math.isfinite(vmax)):
        raise ValueError(f"volume holds NaN or infinite values; cannot write them as {what}")
    return vmin, vmax


def check_finite(volume: np.ndarray, where) -> None:
    """Refuse a volume read from ``where`` that holds NaN or infinite values.

    Counted slice by slice (no full-size temporary array).

    Raises
    ------
    NonFiniteError
        With the file or folder and how many voxels are not finite.
    """
    from t2tcore.io.errors import NonFiniteError

    vol = np.asarray(volume)
    if vol.dtype.kind not in "fc":
        return
    bad = sum(int(vol[k].size - np.count_nonzero(np.isfinite(vol[k]))) for k in range(vol.shape[0]))
    if bad:
        raise NonFiniteError(f"{where}: {bad} of {vol.size} voxels are NaN or infinite; t2t computes only on "
                             "finite HU (fill or mask them first)")


def rescale_for(vmin: float, vmax: float) -> tuple[str, str]:
    """RescaleSlope and RescaleIntercept, as DICOM DS strings, for int16 storage.

    Parameters
    ----------
    vmin, vmax : float
        Range of the values to store (HU).

    Returns
    -------
    (str, str)
        ``(slope, intercept)``: every value v in [vmin, vmax] is stored as
        ``round((v - intercept) / slope)`` within the int16 range, so it reads back within
        ``0.5 * slope``. The slope is ``"1"`` whenever ``vmax - vmin <= 65534``.
    """
    if vmin >= -32768 and vmax <= 32767:
        return "1", "0"
    if vmax - vmin <= 65534:
        icpt = math.floor(vmin) + 32768
        return "1", str(int(icpt))
    from pydicom.valuerep import format_number_as_ds

    icpt = format_number_as_ds((vmin + vmax) / 2)
    slope = (vmax - vmin) / 65534 * (1 + 1e-9)
    for _ in range(8):
        s = format_number_as_ds(slope)
        ic = float(icpt)
        if (vmax - ic) / float(s) <= 32767 and (vmin - ic) / float(s) >= -32768:
            return s, icpt
        slope *= 1 + 1e-6
    return format_number_as_ds(slope), icpt  # pragma: no cover


def to_int16(values: np.ndarray, slope: float, intercept: float) -> np.ndarray:
    """``round((values - intercept) / slope)`` as little-endian int16 (values within the
    range :func:`rescale_for` was given)."""
    values = np.asarray(values)
    out = np.empty(values.shape, dtype="<i2")
    if slope == 1.0 and intercept == 0.0:
        np.rint(values, out=out, casting="unsafe")  # rounded in the input's precision, then cast
    else:
        np.rint((values.astype(np.float64) - intercept) / slope, out=out, casting="unsafe")
    return out
