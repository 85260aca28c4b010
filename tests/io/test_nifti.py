"""Tests of t2tcore.io.nifti: NIfTI volumes in and out as the same Series as DICOM.

Independent truth: nibabel's own affine (world coordinates of every voxel), SimpleITK's
reading of our files (LPS origin, direction and spacing), dcm2niix's conversion of a DICOM
series made here, and our DICOM reader.
"""

from __future__ import annotations

import json
import subprocess
import warnings

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk
from nibabel.affines import apply_affine

from t2tcore.errors import SeriesWarning, T2TError
from t2tcore.io import (
    NiftiReadError,
    NiftiWriteError,
    Series,
    check_output_dir,
    read_series,
    scan_folder,
    sidecar_path,
    write_series,
)
from t2tcore.io import nifti
from tests.io.helpers import _read_quiet, _tree_digest

LPS = np.array([-1.0, -1.0, 1.0])


def _world_lps(s: Series) -> np.ndarray:
    """World (LPS, mm) of every voxel of a series, shape (Z, Y, X, 3), from its DICOM geometry."""
    z, y, x = np.meshgrid(*(np.arange(n) for n in s.shape), indexing="ij")
    dy, dx = s.pixel_spacing
    row, col = s.orientation[:3], s.orientation[3:]
    return s.ipp[z] + (x * dx)[..., None] * row + (y * dy)[..., None] * col


def _rotation(axis: int, deg: float) -> np.ndarray:
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    i, j = [a for a in range(3) if a != axis]
    r = np.eye(3)
    r[i, i], r[i, j], r[j, i], r[j, j] = c, -s, s, c
    return r


def _affine(columns, origin) -> np.ndarray:
    a = np.eye(4)
    a[:3, :3] = np.asarray(columns, dtype=np.float64).T
    a[:3, 3] = origin
    return a


def _save(path, data, affine, **header) -> None:
    img = nib.Nifti1Image(data, affine)
    img.set_sform(affine, code=1)
    img.set_qform(affine, code=1)
    img.header.set_xyzt_units(header.pop("unit", "mm"))
    for key, value in header.items():
        img.header[key] = value
    nib.save(img, str(path))


# --------------------------------------------------------------------------------------
# Reading: geometry of any affine
# --------------------------------------------------------------------------------------


_AFFINES = {
    # RAS columns of the i, j, k axes (mm per voxel) and the origin
    "RAS+ axial": ([(0.7, 0, 0), (0, 0.8, 0), (0, 0, 2.0)], (-10, 20, -30)),
    "dcm2niix-like (x to the right, rows flipped)": ([(-0.7, 0, 0), (0, 0.8, 0), (0, 0, 2.0)], (10, -20, 5)),
    "slices stored head to feet": ([(0.7, 0, 0), (0, 0.8, 0), (0, 0, -2.0)], (0, 0, 40)),
    "LPS-stored, everything reversed": ([(-0.7, 0, 0), (0, -0.8, 0), (0, 0, -2.0)], (3, 4, 5)),
    "oblique 30 deg about x": (list((_rotation(0, 30) @ np.diag([0.7, 0.8, 2.0])).T), (1, 2, 3)),
    "oblique about two axes": (list((_rotation(2, 20) @ _rotation(0, -35) @ np.diag([0.6, 0.6, 1.5])).T), (0, 0, 0)),
    "coronal slices": ([(0.7, 0, 0), (0, 0, -0.8), (0, 2.0, 0)], (0, 0, 0)),
    "in-plane axes swapped": ([(0, 0.8, 0), (0.7, 0, 0), (0, 0, 2.0)], (5, 5, 5)),
}


