"""The seeded chest phantom: non-contrast, at the level of the carina and hila, with optional fibrosis.

This module owns :func:`chest`, :class:`ChestPhantom` (the same patient with another
fibrosis extent, :meth:`ChestPhantom.with_fibrosis`) and the lung parenchyma texture
(``_LungValue``: a fibrosis-like reticular pattern with ground-glass haze and
honeycomb-like cysts). The anatomy is drawn from the patient seed with the shared helpers
of :mod:`t2tcore.scanner.anatomy` and painted with the primitives of
:mod:`t2tcore.scanner.primitives` (coordinates in mm, values in HU).
"""

from __future__ import annotations

import numpy as np

from t2tcore.scanner.anatomy import (Lesion, _body_layers, _check_anatomy_args, _grow_tree, _place, _ribs,
                                     _rot_xyz, _Tubes, _unit, _vertebrae, _wobbly)
from t2tcore.scanner.primitives import _F, Ellipsoid, Extrusion, NoiseTile, Phantom, TubeSet

__all__ = ["ChestPhantom", "chest"]


class _LungValue:
    """Lung parenchyma HU with a fibrosis-like reticular texture.

    ``hu = -850 + A * (ground_glass + reticular * ret)``, where the involvement
    ``A in [0, 1]`` grows with the severity score ``0.6 * periphery + 0.25 * base +
    0.15 * patch`` (at most 1) above the threshold ``1 - 1.15 * fibrosis``
    (0: no involvement at all), and ``ret = clip(1 - |R| / w, 0, 1)`` traces the zero
    surfaces of a band-pass noise field ``R`` (walls ~1 mm thick, cells ~3-5 mm), with
    honeycomb-like cysts where involvement is high.
    """

    def __init__(self, rng, lung: Extrusion, z_apex, z_base, tile: NoiseTile, tile2: NoiseTile, fibrosis=0.0):
        self.lung, self.z_apex, self.z_base = lung, float(z_apex), float(z_base)
        self.tile, self.tile2 = tile, tile2
        self.k = rng.standard_normal((3, 3)) / rng.uniform(35, 70, (3, 1))
        self.ph = rng.uniform(0, 2 * np.pi, 3)
        self.fibrosis = float(fibrosis)

    wants_rho = True

    def involvement(self, x, y, z, rho=None):
        """A in [0, 1] (float32) at points (1-D arrays, mm); zeros when fibrosis == 0."""
        f = self.fibrosis
        A = np.zeros(np.shape(x), dtype=_F)
        if f <= 0:
            return A
        if rho is None:
            rho = self.lung.rho(x, y, z)
        per = np.clip((rho - _F(0.5)) * _F(2), 0, 1)
        base = np.clip((_F(self.z_apex) - z) * _F(1 / (self.z_apex - self.z_base)), 0, 1) ** 1.5
        s0 = _F(0.6) * per + _F(0.25) * base
        thr = 1.0 - 1.15 * f
        cand = np.nonzero(s0 > thr - 0.15)[0]  # the patch term is within +-0.15
        if cand.size:
            xc, yc, zc = x[cand], y[cand], z[cand]
            patch = sum(np.cos(_F(self.k[i, 0]) * xc + _F(self.k[i, 1]) * yc + _F(self.k[i, 2]) * zc + _F(self.ph[i]))
                        for i in range(3)) / 3
            A[cand] = np.clip((s0[cand] + _F(0.15) * patch - _F(thr)) * _F(4), 0, 1)
        return A

    def __call__(self, x, y, z, rho=None):
        out = np.full(np.shape(x), -850.0, dtype=_F)
        if self.fibrosis <= 0:
            return out
        A = self.involvement(x, y, z, rho)
        sel = np.nonzero(A > 0)[0]
        if sel.size == 0:
            return out
        xs, ys, zs, a = x[sel], y[sel], z[sel], A[sel]
        R = self.tile(xs, ys, zs)
        ret = np.clip(1 - np.abs(R) / _F(0.3), 0, 1)
        h = -850 + a * (_F(130) + _F(650) * ret)
        hc = np.nonzero(a > 0.7)[0]
        if hc.size:
            C = self.tile2(xs[hc], ys[hc], zs[hc])
            cyst = (C > 1.3) & (ret[hc] < 0.3)
            h[hc[cyst]] = -960
        out[sel] = h
        return out


