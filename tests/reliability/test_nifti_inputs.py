"""Hostile report items 1, 15, 17-19, 21: what a NIfTI input holds is kept or refused in one line.

Float voxels stay float32 through ``simulate`` and ``pairs``; non-regular files, complex voxels,
invalid sidecar thicknesses and NaN affines are refused; the same physical volume gives the
same thick slices whatever its array order."""

from __future__ import annotations

import json
import os

import nibabel as nib
import numpy as np

from t2tcore.cli import main
from t2tcore.io import read_series
from t2tcore.simulation.series import simulate_series
from tests.reliability.conftest import error_line, run

_AFFINE = np.diag([0.8, 0.9, 0.7, 1.0])  # 6 x 5 x 20 voxels, slices on k


def _nifti(path, data, affine=_AFFINE, thickness=1, dtype=None):
    img = nib.Nifti1Image(data, affine)
    img.set_data_dtype(dtype or data.dtype)
    nib.save(img, str(path))
    if thickness is not None:
        path.with_name(path.name.split(".")[0] + ".json").write_text(json.dumps({"SliceThickness": thickness}))
    return path


def _smooth(seed=0):
    """A float volume in [0, 1] with many distinct values (i, j, k = 6, 5, 20)."""
    i, j, k = np.meshgrid(np.arange(6), np.arange(5), np.arange(20), indexing="ij")
    rng = np.random.default_rng(seed)
    v = 0.5 + 0.3 * np.sin(k / 3.0) + 0.02 * i - 0.03 * j + rng.uniform(-0.1, 0.1, k.shape)
    return v.astype(np.float32)


def test_float_nifti_gives_float32_output_in_simulate_and_pairs_and_int16_stays_int16(tmp_path):
    src = _nifti(tmp_path / "norm.nii.gz", _smooth())
    assert len(np.unique(_smooth())) == 600
    r = run(["simulate", src, tmp_path / "o.nii.gz", "--thickness", "3", "--interval", "2", "--no-progress"])
    assert r.returncode == 0, r.stderr
    out = nib.load(str(tmp_path / "o.nii.gz"))
    assert out.get_data_dtype() == np.float32
    # the same simulation in memory, never written: the file holds it to float32 precision
    expected = simulate_series(read_series(src), 3.0, 2.0, "proposed").volume
    got = read_series(tmp_path / "o.nii.gz").volume
    assert got.shape == expected.shape and np.max(np.abs(got - expected)) < 1e-6
    assert len(np.unique(out.get_fdata())) > 100  # not rounded to {0, 1}

    r = run(["pairs", src, tmp_path / "P", "--thickness", "3", "--no-progress"])
    assert r.returncode == 0, r.stderr
    thin = nib.load(str(tmp_path / "P" / "thin" / "norm.nii.gz"))
    thick = nib.load(str(tmp_path / "P" / "thick" / "norm.nii.gz"))
    assert thin.get_data_dtype() == np.float32 and thick.get_data_dtype() == np.float32
    np.testing.assert_array_equal(thin.get_fdata(dtype=np.float32), _smooth())  # the label is the input, exactly
    assert len(np.unique(thick.get_fdata())) > 100

    # integers wider than int16 (range 7.2e7) are not squeezed into int16 with a scale
    wide = (np.rint(_smooth() * 7.2e7) - 3.6e7).astype(np.int32)
    src32 = _nifti(tmp_path / "wide.nii.gz", wide)
    r = run(["simulate", src32, tmp_path / "w.nii.gz", "--thickness", "3", "--interval", "2", "--no-progress"])
    assert r.returncode == 0, r.stderr
    assert nib.load(str(tmp_path / "w.nii.gz")).get_data_dtype() == np.float32
    expected = simulate_series(read_series(src32), 3.0, 2.0, "proposed").volume
    assert np.max(np.abs(read_series(tmp_path / "w.nii.gz").volume - expected)) <= 8  # float32 spacing at 3.6e7: 4

    hu = np.rint(_smooth() * 2000 - 1000).astype(np.int16)
    src16 = _nifti(tmp_path / "hu.nii.gz", hu)
    r = run(["simulate", src16, tmp_path / "h.nii.gz", "--thickness", "3", "--interval", "2", "--no-progress"])
    assert r.returncode == 0, r.stderr
    assert nib.load(str(tmp_path / "h.nii.gz")).get_data_dtype() == np.int16


def test_a_named_pipe_and_complex_voxels_are_refused_in_one_line(tmp_path, capsys):
    fifo = tmp_path / "pipe.nii.gz"
    os.mkfifo(fifo)
    r = run(["info", fifo], timeout=60)  # before: blocked forever opening the pipe
    line = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(line) == 1 and "not a regular file" in line[0] and str(fifo) in line[0], r.stderr
    cplx = _nifti(tmp_path / "c.nii.gz", (_smooth() + 1j * _smooth()).astype(np.complex64))
    line = error_line(capsys, main(["simulate", str(cplx), str(tmp_path / "o.nii.gz"), "--thickness", "3",
                                    "--interval", "2", "--no-progress"]))
    assert "complex" in line and not (tmp_path / "o.nii.gz").exists()


