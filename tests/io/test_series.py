"""Tests of t2tcore.io.series: derived and synthetic series and their geometry."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pydicom.uid import generate_uid

from t2tcore.io import Series, read_series, write_series
from tests.io.helpers import _read_quiet


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
