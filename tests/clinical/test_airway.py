"""Airway segmentation and its accuracy on synthetic airway trees (t2tcore.clinical.airway)."""

from __future__ import annotations

import numpy as np
import pytest

from t2tcore.clinical import airway as A

SHAPE = (40, 64, 64)


def _tube(shape, a, b, r):
    """Voxels (z, y, x) within r of the segment a-b (voxel units)."""
    Z, Y, X = np.indices(shape, dtype=np.float64)
    P = np.stack([Z, Y, X], -1)
    a, b = np.asarray(a, float), np.asarray(b, float)
    d = b - a
    t = np.clip(((P - a) @ d) / (d @ d), 0, 1)
    return np.linalg.norm(P - (a + t[..., None] * d), axis=-1) <= r


def _tree(shape=SHAPE):
    """A trachea from the top (last slice) splitting into two bronchi: (lumen, [trachea, left, right])."""
    parts = [_tube(shape, (shape[0] + 2, 32, 32), (24, 32, 32), 5.0),
             _tube(shape, (24, 32, 32), (4, 32, 14), 3.0),
             _tube(shape, (24, 32, 32), (4, 32, 50), 3.0)]
    return parts[0] | parts[1] | parts[2], parts


def _chest(lumen, seed=0, leak=None):
    """Body 20 HU in air, two lungs -850 HU, the airway lumen -1000 HU, walls 50 HU (lung where
    ``leak``); noise SD 20 HU."""
    rng = np.random.default_rng(seed)
    _, Y, X = np.indices(SHAPE)
    v = np.full(SHAPE, -1000.0)
    v[((Y - 32) / 30.0) ** 2 + ((X - 32) / 31.0) ** 2 <= 1] = 20.0
    lungs = (np.abs(Y - 32) < 16) & (((X > 6) & (X < 28)) | ((X > 36) & (X < 58)))
    v[lungs] = -850.0
    from scipy import ndimage

    wall = ndimage.binary_dilation(lumen, iterations=1) & ~lumen
    v[wall] = 50.0
    if leak is not None:
        v[leak] = -850.0
    v[lumen] = -1000.0
    return (v + rng.normal(0, 20, SHAPE)).astype(np.float32)


def test_segments_a_clean_tree_from_the_trachea():
    lumen, _ = _tree()
    vol = _chest(lumen)
    before = vol.copy()
    r = A.segment_airways(vol, (1.0, 1.0, 1.0))
    np.testing.assert_array_equal(vol, before)  # input untouched
    assert r.seed is not None and r.seed[0] >= SHAPE[0] - 9 and lumen[r.seed]
    assert A.dice(r.mask, lumen) > 0.9
    # the walls close every airway here: nothing to leak into below stop_hu
    assert r.threshold_hu == A.SegmentationParams().stop_hu and not r.leaked
    assert len(r.thresholds) == len(r.volumes_mm3) and np.all(np.diff(r.volumes_mm3) >= 0)


def _gap():
    """A hole in the left bronchus wall: the lumen touches the lung parenchyma there."""
    return _tube(SHAPE, (10, 32, 19), (10, 32, 24), 1.5)


SMALL = A.SegmentationParams(min_volume_mm3=500.0)  # this tree is much smaller than a real one


def test_leak_control_stops_before_the_lung_floods_in():
    lumen, _ = _tree()
    vol = _chest(lumen, 1, leak=_gap())
    lung = (vol > -930) & (vol < -770) & ~lumen
    controlled = A.segment_airways(vol, (1.0, 1.0, 1.0), SMALL)
    assert controlled.leaked and controlled.threshold_hu < -850
    assert (controlled.mask & lung).sum() < 0.02 * lung.sum()
    assert A.dice(controlled.mask, lumen) > 0.85
    flooded = A.segment_airways(vol, (1.0, 1.0, 1.0), A.SegmentationParams(leak_ratio=1e9, min_volume_mm3=500.0))
    assert (flooded.mask & lung).sum() > 0.4 * lung.sum()  # without leak control the left lung floods in
    assert A.dice(flooded.mask, lumen) < 0.3


def test_no_trachea_no_seed():
    vol = np.full(SHAPE, 20.0, np.float32)
    vol[:, :2] = -1000
    r = A.segment_airways(vol, (1.0, 1.0, 1.0))
    assert r.seed is None and not r.mask.any()
    with pytest.raises(ValueError):
        A.segment_airways(vol[0], (1.0, 1.0))
    with pytest.raises(ValueError):
        A.segment_airways(vol, (1.0, 0.0, 1.0))


def test_dice_by_counting():
    rng = np.random.default_rng(2)
    a, b = rng.random((5, 6, 7)) < 0.3, rng.random((5, 6, 7)) < 0.4
    inter = sum(1 for i in np.ndindex(a.shape) if a[i] and b[i])
    assert A.dice(a, b) == pytest.approx(2 * inter / (a.sum() + b.sum()))
    assert A.dice(np.zeros(3, bool), np.zeros(3, bool)) == 1.0
    assert A.dice(a, np.zeros_like(a)) == 0.0
    with pytest.raises(ValueError):
        A.dice(a, b[:, :, :3])


def test_centreline_branches_of_a_y_and_their_detection():
    lumen, (trachea, left, _) = _tree()
    lab, n = A.centreline_branches(lumen)
    assert n == 3
    assert lab.max() == 3 and (lab > 0).sum() > 30
    full = A.branch_detection(lumen, lumen, branches=(lab, n))
    assert full == {"n_branches": 3, "n_detected": 3, "branches_detected": 1.0, "length_detected": 1.0}
    part = A.branch_detection(lumen, trachea | left)
    assert part["n_detected"] == 2 and part["branches_detected"] == pytest.approx(2 / 3)
    assert 0.4 < part["length_detected"] < 0.8
    none = A.branch_detection(np.zeros(SHAPE, bool), lumen)
    assert none["n_branches"] == 0 and np.isnan(none["branches_detected"])


def test_tuning_on_thin_images_picks_the_best_grid_point():
    lumen, _ = _tree()
    vols = [_chest(lumen, s, leak=_gap()) for s in (3, 4)]
    params, table = A.tune_segmentation(vols, [(1.0, 1.0, 1.0)] * 2, [lumen, lumen], leak_ratios=(1.5, 1e9),
                                        rim_hus=(None, -600.0), base=SMALL)
    assert len(table) == 4 and set(table.columns) >= {"leak_ratio", "rim_hu", "mean_dice", "min_dice"}
    best = table.loc[table["mean_dice"].idxmax()]
    assert params.leak_ratio == best["leak_ratio"] and params.rim_hu == (None if best["rim_hu"] is None or
                                                                           np.isnan(best["rim_hu"]) else best["rim_hu"])
    assert table[table.leak_ratio == 1e9]["mean_dice"].max() < best["mean_dice"]  # no leak control floods the lungs
