"""Tests for t2tcore.data.manifests (`check`, with check_dicom and check_report) and the `t2t data check` command."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from t2tcore.cli import main
from t2tcore.io import Series, write_series
from t2tcore.errors import T2TError
from t2tcore.data.layout import series_dir, training_series_dir, virtual_patients
from t2tcore.data.manifests import MANIFEST_DIR, check

GC_PATIENTS = ["L067", "L096", "L109", "L143", "L192", "L286", "L291", "L310", "L333", "L506"]


def write_slices(folder: Path, positions, thickness, *, size=8, manufacturer="SIEMENS", description="") -> Path:
    """Tiny CT series (``size``² pixels, one slice per z position in mm) written by t2tcore.io.write_series."""
    vol = np.zeros((len(positions), size, size), np.float32)
    series = Series.from_array(vol, positions, (0.7, 0.7), thickness, description=description,
                               extra={"Manufacturer": manufacturer})
    return write_series(series, folder)


def grid(n, increment, z0=-100.0):
    return [z0 + i * increment for i in range(n)]


def make_gc_tree(root: Path, pats, *, n_thin=6, n_thick=3, kernels=("B30", "D45"), doses=("full", "quarter")):
    """A correct Grand-Challenge-layout tree: 1/0.8 mm and 3/2 mm series for every combination."""
    for p in pats:
        for k in kernels:
            for d in doses:
                write_slices(series_dir(root, p, k, d, "1mm"), grid(n_thin, 0.8), 1.0)
                write_slices(series_dir(root, p, k, d, "3mm"), grid(n_thick, 2.0), 3.0)
    return root


def small_gc_manifest(tmp_path: Path, pats, slices=None) -> Path:
    """The real GC manifest restricted to ``pats`` (so the fake tree stays tiny)."""
    m = yaml.safe_load((MANIFEST_DIR / "ldct_grand_challenge_2016.yaml").read_text())
    m["expect"]["test"]["patients"] = list(pats)
    m["expect"]["test"]["slices"] = slices or {}
    path = tmp_path / "gc_small.yaml"
    path.write_text(yaml.safe_dump(m))
    return path


# --------------------------------------------------------------------------- manifests


def test_check_complete_tree(tmp_path):
    root = make_gc_tree(tmp_path / "data", ["L067", "L286"])
    manifest = small_gc_manifest(tmp_path, ["L067", "L286"], slices={"L286": {"1mm": 6, "3mm": 3}})
    rep = check(root, manifest)
    assert rep.ok, str(rep)
    assert (rep.expected, rep.present, rep.correct) == (16, 16, 16)
    assert rep.summary.endswith("COMPLETE")
    assert str(rep).splitlines()[-1] == "summary: 16 of 16 expected series present, 16 correct -- COMPLETE"


def test_check_reports_each_fault_in_plain_words(tmp_path):
    pats = ["L067", "L096", "L286"]
    root = make_gc_tree(tmp_path / "data", ["L067", "L286"])  # L096 missing entirely
    # wrong thickness in one series
    shutil.rmtree(series_dir(root, "L067", "B30", "full", "3mm"))
    write_slices(series_dir(root, "L067", "B30", "full", "3mm"), grid(3, 2.0), 1.0)
    # one missing dose folder for one patient
    shutil.rmtree(series_dir(root, "L286", "D45", "quarter", "1mm"))
    # wrong slice count and a gap in the positions
    shutil.rmtree(series_dir(root, "L286", "B30", "quarter", "1mm"))
    write_slices(series_dir(root, "L286", "B30", "quarter", "1mm"), [0, 0.8, 1.6, 4.0, 4.8], 1.0)
    # wrong increment
    shutil.rmtree(series_dir(root, "L067", "D45", "full", "1mm"))
    write_slices(series_dir(root, "L067", "D45", "full", "1mm"), grid(6, 1.0), 1.0)
    # a non-DICOM file named .IMA and an extra patient
    (series_dir(root, "L286", "B30", "full", "3mm") / "junk.IMA").write_bytes(b"garbage" * 50)
    make_gc_tree(root, ["L999"], kernels=("B30",), doses=("full",))
    manifest = small_gc_manifest(tmp_path, pats, slices={"L286": {"1mm": 6, "3mm": 3}})

    rep = check(root, manifest)
    assert not rep.ok
    assert rep.problems == [
        "missing patient L096: none of its 8 series is there",
        "missing: L286 1mm D45 quarter dose "
        "(expected in Training_Image_Data/1mm D45/quarter_1mm_sharp/L286/quarter_1mm_sharp)",
        "L067 1mm D45 full dose: slice increment is 1 mm, expected 0.8 mm",
        "L067 3mm B30 full dose: slice thickness is 1 mm, expected 3 mm",
        "L286 1mm B30 quarter dose: 5 slices, expected 6",
        # wording of the spacing irregularity comes from t2tcore.io.scan_folder
        rep.problems[5],
        "L286 3mm B30 full dose: 1 of 4 files skipped, not DICOM (e.g. junk.IMA)",
    ]
    assert rep.problems[5].startswith("L286 1mm B30 quarter dose: irregular slice spacing")
    assert "0.8 to 2.4 mm" in rep.problems[5] and "1.6 -> 4 mm" in rep.problems[5]
    assert rep.notes == ["patients not in the manifest, not checked: L999"]
    assert (rep.expected, rep.present) == (24, 15)
    assert rep.correct == 15 - 4
    assert "INCOMPLETE (7 problems)" in rep.summary


def test_check_missing_dose_folder_for_everyone_is_one_line(tmp_path):
    root = make_gc_tree(tmp_path / "data", ["L067", "L096"], doses=("full",))
    rep = check(root, small_gc_manifest(tmp_path, ["L067", "L096"]))
    assert rep.problems == [
        "missing for every patient: 1mm B30 quarter dose (folder '1mm B30/quarter_1mm')",
        "missing for every patient: 1mm D45 quarter dose (folder '1mm D45/quarter_1mm_sharp')",
        "missing for every patient: 3mm B30 quarter dose (folder '3mm B30/quarter_3mm')",
        "missing for every patient: 3mm D45 quarter dose (folder '3mm D45/quarter_3mm_sharp')",
    ]
    assert (rep.expected, rep.present, rep.correct) == (16, 8, 8)


def test_check_unrecognisable_root(tmp_path):
    (tmp_path / "data" / "misc").mkdir(parents=True)
    rep = check(tmp_path / "data", "ldct_grand_challenge_2016")
    assert len(rep.problems) == 1
    assert rep.problems[0].startswith("no Grand Challenge series found at all (none of the 80 expected)")
    assert "Training_Image_Data/1mm B30/full_1mm/L067/full_1mm" in rep.problems[0]
    with pytest.raises(T2TError, match="does not exist"):
        check(tmp_path / "nope", "ldct_grand_challenge_2016")


# --------------------------------------------------------------------------- check: training / virtual


def make_virtual_root(root: Path, n_test=2, n_train=2):
    make_gc_tree(root, virtual_patients(n_test), n_thin=5, n_thick=2)
    for p in virtual_patients(n_train, first=501):
        write_slices(training_series_dir(root, p), grid(5, 0.8), 1.0)
    return root


def test_check_virtual_smoke_layout(tmp_path):
    root = make_virtual_root(tmp_path / "cohort")
    rep = check(root, "virtual_smoke")
    assert rep.ok, str(rep)
    assert (rep.expected, rep.present, rep.correct) == (16 + 2, 18, 18)
    # training cohort broken: V502 missing, V501 written at the wrong thickness
    shutil.rmtree(training_series_dir(root, "V502").parents[1])
    shutil.rmtree(training_series_dir(root, "V501"))
    write_slices(training_series_dir(root, "V501"), grid(5, 0.8), 2.0)
    rep = check(root, "virtual_smoke")
    assert rep.problems == [
        "missing training series: V502 full dose",
        "training V501 full dose: slice thickness is 2 mm, expected 1 mm",
    ]


def test_check_tcia_download_against_table_one(tmp_path):
    base = tmp_path / "dl" / "manifest-1" / "LDCT-and-Projection-data"
    write_slices(base / "C002/08-30-2018-09658/1.000000-Full dose images-31186", grid(4, 1.0), 1.5, manufacturer="SIEMENS")
    write_slices(base / "C120/01-01-2019-1/1.000000-Full dose images-2", grid(4, 1.0), 1.25, manufacturer="GE MEDICAL SYSTEMS")
    # GE chest series at the wrong increment
    write_slices(base / "C121/01-01-2019-1/1.000000-Full dose images-3", grid(4, 1.25), 1.25, manufacturer="GE MEDICAL SYSTEMS")
    # classic (UID) folder names: the series description tells images from projections
    write_slices(base / "L014/1.2.3/1.2.3.4", grid(3, 3.0), 5.0, description="Low dose images")
    write_slices(base / "L014/1.2.3/1.2.3.5", grid(3, 3.0), 5.0, description="Full dose projections")
    rep = check(tmp_path / "dl", "tcia_ldct_projection")
    assert rep.problems == ["training C121 full dose: slice increment is 1.25 mm, expected 1 mm"]
    assert (rep.expected, rep.present, rep.correct) == (4, 4, 3)
    assert "3 of the collection's 100 chest (C) patients present" in rep.notes
    assert "1 of the collection's 100 abdomen (L) patients present" in rep.notes


# --------------------------------------------------------------------------- CLI


def test_cli_data_check_exit_codes(tmp_path, capsys):
    root = make_gc_tree(tmp_path / "data", ["L067"])
    manifest = small_gc_manifest(tmp_path, ["L067"])
    assert main(["data", "check", str(root), "--manifest", str(manifest), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert out.strip().splitlines()[-1].endswith("-- COMPLETE")

    shutil.rmtree(series_dir(root, "L067", "D45", "quarter", "3mm"))
    assert main(["data", "check", str(root), "--manifest", str(manifest), "--no-progress"]) == 1
    out = capsys.readouterr().out
    assert "problem: missing: L067 3mm D45 quarter dose" in out

    assert main(["data", "check", str(root), "--manifest", "no_such_manifest"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("t2t data check: error: unknown manifest 'no_such_manifest'")
    assert "Traceback" not in err
    assert main(["data", "check", str(tmp_path / "absent"), "--manifest", "virtual_smoke"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_cli_data_needs_an_action(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["data"])
    assert exc.value.code == 2
