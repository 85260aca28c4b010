"""Tests of t2tcore.io.dicom_scan: which files of a folder are images of which series, and
what is skipped and why (tiny data made here)."""

from __future__ import annotations

import io
import os
import pathlib
import shutil
import warnings
from collections import Counter

import numpy as np
import pydicom
import pytest
from pydicom.uid import ExplicitVRLittleEndian, RLELossless, generate_uid

from t2tcore.errors import SeriesWarning, T2TError
from t2tcore.io import DicomReadError, SeriesChoiceError, list_series, read_series, scan_folder
from t2tcore.io.dicom_scan import REASONS, _scan_file
from tests.io.helpers import _series_warnings


# --------------------------------------------------------------------------------------
# Messy folders
# --------------------------------------------------------------------------------------


def _sr_document(study_uid: str) -> pydicom.Dataset:
    ds = pydicom.Dataset()
    ds.file_meta = pydicom.dataset.FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.88.33"  # Comprehensive SR
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "SR"
    return ds


def test_skips_junk_localizers_and_other_series_with_one_warning(tmp_path, thin_series, ct_slice):
    folder = thin_series.folder
    sub = folder / "sub" / "deeper"
    sub.mkdir(parents=True)
    (folder / "README.txt").write_text("not a dicom file\n")
    (sub / "empty").write_bytes(b"")
    src = thin_series.files[0].read_bytes()
    (folder / "cut_pixels").write_bytes(src[: len(src) - 100])  # truncated in the pixel data
    (folder / "cut_header").write_bytes(src[:300])  # truncated in the header
    uid = dict(study_uid=thin_series.study_uid, for_uid=thin_series.for_uid)
    # A localizer inside the series, an image of another orientation inside the series,
    # a localizer series, an MR series and a structured report.
    px = np.zeros((16, 16), np.int16)
    ct_slice(px, ipp=(0, 0, 0.4), image_type=("ORIGINAL", "PRIMARY", "LOCALIZER"), series_uid=thin_series.series_uid,
             **uid).save_as(sub / "loc_in_series", enforce_file_format=True)
    ct_slice(px, ipp=(0, 0, 0.4), iop=(1, 0, 0, 0, 0, -1), series_uid=thin_series.series_uid,
             **uid).save_as(sub / "coronal_in_series", enforce_file_format=True)
    scout = generate_uid()
    for k in range(2):
        ct_slice(px, ipp=(0, k, 0), iop=(1, 0, 0, 0, 0, -1), image_type=("ORIGINAL", "PRIMARY", "LOCALIZER"),
                 series_uid=scout, **uid).save_as(folder / f"scout{k}", enforce_file_format=True)
    mr = generate_uid()
    for k in range(3):
        ct_slice(px, ipp=(0, 0, k), modality="MR", series_uid=mr, **uid).save_as(
            folder / f"mr{k}", enforce_file_format=True
        )
    _sr_document(thin_series.study_uid).save_as(folder / "report", enforce_file_format=True)

    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        s = read_series(folder)
    np.testing.assert_array_equal(s.volume, thin_series.hu)
    np.testing.assert_allclose(s.positions, thin_series.positions)
    msgs = _series_warnings(record)
    assert len(msgs) == 1, msgs
    msg = msgs[0]
    for part in (
        "read 8 slices",
        "skipped 12 of 20 files",
        "2 not DICOM (e.g. ",
        "2 unreadable or truncated",
        "3 localizer",
        "1 images with another orientation",
        "3 images of 1 other series",
        "1 without image data",
    ):
        assert part in msg, (part, msg)
    assert s.skipped == {
        "not DICOM": 2,
        "unreadable or truncated": 2,
        "localizer/scout images": 3,
        "images with another orientation than the series": 1,
        "images of other series": 3,
        "without image data (reports, DICOMDIR, ...)": 1,
    }
    assert msg in s.notes
    # No other pydicom warnings leak out.
    assert all(issubclass(w.category, SeriesWarning) for w in record), [str(w.message) for w in record]


def test_duplicate_files_are_skipped(tmp_path, thin_series):
    shutil.copy(thin_series.files[3], thin_series.folder / "copy_of_a_slice")
    with pytest.warns(SeriesWarning, match="1 duplicate files"):
        s = read_series(thin_series.folder)
    np.testing.assert_array_equal(s.volume, thin_series.hu)


def test_two_stacks_in_one_series_is_an_error(tmp_path, thin_series, ct_slice):
    ct_slice(np.zeros((16, 16), np.int16), ipp=thin_series.ipp[2], series_uid=thin_series.series_uid,
             study_uid=thin_series.study_uid, for_uid=thin_series.for_uid).save_as(
        thin_series.folder / "second_stack", enforce_file_format=True)
    with pytest.raises(DicomReadError, match="same position"):
        read_series(thin_series.folder)


