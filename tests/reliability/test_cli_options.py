"""Hostile report items 16, 23: options that contradict each other, and progress bars only
where someone watches them (a terminal, or the book's log through T2T_PROGRESS_FILE)."""

from __future__ import annotations

import pytest

from t2tcore.cli import main
from t2tcore.io import read_series, write_series
from t2tcore.simulation import ZProfile
from tests.reliability.conftest import error_line, make_series


@pytest.fixture
def thin_and_profile(tmp_path):
    thin = write_series(make_series(n=20), tmp_path / "thin.nii.gz")
    prof = ZProfile([0.0, 1.0, 2.0, 3.0], [1.0, 0.8, 0.3, 0.0], thickness=3.0, interval=2.0).to_json(tmp_path / "g.json")
    return thin, prof


def test_an_explicit_method_is_never_silently_replaced_by_the_profile(thin_and_profile, tmp_path, capsys):
    thin, prof = thin_and_profile
    for cmd, opt in (("simulate", "--profile"), ("pairs", "--slice-profile")):
        out = tmp_path / ("x.nii.gz" if cmd == "simulate" else "P")
        line = error_line(capsys, main([cmd, str(thin), str(out), opt, str(prof), "--method", "proposed",
                                        "--thickness", "3", "--interval", "2", "--no-progress"]))
        assert f"{opt} selects --method calibrated" in line and "--method proposed" in line, line
        assert not out.exists()
    # the profile alone (or with --method calibrated) is the calibrated method; no method is proposed
    assert main(["simulate", str(thin), str(tmp_path / "c.nii.gz"), "--profile", str(prof), "--no-progress"]) == 0
    assert "method calibrated" in read_series(tmp_path / "c.nii.gz").description + capsys.readouterr().out
    assert main(["simulate", str(thin), str(tmp_path / "p.nii.gz"), "--thickness", "3", "--interval", "2",
                 "--no-progress"]) == 0
    assert "method proposed" in capsys.readouterr().out
