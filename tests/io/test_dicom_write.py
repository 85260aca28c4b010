"""Tests of t2tcore.io.dicom_write: writing a DICOM series with pydicom (tiny data made here)."""

from __future__ import annotations

import io
import pathlib
import struct
import subprocess

import numpy as np
import pydicom
import pytest
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian

from t2tcore.io import DicomWriteError, Series, _parallel, dicom_write, read_series, write_series
from tests.io.helpers import _read_quiet, _tree_digest


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


def _pydicom_encoding(path: pathlib.Path) -> bytes:
    """What pydicom's dcmwrite makes of the data set in ``path`` when every element is
    encoded again from its value (not copied as the raw bytes that dcmread keeps)."""
    ds = pydicom.dcmread(path)
    fresh = Dataset()
    for elem in ds:  # iterating converts every raw element to its value
        fresh.add(DataElement(elem.tag, elem.VR, elem.value))
    fresh.file_meta = FileMetaDataset()
    for elem in ds.file_meta:
        if elem.keyword != "FileMetaInformationGroupLength":  # dcmwrite computes it
            fresh.file_meta.add(DataElement(elem.tag, elem.VR, elem.value))
    buf = io.BytesIO()
    pydicom.dcmwrite(buf, fresh, enforce_file_format=True)
    return buf.getvalue()


def test_written_files_are_exactly_what_pydicom_writes(tmp_path, thin_series):
    # The writer encodes the elements shared by the slices once and splices the per-slice
    # ones in between; each file must be byte-identical to pydicom's own encoding of the
    # same data set from its values (text in the series' character set included).
    vol = np.random.default_rng(5).normal(0, 200, (3, 6, 5)).astype(np.float32)
    s = Series.from_array(vol, [0.0, 1.25, 2.5], (0.5, 0.5), 1.25, interval=1.25, patient_name="Müller^Jörg",
                          description="écho", extra={"ConvolutionKernel": "B30f", "KVP": 120})
    out = write_series(s, tmp_path / "o")
    # and a series derived from one read from files (its header copied from them)
    thin = read_series(thin_series.folder)
    out2 = write_series(thin.derive(thin.volume[::2], thin.positions[::2], thickness=2.5, interval=None,
                                    description="d"), tmp_path / "o2")
    files = sorted(out.iterdir()) + sorted(out2.iterdir())
    assert len(files) == 3 + 4
    for f in files:
        assert f.read_bytes() == _pydicom_encoding(f), f.name
    ds = pydicom.dcmread(sorted(out.iterdir())[0])
    assert str(ds.PatientName) == "Müller^Jörg" and ds.SeriesDescription == "écho"
    assert [int(pydicom.dcmread(f).InstanceNumber) for f in sorted(out2.iterdir())] == [1, 2, 3, 4]


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_parallel_writers_write_the_same_bytes(tmp_path, monkeypatch, force_parallel, mode):
    # Worker threads or processes share the encoded runs: every file is still pydicom's
    # encoding of its own data set (its own UIDs, position and pixels).
    monkeypatch.setitem(_parallel.PARALLEL, "write", mode)
    vol = np.random.default_rng(8).normal(0, 300, (9, 6, 5)).astype(np.float32)
    s = Series.from_array(vol, np.arange(9) * 1.5, (0.5, 0.5), 1.5, patient_name="Ærø^Åse")
    out = write_series(s, tmp_path / "o")
    files = sorted(out.iterdir())
    assert len(files) == 9
    for f in files:
        assert f.read_bytes() == _pydicom_encoding(f), f.name
    back = read_series(out)
    np.testing.assert_allclose(back.volume, np.rint(vol), atol=0)
    assert len({pydicom.dcmread(f).SOPInstanceUID for f in files}) == 9


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
    with pytest.raises(DicomWriteError, match=r"holds files t2t did not write \(keep.txt\)"):
        write_series(s, out, overwrite=True)  # not a series t2t wrote: never replaced
    (out / "keep.txt").unlink()
    write_series(s, out)
    write_series(s, out, overwrite=True)  # t2t's own series: replaced
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
    real = dicom_write._slice_writer
    calls = []

    def flaky(task):
        calls.append(task)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real(task)

    monkeypatch.setattr(dicom_write, "_slice_writer", flaky)
    with pytest.raises(KeyboardInterrupt):
        write_series(s, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thin"]  # no temporary folder left
    # An existing output folder is left as it was.
    write_series(s, tmp_path / "out")
    old = _tree_digest(tmp_path / "out")
    calls.clear()
    with pytest.raises(KeyboardInterrupt):
        write_series(s, tmp_path / "out", overwrite=True)
    assert _tree_digest(tmp_path / "out") == old


def test_write_rejects_non_finite(tmp_path):
    vol = np.zeros((2, 4, 4), np.float32)
    vol[1, 2, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        write_series(Series.from_array(vol, [0, 1], (1, 1), 1.0), tmp_path / "o")
    assert not (tmp_path / "o").exists()


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
def test_dcm2niix_converts_written_series_without_geometry_warnings(tmp_path, dcm2niix):
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
