import numpy as np
import pandas as pd
import pytest

from t2tcore.figures import sr as fsr
from t2tcore.sr.evaluate import paper_table6

from tests.figures._artists import artists, fits_the_column, image, line_xy, one


def _volumes():
    rng = np.random.default_rng(0)
    thin = rng.normal(0, 50, (10, 12, 14)).astype(np.float32)  # all "body" (> -500 HU)
    return {"thin": thin, "linear": thin + 20.0, "m/average": thin - 5.0, "m/proposed": thin + 1.0}


def test_fig6_shows_the_slices_and_their_errors():
    v = _volumes()
    fig = fsr.fig6(v, ["linear", "m/average", "m/proposed"], z_index=3, row=5)
    assert fits_the_column(fig)
    np.testing.assert_array_equal(image(fig, "axial:thin"), v["thin"][3])
    np.testing.assert_array_equal(image(fig, "coronal:m/proposed"), v["m/proposed"][:, 5, :])
    np.testing.assert_allclose(image(fig, "axial-error:linear"), 20.0, atol=1e-4)
    np.testing.assert_allclose(image(fig, "coronal-error:m/average"), -5.0, atol=1e-4)
    assert not artists(fig, "axial-error:thin")
    with pytest.raises(ValueError, match="thin"):
        fsr.fig6({"linear": v["linear"]}, ["linear"])
    with pytest.raises(ValueError, match="shape"):
        fsr.fig6({**v, "linear": v["linear"][:5]}, ["linear"])


def test_training_curves_are_relative_to_the_untrained_model():
    h = [{"step": 0, "val_loss": 2.0}, {"step": 10, "val_loss": 1.0}, {"step": 20, "val_loss": 0.5}]
    fig = fsr.training_curves({"vdsr/proposed": h})
    x, y = line_xy(fig, "val:vdsr/proposed")
    np.testing.assert_allclose(x, [0, 10, 20])
    np.testing.assert_allclose(y, [1.0, 0.5, 0.25])


def test_training_curves_per_model_against_linear_interpolation_with_best_and_not_converged():
    h = {"vdsr/proposed/s0": [{"step": 0, "val_loss": 2.0}, {"step": 10, "val_loss": 1.0}, {"step": 20, "val_loss": 1.2}],
         "vdsr/average/s1": [{"step": 0, "val_loss": 2.0}, {"step": 10, "val_loss": 1.5}],
         "esrgan/proposed/s0": [{"step": 0, "val_loss": 1.0}, {"step": 5, "val_loss": 0.9}]}
    fig = fsr.training_curves(h, untrained={"esrgan/proposed/s0": 2.0}, best_steps={"vdsr/proposed/s0": 10},
                              converged={"vdsr/proposed/s0": True, "vdsr/average/s1": False, "esrgan/proposed/s0": True})
    assert len(fig.axes) == 2 and [a.get_title() for a in fig.axes] == ["vdsr", "esrgan"]
    _, y = line_xy(fig, "val:esrgan/proposed/s0")
    np.testing.assert_allclose(y, [0.5, 0.45])  # against the untrained model given, not the ESRResNet it started from
    x, y = line_xy(fig, "best:vdsr/proposed/s0")
    assert list(x) == [10] and list(y) == [0.5]
    assert artists(fig, "notconv:vdsr/average/s1") and not artists(fig, "notconv:vdsr/proposed/s0")


def test_gains_and_table6_bars():
    verdict = pd.DataFrame({"kernel": ["B30", "B30", "D45"], "model": ["vdsr", "vdsr", "vdsr"],
                            "method": ["proposed", "average", "proposed"], "mean_diff_psnr": [0.5, -0.2, 0.1],
                            "better": [True, False, False], "worse": [False, True, False]})
    fig = fsr.gains(verdict)
    assert one(fig, "gain:B30:vdsr/proposed").get_width() == pytest.approx(0.5)
    assert one(fig, "gain:B30:vdsr/average").get_width() == pytest.approx(-0.2)
    two = fsr.gains(pd.concat([verdict.assign(convention="paper"), verdict.assign(convention="hu", mean_diff_psnr=1.0)]))
    assert one(two, "hu:gain:D45:vdsr/proposed").get_width() == pytest.approx(1.0)
    assert one(two, "paper:gain:D45:vdsr/proposed").get_width() == pytest.approx(0.1)
    ours = pd.DataFrame({"model": ["vdsr", "unet"], "preset": ["small", "small"], "parameter_mb": [0.1, 0.2],
                         "inference_s": [3.0, 2.0], "peak_mb": [100.0, 50.0]})
    fig = fsr.table6_bars(ours, paper_table6())
    assert one(fig, "parameter_mb:paper:vdsr").get_height() == 298
    assert one(fig, "inference_s:ours small:unet").get_height() == 2.0
    assert not artists(fig, "peak_mb:paper:vdsr")  # the paper gives no memory


