"""The seeded abdomen phantom: contrast-enhanced, at the level of the liver and kidneys.

This module owns :func:`abdomen` and the nominal HU of its organs. The anatomy (body wall,
organs, vessel trees, bowel, spine, ribs, lesions) is drawn from the patient seed with the
shared helpers of :mod:`t2tcore.scanner.anatomy` and painted with the primitives of
:mod:`t2tcore.scanner.primitives` (coordinates in mm, values in HU).
"""

from __future__ import annotations

import numpy as np

from t2tcore.scanner.anatomy import (Lesion, _body_layers, _check_anatomy_args, _grow_tree, _place, _ribs,
                                     _rot_xyz, _Textured, _Tubes, _unit, _vertebrae, _wobbly)
from t2tcore.scanner.primitives import Ellipsoid, Extrusion, NoiseTile, Phantom

__all__ = ["abdomen"]


LIVER_HU, SPLEEN_HU, KIDNEY_CORTEX_HU, KIDNEY_MEDULLA_HU = 60.0, 70.0, 160.0, 110.0


def abdomen(seed: int, z_extent=(0.0, 100.0), anatomy_offset_mm: float = 0.0, n_lesions: int | None = None,
            texture: bool = True) -> Phantom:
    """Seeded, contrast-enhanced (portal venous) abdomen at the level of the liver and kidneys.

    Parameters
    ----------
    seed : int
        Patient seed; everything random (size, shape, organ positions, vessel paths,
        lesion count, size, position and contrast) follows from it.
    z_extent : (float, float)
        z range in mm; the anatomy is centred on it (z grows towards the head).
    anatomy_offset_mm : float
        Anatomical level at the centre of ``z_extent`` relative to the default (about
        L1/L2, where liver, spleen, both kidneys and bowel are in view); + is cranial.
    n_lesions : int, optional
        Number of lesions (default: 3 to 8 drawn from the seed).
    texture : bool
        Add a +-6 HU band-pass texture to liver and spleen.

    Returns
    -------
    Phantom
        With extra attributes ``lesions`` (list of :class:`~t2tcore.scanner.anatomy.Lesion`,
        diameters 2-15 mm), ``vessel_segments`` (:class:`~t2tcore.scanner.primitives.TubeSet`)
        and ``anatomy`` (dict of key parameters).

    Notes
    -----
    Body: super-elliptical outline with skin, subcutaneous fat (-100 HU), muscle (50) and
    visceral fat (-90). Liver 60 HU, spleen 70, kidneys (cortex 160, medulla 110, sinus
    fat), pancreas, stomach and gallbladder; aorta (200), IVC (150), portal (180) and
    hepatic (160) venous trees branching inside the liver, renal, celiac, splenic and
    mesenteric vessels, all running obliquely to z; lumbar vertebrae (cortical 800,
    cancellous 200) with discs (85) and posterior elements, ribs 9-12 crossing slices
    obliquely; small bowel and colon loops with gas above fluid levels (patient supine).
    """
    seed, z0, z1 = _check_anatomy_args(seed, z_extent)
    rng = np.random.default_rng([seed, 1])
    zc = 0.5 * (z0 + z1) - anatomy_offset_mm

    def Z(zp):  # anatomical level (mm, 0 ~ L1/L2) -> table z
        return np.asarray(zp, dtype=np.float64) + zc

    zlo, zhi = z0 - zc - 20, z1 - zc + 20  # anatomical range needed (plus margin)
    U = rng.uniform
    A, B = U(135, 180), 0.0
    B = A * U(0.64, 0.8)
    p = U(2.2, 2.9)
    fat, muscle = U(8, 32), U(8, 13)
    zk_p = np.array([-250.0, 0.0, 250.0])
    taper = np.array([1 + U(-0.06, 0.06), 1.0, 1 + U(-0.06, 0.06)])
    prims, Ac_k, Bc_k = _body_layers(A, B, p, fat, muscle, Z(zk_p), taper)
    Ac, Bc = float(Ac_k[1]), float(Bc_k[1])
    prims.append(Extrusion(Z(zk_p), 0, 0, Ac_k, Bc_k, -90.0, p=p))  # visceral fat
    s = Ac / 125.0  # organ scale

    # spine centre line
    rv = U(21, 25) * min(max(s, 0.9), 1.15)
    yv0 = Bc + muscle - 62 * min(max(s, 0.85), 1.1)
    curv, scol, sph = U(4, 14), U(-4, 4), U(0, 6)
    xv = lambda zz: scol * np.sin((np.asarray(zz) - zc) / 180 + sph)
    yv = lambda zz: yv0 - curv * (1 - ((np.asarray(zz) - zc) / 160) ** 2)
    ryv = 0.75 * rv
    # paraspinal and psoas muscles
    for sg in (-1, 1):
        prims.append(Extrusion(Z(zk_p), sg * (rv * 0.6 + 24 * s), yv0 + 42 * s, 26 * s, 19 * s, 50.0, angle=sg * 0.15))
        zps = np.array([-120.0, -40.0, 20.0, 60.0])
        prims.append(Extrusion(Z(zps), sg * (rv + np.array([24, 16, 10, 4]) * s), yv0 + np.array([-12, -6, -2, 0]),
                               np.array([24, 17, 10, 3]) * s, np.array([18, 13, 8, 3]) * s, 45.0, angle=sg * 0.5))

    # bowel: colon frame + small bowel random walks, walls then contents then gas
    wall, cont, gas = _Tubes(), _Tubes(), _Tubes()
    cav_ok = lambda q, m=0.85: (q[0] / Ac) ** 2 + (q[1] / Bc) ** 2 < m ** 2 and q[1] < yv0 - rv - 25

    def add_bowel(pts, r, content_hu, gas_frac):
        for i in range(len(pts) - 1):
            a, b = pts[i], pts[i + 1]
            wall.seg(a, b, r + 2.2, r + 2.2, 40.0)
            cont.seg(a, b, r, r, content_hu)
            if gas_frac > 0:
                gas.seg(a, b, r, r, -1000.0, ymax=min(a[1], b[1]) - r + gas_frac * 2 * r)

    colon = np.array([[-0.62 * Ac, -0.05 * Bc, -140], [-0.66 * Ac, -0.15 * Bc, -60], [-0.6 * Ac, -0.3 * Bc, 10],
                      [-0.2 * Ac, -0.62 * Bc, U(-30, 10)], [0.25 * Ac, -0.62 * Bc, U(-20, 20)],
                      [0.62 * Ac, -0.25 * Bc, U(30, 60)], [0.7 * Ac, 0.0, -40], [0.66 * Ac, -0.05 * Bc, -140]])
    colon = _wobbly(rng, colon, 4, 8.0)
    colon[:, 2] = Z(colon[:, 2])
    add_bowel(colon, U(15, 22) * s, U(-60, 20), U(0.2, 0.6))
    for _ in range(int(rng.integers(14, 24))):
        r = U(8, 12) * s
        for _t in range(50):
            q = np.array([U(-0.6, 0.6) * Ac, U(-0.75, 0.1) * Bc, U(-150, 35)])
            if cav_ok(q, 0.7):
                break
        pts, d = [q], _unit(rng.standard_normal(3))
        for _k in range(int(rng.integers(6, 16))):
            for _t in range(12):
                nd = _unit(d + 0.9 * rng.standard_normal(3))
                nq = pts[-1] + nd * U(10, 16)
                if cav_ok(nq) and -160 < nq[2] < 45:
                    break
            else:
                break
            d = nd
            pts.append(nq)
        if len(pts) > 1:
            pts = np.array(pts)
            pts[:, 2] = Z(pts[:, 2])
            gf = U(0.15, 0.5) if rng.random() < 0.6 else 0.0
            add_bowel(pts, r, U(5, 30), gf)
    # stomach (left upper quadrant, anterior), same layering
    st = np.array([[0.35 * Ac, -0.05 * Bc, 105], [0.32 * Ac, -0.3 * Bc, 70], [0.1 * Ac, -0.5 * Bc, 40],
                   [-0.12 * Ac, -0.5 * Bc, 30]])
    st[:, 2] = Z(st[:, 2])
    sr = np.array([33, 30, 20, 13]) * s * U(0.8, 1.1)
    gfs = U(0.15, 0.45)
    for i in range(3):
        wall.seg(st[i], st[i + 1], sr[i] + 3, sr[i + 1] + 3, 40.0)
        cont.seg(st[i], st[i + 1], sr[i], sr[i + 1], 15.0)
        gas.seg(st[i], st[i + 1], sr[i], sr[i + 1], -1000.0, ymax=min(st[i, 1], st[i + 1, 1]) - sr[i] + gfs * 2 * sr[i])
    zl = (Z(zlo), Z(zhi))
    prims += [wall.build(zl), cont.build(zl), gas.build(zl)]

    # pancreas
    ya0 = yv0 - curv - ryv - 14 * s  # aorta y at the centre level
    panc = _Tubes()
    pp = np.array([[-0.2 * Ac, ya0 - 25 * s, 10], [0.0, ya0 - 32 * s, 20], [0.25 * Ac, ya0 - 20 * s, 30],
                   [0.5 * Ac, 0.2 * Bc, 40]])
    pp = _wobbly(rng, pp, 3, 3)
    pp[:, 2] = Z(pp[:, 2])
    panc.path(pp, 13 * s, 7 * s, 45.0)
    prims.append(panc.build())

    # kidneys
    kid_prims, hila, kidneys = [], {}, []
    for sg, zk_ in ((-1, U(-40, -20)), (1, U(-25, -5))):
        c = np.array([sg * (rv + U(38, 48) * s), yv0 + U(0, 10), float(Z(zk_))])
        R = _rot_xyz(np.deg2rad(U(8, 18)), -sg * np.deg2rad(U(8, 18)), sg * np.deg2rad(U(20, 40)))
        ax = np.array([U(25, 30) * s, U(18, 22) * s, U(48, 58)])
        cortex = Ellipsoid(c, ax, KIDNEY_CORTEX_HU, R)
        kid_prims += [cortex, Ellipsoid(c, ax - U(5, 8), KIDNEY_MEDULLA_HU, R)]
        sinus_c = c + R @ np.array([-sg * ax[0] * 0.55, -0.2 * ax[1], 0])
        kid_prims.append(Ellipsoid(sinus_c, (ax[0] * 0.35, ax[1] * 0.4, ax[2] * 0.4), -60.0, R))
        hila[sg] = c + R @ np.array([-sg * ax[0] * 1.05, -0.3 * ax[1], 0])
        kidneys.append(cortex)
    prims += kid_prims

    # spleen, liver, gallbladder
    zsp = np.array([-5.0, 10, 45, 72, 85]) + U(-8, 8)
    sp_a = np.array([0.2, 0.75, 1.0, 0.75, 0.2]) * U(45, 60) * s
    sp_b = np.array([0.3, 0.8, 1.0, 0.8, 0.3]) * U(17, 24) * s
    ang = np.deg2rad(U(120, 145))
    spx, spy = 0.93 * Ac - 0.55 * sp_b.max() - 5, 0.42 * Bc
    spleen = Extrusion(Z(zsp), spx - 0.3 * sp_a * np.cos(ang), spy - 0.3 * sp_a * np.sin(ang), sp_a, sp_b,
                       SPLEEN_HU, angle=ang)
    zlr = np.array([-70.0, -45, -10, 40, 80, 100, 112]) + U(-10, 10)
    la = np.array([0.10, 0.22, 0.32, 0.40, 0.44, 0.34, 0.12]) * Ac * U(0.9, 1.1, 7)
    lb = np.array([0.22, 0.45, 0.62, 0.72, 0.78, 0.60, 0.25]) * Bc * U(0.9, 1.1, 7)
    lcy = np.array([-0.3, -0.2, -0.1, -0.05, -0.05, -0.05, -0.05]) * Bc
    right_lobe = Extrusion(Z(zlr), -Ac + la + 4, lcy, la, lb, LIVER_HU, angle=U(-0.15, 0.15))
    zll = np.array([15.0, 35, 75, 95]) + U(-10, 5)
    left_lobe = Extrusion(Z(zll), np.linspace(-0.15, 0.12, 4) * Ac * U(0.8, 1.2), -0.52 * Bc,
                          np.array([0.1, 0.28, 0.3, 0.12]) * Ac * U(0.85, 1.15), np.array([0.12, 0.25, 0.3, 0.15]) * Bc,
                          LIVER_HU, angle=U(-0.35, -0.1))
    if texture:
        tex = NoiseTile(rng, 48, 1.0, (3.0, 12.0))
        for org, base in ((spleen, SPLEEN_HU), (right_lobe, LIVER_HU), (left_lobe, LIVER_HU)):
            org.value = _Textured(base, 6.0, tex)
    else:
        NoiseTile(rng, 48, 1.0, (3.0, 12.0))  # keep the random stream identical
    prims += [spleen, right_lobe, left_lobe]
    gb_c = np.array([-0.32 * Ac, -0.45 * Bc, float(Z(U(-25, -5)))])
    prims.append(Ellipsoid(gb_c, (U(12, 17), U(12, 17), U(25, 38)), 10.0, _rot_xyz(U(0.2, 0.5), U(-0.3, 0.3), 0)))
    liver_in = lambda q, m=0.9: right_lobe.rho_point(*map(float, q)) < m or left_lobe.rho_point(*map(float, q)) < m

    # vessels
    vs = _Tubes()
    zpa = np.arange(-100, 171, 10.0)
    ap = np.c_[xv(Z(zpa)) + 0.25 * rv + 8 * s, yv(Z(zpa)) - ryv - 14 * s, zpa]
    ap = _wobbly(rng, ap[::3], 3, 3)
    ap[:, 2] = Z(ap[:, 2])
    ra_ao = U(9, 12) * s
    vs.path(ap[::-1], ra_ao * 0.8, ra_ao, 200.0)
    aorta_at = lambda zp: np.array([np.interp(Z(zp), ap[:, 2], ap[:, 0]), np.interp(Z(zp), ap[:, 2], ap[:, 1]), float(Z(zp))])
    bif = ap[0]
    for sg in (-1, 1):
        vs.path(_wobbly(rng, [bif, bif + [sg * 45 * s, 20, -80]], 4, 4), ra_ao * 0.6, ra_ao * 0.55, 200.0)
    ivc_x = -(0.6 * rv + 14 * s)
    ip = np.array([[ivc_x, float(yv(Z(-110))) - ryv - 8, -110], [ivc_x, float(yv(Z(0))) - ryv - 10, 0],
                   [ivc_x - 5, float(yv(Z(60))) - ryv - 14, 60], [ivc_x - 8, float(yv(Z(100))) - ryv - 20, 100]])
    ip = _wobbly(rng, ip, 4, 3)
    ip[:, 2] = Z(ip[:, 2])
    r_ivc = U(10, 13) * s
    vs.path(ip, r_ivc, r_ivc, 150.0)
    ivc_at = lambda zp: np.array([np.interp(Z(zp), ip[:, 2], ip[:, 0]), np.interp(Z(zp), ip[:, 2], ip[:, 1]), float(Z(zp))])
    for sg in (-1, 1):  # renal arteries and veins
        h = hila[sg]
        zpk = h[2] - zc
        a0 = aorta_at(zpk + U(5, 15))
        vs.path(_wobbly(rng, [a0, 0.5 * (a0 + h) + [0, 8, 3], h], 4, 2.5), 3.2, 2.6, 200.0)
        v0 = ivc_at(zpk + U(0, 10))
        mid = [a0[0], a0[1] - ra_ao - 6, v0[2]] if sg > 0 else 0.5 * (v0 + h)
        vs.path(_wobbly(rng, [h, mid, v0], 4, 2), 4.5, 5.5, 170.0)
    # celiac -> hepatic + splenic arteries; SMA
    cel = aorta_at(U(40, 50))
    cel2 = cel + [0, -22 * s, 3]
    vs.path([cel, cel2], 3.5, 3.2, 200.0)
    porta = np.array([-0.3 * Ac, -0.12 * Bc, float(Z(U(50, 60)))])
    vs.path(_wobbly(rng, [cel2, 0.5 * (cel2 + porta) + [0, -5, 2], porta], 4, 3), 2.8, 2.2, 200.0)
    sp_hil = np.array([spx - 0.8 * sp_b.max() * np.cos(ang - np.pi / 2) - 5, spy - 10, float(Z(U(35, 45)))])
    vs.path(_wobbly(rng, [cel2, [0.25 * Ac, ya0 - 10, cel2[2] - 5], sp_hil], 6, 6), 3.0, 2.5, 200.0)
    sma0 = aorta_at(U(25, 32))
    sma = np.array([sma0, sma0 + [0, -15 * s, -6], sma0 + [4, -28 * s, -50], sma0 + [6, -32 * s, -130]])
    vs.path(_wobbly(rng, sma, 5, 3), 4.0, 2.5, 200.0)
    # portal system
    conf = np.array([-0.05 * Ac, ya0 - 30 * s, float(Z(U(20, 30)))])
    vs.path(_wobbly(rng, [conf, porta], 5, 3), 7.0 * s, 7.5 * s, 180.0)
    vs.path(_wobbly(rng, [conf, conf + [3, -8, -60], conf + [6, -12, -140]], 5, 4), 5.5, 4.0, 170.0)
    vs.path(_wobbly(rng, [conf, [0.25 * Ac, ya0 - 12, conf[2] + 5], sp_hil], 6, 4), 4.5, 4.5, 180.0)
    pt = []
    for d, r0 in (([-1.0, 0.25, 0.15], 5.5), ([0.6, -0.8, 0.2], 4.5)):
        pt.append(_grow_tree(rng, porta, d, r0 * s, inside=liver_in, r_min=0.9, max_seg=140, center=porta,
                             len_diam=(2.0, 4.0), bias_w=0.4))
    hv_top = ivc_at(U(92, 100))
    for d in ([-1.0, 0.2, -0.35], [-0.4, -0.9, -0.3], [0.7, -0.7, -0.2]):
        pt.append(_grow_tree(rng, hv_top, d, U(4.5, 6), inside=liver_in, r_min=0.9, max_seg=90, center=hv_top,
                             len_diam=(2.5, 4.5), bias_w=0.5) * [1] * 9)
    for i, tree in enumerate(pt):
        vs.extend(tree[:, :8], 180.0 if i < 2 else 160.0)
    vessel_set = vs.build(zl)
    prims.append(vessel_set)

    # lesions
    ph0 = Phantom(prims, (z0 - 1000, z1 + 1000), 1.0)  # placement helper (no z clipping)
    n_les = int(rng.integers(3, 9)) if n_lesions is None else int(n_lesions)
    lesions, les_prims = [], []
    organs = [("liver", [right_lobe, left_lobe], LIVER_HU, 0.65), ("spleen", [spleen], SPLEEN_HU, 0.15),
              ("kidney", kidneys, KIDNEY_CORTEX_HU, 0.2)]
    zmid_lo, zmid_hi = z0 + 0.05 * (z1 - z0), z1 - 0.05 * (z1 - z0)
    for _ in range(n_les):
        oi = rng.choice(3, p=[o[3] for o in organs])
        oname, oprims, base, _w = organs[oi]
        d = float(np.exp(U(np.log(2.0), np.log(15.0))))
        axes = np.clip(d / 2 * U(0.85, 1.0, 3), 1.0, 7.5)
        axes[rng.integers(3)] = d / 2
        kind = rng.choice(["hypo", "hyper", "low-contrast"], p=[0.5, 0.2, 0.3])
        if kind == "hypo":
            hu = base - U(30, 60) if oname != "kidney" else U(0, 20)
        elif kind == "hyper":
            hu = base + U(40, 80)
        else:
            hu = base + rng.choice([-1, 1]) * U(10, 20)
        org = oprims[int(rng.integers(len(oprims)))]
        bb = org.bbox

        def sampler(bb=bb):
            return np.array([U(bb[0], bb[1]), U(bb[2], bb[3]), U(max(bb[4], zmid_lo), min(bb[5], zmid_hi))
                             if min(bb[5], zmid_hi) > max(bb[4], zmid_lo) else U(bb[4], bb[5])])

        tol = 25.0 if oname != "kidney" else 70.0
        c = _place(rng, ph0, sampler, axes.max() + 1.0, lambda h, b=base, t=tol: bool(np.all(np.abs(h - b) < t)))
        if c is None:
            continue
        R = _rot_xyz(*U(0, np.pi, 3))
        les_prims.append(Ellipsoid(c, axes, float(hu), R))
        lesions.append(Lesion(c, axes, float(2 * axes.max()), float(hu), base, oname, str(kind)))
    prims += les_prims

    # spine and ribs (last: bone)
    vprims, post, canal = _vertebrae(rng, Z(zlo), Z(zhi), xv, yv, rv, U(33, 38), U(8, 10))
    ribs = _Tubes()
    zr = np.array([150.0, 122, 96, 72]) + U(-10, 10)
    marrow = _ribs(rng, ribs, Ac + muscle * 0.5, Bc + muscle * 0.5, Z(zr), U(40, 70, 4),
                   np.deg2rad([-35.0, -20, 5, 30]) + U(-0.1, 0.1, 4), yv0)
    prims += vprims + [post.build(zl), canal, ribs.build(zl), marrow.build(zl)]

    fov = 2 * 1.06 * max(A * taper.max(), B * taper.max()) * 1.02
    ph = Phantom(prims, (z0, z1), fov, name=f"abdomen-{seed}", seed=seed)
    ph.lesions = lesions
    ph.vessel_segments = vessel_set
    ph.anatomy = dict(A=A, B=B, fat_mm=fat, muscle_mm=muscle, cavity=(Ac, Bc), spine_y=yv0, texture=texture,
                      anatomy_offset_mm=anatomy_offset_mm)
    return ph
