"""Tests for t2tcore.scanner.reconstruction: a literal loop-over-rays z-filtered FBP, image
orientation, edge MTFs, water and air values, and scan() (thin and thick from the same raw data)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from t2tcore import scanner as S
from t2tcore.scanner import physics_phantoms as P
from tests.scanner.helpers import _grid, _radius_map


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
# one scan, several doses and reconstructions
# --------------------------------------------------------------------------------------


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


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu():
    cfg = S.ScannerConfig(image_size=64, fov_mm=120.0, n_rows=8)
    ph = P.Composite([P.WaterCylinder(40.0, 40.0), P.Bead((10.0, 5.0, 0.0), 5.0, 800.0)])
    r = S.ReconConfig(1.0, 0.8, "D45")
    cpu = S.reconstruct(S.project(ph, cfg, z_range=(-2.0, 2.0), device="cpu"), r)[0]
    gpu = S.reconstruct(S.project(ph, cfg, z_range=(-2.0, 2.0), device="cuda"), r)[0]
    assert np.abs(cpu - gpu).max() < 0.5
