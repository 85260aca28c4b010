"""Tests of the seeded anatomical phantoms together (t2tcore.scanner.anatomy helpers through
abdomen and chest): shapes, air outside, determinism, chunking, fine structure along z."""

import numpy as np

from t2tcore.scanner.abdomen import abdomen
from t2tcore.scanner.chest import chest
from t2tcore.scanner.primitives import AIR_HU
from tests.scanner.helpers import ZA


def test_anatomy_shapes_air_and_extent(abd, ch):
    for ph in (abd, ch):
        x = ph.grid(64)
        z = np.array([-5.0, 0.0, 8.0, 16.0, 21.0])
        h = ph.hu(x, x, z)
        assert h.shape == (5, 64, 64) and h.dtype == np.float32
        assert np.all(h[0] == AIR_HU) and np.all(h[-1] == AIR_HU)  # outside z_extent
        assert np.all(h[1:4, :, 0] == AIR_HU) and np.all(h[1:4, 0, :] == AIR_HU)  # FOV corner/edges: air
        assert (h[2] > -200).mean() > 0.3  # a body fills the field of view
        assert ph.fov_mm > 0 and ph.z_extent == ZA


def test_anatomy_is_deterministic_and_seed_dependent(abd, ch):
    x = abd.grid(48)
    z = np.linspace(1, 15, 6)
    np.testing.assert_array_equal(abdomen(7, ZA).hu(x, x, z), abd.hu(x, x, z))
    other = abdomen(8, ZA)
    assert not np.array_equal(other.hu(x, x, z), abd.hu(x, x, z))
    assert other.anatomy["A"] != abd.anatomy["A"]
    xc = ch.grid(48)
    assert not np.array_equal(chest(8, ZA).hu(xc, xc, z), ch.hu(xc, xc, z))


def test_chunked_evaluation_is_identical(abd, ch):
    f = ch.with_fibrosis(0.7)
    for ph in (abd, f):
        x = ph.grid(64)
        z = np.linspace(0.1, 15.9, 40)
        full = ph.hu(x, x, z)
        parts = np.concatenate([ph.hu(x, x, z[:13]), ph.hu(x, x, z[13:29]), ph.hu(x, x, z[29:])])
        np.testing.assert_array_equal(parts, full)
        np.testing.assert_array_equal(ph.hu(x, x, z, max_voxels=64 * 64 * 3), full)
        # scattered-point evaluation agrees with grid evaluation
        rng = np.random.default_rng(0)
        k, j, i = rng.integers(0, 40, 300), rng.integers(0, 64, 300), rng.integers(0, 64, 300)
        np.testing.assert_allclose(ph.hu_at(x[i], x[j], z[k]), full[k, j, i], atol=1e-3)


def test_structure_finer_than_1mm_along_z(ch, abd):
    for ph in (ch, abd):
        x = ph.grid(96)
        z = np.arange(4.0, 12.0, 0.2)
        h = ph.hu(x, x, z)
        changed = (np.abs(np.diff(h, axis=0)) > 20).mean(axis=(1, 2))
        assert np.all(changed > 0)  # every 0.2 mm step changes something
        thin, thick = h[10:15].mean(0), h[5:20].mean(0)  # 1 mm vs 3 mm slab
        assert np.abs(thin - thick).max() > 100
