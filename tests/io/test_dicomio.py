"""Tests of t2tcore.io.dicomio: reading and writing DICOM series (tiny data made here)."""

from __future__ import annotations

import hashlib
import io
import os
import pathlib
import shutil
import struct
import subprocess
import warnings

import numpy as np
import pydicom
import pytest
from pydicom.encaps import encapsulate
from pydicom.uid import (
    CTImageStorage,
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLosslessSV1,
    RLELossless,
    generate_uid,
)

from t2tcore.io import dicomio
from t2tcore.io.dicomio import (
    DicomReadError,
    DicomWriteError,
    MissingDecoderError,
    Series,
    SeriesChoiceError,
    list_series,
    read_series,
    scan_folder,
    write_series,
)
from t2tcore.errors import SeriesWarning, T2TError


def _read_quiet(path, **kw) -> Series:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SeriesWarning)
        return read_series(path, **kw)


def _series_warnings(record) -> list[str]:
    return [str(w.message) for w in record if issubclass(w.category, SeriesWarning)]


def _tree_digest(folder: pathlib.Path) -> dict[str, tuple[str, int]]:
    return {
        str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# --------------------------------------------------------------------------------------
# Sorting and rescaling
# --------------------------------------------------------------------------------------


def test_reads_volume_and_positions(thin_series):
    s = read_series(thin_series.folder)
    assert s.volume.dtype == np.float32 and s.volume.shape == (8, 16, 16)
    np.testing.assert_array_equal(s.volume, thin_series.hu)
    np.testing.assert_allclose(s.positions, thin_series.positions, atol=1e-9)
    assert s.positions.dtype == np.float64
    assert s.pixel_spacing == (0.7, 0.6)
    assert s.thickness == 1.0 and s.interval is None
    assert s.spacing == pytest.approx(0.8)
    assert not s.irregular and s.gantry_tilt_deg == 0.0
    assert s.series_uid == thin_series.series_uid and s.description == "thin"
    np.testing.assert_allclose(s.origin, thin_series.ipp[0])
    np.testing.assert_allclose(s.ipp, thin_series.ipp)
    np.testing.assert_allclose(s.normal, [0, 0, 1])
    assert s.header.StudyInstanceUID == thin_series.study_uid
    assert s.header.FrameOfReferenceUID == thin_series.for_uid
    assert "PixelData" not in s.header and "SOPInstanceUID" not in s.header
    assert [f.name for f in s.files] == [
        f.name for f in sorted(thin_series.files, key=lambda f: float(pydicom.dcmread(f).ImagePositionPatient[2]))
    ]


def test_sorts_by_projection_on_oblique_normal(tmp_path, write_ct_series):
    # Oblique slices (rotated 30 deg about x) whose z coordinate order differs from their
    # order along the normal once a sideways shift is added; InstanceNumber, SliceLocation
    # and file names are all misleading (see the fixture).
    a = np.radians(30)
    iop = (1.0, 0.0, 0.0, 0.0, np.cos(a), np.sin(a))
    normal = np.cross(iop[:3], iop[3:])
    rng = np.random.default_rng(1)
    stored = rng.integers(-1000, 1000, size=(6, 5, 7)).astype(np.int16)
    pos = np.array([3.0, -1.5, 0.0, 7.5, 1.5, 4.5])
    # In-plane shifts along the column direction do not change the projection on the normal.
    shear = np.outer(rng.uniform(-20, 20, 6), iop[3:])
    w = write_ct_series(tmp_path / "obl", stored, pos, iop=iop, shear=shear, intercept=0.0)
    s = _read_quiet(w.folder)
    expected_pos = np.sort(w.ipp @ normal)
    np.testing.assert_allclose(s.positions, expected_pos, atol=1e-6)
    np.testing.assert_allclose(s.positions, np.sort(pos) + np.asarray((-5.0, -6.0, 0.0)) @ normal, atol=1e-6)
    np.testing.assert_array_equal(s.volume, w.hu)
    np.testing.assert_allclose(s.normal, normal / np.linalg.norm(normal), atol=1e-9)


def test_ignores_instance_number_and_file_names(tmp_path, ct_slice):
    # Files named in an order opposite to the positions, InstanceNumber random.
    study, series, for_uid = generate_uid(), generate_uid(), generate_uid()
    folder = tmp_path / "names"
    folder.mkdir()
    z = np.array([10.0, 12.5, 15.0, 17.5])
    for k, zk in enumerate(z):
        ds = ct_slice(
            np.full((4, 4), k, np.int16), ipp=(0, 0, zk), series_uid=series, study_uid=study, for_uid=for_uid,
            instance=[3, 1, 4, 2][k], slice_location=-zk, intercept=0.0,
        )
        ds.save_as(folder / f"IMG{len(z) - k:03d}.dcm", enforce_file_format=True)
    s = read_series(folder)
    np.testing.assert_array_equal(s.positions, z)
    np.testing.assert_array_equal(s.volume[:, 0, 0], [0, 1, 2, 3])


@pytest.mark.parametrize(
    "dtype,bits_stored,slope,intercept",
    [
        ("int16", 16, 1.0, 0.0),  # signed, negative stored values
        ("uint16", 16, 1.0, -1024.0),  # unsigned
        ("uint16", 12, 1.0, -1024.0),  # unsigned 12 bits with garbage in the high bits
        ("int16", 12, 0.5, -1000.25),  # signed 12 bits, fractional slope and intercept
    ],
)
def test_rescale_signed_unsigned_and_bits_stored(tmp_path, write_ct_series, dtype, bits_stored, slope, intercept):
    rng = np.random.default_rng(2)
    lo, hi = (-(1 << (bits_stored - 1)), 1 << (bits_stored - 1)) if dtype == "int16" else (0, 1 << bits_stored)
    values = rng.integers(lo, hi, size=(4, 6, 5))
    if dtype == "int16":
        stored = values.astype(np.int16)
        if bits_stored < 16:  # two's complement in bits_stored bits, high bits zero
            stored = (values & ((1 << bits_stored) - 1)).astype(np.uint16).view(np.int16)
    else:
        stored = values.astype(np.uint16)
        if bits_stored < 16:  # unused high bits set: must be ignored
            stored = stored | np.uint16(0xF000)
    w = write_ct_series(
        tmp_path / "r", stored, np.arange(4) * 2.0, slope=slope, intercept=intercept, bits_stored=bits_stored
    )
    s = read_series(w.folder)
    expected = np.sort(np.arange(4) * 2.0)
    order = np.argsort(np.arange(4) * 2.0)
    np.testing.assert_allclose(s.positions - s.positions[0], expected - expected[0])
    np.testing.assert_allclose(s.volume, values[order] * slope + intercept, rtol=0, atol=1e-3)


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


# --------------------------------------------------------------------------------------
# Irregular spacing and gantry tilt: detected, reported, never fixed
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "positions,word",
    [
        ([0.0, 0.8, 1.6, 2.4, 4.0, 4.8, 5.6], "gap"),  # one slice missing
        ([0.0, 0.8, 1.6, 2.0, 2.4, 3.2, 4.0], "overlap"),  # an extra slice in between
    ],
)
def test_irregular_spacing_is_reported_not_fixed(tmp_path, write_ct_series, positions, word):
    stored = np.arange(len(positions) * 9, dtype=np.int16).reshape(-1, 3, 3)
    w = write_ct_series(tmp_path / "irr", stored, positions, origin=(0, 0, 0))
    with pytest.warns(SeriesWarning, match=word) as record:
        s = read_series(w.folder)
    assert any("irregular slice spacing" in m for m in _series_warnings(record))
    assert s.irregular
    np.testing.assert_allclose(s.positions, positions, atol=1e-9)  # as in the files
    np.testing.assert_array_equal(s.volume, w.hu)
    assert s.spacing == pytest.approx(0.8)
    assert any(word in n for n in s.notes)
    info = list_series(w.folder)[0]
    assert info.irregular and info.n_slices == len(positions)