@pytest.mark.parametrize("name", list(_AFFINES))
def test_every_voxel_keeps_its_world_position(tmp_path, name):
    columns, origin = _AFFINES[name]
    affine = _affine(columns, origin)
    data = np.random.default_rng(0).integers(-1000, 1000, size=(5, 6, 4)).astype(np.int16)  # (i, j, k)
    path = tmp_path / "v.nii.gz"
    _save(path, data, affine)
    s = read_series(path, thickness=2.0)
    assert s.volume.dtype == np.float32 and sorted(s.shape) == sorted(data.shape)
    assert np.all(np.diff(s.positions) > 0)
    np.testing.assert_allclose(s.positions, s.ipp @ s.normal, atol=1e-9)
    row, col = s.orientation[:3], s.orientation[3:]
    assert abs(row @ col) < 1e-6 and np.linalg.norm(row) == pytest.approx(1) and np.linalg.norm(col) == pytest.approx(1)
    # Map each voxel of the series to the world and back through nibabel's inverse affine:
    # it must land on a voxel of the file that holds the same value.
    ijk = apply_affine(np.linalg.inv(affine), _world_lps(s) * LPS)
    np.testing.assert_allclose(ijk, np.rint(ijk), atol=1e-4)
    i, j, k = np.rint(ijk).astype(int).transpose(3, 0, 1, 2)
    np.testing.assert_array_equal(s.volume, data[i, j, k])
    assert not s.irregular and s.gantry_tilt_deg == 0.0


def test_axial_ras_reads_with_the_usual_dicom_orientation(tmp_path):
    _save(tmp_path / "a.nii", np.zeros((4, 3, 2), np.int16), _affine(*_AFFINES["RAS+ axial"]))
    s = read_series(tmp_path / "a.nii", thickness=2.0)
    np.testing.assert_allclose(s.orientation, [1, 0, 0, 0, 1, 0], atol=1e-7)
    assert s.pixel_spacing == (0.8, 0.7) and s.shape == (2, 3, 4)
    np.testing.assert_allclose(s.positions, [-30.0, -28.0])


def test_shear_is_rejected(tmp_path):
    columns = [(0.7, 0, 0), (0.2, 0.8, 0), (0, 0, 2.0)]  # rows and columns not perpendicular
    _save(tmp_path / "s.nii.gz", np.zeros((3, 3, 3), np.int16), _affine(columns, (0, 0, 0)))
    with pytest.raises(NiftiReadError, match="not perpendicular") as err:
        read_series(tmp_path / "s.nii.gz", thickness=1.0)
    assert isinstance(err.value, T2TError)


def test_tilted_slice_axis_is_reported_as_tilt_and_written_back(tmp_path):
    # Slices move 0.5 mm in y per 2 mm in z: a sheared stack, as a tilted gantry makes it.
    columns = [(0.7, 0, 0), (0, 0.8, 0), (0, 0.5, 2.0)]
    data = np.arange(4 * 3 * 5, dtype=np.int16).reshape(4, 3, 5)
    path = tmp_path / "t.nii.gz"
    img = nib.Nifti1Image(data, _affine(columns, (0, 0, 0)))
    img.set_sform(img.affine, code=1)
    nib.save(img, str(path))
    with pytest.warns(SeriesWarning, match="gantry tilt"):
        s = read_series(path, thickness=2.0)
    assert s.gantry_tilt_deg == pytest.approx(np.degrees(np.arctan2(0.5, 2.0)), abs=1e-4)
    np.testing.assert_allclose(s.positions, [0, 2, 4, 6, 8], atol=1e-6)  # distances between planes
    out = write_series(s, tmp_path / "back.nii.gz")
    written = nib.load(str(out))
    assert int(written.header["qform_code"]) == 0 and int(written.header["sform_code"]) == 1
    with pytest.warns(SeriesWarning, match="gantry tilt"):
        back = read_series(out)
    np.testing.assert_allclose(back.ipp, s.ipp, atol=1e-5)
    np.testing.assert_array_equal(back.volume, s.volume)


