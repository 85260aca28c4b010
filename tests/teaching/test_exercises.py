"""t2tcore.teaching.exercises: exercises 1-4 against independent truths (against independent truths: literal loops, physics, known models)."""

import numpy as np
import pytest

from t2tcore import teaching as T


def test_profiles_of_position_methods_are_centred_and_index_groups_are_not():
    res = T.profiles(thickness=3.0, interval=2.0, methods=("proposed", "average"))
    z = res["z"]
    for name in ("real", "proposed"):
        prof = res["real"] if name == "real" else res["effective"][name]
        assert np.trapezoid(prof, z) == pytest.approx(1.0, abs=1e-6)
        assert np.trapezoid(z * prof, z) == pytest.approx(0.0, abs=0.02)  # centred on the real slice
    assert res["offset"]["proposed"] == 0.0
    # the average of 3 slices every 0.8 mm nearest the middle sits 0.8 mm away and is 2.4 mm wide
    assert abs(res["offset"]["average"]) == pytest.approx(0.8)
    cen = np.trapezoid(z * res["effective"]["average"], z)
    assert cen == pytest.approx(res["offset"]["average"], abs=0.02)
    assert res["fwhm"]["real"] == pytest.approx(3.0, abs=0.02)
    assert res["fwhm"]["average"] == pytest.approx(2.4, abs=0.1)
    with pytest.raises(ValueError):
        T.profiles(thickness=1.0)


def test_noise_follows_the_physics():
    res = T.noise(thickness=3.0, kernel="B30", thicknesses=(1.0, 3.0), kernels=("B30", "D45"))
    t, b30 = res["curves"]["B30"]
    _, d45 = res["curves"]["D45"]
    assert b30[0] > b30[1]  # thicker slices are less noisy
    assert np.all(d45 > b30)  # the sharp kernel is noisier
    assert res["sd"] == pytest.approx(b30[1])
    # quarter dose: a quarter of the photons, twice the noise SD
    q = T.noise(thickness=3.0, kernel="B30", mAs=50.0, thicknesses=(3.0,), kernels=("B30",))
    assert q["sd"] == pytest.approx(2 * res["sd"], rel=1e-6)


def test_noise_triangle_factor_matches_monte_carlo():
    from t2tcore.simulation import simulate_thick

    res = T.noise(thickness=3.0, thicknesses=(1.0,), kernels=("B30",))
    rng = np.random.default_rng(0)
    pos = 0.8 * np.arange(61)
    vol = rng.standard_normal((61, 64, 64)).astype(np.float64)
    out, _ = simulate_thick(vol, pos, 3.0, 2.0)
    # interior slices: unit-variance independent noise through the normalised triangle
    assert np.std(out[5:-5]) == pytest.approx(res["triangle_factor"], rel=0.03)


def test_errors_pairing_by_index_costs_the_index_methods():
    res = T.errors(methods=("proposed", "average"))
    prop, avg = res["table"]["proposed"], res["table"]["average"]
    assert prop["rmse_paired"] == pytest.approx(prop["rmse_own"])  # same positions as the scanner
    assert prop["max_shift_mm"] == 0.0 and prop["n_slices"] == res["n_real"]
    assert avg["n_slices"] < res["n_real"]
    assert avg["rmse_paired"] > 3 * avg["rmse_own"]  # misplacement dominates
    assert avg["rmse_paired"] > prop["rmse_paired"]


def test_misplaced_real_slices_match_their_nearest_thin_slice():
    for j in (4, 10, 16):
        res = T.misplaced(j=j)
        assert res["best"]["real"] == res["nearest"]
        assert abs(res["best"]["average"] - res["index_guess"]) <= 1
        # the real slice j is at s + 2 j mm: nearest thin index round(2 j / 0.8)
        assert res["nearest"] == int(np.floor(2 * j / 0.8 + 0.5))
    with pytest.raises(ValueError):
        T.misplaced(j=-1)