def test_fig6_focus_picks_where_two_outputs_differ():
    v = _volumes()
    b = v["m/average"].copy()
    b[7, 4, :] += 500.0  # the two models differ on slice 7, row 4
    b[2, 9, :] += 900.0  # and more in air, which does not count
    v["thin"] = v["thin"].copy()
    v["thin"][2, 9, :] = -1000.0
    v["m/average"] = b
    fig = fsr.fig6(v, ["m/average", "m/proposed"], focus=("m/average", "m/proposed"))
    np.testing.assert_array_equal(image(fig, "axial:thin"), v["thin"][7])
    np.testing.assert_array_equal(image(fig, "coronal:thin"), v["thin"][:, 4, :])


def _effects():
    rows = []
    for conv, shift in (("paper", -0.5), ("hu", 0.3)):
        for model in ("vdsr", "unet"):
            for contrast in ("proposed - average", "placed_average - average"):
                m = 0.4 + shift
                rows.append({"kernel": "B30", "model": model, "contrast": contrast, "convention": conv, "region": "all",
                             "mean_diff": m, "ci_low": m - 0.2, "ci_high": m + 0.2,
                             "verdict": "better" if m - 0.2 > 0 else ("worse" if m + 0.2 < 0 else "inconclusive")})
    return pd.DataFrame(rows)


def test_effects_forest_draws_each_effect_with_its_interval():
    e = _effects()
    fig = fsr.effects_forest(e)
    assert fits_the_column(fig)
    x, _ = line_xy(fig, "effect:hu:B30:vdsr:proposed - average")
    assert x[0] == pytest.approx(0.7)
    x, _ = line_xy(fig, "effect:paper:B30:unet:placed_average - average")
    assert x[0] == pytest.approx(-0.1)
    assert one(fig, "effect:paper:B30:unet:placed_average - average").get_color() == fsr.VERDICT_COLOURS["inconclusive"]
    with pytest.raises(ValueError):
        fsr.effects_forest(e.iloc[:0])


def test_z_displacement_and_slice_profiles():
    df = pd.DataFrame({"kernel": "B30", "patient": ["P1", "P1", "P2", "P2", "P1"], "dose": "full",
                       "label": ["linear", "vdsr/proposed", "linear", "vdsr/proposed", "linear"],
                       "model": ["linear", "vdsr", "linear", "vdsr", "linear"],
                       "method": ["linear", "proposed", "linear", "proposed", "linear"],
                       "z_displacement_mm": [0.0, 0.3, 0.1, 0.5, 0.0], "z_abs_displacement_mm": [0.2, 0.3, 0.2, 0.5, 0.2]})
    fig = fsr.z_displacement(df)
    pts = one(fig, "z:signed:vdsr/proposed").get_offsets()
    np.testing.assert_allclose(np.sort(np.asarray(pts)[:, 0]), [0.3, 0.5])
    assert len(one(fig, "z:abs:linear/linear").get_offsets()) == 2  # the duplicate row of a case is dropped
    u = np.linspace(-3, 3, 61)
    profiles = {"thin": (u, 200 * np.exp(-u ** 2)), "vdsr/proposed": (u, 80 * np.exp(-u ** 2 / 4))}
    table = pd.DataFrame({"label": ["thin", "vdsr/proposed"], "method": ["real", "proposed"], "fwhm_mm": [1.67, 3.33]})
    fig = fsr.slice_profiles(profiles, table)
    x, y = line_xy(fig, "ssp:vdsr/proposed")
    assert y.max() == pytest.approx(1.0) and x[np.argmax(y)] == pytest.approx(0.0)
