"""Tests of t2tcore.simulation.calibrate (measured slice profiles), simulate_thick(method="calibrated"),
and the ``t2t calibrate`` / ``t2t simulate --profile`` commands.

Truth: thick volumes are made from thin ones with a *known* kernel through
``simulate.weight_matrix`` (a literal normalised weighted sum), optionally followed by a known
in-plane blur; the fit must find that kernel again.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from t2tcore.simulation import simulate as sim
from t2tcore.simulation.calibrate import SliceProfileError, SliceProfile, fit_slice_profile, load_slice_profile
from t2tcore.cli import main
from t2tcore.io import Series, read_series, write_series
from t2tcore.errors import T2TError


def trapezoid_kernel(plateau: float, ramp: float) -> sim.Kernel:
    """1 up to ``plateau`` mm, linear down to 0 at ``plateau + ramp``; FWHM = 2 plateau + ramp."""
    return sim.Kernel(lambda a: np.clip((plateau + ramp - a) / ramp, 0.0, 1.0), plateau + ramp, "trapezoid")


KERNELS = {
    "triangle": (sim.triangle_kernel(3.0), 3.0),
    "trapezoid": (trapezoid_kernel(0.75, 1.5), 3.0),
    "gaussian": (sim.gaussian_kernel(3.0), 3.0),
    "narrow-gaussian": (sim.gaussian_kernel(2.2), 2.2),
}


def thin_volume(seed: int, n: int = 48, size: int = 24, jitter: float = 0.15, inplane: float = 1.0):
    """A random texture smooth along z and in-plane, at irregular-ish positions 0.8 +- jitter mm apart."""
    rng = np.random.default_rng(seed)
    pos = np.concatenate([[0.0], np.cumsum(0.8 + rng.uniform(-jitter, jitter, n - 1))]) + rng.uniform(-5, 5)
    vol = gaussian_filter(rng.normal(0.0, 300.0, (n, size, size)), (1.0, inplane, inplane)) + 40.0
    return vol.astype(np.float32), pos


def make_pairs(kernel: sim.Kernel, n_pairs: int = 2, blur: float = 0.0, jitter: float = 0.15, inplane: float = 1.0):
    pairs = []
    for seed in range(n_pairs):
        vol, pos = thin_volume(seed, jitter=jitter, inplane=inplane)
        targets = np.arange(pos[0] + 0.3, pos[-1], 2.0)
        thick = sim.apply_weights(vol, sim.weight_matrix(pos, targets, kernel))
        if blur:
            thick = sim.blur_in_plane(thick, blur)
        pairs.append((vol, pos, thick, targets))
    return pairs


def interior(pos: np.ndarray, targets: np.ndarray, radius: float) -> np.ndarray:
    return (targets - radius >= pos.min()) & (targets + radius <= pos.max())


# --------------------------------------------------------------------------------------
# fitting
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(KERNELS))
def test_recovers_a_known_kernel(name):
    kernel, fwhm = KERNELS[name]
    pairs = make_pairs(kernel)
    prof = fit_slice_profile(pairs)
    assert abs(prof.fwhm_mm - fwhm) <= 0.05 * fwhm, prof.fwhm_mm
    # the shape, not only its width: node values within 0.03 of the truth (peak 1)
    truth = kernel(prof.offsets_mm) / kernel(0.0)
    assert np.max(np.abs(prof.weights - truth)) < 0.03
    assert prof.weights.max() == 1.0 and np.all(prof.weights >= 0)
    assert prof.meta["n_pairs"] == 2 and prof.meta["residual_rmse"] < 0.05  # HU, data SD ~ 60 HU
    assert prof.interval == 2.0
    # re-simulating a new thin volume (not used in the fit) reproduces its thick volume
    vol, pos = thin_volume(7)
    targets = np.arange(pos[0] + 0.1, pos[-1], 2.0)
    targets = targets[interior(pos, targets, max(kernel.radius, prof.radius_mm))]
    real = sim.apply_weights(vol, sim.weight_matrix(pos, targets, kernel))
    out, p = sim.simulate_thick(vol, pos, 3.0, method="calibrated", target_positions=targets, profile=prof)
    np.testing.assert_array_equal(p, targets)
    err = np.sqrt(np.mean((out - real) ** 2))
    assert err < 0.01 * real.std(), (err, real.std())


def test_recovers_a_known_inplane_blur():
    kernel = sim.triangle_kernel(3.0)
    pairs = make_pairs(kernel, blur=1.2, inplane=0.7)
    prof = fit_slice_profile(pairs, fit_inplane_blur=True)
    assert abs(prof.inplane_sigma_px - 1.2) < 0.05, prof.inplane_sigma_px
    assert abs(prof.fwhm_mm - 3.0) < 0.15
    # without the blur term the same data are fitted worse
    plain = fit_slice_profile(pairs)
    assert plain.inplane_sigma_px == 0.0
    assert plain.meta["residual_rmse"] > 5 * prof.meta["residual_rmse"]


def test_no_inplane_blur_is_found_when_there_is_none():
    prof = fit_slice_profile(make_pairs(sim.triangle_kernel(3.0)), fit_inplane_blur=True)
    assert prof.inplane_sigma_px < 0.05


def test_regular_grids_are_regularised_not_undetermined():
    # thin every 0.8 mm and thick every 2 mm on one grid: the data see |dz| only in steps of
    # 0.4 mm, nodes are every 0.25 mm; the smoothness term must still give the right width
    kernel = sim.gaussian_kernel(3.0)
    pairs = []
    for seed in range(2):
        vol, _ = thin_volume(seed)
        pos = 0.8 * np.arange(vol.shape[0])
        targets = np.arange(0.0, pos[-1], 2.0)
        pairs.append((vol, pos, sim.apply_weights(vol, sim.weight_matrix(pos, targets, kernel)), targets))
    prof = fit_slice_profile(pairs)
    assert abs(prof.fwhm_mm - 3.0) < 0.05 * 3.0
    assert np.max(np.abs(prof.weights - kernel(prof.offsets_mm))) < 0.03


def test_radius_grows_when_the_kernel_is_wider_than_the_default():
    # thick every 1 mm: default radius 2.5 mm, the triangle reaches 4 mm
    kernel = sim.triangle_kernel(4.0)
    pairs = []
    for seed in range(2):
        vol, pos = thin_volume(seed, n=60)
        targets = np.arange(pos[0] + 0.3, pos[-1], 1.0)
        pairs.append((vol, pos, sim.apply_weights(vol, sim.weight_matrix(pos, targets, kernel)), targets))
    prof = fit_slice_profile(pairs)
    assert prof.radius_mm >= 4.0
    assert abs(prof.fwhm_mm - 4.0) < 0.05 * 4.0
    fixed = fit_slice_profile(pairs, radius_mm=2.5)
    assert fixed.radius_mm == 2.5 and fixed.meta["residual_rmse"] > 10 * prof.meta["residual_rmse"]


def test_inputs_unmodified_and_any_slice_order():
    pairs = make_pairs(sim.triangle_kernel(3.0), n_pairs=1)
    vol, pos, thick, tp = pairs[0]
    copies = [a.copy() for a in pairs[0]]
    a = fit_slice_profile(pairs)
    for x, y in zip(pairs[0], copies):
        np.testing.assert_array_equal(x, y)
    rt, rk = np.random.default_rng(1).permutation(pos.size), np.random.default_rng(2).permutation(tp.size)
    b = fit_slice_profile([(vol[rt], pos[rt], thick[rk], tp[rk])])
    np.testing.assert_allclose(a.weights, b.weights, atol=1e-6)


def test_mask_limits_the_voxels_used():
    pairs = make_pairs(sim.triangle_kernel(3.0), n_pairs=1)
    vol, pos, thick, tp = pairs[0]
    bad = thick.copy()
    bad[:, :, :12] = -1000.0  # garbage on the left half of every thick slice
    m = np.zeros(thick.shape, dtype=bool)
    m[:, :, 12:] = True
    prof = fit_slice_profile([(vol, pos, bad, tp)], mask=[m])
    assert abs(prof.fwhm_mm - 3.0) < 0.05 * 3.0 and prof.meta["residual_rmse"] < 0.05


@pytest.mark.parametrize(
    "kwargs,pairs,message",
    [
        ({}, [], "empty"),
        ({}, [(np.zeros((5, 4, 4)), np.arange(5.0), np.zeros((2, 4, 3)), [1.0, 3.0])], "differ in size"),
        ({}, [(np.zeros((5, 4, 4)), np.arange(4.0), np.zeros((2, 4, 4)), [1.0, 3.0])], "4 positions for 5"),
        ({}, [(np.zeros((5, 4, 4)), [0, 1, 1, 2, 3.0], np.zeros((2, 4, 4)), [1.0, 3.0])], "distinct"),
        ({}, [(np.zeros((5, 4)), np.arange(5.0), np.zeros((2, 4, 4)), [1.0, 3.0])], "3-D"),
        ({"node_spacing_mm": 0}, None, "node_spacing_mm"),
        ({"radius_mm": -1}, None, "radius_mm"),
        ({"radius_mm": 30.0}, None, "whole kernel support"),
        ({"mask": [None, None, None]}, None, "one entry per pair"),
    ],
)
def test_fit_argument_errors(kwargs, pairs, message):
    if pairs is None:
        pairs = make_pairs(sim.triangle_kernel(3.0), n_pairs=1)
    with pytest.raises(ValueError, match=message):
        fit_slice_profile(pairs, **kwargs)


# --------------------------------------------------------------------------------------
# the profile object and its JSON file
# --------------------------------------------------------------------------------------


def test_profile_kernel_and_fwhm_are_exact():
    tri = SliceProfile([0.0, 3.0], [1.0, 0.0])
    d = np.linspace(-4, 4, 81)
    np.testing.assert_allclose(tri(d), np.maximum(0, 1 - np.abs(d) / 3), atol=1e-15)
    np.testing.assert_allclose(tri.kernel()(d), sim.triangle_kernel(3.0)(d), atol=1e-15)
    assert tri.fwhm_mm == pytest.approx(3.0)
    # plateau to 1 mm, down to 0 at 2 mm: half maximum at 1.5 mm
    assert SliceProfile([0.0, 1.0, 2.0], [2.0, 2.0, 0.0]).fwhm_mm == pytest.approx(3.0)
    # a kernel that stays above half its peak up to the radius: 2 R
    assert SliceProfile([0.0, 1.0], [1.0, 0.8]).fwhm_mm == pytest.approx(2.0)


@pytest.mark.parametrize(
    "args,message",
    [
        (([0.5, 1.0], [1.0, 0.0]), "start at 0"),
        (([0.0, 1.0, 1.0], [1.0, 0.5, 0.0]), "increase"),
        (([0.0, 1.0], [1.0, -0.1]), ">= 0"),
        (([0.0, 1.0], [0.0, 0.0]), "not all 0"),
        (([0.0, 1.0], [1.0]), "same length"),
        (([0.0], [1.0]), "at least 2"),
        (([0.0, np.nan], [1.0, 0.0]), "finite"),
    ],
)
def test_profile_validation(args, message):
    with pytest.raises(SliceProfileError, match=message):
        SliceProfile(*args)


def test_json_round_trip_is_small_and_readable(tmp_path):
    prof = fit_slice_profile(make_pairs(sim.gaussian_kernel(3.0)), thickness=3.0, meta={"patients": ["A", "B"]})
    path = prof.to_json(tmp_path / "sub" / "p.json")
    text = path.read_text()
    assert len(text) < 4000 and text.count("\n") > 10  # a few lines per number, no binary
    data = json.loads(text)
    assert data["format"] == "t2t-zprofile" and data["thickness_mm"] == 3.0 and data["interval_mm"] == 2.0
    assert data["fwhm_mm"] == pytest.approx(prof.fwhm_mm, rel=1e-6)
    back = SliceProfile.from_json(path)
    np.testing.assert_allclose(back.offsets_mm, prof.offsets_mm, rtol=1e-7)
    np.testing.assert_allclose(back.weights, prof.weights, rtol=1e-7, atol=1e-12)
    assert (back.thickness, back.interval, back.inplane_sigma_px) == (3.0, 2.0, prof.inplane_sigma_px)
    assert back.meta == json.loads(json.dumps(prof.meta)) and back.meta["patients"] == ["A", "B"]
    assert load_slice_profile(str(path)).to_dict() == back.to_dict() == load_slice_profile(back).to_dict()
    assert not list(tmp_path.glob("sub/.*tmp"))  # no temporary file left


@pytest.mark.parametrize(
    "content,message",
    [
        (None, "cannot read"),
        ("{not json", "not JSON"),
        ('{"format": "other"}', "not a t2t slice profile"),
        ('{"format": "t2t-zprofile", "version": 99}', "unsupported profile version"),
        ('{"format": "t2t-zprofile", "version": 1, "weights": [1, 0]}', "lacks offsets_mm"),
        ('{"format": "t2t-zprofile", "version": 1, "offsets_mm": [0, 1], "weights": [1, "x"]}', "bad profile"),
        ('{"format": "t2t-zprofile", "version": 1, "offsets_mm": [0, 1], "weights": [-1, 0]}', ">= 0"),
    ],
)
def test_bad_profile_files(tmp_path, content, message):
    path = tmp_path / "p.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(SliceProfileError, match=message) as info:
        SliceProfile.from_json(path)
    assert isinstance(info.value, T2TError) and isinstance(info.value, ValueError)


# --------------------------------------------------------------------------------------
# simulate_thick(method="calibrated")
# --------------------------------------------------------------------------------------


def test_calibrated_triangle_reproduces_proposed(tmp_path):
    vol, pos = thin_volume(3)
    tri = SliceProfile([0.0, 3.0], [1.0, 0.0], thickness=3.0)
    ref, p_ref = sim.simulate_thick(vol, pos, 3.0, 2.0, method="proposed")
    out, p = sim.simulate_thick(vol, pos, 3.0, 2.0, method="calibrated", profile=tri)
    np.testing.assert_array_equal(p, p_ref)
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-5 * np.abs(ref).max())
    # from its JSON file, and with nodes every 0.25 mm on the same triangle
    fine = SliceProfile(np.arange(13) * 0.25, 1 - np.arange(13) * 0.25 / 3)
    out2, _ = sim.simulate_thick(vol, pos, 3.0, 2.0, method="calibrated", profile=fine.to_json(tmp_path / "t.json"))
    np.testing.assert_allclose(out2, ref, rtol=0, atol=1e-5 * np.abs(ref).max())


def test_calibrated_applies_the_inplane_blur():
    vol, pos = thin_volume(4)
    prof = SliceProfile([0.0, 3.0], [1.0, 0.0], inplane_sigma_px=0.8)
    ref, _ = sim.simulate_thick(vol, pos, 3.0, 2.0, method="proposed")
    out, _ = sim.simulate_thick(vol, pos, 3.0, 2.0, method="calibrated", profile=prof)
    expected = np.stack([gaussian_filter(s.astype(np.float64), 0.8, mode="reflect") for s in ref])
    np.testing.assert_allclose(out, expected, atol=1e-3)


def test_calibrated_argument_errors(tmp_path):
    vol, pos = thin_volume(5)
    prof = SliceProfile([0.0, 3.0], [1.0, 0.0], thickness=3.0)
    with pytest.raises(ValueError, match="needs profile"):
        sim.simulate_thick(vol, pos, 3.0, 2.0, method="calibrated")
    with pytest.raises(ValueError, match="for method 'calibrated'"):
        sim.simulate_thick(vol, pos, 3.0, 2.0, method="proposed", profile=prof)
    with pytest.raises(ValueError, match="fitted for 3 mm"):
        sim.simulate_thick(vol, pos, 5.0, 2.0, method="calibrated", profile=prof)
    with pytest.raises(ValueError, match="SliceProfile or the path"):
        sim.simulate_thick(vol, pos, 3.0, 2.0, method="calibrated", profile=[1, 0])
    with pytest.raises(SliceProfileError, match="cannot read"):
        sim.simulate_thick(vol, pos, 3.0, 2.0, method="calibrated", profile=tmp_path / "missing.json")


# --------------------------------------------------------------------------------------
# t2t calibrate and t2t simulate --slice-profile
# --------------------------------------------------------------------------------------


def _write_pair(tmp_path, seed: int, kernel: sim.Kernel):
    vol, _ = thin_volume(seed, n=40, size=20, jitter=0.0)
    pos = 0.8 * np.arange(vol.shape[0]) + 10.0
    targets = np.arange(pos[0], pos[-1], 2.0)
    thick = sim.apply_weights(vol, sim.weight_matrix(pos, targets, kernel))
    thin_s = Series.from_array(vol, pos, (0.7, 0.7), 1.0, interval=0.8, patient_id=f"P{seed}", description="thin")
    thick_s = Series.from_array(
        thick, targets, (0.7, 0.7), 3.0, interval=2.0, patient_id=f"P{seed}", description="thick",
        study_uid=thin_s.header.StudyInstanceUID if thin_s.header is not None else None,
        frame_of_reference_uid=thin_s.header.FrameOfReferenceUID if thin_s.header is not None else None,
    )
    return (
        write_series(thin_s, tmp_path / f"p{seed}" / "thin"),
        write_series(thick_s, tmp_path / f"p{seed}" / "thick"),
        targets,
    )


def test_cli_calibrate_then_simulate_with_the_profile(tmp_path, capsys):
    kernel = trapezoid_kernel(0.75, 1.5)
    thin0, thick0, _ = _write_pair(tmp_path, 0, kernel)
    thin1, thick1, targets1 = _write_pair(tmp_path, 1, kernel)
    profile = tmp_path / "b30_3mm.json"
    code = main(["calibrate", str(thin0), str(thick0), "--out", str(profile), "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 0, err
    line = out.strip()
    assert "\n" not in line and "FWHM" in line and "nominal 3 mm" in line and "residual RMSE" in line
    prof = SliceProfile.from_json(profile)
    assert abs(prof.fwhm_mm - 3.0) < 0.05 * 3.0 and prof.thickness == 3.0 and prof.interval == 2.0
    assert prof.meta["pairs"][0]["patient"] == "P0" and prof.meta["pairs"][0]["thick_series"]

    # apply it to the other patient's thin series: thickness and interval come from the profile
    sim_dir = tmp_path / "sim"
    code = main(["simulate", str(thin1), str(sim_dir), "--slice-profile", str(profile), "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "method calibrated" in out
    got = read_series(sim_dir)
    real = read_series(thick1)
    assert got.thickness == 3.0
    np.testing.assert_allclose(got.positions, targets1, atol=1e-4)
    inside = interior(read_series(thin1).positions, targets1, 2.25)
    err = np.sqrt(np.mean((got.volume[inside] - real.volume[inside]) ** 2))
    assert err < 0.02 * real.volume.std(), err  # DICOM rounding and the fit: < 2 % of the SD
    # and the proposed triangle is measurably further away on the same slices
    assert main(["simulate", str(thin1), str(tmp_path / "tri"), "--thickness", "3", "--interval", "2", "--no-progress"]) == 0
    tri = read_series(tmp_path / "tri")
    assert np.sqrt(np.mean((tri.volume[inside] - real.volume[inside]) ** 2)) > 3 * err


@pytest.mark.parametrize(
    "argv,message",
    [
        (["calibrate", "{thin}", "--out", "{tmp}/p.json"], "pairs"),
        (["calibrate", "{thin}", "{thick}", "--out", "{tmp}/exists.json"], "exists"),
        (["calibrate", "{thin}", "{thick}", "--out", "{tmp}/p.json", "--radius", "40"], "cannot calibrate"),
        (["simulate", "{thin}", "{tmp}/o", "--method", "calibrated", "--thickness", "3", "--interval", "2"], "--slice-profile"),
        (["simulate", "{thin}", "{tmp}/o", "--method", "average", "--slice-profile", "{tmp}/exists.json"], "--method average"),
        (["simulate", "{thin}", "{tmp}/o", "--slice-profile", "{tmp}/exists.json"], "not a t2t slice profile"),
    ],
)
def test_cli_errors_are_one_line(tmp_path, capsys, argv, message):
    thin, thick, _ = _write_pair(tmp_path, 0, sim.triangle_kernel(3.0))
    (tmp_path / "exists.json").write_text("{}")
    argv = [a.format(thin=thin, thick=thick, tmp=tmp_path) for a in argv] + ["--no-progress"]
    code = main(argv)
    _, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert message in lines[0]
    assert not (tmp_path / "p.json").exists() and not (tmp_path / "o").exists()


def test_the_old_names_of_the_slice_profile_still_work(tmp_path, capsys):
    """ZProfile, ProfileError, fit_profile and load_profile are the new names' objects (load_profile warns), and
    ``t2t simulate --profile`` is ``--slice-profile`` with a FutureWarning, for one release."""
    import t2tcore
    from t2tcore import simulation as s

    assert s.ZProfile is s.SliceProfile is t2tcore.ZProfile is t2tcore.SliceProfile
    assert s.ProfileError is s.SliceProfileError and s.fit_profile is s.fit_slice_profile is t2tcore.fit_profile
    path = s.SliceProfile([0.0, 3.0], [1.0, 0.0], thickness=3.0, interval=2.0).to_json(tmp_path / "p.json")
    with pytest.warns(DeprecationWarning, match="load_slice_profile"):
        assert s.load_profile(path).to_dict() == s.load_slice_profile(path).to_dict()
    thin, _, _ = _write_pair(tmp_path, 0, sim.triangle_kernel(3.0))
    with pytest.warns(FutureWarning, match="--profile is deprecated in t2t simulate"):
        assert main(["simulate", str(thin), str(tmp_path / "old"), "--profile", str(path), "--no-progress"]) == 0
    assert main(["simulate", str(thin), str(tmp_path / "new"), "--slice-profile", str(path), "--no-progress"]) == 0
    assert np.array_equal(read_series(tmp_path / "old").volume, read_series(tmp_path / "new").volume)
    code = main(["simulate", str(thin), str(tmp_path / "both"), "--profile", str(path), "--slice-profile", str(path)])
    assert code == 2 and "give --slice-profile only" in capsys.readouterr().err
