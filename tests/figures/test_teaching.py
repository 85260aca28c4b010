"""The teaching lab's figures draw exactly the exercise results they are given."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from t2tcore.figures import TEXT_WIDTH_IN
from t2tcore.figures import teaching as F


def _line(fig: Figure, gid: str):
    found = [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_gid() == gid]
    assert len(found) == 1, f"{gid}: {len(found)} lines"
    return np.asarray(found[0].get_xdata(), float), np.asarray(found[0].get_ydata(), float)


def _bars(fig: Figure, gid: str) -> np.ndarray:
    """Heights of the bars drawn with ``gid`` (``Axes.bar`` gives the gid to each bar)."""
    found = [p for ax in fig.axes for p in ax.patches if p.get_gid() == gid]
    assert found, f"{gid}: no bars"
    return np.array([p.get_height() for p in found])


def _narrow(fig):
    assert isinstance(fig, Figure) and fig.get_size_inches()[0] <= TEXT_WIDTH_IN + 1e-9


def test_profiles_figure():
    z = np.linspace(-3, 3, 7)
    res = {"z": z, "real": np.arange(7.0), "effective": {"proposed": np.ones(7)}, "offset": {"proposed": 0.0},
           "fwhm": {"real": 3.0, "proposed": 3.1}, "coverage_z": z, "coverage": np.full(7, 1.5),
           "thickness": 3.0, "interval": 2.0, "pitch": 1.0, "z_weighting": "trapezoid"}
    fig = F.profiles_figure(res)
    _narrow(fig)
    np.testing.assert_array_equal(_line(fig, "profile:real")[1], res["real"])
    np.testing.assert_array_equal(_line(fig, "profile:proposed")[1], res["effective"]["proposed"])
    np.testing.assert_array_equal(_line(fig, "coverage")[1], res["coverage"])


def test_noise_figure():
    res = {"curves": {"B30": (np.array([1.0, 3.0]), np.array([20.0, 12.0]))}, "sd": 12.0, "sd_thin": 20.0,
           "sd_simulated": 9.0, "thickness": 3.0, "kernel": "B30", "mAs": 200.0}
    fig = F.noise_figure(res)
    _narrow(fig)
    np.testing.assert_array_equal(_line(fig, "noise:B30")[1], [20.0, 12.0])
    np.testing.assert_array_equal(_bars(fig, "noise:simulated"), [20.0, 12.0, 9.0])


def test_errors_figure():
    table = {"proposed": {"rmse_paired": 1.0, "rmse_own": 1.0}, "average": {"rmse_paired": 9.0, "rmse_own": 0.5}}
    res = {"table": table, "n_real": 3, "thickness": 3.0, "interval": 2.0, "z": np.arange(5.0),
           "truth": np.zeros(5), "real": (np.array([0.0, 2.0]), np.array([1.0, 2.0])),
           "series": {"proposed": (np.array([0.0, 2.0]), np.array([1.5, 2.5]))}}
    fig = F.errors_figure(res)
    _narrow(fig)
    np.testing.assert_array_equal(_bars(fig, "rmse_paired"), [1.0, 9.0])
    np.testing.assert_array_equal(_bars(fig, "rmse_own"), [1.0, 0.5])
    np.testing.assert_array_equal(_line(fig, "z:proposed")[1], [1.5, 2.5])


def test_misplaced_figure_marks_each_minimum():
    idx = np.arange(3, 8)
    res = {"thin_index": idx, "mse": {"real": np.array([5.0, 2, 1, 3, 4]), "average": np.array([5.0, 4, 3, 2, 1])},
           "best": {"real": 5, "average": 7}, "nearest": 5, "index_guess": 7, "j": 2}
    fig = F.misplaced_figure(res)
    _narrow(fig)
    assert _line(fig, "best:real")[0][0] == 5 and _line(fig, "best:real")[1][0] == 1.0
    assert _line(fig, "best:average")[0][0] == 7


def test_wrong_pairs_figure_and_missing_keys():
    res = {"table": {"proposed": {"rmse": 3.0}, "average": {"rmse": 30.0}},
           "thin": (np.arange(10.0), np.zeros(10)), "real": (np.arange(0, 10.0, 2), np.zeros(5)),
           "sr": {"proposed": np.ones(12), "average": np.full(8, 2.0)}}
    fig = F.wrong_pairs_figure(res)
    _narrow(fig)
    np.testing.assert_array_equal(_bars(fig, "sr_rmse"), [3.0, 30.0])
    assert _line(fig, "z:sr:proposed")[0].size == 10  # no more slices drawn than thin positions
    with pytest.raises(ValueError, match="lacks"):
        F.wrong_pairs_figure({"table": {}})