class ChestPhantom(Phantom):
    """A :class:`~t2tcore.scanner.primitives.Phantom` made by :func:`chest`; adds :meth:`with_fibrosis`."""

    def _set_fibrosis(self, f: float) -> None:
        for lung, lv in zip(self.lungs, self._lung_values):
            lv.fibrosis = f
            lung.value = lv if f > 0 else -850.0
        self.fibrosis = f

    def with_fibrosis(self, fibrosis: float) -> "ChestPhantom":
        """The same patient with another fibrosis extent (identical to ``chest(seed, ..., fibrosis)``).

        Shares all geometry with ``self`` (cheap); ``self`` is not modified.
        """
        import copy

        if not 0.0 <= float(fibrosis) <= 1.0:
            raise ValueError(f"fibrosis must be in [0, 1], got {fibrosis}")
        new = copy.copy(self)
        new.lungs = [copy.copy(l) for l in self.lungs]
        new._lung_values = [copy.copy(v) for v in self._lung_values]
        for lv, lung in zip(new._lung_values, new.lungs):
            lv.lung = lung
        repl = {id(o): n for o, n in zip(self.lungs, new.lungs)}
        new.primitives = [repl.get(id(p), p) for p in self.primitives]
        new._set_fibrosis(float(fibrosis))
        return new