def test_scl_slope_inter_and_units_are_applied(tmp_path):
    stored = np.arange(24, dtype=np.int16).reshape(4, 3, 2)
    path = tmp_path / "scaled.nii.gz"
    img = nib.Nifti1Image(stored, _affine([(0.0007, 0, 0), (0, 0.0008, 0), (0, 0, 0.002)], (0, 0, 0.01)))
    img.header.set_slope_inter(2.0, -1024.0)
    img.header.set_xyzt_units("meter")
    nib.save(img, str(path))
    s = read_series(path, thickness=2.0)
    # RAS+ i and j run against DICOM's row and column directions (+x, +y in LPS): both reversed
    np.testing.assert_array_equal(s.volume, (stored * 2.0 - 1024.0).transpose(2, 1, 0)[:, ::-1, ::-1])
    assert s.pixel_spacing == (0.8, 0.7)
    np.testing.assert_allclose(s.positions, [10.0, 12.0], atol=1e-6)


@pytest.mark.parametrize("shape,ok", [((4, 3, 2, 1), True), ((4, 3, 2, 2), False), ((4, 3), True)])
def test_dimensions(tmp_path, shape, ok):
    path = tmp_path / "d.nii"
    _save(path, np.zeros(shape, np.int16), _affine(*_AFFINES["RAS+ axial"]))
    if ok:
        assert read_series(path, thickness=1.0).shape[1:] == (3, 4)
    else:
        with pytest.raises(NiftiReadError, match="one 3-D volume"):
            read_series(path, thickness=1.0)


def test_bad_files_are_one_clear_error(tmp_path):
    with pytest.raises(NiftiReadError, match="no such file"):
        read_series(tmp_path / "missing.nii.gz")
    (tmp_path / "junk.nii.gz").write_bytes(b"not a nifti file at all")
    with pytest.raises(NiftiReadError, match="not a readable NIfTI"):
        read_series(tmp_path / "junk.nii.gz")


# --------------------------------------------------------------------------------------
# Slice thickness: argument, sidecar, or the spacing with a warning
# --------------------------------------------------------------------------------------


def test_thickness_from_argument_sidecar_or_spacing(tmp_path):
    path = tmp_path / "case.nii.gz"
    _save(path, np.zeros((4, 3, 3), np.int16), _affine(*_AFFINES["RAS+ axial"]))
    with pytest.warns(SeriesWarning, match="using the slice spacing, 2 mm"):
        assert read_series(path).thickness == 2.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_series(path, thickness=3.0).thickness == 3.0
        (tmp_path / "case.json").write_text(json.dumps({"SliceThickness": 2.5, "SeriesDescription": "thin B30"}))
        s = read_series(path)
    assert s.thickness == 2.5 and s.description == "thin B30"
    assert read_series(path, thickness=1.0).thickness == 1.0  # the argument wins
    (tmp_path / "case.json").write_text("{not json")
    with pytest.raises(NiftiReadError, match="sidecar"):
        read_series(path)


# --------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------


def test_dicom_to_nifti_round_trip(tmp_path, thin_series):
    before = _tree_digest(thin_series.folder)
    dicom = read_series(thin_series.folder)
    out = write_series(dicom, tmp_path / "thin.nii.gz")
    assert out == (tmp_path / "thin.nii.gz").absolute() and sidecar_path(out).is_file()
    assert _tree_digest(thin_series.folder) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thin", "thin.json", "thin.nii.gz"]  # no temporary files
    back = read_series(out)
    np.testing.assert_array_equal(back.volume, dicom.volume)  # integer HU: exact in int16
    np.testing.assert_allclose(back.positions, dicom.positions, atol=1e-5)
    np.testing.assert_allclose(back.ipp, dicom.ipp, atol=1e-5)
    np.testing.assert_allclose(back.orientation, dicom.orientation, atol=1e-7)
    assert back.pixel_spacing == dicom.pixel_spacing and back.thickness == 1.0
    assert back.description == "thin" and back.files == (out,)
    meta = json.loads(sidecar_path(out).read_text())
    assert meta["SliceThickness"] == 1.0 and meta["SpacingBetweenSlices"] == pytest.approx(0.8)
    assert meta["PixelSpacing"] == [0.7, 0.6] and meta["ConvolutionKernel"] == "B30f"
    assert nib.load(str(out)).get_data_dtype() == np.int16


