"""The fidelity figures (chapters 02, 03) draw exactly the data they are given."""

import numpy as np
import pytest

from t2tcore.figures import fidelity as figs
from tests.figures._artists import artists, fits_the_column, image, line_xy


def test_misplacement_plots_each_methods_offsets():
    pos = np.arange(0.0, 10.0, 2.0)
    fig = figs.misplacement({"proposed": (pos, pos * 0), "average": (pos, np.array([0.8, 0.4, 0, -0.4, -0.8]))}, "t")
    assert fits_the_column(fig) and len(fig.axes) == 1
    x, y = line_xy(fig, "offset:average")
    np.testing.assert_allclose(x, pos) and np.testing.assert_allclose(y, [0.8, 0.4, 0, -0.4, -0.8])
    assert fig.axes[0].get_ylabel() == "position stood for − real (mm)"


def test_fig4_shows_the_real_slice_each_method_and_both_errors():
    real = np.zeros((6, 6))
    panels = {"methods": ["proposed", "average"], "real": real, "z": -10.0, "limit": 30.0,
              "count": {"proposed": real + 1, "average": real + 2},
              "physical": {"proposed": real + 1, "average": real + 3},
              "error": {("proposed", "count"): real + 1, ("proposed", "physical"): real + 1,
                        ("average", "count"): real + 2, ("average", "physical"): real + 3},
              "offset": {"proposed": 0.0, "average": 0.4}}
    fig = figs.fig4(panels, "Fig. 4")
    assert fits_the_column(fig) and len(fig.axes) == 3 * 3 + 1  # images and a colour bar
    np.testing.assert_allclose(image(fig, "slice:average"), real + 2)
    np.testing.assert_allclose(image(fig, "error:physical:average"), real + 3)
    assert artists(fig, "error:count:proposed")[0].get_clim() == (-30.0, 30.0)
    titles = [ax.get_title() for ax in fig.axes]
    assert "average\n(+0.4 mm off)" in titles and "RMSE 3.0 HU" in titles


def _curve(positions, mse):
    idx = np.arange(len(positions))
    return {"indices": idx, "positions": np.asarray(positions, float), "mse": np.asarray(mse, float),
            "best_index": int(idx[int(np.argmin(mse))])}


def test_fig7_plots_the_mse_curves_and_their_minima():
    pos = [0.0, 0.8, 1.6]
    curves = {(0, "real"): _curve(pos, [5.0, 2.0, 9.0]), (0, "direct"): _curve(pos, [3.0, 0.0, 4.0]),
              (4, "real"): _curve(pos, [1.0, 2.0, 3.0]), (4, "direct"): _curve(pos, [3.0, 2.0, 4.0])}
    fig = figs.fig7(curves, {0: 0.8, 4: 0.0}, ["direct"], "Fig. 7")
    assert fits_the_column(fig) and len(fig.axes) == 2
    np.testing.assert_allclose(line_xy(fig, "mse:0:real")[1], [5.0, 2.0, 9.0])
    x, y = line_xy(fig, "best:4:direct")
    assert x == pytest.approx([0.8]) and y == pytest.approx([2.0])
    assert [ax.get_title() for ax in fig.axes] == ["real thick slice 1 (z = 0.8 mm)", "real thick slice 5 (z = 0.0 mm)"]
