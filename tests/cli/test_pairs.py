"""``t2t pairs`` as a user runs it: a summary that names bad series, one-line errors, exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from t2tcore.cli import main
from tests.pipelines.conftest import archive, write_thin  # noqa: F401 - the fixture

ARGS = ["--thickness", "3", "--interval", "2", "--workers", "1", "--no-progress"]


def test_the_summary_names_every_bad_series_with_its_reason(archive, tmp_path, capsys):  # noqa: F811
    assert main(["pairs", str(archive), str(tmp_path / "out"), *ARGS]) == 0
    out = capsys.readouterr().out
    assert out.startswith("6 thin series: 3 made, 0 up to date, 3 skipped (bad input)")
    for line in ("skipped P4_thick: the thin slices are 5 mm thick", "skipped P5_short: too few slices",
                 "skipped P6_broken: "):
        assert line in out
    assert "index: " in out and "(2 training, 1 validation pairs)" in out
    assert main(["pairs", str(archive), str(tmp_path / "out"), *ARGS]) == 0
    assert "0 made, 3 up to date" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["{d}", "{d}/sub", *ARGS], "inside it"),
        (["{t}/missing", "{t}/out", *ARGS], "no such file"),
        (["{d}", "{t}/out", "--thickness", "3", "5", "7", "--interval", "1", "2"], "one per --thickness"),
        (["{d}", "{t}/out", "--thickness", "3", "--method", "calibrated"], "needs --slice-profile"),
        (["{d}", "{t}/out", "--thickness", "3", "--slice-profile", "{t}/nope.json"], "nope.json"),
        (["{d}", "{t}/out", "--strict", *ARGS], "--strict: stopped"),
    ],
)
def test_errors_are_one_line(archive, tmp_path, capsys, argv, message):  # noqa: F811
    argv = [a.format(d=archive, t=tmp_path) for a in argv]
    assert main(["pairs", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("t2t pairs: error: ") and message in err and "\n" not in err


def test_a_foreign_output_folder_is_left_alone(archive, tmp_path, capsys):  # noqa: F811
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    assert main(["pairs", str(archive), str(tmp_path / "mine"), *ARGS]) == 2
    assert "did not write" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["notes.txt"]


def test_profile_is_a_deprecated_name_of_slice_profile(tmp_path, capsys):
    from t2tcore.simulation import ZProfile

    prof = ZProfile([0.0, 1.5, 3.0], [1.0, 0.5, 0.0], thickness=3.0, interval=2.0).to_json(tmp_path / "p.json")
    write_thin(tmp_path / "d" / "a.nii.gz", n=20)
    with pytest.warns(FutureWarning, match="--profile is deprecated"):
        assert main(["pairs", str(tmp_path / "d"), str(tmp_path / "o"), "--profile", str(prof), "--no-progress"]) == 0
    assert "1 made" in capsys.readouterr().out


def test_no_traceback_from_the_installed_command(tmp_path):
    t2t = str(Path(sys.executable).with_name("t2t"))
    proc = subprocess.run([t2t, "pairs", str(tmp_path / "none"), str(tmp_path / "o"),
                           "--thickness", "3"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_local_pairs_import_neither_the_transform_libraries_nor_dask(tmp_path):
    from tests.cli.test_startup import _loaded

    write_thin(tmp_path / "d" / "a.nii.gz", n=20)
    argv = ["pairs", str(tmp_path / "d"), str(tmp_path / "o"), "--thickness", "3", "--workers", "1", "--no-progress"]
    code = f"import t2tcore.cli as c\nassert c.main({argv!r}) == 0"
    assert _loaded(code, ("torch", "monai", "torchio", "distributed", "dask")) == []