def test_regular_series_gives_no_warning(thin_series):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = read_series(thin_series.folder)
    assert not s.irregular and s.notes == []


def test_gantry_tilt_is_detected_from_positions(tmp_path, write_ct_series):
    # Axial orientation, slice centres moving in y as z increases: a 20 deg gantry tilt.
    z = np.arange(6) * 2.5
    shear = np.stack([np.zeros(6), z * np.tan(np.radians(20)), np.zeros(6)], axis=1)
    stored = np.arange(6 * 16, dtype=np.int16).reshape(6, 4, 4)
    w = write_ct_series(tmp_path / "tilt", stored, z, shear=shear, extra={"GantryDetectorTilt": "20"})
    with pytest.warns(SeriesWarning, match="gantry tilt"):
        s = read_series(w.folder)
    assert s.gantry_tilt_deg == pytest.approx(20.0, abs=1e-3)
    assert s.header_tilt_deg == 20.0
    np.testing.assert_allclose(s.positions, z, atol=1e-9)  # distances between planes, not un-sheared
    np.testing.assert_array_equal(s.volume, w.hu)
    assert not s.irregular
    assert list_series(w.folder)[0].tilt == pytest.approx(20.0, abs=1e-3)


# --------------------------------------------------------------------------------------
# Compressed transfer syntaxes
# --------------------------------------------------------------------------------------