def test_nibabel_and_simpleitk_see_the_geometry_we_wrote(tmp_path):
    rng = np.random.default_rng(3)
    vol = rng.normal(0, 300, size=(5, 7, 6)).astype(np.float32)
    orient = np.concatenate([_rotation(2, 15)[:, 0], (_rotation(2, 15) @ _rotation(0, 30))[:, 1]])
    s = Series.from_array(vol, [4.5, 0.0, 1.5, 3.0, 6.0], (0.8, 0.6), 1.5,
                          orientation=orient, origin_xy=(-20.0, 10.0), description="oblique")
    out = write_series(s, tmp_path / "o.nii.gz")
    img = nib.load(str(out))
    # A series that is not from a NIfTI file is stored in dcm2niix's voxel order: i along the
    # DICOM rows, j the row index reversed, k the slices ascending along the normal.
    stored = np.asarray(img.dataobj)
    np.testing.assert_allclose(stored.transpose(2, 1, 0)[:, ::-1, :], np.rint(s.volume))
    # nibabel: every stored voxel sits where the series says its value is (RAS = LPS with x, y negated).
    world = _world_lps(s) * LPS  # (Z, Y, X, 3)
    i, j, k = np.meshgrid(*(np.arange(n) for n in stored.shape), indexing="ij")
    z, y, x = k, stored.shape[1] - 1 - j, i
    np.testing.assert_allclose(apply_affine(img.affine, np.stack([i, j, k], -1)), world[z, y, x], atol=1e-4)
    # SimpleITK (LPS): the same, index by index, and the spacing.
    im = sitk.ReadImage(str(out))
    arr = sitk.GetArrayFromImage(im)  # (k, j, i)
    for kk, jj, ii in [(0, 0, 0), (4, 6, 5), (2, 3, 1), (1, 0, 5)]:
        point = im.TransformIndexToPhysicalPoint((ii, jj, kk))
        np.testing.assert_allclose(point, world[kk, stored.shape[1] - 1 - jj, ii] * LPS, atol=1e-4)
        assert arr[kk, jj, ii] == np.rint(s.volume[kk, stored.shape[1] - 1 - jj, ii])
    np.testing.assert_allclose(im.GetSpacing(), (0.6, 0.8, 1.5), atol=1e-5)


def test_float32_keeps_values_and_int16_rounds(tmp_path):
    vol = np.random.default_rng(4).uniform(-1000, 1000, size=(3, 4, 5)).astype(np.float32)
    s = Series.from_array(vol, [0.0, 1.0, 2.0], (1.0, 1.0), 1.0)
    exact = nifti.write_nifti(s, tmp_path / "f.nii", dtype="float32")
    np.testing.assert_array_equal(read_series(exact).volume, vol)
    rounded = read_series(write_series(s, tmp_path / "i.nii.gz")).volume
    assert np.abs(rounded - vol).max() <= 0.5 + 1e-4 and np.all(rounded == np.rint(rounded))
    wide = vol * 100.0  # beyond int16: nibabel stores it with scl_slope
    back = read_series(write_series(Series.from_array(wide, [0.0, 1.0, 2.0], (1.0, 1.0), 1.0), tmp_path / "w.nii.gz"))
    slope = nib.load(str(tmp_path / "w.nii.gz")).dataobj.slope
    assert slope > 1 and np.abs(back.volume - wide).max() <= 0.5 * slope * (1 + 1e-6) + 1e-3


