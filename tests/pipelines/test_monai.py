"""The MONAI transforms inside real MONAI pipelines, against ``t2t simulate`` of the same files."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
import torch
from monai.data import CacheDataset, DataLoader, MetaTensor
from monai.transforms import Compose, CopyItemsd, EnsureChannelFirstd, LoadImage, LoadImaged, ResampleToMatchd

from t2tcore.pipelines.monai import RandSimulateThick, RandSimulateThickd, SimulateThick, SimulateThickd
from t2tcore.sr.pairs import to_thin_grid

from .conftest import reoriented


def _load():
    return [LoadImaged("image", image_only=True), EnsureChannelFirstd("image")]


def test_simulate_thickd_in_a_cached_dataset_and_loader_equals_t2t_simulate(tmp_path, make_thin, t2t_simulate):
    files = [make_thin(tmp_path / f"p{i}.nii.gz", n=21 + 3 * i, seed=i, patient=f"P{i}") for i in range(3)]
    refs = [t2t_simulate(f, tmp_path / f"ref{i}.nii.gz", "--thickness", 3, "--interval", 2)
            for i, f in enumerate(files)]
    tf = Compose(_load() + [CopyItemsd("image", names="thin"), SimulateThickd("image", thickness=3, interval=2)])
    ds = CacheDataset([{"image": str(f)} for f in files], tf, progress=False)
    loader = DataLoader(ds, batch_size=1, num_workers=2)
    seen = 0
    for batch, ref in zip(loader, refs):
        img = batch["image"][0]
        assert isinstance(img, MetaTensor) and img.shape[1:] == (16, 14, ref.shape[2])
        got, got_aff = reoriented(img[0].numpy(), img.affine.numpy())
        want, want_aff = reoriented(np.asarray(ref.dataobj), ref.affine)
        np.testing.assert_allclose(got_aff, want_aff, atol=1e-4)
        assert np.max(np.abs(got - want)) <= 0.5 + 1e-3
        assert batch["thin"].shape[-1] == nib.load(batch["image"].meta["filename_or_obj"][0]).shape[2]
        assert float(batch["image"].meta["t2t_thickness"][0]) == 3.0
        seen += 1
    assert seen == 3


def test_the_array_transform_keeps_meta_and_takes_plain_arrays(tmp_path, make_thin):
    f = make_thin(tmp_path / "thin.nii.gz", n=23)
    img = LoadImage(image_only=True, ensure_channel_first=True)(str(f))
    out = SimulateThick(3.0, 2.0)(img)
    assert out.meta["filename_or_obj"] == img.meta["filename_or_obj"]
    assert out.meta["t2t_method"] == "proposed" and out.meta["t2t_interval"] == 2.0
    assert not torch.equal(out.affine, img.affine) and torch.equal(img.affine, torch.as_tensor(nib.load(str(f)).affine))
    assert out.shape[:3] == img.shape[:3] and out.shape[3] == 9
    plain = SimulateThick(3.0, 2.0)(img.numpy())  # no affine: 1 mm voxels
    assert plain.shape[3] == int((23 - 1) // 2) + 1
    with pytest.raises(ValueError, match="profile"):
        SimulateThick(3.0, method="calibrated")


def test_rand_simulate_thickd_is_seeded_and_is_simulate_thick_of_its_draw(tmp_path, make_thin):
    f = make_thin(tmp_path / "thin.nii.gz", n=30)
    base = Compose(_load() + [CopyItemsd("image", names="copy")])({"image": str(f)})
    rand = RandSimulateThickd(["image", "copy"], thickness=(2.0, 4.0), interval=(1.5, 3.0))
    outs = []
    for _ in range(2):
        rand.set_random_state(7)
        outs.append(rand(dict(base)))
    t, d, o = rand.rand.params
    assert 2.0 <= t <= 4.0 and 1.5 <= d <= 3.0 and 0.0 <= o < d
    assert torch.equal(outs[0]["image"], outs[1]["image"])  # same seed, same sample
    assert torch.equal(outs[0]["image"], outs[0]["copy"])  # one draw for every key
    fixed = SimulateThick(t, d, offset=o)(base["image"])
    assert torch.equal(fixed, outs[0]["image"]) and torch.equal(fixed.affine, outs[0]["image"].affine)
    rand.set_random_state(8)
    rand(dict(base))
    assert rand.rand.params != (t, d, o)
    never = RandSimulateThickd("image", prob=0.0)(dict(base))
    assert torch.equal(never["image"], base["image"])
    arr = RandSimulateThick(thickness=3.0, interval=2.0, offset=0.0)
    assert torch.equal(arr(base["image"]), SimulateThick(3.0, 2.0)(base["image"]))


def test_resample_to_match_puts_the_thick_image_on_the_thin_grid_by_position(tmp_path, make_thin):
    """MONAI's own resampler, reading the affine, gives t2t's linear interpolation in mm."""
    f = make_thin(tmp_path / "thin.nii.gz", n=30)
    tf = Compose(_load() + [CopyItemsd("image", names="label"), SimulateThickd("image", 3.0, 2.5, offset=0.4),
                            ResampleToMatchd("image", key_dst="label", mode="bilinear", padding_mode="border")])
    out = tf({"image": str(f)})
    assert out["image"].shape == out["label"].shape
    thick = SimulateThick(3.0, 2.5, offset=0.4)(LoadImage(image_only=True, ensure_channel_first=True)(str(f)))
    z_thin = -7.3 + 0.8 * np.arange(30)
    z_thick = (thick.affine.numpy() @ np.stack([np.zeros(thick.shape[3]), np.zeros(thick.shape[3]),
                                                np.arange(thick.shape[3]), np.ones(thick.shape[3])]))[2]
    expected = to_thin_grid(np.moveaxis(thick[0].numpy(), 2, 0), z_thick, z_thin, outside="clamp")
    diff = np.abs(np.moveaxis(out["image"][0].numpy(), 2, 0) - expected)
    assert diff.max() < 0.01  # float32 arithmetic of two resamplers (HU)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_metatensor(tmp_path, make_thin):  # pragma: no cover - needs a GPU
    f = make_thin(tmp_path / "thin.nii.gz", n=23)
    img = LoadImage(image_only=True, ensure_channel_first=True)(str(f))
    cpu = SimulateThickd("image", 3.0, 2.0)({"image": img})["image"]
    gpu = SimulateThickd("image", 3.0, 2.0)({"image": img.to("cuda")})["image"]
    assert gpu.device.type == "cuda" and isinstance(gpu, MetaTensor)
    np.testing.assert_allclose(gpu.cpu().numpy(), cpu.numpy(), atol=1e-2)
    assert torch.equal(gpu.affine.cpu(), cpu.affine)