def test_several_ct_series_error_lists_them_and_series_uid_chooses(tmp_path, write_ct_series):
    folder = tmp_path / "study"
    rng = np.random.default_rng(3)
    a = write_ct_series(folder, rng.integers(0, 100, (5, 4, 4)).astype(np.int16), np.arange(5) * 1.0,
                        description="thin B30f", thickness=1.0, seed=1)
    b = write_ct_series(folder, rng.integers(0, 100, (3, 4, 4)).astype(np.int16), np.arange(3) * 5.0,
                        description="thick B30f", thickness=5.0, seed=2, study_uid=a.study_uid)
    with pytest.raises(SeriesChoiceError) as err:
        read_series(folder)
    msg = str(err.value)
    assert "2 CT image series" in msg
    assert f"{a.series_uid} (thin B30f): CT, 5 slices, thickness 1 mm" in msg
    assert f"{b.series_uid} (thick B30f): CT, 3 slices, thickness 5 mm" in msg
    assert isinstance(err.value, T2TError)
    with pytest.warns(SeriesWarning, match="skipped 5 of 8 files: 5 images of 1 other series"):
        s = read_series(folder, series_uid=b.series_uid)
    np.testing.assert_array_equal(s.volume, b.hu)
    assert s.thickness == 5.0
    with pytest.raises(SeriesChoiceError, match="no image series with SeriesInstanceUID 1.2.3"):
        read_series(folder, series_uid="1.2.3")


@pytest.mark.parametrize("case", ["missing", "empty", "junk", "only_mr", "only_localizer"])
def test_bad_input_raises_t2t_error(tmp_path, ct_slice, case):
    folder = tmp_path / "in"
    if case != "missing":
        folder.mkdir()
    if case == "junk":
        (folder / "a.txt").write_text("hello")
        (folder / "b.bin").write_bytes(os.urandom(2000))
    uid = dict(study_uid=generate_uid(), for_uid=generate_uid(), series_uid=generate_uid())
    if case == "only_mr":
        ct_slice(np.zeros((4, 4), np.int16), ipp=(0, 0, 0), modality="MR", **uid).save_as(
            folder / "mr", enforce_file_format=True)
    if case == "only_localizer":
        ct_slice(np.zeros((4, 4), np.int16), ipp=(0, 0, 0), image_type=("ORIGINAL", "PRIMARY", "LOCALIZER"),
                 **uid).save_as(folder / "loc", enforce_file_format=True)
    expected = {
        "missing": "no such file or folder",
        "empty": "the folder is empty",
        "junk": r"no CT images among 2 file\(s\) \(2 not DICOM\)",
        "only_mr": "no CT image series",
        "only_localizer": "1 localizer images",
    }[case]
    with pytest.raises(DicomReadError, match=expected) as err:
        read_series(folder)
    assert isinstance(err.value, T2TError)
    if case == "only_mr":  # a non-CT series can still be read when chosen explicitly
        assert read_series(folder, series_uid=uid["series_uid"]).volume.shape == (1, 4, 4)


def test_file_without_preamble_and_implicit_vr(tmp_path, thin_series):
    # Re-save one slice as a raw Implicit VR Little Endian data set without preamble/meta
    # (old exports): it is still part of the series (and, as its first slice, the source of
    # the header template).
    path = min(thin_series.files, key=lambda f: float(pydicom.dcmread(f).ImagePositionPatient[2]))
    ds = pydicom.dcmread(path)
    ds.file_meta.TransferSyntaxUID = pydicom.uid.ImplicitVRLittleEndian
    buf = io.BytesIO()
    pydicom.dcmwrite(buf, ds, implicit_vr=True, little_endian=True)
    raw = buf.getvalue()
    # Strip preamble, "DICM" and the file meta group.
    ds2 = pydicom.dcmread(io.BytesIO(raw))
    start = 132 + 12 + ds2.file_meta.FileMetaInformationGroupLength
    path.write_bytes(raw[start:])
    assert path.read_bytes()[:2] == b"\x08\x00"
    s = read_series(thin_series.folder)
    np.testing.assert_array_equal(s.volume, thin_series.hu)
    assert s.files[0] == path and s.header.PatientID == "T2T-TEST"


