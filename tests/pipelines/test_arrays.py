"""simulate_array: an image array with its affine gives what ``t2t simulate`` writes for the file.

The reference is the command's own output (read back with nibabel), compared in one voxel
frame (RAS+); the affine is also checked against Algorithm 1 directly (slice centres from the
first thin slice in steps of the interval).
"""

from __future__ import annotations

import json
import shutil

import nibabel as nib
import numpy as np
import pytest
import torch

from t2tcore.io import read_series
from t2tcore.pipelines.arrays import simulate_array
from t2tcore.simulation.series import simulate_series

from .conftest import reoriented

SETTINGS = {
    "proposed 3/2": (3.0, 2.0, "proposed", ["--thickness", 3, "--interval", 2]),
    "gaussian_z 2.5/1.7": (2.5, 1.7, "gaussian_z", ["--thickness", 2.5, "--interval", 1.7, "--method", "gaussian_z"]),
    "average 3": (3.0, None, "average", ["--thickness", 3, "--method", "average"]),
}


def _variant(src, out, how: str):
    """The thin NIfTI file in another voxel order (same world image, same sidecar)."""
    img = nib.load(str(src))
    data, a = np.asarray(img.dataobj), img.affine.copy()
    if how == "ras":
        data, a = reoriented(data, a)
    elif how == "flip_k":  # k runs towards the feet: t2t's grid must still start at the lowest slice
        data, a = reoriented(data, a)
        a[:, 3] += (data.shape[2] - 1) * a[:, 2]
        a[:, 2] *= -1
        data = data[..., ::-1]
    out_img = nib.Nifti1Image(np.ascontiguousarray(data).astype(np.int16), a)
    nib.save(out_img, str(out))
    shutil.copy(str(src).replace(".nii.gz", ".json"), str(out).replace(".nii.gz", ".json"))
    return out


@pytest.mark.parametrize("order", ["t2t", "ras", "flip_k"])
@pytest.mark.parametrize("setting", list(SETTINGS))
def test_equals_t2t_simulate_of_the_same_file(tmp_path, make_thin, t2t_simulate, order, setting):
    t, d, method, args = SETTINGS[setting]
    src = make_thin(tmp_path / "src.nii.gz", n=23)
    thin = src if order == "t2t" else _variant(src, tmp_path / f"{order}.nii.gz", order)
    ref = t2t_simulate(thin, tmp_path / "ref.nii.gz", *args)
    img = nib.load(str(thin))
    out, affine, _ = simulate_array(img.get_fdata(dtype=np.float32)[None], img.affine, t, d, method,
                                    thin_thickness=1.0)
    assert out.shape[1:3] == img.shape[:2]  # the input's in-plane voxel order is kept
    got, got_aff = reoriented(out[0], affine)
    want, want_aff = reoriented(np.asarray(ref.dataobj), ref.affine)
    assert got.shape == want.shape
    np.testing.assert_allclose(got_aff, want_aff, atol=1e-4)  # the file's affine is float32
    assert np.max(np.abs(got - want)) <= 0.5 + 1e-3  # the file holds the HU rounded to int16


def test_same_numbers_as_the_command_before_rounding(tmp_path, make_thin):
    src = make_thin(tmp_path / "thin.nii.gz", n=23)
    thick = simulate_series(read_series(src), 3.0, 2.0)  # what `t2t simulate` runs on the file
    img = nib.load(str(src))
    out, _, positions = simulate_array(img.get_fdata(dtype=np.float32)[None], img.affine, 3.0, 2.0)
    # the command writes the series in the input file's voxel order (its NiftiLayout)
    np.testing.assert_allclose(out[0], thick.nifti_layout.array(thick.volume), atol=1e-3)
    np.testing.assert_allclose(positions, thick.positions, atol=1e-9)


