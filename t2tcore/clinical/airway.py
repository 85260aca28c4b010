"""Airway segmentation by seeded region growing with leak control, and its accuracy.

The paper applied an airway network trained on HRCT [22] to thick and super-resolved CT. Our
stand-in is a classical method, designed and tuned on thin images only and then applied
unchanged to every input (thick, SR, thin), which is the paper's setting:

Seed (:func:`find_trachea`)
    In the top slices (the most cranial ``seed_depth_mm``), the most circular dark component
    (``< seed_hu``) inside the body, near the midline, with the area of a trachea.
Growing (:func:`segment_airways`)
    The 3-D component (face connectivity) of ``volume < T`` that holds the seed, for
    thresholds ``T`` rising from ``start_hu`` in steps of ``step_hu``. When one step makes
    the component more than ``leak_ratio`` times larger (once it holds at least
    ``min_volume_mm3``), the growth has leaked into the lung and the previous threshold's
    component is the airway tree ("explosion-controlled" region growing, Mori et al. 1996).
    Then one rim of voxels around it (face neighbours) darker than ``rim_hu`` is added: the
    partial-volume voxels at the airway wall, which are brighter than any threshold that
    does not leak.
    Written by hand: scikit-image's ``flood`` grows one fixed tolerance and has no leak
    control, and no well-kept library provides this method.
Tuning (:func:`tune_segmentation`)
    A small grid of ``leak_ratio`` and ``rim_hu`` is scored by the mean Dice against the
    true masks of THIN images only (the SR training patients of the virtual cohort).

Accuracy against a true mask: :func:`dice` and centreline branch detection
(:func:`branch_detection`: the true mask's 3-D skeleton, :func:`skimage.morphology.skeletonize`,
is cut at its junctions into branches; a branch is detected when most of its centreline lies
inside the segmentation; also the fraction of the centreline length inside it).

Volumes are (Z, Y, X) float HU with slices ascending along z (the last slice is the most
cranial), spacing (dz, dy, dx) in mm.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Sequence

import numpy as np

__all__ = [
    "SegmentationParams",
    "SegmentationResult",
    "find_trachea",
    "segment_airways",
    "tune_segmentation",
    "dice",
    "centreline_branches",
    "branch_detection",
]


@dataclass(frozen=True)
class SegmentationParams:
    """Parameters of :func:`segment_airways` (HU, mm).

    Attributes
    ----------
    start_hu, stop_hu, step_hu : float
        Thresholds tried: ``start_hu, start_hu + step_hu, ...`` up to ``stop_hu``.
    leak_ratio : float
        A step that multiplies the component's volume by more than this is a leak.
    min_volume_mm3 : float
        Leak control starts once the component is at least this large (the trachea fills
        first).
    rim_hu : float or None
        Face neighbours of the grown component darker than this are added (None: none).
    seed_hu : float
        Threshold of the dark trachea lumen when looking for the seed.
    seed_depth_mm : float
        How far down from the top slice the seed is looked for.
    trachea_area_mm2 : (float, float)
        Area range of the trachea's cross-section (dark part).
    midline_mm : float
        Largest distance of the seed from the body's left-right centre.
    """

    start_hu: float = -980.0
    stop_hu: float = -600.0
    step_hu: float = 10.0
    leak_ratio: float = 2.0
    min_volume_mm3: float = 5000.0
    rim_hu: float | None = -600.0
    seed_hu: float = -900.0
    seed_depth_mm: float = 8.0
    trachea_area_mm2: tuple = (60.0, 900.0)
    midline_mm: float = 30.0

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}

    def describe(self) -> str:
        """The tuned parameters in words."""
        rim = "no rim" if self.rim_hu is None else f"rim of face neighbours darker than {self.rim_hu:g} HU"
        return (f"thresholds {self.start_hu:g} to {self.stop_hu:g} HU in steps of {self.step_hu:g}, leak = a step that "
                f"multiplies the volume by more than {self.leak_ratio:g} (above {self.min_volume_mm3:g} mm3), {rim}")


@dataclass
class SegmentationResult:
    """What :func:`segment_airways` found.

    Attributes
    ----------
    mask : (Z, Y, X) ndarray of bool
        The airway lumen (empty when no seed was found).
    seed : (int, int, int) or None
        Seed voxel (z, y, x).
    threshold_hu : float or None
        The threshold of the kept component.
    thresholds, volumes_mm3 : ndarray
        The sweep: each threshold tried and its component's volume.
    leaked : bool
        True when the sweep stopped at a leak (False: it reached ``stop_hu``).
    """

    mask: np.ndarray
    seed: tuple | None
    threshold_hu: float | None
    thresholds: np.ndarray
    volumes_mm3: np.ndarray
    leaked: bool


def _check_volume(volume: Any, spacing: Sequence[float]) -> tuple[np.ndarray, tuple[float, float, float]]:
    v = np.asarray(volume)
    if v.ndim != 3 or min(v.shape) < 1:
        raise ValueError(f"volume must be 3-D (Z, Y, X), got shape {v.shape}")
    sp = tuple(float(s) for s in spacing)
    if len(sp) != 3 or not all(s > 0 for s in sp):
        raise ValueError(f"spacing must be three positive numbers (dz, dy, dx) in mm, got {spacing}")
    return v, sp


def find_trachea(volume: Any, spacing: Sequence[float], params: SegmentationParams = SegmentationParams()):
    """Seed voxel (z, y, x) in the trachea, or None.

    In each of the top slices (most cranial first, down to ``params.seed_depth_mm``), the
    components of ``slice < seed_hu`` inside the body (:func:`t2tcore.masks.body_mask` of the
    slice, holes filled) whose area is in ``trachea_area_mm2`` and whose centroid is within
    ``midline_mm`` of the body's left-right centre are candidates; the most circular one
    (area / area of the circle through its farthest pixel) of the first slice with a
    candidate gives the seed: its darkest pixel.

    Parameters
    ----------
    volume : (Z, Y, X) array_like
        HU; slices ascending along z (the last one is the top). Not modified.
    spacing : (dz, dy, dx)
        mm.
    params : SegmentationParams
    """
    from scipy import ndimage

    from t2tcore.masks import body_mask

    v, (dz, dy, dx) = _check_volume(volume, spacing)
    n_top = max(1, int(round(params.seed_depth_mm / dz)) + 1)
    for k in range(v.shape[0] - 1, max(-1, v.shape[0] - 1 - n_top), -1):
        sl = v[k]
        body = body_mask(sl)
        if not body.any():
            continue
        cols = np.nonzero(body.any(axis=0))[0]
        centre_x = 0.5 * (cols[0] + cols[-1])
        dark = (sl < params.seed_hu) & body
        lab, _ = ndimage.label(dark)
        best, best_score = None, -1.0
        for i, sl_obj in enumerate(ndimage.find_objects(lab), start=1):
            comp = lab[sl_obj] == i
            area = float(comp.sum()) * dy * dx
            if not params.trachea_area_mm2[0] <= area <= params.trachea_area_mm2[1]:
                continue
            yy, xx = np.nonzero(comp)
            yy, xx = yy + sl_obj[0].start, xx + sl_obj[1].start
            cy, cx = yy.mean(), xx.mean()
            if abs(cx - centre_x) * dx > params.midline_mm:
                continue
            r2 = float(np.max(((yy - cy) * dy) ** 2 + ((xx - cx) * dx) ** 2)) + 0.25 * (dy * dy + dx * dx)
            score = area / (np.pi * r2)
            if score > best_score:
                j = int(np.argmin(sl[yy, xx]))
                best, best_score = (k, int(yy[j]), int(xx[j])), score
        if best is not None:
            return best
    return None


def segment_airways(volume: Any, spacing: Sequence[float], params: SegmentationParams = SegmentationParams(),
                    seed: tuple | None = None) -> SegmentationResult:
    """Segment the airway lumen by explosion-controlled region growing from the trachea.

    Parameters
    ----------
    volume : (Z, Y, X) array_like
        HU, slices ascending along z. Not modified.
    spacing : (dz, dy, dx)
        Voxel size, mm.
    params : SegmentationParams
    seed : (z, y, x), optional
        Default :func:`find_trachea`.

    Returns
    -------
    SegmentationResult
        An empty mask (and ``seed`` None) when no trachea is found.
    """
    from scipy import ndimage

    v, sp = _check_volume(volume, spacing)
    if not params.step_hu > 0 or not params.stop_hu >= params.start_hu or not params.leak_ratio > 1:
        raise ValueError("params need step_hu > 0, stop_hu >= start_hu and leak_ratio > 1")
    vox = sp[0] * sp[1] * sp[2]
    thresholds = np.arange(params.start_hu, params.stop_hu + 1e-6, params.step_hu)
    if seed is None:
        seed = find_trachea(v, sp, params)
    empty = np.zeros(v.shape, dtype=bool)
    if seed is None:
        return SegmentationResult(empty, None, None, thresholds[:0], np.zeros(0), False)
    seed = tuple(int(s) for s in seed)
    kept, kept_t, volumes, leaked = empty, None, [], False
    for t in thresholds:
        below = v < t
        if not below[seed]:
            volumes.append(0.0)
            continue
        lab, _ = ndimage.label(below)
        comp = lab == lab[seed]
        vol = float(comp.sum()) * vox
        prev = volumes[-1] if volumes else 0.0
        volumes.append(vol)
        if prev >= params.min_volume_mm3 and vol > params.leak_ratio * prev:
            leaked = True
            break
        kept, kept_t = comp, float(t)
    return SegmentationResult(_add_rim(kept, v, params.rim_hu), seed, kept_t, thresholds[:len(volumes)],
                              np.asarray(volumes), leaked)


def _add_rim(mask: np.ndarray, volume: np.ndarray, rim_hu: float | None) -> np.ndarray:
    """``mask`` plus its face neighbours darker than ``rim_hu`` (unchanged for None)."""
    from scipy import ndimage

    if rim_hu is None or not mask.any():
        return mask
    ring = ndimage.binary_dilation(mask, structure=ndimage.generate_binary_structure(3, 1))
    return mask | (ring & (volume < rim_hu))


def dice(a: Any, b: Any) -> float:
    """Dice coefficient ``2 |A & B| / (|A| + |B|)`` of two masks of one shape (1.0 when both are empty)."""
    a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"masks of different shapes: {a.shape} and {b.shape}")
    total = int(a.sum()) + int(b.sum())
    return 1.0 if total == 0 else 2.0 * int(np.count_nonzero(a & b)) / total


def centreline_branches(mask: Any, min_voxels: int = 3) -> tuple[np.ndarray, int]:
    """The 3-D skeleton of a mask cut into branches at its junctions.

    Parameters
    ----------
    mask : (Z, Y, X) array_like of bool
    min_voxels : int
        Branches with fewer skeleton voxels are dropped (skeleton spurs).

    Returns
    -------
    labels : (Z, Y, X) ndarray of int32
        0 off the branches, 1..n on the skeleton voxels of each branch (junction voxels,
        those with 3 or more 26-neighbours on the skeleton, are 0).
    n : int
        Number of branches.
    """
    from scipy import ndimage
    from skimage.morphology import skeletonize

    m = np.asarray(mask, dtype=bool)
    if m.ndim != 3:
        raise ValueError(f"mask must be 3-D, got {m.ndim}-D")
    sk = skeletonize(m) > 0
    nb = ndimage.convolve(sk.astype(np.uint8), np.ones((3, 3, 3), np.uint8), mode="constant") - 1
    pieces = sk & ~(sk & (nb >= 3))
    lab, n = ndimage.label(pieces, structure=np.ones((3, 3, 3), bool))
    if n == 0:
        return lab.astype(np.int32), 0
    sizes = np.bincount(lab.ravel(), minlength=n + 1)
    keep = sizes >= int(min_voxels)
    keep[0] = False
    new = np.zeros(n + 1, dtype=np.int32)
    new[keep] = np.arange(1, int(keep.sum()) + 1)
    return new[lab], int(keep.sum())


def branch_detection(truth: Any, pred: Any, min_voxels: int = 3, fraction: float = 0.5,
                     branches: tuple[np.ndarray, int] | None = None) -> dict:
    """Centreline-based accuracy of a segmentation against the true mask.

    Parameters
    ----------
    truth, pred : (Z, Y, X) array_like of bool
        True and predicted airway masks on one grid.
    min_voxels : int
        See :func:`centreline_branches`.
    fraction : float
        A true branch is detected when at least this fraction of its centreline voxels lie
        inside ``pred``.
    branches : (labels, n), optional
        :func:`centreline_branches` of ``truth``, to reuse.

    Returns
    -------
    dict
        ``n_branches``, ``n_detected``, ``branches_detected`` (fraction),
        ``length_detected`` (fraction of all branch centreline voxels inside ``pred``).
    """
    truth, pred = np.asarray(truth, dtype=bool), np.asarray(pred, dtype=bool)
    if truth.shape != pred.shape:
        raise ValueError(f"masks of different shapes: {truth.shape} and {pred.shape}")
    lab, n = branches if branches is not None else centreline_branches(truth, min_voxels)
    if n == 0:
        return {"n_branches": 0, "n_detected": 0, "branches_detected": float("nan"), "length_detected": float("nan")}
    total = np.bincount(lab.ravel(), minlength=n + 1)[1:]
    inside = np.bincount(lab[pred].ravel(), minlength=n + 1)[1:]
    det = int(np.count_nonzero(inside >= fraction * total))
    return {"n_branches": int(n), "n_detected": det, "branches_detected": det / n,
            "length_detected": float(inside.sum() / total.sum())}


def tune_segmentation(volumes: Sequence[Any], spacings: Sequence[Sequence[float]], truths: Sequence[Any],
                      leak_ratios: Sequence[float] = (1.5, 2.0, 3.0),
                      rim_hus: Sequence[float | None] = (None, -800.0, -700.0, -600.0, -500.0),
                      base: SegmentationParams = SegmentationParams(), progress: bool = False):
    """Choose ``leak_ratio`` and ``rim_hu`` by the mean Dice on thin images with true masks.

    Parameters
    ----------
    volumes, spacings, truths : sequences of one length
        Thin images (HU), their voxel sizes (mm) and true airway masks. Use thin images of
        patients that are NOT analysed afterwards.
    leak_ratios, rim_hus : sequences
        The grid (``None`` in ``rim_hus``: no rim).
    base : SegmentationParams
        The other parameters.
    progress : bool

    Returns
    -------
    params : SegmentationParams
        ``base`` with the best pair (ties: the first in grid order).
    table : pandas.DataFrame
        One row per grid point: ``leak_ratio``, ``rim_hu``, ``mean_dice``, ``min_dice``.
    """
    import pandas as pd

    from t2tcore.progress import bar

    if not (len(volumes) == len(spacings) == len(truths)) or not volumes:
        raise ValueError("volumes, spacings and truths must be non-empty and of one length")
    seeds = [find_trachea(v, sp, base) for v, sp in zip(volumes, spacings)]
    scores = {}
    for lr in bar(leak_ratios, desc="tuning airway segmentation", enabled=progress):
        for i, (v, sp, t, sd) in enumerate(zip(volumes, spacings, truths, seeds)):
            grown = segment_airways(v, sp, replace(base, leak_ratio=float(lr), rim_hu=None), seed=sd).mask
            for rim in rim_hus:
                m = _add_rim(grown, np.asarray(v), None if rim is None else float(rim))
                scores[(lr, rim, i)] = dice(m, t) if sd is not None else 0.0
    rows, best, best_score = [], base, -1.0
    for lr in leak_ratios:
        for rim in rim_hus:
            d = [scores[(lr, rim, i)] for i in range(len(volumes))]
            rows.append({"leak_ratio": float(lr), "rim_hu": rim, "mean_dice": float(np.mean(d)), "min_dice": float(np.min(d))})
            if rows[-1]["mean_dice"] > best_score + 1e-12:
                best_score = rows[-1]["mean_dice"]
                best = replace(base, leak_ratio=float(lr), rim_hu=None if rim is None else float(rim))
    return best, pd.DataFrame(rows)
