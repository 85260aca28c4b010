"""Issue 14, item 7: NIfTI output keeps the user's voxel order.

Independent truth: nibabel's affines (where each voxel is), Algorithm 2 written out as a
loop over the input file's own array, and dcm2niix's conversion of t2t's DICOM output.
"""

from __future__ import annotations

import subprocess
import warnings

import nibabel as nib
import numpy as np
import pytest
from nibabel.affines import apply_affine

from t2tcore.cli import main
from t2tcore.errors import SeriesWarning
from t2tcore.io import Series, read_series, write_series

T, D = 2.0, 1.6  # thick slices: thickness and interval, mm


def _save(path, data, affine, slice_dim=None):
    img = nib.Nifti1Image(data, affine)
    img.set_sform(affine, code=1)
    img.set_qform(affine, code=1)
    if slice_dim is not None:
        img.header.set_dim_info(slice=slice_dim)
    nib.save(img, str(path))
    return path


def _affine(columns, origin):
    a = np.eye(4)
    a[:3, :3] = np.asarray(columns, dtype=np.float64).T
    a[:3, 3] = origin
    return a


def _data(shape, seed=0):
    rng = np.random.default_rng(seed)
    i, j, k = np.meshgrid(*(np.arange(n) for n in shape), indexing="ij")
    return np.rint(300 * np.sin(k / 2.5) + 5 * i - 4 * j + rng.normal(0, 30, shape)).astype(np.int16)


def _literal(values, dist_mm, t):
    """Algorithm 2 for one output voxel: values (n,) of the thin voxels at distances (n,) mm."""
    w = np.maximum(0.0, 1.0 - np.abs(dist_mm) / t)
    return float(w @ values / w.sum())


def _check_against_input(src_path, out_path, slice_axis=2):
    """Every output voxel: same in-plane voxel of the input file, value = Algorithm 2 along its slice axis."""
    src, out = nib.load(str(src_path)), nib.load(str(out_path))
    a = np.asarray(src.dataobj).astype(np.float64)
    b = np.asarray(out.dataobj).astype(np.float64)
    inv = np.linalg.inv(src.affine)
    step = float(np.linalg.norm(src.affine[:3, slice_axis]))
    plane = [ax for ax in range(3) if ax != slice_axis]
    n_out = b.shape[slice_axis]
    for kk in range(n_out):
        idx = [0, 0, 0]
        idx[slice_axis] = kk
        for corner in [(0, 0), (b.shape[plane[0]] - 1, b.shape[plane[1]] - 1), (3, 5)]:
            idx[plane[0]], idx[plane[1]] = corner
            ijk = apply_affine(inv, apply_affine(out.affine, idx))
            # the same in-plane voxel of the input (the arrays are directly comparable)
            np.testing.assert_allclose([ijk[plane[0]], ijk[plane[1]]], corner, atol=1e-3)
            line = [slice(None)] * 3
            line[plane[0]], line[plane[1]] = corner
            dist = (np.arange(a.shape[slice_axis]) - ijk[slice_axis]) * step
            assert abs(b[tuple(idx)] - _literal(a[tuple(line)], dist, T)) <= 0.5 + 1e-3


_LAYOUTS = {
    "RAS": ([(0.7, 0, 0), (0, 0.7, 0), (0, 0, 0.8)], (-10, 20, -30)),
    "dcm2niix LAS (rows flipped)": ([(-0.7, 0, 0), (0, 0.7, 0), (0, 0, 0.8)], (10, -20, 5)),
    "slices head to feet": ([(0.7, 0, 0), (0, -0.7, 0), (0, 0, -0.8)], (0, 10, 40)),
}


@pytest.mark.parametrize("name", list(_LAYOUTS))
def test_nifti_to_nifti_keeps_the_input_voxel_order(tmp_path, name):
    src = _save(tmp_path / "thin.nii.gz", _data((12, 10, 21)), _affine(*_LAYOUTS[name]))
    out = tmp_path / "thick.nii.gz"
    assert main(["simulate", str(src), str(out), "--thickness", str(T), "--interval", str(D), "--thin-thickness", "0.8",
                 "--no-progress"]) == 0
    s_aff, o_aff = nib.load(str(src)).affine, nib.load(str(out)).affine
    np.testing.assert_allclose(o_aff[:3, :2], s_aff[:3, :2], atol=1e-6)  # same in-plane axes and directions
    np.testing.assert_allclose(o_aff[:3, 2], s_aff[:3, 2] * D / 0.8, atol=1e-5)  # slices the same way
    _check_against_input(src, out)


def test_match_writes_the_real_files_affine_and_a_comparable_array(tmp_path):
    thin_aff = _affine(*_LAYOUTS["dcm2niix LAS (rows flipped)"])
    thin = _save(tmp_path / "thin.nii.gz", _data((12, 10, 31)), thin_aff)
    # a "real" 5 mm volume on the same in-plane grid, as dcm2niix writes it, 5 mm every 4 mm
    real_aff = thin_aff.copy()
    real_aff[:3, 2] *= 4.0 / 0.8
    real_aff[:3, 3] += thin_aff[:3, 2] * 2  # its first slice at the third thin slice
    src = np.asarray(nib.load(str(thin)).dataobj).astype(np.float64)
    real = np.zeros((12, 10, 6))
    for kk in range(6):
        dist = (np.arange(31) - (2 + kk * 5)) * 0.8
        real[:, :, kk] = [[_literal(src[i, j], dist, 4.0) for j in range(10)] for i in range(12)]
    real_path = _save(tmp_path / "real.nii.gz", np.rint(real).astype(np.int16), real_aff)
    for thin_path in (thin, _save(tmp_path / "thin_ras.nii.gz", src[::-1].astype(np.int16),  # the same, stored RAS
                                  thin_aff @ _shift(0, 11) @ np.diag([-1, 1, 1, 1.0]))):
        out = tmp_path / f"sim_{thin_path.name}"
        assert main(["simulate", str(thin_path), str(out), "--match", str(real_path), "--thin-thickness", "0.8",
                     "--no-progress"]) == 0
        img = nib.load(str(out))
        np.testing.assert_allclose(img.affine, nib.load(str(real_path)).affine, atol=1e-3)
        assert np.abs(np.asarray(img.dataobj) - np.rint(real)).max() <= 1  # directly comparable, voxel by voxel


