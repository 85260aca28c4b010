"""The teaching lab's experiments against independent truths (literal loops, physics, known models)."""

import numpy as np
import pytest

from t2tcore import teaching as T


def test_z_object_is_reproducible_and_piecewise_constant():
    a, b = T.z_object(n_columns=3, seed=4), T.z_object(n_columns=3, seed=4)
    np.testing.assert_array_equal(a.values, b.values)
    assert not np.array_equal(a.values, T.z_object(n_columns=3, seed=5).values)
    np.testing.assert_allclose(np.diff(a.z), 0.05)
    # piecewise constant: few value changes along z compared with the number of samples
    changes = np.count_nonzero(np.diff(a.values, axis=0), axis=0)
    assert np.all(changes <= 2 * 8) and np.all(changes >= 1)
    for bad in (dict(n_columns=0), dict(length_mm=0), dict(sizes_mm=(2, 1)), dict(n_structures=0)):
        with pytest.raises(ValueError):
            T.z_object(**bad)


def test_record_is_the_profile_weighted_mean():
    obj = T.ZObject(np.arange(0, 20.0001, 0.05), np.zeros((401, 1)))
    obj.values[(obj.z >= 8) & (obj.z < 10), 0] = 100.0  # a 2 mm box of 100 HU
    rect = (np.array([-0.5, -0.4999, 0.4999, 0.5]) * 3.0, np.array([0.0, 1.0, 1.0, 0.0]))  # 3 mm rect
    got = T.record(obj, [9.0, 12.0, 3.0], rect)[:, 0, 0]
    # a 3 mm slab centred on the box sees 2/3 of it; at 12 mm the slab [10.5, 13.5] misses it
    # (tolerance: the object is sampled every 0.05 mm, 2 % of 100 HU)
    np.testing.assert_allclose(got, [200 / 3, 0.0, 0.0], atol=2.0)
    with pytest.raises(ValueError, match="too close"):
        T.record(obj, [-10.0], rect)


def test_scanner_ssp_has_the_nominal_thickness_as_fwhm():
    from t2tcore.scanner import fwhm

    for t in (1.0, 3.0):
        u, s = T.scanner_ssp(t)
        assert s.max() == pytest.approx(1.0)
        assert fwhm(u, s) == pytest.approx(t, abs=0.02)


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