def chest(seed: int, z_extent=(0.0, 100.0), fibrosis: float = 0.0, anatomy_offset_mm: float = 0.0,
          n_nodules: int | None = None) -> "ChestPhantom":
    """Seeded, non-contrast chest at the level of the carina and hila.

    Parameters
    ----------
    seed : int
        Patient seed (size, shape, airway and vessel trees, rib course, nodules, texture).
        The random draws do not depend on ``fibrosis``: the same seed with a different
        ``fibrosis`` is the same patient with more or less disease.
    z_extent : (float, float)
        z range in mm; the anatomy is centred on it (z grows towards the head).
    fibrosis : float in [0, 1]
        Extent of a fibrosis-like reticular pattern (with ground-glass haze and, where
        severe, honeycomb-like cysts) starting in the lung periphery and bases; 0: none.
    anatomy_offset_mm : float
        Anatomical level at the centre of ``z_extent`` relative to the default (20-40 mm
        below the carina); + is cranial.
    n_nodules : int, optional
        Number of nodules (default 1 to 5 from the seed).

    Returns
    -------
    ChestPhantom
        With extra attributes ``airway_segments``
        (:class:`~t2tcore.scanner.primitives.TubeSet` of the airway walls: ``a``, ``b``
        (n, 3) mm, outer radii ``ra``, ``rb`` (n,) mm), ``airway_generation`` (n,) int,
        ``airway_wall`` and ``airway_lumen`` (the two TubeSet primitives painted for the
        airways -- wall +50 HU, then the air lumen -1000 HU -- as they sit in
        ``primitives``, so that a caller can swap in another airway tree, e.g.
        :mod:`t2tcore.clinical.cohort`),
        ``vessel_segments`` (TubeSet), ``nodules`` (list of
        :class:`~t2tcore.scanner.anatomy.Lesion`), ``lungs`` (the two lung
        :class:`~t2tcore.scanner.primitives.Extrusion` objects) and ``anatomy`` (dict).

    Notes
    -----
    Lungs -850 HU; airway tree from the trachea to ~2 mm branches (wall +50 HU, air
    lumen) grown with random branching angles; pulmonary arterial and venous trees
    (40 HU, tapering to ~1 mm); heart, mediastinal fat and great vessels; thoracic spine,
    12 rib pairs with costal cartilage, sternum; solid (20-60 HU) and ground-glass
    (-700..-500 HU) nodules 3-20 mm.
    """
    seed, z0, z1 = _check_anatomy_args(seed, z_extent)
    if not 0.0 <= float(fibrosis) <= 1.0:
        raise ValueError(f"fibrosis must be in [0, 1], got {fibrosis}")
    rng = np.random.default_rng([seed, 2])
    zc = 0.5 * (z0 + z1) - anatomy_offset_mm

    def Z(zp):
        return np.asarray(zp, dtype=np.float64) + zc

    zlo, zhi = z0 - zc - 20, z1 - zc + 20
    U = rng.uniform
    A = U(135, 175)
    B = A * U(0.62, 0.76)
    p = U(2.0, 2.5)
    fat, muscle = U(5, 25), U(10, 17)
    zk_p = np.array([-250.0, 0.0, 250.0])
    taper = np.array([1 + U(0, 0.06), 1.0, 1 - U(0, 0.08)])
    prims, Ac_k, Bc_k = _body_layers(A, B, p, fat, muscle, Z(zk_p), taper)
    Ac, Bc = float(Ac_k[1]), float(Bc_k[1])
    prims.append(Extrusion(Z(zk_p), 0, 0, Ac_k, Bc_k, -90.0, p=p))
    s = Ac / 120.0

    # spine line (thoracic kyphosis: centre moves posteriorly in mid thorax)
    rv = U(15, 18) * min(max(s, 0.9), 1.15)
    ryv = 0.75 * rv
    yv0 = Bc - 28 * s
    kyph, scol = U(4, 12), U(-3, 3)
    xv = lambda zz: scol * np.sin((np.asarray(zz) - zc) / 150)
    yv = lambda zz: yv0 + kyph * (1 - ((np.asarray(zz) - zc) / 180) ** 2) - kyph
    for sg in (-1, 1):
        prims.append(Extrusion(Z(zk_p), sg * (rv * 0.6 + 20 * s), Bc + muscle * 0.2, 24 * s, 14 * s, 50.0, angle=sg * 0.2))

    # lungs: z knots from base to apex
    z_apex = U(120, 145)
    z_base = -U(140, 160)
    zkl = np.array([z_base, -60, 0, 60, z_apex - 40, z_apex - 15, z_apex])
    fa = np.array([0.95, 1.0, 1.0, 0.93, 0.75, 0.5, 0.15])
    lungs, lung_vals, domes = [], [], []
    tile = NoiseTile(rng, 64, 0.5, (2.5, 7.0))
    tile2 = NoiseTile(rng, 48, 1.0, (4.0, 9.0))
    for sg in (-1, 1):
        la = 0.47 * Ac * fa * U(0.95, 1.05)
        lb = 0.9 * Bc * fa * U(0.95, 1.05)
        cx = sg * (Ac - la - 3)
        cy = 0.04 * Bc + 0.25 * Bc * (1 - fa)  # apices sit posteriorly
        lung = Extrusion(Z(zkl), cx, cy, la, lb, -850.0, angle=-sg * U(0.0, 0.12))
        lv = _LungValue(rng, lung, Z(z_apex), Z(z_base), tile, tile2, 0.0)
        lungs.append(lung)
        lung_vals.append(lv)
    prims += lungs
    for sg, top in ((-1, U(-85, -65)), (1, U(-100, -80))):
        hz = U(55, 70)
        dome = Ellipsoid([sg * 0.45 * Ac, 0.0, float(Z(top - hz))], [0.6 * Ac, 1.0 * Bc, hz], 55.0)
        domes.append(dome)
        prims.append(dome)
    # mediastinum, heart
    zm = np.array([-160.0, -60, 0, 60, 160])
    prims.append(Extrusion(Z(zm), [0.05 * Ac, 0.05 * Ac, 0.02 * Ac, 0.0, 0.0], [-0.25 * Bc] * 3 + [-0.1 * Bc] * 2,
                           np.array([0.3, 0.28, 0.2, 0.16, 0.13]) * Ac * U(0.9, 1.1),
                           np.array([0.55, 0.55, 0.6, 0.7, 0.7]) * Bc, -90.0))
    hc = np.array([0.17 * Ac, -0.28 * Bc, float(Z(U(-80, -60)))])
    hax = np.array([U(0.3, 0.36) * Ac, U(0.42, 0.5) * Bc, U(45, 55)])
    hR = _rot_xyz(U(-0.3, 0.0), U(0.2, 0.45), U(0.35, 0.7))
    prims.append(Ellipsoid(hc, hax + U(3, 7), -90.0, hR))
    prims.append(Ellipsoid(hc, hax, 40.0, hR))

    # great vessels (non-contrast blood 40 HU), esophagus
    gv = _Tubes()
    ao_r = U(13, 16) * s
    asc0 = hc + hR @ np.array([-0.2 * hax[0], -0.3 * hax[1], 0.75 * hax[2]])
    arch = np.array([0.02 * Ac, -0.35 * Bc, float(Z(U(55, 65)))])
    desc0 = np.array([float(xv(arch[2])) + rv + 12, float(yv(arch[2])) - ryv - 4, arch[2] - 10])
    gv.path(_wobbly(rng, [asc0, [-0.05 * Ac, -0.35 * Bc, asc0[2] + 40], arch, [0.12 * Ac, -0.05 * Bc, arch[2] + 8], desc0], 5, 2),
            ao_r, ao_r * 0.85, 40.0)
    zd = np.linspace(arch[2] - 10, Z(-200), 8)
    dp = np.c_[xv(zd) + rv + 10 + U(-3, 3, 8), yv(zd) - ryv - 2, zd]
    gv.path(_wobbly(rng, dp, 3, 2), ao_r * 0.85, ao_r * 0.75, 40.0)
    for x_, y_ in ((-0.08 * Ac, -0.1 * Bc), (0.08 * Ac, -0.18 * Bc)):  # arch branches
        gv.path(_wobbly(rng, [arch + [x_ * 0.3, 0, 5], [x_, y_, Z(200)]], 6, 4), 6 * s, 5 * s, 40.0)
    svc = [[-0.15 * Ac, -0.22 * Bc, Z(200)], [-0.15 * Ac, -0.25 * Bc, Z(20)], hc + hR @ np.array([-0.5 * hax[0], 0, 0.6 * hax[2]])]
    gv.path(_wobbly(rng, svc, 6, 2), 9 * s, 10 * s, 40.0)
    pa0 = hc + hR @ np.array([0.1 * hax[0], -0.5 * hax[1], 0.7 * hax[2]])
    pab = np.array([0.1 * Ac, -0.05 * Bc, float(Z(U(0, 15)))])
    gv.path([pa0, pab], 13 * s, 12 * s, 40.0)
    zcar = U(25, 40)
    hila = {-1: np.array([-0.32 * Ac, 0.02 * Bc, float(Z(zcar - U(20, 30)))]),
            1: np.array([0.3 * Ac, 0.02 * Bc, float(Z(zcar - U(10, 20)))])}
    for sg in (-1, 1):
        gv.path(_wobbly(rng, [pab, 0.5 * (pab + hila[sg]) + [0, 8, 5], hila[sg]], 4, 2), 10 * s, 8 * s, 40.0)
    ye = float(yv0) - ryv - 6
    ep = np.array([[0.04 * Ac, ye, Z(200)], [0.05 * Ac, ye + 2, Z(0)], [0.1 * Ac, ye - 8, Z(-200)]])
    gv.path(ep, 8.0, 9.0, 40.0)
    esl = _Tubes()
    esl.path(ep, 2.0, 2.0, -1000.0)
    prims += [gv.build((Z(zlo), Z(zhi))), esl.build((Z(zlo), Z(zhi)))]

    dome_par = [(float(d.c[0]), float(d.c[1]), float(d.c[2]), *(1 / float(v) for v in d.ax)) for d in domes]

    def in_lung(q, m=0.9):
        x, y, z = float(q[0]), float(q[1]), float(q[2])
        if not any(lung.rho_point(x, y, z) < m for lung in lungs):
            return False
        return not any(((x - cx) * ia) ** 2 + ((y - cy) * ib) ** 2 + ((z - cz) * ic) ** 2 <= 1
                       for cx, cy, cz, ia, ib, ic in dome_par)

    # pulmonary vessels: arterial trees from the hila, venous trees from near the left atrium
    vessel = _Tubes()
    vtrees = []
    la_c = hc + hR @ np.array([0, 0.6 * hax[1], 0.5 * hax[2]])
    for sg in (-1, 1):
        for d in ([sg, 0.1, 0.8], [sg, 0.2, -0.7], [sg, 0.5, 0.0]):
            vtrees.append(_grow_tree(rng, hila[sg], d, U(5.0, 6.5), inside=in_lung, r_min=0.6, max_seg=1400,
                                     center=hila[sg], len_diam=(2.5, 5.0), bias_w=0.35, major=(0.82, 0.92),
                                     minor=(0.62, 0.82)))
        v0 = la_c + [sg * 0.25 * Ac, 0.1 * Bc, 0]
        for d in ([sg, 0.3, -0.5], [sg, 0.2, 0.4]):
            vtrees.append(_grow_tree(rng, v0, d, U(4.5, 6.0), inside=in_lung, r_min=0.6, max_seg=900,
                                     center=la_c, len_diam=(2.5, 5.0), bias_w=0.35, major=(0.82, 0.92),
                                     minor=(0.62, 0.82)))
    for tr in vtrees:
        vessel.extend(tr[:, :8], 40.0)
    vessel_set = vessel.build((Z(zlo), Z(zhi)))
    prims.append(vessel_set)

    # airway tree: trachea -> main bronchi -> random branching down to ~2 mm diameter
    rt = U(8.5, 11) * s ** 0.5
    tr_top = np.array([0.0, float(yv0) - ryv - 26, float(Z(200))])
    carina = np.array([U(-3, 3), float(yv0) - ryv - 18, float(Z(zcar))])
    aw = [np.r_[tr_top, carina, rt, rt * 0.95, 0]]
    for sg, ang, ln, rr in ((-1, U(20, 30), U(20, 28), 0.78), (1, U(40, 50), U(40, 50), 0.7)):
        d = _unit([sg * np.sin(np.deg2rad(ang)), 0.15, -np.cos(np.deg2rad(ang))])
        end = carina + d * ln
        aw.append(np.r_[carina, end, rt * rr, rt * rr * 0.95, 1])
        for dd, rf in (([sg * 0.8, 0.1, 0.6], 0.72), ([sg * 0.3, 0.25, -0.9], 0.85), ([sg * 0.6, -0.5, -0.3], 0.6)):
            tr = _grow_tree(rng, end, dd, rt * rr * rf, inside=lambda q: in_lung(q, 0.93), r_min=0.95, max_seg=500,
                            center=end, len_diam=(1.5, 3.0), bias_w=0.3, major=(0.78, 0.9), minor=(0.62, 0.8))
            tr[:, 8] += 2
            aw.append(tr)
    aw = np.vstack(aw)
    walls, lumen = _Tubes(), _Tubes()
    walls.extend(aw[:, :8], 50.0)
    lumen_r = aw[:, 6:8] - np.maximum(0.15 * aw[:, 6:8], 0.3)
    lumen.extend(np.c_[aw[:, :6], lumen_r], -1000.0)
    airway_set = TubeSet(aw[:, :3], aw[:, 3:6], aw[:, 6], aw[:, 7], 50.0)
    airway_wall, airway_lumen = walls.build((Z(zlo), Z(zhi))), lumen.build((Z(zlo), Z(zhi)))
    prims += [airway_wall, airway_lumen]

    # nodules (placed in parenchyma, independent of fibrosis)
    ph0 = Phantom(prims, (z0 - 1000, z1 + 1000), 1.0)
    n_nod = int(rng.integers(1, 6)) if n_nodules is None else int(n_nodules)
    nodules, nprims = [], []
    for _ in range(n_nod):
        gg = rng.random() < 0.4
        d = float(np.exp(U(np.log(5.0), np.log(20.0)))) if gg else float(np.exp(U(np.log(3.0), np.log(15.0))))
        axes = d / 2 * U(0.85, 1.0, 3)
        axes[rng.integers(3)] = d / 2
        hu = U(-700, -500) if gg else U(20, 60)
        lung = lungs[int(rng.integers(2))]
        bb = lung.bbox

        def sampler(bb=bb):
            return np.array([U(bb[0], bb[1]), U(bb[2], bb[3]), U(max(bb[4], z0), min(bb[5], z1))])

        c = _place(rng, ph0, sampler, axes.max() + 1.0, lambda h: bool(np.all(h < -800)))
        if c is None:
            continue
        nprims.append(Ellipsoid(c, axes, float(hu), _rot_xyz(*U(0, np.pi, 3))))
        nodules.append(Lesion(c, axes, float(2 * axes.max()), float(hu), -850.0, "lung", "ground-glass" if gg else "solid"))
    prims += nprims

    # bone: spine, ribs, sternum
    vprims, post, canal = _vertebrae(rng, Z(zlo), Z(zhi), xv, yv, rv, U(24, 28), U(4.5, 6))
    ribs = _Tubes()
    zr = z_apex + 10 - np.arange(12) * U(24, 28) + U(-3, 3, 12)
    marrow = _ribs(rng, ribs, Ac + muscle * 0.35, Bc + muscle * 0.35, Z(zr), U(50, 80, 12),
                   np.deg2rad(np.linspace(-80, -10, 12)) + U(-0.1, 0.1, 12), yv0, r_out=U(4.5, 5.5), r_in=3.0,
                   cart=True)
    zst = np.array([-130.0, 150.0])
    ys = -(Bc + muscle * 0.45)
    prims += vprims + [post.build((Z(zlo), Z(zhi))), canal, ribs.build((Z(zlo), Z(zhi))), marrow.build((Z(zlo), Z(zhi))),
                       Extrusion(Z(zst), 0, ys, 16 * s, 6.5, 700.0), Extrusion(Z(zst + [1, -1]), 0, ys, 16 * s - 1.5, 5.0, 250.0)]

    fov = 2 * 1.06 * max(A, B) * taper.max() * 1.02
    ph = ChestPhantom(prims, (z0, z1), fov, name=f"chest-{seed}", seed=seed)
    ph._lung_values = lung_vals
    ph.lungs = lungs
    ph._set_fibrosis(float(fibrosis))
    ph.airway_segments = airway_set
    ph.airway_generation = aw[:, 8].astype(int)
    ph.airway_wall, ph.airway_lumen = airway_wall, airway_lumen
    ph.vessel_segments = vessel_set
    ph.nodules = nodules
    ph.anatomy = dict(A=A, B=B, fat_mm=fat, muscle_mm=muscle, cavity=(Ac, Bc), carina_z=float(Z(zcar)),
                      anatomy_offset_mm=anatomy_offset_mm)
    return ph
