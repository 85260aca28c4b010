"""Physics checks of the virtual helical CT scanner (t2tcore.scanner.helical).

Each check compares the scanner with an independent truth: brute-force pixel footprints,
an object whose attenuation is linear in z, a literal loop-over-rays z-filtered FBP, a
thin-disk slice sensitivity profile, quantum-noise statistics and edge MTFs. Images are
small (32-128 pixels) and z ranges short so the module runs in well under two minutes.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from t2tcore.scanner import phantoms as P
from t2tcore.scanner import helical as S


def _grid(n: int, fov: float) -> np.ndarray:
    return (np.arange(n) - (n - 1) / 2) * (fov / n)


def _radius_map(n: int, fov: float) -> np.ndarray:
    c = _grid(n, fov)
    X, Y = np.meshgrid(c, c)
    return np.hypot(X, Y)


class _FunctionPhantom:
    """Minimal stand-in phantom: mu(x, y, z) from a function of broadcast (Z, Y, X) mm."""

    def __init__(self, f, z_extent=(-100.0, 100.0), fov_mm=100.0, name="function"):
        self.f, self.z_extent, self.fov_mm, self.name = f, z_extent, fov_mm, name

    def mu(self, x, y, z, mu_water=P.MU_WATER):
        X = np.asarray(x, float)[None, None, :]
        Y = np.asarray(y, float)[None, :, None]
        Z = np.asarray(z, float)[:, None, None]
        return np.broadcast_to(self.f(X, Y, Z, mu_water), (Z.shape[0], Y.shape[1], X.shape[2])).astype(np.float32)


# --------------------------------------------------------------------------------------
# forward model
# --------------------------------------------------------------------------------------


def test_projector_matches_brute_force_pixel_footprint():
    """One non-zero pixel: every view's projection equals its chord lengths averaged over
    each detector bin, computed here by brute force on 300 x 300 points of the pixel."""
    n, fov = 32, 64.0
    cfg = S.ScannerConfig(image_size=n, fov_mm=fov, n_rows=2, views_per_rot=24, overscan_mm=0.0)
    c = _grid(n, fov)
    ix, iy = 19, 12
    mu0 = 0.02

    def f(X, Y, Z, mw):
        return np.where((np.abs(X - c[ix]) < 1e-6) & (np.abs(Y - c[iy]) < 1e-6), mu0, 0.0) + 0 * Z

    raw = S.project(_FunctionPhantom(f, fov_mm=fov), cfg, z_range=(0.0, 3.0), device="cpu")
    assert raw.n_views >= cfg.views  # a full rotation
    pix = fov / n
    m = 300
    s = (np.arange(m) + 0.5) / m - 0.5
    sx, sy = np.meshgrid(c[ix] + s * pix, c[iy] + s * pix)
    tb = (np.arange(cfg.bins) - (cfg.bins - 1) / 2) * pix
    for v in range(raw.n_views):
        th = 2 * np.pi * v / cfg.views
        t = sx * np.cos(th) + sy * np.sin(th)
        idx = np.round(t / pix + (cfg.bins - 1) / 2).astype(int).ravel()
        expect = mu0 * np.bincount(idx, minlength=cfg.bins) * (pix * pix / m**2) / pix  # mean chord x mu
        got = raw.sinogram()[v, 0]
        assert np.abs(got - expect).max() < 0.01 * expect.max(), f"view {v}"
        assert got.sum() == pytest.approx(expect.sum(), rel=1e-4)


def test_projection_of_cylinder_matches_analytic_chords():
    R, mu = 30.0, P.MU_WATER
    cfg = S.ScannerConfig(image_size=48, fov_mm=80.0, supersample=4, n_rows=2, overscan_mm=0.0)
    raw = S.project(P.WaterCylinder(R, 40.0), cfg, z_range=(0.0, 0.0), device="cpu")
    t = (np.arange(cfg.bins) - (cfg.bins - 1) / 2) * raw.pixel_mm
    ana = 2 * mu * np.sqrt(np.clip(R**2 - t**2, 0, None))
    inner = np.abs(t) < 0.9 * R
    got = raw.sinogram()[:, :, inner]
    assert np.abs(got - ana[inner]).max() < 0.01 * ana.max()


def test_row_aperture_integration_is_exact_for_linear_z():
    """mu = mu0 (1 + a z) inside a cylinder: each row sees the cylinder's chord times the
    mean of (1 + a z) over its aperture = 1 + a z_row_centre (exact for a linear profile)."""
    a = 0.02
    cfg = S.ScannerConfig(image_size=32, fov_mm=64.0, n_rows=8, row_width=0.6, pitch=1.3, views_per_rot=48)

    def cyl(X, Y, Z, mw, slope):
        return np.where(X**2 + Y**2 <= 25.0**2, mw * (1 + slope * Z), 0.0)

    lin = S.project(_FunctionPhantom(lambda X, Y, Z, mw: cyl(X, Y, Z, mw, a), fov_mm=64.0), cfg, (-2.0, 2.0), "cpu")
    flat = S.project(_FunctionPhantom(lambda X, Y, Z, mw: cyl(X, Y, Z, mw, 0.0), fov_mm=64.0), cfg, (-2.0, 2.0), "cpu")
    assert lin.p.shape == flat.p.shape and lin.z_start == flat.z_start
    v = np.arange(lin.n_views)
    zrow = lin.z_start + v[:, None] * cfg.pitch * cfg.n_rows * cfg.row_width / cfg.views \
        + (np.arange(cfg.n_rows) - (cfg.n_rows - 1) / 2) * cfg.row_width
    pl, pf = lin.sinogram(), flat.sinogram()
    big = pf > 0.2
    ratio = pl / np.where(big, pf, 1.0)
    expect = np.broadcast_to((1 + a * zrow)[:, :, None], pl.shape)
    assert np.abs(ratio[big] - expect[big]).max() < 2e-5


# --------------------------------------------------------------------------------------
# reconstruction vs a literal implementation
# --------------------------------------------------------------------------------------


def _literal_recon(raw: S.RawData, z_s: float, thickness: float, kind: str, kernel: str) -> np.ndarray:
    """z-filtered FBP written as loops over views and rows, straight from the definitions."""
    cfg = raw.config
    V, nb, n = cfg.views, cfg.bins, cfg.image_size
    K = V // 2
    pix = raw.fov_mm / n
    width = S.z_weight_width(cfg, thickness, kind)
    p = raw.sinogram()
    num = np.zeros((K, nb))
    den = np.zeros(K)
    for v in range(p.shape[0]):
        theta = 2 * np.pi * v / V
        comp = (theta % (2 * np.pi)) >= np.pi - 1e-9  # complementary: theta = phi + pi
        k = int(round((theta % np.pi) / (np.pi / K))) % K
        z_table = raw.z_start + v * cfg.pitch * cfg.n_rows * cfg.row_width / V
        for r in range(cfg.n_rows):
            z_ray = z_table + (r - (cfg.n_rows - 1) / 2) * cfg.row_width
            h = float(S.z_weight(np.array(z_ray - z_s), width, kind))
            if h > 0:
                num[k] += h * (p[v, r, ::-1] if comp else p[v, r])
                den[k] += h
    proj = num / den[:, None]
    f, H = S.kernel_response(kernel, pix, nb)
    nfft = 2 * (len(H) - 1)
    q = np.fft.irfft(np.fft.rfft(proj, nfft, axis=1) * H, nfft, axis=1)[:, :nb]
    c = _grid(n, raw.fov_mm)
    X, Y = np.meshgrid(c, c)
    tb = (np.arange(nb) - (nb - 1) / 2) * pix
    img = np.zeros((n, n))
    for k in range(K):
        phi = np.pi * k / K
        img += np.interp(X * np.cos(phi) + Y * np.sin(phi), tb, q[k]) * (np.pi / K)
    hu = 1000 * (img - cfg.mu_water) / cfg.mu_water
    hu[_radius_map(n, raw.fov_mm) > raw.fov_mm / 2] = -1000.0
    return hu


@pytest.mark.parametrize("thickness,kind,kernel", [(1.0, "trapezoid", "B30"), (3.0, "gaussian", "D45")])
def test_reconstruction_matches_literal_loops(thickness, kind, kernel):
    cfg = S.ScannerConfig(image_size=32, fov_mm=64.0, n_rows=4, pitch=1.1, views_per_rot=40)
    ph = P.Composite([P.WaterCylinder(24.0, 40.0), P.Bead((8.0, -5.0, 0.7), 4.0, 600.0)])
    raw = S.acquire(ph, cfg, mAs=50.0, seed=3, z_range=(-1.0, 1.0), device="cpu")
    vol, pos = S.reconstruct(raw, S.ReconConfig(thickness, 0.9, kernel, kind, z_range=(-0.6, 1.0)))
    assert pos.tolist() == pytest.approx([-0.6, 0.3])
    for i, z in enumerate(pos):
        ref = _literal_recon(raw, z, thickness, kind, kernel)
        assert np.abs(vol[i] - ref).max() < 0.05, f"slice {z}"  # HU, float32 vs float64


def test_reconstruction_orientation_matches_phantom():
    n, fov = 64, 100.0
    cfg = S.ScannerConfig(image_size=n, fov_mm=fov, supersample=2, n_rows=4)
    ph = P.Composite([P.WaterCylinder(8.0, 30.0, center_xy_mm=(20.0, -10.0))], fov_mm=fov)
    vol, _ = S.reconstruct(S.project(ph, cfg, z_range=(0.0, 0.0), device="cpu"), S.ReconConfig(1.0, 1.0))
    ref = ph.hu(_grid(n, fov), _grid(n, fov), [0.0])[0]
    w, wr = np.clip(vol[0] + 1000, 0, None), ref + 1000
    w[w < 300] = 0
    c = _grid(n, fov)
    for axis in (0, 1):  # axis 0 summed -> x (columns); axis 1 summed -> y (rows)
        cm = (w.sum(axis) * c).sum() / w.sum()
        cr = (wr.sum(axis) * c).sum() / wr.sum()
        assert abs(cm - cr) < 0.5 * fov / n


# --------------------------------------------------------------------------------------
# slice sensitivity profile
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def disk_raw():
    """Noiseless helical scan of a 0.2 mm thick, 1000 HU disk at z = 0.4 mm (off-centre)."""
    cfg = S.ScannerConfig(image_size=40, fov_mm=60.0)
    return S.project(P.Disk(0.4, 0.2, 20.0, 1000.0), cfg, z_range=(-3.2, 4.0), device="cpu")


@pytest.mark.parametrize("thickness", [1.0, 3.0])
@pytest.mark.parametrize("kind", S.Z_WEIGHTINGS)
def test_measured_ssp_fwhm_equals_nominal(disk_raw, thickness, kind):
    zc = 0.4
    vol, pos = S.reconstruct(disk_raw, S.ReconConfig(thickness, 0.05, "B30", kind, z_range=(zc - 3.0 + 0.013, zc + 3.0)))
    r = _radius_map(40, 60.0)
    prof = (vol[:, r < 8.0] + 1000.0).mean(1)  # disk (2000 HU over air) minus air background
    measured = S.fwhm(pos - zc, prof)
    assert measured == pytest.approx(thickness, rel=0.10)
    # and the model the weights were calibrated on agrees closely with the measurement
    u, model = S.slice_sensitivity_profile(disk_raw.config, thickness, kind)
    assert S.fwhm(u, model) == pytest.approx(thickness, rel=0.01)
    assert measured == pytest.approx(S.fwhm(u, model), rel=0.03)
    # the SSP peak sits at the disk
    assert abs(pos[np.argmax(prof)] - zc) <= 0.1


def test_thinner_than_the_rows_is_refused():
    cfg = S.ScannerConfig(image_size=32)
    with pytest.raises(ValueError, match="thinnest"):
        S.z_weight_width(cfg, 0.3)
    assert S.z_weight_width(cfg, 3.0, "trapezoid") > S.z_weight_width(cfg, 1.0, "trapezoid")


# --------------------------------------------------------------------------------------
# noise
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def water_noise():
    """A 300 mm water cylinder: noiseless, full- and quarter-dose recons, 1 and 3 mm B30."""
    n, fov = 96, 330.0
    cfg = S.ScannerConfig(image_size=n, fov_mm=fov)
    clean = S.project(P.WaterCylinder(150.0, 200.0), cfg, z_range=(-20.0, 20.0), device="cpu")
    recons = [S.ReconConfig(1.0, 1.0, "B30"), S.ReconConfig(3.0, 3.0, "B30")]
    ref = S.reconstruct_many(clean, recons)
    noise = {}
    for name, mAs in (("full", 200.0), ("quarter", 50.0)):
        raw = S.add_noise(clean, mAs, seed=11)
        for r, (v, _), (v0, _) in zip(recons, S.reconstruct_many(raw, recons), ref):
            noise[(name, r.thickness)] = v - v0
    return cfg, fov, recons, ref, noise


def test_noise_falls_with_dose_as_quantum_statistics(water_noise):
    cfg, fov, recons, ref, noise = water_noise
    roi = _radius_map(cfg.image_size, fov) < 60.0
    for th in (1.0, 3.0):
        sd_full = noise[("full", th)][:, roi].std()
        sd_quarter = noise[("quarter", th)][:, roi].std()
        assert sd_quarter / sd_full == pytest.approx(2.0, rel=0.15)  # SD ~ 1/sqrt(mAs)


def test_noise_falls_with_thickness_as_the_z_weights_predict(water_noise):
    cfg, fov, recons, ref, noise = water_noise
    roi = _radius_map(cfg.image_size, fov) < 60.0
    predicted = math.sqrt(S.z_weight_variance_factor(cfg, 1.0) / S.z_weight_variance_factor(cfg, 3.0))
    assert predicted > 1.4
    for dose in ("full", "quarter"):
        ratio = noise[(dose, 1.0)][:, roi].std() / noise[(dose, 3.0)][:, roi].std()
        assert ratio == pytest.approx(predicted, rel=0.15)


def test_full_dose_noise_level_is_the_calibrated_one(water_noise):
    """3 mm B30 at 200 mAs: the measured SD in the central 20 mm matches the linear noise
    propagation that sets N0 (``noise_ref_hu``), which is independent of the simulation."""
    cfg, fov, recons, ref, noise = water_noise
    roi = _radius_map(cfg.image_size, fov) <= 20.0
    sd = noise[("full", 3.0)][:, roi].std()
    assert S.predict_noise_sd(cfg, recons[1], 200.0, fov) == pytest.approx(cfg.noise_ref_hu, rel=1e-6)
    assert sd == pytest.approx(cfg.noise_ref_hu, rel=0.15)
    assert S.photons_per_ray(cfg, 50.0, fov) == pytest.approx(S.photons_per_ray(cfg, 200.0, fov) / 4)


# --------------------------------------------------------------------------------------
# resolution and accuracy
# --------------------------------------------------------------------------------------


def _mtf50(img: np.ndarray, pix: float, radius: float, half_px: int = 8, bin_px: float = 0.2) -> float:
    """MTF50 (cycles/mm) from the radial edge spread of a centred disk (mean over slices)."""
    n = img.shape[-1]
    r = _radius_map(n, n * pix)
    sel = np.abs(r - radius) < half_px * pix
    b = np.floor((r[sel] - (radius - half_px * pix)) / (bin_px * pix)).astype(int)
    nbin = int(round(2 * half_px / bin_px))
    vals = img[:, sel].mean(0)
    cnt = np.bincount(b, minlength=nbin)[:nbin]
    tot = np.bincount(b, weights=vals, minlength=nbin)[:nbin]
    k = np.arange(nbin)
    esf = np.interp(k, k[cnt > 0], tot[cnt > 0] / cnt[cnt > 0])
    lsf = -np.diff(esf) * np.hanning(nbin - 1)
    m = np.abs(np.fft.rfft(lsf, 16 * lsf.size))
    m /= m[0]
    f = np.fft.rfftfreq(16 * lsf.size, d=bin_px * pix)
    i = int(np.nonzero(m < 0.5)[0][0])
    return float(f[i - 1] + (0.5 - m[i - 1]) * (f[i] - f[i - 1]) / (m[i] - m[i - 1]))


@pytest.fixture(scope="module")
def edge_recons():
    cfg = S.ScannerConfig(image_size=128, fov_mm=80.0, supersample=2, n_rows=4)
    raw = S.project(P.WaterCylinder(25.0, 40.0), cfg, z_range=(-0.4, 0.4), device="cpu")
    recons = [S.ReconConfig(1.0, 0.8, "B30"), S.ReconConfig(1.0, 0.8, "D45"), S.ReconConfig(3.0, 0.8, "B30")]
    return raw, dict(zip(("B30", "D45", "B30 3mm"), S.reconstruct_many(raw, recons)))


def test_mtf50_of_d45_is_higher_than_b30(edge_recons):
    raw, rec = edge_recons
    m_b30 = _mtf50(rec["B30"][0], raw.pixel_mm, 25.0)
    m_d45 = _mtf50(rec["D45"][0], raw.pixel_mm, 25.0)
    assert 0.25 < m_b30 < 0.45  # cycles/mm; a smooth soft-tissue kernel (3-4 lp/cm)
    assert m_d45 > 1.2 * m_b30
    # the in-plane resolution does not depend on the slice thickness (z-invariant edge)
    assert _mtf50(rec["B30 3mm"][0], raw.pixel_mm, 25.0) == pytest.approx(m_b30, rel=0.02)


def test_noiseless_water_and_air_values(edge_recons):
    raw, rec = edge_recons
    r = _radius_map(128, 80.0)
    for name, (vol, _) in rec.items():
        assert abs(vol[:, r < 15.0].mean()) < 5.0, name
        assert np.abs(vol[:, r < 15.0]).max() < 15.0, name
        air = vol[:, (r > 30.0) & (r < 37.0)]
        assert abs(air.mean() + 1000.0) < 10.0, name
        assert (vol[:, r > 40.5] == -1000.0).all()  # outside the field of view


# --------------------------------------------------------------------------------------
# seeds, doses and the shared raw data
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_clean():
    cfg = S.ScannerConfig(image_size=48, fov_mm=240.0, n_rows=8)
    return S.project(P.WaterCylinder(100.0, 100.0), cfg, z_range=(-5.0, 5.0), device="cpu")


def test_same_seed_same_output_different_seed_different_noise(small_clean):
    r = S.ReconConfig(1.0, 0.8)
    a = S.add_noise(small_clean, 200.0, seed=5)
    b = S.add_noise(small_clean, 200.0, seed=5)
    c = S.add_noise(small_clean, 200.0, seed=6)
    assert torch.equal(a.p, b.p)
    assert np.array_equal(S.reconstruct(a, r)[0], S.reconstruct(b, r)[0])
    assert not torch.equal(a.p, c.p)
    assert small_clean.mAs is None and a.mAs == 200.0  # the noiseless input is not modified
    d1, d2 = (a.p - small_clean.p).flatten(), (c.p - small_clean.p).flatten()
    assert abs(float(torch.corrcoef(torch.stack([d1, d2]))[0, 1])) < 0.02
    # quarter dose is a separate realisation, not a scaled copy of the full-dose noise
    q = S.add_noise(small_clean, 50.0, seed=5)
    d3 = (q.p - small_clean.p).flatten()
    assert abs(float(torch.corrcoef(torch.stack([d1, d3]))[0, 1])) < 0.02


def test_scan_reconstructs_thin_and_thick_from_the_same_raw_data():
    cfg = S.ScannerConfig(image_size=48, fov_mm=240.0, n_rows=8, seed=4)
    thin, thick = S.ReconConfig(1.0, 0.8, "B30"), S.ReconConfig(3.0, 2.0, "B30")
    res = S.scan(P.WaterCylinder(100.0, 100.0), cfg, [thin, thick], doses={"full": 200.0, "quarter": 50.0},
                 z_range=(-6.0, 6.0), device="cpu", progress=False)
    assert set(res.raw) == {"full", "quarter"}
    for dose in ("full", "quarter"):
        raw = res.raw[dose]
        # every volume of a dose is a reconstruction of that dose's raw data ...
        for r in (thin, thick):
            vol, pos = S.reconstruct(raw, r)
            assert np.array_equal(vol, res.volumes[(dose, r)])
            assert np.array_equal(pos, res.positions[r])
    # ... so the thin and thick noise is strongly correlated, unlike two doses' noise
    clean = S.project(P.WaterCylinder(100.0, 100.0), cfg, z_range=(-6.0, 6.0), device="cpu")
    ref = {r: S.reconstruct(clean, r)[0] for r in (thin, thick)}
    roi = _radius_map(48, 240.0) < 60.0
    n_thin = {d: res.volumes[(d, thin)] - ref[thin] for d in res.raw}
    n_thick = {d: res.volumes[(d, thick)] - ref[thick] for d in res.raw}
    pos_thin, pos_thick = res.positions[thin], res.positions[thick]
    i_thin = [int(np.argmin(np.abs(pos_thin - z))) for z in pos_thick]
    same = np.corrcoef(n_thin["full"][i_thin][:, roi].ravel(), n_thick["full"][:, roi].ravel())[0, 1]
    other = np.corrcoef(n_thin["quarter"][i_thin][:, roi].ravel(), n_thick["full"][:, roi].ravel())[0, 1]
    assert same > 0.4 and abs(other) < 0.1
    # and the mean of a uniform region agrees
    m_thin = res.volumes[("full", thin)][:, roi].mean()
    m_thick = res.volumes[("full", thick)][:, roi].mean()
    assert abs(m_thin - m_thick) < 1.0
    assert set(res.timings) >= {"phantom", "projection", "noise", "reconstruction", "total"}


# --------------------------------------------------------------------------------------
# arguments
# --------------------------------------------------------------------------------------


def test_bad_arguments_raise_value_error(small_clean):
    with pytest.raises(ValueError, match="pitch"):
        S.ScannerConfig(pitch=2.5)
    with pytest.raises(ValueError, match="dz_fine"):
        S.ScannerConfig(dz_fine=0.5)
    with pytest.raises(ValueError, match="kernel"):
        S.ReconConfig(kernel="B99")
    with pytest.raises(ValueError, match="z_weighting"):
        S.ReconConfig(z_weighting="box")
    with pytest.raises(ValueError, match="covering"):
        S.reconstruct(small_clean, S.ReconConfig(3.0, 2.0, z_range=(-30.0, 5.0)))
    with pytest.raises(ValueError, match="mAs"):
        S.add_noise(small_clean, 0.0)
    with pytest.raises(ValueError, match="noiseless"):
        S.add_noise(S.add_noise(small_clean, 100.0), 100.0)
    with pytest.raises(ValueError, match="phantom"):
        S.project(object(), small_clean.config)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu():
    cfg = S.ScannerConfig(image_size=64, fov_mm=120.0, n_rows=8)
    ph = P.Composite([P.WaterCylinder(40.0, 40.0), P.Bead((10.0, 5.0, 0.0), 5.0, 800.0)])
    r = S.ReconConfig(1.0, 0.8, "D45")
    cpu = S.reconstruct(S.project(ph, cfg, z_range=(-2.0, 2.0), device="cpu"), r)[0]
    gpu = S.reconstruct(S.project(ph, cfg, z_range=(-2.0, 2.0), device="cuda"), r)[0]
    assert np.abs(cpu - gpu).max() < 0.5
