"""Shared helpers of the seeded anatomical phantoms (:mod:`~t2tcore.scanner.abdomen`, :mod:`~t2tcore.scanner.chest`).

This module owns what both anatomies are built from, above the analytic primitives of
:mod:`t2tcore.scanner.primitives`:

- :class:`Lesion`, the record of a focal lesion or nodule placed in a phantom;
- small 3-D vector helpers (unit vectors, rotations, wobbly polylines);
- ``_Tubes``, which collects capsule segments and builds one
  :class:`~t2tcore.scanner.primitives.TubeSet`, and ``_grow_tree``, which grows random
  bifurcating tube trees (vessels, airways) inside a domain;
- the body wall (skin, fat, muscle), textured organ values, seeded placement of lesions
  where the surrounding tissue is right, the spine (vertebrae, discs, posterior elements)
  and the ribs;
- the checks of the arguments every anatomy takes (seed, z extent).

Coordinates are in mm in the patient frame of :mod:`t2tcore.scanner.primitives`, values
in HU. The helpers draw from the caller's random generator in a fixed order, so a seed
always gives the same patient.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from t2tcore.scanner.primitives import _F, Extrusion, NoiseTile, Phantom, TubeSet

__all__ = ["Lesion"]


@dataclass
class Lesion:
    """A focal lesion or nodule placed in an anatomical phantom.

    Attributes
    ----------
    center_mm : (3,) float
        (x, y, z) in mm.
    axes_mm : (3,) float
        Semi-axes in mm.
    diameter_mm : float
        Largest diameter (2 * max semi-axis), mm.
    hu : float
        Lesion HU.
    background_hu : float
        Nominal HU of the surrounding tissue (contrast = hu - background_hu).
    organ : str
    kind : str
        'hypo', 'hyper', 'low-contrast' (abdomen) or 'solid', 'ground-glass' (chest).
    """

    center_mm: np.ndarray
    axes_mm: np.ndarray
    diameter_mm: float
    hu: float
    background_hu: float
    organ: str
    kind: str


def _unit(v) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    n = math.sqrt(float(v @ v))
    return v / max(n, 1e-12)


def _cross(a, b) -> np.ndarray:
    return np.array([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]])


def _perp(d, rng) -> np.ndarray:
    v = rng.standard_normal(3)
    return _unit(v - (v @ d) * d)


def _rotate(v, axis, ang) -> np.ndarray:
    """Rotate vector v about unit ``axis`` by ``ang`` radians (Rodrigues)."""
    k = _unit(axis)
    c, s = math.cos(ang), math.sin(ang)
    return v * c + _cross(k, v) * s + k * (float(k @ v) * (1 - c))


def _rot_xyz(ax, ay, az) -> np.ndarray:
    """Rotation matrix R = Rz(az) Ry(ay) Rx(ax) (radians)."""
    cx, sx, cy, sy, cz, sz = np.cos(ax), np.sin(ax), np.cos(ay), np.sin(ay), np.cos(az), np.sin(az)
    Rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    Ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    Rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return Rz @ Ry @ Rx


def _wobbly(rng, pts, n_per: int = 6, amp: float = 3.0) -> np.ndarray:
    """Densify a polyline (k, 3) to (k-1)*n_per+1 points with a smooth random wobble (mm)."""
    pts = np.asarray(pts, dtype=np.float64)
    out = [pts[0]]
    for p, q in zip(pts[:-1], pts[1:]):
        d = _unit(q - p)
        e1 = _perp(d, rng)
        e2 = _cross(d, e1)
        c1, c2 = rng.uniform(-amp, amp, 2)
        f = rng.integers(1, 3)
        for t in np.linspace(0, 1, n_per + 1)[1:]:
            w = np.sin(np.pi * t * f)
            out.append(p + t * (q - p) + w * (c1 * e1 + c2 * e2) * (t < 1))
    return np.array(out)


class _Tubes:
    """Accumulates capsule segments, then builds a :class:`~t2tcore.scanner.primitives.TubeSet`."""

    def __init__(self):
        self.a, self.b, self.ra, self.rb, self.v, self.ymax = [], [], [], [], [], []

    def seg(self, a, b, ra, rb, v, ymax=np.inf):
        self.a.append(np.asarray(a, float)); self.b.append(np.asarray(b, float))
        self.ra.append(float(ra)); self.rb.append(float(rb)); self.v.append(float(v)); self.ymax.append(float(ymax))

    def path(self, pts, r0, r1, v, ymax=np.inf):
        pts = np.asarray(pts, float)
        n = len(pts) - 1
        r = np.linspace(r0, r1, n + 1)
        for i in range(n):
            self.seg(pts[i], pts[i + 1], r[i], r[i + 1], v, ymax)

    def extend(self, arr, v, dr: float = 0.0):
        """Add segments from a (n, 8) geometry array [a, b, ra, rb] with radius offset dr."""
        for row in np.asarray(arr).reshape(-1, 8):
            self.seg(row[:3], row[3:6], max(row[6] + dr, 0.05), max(row[7] + dr, 0.05), v)

    def build(self, zlim=None) -> TubeSet:
        a, b = np.array(self.a).reshape(-1, 3), np.array(self.b).reshape(-1, 3)
        ra, rb, v, ym = (np.array(t, dtype=np.float64) for t in (self.ra, self.rb, self.v, self.ymax))
        if zlim is not None and len(a):
            r = np.maximum(ra, rb)
            keep = (np.maximum(a[:, 2], b[:, 2]) + r >= zlim[0]) & (np.minimum(a[:, 2], b[:, 2]) - r <= zlim[1])
            a, b, ra, rb, v, ym = a[keep], b[keep], ra[keep], rb[keep], v[keep], ym[keep]
        return TubeSet(a, b, ra, rb, v, ymax=None if np.all(np.isinf(ym)) else ym)


def _grow_tree(rng, a0, d0, r0, *, inside, r_min, max_seg, len_diam=(1.5, 3.0), major=(0.78, 0.9),
               minor=(0.6, 0.78), ang_major=(10, 30), ang_minor=(30, 60), center=None, bias_w=0.3,
               taper=0.95, retries: int = 6) -> np.ndarray:
    """Grow a random bifurcating tube tree breadth-first inside a domain.

    Returns (n, 9) float64 rows ``[ax, ay, az, bx, by, bz, ra, rb, generation]`` (mm).
    A branch whose end leaves ``inside`` is deflected at random (and shortened) up to
    ``retries`` times, then dropped. Children get
    radii ``r * U(major)`` and ``r * U(minor)`` and branch off at random angles in a plane
    that turns by about 90 degrees each generation; directions are pulled away from
    ``center`` (e.g. the hilum) by ``bias_w`` so the tree fills its domain.
    """
    from collections import deque

    segs = []
    d0 = _unit(d0)
    q = deque([(np.asarray(a0, float), d0, float(r0), 0, _perp(d0, rng))])
    while q and len(segs) < max_seg:
        a, d, r, g, n = q.popleft()
        L = 2 * r * rng.uniform(*len_diam)
        b = a + d * L
        k = 0
        while not inside(b) and k < retries:  # deflect (and shorten) until the end is inside
            k += 1
            d = _unit(d + 0.5 * k / retries * rng.standard_normal(3) - (0.0 if center is None else 0.3 * _unit(a - center)))
            b = a + d * L * (1.0 if k <= retries // 2 else 0.5)
        if not inside(b):
            continue
        rb = r * taper
        segs.append((*a, *b, r, rb, g))
        n = _rotate(n, d, np.pi / 2 + rng.uniform(-0.5, 0.5))
        n = _unit(n - (n @ d) * d)
        sign = rng.choice([-1.0, 1.0])
        for rr, ang in ((r * rng.uniform(*major), rng.uniform(*ang_major)), (r * rng.uniform(*minor), -rng.uniform(*ang_minor))):
            if rr < r_min:
                continue
            nd = _rotate(d, n, sign * np.deg2rad(ang))
            if center is not None:
                nd = _unit(nd + bias_w * _unit(b - center))
            q.append((b, nd, rr, g + 1, n))
    return np.array(segs).reshape(-1, 9)


class _Textured:
    """Value callable: ``base + amp * tile(x, y, z)`` (HU)."""

    def __init__(self, base: float, amp: float, tile: NoiseTile):
        self.base, self.amp, self.tile = float(base), float(amp), tile

    def __call__(self, x, y, z):
        return (self.base + self.amp * self.tile(x, y, z)).astype(_F)


def _body_layers(A, B, p, fat, muscle, zk, scale_k, skin_hu=30.0):
    """Skin/fat/muscle/cavity extrusions; returns (list, cavity semi-axes (Ac, Bc) per knot)."""
    a = A * scale_k
    b = B * scale_k
    layers = [
        Extrusion(zk, 0, 0, a, b, skin_hu, p=p),
        Extrusion(zk, 0, 0, a - 2, b - 2, -100.0, p=p),
        Extrusion(zk, 0, 0, a - 2 - fat, b - 2 - fat, 50.0, p=p),
    ]
    Ac, Bc = a - 2 - fat - muscle, b - 2 - fat - muscle
    return layers, Ac, Bc


def _place(rng, ph: Phantom, sampler, radius, ok, tries: int = 200):
    """Draw a centre from ``sampler()`` whose centre and 6 surface points satisfy ``ok(hu)``."""
    dirs = np.vstack([np.eye(3), -np.eye(3), np.zeros((1, 3))])
    for _ in range(tries):
        c = sampler()
        pts = c + dirs * radius
        h = ph.hu_at(pts[:, 0], pts[:, 1], pts[:, 2])
        if ok(h):
            return c
    return None


def _vertebrae(rng, zlo, zhi, xv, yv, rv, period, disc, cortical=800.0, cancellous=200.0, disc_hu=85.0,
               prog=None):
    """Spine: vertebral bodies (cortical shell + cancellous core), discs and posterior elements.

    ``xv(z), yv(z)`` give the centre line (mm); returns (primitives, posterior TubeSet parts).
    """
    prims, post = [], _Tubes()
    ryf = 0.75
    phase = rng.uniform(0, period)
    k0 = int(np.floor((zlo - phase) / period)) - 1
    k1 = int(np.ceil((zhi - phase) / period)) + 1
    canal = []
    for k in range(k0, k1 + 1):
        zb = phase + k * period
        zt = zb + period - disc
        zz = np.array([zb, zt])
        cx, cy = xv(zz), yv(zz)
        r = rv * rng.uniform(0.95, 1.05)
        prims.append(Extrusion(zz, cx, cy, r, r * ryf, cortical))
        prims.append(Extrusion([zb + 1.2, zt - 1.2], cx, cy, r - 1.5, r * ryf - 1.5, cancellous))
        zd = np.array([zt, zb + period])
        prims.append(Extrusion(zd, xv(zd), yv(zd), r + 0.8, r * ryf + 0.8, disc_hu))
        # neural arch (pedicles + lamina) as a bony ring around the canal, spinous and transverse processes
        za = np.array([zb + 0.15 * period, zt - 0.1 * period])
        acx, acy = xv(za), yv(za) + r * ryf + 9
        prims.append(Extrusion(za, acx, acy, 0.62 * r, 0.5 * r, 700.0))
        zm = za.mean()
        base = np.array([xv(zm), yv(zm) + r * ryf + 9 + 0.45 * r, zm])
        tip = base + np.array([rng.uniform(-2, 2), 0.9 * r + rng.uniform(0, 8), -0.45 * period])
        post.seg(base, tip, 4.5, 3.5, 650.0)
        for s in (-1, 1):
            tb = np.array([xv(zm) + s * 0.45 * r, yv(zm) + r * ryf + 6, zm + 2])
            tt = tb + np.array([s * (0.9 * r + rng.uniform(0, 8)), rng.uniform(2, 8), rng.uniform(-4, 2)])
            post.seg(tb, tt, 4.0, 3.0, 650.0)
        canal.append(zb)
    zc = np.linspace(zlo - 10, zhi + 10, 12)
    canal_prim = Extrusion(zc, xv(zc), yv(zc) + rv * ryf + 9, 0.36 * rv, 0.3 * rv, 15.0)
    return prims, post, canal_prim


def _ribs(rng, t: _Tubes, Aw, Bw, z_post, drop, phi_end, yv0, r_out=4.2, r_in=2.6, cart=False, n_pts=22):
    """One rib pair per entry of z_post: arcs at the wall ellipse (Aw, Bw) descending in z.

    The arc starts posteriorly beside the spine (angle ~ 100 deg from +x towards +y) and
    runs laterally and anteriorly to ``phi_end`` (radians, negative = anterior) while
    dropping ``drop`` mm; costal cartilage (120 HU) continues anteriorly if ``cart``.
    Returns the marrow tubes, to be painted after the cortical ones in ``t``.
    """
    marrow = _Tubes()
    for zp, dr, pe in zip(z_post, drop, phi_end):
        for s in (-1, 1):
            phi0 = np.deg2rad(rng.uniform(70, 78))
            phi = np.linspace(phi0, pe, n_pts)
            u = (phi0 - phi) / (phi0 - pe)
            zz = zp + rng.uniform(-3, 3) - dr * (0.55 * u + 0.45 * u ** 2)
            wob = 1 + 0.02 * np.sin(3 * phi + rng.uniform(0, 6))
            pts = np.c_[s * Aw * np.cos(phi) * wob, Bw * np.sin(phi) * wob, zz]
            pts[0, 1] = min(pts[0, 1], yv0 + 25)
            t.path(pts, r_out, r_out * 0.85, 850.0)
            marrow.path(pts, r_in, r_in * 0.85, 250.0)
            if cart:
                pc = np.linspace(pe, -np.pi / 2 + 0.12, 6)
                zc = zz[-1] - np.linspace(0, 1, 6) ** 1.2 * rng.uniform(-5, 15)
                cp = np.c_[s * Aw * np.cos(pc) * 0.97, Bw * np.sin(pc) * 0.97, zc]
                marrow.path(cp, r_out * 0.85, r_out * 0.8, 120.0)
    return marrow


def _check_anatomy_args(seed, z_extent):
    if seed is None or int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    z0, z1 = (float(v) for v in z_extent)
    if not z1 > z0:
        raise ValueError(f"z_extent must be (z0, z1) with z1 > z0 (mm), got {z_extent}")
    if z1 - z0 > 400:
        raise ValueError("z_extent longer than 400 mm is outside the modelled anatomy")
    return int(seed), z0, z1