def _jpeg_lossless_sv1(img: np.ndarray) -> bytes:
    """A literal JPEG lossless (process 14, first-order prediction) encoder for 16-bit
    unsigned samples: one component, predictor 1, one Huffman table with 5-bit codes for
    the 17 difference categories (ITU T.81 Annex H)."""
    rows, cols = img.shape
    x = img.astype(np.int64)
    bits: list[int] = []

    def put(value: int, n: int) -> None:
        bits.extend((value >> (n - 1 - i)) & 1 for i in range(n))

    for r in range(rows):
        for c in range(cols):
            if r == 0 and c == 0:
                pred = 1 << 15
            elif r == 0:
                pred = x[r, c - 1]
            elif c == 0:
                pred = x[r - 1, c]
            else:
                pred = x[r, c - 1]
            diff = (int(x[r, c]) - int(pred)) % 65536
            if diff >= 32768:
                diff -= 65536
            ssss = 0 if diff == 0 else int(abs(diff)).bit_length()
            put(ssss, 5)  # canonical code of category ssss: all 17 codes are 5 bits long
            if 0 < ssss < 16:
                put(diff if diff > 0 else diff + (1 << ssss) - 1, ssss)
    bits.extend([1] * (-len(bits) % 8))
    scan = bytearray()
    for i in range(0, len(bits), 8):
        byte = int("".join(map(str, bits[i : i + 8])), 2)
        scan.append(byte)
        if byte == 0xFF:
            scan.append(0x00)
    counts = [0, 0, 0, 0, 17] + [0] * 11
    dht = bytes([0x00]) + bytes(counts) + bytes(range(17))
    sof = struct.pack(">BHHB", 16, rows, cols, 1) + bytes([1, 0x11, 0])
    sos = bytes([1, 1, 0x00, 1, 0, 0])
    seg = lambda marker, body: struct.pack(">BBH", 0xFF, marker, len(body) + 2) + body  # noqa: E731
    return b"\xff\xd8" + seg(0xC3, sof) + seg(0xC4, dht) + seg(0xDA, sos) + bytes(scan) + b"\xff\xd9"


@pytest.mark.parametrize("syntax", [RLELossless, JPEGLosslessSV1, JPEG2000Lossless])
def test_compressed_transfer_syntaxes(tmp_path, ct_slice, syntax):
    rng = np.random.default_rng(4)
    stored = rng.integers(0, 3000, size=(3, 40, 36)).astype(np.uint16)
    z = np.array([2.0, 0.0, 1.0])
    uid = dict(study_uid=generate_uid(), for_uid=generate_uid(), series_uid=generate_uid())
    folder = tmp_path / "c"
    folder.mkdir()
    for k in range(3):
        ds = ct_slice(stored[k], ipp=(0, 0, z[k]), **uid)
        if syntax == JPEGLosslessSV1:
            ds.PixelData = encapsulate([_jpeg_lossless_sv1(stored[k])])
            ds["PixelData"].VR = "OB"
            ds.file_meta.TransferSyntaxUID = syntax
        else:
            ds.compress(syntax)
        ds.save_as(folder / f"s{k}", enforce_file_format=True)
        assert pydicom.dcmread(folder / f"s{k}").file_meta.TransferSyntaxUID == syntax
    s = read_series(folder)
    order = np.argsort(z)
    np.testing.assert_array_equal(s.volume, stored[order].astype(np.float64) - 1024.0)
    assert list_series(folder)[0].transfer_syntax == syntax.name


