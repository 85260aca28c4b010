"""Issue 14, items 1-2: no command writes over an input or into an input folder, --overwrite or not.

Each case is a command a user could type by mistake; the input's bytes (sha256 of every
file) must be unchanged, the command must end in one line with exit status 2, and nothing
new may appear inside the input.
"""

from __future__ import annotations

import os

import pytest

from t2tcore.cli import main
from t2tcore.io import write_series
from tests.reliability.conftest import digest, make_series

_SR = ["--model", "vdsr", "--method", "proposed", "--thickness", "3", "--interval", "2", "--steps", "1",
       "--batch", "1", "--patch", "4", "8", "8", "--no-progress"]


def _refused(capsys, argv, *guarded):
    before = [digest(p) for p in guarded]
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err.strip().splitlines()
    err = [ln for ln in err if not ln.startswith("warning:")]
    assert code == 2 and len(err) == 1, err
    assert [digest(p) for p in guarded] == before
    return err[0]


@pytest.fixture
def pair(tmp_path):
    thin_s = make_series(n=20)
    thin = write_series(thin_s, tmp_path / "thin")
    thick_s = thin_s.derive(thin_s.volume[::3], thin_s.positions[::3], thickness=3.0, interval=2.4, description="thick")
    thick = write_series(thick_s, tmp_path / "thick")
    return thin, thick


def test_calibrate_never_writes_its_profile_over_an_input_file(tmp_path, pair, capsys):
    thin, thick = pair
    victim = sorted(thin.iterdir())[0]
    line = _refused(capsys, ["calibrate", thin, thick, "--out", victim, "--overwrite", "--no-progress"], thin, thick)
    assert "is the input or inside it" in line
    line = _refused(capsys, ["calibrate", thin, thick, "--out", thin / "p.json", "--no-progress"], thin, thick)
    assert "inside" in line and not (thin / "p.json").exists()


def test_nifti_sidecar_of_an_input_is_an_input(tmp_path, capsys):
    thin_s = make_series(n=20)
    nii = write_series(thin_s, tmp_path / "thin.nii.gz")
    thick = write_series(thin_s.derive(thin_s.volume[::3], thin_s.positions[::3], thickness=3.0, interval=2.4,
                                       description="t"), tmp_path / "k.nii.gz")
    side = tmp_path / "thin.json"
    line = _refused(capsys, ["calibrate", nii, thick, "--out", side, "--overwrite", "--no-progress"], side, nii)
    assert "is the input" in line


def test_sr_train_never_writes_its_checkpoint_over_or_into_an_input(tmp_path, capsys):
    nii = write_series(make_series(n=20), tmp_path / "thin.nii.gz")
    dcm = write_series(make_series(n=20, seed=1), tmp_path / "thin2")
    line = _refused(capsys, ["sr", "train", nii, dcm, "--out", nii, "--overwrite", *_SR], nii, dcm)
    assert "is the input" in line
    line = _refused(capsys, ["sr", "train", nii, dcm, "--out", dcm / "m.pt", *_SR], nii, dcm)
    assert "inside" in line and not (dcm / "m.pt").exists()


def test_simulate_and_sr_apply_refuse_an_output_folder_inside_a_dicom_input(tmp_path, pair, capsys):
    thin, thick = pair
    for out in (thin / "sub", thin / "sub" / "deeper"):
        line = _refused(capsys, ["simulate", thin, out, "--thickness", "3", "--interval", "2", "--no-progress"], thin)
        assert "is the input or inside it" in line and not (thin / "sub").exists()
    # the output folder holds the input: --overwrite would delete it
    line = _refused(capsys, ["simulate", thin, tmp_path, "--thickness", "3", "--interval", "2", "--overwrite"], thin)
    assert "holds the input" in line
    ckpt = tmp_path / "m.pt"
    ckpt.write_bytes(b"not needed: the output is refused first")
    line = _refused(capsys, ["sr", "apply", ckpt, thick, thick / "sr", "--no-progress"], thick)
    assert "inside" in line and not (thick / "sr").exists()


def test_links_and_dots_do_not_hide_an_input(tmp_path, pair, capsys):
    thin, _ = pair
    os.symlink(thin, tmp_path / "link")
    args = ["--thickness", "3", "--interval", "2", "--no-progress"]
    line = _refused(capsys, ["simulate", thin, tmp_path / "link" / "sub", *args], thin)
    assert "inside" in line
    line = _refused(capsys, ["simulate", thin, tmp_path / "elsewhere" / ".." / "thin" / "x", *args], thin)
    assert "inside" in line
    # a hard link to an input file is that file
    victim = sorted(thin.iterdir())[0]
    os.link(victim, tmp_path / "hard.json")
    _refused(capsys, ["calibrate", thin, pair[1], "--out", tmp_path / "hard.json", "--overwrite", "--no-progress"], thin)
    assert not list(thin.glob("*.t2t-*")) and not list(tmp_path.glob(".*t2t-*"))