def test_fit_linear_sr_recovers_a_known_linear_map():
    # thin slice i (0.8 mm) is built from thick slices (2 mm) by a known filter per phase
    rng = np.random.default_rng(1)
    n_thick = 40
    thick = rng.standard_normal((n_thick, 1, 30))
    tpos = 2.0 * np.arange(n_thick)
    n_thin = 5 * (n_thick // 2) - 5
    thin_pos = 0.8 * np.arange(n_thin)
    true = rng.standard_normal((5, 3))  # p = 5 phases, K = 1
    centre = [int(np.argmin(np.abs(tpos - x))) for x in thin_pos[:5]]
    thin = np.zeros((n_thin, 1, 30))
    for i in range(n_thin):
        c = 2 * (i // 5) + centre[i % 5]
        if 1 <= c < n_thick - 1:
            thin[i] = sum(true[i % 5, k] * thick[c - 1 + k] for k in range(3))
    model = T.fit_linear_sr([thick], [tpos], [thin], [thin_pos], half_width=1, ridge=0.0, bias=False)
    assert (model.p, model.q) == (5, 2)
    np.testing.assert_allclose(model.coef, true, atol=1e-8)
    out = model.predict(thick)
    ok = np.isfinite(out[:n_thin, 0, 0])
    np.testing.assert_allclose(out[:n_thin][ok], thin[ok], atol=1e-8)


def test_wrong_pairs_break_the_model():
    res = T.wrong_pairs(methods=("proposed", "average"), n_train=2)
    prop, avg = res["table"]["proposed"], res["table"]["average"]
    assert (prop["p"], prop["q"]) == (5, 2) and (avg["p"], avg["q"]) == (3, 1)
    assert avg["rmse"] > 2 * prop["rmse"]


def test_explore_static_draws_once_with_a_note(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    calls = []

    def draw(**kw):
        calls.append(kw)
        return "figure"

    T.explore(draw, {"thickness": 3.0, "kernel": "B30"}, {"thickness": (1.0, 5.0, 0.5), "kernel": ["B30", "D45"]},
              interactive=False)
    assert calls == [{"thickness": 3.0, "kernel": "B30"}]
    assert "make lab" in shown[0].data and "thickness from 1 to 5" in shown[0].data and shown[1] == "figure"
    with pytest.raises(ValueError, match="initial"):
        T.explore(draw, {}, {"x": (0, 1, 1)}, interactive=False)


def test_explore_interactive_builds_sliders(monkeypatch):
    import ipywidgets as w

    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    T.explore(lambda **kw: "figure", {"thickness": 3.0, "kernel": "B30", "j": 2},
              {"thickness": (1.0, 5.0, 0.5), "kernel": ["B30", "D45"], "j": (0, 10, 1)}, interactive=True)
    box = shown[-1]  # the figure itself is displayed first, inside the output widget
    assert isinstance(box, w.VBox)
    kinds = {c.description: type(c).__name__ for c in box.children[0].children}
    assert kinds == {"thickness": "FloatSlider", "kernel": "Dropdown", "j": "IntSlider"}


def test_figure_runs_an_exercise_and_draws_it():
    from matplotlib.figure import Figure

    fig = T.figure("misplaced", j=3)
    assert isinstance(fig, Figure)
    best = [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_gid() == "best:real"][0]
    assert best.get_xdata()[0] == T.misplaced(j=3)["best"]["real"]
    with pytest.raises(ValueError, match="unknown exercise"):
        T.figure("nope")


def test_look_along_z_places_real_and_simulated_slices_where_they_belong():
    base = T.look_along_z(3.0, 2.0, 0.0, "average")
    thin_pos = base["series"]["thin"][1]
    np.testing.assert_allclose(np.diff(thin_pos), T.THIN["interval"])
    for off in (0.0, 1.0):
        real = T.look_along_z(3.0, 2.0, off, "proposed")
        real_pos = real["series"]["real thick"][1]
        np.testing.assert_allclose(real_pos, thin_pos[0] + off + 2.0 * np.arange(real_pos.size))
        assert real_pos[-1] <= thin_pos[-1] < real_pos[-1] + 2.0
        # the position-based method is told where the real slices are: no misplacement
        np.testing.assert_allclose(real["series"]["proposed"][1], real_pos)
        assert real["misplacement_mm"] == pytest.approx(0.0, abs=1e-9)
    # average's slice j is the centre of thin slices 3j..3j+2: s + 0.8 + 2.4 j, whatever the offset
    avg = T.look_along_z(3.0, 2.0, 1.0, "average")
    pos = avg["series"]["average"][1]
    np.testing.assert_allclose(pos, thin_pos[0] + 0.8 + 2.4 * np.arange(pos.size))
    n = min(pos.size, avg["series"]["real thick"][1].size)
    assert avg["misplacement_mm"] == pytest.approx(abs(0.8 + 0.4 * (n - 1) - 1.0))
    vol, _, t = base["series"]["real thick"]
    assert vol.shape[1:] == (48, 48) and t == 3.0 and base["pixel_mm"] == pytest.approx(1.0)
    for bad in (dict(thickness=1.0), dict(interval=0.0), dict(offset=-1.0)):
        with pytest.raises(ValueError):
            T.look_along_z(**bad)


def test_real_thick_slices_are_the_scanner_profile_over_the_object():
    res = T.look_along_z(3.0, 2.0, 0.4, "proposed")
    obj, _, _ = T._rods(48, 0)
    vol, pos, _ = res["series"]["real thick"]
    u, w = T.scanner_ssp(3.0)
    j, y, x = 4, 24, 10
    weights = np.interp(obj.z - pos[j], u, w, left=0.0, right=0.0)  # a literal weighted mean
    want = np.sum(weights * obj.values[:, y * 48 + x]) / np.sum(weights)
    assert vol[j, y, x] == pytest.approx(want, rel=1e-5, abs=1e-3)


def test_live_views_follow_the_sliders():
    import gzip

    import nibabel as nib

    live = T.view_along_z(dict(thickness=3.0, interval=2.0, offset=0.0, method="proposed"),
                          {"offset": (0.0, 4.0, 0.2), "method": ["proposed", "average"]})
    assert len(live.views) == 3 and all(len(v.volumes) == 1 for v in live.views)

    def first_z(i):
        img = nib.Nifti1Image.from_bytes(gzip.decompress(live.views[i].volumes[0].data))
        return img.affine[2, 3], img.affine[2, 2], img.shape[2]

    z0_real, dz, _ = first_z(1)
    assert dz == pytest.approx(2.0)
    live.controls["offset"].value = 1.0  # the real slices and proposed's move by 1 mm
    assert first_z(1)[0] == pytest.approx(z0_real + 1.0) and first_z(2)[0] == pytest.approx(z0_real + 1.0)
    live.controls["method"].value = "average"  # average's groups ignore the offset: 2.4 mm apart
    assert first_z(2)[1] == pytest.approx(2.4)
    assert "average" in live.labels[2].value and "2.4 mm" in live.labels[2].value
    html = T.view_along_z(dict(thickness=3.0, interval=2.0, offset=0.0, method="average"), {"offset": (0.0, 4.0, 0.2)},
                          interactive=False)
    assert 'class="t2t-viewer"' in html.data and "real thick" in html.data
