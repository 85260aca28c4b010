"""Tests for t2tcore.scanner.phantoms: analytic primitives against literal formulas, simple physics
phantoms, and the seeded abdomen / chest anatomy (determinism, chunking, HU, geometry)."""

import numpy as np
import pytest

from t2tcore.scanner.phantoms import (
    AIR_HU,
    MU_WATER,
    Bead,
    Composite,
    Disk,
    Ellipsoid,
    Extrusion,
    NoiseTile,
    TubeSet,
    WaterCylinder,
    abdomen,
    chest,
)

ZA = (0.0, 16.0)  # small slabs keep the anatomy tests fast


@pytest.fixture(scope="module")
def abd():
    return abdomen(7, ZA)


@pytest.fixture(scope="module")
def ch():
    return chest(7, ZA)


def _grid(ph, n):
    return ph.grid(n)


# ------------------------------------------------------------------ simple phantoms


def test_water_cylinder_values_shape_dtype():
    w = WaterCylinder(radius_mm=50.0, length_mm=20.0)
    x = np.linspace(-60, 60, 121)  # 1 mm steps, includes +-50 exactly
    z = np.array([-12.0, -10.0, 0.0, 10.0, 12.0])
    h = w.hu(x, x[::2], z)
    assert h.shape == (5, 61, 121) and h.dtype == np.float32
    X, Y = np.meshgrid(x, x[::2])
    inside = X**2 + Y**2 <= 50.0**2
    for k, zk in enumerate(z):
        expect = np.where(inside & (abs(zk) <= 10.0), 0.0, AIR_HU)
        np.testing.assert_array_equal(h[k], expect)
    assert w.z_extent == (-10.0, 10.0) and w.fov_mm >= 100.0


def test_mu_consistent_with_hu():
    ph = Composite([WaterCylinder(40, 10), Bead((0, 0, 0), 5, 1000.0), Bead((20, 0, 0), 5, -1500.0)])
    x = np.linspace(-45, 45, 46)
    z = np.array([0.0, 8.0])
    h = ph.hu(x, x, z)
    m = ph.mu(x, x, z)
    assert m.dtype == np.float32
    np.testing.assert_allclose(m, np.maximum(MU_WATER * (1 + h.astype(np.float64) / 1000), 0), rtol=1e-6, atol=1e-9)
    assert m.min() == 0.0  # air (and the below-air bead) clip at zero
    np.testing.assert_allclose(m[0, 23, 10], MU_WATER, rtol=1e-6)  # water
    np.testing.assert_allclose(m[0, 23, 23], 2 * MU_WATER, rtol=1e-6)  # +1000 HU
    np.testing.assert_allclose(ph.mu(x, x, z, mu_water=0.02)[0, 23, 10], 0.02, rtol=1e-6)


def test_disk_z_profile_is_a_sharp_rect():
    cyl = WaterCylinder(60, 40)
    d = Disk(z0_mm=3.3, thickness_mm=0.5, radius_mm=30, hu=1000.0, inside=cyl)
    z = np.arange(2.0, 4.6, 0.01)
    prof = d.hu([5.0], [-4.0], z)[:, 0, 0]
    expect = np.where(np.abs(z - 3.3) <= 0.25, 1000.0, 0.0)
    # floating-point ties exactly on a face may go either way; everything else must match
    ties = np.isclose(np.abs(z - 3.3), 0.25, atol=1e-9)
    np.testing.assert_array_equal(prof[~ties], expect[~ties])
    assert set(np.unique(prof)) == {0.0, 1000.0}  # no partial-volume values anywhere
    # outside the disk radius only water
    assert np.all(d.hu([40.0], [0.0], z) == 0.0)
    assert d.z_extent == cyl.z_extent


def test_bead_and_painters_order():
    b = Bead((10.0, -5.0, 2.0), 1.5, 2000.0, inside=WaterCylinder(50, 20))
    v = b.hu_at([10.0, 11.4, 11.6, 30.0, 80.0], [-5.0, -5.0, -5.0, 0.0, 0.0], [2.0, 2.0, 2.0, 2.0, 2.0])
    np.testing.assert_array_equal(v, [2000.0, 2000.0, 0.0, 0.0, AIR_HU])
    # later parts overwrite earlier ones, whatever their values
    a = Composite([WaterCylinder(30, 10, hu=100.0), WaterCylinder(10, 10, hu=-50.0)])
    c = Composite([WaterCylinder(10, 10, hu=-50.0), WaterCylinder(30, 10, hu=100.0)])
    assert a.hu_at(0, 0, 0) == -50.0 and a.hu_at(20, 0, 0) == 100.0
    assert c.hu_at(0, 0, 0) == 100.0


