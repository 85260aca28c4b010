"""Tests of t2tcore.io.dicom_read: reading one DICOM series (sorting, rescaling, decoding,
gaps and tilt reported; tiny data made here)."""

from __future__ import annotations

import pathlib
import struct
import warnings

import numpy as np
import pydicom
import pytest
from pydicom.encaps import encapsulate
from pydicom.uid import JPEG2000Lossless, JPEGLosslessSV1, RLELossless, generate_uid

from t2tcore.errors import SeriesWarning, T2TError
from t2tcore.io import MissingDecoderError, _parallel, list_series, read_series, write_series
from t2tcore.io.dicom_read import _decode_pixels, _native_dtype
from t2tcore.io.dicom_scan import _scan_file
from tests.io.helpers import _read_quiet, _series_warnings


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


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_compressed_series_decoded_in_parallel(tmp_path, ct_slice, monkeypatch, force_parallel, mode):
    monkeypatch.setitem(_parallel.PARALLEL, "decode_compressed", mode)
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


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_parallel_modes_give_the_same_result(tmp_path, thin_series, monkeypatch, force_parallel, mode):
    monkeypatch.setitem(_parallel.PARALLEL, "scan", mode)
    monkeypatch.setitem(_parallel.PARALLEL, "decode", mode)
    monkeypatch.setitem(_parallel.PARALLEL, "write", mode)
    (thin_series.folder / "junk.txt").write_text("x")
    with pytest.warns(SeriesWarning, match="1 not DICOM"):
        s = read_series(thin_series.folder)
    np.testing.assert_array_equal(s.volume, thin_series.hu)
    out = write_series(s, tmp_path / "out")
    back = read_series(out)
    np.testing.assert_array_equal(back.volume, thin_series.hu)
    np.testing.assert_allclose(back.positions, thin_series.positions)



@pytest.mark.parametrize(
    "bits_alloc,bits_stored,signed,photometric,implicit",
    [
        (8, 8, False, "MONOCHROME2", False),
        (8, 6, True, "MONOCHROME1", False),  # signed 6 bits in bytes, garbage above
        (16, 12, True, "MONOCHROME2", True),  # Implicit VR Little Endian
        (16, 10, False, "MONOCHROME1", False),
        (32, 32, True, "MONOCHROME2", False),
        (32, 20, True, "MONOCHROME2", True),
    ],
)
def test_native_pixels_read_with_numpy_match_pydicom(tmp_path, ct_slice, bits_alloc, bits_stored, signed,
                                                      photometric, implicit):
    # Native little-endian grey pixels are read with numpy from the offset pydicom reported
    # (not through pydicom's decoder): the stored values must be pydicom's pixel_array,
    # unused high bits ignored and signed values sign-extended as pydicom does.
    rng = np.random.default_rng(bits_alloc * 100 + bits_stored)
    dtype = np.dtype(f"<{'i' if signed else 'u'}{bits_alloc // 8}")
    raw = rng.integers(0, 1 << bits_alloc, size=(5, 7), dtype=np.uint64).astype(dtype.str.replace("i", "u"))
    ds = ct_slice(np.zeros((5, 7), np.int16), ipp=(0, 0, 0), series_uid=generate_uid(), study_uid=generate_uid(),
                  for_uid=generate_uid())
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = bits_alloc, bits_stored, bits_stored - 1
    ds.PixelRepresentation = int(signed)
    ds.PhotometricInterpretation = photometric
    ds.PixelData = raw.tobytes() + (b"\0" if raw.nbytes % 2 else b"")
    ds["PixelData"].VR = "OB" if bits_alloc == 8 else "OW"
    if implicit:
        ds.file_meta.TransferSyntaxUID = pydicom.uid.ImplicitVRLittleEndian
    path = tmp_path / "one.dcm"
    ds.save_as(path, enforce_file_format=True)
    rec = _scan_file(str(path))
    assert rec["kind"] == "image" and _native_dtype(rec) == dtype
    got = _decode_pixels(rec)
    expected = pydicom.dcmread(path).pixel_array
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)
    if bits_stored < bits_alloc:  # and that is not simply the bytes as they are
        assert not np.array_equal(got, raw.view(dtype))


# --------------------------------------------------------------------------------------
# pydicom's own test files: our decoding agrees with pydicom's
# --------------------------------------------------------------------------------------


def test_decoding_matches_pydicom_on_its_test_files():
    # Every file of pydicom's test corpus (implicit/explicit VR, big endian, deflated, no
    # preamble, compressed syntaxes, truncated, odd bit depths...) that the scan accepts as a
    # single-frame greyscale image is decoded from the file offset pydicom reported; the
    # stored values must equal pydicom's own pixel_array of the whole data set.
    corpus = sorted(p for p in (pathlib.Path(pydicom.__file__).parent / "data" / "test_files").rglob("*") if p.is_file())
    assert len(corpus) > 100
    compared = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in corpus:
            rec = _scan_file(str(path))
            if rec["kind"] != "image":
                continue
            try:
                expected = pydicom.dcmread(path).pixel_array
            except Exception:  # noqa: BLE001 - pydicom cannot decode the whole data set (no plugin, a bad value)
                continue
            np.testing.assert_array_equal(_decode_pixels(rec), expected, err_msg=str(path))
            compared += 1
    assert compared >= 20
