"""Tests of t2tcore.io.dispatch: the format of a series follows its path."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import t2tcore
from t2tcore.io import (
    DicomWriteError,
    NiftiReadError,
    NiftiWriteError,
    check_output_dir,
    is_nifti_path,
    list_series,
    read_series,
    write_series,
)
from tests.io.helpers import _read_quiet


def test_top_level_names_are_the_dispatching_ones(tmp_path, thin_series):
    assert t2tcore.read_series is read_series and t2tcore.write_series is write_series
    dicom = t2tcore.read_series(thin_series.folder)
    out = t2tcore.write_series(dicom, tmp_path / "thin.nii.gz")
    nii = t2tcore.read_series(out)
    np.testing.assert_array_equal(nii.volume, dicom.volume)
    back = t2tcore.read_series(t2tcore.write_series(nii, tmp_path / "dicom_again"))  # NIfTI -> DICOM
    np.testing.assert_array_equal(back.volume, dicom.volume)
    np.testing.assert_allclose(back.positions, dicom.positions, atol=1e-5)
    assert back.thickness == 1.0 and back.header.FrameOfReferenceUID  # a new frame: NIfTI has none


def test_a_folder_with_a_nifti_name_is_a_dicom_folder(tmp_path, thin_series):
    folder = tmp_path / "odd.nii"
    shutil.copytree(thin_series.folder, folder)
    assert not is_nifti_path(folder) and is_nifti_path(tmp_path / "a.NII.GZ")
    np.testing.assert_array_equal(read_series(folder).volume, thin_series.hu)


def test_thickness_override_and_series_uid(tmp_path, thin_series):
    s = read_series(thin_series.folder, thickness=1.25)
    assert s.thickness == 1.25 and any("1.25 mm given" in n for n in s.notes)
    out = write_series(_read_quiet(thin_series.folder), tmp_path / "t.nii.gz")
    with pytest.raises(NiftiReadError, match="holds one series"):
        read_series(out, series_uid="1.2.3")
    with pytest.raises(ValueError, match="thickness must be > 0"):
        read_series(out, thickness=0.0)


def test_check_output_dir_follows_the_name(tmp_path, thin_series):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(DicomWriteError, match="not empty"):
        check_output_dir(tmp_path / "full")
    (tmp_path / "v.nii.gz").write_bytes(b"")
    with pytest.raises(NiftiWriteError, match="exists"):
        check_output_dir(tmp_path / "v.nii.gz")
    assert check_output_dir(tmp_path / "v.nii.gz", overwrite=True) == (tmp_path / "v.nii.gz").absolute()
    with pytest.raises(DicomWriteError, match="holds the input"):
        check_output_dir(thin_series.folder, overwrite=True, inputs=[thin_series.folder])


def test_list_series_of_a_nifti_file(tmp_path, thin_series):
    out = write_series(_read_quiet(thin_series.folder), tmp_path / "t.nii")
    infos = list_series(out)
    assert [i.uid for i in infos] == ["t.nii"] and infos[0].n_slices == 8
