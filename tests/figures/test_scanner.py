"""The virtual-scanner figures (chapter 01) draw exactly the measurements they are given."""

import numpy as np
import pandas as pd
import pytest

from t2tcore.figures import scanner as figs
from tests.figures._artists import artists, fits_the_column, image, line_xy


def test_ray_sampling_one_line_per_half_rotation_with_its_sampling():
    m = np.array([-1, 0, 1])
    z = m[:, None] * 4.5 + np.array([-0.3, 0.3])[None, :]
    fig = figs.ray_sampling({"test": (m, z), "train": (m, z + 0.15)})
    assert fits_the_column(fig) and len(fig.axes) == 2
    assert len(artists(fig, "rays:2")) == 2  # one per panel
    lines = artists(fig, "rays:1")
    np.testing.assert_allclose(lines[0].get_xdata(), z[1])
    assert lines[0].get_color() == "C0" and artists(fig, "rays:0")[0].get_color() == "C3"  # m = -1: complementary
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert texts == ["z sampling 0.6 mm", "z sampling 0.6 mm"]


def test_phantoms_sinogram_difference_show_their_arrays():
    x = np.linspace(-10, 10, 8)
    views = {"x": x, "z": np.arange(5.0), "axial": np.eye(8), "coronal": np.ones((5, 8)),
             "chest_x": x, "chest_axial": -np.eye(8)}
    fig = figs.phantoms(views, "V001", "V502")
    assert fits_the_column(fig) and len(fig.axes) == 3
    np.testing.assert_allclose(image(fig, "chest"), -np.eye(8))
    assert len(figs.phantoms({**views, "chest_axial": None}, "V001").axes) == 2
    ex = {"sinogram": np.arange(12.0).reshape(3, 4), "noise": np.array([[1.0, -1, 2, 0]] * 3), "t": np.arange(4.0),
          "row": 8, "views": 3, "mAs": 50.0}
    fig = figs.sinogram(ex)
    np.testing.assert_allclose(image(fig, "noise"), ex["noise"])
    lim = np.percentile(np.abs(ex["noise"]), 99)
    assert artists(fig, "noise")[0].get_clim() == pytest.approx((-lim, lim))
    a, b = np.full((4, 4), 50.0), np.full((4, 4), 20.0)
    fig = figs.difference(a, b)
    np.testing.assert_allclose(image(fig, "difference"), a - b)
    assert fits_the_column(fig)


def test_ssp_kernels_and_noise_plot_the_measurements():
    z = np.linspace(-4, 4, 9)
    study = {"z": z, "weights": {(1.0, "trapezoid"): z * 0 + 1, (3.0, "trapezoid"): z * 0 + 2},
             "model": {(1.0, "trapezoid"): (z, z ** 2), (3.0, "trapezoid"): (z, z ** 3)},
             "measured": {(3.0, "trapezoid"): (z, 2 * np.exp(-z ** 2))}}
    fig = figs.ssp(study)
    assert fits_the_column(fig) and len(fig.axes) == 4
    x, y = line_xy(fig, "measured:3")
    np.testing.assert_allclose(y, np.exp(-z ** 2))  # normalised to peak 1
    np.testing.assert_allclose(line_xy(fig, "model:1:trapezoid")[1], z ** 2)
    f = np.linspace(0, 1, 5)
    fig = figs.kernels({"B30": (f, f / 2), "D45": (f, f)})
    np.testing.assert_allclose(line_xy(fig, "kernel:B30")[1], f / 2)
    np.testing.assert_allclose(line_xy(fig, "ramp")[1], f)
    noise = pd.DataFrame({"mAs": [200.0, 50.0, 200.0, 50.0], "thickness (mm)": [1.0, 1.0, 3.0, 3.0],
                          "measured SD (HU)": [21.0, 42.0, 12.0, 24.0], "predicted SD (HU)": [20.0, 40.0, 12.0, 24.0]})
    fig = figs.noise(noise)
    assert fits_the_column(fig) and len(fig.axes) == 2
    x, y = line_xy(fig, "measured:3")
    np.testing.assert_allclose(x, [200.0, 50.0]) and np.testing.assert_allclose(y, [12.0, 24.0])
    np.testing.assert_allclose(line_xy(fig, "predicted-mAs:50")[1], [40.0, 24.0])


def test_thin_thick_shows_axial_slices_and_the_middle_coronal_row():
    vol = np.arange(3 * 4 * 4, dtype=float).reshape(3, 4, 4)
    fig = figs.thin_thick([("1 mm", vol[1], vol, np.arange(3.0)), ("3 mm", vol[0], vol, np.arange(3.0))], 0.7, 1.0)
    assert fits_the_column(fig) and len(fig.axes) == 4
    np.testing.assert_allclose(image(fig, "axial:1 mm"), vol[1])
    np.testing.assert_allclose(image(fig, "coronal:3 mm"), vol[:, 2, :])