def test_descending_axes_and_bad_input():
    w = Composite([WaterCylinder(30, 10), Bead((12, 5, 1), 4, 500.0)])
    x = np.linspace(-35, 35, 36)
    z = np.linspace(-2, 4, 7)
    h = w.hu(x, x, z)
    np.testing.assert_array_equal(w.hu(x[::-1], x, z[::-1]), h[::-1, :, ::-1])
    with pytest.raises(ValueError):
        w.hu([0, 2, 1], x, z)
    with pytest.raises(ValueError):
        w.hu(x, x, np.zeros((2, 2)))
    with pytest.raises(ValueError):
        WaterCylinder(-1, 10)
    with pytest.raises(ValueError):
        Composite([])


# ------------------------------------------------------------------ primitives vs literal formulas


def test_tubeset_matches_brute_force_capsule_distance():
    rng = np.random.default_rng(0)
    a = rng.uniform(-10, 10, (4, 3))
    b = a + rng.uniform(-8, 8, (4, 3))
    ra, rb = rng.uniform(1, 3, 4), rng.uniform(0.5, 2, 4)
    vals = np.array([10.0, 20.0, 30.0, 40.0])
    t = TubeSet(a, b, ra, rb, vals, ymax=[np.inf, 3.0, np.inf, np.inf])
    x = np.linspace(-20, 20, 23)
    z = np.linspace(-20, 20, 19)
    out = np.full((19, 23, 23), -1.0, np.float32)
    t.paint(out, x, x, z)
    expect = np.full_like(out, -1.0)
    for k, zk in enumerate(z):  # literal loops
        for j, yj in enumerate(x):
            for i, xi in enumerate(x):
                p = np.array([xi, yj, zk])
                for s in range(4):
                    d = b[s] - a[s]
                    tt = np.clip((p - a[s]) @ d / (d @ d), 0, 1)
                    dist = np.linalg.norm(p - a[s] - tt * d)
                    ok = dist <= ra[s] + tt * (rb[s] - ra[s]) + 1e-9
                    if s == 1:
                        ok = ok and yj <= 3.0
                    if ok:
                        expect[k, j, i] = vals[s]
    assert (out != -1).sum() > 50
    np.testing.assert_array_equal(out, expect)


def test_extrusion_and_ellipsoid_match_formulas():
    e = Extrusion([0, 10, 20], [0, 2, 4], [0, -1, 3], [10, 12, 8], [5, 6, 7], 7.0, angle=[0, 0.3, 0.5], p=2.5)
    rng = np.random.default_rng(1)
    P = rng.uniform(-16, 24, (4000, 3))
    got = e.inside(P[:, 0].astype(np.float32), P[:, 1].astype(np.float32), P[:, 2])
    exp = []
    for x, y, z in P:
        if not 0 <= z <= 20:
            exp.append(False)
            continue
        cx, cy, a, b, g = (np.interp(z, [0, 10, 20], v) for v in ([0, 2, 4], [0, -1, 3], [10, 12, 8], [5, 6, 7], [0, 0.3, 0.5]))
        u = (x - cx) * np.cos(g) + (y - cy) * np.sin(g)
        v = -(x - cx) * np.sin(g) + (y - cy) * np.cos(g)
        exp.append(abs(u / a) ** 2.5 + abs(v / b) ** 2.5 <= 1)
    exp = np.array(exp)
    assert exp.sum() > 200 and (got != exp).mean() < 1e-3  # float32 ties on the surface only
    # grid painting agrees with the pointwise test; rho_point agrees with rho
    x = np.linspace(-16, 24, 41)
    out = np.zeros((21, 41, 41), np.float32)
    zz = np.linspace(-1, 21, 21)
    e.paint(out, x, x, zz)
    X, Y, Z = np.meshgrid(x, x, zz, indexing="xy")
    ins = e.inside(X.astype(np.float32), Y.astype(np.float32), Z).transpose(2, 0, 1)
    np.testing.assert_array_equal(out == 7.0, ins)
    r = [e.rho_point(*p) for p in P[:50]]
    rr = e.rho(P[:50, 0].astype(np.float32), P[:50, 1].astype(np.float32), P[:50, 2])
    np.testing.assert_allclose(np.where(np.isinf(r), -1, r), np.where(np.isinf(rr), -1, rr), rtol=1e-5)

    R = np.linalg.qr(rng.standard_normal((3, 3)))[0]
    el = Ellipsoid([1, 2, 3], [4, 6, 9], 5.0, R)
    q = (P - [1, 2, 3]) @ R / [4, 6, 9]
    exp = (q**2).sum(1) <= 1
    got = el.inside(P[:, 0].astype(np.float32), P[:, 1].astype(np.float32), P[:, 2])
    assert exp.sum() > 50 and (got != exp).mean() < 1e-3
    b = np.array(el.bbox).reshape(3, 2)
    assert np.all(P[exp] >= b[:, 0]) and np.all(P[exp] <= b[:, 1])


