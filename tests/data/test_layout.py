"""Tests for t2tcore.data.layout: Grand Challenge and TCIA folder layouts (names only, no headers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from t2tcore.errors import SeriesWarning, T2TError
from t2tcore.data.layout import (
    GC_ROOT_FOLDER,
    TCIA_COLLECTION,
    dicom_files,
    find_series,
    find_training_series,
    is_virtual_patient,
    pairs,
    patients,
    series_dir,
    thickness_label,
    training_series_dir,
    virtual_patients,
)


def touch_series(folder: Path, n: int = 3, suffix: str = ".IMA") -> Path:
    """Create ``n`` files named like DICOM slices (layout discovery never opens them)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (folder / f"slice{i:04d}{suffix}").write_bytes(b"")
    return folder


def real_gc_path(root: Path, patient: str, kernel: str, dose: str, t: str) -> Path:
    """The folder of one series as the real download names it, spelled out literally."""
    leaf = f"{dose}_{t}" + ("_sharp" if kernel == "D45" else "")
    return root / "Training_Image_Data" / f"{t} {kernel}" / leaf / patient / leaf


def make_gc(root: Path, pats=("L067", "L096"), kernels=("B30", "D45"), doses=("full", "quarter"), ts=("1mm", "3mm")):
    for p in pats:
        for k in kernels:
            for d in doses:
                for t in ts:
                    touch_series(real_gc_path(root, p, k, d, t))
    return root


# --------------------------------------------------------------------------- find_series


def test_find_series_real_layout(tmp_path):
    make_gc(tmp_path)
    entries = find_series(tmp_path)
    assert len(entries) == 2 * 2 * 2 * 2
    keys = {e.key for e in entries}
    assert ("L067", "D45", "quarter", "3mm") in keys
    e = next(e for e in entries if e.key == ("L096", "D45", "full", "1mm"))
    assert e.path == tmp_path / "Training_Image_Data/1mm D45/full_1mm_sharp/L096/full_1mm_sharp"
    assert e.n_files == 3
    # sorted by key
    assert [x.key for x in entries] == sorted(x.key for x in entries)


def test_series_dir_matches_real_naming_and_is_found(tmp_path):
    for k in ("B30", "D45"):
        for d in ("full", "quarter"):
            for t, t_arg in (("1mm", 1.0), ("3mm", "3 mm")):
                p = series_dir(tmp_path, "V001", k.lower(), d.upper(), t_arg)
                assert p == real_gc_path(tmp_path, "V001", k, d, t)
                touch_series(p, suffix=".dcm")
    entries = find_series(tmp_path)
    assert {(e.kernel, e.dose, e.thickness_label) for e in entries} == {
        (k, d, t) for k in ("B30", "D45") for d in ("full", "quarter") for t in ("1mm", "3mm")
    }
    assert all(e.patient == "V001" for e in entries)


def test_filters_case_insensitive(tmp_path):
    make_gc(tmp_path)
    got = find_series(tmp_path, patient="l067", kernel="d45", dose="QUARTER", thickness=3)
    assert [e.key for e in got] == [("L067", "D45", "quarter", "3mm")]
    got = find_series(tmp_path, thickness=["1mm", 3.0], kernel=["B30"], dose="full")
    assert len(got) == 4
    assert find_series(tmp_path, patient="L999") == []


def test_root_may_be_any_level(tmp_path):
    make_gc(tmp_path)
    assert len(find_series(tmp_path / GC_ROOT_FOLDER)) == 16
    sub = find_series(tmp_path / GC_ROOT_FOLDER / "3mm D45")
    assert {e.key[1:] for e in sub} == {("D45", "full", "3mm"), ("D45", "quarter", "3mm")}
    one = find_series(tmp_path / GC_ROOT_FOLDER / "1mm B30" / "full_1mm" / "L096")
    assert [e.key for e in one] == [("L096", "B30", "full", "1mm")]