def test_list_series_and_scan_folder(tmp_path, write_ct_series, ct_slice):
    folder = tmp_path / "study"
    a = write_ct_series(folder, np.zeros((4, 6, 5), np.int16), np.arange(4) * 0.625, description="thin",
                        thickness=0.625, seed=1)
    write_ct_series(folder, np.zeros((3, 6, 5), np.int16), [0.0, 5.0, 15.0], description="gappy", thickness=5.0,
                    seed=2, study_uid=a.study_uid)
    ct_slice(np.zeros((6, 5), np.int16), ipp=(0, 0, 0), image_type=("ORIGINAL", "PRIMARY", "LOCALIZER"),
             series_uid=generate_uid(), study_uid=a.study_uid, for_uid=a.for_uid,
             description="scout").save_as(folder / "scout", enforce_file_format=True)
    (folder / "notes.txt").write_text("hello")
    scan = scan_folder(folder)
    assert scan.n_files == 9
    assert scan.skipped == {"not DICOM": 1} and "notes.txt" in scan.examples["not DICOM"]
    by_desc = {s.description: s for s in scan.series}
    assert set(by_desc) == {"thin", "gappy", "scout"}
    thin, gappy, scout = by_desc["thin"], by_desc["gappy"], by_desc["scout"]
    assert (thin.n_slices, thin.thickness, thin.irregular, thin.tilt) == (4, 0.625, False, 0.0)
    assert thin.spacing == pytest.approx(0.625)
    assert thin.position_range == pytest.approx((0.0, 1.875))
    assert thin.kernel == "B30f" and thin.modality == "CT" and (thin.rows, thin.columns) == (6, 5)
    assert thin.uid == a.series_uid and thin.is_ct and not thin.localizer
    assert gappy.irregular and any("gap" in n for n in gappy.notes)
    assert scout.localizer and scout.n_slices == 0 and scout.n_localizers == 1
    assert scan.series[-1] is scout  # localizers last
    assert [s.uid for s in list_series(folder)] == [s.uid for s in scan.series]



def test_nifti_files_in_a_dicom_folder_are_named_as_such(tmp_path, thin_series):
    (thin_series.folder / "converted.nii.gz").write_bytes(b"not read")
    with pytest.warns(SeriesWarning, match="1 NIfTI files"):
        s = read_series(thin_series.folder)
    np.testing.assert_array_equal(s.volume, thin_series.hu)
    assert scan_folder(thin_series.folder).skipped == {REASONS["nifti"]: 1}


def test_scan_classifies_pydicom_test_files_like_pydicom_reads_them(tmp_path, thin_series, ct_slice):
    # pydicom's own test corpus plus ours: the scan never fails, every file gets a kind, and
    # the header facts of the images are those pydicom gives for the full data set.
    corpus = [p for p in (pathlib.Path(pydicom.__file__).parent / "data" / "test_files").rglob("*") if p.is_file()]
    uid = dict(study_uid=generate_uid(), for_uid=generate_uid(), series_uid=generate_uid())
    ds = ct_slice(np.ones((40, 40), np.uint16), ipp=(0, 0, 0), description="Ünïcode", **uid)
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.compress(RLELossless)
    ds.save_as(tmp_path / "rle_latin1", enforce_file_format=True)
    cut = thin_series.files[1].read_bytes()
    for n in (100, 400, 900, len(cut) - 10):
        (tmp_path / f"cut{n}").write_bytes(cut[:n])
    corpus += sorted(tmp_path.glob("rle_latin1")) + sorted(tmp_path.glob("cut*")) + list(thin_series.files)
    kinds = Counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in corpus:
            rec = _scan_file(str(path))
            assert rec["kind"] in REASONS or rec["kind"] == "image", (path, rec)
            kinds[rec["kind"]] += 1
            if rec["kind"] != "image":
                continue
            full = pydicom.dcmread(path, force=True)
            assert rec["rows"] == full.Rows and rec["cols"] == full.Columns, path
            assert rec["sop_uid"] == str(full.get("SOPInstanceUID", "")), path
            np.testing.assert_allclose(rec["ipp"], [float(v) for v in full.ImagePositionPatient], err_msg=str(path))
            np.testing.assert_allclose(rec["iop"], [float(v) for v in full.ImageOrientationPatient], err_msg=str(path))
            assert rec["slope"] == float(full.get("RescaleSlope", 1) or 1), path
    assert kinds["image"] >= 20 and kinds["not_dicom"] >= 1 and kinds["unreadable"] >= 4, kinds
    for n in (100, 400, 900, len(cut) - 10):  # every truncated copy of a slice
        assert _scan_file(str(tmp_path / f"cut{n}"))["kind"] in ("unreadable", "not_dicom"), n
    rec = _scan_file(str(tmp_path / "rle_latin1"))
    assert rec["description"] == "Ünïcode" and rec["kind"] == "image"
