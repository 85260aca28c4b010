"""Image masks every stage uses (simulation fitting, metrics, SR patch sampling, clinical).

Kept at the bottom of the package (it imports nothing of t2tcore) so that any stage may use it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["body_mask"]


def body_mask(volume_hu: Any, threshold: float = -500.0) -> np.ndarray:
    """Body mask of a CT volume: the largest connected region above a HU threshold.

    Voxels ``> threshold`` are labelled in 3-D (face connectivity), the largest component
    is kept (this drops the couch and stray noise when they do not touch the body), and
    holes are filled slice by slice in 2-D (lungs and bowel gas become part of the body;
    a 3-D fill would miss lungs that are open at the top or bottom of the volume).

    Parameters
    ----------
    volume_hu : array_like, shape (Z, Y, X) or (Y, X)
        CT values in HU. Not modified.
    threshold : float
        HU threshold; -500 HU separates air (-1000) from soft tissue (about 0).

    Returns
    -------
    mask : ndarray of bool, same shape
        All False when no voxel exceeds the threshold.
    """
    from scipy import ndimage

    v = np.asarray(volume_hu)
    if v.ndim not in (2, 3):
        raise ValueError(f"expected a 2-D slice or a 3-D (Z, Y, X) volume, got {v.ndim}-D")
    above = v > threshold
    labels, n = ndimage.label(above)
    if n == 0:
        return np.zeros(v.shape, dtype=bool)
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    mask = labels == int(np.argmax(sizes))
    del labels
    if mask.ndim == 2:
        return ndimage.binary_fill_holes(mask)
    for z in range(mask.shape[0]):
        if mask[z].any():
            mask[z] = ndimage.binary_fill_holes(mask[z])
    return mask