@pytest.fixture
def force_parallel(monkeypatch):
    """Take the parallel code paths even for tiny test series: no file-count threshold, two
    workers, and no T2T_PARALLEL override from the environment."""
    monkeypatch.setattr(dicomio, "_PARALLEL_MIN_FILES", 0)
    monkeypatch.setattr(dicomio, "_n_workers", lambda: 2)
    monkeypatch.delenv("T2T_PARALLEL", raising=False)


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_compressed_series_decoded_in_parallel(tmp_path, ct_slice, monkeypatch, force_parallel, mode):
    monkeypatch.setitem(dicomio.PARALLEL, "decode_compressed", mode)
    rng = np.random.default_rng(8)
    stored = rng.integers(-1000, 3000, size=(5, 9, 7)).astype(np.int16)
    uid = dict(study_uid=generate_uid(), for_uid=generate_uid(), series_uid=generate_uid())
    folder = tmp_path / "rle"
    folder.mkdir()
    for k in range(5):
        ds = ct_slice(stored[k], ipp=(0, 0, -k), slope=2.0, intercept=-10.0, **uid)
        ds.compress(RLELossless)
        ds.save_as(folder / f"s{k}", enforce_file_format=True)
    s = read_series(folder)
    np.testing.assert_array_equal(s.volume, stored[::-1].astype(np.float64) * 2.0 - 10.0)
    np.testing.assert_array_equal(s.positions, [-4, -3, -2, -1, 0])


def test_missing_decoder_names_the_package(tmp_path, ct_slice, monkeypatch):
    from pydicom.pixels import get_decoder

    uid = dict(study_uid=generate_uid(), for_uid=generate_uid(), series_uid=generate_uid())
    folder = tmp_path / "j2k"
    folder.mkdir()
    ds = ct_slice(np.ones((40, 40), np.uint16), ipp=(0, 0, 0), **uid)
    ds.compress(JPEG2000Lossless)
    ds.save_as(folder / "a", enforce_file_format=True)
    monkeypatch.setattr(get_decoder(JPEG2000Lossless), "_available", {})
    with pytest.raises(MissingDecoderError, match="pip install pylibjpeg-openjpeg") as err:
        read_series(folder)
    assert "JPEG 2000" in str(err.value) and isinstance(err.value, T2TError)


# --------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------


def test_write_read_round_trip(tmp_path, thin_series):
    before = _tree_digest(thin_series.folder)
    s = read_series(thin_series.folder)
    out = write_series(s, tmp_path / "out")
    assert out == (tmp_path / "out").absolute()
    assert _tree_digest(thin_series.folder) == before  # input untouched
    back = read_series(out)
    np.testing.assert_allclose(back.positions, s.positions, atol=1e-9)
    np.testing.assert_allclose(back.ipp, s.ipp, atol=1e-9)
    np.testing.assert_array_equal(back.volume, s.volume)  # integer HU: exact
    assert back.series_uid != s.series_uid
    files = sorted(out.iterdir())
    assert len(files) == 8 and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    sops = set()
    for f in files:
        ds = pydicom.dcmread(f)
        assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
        assert ds.file_meta.MediaStorageSOPClassUID == CTImageStorage == ds.SOPClassUID
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        assert ds.StudyInstanceUID == thin_series.study_uid
        assert ds.FrameOfReferenceUID == thin_series.for_uid
        assert ds.SeriesInstanceUID == back.series_uid
        assert list(ds.ImageType[:2]) == ["DERIVED", "SECONDARY"]
        assert ds.PatientID == "T2T-TEST" and ds.ConvolutionKernel == "B30f"
        assert ds.BitsAllocated == 16 and ds.PixelRepresentation == 1 and ds.pixel_array.dtype == np.int16
        assert ds.RescaleType == "HU"
        sops.add(ds.SOPInstanceUID)
        assert ds.SOPInstanceUID not in {pydicom.dcmread(f).SOPInstanceUID for f in thin_series.files}
    assert len(sops) == 8


