"""Fig. 7's measure: which thin slices a thick slice resembles, and where each method puts a thick slice's content.

:func:`slice_similarity` is the mean squared error (HU²) between one thick slice and each of a few thin
slices; :func:`similarity_curve` is that curve around the thin slice nearest a position, with its minimum;
:func:`similarity_slices` gives, for a real thick slice, the slice each simulation method puts in its place
(position-based methods: the slice nearest its position; index-based ones: the same index after the count
alignment). Chapter 03 (:mod:`t2tcore.studies.similarity`) runs them over a cohort.

Positions in mm, images in HU.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from t2tcore.evaluation.alignment import (
    INDEX_METHODS,
    FidelityError,
    as_positions,
    count_positions,
    covered,
    resize_slices,
    thick_thickness_of,
    thin_thickness_of,
)
from t2tcore.simulation import simulate as _simulate

__all__ = ["similarity_curve", "similarity_slices", "slice_similarity"]


def slice_similarity(thick_slice: Any, thin_volume: Any, thin_indices: Any, mask: Any = None) -> np.ndarray:
    """Mean squared error between one thick slice and some thin slices (Fig. 7).

    Parameters
    ----------
    thick_slice : array_like, shape (Y, X)
        A real or simulated thick slice, HU.
    thin_volume : array_like, shape (Z, Y, X)
        The thin slices, HU.
    thin_indices : array_like of int, shape (K,)
        Which thin slices (0-based indices into ``thin_volume``).
    mask : array_like of bool, shape (Y, X), optional
        Pixels to average over (default all).

    Returns
    -------
    ndarray, shape (K,), float64
        ``mean((thick_slice - thin_volume[i])**2)`` in HU² for each ``i``.
    """
    sl = np.asarray(thick_slice, dtype=np.float64)
    vol = np.asarray(thin_volume)
    if sl.ndim != 2:
        raise ValueError(f"thick_slice must be 2-D (Y, X), got shape {sl.shape}")
    if vol.ndim != 3 or vol.shape[1:] != sl.shape:
        raise ValueError(f"thin_volume must be (Z, {sl.shape[0]}, {sl.shape[1]}), got shape {vol.shape}")
    idx = np.asarray(thin_indices).reshape(-1)
    if idx.size == 0:
        raise ValueError("thin_indices is empty")
    if idx.dtype.kind not in "iu" or idx.min() < 0 or idx.max() >= vol.shape[0]:
        raise ValueError(f"thin_indices must be integers in 0..{vol.shape[0] - 1}, got {idx.tolist()}")
    m = None
    if mask is not None:
        m = np.asarray(mask, dtype=bool)
        if m.shape != sl.shape or not m.any():
            raise ValueError("mask must be a non-empty boolean (Y, X) array")
    out = np.empty(idx.size, dtype=np.float64)
    for j, i in enumerate(idx):
        d = sl - vol[int(i)].astype(np.float64)
        out[j] = float(np.mean(d[m] ** 2 if m is not None else d**2))
    return out


def similarity_curve(
    thick_slice: Any,
    thin_volume: Any,
    thin_positions: Any,
    thin_indices: Any = None,
    *,
    position: float | None = None,
    half_width: int = 3,
    mask: Any = None,
) -> dict:
    """MSE of one thick slice against nearby thin slices, and the best-matching thin slice.

    Parameters
    ----------
    thick_slice : array_like, shape (Y, X)
        A real or simulated thick slice (HU), e.g. the first slice of a series.
    thin_volume : array_like, shape (Z, Y, X)
        Thin slices (HU) in position order.
    thin_positions : array_like, shape (Z,)
        Their positions (mm), increasing.
    thin_indices : array_like of int, optional
        Thin slices to compare (0-based). Default: the thin slice nearest ``position`` and
        ``half_width`` slices on each side (cut at the ends of the series).
    position : float, optional
        Position (mm) of the thick slice; needed when ``thin_indices`` is None.
    half_width : int
        See ``thin_indices``.
    mask : array_like of bool, shape (Y, X), optional
        As in :func:`slice_similarity`.

    Returns
    -------
    dict
        ``indices`` (0-based), ``positions`` (mm) of the thin slices compared, ``mse``
        (HU², one per thin slice), ``best_index`` (the thin slice with the smallest MSE),
        ``best_position`` (mm), ``nearest_index`` (the thin slice nearest ``position``, or
        None).
    """
    vol = np.asarray(thin_volume)
    pos = as_positions(thin_positions, vol.shape[0] if vol.ndim == 3 else -1, "thin_positions")
    if pos.size > 1 and np.any(np.diff(pos) <= 0):
        raise ValueError("thin_positions must be strictly increasing")
    nearest = None if position is None else int(np.argmin(np.abs(pos - float(position))))
    if thin_indices is None:
        if nearest is None:
            raise ValueError("give thin_indices or the thick slice's position")
        if int(half_width) < 0:
            raise ValueError(f"half_width must be >= 0, got {half_width}")
        thin_indices = np.arange(max(0, nearest - int(half_width)), min(pos.size, nearest + int(half_width) + 1))
    idx = np.asarray(thin_indices).reshape(-1)
    mse = slice_similarity(thick_slice, vol, idx, mask=mask)
    best = int(idx[int(np.argmin(mse))])
    return {
        "indices": idx.astype(int),
        "positions": pos[idx.astype(int)],
        "mse": mse,
        "best_index": best,
        "best_position": float(pos[best]),
        "nearest_index": nearest,
    }


def similarity_slices(
    thin,
    thick,
    methods: Sequence[str],
    index: int | Sequence[int] = 0,
    *,
    thickness: float | None = None,
    interval: float | None = None,
    sigma: float = 1.0,
    profile: Any = None,
) -> dict[str, dict] | list[dict[str, dict]]:
    """The real thick slice ``index`` and, for each method, the slice that stands for it.

    Fig. 7 asks where each method puts the content of a thick slice. For the real slice
    ``index`` (counted among the real thick slices inside the thin coverage, as in
    :func:`aligned_pairs`; 0 = the first, the paper's choice) this returns:

    * position-based methods (``proposed``, ``gaussian_z``, ``calibrated``): simulated as
      the method does on its own (Algorithm 1 positions from the first thin position in
      steps of ``interval``), the slice nearest the real slice's position;
    * index-based methods: slice ``index`` of their stack resized to the real slice count
      (:func:`resize_slices`, the count alignment: what the released code pairs with the
      real slice); its position is the same interpolation of the group-centre positions
      (:func:`count_positions`).

    Parameters
    ----------
    thin, thick : t2tcore.io.Series
        Thin and real thick series of one patient.
    methods : sequence of str
        Simulation methods.
    index : int or sequence of int
        Real thick slice(s) (0-based, among those inside the thin coverage). Every method
        is simulated once whatever the number of indices.
    thickness : float, optional
        Simulated thickness (mm); default the real thick SliceThickness.
    interval : float, optional
        Interval (mm) of Algorithm 1; default the real thick series' interval (header), else
        its median spacing.
    sigma : float
        In-plane blur of ``"gaussian"`` (pixels).
    profile : ZProfile, optional
        For ``"calibrated"``.

    Returns
    -------
    dict or list of dict
        ``"real"`` and each method -> ``{"slice": (Y, X) float32 HU, "position": mm}``; a
        list of such dicts when ``index`` is a sequence.
    """
    t = thick_thickness_of(thick, thickness)
    base = np.flatnonzero(covered(thin.positions, thick.positions))
    single = np.ndim(index) == 0
    idx = np.atleast_1d(np.asarray(index)).astype(int)
    if idx.size == 0 or idx.min() < 0 or idx.max() >= base.size:
        raise ValueError(
            f"index must be in 0..{base.size - 1} (real thick slices inside the thin coverage), got {index}"
        )
    d = interval if interval is not None else (thick.interval or thick.spacing)
    outs: list[dict[str, dict]] = []
    for i in idx:
        j = int(base[i])
        outs.append({"real": {"slice": thick.volume[j], "position": float(thick.positions[j])}})
    for m in dict.fromkeys(methods):
        if m in INDEX_METHODS:
            vol, pos = _simulate.simulate_thick(
                thin.volume, thin.positions, t, method=m, thin_thickness=thin_thickness_of(thin), sigma=sigma
            )
            resized = resize_slices(vol, base.size)
            at = count_positions(pos, base.size)
            for o, i in zip(outs, idx):
                o[m] = {"slice": resized[i], "position": float(at[i])}
        else:
            if d is None:
                raise FidelityError("the real thick series has one slice and no interval: pass interval=")
            if m == "calibrated" and profile is None:
                raise ValueError("method 'calibrated' needs a profile (t2tcore.simulation.calibrate.ZProfile)")
            kw = {"profile": profile} if m == "calibrated" else {}
            vol, pos = _simulate.simulate_thick(thin.volume, thin.positions, t, interval=float(d), method=m, **kw)
            pos = np.asarray(pos)
            for o in outs:
                k = int(np.argmin(np.abs(pos - o["real"]["position"])))
                o[m] = {"slice": np.asarray(vol[k], dtype=np.float32), "position": float(pos[k])}
    return outs[0] if single else outs
