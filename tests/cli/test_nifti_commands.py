"""Tests of the commands on NIfTI files (`t2t info`, `t2t simulate`, `t2t calibrate`): the same
behaviour as on DICOM folders, the output format following the output path (tiny data made here)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pydicom
import pytest

from t2tcore.cli import main
from t2tcore.errors import SeriesWarning
from t2tcore.io import Series, read_series, sidecar_path, write_series
from tests.cli.test_cli import _literal_triangle, _one_line_error, _tree


def _thin_nifti(path, *, n=20, size=8, step=1.0, sidecar=True, seed=0):
    """A thin NIfTI series: ``n`` slices ``step`` mm apart from z = 0, 1 mm thick (in the sidecar)."""
    rng = np.random.default_rng(seed)
    vol = np.rint(rng.normal(0, 200, (n, size, size))).astype(np.float32)
    pos = np.arange(n) * step
    out = write_series(Series.from_array(vol, pos, (0.7, 0.7), 1.0, description="thin"), path)
    if not sidecar:
        sidecar_path(out).unlink()
    return out, vol, pos


def test_simulate_nifti_to_nifti(tmp_path, capsys):
    thin, vol, pos = _thin_nifti(tmp_path / "thin.nii.gz")
    before = _tree(tmp_path)
    out = tmp_path / "thick.nii.gz"
    code = main(["simulate", str(thin), str(out), "--thickness", "5", "--interval", "5", "--no-progress"])
    stdout, stderr = capsys.readouterr()
    assert code == 0, stderr
    assert {k: v for k, v in _tree(tmp_path).items() if k in before} == before  # input untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thick.json", "thick.nii.gz", "thin.json", "thin.nii.gz"]
    thick = read_series(out)
    np.testing.assert_allclose(thick.positions, [0.0, 5.0, 10.0, 15.0], atol=1e-5)
    np.testing.assert_allclose(thick.volume, _literal_triangle(vol, pos, thick.positions, 5.0), atol=0.5 + 1e-3)
    assert thick.thickness == 5.0 and thick.interval == 5.0
    meta = json.loads(sidecar_path(out).read_text())
    assert meta["SliceThickness"] == 5.0 and meta["SeriesDescription"].startswith("t2t proposed 5mm/5mm")
    assert "method proposed" in meta["DerivationDescription"] and "from thin.nii.gz" in meta["DerivationDescription"]
    assert stdout.strip().startswith("20 slices (1 mm, 1 mm apart) -> 4 slices (5 mm, 5 mm apart)")
    assert stdout.strip().endswith(str(out.absolute()))


def test_simulate_match_a_real_thick_nifti(tmp_path, capsys):
    thin, vol, pos = _thin_nifti(tmp_path / "thin.nii.gz")
    real_pos = np.array([2.0, 7.0, 12.0])
    real = write_series(Series.from_array(np.zeros((3, 8, 8)), real_pos, (0.7, 0.7), 5.0), tmp_path / "real.nii.gz")
    out = tmp_path / "sim.nii.gz"
    assert main(["simulate", str(thin), str(out), "--match", str(real), "--no-progress"]) == 0, capsys.readouterr().err
    thick = read_series(out)
    np.testing.assert_allclose(thick.positions, real_pos, atol=1e-5)
    assert thick.thickness == 5.0  # the real series' (sidecar) thickness
    np.testing.assert_allclose(thick.volume, _literal_triangle(vol, pos, real_pos, 5.0), atol=0.5 + 1e-3)
    assert "at the 3 positions of real.nii.gz" in json.loads(sidecar_path(out).read_text())["DerivationDescription"]


def test_simulate_between_formats(tmp_path, thin_series, capsys):
    # DICOM in, NIfTI out; and NIfTI in, DICOM out: the same thick slices.
    args = ["--thickness", "3", "--interval", "2", "--no-progress"]
    assert main(["simulate", str(thin_series.folder), str(tmp_path / "a.nii.gz"), *args]) == 0
    assert main(["simulate", str(thin_series.folder), str(tmp_path / "a_dcm"), *args]) == 0
    a, a_dcm = read_series(tmp_path / "a.nii.gz"), read_series(tmp_path / "a_dcm")
    np.testing.assert_array_equal(a.volume, a_dcm.volume)
    np.testing.assert_allclose(a.ipp, a_dcm.ipp, atol=1e-5)
    thin_nii = write_series(read_series(thin_series.folder), tmp_path / "thin.nii.gz")
    assert main(["simulate", str(thin_nii), str(tmp_path / "b_dcm"), *args]) == 0
    b = read_series(tmp_path / "b_dcm")
    # NIfTI affines are float32: positions move by ~1e-6 mm, which can carry a value across
    # a rounding boundary of the int16 output (1 HU), nothing more.
    np.testing.assert_allclose(b.volume, a_dcm.volume, atol=1.0)
    np.testing.assert_allclose(b.positions, a_dcm.positions, atol=1e-5)
    ds = pydicom.dcmread(b.files[0])
    assert ds.SliceThickness == 3.0 and "from thin.nii.gz" in ds.DerivationDescription
    capsys.readouterr()


def test_thin_thickness_for_a_nifti_without_sidecar(tmp_path, capsys):
    # Index methods group round(thickness / thin thickness) slices: the thin thickness matters.
    thin, vol, pos = _thin_nifti(tmp_path / "thin.nii.gz", n=12, step=0.8, sidecar=False)
    with pytest.warns(SeriesWarning, match="using the slice spacing, 0.8 mm"):
        assert main(["simulate", str(thin), str(tmp_path / "a.nii.gz"), "--thickness", "3", "--method", "average",
                     "--no-progress"]) == 0
    assert read_series(tmp_path / "a.nii.gz").shape[0] == 3  # groups of round(3 / 0.8) = 4
    with warnings.catch_warnings():
        warnings.simplefilter("error", SeriesWarning)
        assert main(["simulate", str(thin), str(tmp_path / "b.nii.gz"), "--thickness", "3", "--method", "average",
                     "--thin-thickness", "1", "--no-progress"]) == 0
    b = read_series(tmp_path / "b.nii.gz")
    np.testing.assert_allclose(b.volume, np.stack([vol[g : g + 3].mean(axis=0) for g in (0, 3, 6, 9)]), atol=0.5 + 1e-3)
    assert "groups of 3 thin slices" in json.loads(sidecar_path(tmp_path / "b.nii.gz").read_text())["DerivationDescription"]
    capsys.readouterr()


def test_nifti_output_guard_and_errors_are_one_line(tmp_path, capsys):
    thin, _, _ = _thin_nifti(tmp_path / "thin.nii.gz")
    args = ["--thickness", "5", "--interval", "5", "--no-progress"]
    out = tmp_path / "o.nii.gz"
    out.write_bytes(b"keep")
    line = _one_line_error(capsys, main(["simulate", str(thin), str(out), *args]))
    assert "exists" in line and "--overwrite" in line and out.read_bytes() == b"keep"
    assert main(["simulate", str(thin), str(out), *args, "--overwrite"]) == 0
    capsys.readouterr()
    line = _one_line_error(capsys, main(["simulate", str(thin), str(thin), *args, "--overwrite"]))
    assert "is the input" in line
    line = _one_line_error(capsys, main(["simulate", str(thin), str(tmp_path / "x.nii.gz"), *args, "--series-uid", "1.2"]))
    assert "holds one series" in line
    line = _one_line_error(capsys, main(["simulate", str(tmp_path / "nope.nii.gz"), str(tmp_path / "y"), *args]))
    assert "nope.nii.gz: no such file" in line
    assert not (tmp_path / "x.nii.gz").exists() and not (tmp_path / "y").exists()


def test_info_on_a_nifti_file(tmp_path, capsys):
    thin, _, _ = _thin_nifti(tmp_path / "thin.nii.gz")
    assert main(["info", str(thin), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert f"{thin}: 1 file(s), 1 image series (1 CT)" in out
    assert "series 1: thin.nii.gz" in out and "20 slice(s) of 8 x 8 px at 0.7 x 0.7 mm" in out
    assert "thickness 1 mm, spacing 1 mm, positions 0.00 to 19.00 mm" in out and "NIfTI-1 (int16" in out
    assert main(["info", str(thin), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["series"][0]["n_slices"] == 20 and data["series"][0]["thickness"] == 1.0


def test_calibrate_on_nifti_pairs(tmp_path, capsys):
    # Thick series made with the paper's triangle (3 mm) from thin ones: the fitted profile's
    # FWHM is close to 3 mm and the profile names the files it came from.
    from t2tcore.simulation.simulate import simulate_thick

    argv = ["calibrate"]
    for k in range(2):
        thin, vol, pos = _thin_nifti(tmp_path / f"thin{k}.nii.gz", n=30, size=12, step=0.5, seed=k)
        targets = np.arange(3.0, 11.0, 1.7)
        thick_vol, _ = simulate_thick(vol, pos, 3.0, target_positions=targets)
        thick = write_series(Series.from_array(thick_vol, targets, (0.7, 0.7), 3.0), tmp_path / f"thick{k}.nii.gz",
                             overwrite=True)
        sidecar_path(thick).unlink()  # no thickness: given on the command line
        argv += [str(thin), str(thick)]
    out = tmp_path / "profile.json"
    code = main(argv + ["--out", str(out), "--thick-thickness", "3", "--no-progress"])
    assert code == 0, capsys.readouterr().err
    prof = json.loads(out.read_text())
    text = json.dumps(prof)
    assert "thin0.nii.gz" in text and "thick1.nii.gz" in text
    assert "nominal 3 mm" in capsys.readouterr().out