def test_write_guards(tmp_path, thin_series):
    s = _read_quiet(thin_series.folder)
    out = write_series(s, tmp_path / "o.nii.gz")
    with pytest.raises(NiftiWriteError, match="exists.*--overwrite"):
        write_series(s, out)
    write_series(s, out, overwrite=True)
    (tmp_path / "o.nii.gz").unlink()
    with pytest.raises(NiftiWriteError, match="o.json: exists"):  # a lone sidecar is not replaced silently
        write_series(s, out)
    nii = read_series(write_series(s, tmp_path / "n.nii.gz"))
    with pytest.raises(NiftiWriteError, match="is the input"):
        write_series(nii, tmp_path / "n.nii.gz", overwrite=True)
    with pytest.raises(NiftiWriteError, match="inside it"):
        check_output_dir(thin_series.folder / "x.nii.gz", inputs=[thin_series.folder])
    (tmp_path / "dir.nii.gz").mkdir()
    with pytest.raises(NiftiWriteError, match="is a folder"):
        write_series(s, tmp_path / "dir.nii.gz")
    irregular = s.derive(s.volume[:3], [0.0, 1.0, 3.0], thickness=1.0, interval=None, description="gap")
    with pytest.raises(NiftiWriteError, match="not evenly spaced"):
        write_series(irregular, tmp_path / "gap.nii.gz")
    bad = s.derive(np.full(s.shape, np.nan, np.float32), s.positions, thickness=1.0, interval=None, description="nan")
    with pytest.raises(ValueError, match="NaN"):
        write_series(bad, tmp_path / "nan.nii.gz")
    assert not (tmp_path / "gap.nii.gz").exists() and not (tmp_path / "nan.nii.gz").exists()


def test_interrupted_write_leaves_nothing(tmp_path, thin_series, monkeypatch):
    s = _read_quiet(thin_series.folder)
    write_series(s, tmp_path / "keep.nii.gz")
    before = _tree_digest(tmp_path / "thin") | {"keep": (tmp_path / "keep.nii.gz").read_bytes()}

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(nib, "save", boom)
    with pytest.raises(KeyboardInterrupt):
        write_series(s, tmp_path / "keep.nii.gz", overwrite=True)
    with pytest.raises(KeyboardInterrupt):
        write_series(s, tmp_path / "new.nii.gz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.json", "keep.nii.gz", "thin"]
    assert (_tree_digest(tmp_path / "thin") | {"keep": (tmp_path / "keep.nii.gz").read_bytes()}) == before


def test_scan_folder_describes_a_nifti_file(tmp_path, thin_series):
    out = write_series(_read_quiet(thin_series.folder), tmp_path / "thin.nii.gz")
    scan = scan_folder(out)
    assert scan.n_files == 1 and scan.skipped == {}
    info = scan.series[0]
    assert info.uid == "thin.nii.gz" and info.n_slices == 8 and (info.rows, info.columns) == (16, 16)
    assert info.thickness == 1.0 and info.spacing == pytest.approx(0.8) and info.pixel_spacing == (0.7, 0.6)
    assert info.kernel == "B30f" and info.modality == "CT" and info.transfer_syntax.startswith("NIfTI-1 (int16")
    assert info.position_range == pytest.approx((-3.0, 2.6), abs=1e-5)


# --------------------------------------------------------------------------------------
# dcm2niix's NIfTI reads like our DICOM reader reads the DICOM
# --------------------------------------------------------------------------------------


@pytest.mark.dcm2niix
@pytest.mark.parametrize("iop", [(1, 0, 0, 0, 1, 0), (1, 0, 0, 0, np.cos(np.radians(30)), np.sin(np.radians(30)))])
def test_dcm2niix_output_reads_like_the_dicom(tmp_path, write_ct_series, iop, dcm2niix):
    stored = np.random.default_rng(5).integers(0, 2000, size=(6, 12, 10)).astype(np.int16)
    w = write_ct_series(tmp_path / "dcm", stored, np.arange(6) * 1.25 - 4.0, iop=iop, thickness=2.5)
    dicom = read_series(w.folder)
    out = tmp_path / "nii"
    out.mkdir()
    proc = subprocess.run(["dcm2niix", "-b", "y", "-z", "y", "-o", str(out), "-f", "vol", str(w.folder)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with warnings.catch_warnings():
        warnings.simplefilter("error", SeriesWarning)  # thickness from dcm2niix's sidecar: no warning
        nii = read_series(out / "vol.nii.gz")
    np.testing.assert_allclose(nii.orientation, dicom.orientation, atol=1e-5)
    np.testing.assert_allclose(nii.positions, dicom.positions, atol=1e-3)
    np.testing.assert_allclose(nii.ipp, dicom.ipp, atol=1e-3)
    np.testing.assert_array_equal(nii.volume, dicom.volume)
    assert nii.thickness == 2.5 and nii.pixel_spacing == dicom.pixel_spacing
