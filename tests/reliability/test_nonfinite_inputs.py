"""Issue 14, item 6: non-finite data is refused when it is read, and training stops at the
first loss that is not finite, with one line and nothing written."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import torch

from t2tcore.cli import main
from t2tcore.io import write_series
from tests.reliability.conftest import error_line, make_series

_SR = ["--model", "vdsr", "--method", "proposed", "--thickness", "3", "--interval", "2", "--steps", "3",
       "--batch", "1", "--patch", "4", "8", "8", "--no-progress"]



def _with_nan(tmp_path, name="nan.nii.gz", n_bad=7):
    path = write_series(make_series(n=20), tmp_path / name)
    img = nib.load(str(path))
    data = np.asarray(img.dataobj).astype(np.float32)
    data[0, 0, :n_bad] = np.nan
    data[0, 1, 0] = np.inf
    new = nib.Nifti1Image(data, img.affine)
    new.set_sform(img.affine, code=1)
    new.set_qform(img.affine, code=1)
    new.set_data_dtype(np.float32)
    nib.save(new, str(path))
    return path


def test_simulate_and_sr_train_refuse_a_volume_with_nan_before_any_work(tmp_path, capsys):
    bad = _with_nan(tmp_path)
    line = error_line(capsys, main(["simulate", str(bad), str(tmp_path / "o.nii.gz"), "--thickness", "3",
                                   "--interval", "2", "--no-progress"]))
    assert str(bad) in line and "8 of 5120 voxels are NaN or infinite" in line
    good = write_series(make_series(n=20, seed=3), tmp_path / "good")
    line = error_line(capsys, main(["sr", "train", str(good), str(bad), "--out", str(tmp_path / "m.pt"), *_SR]))
    assert "8 of 5120 voxels are NaN or infinite" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good", "nan.json", "nan.nii.gz"]


def test_training_stops_at_the_first_loss_that_is_not_finite(tmp_path, capsys):
    # finite HU whose squares overflow float32: the loss is infinite at the first step
    huge = make_series(n=20)
    huge = huge.derive(huge.volume * 1e22, huge.positions, thickness=1.0, interval=0.8, description="huge")
    paths = [write_series(huge, tmp_path / f"huge{i}.nii.gz") for i in range(2)]
    line = error_line(capsys, main(["sr", "train", *map(str, paths), "--out", str(tmp_path / "m.pt"), *_SR]))
    assert "diverged: the loss is inf at step 1; nothing was written" in line
    assert not (tmp_path / "m.pt").exists() and not list(tmp_path.glob(".m.pt*"))


def test_a_checkpoint_with_nan_weights_is_one_line(tmp_path, capsys):
    thin = [write_series(make_series(n=20, seed=s), tmp_path / f"t{s}") for s in range(2)]
    ckpt = tmp_path / "m.pt"
    assert main(["sr", "train", *map(str, thin), "--out", str(ckpt), *_SR]) == 0
    state = torch.load(ckpt, weights_only=True)
    name = next(iter(state["state_dict"]))
    state["state_dict"][name] = state["state_dict"][name] * float("nan")
    torch.save(state, ckpt)
    thick = make_series(n=20, seed=5)
    thick = write_series(thick.derive(thick.volume[::3], thick.positions[::3], thickness=3.0, interval=2.4,
                                      description="t"), tmp_path / "thick")
    capsys.readouterr()
    line = error_line(capsys, main(["sr", "apply", str(ckpt), str(thick), str(tmp_path / "sr"), "--no-progress"]))
    assert "hold NaN or infinite values" in line and not (tmp_path / "sr").exists()


def test_sr_apply_of_a_model_whose_output_is_not_finite_fails_in_one_line_writing_nothing(tmp_path, capsys):
    """Hostile report item 6: finite weights so large (a diverged training, --lr 1e9) that the
    output overflows: one line, nothing written, DICOM or NIfTI."""
    thin = [write_series(make_series(n=20, seed=s), tmp_path / f"t{s}") for s in range(2)]
    ckpt = tmp_path / "m.pt"
    assert main(["sr", "train", *map(str, thin), "--out", str(ckpt), *_SR]) == 0
    state = torch.load(ckpt, weights_only=True)
    for name, value in state["state_dict"].items():
        if value.is_floating_point():
            state["state_dict"][name] = value * 1e30  # finite in float32 (weights ~1e29)
    assert all(bool(torch.isfinite(v).all()) for v in state["state_dict"].values() if v.is_floating_point())
    torch.save(state, ckpt)
    thick = make_series(n=20, seed=5)
    thick = write_series(thick.derive(thick.volume[::3], thick.positions[::3], thickness=3.0, interval=2.4,
                                      description="t"), tmp_path / "thick")
    capsys.readouterr()
    for out in (tmp_path / "sr", tmp_path / "sr.nii.gz"):
        line = error_line(capsys, main(["sr", "apply", str(ckpt), str(thick), str(out), "--force", "--no-progress"]))
        assert "the model's output holds" in line and "NaN or infinite voxel(s)" in line, line
        assert not out.exists() and not list(tmp_path.glob(f".{out.name}*"))
