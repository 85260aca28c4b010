"""Finding the thin series: a folder tree (as ``t2t info``), a data set's layout, a CSV list."""

from __future__ import annotations

import pytest

from t2tcore.data import rplhr, training_series_dir
from t2tcore.pipelines.sources import PairSourceError, discover

from .conftest import write_thin


def test_a_tree_of_dicom_folders_and_nifti_files(archive):
    found = discover(archive)
    ids = [s.id for s in found.sources]
    assert ids == ["P1_ct_thin", "P2_thin", "P3_ct", "P4_thick", "P5_short", "P6_broken"]
    dicom = found.sources[0]
    assert dicom.series_uid and dicom.path.endswith("P1/ct/thin") and len(dicom.files) == 20
    nifti = found.sources[1]
    assert nifti.series_uid is None and [f.rsplit("/", 1)[1] for f in nifti.files] == ["thin.nii.gz", "thin.json"]
    assert found.inputs == [archive]


def test_localizers_and_other_modalities_are_named_and_left_out(tmp_path, write_ct_series):
    import numpy as np

    stored = np.zeros((6, 8, 8), np.int16)
    write_ct_series(tmp_path / "d" / "scout", stored, np.arange(6.0), image_type=("ORIGINAL", "PRIMARY", "LOCALIZER"))
    write_ct_series(tmp_path / "d" / "mr", stored, np.arange(6.0), modality="MR", description="mr")
    write_thin(tmp_path / "d" / "ct", n=10)
    found = discover(tmp_path / "d")
    assert [s.id for s in found.sources] == ["ct"]
    reasons = sorted(why for _, why in found.skipped)
    assert reasons[0].startswith("a localizer") and reasons[1].startswith("not CT")


def test_a_fingerprint_changes_with_any_file(archive):
    src = discover(archive).sources[0]
    before = src.fingerprint()
    assert discover(archive).sources[0].fingerprint() == before
    with open(src.files[3], "ab") as f:
        f.write(b"\0")
    assert src.fingerprint() != before


def test_the_data_sets_the_project_knows(tmp_path):
    gc = tmp_path / "gc"
    write_thin(training_series_dir(gc, "V501"), n=10, patient="V501")
    write_thin(training_series_dir(gc, "V502"), n=10, patient="V502")
    found = discover(gc, dataset="ldct_gc")
    assert [(s.id, s.patient) for s in found.sources] == [("V501", "V501"), ("V502", "V502")]
    rp = tmp_path / "rplhr"
    thin, _ = rplhr.case_paths(rp, "train", "case7")
    write_thin(thin, n=10)
    thin.with_name("case7.json").unlink()  # RPLHR-CT ships no sidecar: read with the nominal 1 mm
    found = discover(rp, dataset="rplhr_ct")
    assert [(s.id, s.patient, s.nominal_thickness) for s in found.sources] == [("case7", "case7", 1.0)]
    with pytest.raises(Exception, match="no RPLHR-CT tree|LDCT"):
        discover(tmp_path / "gc", dataset="rplhr_ct")


def test_a_csv_list(tmp_path):
    write_thin(tmp_path / "a.nii.gz", n=10)
    write_thin(tmp_path / "sub" / "b", n=10)
    (tmp_path / "l.csv").write_text("path,patient,thin_thickness\na.nii.gz,A,\nsub/b,B,1.25\n")
    found = discover(tmp_path / "l.csv", thin_thickness=2.0)
    assert [(s.id, s.patient, s.thin_thickness) for s in found.sources] == [("a", "A", 2.0), ("sub_b", "B", 1.25)]
    (tmp_path / "bad.csv").write_text("file\na.nii.gz\n")
    with pytest.raises(PairSourceError, match="'path' column"):
        discover(tmp_path / "bad.csv")
    (tmp_path / "bad2.csv").write_text("path,thin_thickness\na.nii.gz,-1\n")
    with pytest.raises(PairSourceError, match="row 2: thin_thickness"):
        discover(tmp_path / "bad2.csv")
    (tmp_path / "bad3.csv").write_text("path\nmissing.nii.gz\n")
    with pytest.raises(PairSourceError, match="no such file"):
        discover(tmp_path / "bad3.csv")


def test_no_series_at_all(tmp_path):
    (tmp_path / "e").mkdir()
    (tmp_path / "e" / "notes.txt").write_text("hello")
    with pytest.raises(PairSourceError, match="no CT series or NIfTI file"):
        discover(tmp_path / "e")
    with pytest.raises(PairSourceError, match="no such file"):
        discover(tmp_path / "nowhere")