def test_written_files_are_exactly_what_pydicom_writes(tmp_path):
    # The writer splices per-slice elements into bytes that pydicom encoded once; the
    # result must be byte-identical to pydicom's own encoding of the same data set.
    vol = np.random.default_rng(5).normal(0, 200, (3, 6, 5)).astype(np.float32)
    s = Series.from_array(vol, [0.0, 1.25, 2.5], (0.5, 0.5), 1.25, interval=1.25, patient_name="Müller^Jörg",
                          description="écho", extra={"ConvolutionKernel": "B30f", "KVP": 120})
    out = write_series(s, tmp_path / "o")
    for f in sorted(out.iterdir()):
        raw = f.read_bytes()
        buf = io.BytesIO()
        pydicom.dcmwrite(buf, pydicom.dcmread(f), enforce_file_format=True)
        assert buf.getvalue() == raw
    ds = pydicom.dcmread(sorted(out.iterdir())[0])
    assert str(ds.PatientName) == "Müller^Jörg" and ds.SeriesDescription == "écho"


@pytest.mark.parametrize("lo,hi", [(-1024.0, 3071.0), (-31000.0, 31000.0), (-20000.0, 40000.0), (-1e5, 2e5)])
def test_write_keeps_hu_within_half_a_step(tmp_path, lo, hi):
    rng = np.random.default_rng(6)
    vol = rng.uniform(lo, hi, size=(3, 8, 8)).astype(np.float32)
    vol[0, 0, 0], vol[1, 0, 0] = lo, hi  # the range's ends
    s = Series.from_array(vol, [0.0, 1.0, 2.0], (1.0, 1.0), 1.0)
    back = read_series(write_series(s, tmp_path / "o"))
    ds = pydicom.dcmread(sorted((tmp_path / "o").iterdir())[0])
    slope = float(ds.RescaleSlope)
    err = np.abs(back.volume.astype(np.float64) - vol.astype(np.float64)).max()
    if hi - lo <= 65534:
        assert slope == 1.0
        assert err <= 0.5 + 1e-3
    else:
        assert slope == pytest.approx((hi - lo) / 65534, rel=1e-6)
        assert err <= 0.5 * slope * (1 + 1e-6) + 1e-3 * abs(hi)


