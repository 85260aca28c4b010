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