def test_the_affine_places_slices_by_algorithm_1(tmp_path, make_thin):
    src = make_thin(tmp_path / "thin.nii.gz", n=23, spacing=0.8, first=-7.3)
    img = nib.load(str(src))
    for offset in (0.0, 0.7):
        _, affine, positions = simulate_array(np.asarray(img.dataobj, dtype=np.float32)[None], img.affine, 3.0,
                                              2.0, offset=offset)
        centres = (affine @ np.stack([np.zeros(len(positions)), np.zeros(len(positions)),
                                      np.arange(len(positions)), np.ones(len(positions))]))[:3].T
        first_thin = (img.affine @ [0, 0, 0, 1])[:3]
        expected = first_thin[None, :] + (offset + 2.0 * np.arange(len(positions)))[:, None] * np.array([0, 0, 1.0])
        np.testing.assert_allclose(centres, expected, atol=1e-6)  # slices run towards the head (+z)
        last_thin = -7.3 + 0.8 * 22
        assert positions[-1] <= last_thin + 1e-9 < positions[-1] + 2.0  # the grid stops at e (Algorithm 1)


def test_the_slice_axis_can_be_any_axis(tmp_path, make_thin):
    src = make_thin(tmp_path / "thin.nii.gz", n=23)
    img = nib.load(str(src))
    data = img.get_fdata(dtype=np.float32)
    ref, ref_aff, _ = simulate_array(data[None], img.affine, 3.0, 2.0)
    moved = np.moveaxis(data, 2, 0)[None]  # slices first: (C, K, I, J)
    out, aff, _ = simulate_array(moved, img.affine[:, [2, 0, 1, 3]], 3.0, 2.0, slice_axis=0)
    assert out.shape == (1, ref.shape[3], ref.shape[1], ref.shape[2])
    np.testing.assert_allclose(np.moveaxis(out[0], 0, 2), ref[0], atol=1e-3)
    np.testing.assert_allclose(aff[:, [1, 2, 0, 3]], ref_aff, atol=1e-9)


def test_channels_are_simulated_alike_and_torch_gives_numpy_numbers(tmp_path, make_thin):
    src = make_thin(tmp_path / "thin.nii.gz", n=23)
    img = nib.load(str(src))
    data = img.get_fdata(dtype=np.float32)
    two = np.stack([data, 2 * data])
    out, aff, _ = simulate_array(two, img.affine, 3.0, 2.0)
    np.testing.assert_allclose(out[1], 2 * out[0], rtol=1e-5, atol=1e-3)
    tout, taff, _ = simulate_array(torch.as_tensor(two), torch.as_tensor(img.affine), 3.0, 2.0)
    assert isinstance(tout, torch.Tensor) and tout.dtype == torch.float32
    np.testing.assert_allclose(tout.numpy(), out, atol=1e-3)
    np.testing.assert_allclose(taff, aff)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_tensors_stay_on_the_device(tmp_path, make_thin):  # pragma: no cover - needs a GPU
    src = make_thin(tmp_path / "thin.nii.gz", n=23)
    img = nib.load(str(src))
    data = img.get_fdata(dtype=np.float32)[None]
    ref, ref_aff, _ = simulate_array(data, img.affine, 3.0, 2.0)
    out, aff, _ = simulate_array(torch.as_tensor(data, device="cuda"), img.affine, 3.0, 2.0)
    assert out.device.type == "cuda"
    np.testing.assert_allclose(out.cpu().numpy(), ref, atol=1e-2)
    np.testing.assert_allclose(aff, ref_aff)


def test_bad_images_are_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="channel-first"):
        simulate_array(np.zeros((4, 4, 4)), np.eye(4), 3.0, 2.0)
    with pytest.raises(ValueError, match="1 slice"):
        simulate_array(np.zeros((1, 4, 4, 1)), np.eye(4), 3.0, 2.0)
    sheared = np.eye(4)
    sheared[0, 1] = 0.5
    with pytest.raises(ValueError, match="not perpendicular"):
        simulate_array(np.zeros((1, 4, 4, 6)), sheared, 3.0, 2.0)
    with pytest.raises(ValueError, match="slice_axis"):
        simulate_array(np.zeros((1, 4, 4, 6)), np.eye(4), 3.0, 2.0, slice_axis=3)


def test_the_input_is_not_modified(tmp_path, make_thin):
    src = make_thin(tmp_path / "thin.nii.gz", n=23)
    data = nib.load(str(src)).get_fdata(dtype=np.float32)[None]
    before = data.copy()
    simulate_array(data, nib.load(str(src)).affine, 3.0, 2.0)
    assert np.array_equal(data, before)
    assert json.loads((tmp_path / "thin.json").read_text())["SliceThickness"] == 1.0
