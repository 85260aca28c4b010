"""``t2t sr train`` / ``t2t sr apply`` on tiny DICOM series written in the test."""

import numpy as np
import pydicom
import pytest

from t2tcore.cli import main
from t2tcore.io import read_series, write_series
from t2tcore.simulation import simulate_thick


def _thin(tmp_path, name, seed, n=30, size=24):
    from t2tcore.io import Series

    rng = np.random.default_rng(seed)
    pos = 0.8 * np.arange(n) - 10.0
    zz, yy, xx = np.meshgrid(pos, np.arange(size), np.arange(size), indexing="ij")
    vol = np.where((yy - 11.5) ** 2 + (xx - 11.5) ** 2 < 81, 40.0, -1000.0)
    vol = np.where((zz - rng.uniform(-3, 3)) ** 2 + (yy - 11.5) ** 2 + (xx - 13) ** 2 < 16, 300.0, vol)
    vol = (vol + rng.normal(0, 5, vol.shape)).astype(np.float32)
    s = Series.from_array(vol, pos, (1.0, 1.0), 1.0, interval=0.8, patient_id=name, description=f"{name} thin")
    out = write_series(s, tmp_path / f"{name}_thin")
    return s, out


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sr_cli")
    thins = [_thin(tmp, f"V90{i}", i) for i in range(2)]
    ckpt = tmp / "m.pt"
    rc = main(["sr", "train", str(thins[0][1]), str(thins[1][1]), "--out", str(ckpt), "--model", "vdsr",
               "--method", "proposed", "--thickness", "3", "--interval", "2", "--steps", "2", "--batch", "2",
               "--patch", "8", "16", "16", "--no-progress"])
    assert rc == 0
    # a "real" thick series of a third patient, 3 mm every 2 mm, written as DICOM
    thin, thin_dir = _thin(tmp, "V950", 7)
    vol, pos = simulate_thick(thin.volume, thin.positions, 3.0, 2.0)
    thick_dir = write_series(thin.derive(vol, pos, thickness=3.0, interval=2.0, description="thick 3mm"),
                             tmp / "V950_thick")
    return tmp, ckpt, thin, thin_dir, thick_dir


def test_train_then_apply_writes_a_thin_series(trained, capsys):
    tmp, ckpt, thin, thin_dir, thick_dir = trained
    out = tmp / "sr"
    before = sorted(p.stat().st_mtime_ns for p in thick_dir.iterdir())
    assert main(["sr", "apply", str(ckpt), str(thick_dir), str(out), "--no-progress"]) == 0
    assert "thin slices (1 mm)" in capsys.readouterr().out
    sr = read_series(out)
    thick = read_series(thick_dir)
    np.testing.assert_allclose(sr.positions, thick.positions[0] + 0.8 * np.arange(sr.volume.shape[0]), atol=1e-3)
    assert sr.positions[-1] <= thick.positions[-1] + 1e-6
    assert sr.thickness == pytest.approx(1.0) and sr.volume.shape[1:] == (24, 24)
    ds = pydicom.dcmread(next(out.iterdir()))
    ref = pydicom.dcmread(next(thick_dir.iterdir()))
    assert "vdsr/small" in ds.SeriesDescription and "proposed" in ds.SeriesDescription
    assert ds.StudyInstanceUID == ref.StudyInstanceUID and ds.FrameOfReferenceUID == ref.FrameOfReferenceUID
    assert ds.SeriesInstanceUID != ref.SeriesInstanceUID and ds.PatientID == "V950"
    assert sorted(p.stat().st_mtime_ns for p in thick_dir.iterdir()) == before  # input untouched
    # --match: exactly the real thin positions
    with pytest.warns(UserWarning, match="outside the thick series"):  # the last thin slices lie beyond it
        assert main(["sr", "apply", str(ckpt), str(thick_dir), str(tmp / "sr_match"), "--match", str(thin_dir),
                     "--no-progress"]) == 0
    np.testing.assert_allclose(read_series(tmp / "sr_match").positions, thin.positions, atol=1e-3)


def _err(capsys):
    return capsys.readouterr().err.strip().splitlines()


def test_apply_errors_are_one_line(trained, capsys):
    tmp, ckpt, thin, thin_dir, thick_dir = trained
    bad = tmp / "bad.pt"
    bad.write_bytes(b"\x00" * 100)
    assert main(["sr", "apply", str(bad), str(thick_dir), str(tmp / "o1")]) == 2
    err = _err(capsys)
    assert len(err) == 1 and "not a t2t SR checkpoint" in err[0]
    assert not (tmp / "o1").exists()
    # thinner than the training thickness: the thin series itself
    assert main(["sr", "apply", str(ckpt), str(thin_dir), str(tmp / "o2"), "--no-progress"]) == 2
    err = _err(capsys)
    assert len(err) == 1 and "thinner" in err[0]
    # too few slices for one window (the training patch is 8 slices deep)
    few = read_series(thick_dir)
    few_dir = write_series(few.derive(few.volume[:3], few.positions[:3], thickness=3.0, interval=2.0, description="few"),
                           tmp / "few")
    assert main(["sr", "apply", str(ckpt), str(few_dir), str(tmp / "o3"), "--no-progress"]) == 2
    err = _err(capsys)
    assert len(err) == 1 and "too few slices" in err[0]
    # overwrite guard
    (tmp / "o4").mkdir()
    (tmp / "o4" / "x").write_text("keep")
    assert main(["sr", "apply", str(ckpt), str(thick_dir), str(tmp / "o4"), "--no-progress"]) == 2
    assert (tmp / "o4" / "x").read_text() == "keep"
    assert "not empty" in _err(capsys)[0]
    assert main(["sr", "apply", str(ckpt), str(thick_dir), str(tmp / "o5"), "--interval", "1", "--match",
                 str(thin_dir)]) == 2
    assert "not both" in _err(capsys)[0]


def test_train_errors_are_one_line(trained, capsys):
    tmp, ckpt, thin, thin_dir, thick_dir = trained
    base = ["sr", "train", str(thin_dir), "--model", "vdsr", "--no-progress"]
    assert main(base + ["--out", str(ckpt), "--method", "proposed", "--thickness", "3", "--interval", "2"]) == 2
    assert "exists" in _err(capsys)[0]
    assert main(base + ["--out", str(tmp / "n.pt"), "--method", "proposed", "--thickness", "3"]) == 2
    assert "--interval is required" in _err(capsys)[0]
    assert main(base + ["--out", str(tmp / "n.pt"), "--method", "calibrated", "--thickness", "3", "--interval", "2"]) == 2
    assert "--slice-profile" in _err(capsys)[0]
    assert main(base + ["--out", str(tmp / "n.pt"), "--method", "proposed", "--thickness", "3", "--interval", "2",
                        "--patch", "64", "16", "16"]) == 2
    err = _err(capsys)
    assert len(err) == 1 and "patch" in err[0]
    assert not (tmp / "n.pt").exists()