def test_noise_tile_is_seeded_periodic_unit_std():
    t1 = NoiseTile(np.random.default_rng(3), 32, 0.5, (1.0, 4.0))
    t2 = NoiseTile(np.random.default_rng(3), 32, 0.5, (1.0, 4.0))
    rng = np.random.default_rng(0)
    x, y, z = rng.uniform(-50, 50, (3, 2000))
    v = t1(x, y, z)
    np.testing.assert_array_equal(v, t2(x, y, z))
    np.testing.assert_allclose(t1(x + 16.0, y - 32.0, z + 48.0), v, atol=1e-4)  # period 16 mm
    assert 0.6 < v.std() < 1.2 and abs(v.mean()) < 0.2


# ------------------------------------------------------------------ anatomy


def test_anatomy_shapes_air_and_extent(abd, ch):
    for ph in (abd, ch):
        x = _grid(ph, 64)
        z = np.array([-5.0, 0.0, 8.0, 16.0, 21.0])
        h = ph.hu(x, x, z)
        assert h.shape == (5, 64, 64) and h.dtype == np.float32
        assert np.all(h[0] == AIR_HU) and np.all(h[-1] == AIR_HU)  # outside z_extent
        assert np.all(h[1:4, :, 0] == AIR_HU) and np.all(h[1:4, 0, :] == AIR_HU)  # FOV corner/edges: air
        assert (h[2] > -200).mean() > 0.3  # a body fills the field of view
        assert ph.fov_mm > 0 and ph.z_extent == ZA


def test_abdomen_has_tissue_classes(abd):
    x = _grid(abd, 128)
    h = abd.hu(x, x, np.linspace(0, 16, 5))
    body = h > -900
    for lo, hi in ((-110, -80), (40, 75), (140, 260), (600, 1000)):  # fat, soft/liver, vessels, bone
        assert ((h >= lo) & (h <= hi) & body).mean() > 0.002, (lo, hi)
    # the liver (texture around 60 HU) is the largest soft-tissue region
    assert ((h > 45) & (h < 75)).mean() > 0.03


def test_anatomy_is_deterministic_and_seed_dependent(abd, ch):
    x = _grid(abd, 48)
    z = np.linspace(1, 15, 6)
    np.testing.assert_array_equal(abdomen(7, ZA).hu(x, x, z), abd.hu(x, x, z))
    other = abdomen(8, ZA)
    assert not np.array_equal(other.hu(x, x, z), abd.hu(x, x, z))
    assert other.anatomy["A"] != abd.anatomy["A"]
    xc = _grid(ch, 48)
    assert not np.array_equal(chest(8, ZA).hu(xc, xc, z), ch.hu(xc, xc, z))


def test_chunked_evaluation_is_identical(abd, ch):
    f = ch.with_fibrosis(0.7)
    for ph in (abd, f):
        x = _grid(ph, 64)
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
        x = _grid(ph, 96)
        z = np.arange(4.0, 12.0, 0.2)
        h = ph.hu(x, x, z)
        changed = (np.abs(np.diff(h, axis=0)) > 20).mean(axis=(1, 2))
        assert np.all(changed > 0)  # every 0.2 mm step changes something
        thin, thick = h[10:15].mean(0), h[5:20].mean(0)  # 1 mm vs 3 mm slab
        assert np.abs(thin - thick).max() > 100


def test_abdomen_lesions_sizes_positions_and_contrast():
    seen = 0
    kinds = set()
    for seed in (1, 2, 3):
        ph = abdomen(seed, (0, 60))
        assert 1 <= len(ph.lesions) <= 8
        for L in ph.lesions:
            assert 2.0 - 1e-9 <= L.diameter_mm <= 15.0 + 1e-9
            assert np.all(2 * L.axes_mm >= 2.0 - 1e-9) and np.all(2 * L.axes_mm <= 15.0 + 1e-9)
            assert L.organ in ("liver", "spleen", "kidney")
            assert ph.hu_at(*L.center_mm) == np.float32(L.hu)
            kinds.add(L.kind)
            seen += 1
        if seed == 1:
            lc = [L for L in ph.lesions if L.kind == "low-contrast"]
            for L in lc:
                assert 10 - 1e-9 <= abs(L.hu - L.background_hu) <= 20 + 1e-9
    assert seen >= 6 and len(kinds) >= 2


def test_chest_fibrosis_raises_lung_hu_monotonically(ch):
    x = _grid(ch, 96)
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