def _shift(axis, n):
    m = np.eye(4)
    m[axis, 3] = n
    return m


@pytest.mark.parametrize("iop", [(1, 0, 0, 0, 1, 0), (1, 0, 0, 0, 0, -1),
                                 (1, 0, 0, 0, np.cos(np.radians(20)), np.sin(np.radians(20)))])
def test_dicom_to_nifti_is_what_dcm2niix_writes(tmp_path, iop, dcm2niix):
    vol = _data((14, 12, 20)).transpose(2, 1, 0).astype(np.float32)  # (Z, Y, X)
    thin = write_series(Series.from_array(vol, np.arange(20) * 0.8, (0.7, 0.6), 0.8, orientation=iop), tmp_path / "dcm")
    args = ["--thickness", str(T), "--interval", str(D), "--no-progress"]
    assert main(["simulate", str(thin), str(tmp_path / "t2t.nii.gz"), *args]) == 0
    assert main(["simulate", str(thin), str(tmp_path / "thick_dcm"), *args]) == 0
    proc = subprocess.run([dcm2niix, "-z", "y", "-b", "n", "-o", str(tmp_path), "-f", "d2n", str(tmp_path / "thick_dcm")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ours, theirs = nib.load(str(tmp_path / "t2t.nii.gz")), nib.load(str(tmp_path / "d2n.nii.gz"))
    np.testing.assert_allclose(ours.affine, theirs.affine, atol=1e-3)
    np.testing.assert_array_equal(np.asarray(ours.dataobj), np.asarray(theirs.dataobj))


def test_slices_on_another_array_axis_are_found_and_kept_there(tmp_path):
    data = _data((12, 12, 21))  # L, A, S; square 0.7 mm pixels, 0.8 mm slices
    aff = _affine([(0.7, 0, 0), (0, 0.7, 0), (0, 0, 0.8)], (0, 0, 0))
    std = _save(tmp_path / "las.nii.gz", data, aff)
    sla = _save(tmp_path / "sla.nii.gz", data.transpose(2, 0, 1), aff[:, [2, 0, 1, 3]])  # stored S, L, A
    a, b = read_series(std, thickness=0.8), read_series(sla, thickness=0.8)
    assert b.volume.shape == a.volume.shape == (21, 12, 12)  # 21 slices along S, not 12 along A
    np.testing.assert_array_equal(a.volume, b.volume)
    np.testing.assert_allclose(a.positions, b.positions)
    args = ["--thickness", str(T), "--interval", str(D), "--no-progress"]
    assert main(["simulate", str(sla), str(tmp_path / "out_sla.nii.gz"), *args, "--thin-thickness", "0.8"]) == 0
    out = nib.load(str(tmp_path / "out_sla.nii.gz"))
    assert out.shape[0] == 11 and out.shape[1:] == (12, 12)  # the slice axis is still the first
    _check_against_input(sla, tmp_path / "out_sla.nii.gz", slice_axis=0)
    # isotropic voxels: the file cannot say where the slices are; t2t takes k and says so
    _save(tmp_path / "iso.nii.gz", data[:, :, :12].transpose(2, 0, 1), _affine([(0, 0, 1), (1, 0, 0), (0, 1, 0)], (0, 0, 0)))
    with pytest.warns(SeriesWarning, match="do not tell which axis holds the slices"):
        read_series(tmp_path / "iso.nii.gz", thickness=1.0)
    # ... unless the header says so (slice_dim), which t2t writes for such a file
    _save(tmp_path / "iso_dim.nii.gz", data[:, :, :12].transpose(2, 0, 1),
          _affine([(0, 0, 1), (1, 0, 0), (0, 1, 0)], (0, 0, 0)), slice_dim=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SeriesWarning)
        s = read_series(tmp_path / "iso_dim.nii.gz", thickness=1.0)
    assert s.volume.shape == (12, 12, 12)
    assert nib.load(str(tmp_path / "out_sla.nii.gz")).header.get_dim_info()[2] == 0


def test_a_spacing_stored_as_0_799999_keeps_the_last_thick_slice(tmp_path, capsys):
    data = _data((8, 8, 101))
    nii = _save(tmp_path / "thin.nii.gz", data, _affine([(0.7, 0, 0), (0, 0.7, 0), (0, 0, 0.799999)], (0, 0, 0)))
    dcm = write_series(Series.from_array(data.transpose(2, 1, 0), np.arange(101) * 0.8, (0.7, 0.7), 0.8),
                       tmp_path / "dcm")
    args = ["--thickness", "5", "--interval", "4", "--thin-thickness", "0.8", "--no-progress"]
    assert main(["simulate", str(nii), str(tmp_path / "a.nii.gz"), *args]) == 0
    assert main(["simulate", str(dcm), str(tmp_path / "b"), *args]) == 0
    assert nib.load(str(tmp_path / "a.nii.gz")).shape[2] == read_series(tmp_path / "b").volume.shape[0] == 21
