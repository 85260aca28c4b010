import numpy as np
import pytest
import torch

from t2tcore.errors import SeriesWarning
from t2tcore.sr.errors import SRInputError
from t2tcore.sr.infer import apply_model, predict, thin_positions
from t2tcore.sr.models import build_model
from t2tcore.sr.train import train_model
from t2tcore.sr.config import TrainConfig

from tests.sr.conftest import thick_of, thin_series


def _random_model(name="vdsr"):
    torch.manual_seed(3)
    m = build_model(name, "small", zero_head=False).eval()
    return m


@pytest.mark.parametrize("name", ["vdsr", "unet"])
def test_windows_and_slabs_match_whole_volume(name):
    m = _random_model(name)
    rng = np.random.default_rng(0)
    vol = (rng.normal(size=(24, 40, 36)) * 0.1).astype(np.float32)
    keep = vol.copy()
    with torch.no_grad():
        mult = m.size_multiple
        pad = [(0, (-n) % q) for n, q in zip(vol.shape, mult)]
        whole = m(torch.from_numpy(np.pad(vol, pad, mode="edge"))[None, None])[0, 0].numpy()
        whole = whole[: vol.shape[0], : vol.shape[1], : vol.shape[2]]
    one = predict(m, vol, roi=(64, 64, 64))  # one window holds the volume
    np.testing.assert_allclose(one, whole, atol=1e-5)
    win = predict(m, vol, roi=(16, 32, 32), overlap=0.5)  # several blended windows
    slab = predict(m, vol, roi=(16, 32, 32), overlap=0.5, max_slab_voxels=8 * 40 * 36)  # and slabs along z
    assert np.array_equal(vol, keep)  # input untouched
    res = np.abs(whole - vol)  # what the network adds
    # windows see zero padding at their borders, so they differ from the whole-volume result
    # near seams; Gaussian blending keeps that to a few voxels
    for out in (win, slab):
        d = np.abs(out - whole)
        assert np.median(d) < 0.01 * np.median(res)
        assert d.mean() < 0.1 * res.mean()


@pytest.mark.parametrize("name", ["vdsr", "unet", "esrresnet"])
def test_default_windows_match_whole_volume(name):
    """The default tiling (whole slices, overlap along z, slabs) against one pass over the whole volume."""
    m = _random_model(name)
    vol = (np.random.default_rng(1).normal(size=(88, 48, 40)) * 0.1).astype(np.float32)
    with torch.no_grad():
        pad = [(0, (-n) % q) for n, q in zip(vol.shape, m.size_multiple)]
        whole = m(torch.from_numpy(np.pad(vol, pad, mode="edge"))[None, None])[0, 0].numpy()[:88, :48, :40]
    out = predict(m, vol, max_slab_voxels=36 * 48 * 40)  # three slabs of windows 32 deep
    res, d = np.abs(whole - vol), np.abs(out - whole)
    assert np.median(d) < 0.01 * np.median(res) and d.mean() < 0.05 * res.mean(), (np.median(d), d.mean(), res.mean())


def test_thin_positions_follow_algorithm_1():
    np.testing.assert_allclose(thin_positions([10.0, 12.0, 14.0], 0.8), 10.0 + 0.8 * np.arange(6))


@pytest.fixture(scope="module")
def ckpt(thins):
    cfg = TrainConfig(model="vdsr", thickness=3.0, interval=2.0, patch=(8, 16, 16), batch=2, steps=2, val_every=2,
                      val_patches=2)
    return train_model(cfg, thins, progress=False).checkpoint


def test_apply_model_geometry(ckpt):
    thin = thin_series(n=40, seed=7, patient="V950")
    thick = thick_of(thin)
    sr = apply_model(ckpt, thick)
    np.testing.assert_allclose(sr.positions, thin_positions(thick.positions, 0.8))
    assert sr.thickness == 1.0 and sr.volume.shape[1:] == thick.volume.shape[1:]
    assert "vdsr/small" in sr.description and "proposed" in sr.description
    assert sr.header.StudyInstanceUID == thick.header.StudyInstanceUID
    matched = apply_model(ckpt, thick, thin.positions[2:30])
    np.testing.assert_allclose(matched.positions, thin.positions[2:30])
    with pytest.warns(SeriesWarning, match="outside"):
        apply_model(ckpt, thick, np.r_[thin.positions[:20], thick.positions.max() + 5.0])


def test_apply_model_refuses_what_it_cannot_do(ckpt):
    thin = thin_series(n=40, seed=8)
    with pytest.raises(SRInputError, match="thinner"):
        apply_model(ckpt, thick_of(thin, thickness=2.0, interval=1.0))
    with pytest.raises(SRInputError, match="too few slices"):
        apply_model(ckpt, thick_of(thin), thin.positions[:5])
    one = thick_of(thin).derive(thick_of(thin).volume[:1], thick_of(thin).positions[:1], thickness=3.0, interval=None,
                                description="x")
    with pytest.raises(SRInputError, match="at least 2"):
        apply_model(ckpt, one)
