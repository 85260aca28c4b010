"""Tests of the ``t2t simulate`` and ``t2t info`` commands (tiny DICOM data made here)."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import numpy as np
import pydicom
import pytest

from t2tcore.cli import main
from t2tcore.io import read_series
from t2tcore.errors import SeriesWarning


def _literal_triangle(thin: np.ndarray, pos: np.ndarray, targets: np.ndarray, t: float) -> np.ndarray:
    """Algorithm 2 slice by slice: weights max(0, 1 - |p - l| / t), normalised."""
    out = np.zeros((len(targets),) + thin.shape[1:])
    for j, p in enumerate(targets):
        total = 0.0
        for i, l in enumerate(pos):
            g = max(0.0, 1.0 - abs(p - l) / t)
            out[j] += g * thin[i]
            total += g
        out[j] /= total
    return out


def _tree(folder: pathlib.Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _one_line_error(capsys, code: int) -> str:
    out, err = capsys.readouterr()
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# --------------------------------------------------------------------------------------
# t2t simulate
# --------------------------------------------------------------------------------------


def test_simulate_proposed_end_to_end(tmp_path, thin_series, capsys):
    before = _tree(thin_series.folder)
    out = tmp_path / "thick"
    code = main(["simulate", str(thin_series.folder), str(out), "--thickness", "3", "--interval", "2"])
    stdout, stderr = capsys.readouterr()
    assert code == 0, stderr
    assert _tree(thin_series.folder) == before  # input untouched
    # Algorithm 1: from the first to the last thin position (-3.0 .. 2.6) in steps of 2.
    targets = -3.0 + 2.0 * np.arange(3)
    thick = read_series(out)
    np.testing.assert_allclose(thick.positions, targets, atol=1e-6)
    expected = _literal_triangle(thin_series.hu, thin_series.positions, targets, 3.0)
    np.testing.assert_allclose(thick.volume, expected, atol=0.5 + 1e-3)
    assert thick.thickness == 3.0 and thick.interval == 2.0
    ds = pydicom.dcmread(thick.files[0])
    assert ds.SeriesDescription.startswith("t2t proposed 3mm/2mm")
    assert "method proposed" in ds.DerivationDescription and thin_series.series_uid in ds.DerivationDescription
    assert ds.StudyInstanceUID == thin_series.study_uid and ds.FrameOfReferenceUID == thin_series.for_uid
    assert ds.SeriesInstanceUID != thin_series.series_uid and "DERIVED" in ds.ImageType
    # One summary line: slices in -> out, position range, method, output path.
    lines = stdout.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("8 slices (1 mm, 0.8 mm apart) -> 3 slices (3 mm, 2 mm apart)")
    assert "positions -3.00 to 1.00 mm" in lines[0] and "method proposed" in lines[0]
    assert lines[0].endswith(str(out.absolute()))
    # Progress bars go to a terminal only: none into a captured stderr (tests/reliability/test_cli_options.py).
    assert "reading" not in stderr and "writing" not in stderr


def test_simulate_index_method_uses_header_thickness(tmp_path, thin_series, capsys):
    # 1 mm thin slices every 0.8 mm, 3 mm thick: k = round(3 / 1.0) = 3 slices per group
    # (not round(3 / 0.8) = 4): the flaw of index-based methods the paper points out.
    out = tmp_path / "avg"
    code = main(["simulate", str(thin_series.folder), str(out), "--thickness", "3", "--method", "average",
                 "--no-progress"])
    assert code == 0, capsys.readouterr().err
    thick = read_series(out)
    groups = [slice(0, 3), slice(3, 6)]
    np.testing.assert_allclose(thick.positions, [thin_series.positions[g].mean() for g in groups], atol=1e-6)
    np.testing.assert_allclose(thick.volume, np.stack([thin_series.hu[g].mean(axis=0) for g in groups]),
                               atol=0.5 + 1e-3)
    assert pydicom.dcmread(thick.files[0]).SeriesDescription.startswith("t2t average 3mm/")
    assert "groups of 3 thin slices" in pydicom.dcmread(thick.files[0]).DerivationDescription


def test_simulate_match_uses_real_positions_and_thickness(tmp_path, thin_series, write_ct_series, capsys):
    real_pos = np.array([-2.5, 0.0, 2.5])
    write_ct_series(tmp_path / "real", np.zeros((3, 16, 16), np.int16), real_pos, thickness=2.5,
                    study_uid=thin_series.study_uid, for_uid=thin_series.for_uid, description="real 2.5mm")
    out = tmp_path / "matched"
    code = main(["simulate", str(thin_series.folder), str(out), "--match", str(tmp_path / "real"), "--no-progress"])
    stdout, stderr = capsys.readouterr()
    assert code == 0, stderr
    thick = read_series(out)
    np.testing.assert_allclose(thick.positions, real_pos, atol=1e-6)
    assert thick.thickness == 2.5
    expected = _literal_triangle(thin_series.hu, thin_series.positions, real_pos, 2.5)
    np.testing.assert_allclose(thick.volume, expected, atol=0.5 + 1e-3)
    assert "matched" in pydicom.dcmread(thick.files[0]).SeriesDescription


def test_simulate_match_with_other_frame_of_reference_warns(tmp_path, thin_series, write_ct_series, capsys):
    write_ct_series(tmp_path / "real", np.zeros((2, 16, 16), np.int16), [-1.0, 1.0], thickness=2.0)
    with pytest.warns(SeriesWarning, match="FrameOfReferenceUID"):
        code = main(["simulate", str(thin_series.folder), str(tmp_path / "o"), "--match", str(tmp_path / "real"),
                     "--no-progress"])
    assert code == 0


@pytest.mark.parametrize(
    "extra,message",
    [
        ([], "--thickness is required"),
        (["--thickness", "3"], "--interval is required for --method proposed"),
        (["--thickness", "3", "--interval", "2", "--match", "X"], "give --interval or --match, not both"),
        (["--thickness", "50", "--method", "direct"], "wider than the whole thin series"),
        (["--match", "nowhere"], "nowhere: no such file or folder"),
    ],
)
def test_simulate_argument_errors_are_one_line(tmp_path, thin_series, capsys, extra, message):
    out = tmp_path / "o"
    code = main(["simulate", str(thin_series.folder), str(out), "--no-progress", *extra])
    line = _one_line_error(capsys, code)
    assert line.startswith("t2t simulate: error: ") and message in line, line
    assert not out.exists()


def test_simulate_index_method_ignores_interval_with_a_warning(tmp_path, thin_series):
    out = tmp_path / "o"
    with pytest.warns(SeriesWarning, match="--interval 2 is ignored"):
        code = main(["simulate", str(thin_series.folder), str(out), "--thickness", "3", "--method", "direct",
                     "--interval", "2", "--no-progress"])
    assert code == 0 and any(out.iterdir())


def test_simulate_bad_input_is_one_line_and_writes_nothing(tmp_path, thin_series, capsys):
    out = tmp_path / "o"
    line = _one_line_error(capsys, main(["simulate", str(tmp_path / "nope"), str(out), "--thickness", "3",
                                         "--interval", "2", "--no-progress"]))
    assert "no such file or folder" in line
    (tmp_path / "empty").mkdir()
    line = _one_line_error(capsys, main(["simulate", str(tmp_path / "empty"), str(out), "--thickness", "3",
                                         "--interval", "2", "--no-progress"]))
    assert "empty" in line
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "x.txt").write_text("x")
    line = _one_line_error(capsys, main(["simulate", str(tmp_path / "junk"), str(out), "--thickness", "3",
                                         "--interval", "2", "--no-progress"]))
    assert "no CT images" in line
    assert not out.exists()
    # A non-empty output folder is refused before anything is read or written...
    out.mkdir()
    (out / "keep").write_text("keep")
    line = _one_line_error(capsys, main(["simulate", str(thin_series.folder), str(out), "--thickness", "3",
                                         "--interval", "2", "--no-progress"]))
    assert "not empty" in line and "--overwrite" in line
    assert _tree(out) == {"keep": b"keep"}
    # ...and --overwrite does not replace a folder of the user's files (hostile report, item 25)...
    line = _one_line_error(capsys, main(["simulate", str(thin_series.folder), str(out), "--thickness", "3",
                                         "--interval", "2", "--overwrite", "--no-progress"]))
    assert "holds files t2t did not write (keep)" in line and "nothing was changed" in line
    assert _tree(out) == {"keep": b"keep"}
    # ...but replaces what t2t wrote, and nothing else is added to recognise it.
    (out / "keep").unlink()
    for interval in ("2", "1.5"):
        assert main(["simulate", str(thin_series.folder), str(out), "--thickness", "3", "--interval", interval,
                     "--overwrite", "--no-progress"]) == 0
        assert len(_tree(out)) == {"2": 3, "1.5": 4}[interval] and all(n.endswith(".dcm") for n in _tree(out))
    # The input folder can never be the output.
    line = _one_line_error(capsys, main(["simulate", str(thin_series.folder), str(thin_series.folder),
                                         "--thickness", "3", "--interval", "2", "--overwrite", "--no-progress"]))
    assert "holds the input" in line


def test_simulate_several_series_lists_them_and_series_uid_picks(tmp_path, write_ct_series, capsys):
    folder = tmp_path / "study"
    a = write_ct_series(folder, np.zeros((6, 4, 4), np.int16), np.arange(6) * 0.8, description="thin", seed=1)
    b = write_ct_series(folder, np.zeros((3, 4, 4), np.int16), np.arange(3) * 3.0, description="thick",
                        thickness=3.0, seed=2)
    line = _one_line_error(capsys, main(["simulate", str(folder), str(tmp_path / "o"), "--thickness", "3",
                                         "--interval", "2", "--no-progress"]))
    assert "2 CT image series" in line and a.series_uid in line and b.series_uid in line
    assert "6 slices, thickness 1 mm" in line and "3 slices, thickness 3 mm" in line
    with pytest.warns(SeriesWarning, match="3 images of 1 other series"):
        code = main(["simulate", str(folder), str(tmp_path / "o"), "--thickness", "3", "--interval", "2",
                     "--series-uid", a.series_uid, "--no-progress"])
    assert code == 0
    assert read_series(tmp_path / "o").positions.tolist() == pytest.approx([0.0, 2.0, 4.0])


@pytest.mark.parametrize("argv", [["--help"], ["simulate", "--help"], ["info", "--help"]])
def test_help(capsys, argv):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0
    assert "usage: t2t" in capsys.readouterr().out


def test_bad_option_value_exits_non_zero(capsys, tmp_path):
    with pytest.raises(SystemExit) as exc:
        main(["simulate", "a", "b", "--thickness", "-1"])
    assert exc.value.code == 2
    assert "must be > 0" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["simulate", "a", "b", "--thickness", "3", "--method", "cubic"])
    assert exc.value.code == 2


# --------------------------------------------------------------------------------------
# t2t info
# --------------------------------------------------------------------------------------


def test_info_describes_series_and_skipped_files(tmp_path, write_ct_series, capsys):
    folder = tmp_path / "study"
    a = write_ct_series(folder, np.zeros((4, 6, 5), np.int16), [0.0, 0.8, 1.6, 3.2], description="thin gap", seed=1)
    z = np.arange(3) * 2.5
    shear = np.stack([np.zeros(3), z * np.tan(np.radians(15)), np.zeros(3)], axis=1)
    b = write_ct_series(folder, np.zeros((3, 6, 5), np.int16), z, shear=shear, description="tilted", thickness=2.5,
                        seed=2, extra={"GantryDetectorTilt": "15"})
    (folder / "readme.txt").write_text("hi")
    assert main(["info", str(folder), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert f"{folder}: 8 file(s), 2 image series (2 CT)" in out
    assert "not series images: 1 not DICOM (e.g. readme.txt)" in out
    assert a.series_uid in out and b.series_uid in out
    assert "4 slice(s) of 6 x 5 px at 0.7 x 0.6 mm" in out
    assert "thickness 1 mm, spacing 0.8 mm, positions 0.00 to 3.20 mm, kernel B30f" in out
    assert "IRREGULAR spacing" in out and "gap" in out
    assert "gantry tilt 15 deg (header GantryDetectorTilt 15 deg)" in out
    assert main(["info", str(folder), "--json", "--no-progress"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["n_files"] == 8 and data["skipped"] == {"not DICOM": 1}
    by_uid = {s["uid"]: s for s in data["series"]}
    assert by_uid[a.series_uid]["n_slices"] == 4 and by_uid[a.series_uid]["irregular"] is True
    assert by_uid[b.series_uid]["tilt"] == pytest.approx(15.0, abs=1e-3)


def test_info_bad_path_is_one_line(tmp_path, capsys):
    line = _one_line_error(capsys, main(["info", str(tmp_path / "nope"), "--no-progress"]))
    assert line.startswith("t2t info: error: ") and "no such file or folder" in line


# --------------------------------------------------------------------------------------
# The installed entry point
# --------------------------------------------------------------------------------------


def _t2t() -> list[str]:
    exe = pathlib.Path(sys.executable).with_name("t2t")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "t2tcore.cli"]


def test_installed_entry_point(tmp_path, thin_series):
    assert pathlib.Path(sys.executable).with_name("t2t").exists(), "the t2t entry point is not installed in this venv"
    proc = subprocess.run(_t2t() + ["info", str(thin_series.folder)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert thin_series.series_uid in proc.stdout and "8 slice(s)" in proc.stdout
    out = tmp_path / "o"
    proc = subprocess.run(
        _t2t() + ["simulate", str(thin_series.folder), str(out), "--thickness", "3", "--interval", "2"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "8 slices" in proc.stdout and "-> 3 slices" in proc.stdout
    assert len(list(out.iterdir())) == 3
    proc = subprocess.run(_t2t() + ["simulate", str(tmp_path / "missing"), str(tmp_path / "x"), "--thickness", "3",
                                    "--interval", "2"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "no such file or folder" in proc.stderr
    assert "Traceback" not in proc.stderr