@pytest.mark.parametrize(
    "rel, key",
    [
        # misspelled top folder as some copies have it, plus an extra wrapper folder
        ("mayo/Traning_Image_Data/1mm B30/full_1mm/L067/full_1mm", ("L067", "B30", "full", "1mm")),
        # no top folder, lower case, underscore in kernel folder
        ("3mm_d45/quarter_3mm_sharp/l143/quarter_3mm_sharp", ("L143", "D45", "quarter", "3mm")),
        # trailing folder missing: files directly in the patient folder
        ("1mm D45/full_1mm_sharp/L192", ("L192", "D45", "full", "1mm")),
        # extra FD/QD folder level and a _sorted suffix
        ("3mm D45/QD_3mm_sharp/quarter_3mm_sharp/L506/quarter_3mm_sharp_sorted", ("L506", "D45", "quarter", "3mm")),
        # per-patient layout of older copies: patient/dose folder, kernel from _sharp
        ("Training Cases/L067/full_1mm_sharp", ("L067", "D45", "full", "1mm")),
        ("Training Cases/L067/quarter_3mm", ("L067", "B30", "quarter", "3mm")),
        # kernel folder wins over a missing _sharp
        ("3mm D45/quarter_3mm/L291/quarter_3mm", ("L291", "D45", "quarter", "3mm")),
    ],
)
def test_odd_naming(tmp_path, rel, key):
    touch_series(tmp_path / rel)
    assert [e.key for e in find_series(tmp_path)] == [key]


def test_extensionless_dicom_by_magic(tmp_path):
    folder = tmp_path / "1mm B30/full_1mm/L067/full_1mm"
    folder.mkdir(parents=True)
    for i in range(4):
        (folder / f"IM{i:04d}").write_bytes(b"\0" * 128 + b"DICM" + b"\0" * 16)
    (tmp_path / "1mm B30/quarter_1mm/L067/quarter_1mm").mkdir(parents=True)
    (tmp_path / "1mm B30/quarter_1mm/L067/quarter_1mm/README").write_bytes(b"not dicom at all")
    entries = find_series(tmp_path)
    assert [(e.key, e.n_files) for e in entries] == [(("L067", "B30", "full", "1mm"), 4)]
    assert len(dicom_files(folder)) == 4


def test_nothing_recognisable_raises_with_expected_layout(tmp_path):
    touch_series(tmp_path / "random" / "stuff")
    with pytest.raises(T2TError, match="expected folders like Training_Image_Data/1mm B30/full_1mm"):
        find_series(tmp_path)
    with pytest.raises(T2TError, match="does not exist"):
        find_series(tmp_path / "nope")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(T2TError, match="not a folder"):
        find_series(tmp_path / "file.txt")


def test_conflicting_thickness_skipped_with_warning(tmp_path):
    touch_series(tmp_path / "3mm B30/full_1mm/L067/full_1mm")
    touch_series(tmp_path / "1mm B30/full_1mm/L067/full_1mm")
    with pytest.warns(SeriesWarning, match="kernel folder says 3mm, dose folder says 1mm"):
        entries = find_series(tmp_path)
    assert [e.path for e in entries] == [tmp_path / "1mm B30/full_1mm/L067/full_1mm"]


def test_bad_filter_values():
    with pytest.raises(ValueError, match="kernel"):
        series_dir("/x", "V001", "B45", "full", 1)
    with pytest.raises(ValueError, match="dose"):
        series_dir("/x", "V001", "B30", "half", 1)
    with pytest.raises(ValueError, match="thickness"):
        series_dir("/x", "V001", "B30", "full", "thin")
    with pytest.raises(ValueError, match="patient"):
        series_dir("/x", "../V001", "B30", "full", 1)


def test_thickness_label():
    assert thickness_label(1) == "1mm"
    assert thickness_label(3.0) == "3mm"
    assert thickness_label(" 1.5 MM ") == "1.5mm"
    with pytest.raises(ValueError):
        thickness_label(0)


# --------------------------------------------------------------------------- patients / pairs