def test_write_refuses_non_empty_folder_and_overwrites_on_request(tmp_path, thin_series):
    s = _read_quiet(thin_series.folder)
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    with pytest.raises(DicomWriteError, match="not empty"):
        write_series(s, out)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    write_series(s, out, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == [f"IM{i:04d}.dcm" for i in range(1, 9)]
    (tmp_path / "file").write_text("x")
    with pytest.raises(DicomWriteError, match="not a folder"):
        write_series(s, tmp_path / "file")
    empty = tmp_path / "empty"
    empty.mkdir()
    write_series(s, empty)  # an existing empty folder is fine
    assert len(list(empty.iterdir())) == 8


def test_write_never_replaces_its_input(tmp_path, thin_series):
    before = _tree_digest(thin_series.folder)
    s = read_series(thin_series.folder)
    with pytest.raises(DicomWriteError, match="holds the input"):
        write_series(s, thin_series.folder, overwrite=True)
    with pytest.raises(DicomWriteError, match="holds the input"):
        write_series(s.derive(s.volume, s.positions, thickness=1, interval=None, description="d"),
                     thin_series.folder.parent, overwrite=True)
    assert _tree_digest(thin_series.folder) == before


def test_interrupted_write_leaves_nothing(tmp_path, thin_series, monkeypatch):
    s = read_series(thin_series.folder)
    real = dicomio._slice_writer
    calls = []

    def flaky(task):
        calls.append(task)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real(task)

    monkeypatch.setattr(dicomio, "_slice_writer", flaky)
    with pytest.raises(KeyboardInterrupt):
        write_series(s, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thin"]  # no temporary folder left
    # An existing output folder is left as it was.
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old").write_text("old")
    calls.clear()
    with pytest.raises(KeyboardInterrupt):
        write_series(s, tmp_path / "out", overwrite=True)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["old"]


def test_write_rejects_non_finite(tmp_path):
    vol = np.zeros((2, 4, 4), np.float32)
    vol[1, 2, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        write_series(Series.from_array(vol, [0, 1], (1, 1), 1.0), tmp_path / "o")
    assert not (tmp_path / "o").exists()


# --------------------------------------------------------------------------------------
# Derived and synthetic series
# --------------------------------------------------------------------------------------


def test_derive_writes_a_derived_series_of_the_same_study(tmp_path, thin_series):
    s = read_series(thin_series.folder)
    thick_pos = np.array([1.0, -2.0, -0.5])  # any order: sorted by derive
    thick = np.stack([s.volume[k] for k in (5, 1, 3)]) + 0.25
    d = s.derive(thick, thick_pos, thickness=3.0, interval=1.5, description="t2t proposed 3mm/1.5mm")
    assert d.series_uid is None and d.derived
    np.testing.assert_array_equal(d.positions, [-2.0, -0.5, 1.0])
    np.testing.assert_array_equal(d.volume, thick[[1, 2, 0]])
    assert d.header is s.header
    back = read_series(write_series(d, tmp_path / "thick"))
    np.testing.assert_allclose(back.positions, [-2.0, -0.5, 1.0], atol=1e-9)
    np.testing.assert_allclose(back.volume, thick[[1, 2, 0]], atol=0.5)
    assert back.thickness == 3.0 and back.interval == 1.5
    ds = pydicom.dcmread(back.files[0])
    assert ds.SeriesDescription == "t2t proposed 3mm/1.5mm"
    assert ds.SpacingBetweenSlices == 1.5 and ds.SliceThickness == 3.0
    assert ds.StudyInstanceUID == thin_series.study_uid and ds.FrameOfReferenceUID == thin_series.for_uid
    assert ds.SeriesInstanceUID not in (thin_series.series_uid, None)
    assert "DERIVED" in ds.ImageType
    np.testing.assert_allclose([float(v) for v in ds.ImagePositionPatient], [-5.0, -6.0, -2.0])
    with pytest.raises(ValueError, match="shape"):
        s.derive(np.zeros((2, 3, 3)), [0, 1], thickness=1, interval=1, description="x")


def test_derive_follows_a_gantry_tilt(tmp_path, write_ct_series):
    z = np.arange(5) * 2.0
    shear = np.stack([np.zeros(5), 0.5 * z, np.zeros(5)], axis=1)
    w = write_ct_series(tmp_path / "t", np.zeros((5, 4, 4), np.int16), z, shear=shear, origin=(0, 0, 0))
    s = _read_quiet(w.folder)
    d = s.derive(np.zeros((2, 4, 4)), [1.0, 7.0], thickness=3, interval=6, description="x")
    np.testing.assert_allclose(d.ipp, [[0, 0.5, 1.0], [0, 3.5, 7.0]], atol=1e-9)
    assert d.gantry_tilt_deg == pytest.approx(np.degrees(np.arctan(0.5)), abs=1e-6)


def test_from_array_virtual_series(tmp_path):
    vol = np.arange(3 * 4 * 5, dtype=np.float32).reshape(3, 4, 5) - 30
    study, frame = generate_uid(), generate_uid()
    extra = {"ConvolutionKernel": "B45f", "KVP": 120, "Exposure": 200, "Manufacturer": "t2t virtual CT"}
    thin = Series.from_array(vol, [2.0, 0.0, 1.0], (0.8, 0.9), 1.0, interval=1.0, patient_id="V001",
                             study_uid=study, frame_of_reference_uid=frame, description="virtual thin", extra=extra)
    thick = Series.from_array(vol[:2], [0.0, 3.0], (0.8, 0.9), 3.0, patient_id="V001",
                              study_uid=study, frame_of_reference_uid=frame, description="virtual thick")
    np.testing.assert_array_equal(thin.positions, [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(thin.volume, vol[[1, 2, 0]])
    # Default in-plane origin: the image centred on 0.
    np.testing.assert_allclose(thin.origin, [-(5 - 1) / 2 * 0.9, -(4 - 1) / 2 * 0.8, 0.0])
    a = read_series(write_series(thin, tmp_path / "thin"))
    b = read_series(write_series(thick, tmp_path / "thick"))
    np.testing.assert_array_equal(a.volume, vol[[1, 2, 0]])
    assert a.header.StudyInstanceUID == b.header.StudyInstanceUID == study
    assert a.header.FrameOfReferenceUID == b.header.FrameOfReferenceUID == frame
    assert a.series_uid != b.series_uid
    for f in a.files:
        ds = pydicom.dcmread(f)
        assert (ds.ConvolutionKernel, ds.KVP, ds.Exposure, ds.Manufacturer) == ("B45f", 120, 200, "t2t virtual CT")
        assert ds.PatientID == "V001" and ds.PixelSpacing == [0.8, 0.9]
    with pytest.raises(ValueError, match="not a DICOM keyword"):
        Series.from_array(vol, [0, 1, 2], (1, 1), 1.0, extra={"NotAKeyword": 1})
    with pytest.raises(ValueError, match="strictly increasing"):
        Series.from_array(vol, [0, 1, 1], (1, 1), 1.0)


# --------------------------------------------------------------------------------------
# Parallel paths, list_series
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_parallel_modes_give_the_same_result(tmp_path, thin_series, monkeypatch, force_parallel, mode):
    monkeypatch.setitem(dicomio.PARALLEL, "scan", mode)
    monkeypatch.setitem(dicomio.PARALLEL, "decode", mode)
    monkeypatch.setitem(dicomio.PARALLEL, "write", mode)
    (thin_series.folder / "junk.txt").write_text("x")
    with pytest.warns(SeriesWarning, match="1 not DICOM"):
        s = read_series(thin_series.folder)
    np.testing.assert_array_equal(s.volume, thin_series.hu)
    out = write_series(s, tmp_path / "out")
    back = read_series(out)
    np.testing.assert_array_equal(back.volume, thin_series.hu)
    np.testing.assert_allclose(back.positions, thin_series.positions)


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


# --------------------------------------------------------------------------------------
# dcm2niix converts what we write, with the same geometry
# --------------------------------------------------------------------------------------


def _nifti_header(path: pathlib.Path) -> dict:
    raw = path.read_bytes()
    assert struct.unpack("<i", raw[:4])[0] == 348, "not a little-endian NIfTI-1 file"
    dim = struct.unpack("<8h", raw[40:56])
    datatype = struct.unpack("<h", raw[70:72])[0]
    pixdim = struct.unpack("<8f", raw[76:108])
    vox_offset = struct.unpack("<f", raw[108:112])[0]
    scl_slope, scl_inter = struct.unpack("<2f", raw[112:120])
    srow = np.array(struct.unpack("<12f", raw[280:328]), dtype=np.float64).reshape(3, 4)
    dtype = {4: "<i2", 512: "<u2", 16: "<f4"}[datatype]
    n = int(np.prod(dim[1 : 1 + dim[0]]))
    data = np.frombuffer(raw, dtype=dtype, count=n, offset=int(vox_offset))
    return dict(dim=dim, pixdim=pixdim, srow=srow, data=data, slope=scl_slope, inter=scl_inter)


@pytest.mark.dcm2niix
@pytest.mark.skipif(shutil.which("dcm2niix") is None, reason="dcm2niix not installed (Debian package dcm2niix)")
def test_dcm2niix_converts_written_series_without_geometry_warnings(tmp_path):
    rng = np.random.default_rng(7)
    vol = rng.normal(0, 300, size=(12, 20, 24)).astype(np.float32)
    pos = -40.0 + np.arange(12) * 1.25
    s = Series.from_array(vol, pos, (0.7, 0.6), 2.5, interval=1.25, description="t2t proposed 2.5mm/1.25mm")
    out = write_series(s, tmp_path / "dcm")
    nii = tmp_path / "nii"
    nii.mkdir()
    proc = subprocess.run(
        ["dcm2niix", "-z", "n", "-b", "n", "-o", str(nii), "-f", "vol", str(out)],
        capture_output=True, text=True, timeout=120,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log
    # dcm2niix warns about an unknown manufacturer (no vendor tuning) and an empty
    # ProtocolName; nothing else (geometry: spacing, orientation, tilt, positions) is allowed.
    benign = ("Unable to determine manufacturer", "Empty protocol name")
    warn_lines = [ln for ln in log.splitlines() if "warning" in ln.lower() and not any(b in ln for b in benign)]
    assert warn_lines == [], log
    files = list(nii.glob("*.nii"))
    assert len(files) == 1, log
    h = _nifti_header(files[0])
    assert h["dim"][:4] == (3, 24, 20, 12)  # X, Y, Z
    np.testing.assert_allclose(h["pixdim"][1:4], (0.6, 0.7, 1.25), rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(h["srow"][:, :3], axis=0), (0.6, 0.7, 1.25), rtol=1e-5)
    # The same HU: dcm2niix applies our RescaleSlope/Intercept through scl_slope/scl_inter.
    hu = h["data"].astype(np.float64) * (h["slope"] or 1.0) + h["inter"]
    assert hu.size == vol.size
    np.testing.assert_allclose(np.sort(hu), np.sort(vol.ravel().astype(np.float64)), atol=0.5)
    # And the slice positions: NIfTI z (LPS -> RAS keeps z) of the first and last slices.
    z_first = h["srow"][2, 3]
    z_step = h["srow"][2, 2]
    np.testing.assert_allclose(sorted([z_first, z_first + 11 * z_step]), [pos[0], pos[-1]], atol=1e-3)


# --------------------------------------------------------------------------------------
# The fast header parser agrees with pydicom
# --------------------------------------------------------------------------------------


def test_fast_header_parser_matches_pydicom(tmp_path, thin_series, ct_slice):
    # pydicom's own test files (sequences, private tags, implicit VR, no meta, big endian,
    # deflated, compressed, truncated...) plus ours: every record must be identical whether
    # the header is parsed by the fast parser or by pydicom.
    corpus = [p for p in (pathlib.Path(pydicom.__file__).parent / "data" / "test_files").rglob("*") if p.is_file()]
    corpus += thin_series.files
    uid = dict(study_uid=generate_uid(), for_uid=generate_uid(), series_uid=generate_uid())
    ds = ct_slice(np.ones((40, 40), np.uint16), ipp=(0, 0, 0), description="Ünïcode", **uid)
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.compress(RLELossless)
    ds.save_as(tmp_path / "rle_latin1", enforce_file_format=True)
    cut = thin_series.files[1].read_bytes()
    for n in (100, 400, 900, len(cut) - 10):
        (tmp_path / f"cut{n}").write_bytes(cut[:n])
    corpus += sorted(tmp_path.glob("rle_latin1")) + sorted(tmp_path.glob("cut*"))
    assert len(corpus) > 100
    fast_parsed = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in corpus:
            fast = dicomio._scan_file(str(path), fast=True)
            slow = dicomio._scan_file(str(path), fast=False)
            fast.pop("error", None)
            slow.pop("error", None)
            assert fast == slow, path
            try:
                dicomio._fast_header(str(path), path.stat().st_size)
                fast_parsed += 1
            except dicomio._Fallback:
                pass
    assert fast_parsed > 0.7 * len(corpus)
    rec = dicomio._scan_file(str(tmp_path / "rle_latin1"))
    assert rec["description"] == "Ünïcode" and rec["decode"] == "pydicom"
