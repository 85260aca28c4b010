"""Reading a clinical cohort folder and checking it against its survival table (t2tcore.data.fibrosis)."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from t2tcore.data.fibrosis import load_cohort, load_survival
from t2tcore.errors import CohortError


@pytest.fixture
def copy(tiny_cohort, tmp_path):
    dst = tmp_path / "cohort"
    shutil.copytree(tiny_cohort["root"], dst)
    return dst


def test_virtual_cohort_reads_with_its_truth(tiny_cohort):
    c = load_cohort(tiny_cohort["root"])
    assert c.patients == ["F001", "F002"] and c.has_truth
    assert list(c.survival.index) == c.patients and set(c.survival.columns) >= {"time", "event"}
    assert all(c.thick[p].name == "thick" and c.thin[p].name == "thin" for p in c.patients)
    assert [p.parent.name for p in c.sr_train] == ["F501"] and c.sr_train[0] in c.sr_train_truth
    assert c.truth_table is not None and "severity" in c.truth_table.columns


def test_a_real_cohort_needs_only_thick_series_and_survival(copy):
    for p in ("F001", "F002"):
        shutil.rmtree(copy / "images" / p / "thin")
        (copy / "images" / p / "airway_truth.nii.gz").unlink()
    shutil.rmtree(copy / "sr_train")
    (copy / "truth.csv").unlink()
    c = load_cohort(copy)
    assert c.patients == ["F001", "F002"] and not c.has_truth and c.thin == {} and c.sr_train == []


def test_missing_column_is_named(copy):
    df = pd.read_csv(copy / "survival.csv").drop(columns="event")
    df.to_csv(copy / "survival.csv", index=False)
    with pytest.raises(CohortError, match="missing column.*event"):
        load_cohort(copy)


def test_patients_without_images_and_images_without_rows_are_named(copy):
    df = pd.read_csv(copy / "survival.csv", dtype={"patient_id": str})
    df.loc[len(df)] = ["F099", 1.5, 1]
    df = df[df.patient_id != "F002"]
    df.to_csv(copy / "survival.csv", index=False)
    with pytest.raises(CohortError) as err:
        load_cohort(copy)
    msg = str(err.value)
    assert "without images: F099" in msg and "no row in survival.csv: F002" in msg and "\n" not in msg


def test_a_patient_folder_without_thick_series_is_named(copy):
    shutil.rmtree(copy / "images" / "F002" / "thick")
    with pytest.raises(CohortError, match="no thick series.*F002"):
        load_cohort(copy)


@pytest.mark.parametrize("rows,match", [
    ("patient_id,time,event\nA,1.0,1\nA,2.0,0\n", "more than once: A"),
    ("patient_id,time,event\nA,-1,1\nB,2.0,0\n", "time must be a number > 0; not for A"),
    ("patient_id,time,event\nA,1.0,2\nB,2.0,0\n", "event must be 0 .* not for A"),
    # issue 14, item 11: an infinite time and an empty patient id (read as "nan" before) are refused
    ("patient_id,time,event\nA,1.0,1\nB,inf,0\n", r"time must be a number > 0; not for B \(line 3\)"),
    ("patient_id,time,event\nA,1.0,1\n,2.0,0\n", "empty patient_id on line\\(s\\) 3"),
    ("patient_id,time,event\nA,1.0,1\n  ,2.0,0\n", "empty patient_id on line\\(s\\) 3"),
    ("patient_id,time,event\n", "no patients"),
])
def test_survival_table_checks(tmp_path, rows, match):
    path = tmp_path / "survival.csv"
    path.write_text(rows)
    with pytest.raises(CohortError, match=match):
        load_survival(path)


def test_missing_folder_and_table(tmp_path):
    with pytest.raises(CohortError, match="no such cohort folder"):
        load_cohort(tmp_path / "nothing")
    with pytest.raises(CohortError, match="no survival table"):
        load_cohort(tmp_path)
    (tmp_path / "survival.csv").write_text("patient_id,time,event\nA,1,1\n")
    with pytest.raises(CohortError, match="no images/ folder"):
        load_cohort(tmp_path)