def test_patients_and_pairs(tmp_path):
    make_gc(tmp_path, pats=("L067", "L096", "L109"))
    assert patients(tmp_path) == ["L067", "L096", "L109"]
    # L109 loses its 3mm D45 quarter series
    for f in real_gc_path(tmp_path, "L109", "D45", "quarter", "3mm").iterdir():
        f.unlink()
    assert patients(tmp_path, kernel="D45", dose="quarter", thickness="3mm") == ["L067", "L096"]
    with pytest.warns(SeriesWarning, match=r"L109 \(no 3mm\)"):
        got = pairs(tmp_path, "D45", "quarter")
    assert got == [
        (p, real_gc_path(tmp_path, p, "D45", "quarter", "1mm"), real_gc_path(tmp_path, p, "D45", "quarter", "3mm"))
        for p in ("L067", "L096")
    ]
    got = pairs(tmp_path, "b30", "full", patient="L109")
    assert [g[0] for g in got] == ["L109"]


def test_pairs_errors(tmp_path):
    touch_series(real_gc_path(tmp_path, "L067", "B30", "full", "1mm"))
    with pytest.warns(SeriesWarning), pytest.raises(T2TError, match="both a 1mm and a 3mm"):
        pairs(tmp_path, "B30", "full")
    touch_series(real_gc_path(tmp_path, "L067", "B30", "full", "3mm"))
    touch_series(tmp_path / "copy" / "1mm B30/full_1mm/L067/full_1mm")
    with pytest.raises(T2TError, match="two folders"):
        pairs(tmp_path, "B30", "full")


# --------------------------------------------------------------------------- virtual names


def test_virtual_patients():
    assert virtual_patients(3) == ["V001", "V002", "V003"]
    assert virtual_patients(2, first=501) == ["V501", "V502"]
    assert virtual_patients(2, first=999) == ["V0999", "V1000"]
    assert all(is_virtual_patient(p) for p in virtual_patients(12))
    assert not is_virtual_patient("L067")
    with pytest.raises(ValueError):
        virtual_patients(2, prefix="L")


# --------------------------------------------------------------------------- TCIA layout


def test_find_training_series_nbia_layout(tmp_path):
    base = tmp_path / "manifest-1648648375084" / TCIA_COLLECTION
    touch_series(base / "C002/08-30-2018-09658/1.000000-Full dose images-31186", suffix=".dcm")
    touch_series(base / "C002/08-30-2018-09658/1.000000-Low Dose Images-07574", suffix=".dcm")
    touch_series(base / "C002/08-30-2018-NA-NA-20022/1.000000-Full dose projections-35722", suffix=".dcm")
    touch_series(base / "L014/12-23-2021-NA-NA-83637/1.000000-Full Dose Images-28591", suffix=".dcm")
    got = find_training_series(tmp_path)
    assert [(e.patient, e.dose) for e in got] == [("C002", "full"), ("C002", "low"), ("L014", "full")]
    assert got[0].scan_type == "C"
    assert [e.patient for e in find_training_series(tmp_path, dose="low")] == ["C002"]
    assert [e.patient for e in find_training_series(base / "L014")] == ["L014"]


def test_training_series_dir_round_trip_beside_gc(tmp_path):
    # a virtual cohort root holds both layouts; each finder sees only its own
    make_gc(tmp_path, pats=("V001",))
    for p in ("V501", "V502"):
        d = training_series_dir(tmp_path, p)
        assert d.parts[-4] == TCIA_COLLECTION
        touch_series(d, suffix=".dcm")
    got = find_training_series(tmp_path)
    assert [(e.patient, e.dose) for e in got] == [("V501", "full"), ("V502", "full")]
    assert {e.patient for e in find_series(tmp_path)} == {"V001"}


def test_find_training_series_errors(tmp_path):
    touch_series(tmp_path / "somewhere" / "else")
    with pytest.raises(T2TError, match="NBIA Data Retriever"):
        find_training_series(tmp_path)
    with pytest.raises(ValueError):
        training_series_dir(tmp_path, "V501", dose="quarter")