def test_an_invalid_sidecar_thickness_and_a_nan_origin_are_named(tmp_path, capsys):
    for bad in ("abc", -1, 0, None, [1, 2], True):
        src = _nifti(tmp_path / "t.nii.gz", _smooth(), thickness=None)
        (tmp_path / "t.json").write_text(json.dumps({"SliceThickness": bad}))
        line = error_line(capsys, main(["simulate", str(src), str(tmp_path / "o.nii.gz"), "--thickness", "3",
                                        "--interval", "2", "--no-progress"]))
        assert "SliceThickness is" in line and "t.json" in line, (bad, line)
    (tmp_path / "t.json").write_text('{"SliceThickness": NaN}')
    line = error_line(capsys, main(["simulate", str(src), str(tmp_path / "o.nii.gz"), "--thickness", "3",
                                    "--interval", "2", "--no-progress"]))
    assert "SliceThickness is NaN" in line
    affine = _AFFINE.copy()
    affine[0, 3] = np.nan
    nan = _nifti(tmp_path / "nan.nii.gz", _smooth(), affine=affine)
    line = error_line(capsys, main(["simulate", str(nan), str(tmp_path / "o.nii.gz"), "--thickness", "3",
                                    "--interval", "2", "--no-progress"]))
    assert "origin (translation) holds NaN" in line and "voxel size" not in line


def test_algorithm_1_starts_at_the_same_anatomy_whatever_the_array_order(tmp_path):
    """Item 18: slices on k, or the same voxels stored (k, j, i) with slice_dim 0: one result."""
    vol = _smooth()
    a = _nifti(tmp_path / "a.nii.gz", vol)
    # the transposed array with the affine permuted the same way: the same voxels at the same places
    img = nib.Nifti1Image(np.ascontiguousarray(vol.transpose(2, 1, 0)), _AFFINE[:, [2, 1, 0, 3]])
    img.header.set_dim_info(slice=0)
    nib.save(img, str(tmp_path / "b.nii.gz"))
    (tmp_path / "b.json").write_text(json.dumps({"SliceThickness": 1}))
    sa, sb = read_series(a), read_series(tmp_path / "b.nii.gz")
    np.testing.assert_allclose(sa.ipp, sb.ipp, atol=1e-5)
    ta, tb = (simulate_series(s, 3.0, 2.0, "proposed") for s in (sa, sb))
    np.testing.assert_allclose(ta.ipp, tb.ipp, atol=1e-5)  # before: z = 5, 7, ... against 6.3, 8.3, ...
    np.testing.assert_allclose(ta.volume, tb.volume, atol=1e-6)


def _grid_pair(tmp_path, thin_axis0: bool):
    """A thin NIfTI (1 mm, dcm2niix-like LAS) and a real 3 mm NIfTI of the same scan, one of them
    stored with its slices on the first array axis (slice_dim 0)."""
    aff = np.array([[-0.7, 0, 0, 50], [0, 0.7, 0, -20], [0, 0, 1.0, -30], [0, 0, 0, 1]])
    i, j, k = np.meshgrid(np.arange(32), np.arange(30), np.arange(40), indexing="ij")
    thin = (100 * np.sin(k / 4) + 3 * i - 2 * j).astype(np.int16)
    thick_aff = aff.copy()
    thick_aff[:3, 2] *= 3
    thick_aff[2, 3] = -29
    thick = np.zeros((32, 30, 12), np.int16)

    def save(name, data, affine, axis0, thickness):
        if axis0:
            data, affine = np.ascontiguousarray(data.transpose(2, 1, 0)), affine[:, [2, 1, 0, 3]]
        img = nib.Nifti1Image(data, affine)
        if axis0:
            img.header.set_dim_info(slice=0)
        nib.save(img, str(tmp_path / f"{name}.nii.gz"))
        (tmp_path / f"{name}.json").write_text(json.dumps({"SliceThickness": thickness}))
        return tmp_path / f"{name}.nii.gz"

    return save("thin", thin, aff, thin_axis0, 1), save("real", thick, thick_aff, not thin_axis0, 3)


def test_match_with_slices_on_another_axis_writes_the_real_files_affine(tmp_path):
    """Item 3: thin slices on axis 2 and the real file's on axis 0 (or the reverse) gave an affine
    that was neither the real file's nor the input's."""
    results = []
    for thin_axis0 in (False, True):
        folder = tmp_path / f"case{int(thin_axis0)}"
        folder.mkdir()
        thin, real = _grid_pair(folder, thin_axis0)
        r = run(["simulate", thin, folder / "m.nii.gz", "--match", real, "--no-progress"])
        assert r.returncode == 0, r.stderr
        out, ref = nib.load(str(folder / "m.nii.gz")), nib.load(str(real))
        assert out.shape == ref.shape
        np.testing.assert_allclose(out.affine, ref.affine, atol=1e-3)
        data = out.get_fdata()
        results.append(data if out.shape[2] == 12 else data.transpose(2, 1, 0))
    np.testing.assert_allclose(results[0], results[1], atol=0.5)  # one physical result, either layout


def test_match_of_a_nifti_on_another_grid_warns(tmp_path):
    """Item 14: --match with a NIfTI of another grid (another scan) was taken without a word;
    DICOM has FrameOfReferenceUID for that, NIfTI only its grid."""
    thin, _ = _grid_pair(tmp_path, False)  # 32 x 30 px at 0.7 mm
    other = _nifti(tmp_path / "other.nii.gz", np.zeros((6, 5, 8), np.int16),
                   affine=np.diag([0.8, 0.9, 3.0, 1.0]) + np.array([[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, -28],
                                                                     [0, 0, 0, 0]]), thickness=3)
    r = run(["simulate", thin, tmp_path / "m.nii.gz", "--match", other, "--no-progress"])
    assert r.returncode == 0, r.stderr
    assert "images of 5 x 6 px at 0.9 x 0.8 mm, the thin series' are 30 x 32 px at 0.7 x 0.7 mm: is it the " \
           "same scan?" in r.stderr, r.stderr
    _, real = _grid_pair(tmp_path, False)  # the same scan: no warning
    r = run(["simulate", thin, tmp_path / "m2.nii.gz", "--match", real, "--no-progress"])
    assert r.returncode == 0 and "same scan" not in r.stderr, r.stderr
