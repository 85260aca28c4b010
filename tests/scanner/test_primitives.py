"""Tests for t2tcore.scanner.primitives: analytic primitives against literal formulas and
brute-force loops, and the seeded noise texture."""

import numpy as np

from t2tcore.scanner.primitives import Ellipsoid, Extrusion, NoiseTile, TubeSet


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
