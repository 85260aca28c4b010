"""``t2t data virtual --cohort fibrosis`` (a tiny profile registered for the test)."""

from __future__ import annotations

import pytest

from t2tcore.cli import main
from t2tcore.clinical import cohort as C
from t2tcore.clinical.layout import load_cohort

TINY = {"name": "tiny-cli", "seed": 8, "image_size": 40, "z_length_mm": 8.0, "n_patients": 2, "n_train": 0}


@pytest.fixture
def tiny_profile(monkeypatch):
    monkeypatch.setitem(C.PROFILES, "tiny-cli", TINY)
    return "tiny-cli"


def test_makes_then_keeps_a_fibrosis_cohort(tmp_path, capsys, tiny_profile):
    out = tmp_path / "fib"
    args = ["data", "virtual", str(out), "--profile", tiny_profile, "--cohort", "fibrosis", "--no-progress", "--device", "cpu"]
    assert main(args) == 0
    first = capsys.readouterr().out.strip()
    assert first.startswith("virtual fibrosis cohort 'tiny-cli': 2 patients (") and "made in" in first
    c = load_cohort(out)
    assert c.patients == ["F001", "F002"] and c.has_truth
    assert C.is_fibrosis_up_to_date(TINY, out)
    assert main(args) == 0
    assert "up to date, kept" in capsys.readouterr().out


def test_unknown_profile_is_one_line(tmp_path, capsys):
    code = main(["data", "virtual", str(tmp_path / "x"), "--profile", "nope", "--cohort", "fibrosis"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "unknown fibrosis cohort profile 'nope'" in err[0]
    assert not (tmp_path / "x").exists()


def test_cohort_option_defaults_to_the_ldct_cohort(capsys):
    with pytest.raises(SystemExit):
        main(["data", "virtual", "--help"])
    text = capsys.readouterr().out
    assert "--cohort {ldct,fibrosis}" in text
    from t2tcore.cli import _build_parser

    args = _build_parser().parse_args(["data", "virtual", "somewhere"])
    assert args.cohort == "ldct"
