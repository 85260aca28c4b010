"""Tests for t2tcore.scanner.chest: fibrosis, the airway tree, nodules and lungs."""

import numpy as np
import pytest

from t2tcore.scanner.abdomen import abdomen
from t2tcore.scanner.chest import chest
from t2tcore.scanner.primitives import AIR_HU
from tests.scanner.helpers import ZA


def test_chest_fibrosis_raises_lung_hu_monotonically(ch):
    x = ch.grid(96)
    z = np.linspace(0.5, 15.5, 8)
    h0 = ch.hu(x, x, z)
    lung = h0 == -850.0
    assert lung.mean() > 0.1
    means = [h0[lung].mean()]
    for f in (0.25, 0.5, 1.0):
        hf = ch.with_fibrosis(f).hu(x, x, z)
        np.testing.assert_array_equal(hf[~lung], h0[~lung])  # only parenchyma changes
        means.append(hf[lung].mean())
    assert means[0] == -850.0
    assert all(b > a for a, b in zip(means, means[1:])), means
    assert ch.fibrosis == 0.0  # with_fibrosis left the original alone
    np.testing.assert_array_equal(chest(7, ZA, fibrosis=0.5).hu(x, x, z[:2]), ch.with_fibrosis(0.5).hu(x, x, z[:2]))
    with pytest.raises(ValueError):
        chest(7, ZA, fibrosis=1.5)


def test_chest_airway_tree_reaches_small_branches(ch):
    aw = ch.airway_segments
    d = 2 * np.minimum(aw.ra, aw.rb)
    assert d.min() <= 2.5
    assert d.max() >= 14.0  # trachea
    assert len(aw) > 100 and ch.airway_generation.max() >= 6
    # the tree branches: many distinct start points, children start where parents end
    ends = {tuple(np.round(b, 6)) for b in aw.b}
    starts = [tuple(np.round(a, 6)) for a in aw.a[1:]]
    assert np.mean([s in ends for s in starts]) > 0.95
    # airways crossing the slab: air lumen on the axis, +50 HU wall beside it (midpoints,
    # away from junctions; a few may be crossed by bone or a nodule)
    mid = 0.5 * (aw.a + aw.b)
    sel = np.nonzero((mid[:, 2] > 1) & (mid[:, 2] < 15) & (aw.rb > 1.5))[0]
    assert sel.size >= 5
    axis = aw.b[sel] - aw.a[sel]
    side = np.cross(axis, [0.0, 0.0, 1.0])
    side /= np.linalg.norm(side, axis=1, keepdims=True)
    r = 0.5 * (aw.ra[sel] + aw.rb[sel])
    wall_pts = mid[sel] + side * (r - 0.05 * r)[:, None]  # inside the wall (>= 15% of r thick)
    lumen = ch.hu_at(mid[sel, 0], mid[sel, 1], mid[sel, 2])
    wall = ch.hu_at(wall_pts[:, 0], wall_pts[:, 1], wall_pts[:, 2])
    assert (lumen == AIR_HU).mean() > 0.9 and (wall == 50.0).mean() > 0.8


def test_chest_nodules_and_lungs():
    ph = chest(3, (0, 60), n_nodules=4)
    assert 1 <= len(ph.nodules) <= 4
    for n in ph.nodules:
        assert n.kind in ("solid", "ground-glass")
        assert ph.hu_at(*n.center_mm) == np.float32(n.hu)
        assert (-700 <= n.hu <= -500) if n.kind == "ground-glass" else (20 <= n.hu <= 60)
    with pytest.raises(ValueError):
        chest(-1)
    with pytest.raises(ValueError):
        abdomen(1, (10, 5))
