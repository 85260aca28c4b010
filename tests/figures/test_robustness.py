"""The robustness figures (chapter 04) draw exactly the data they are given."""

import numpy as np
import pandas as pd
import pytest

from t2tcore.figures import robustness as figs
from tests.figures._artists import fits_the_column, line_xy


def test_calibrated_kernels_are_drawn_with_unit_area():
    dz = np.linspace(-5, 5, 101)
    profiles = pd.DataFrame({"axis": ["pitch", "pitch", "row_width"], "value": [0.5, 1.5, 0.6],
                             "dose": ["noiseless", "full", "noiseless"], "fwhm_mm": [2.7, 2.8, 2.9],
                             "profile": [lambda z: np.maximum(0, 1 - np.abs(z) / 2)] * 3})
    fig = figs.calibrated_kernels(profiles, {"box": lambda z: (np.abs(z) <= 1.5).astype(float)}, dz=dz,
                                  axes_order=("pitch", "row_width"))
    assert fits_the_column(fig) and len(fig.axes) == 2
    x, y = line_xy(fig, "kernel:pitch:0.5")
    assert np.trapezoid(y, x) == pytest.approx(1.0)
    tri = np.maximum(0, 1 - np.abs(dz) / 2)
    np.testing.assert_allclose(y, tri / np.trapezoid(tri, dz))
    assert len([a for a in fig.findobj() if getattr(a, "get_gid", lambda: None)() == "kernel:pitch:1.5"]) == 0  # full dose


def test_error_vs_setting_plots_means_per_dose_axis_and_method():
    rows = []
    for dose in ("noiseless", "full"):
        for axis, values in (("z_weighting", ["trapezoid", "triangle"]), ("pitch", [0.5, 1.5])):
            for i, v in enumerate(values):
                for m, base in (("proposed", 2.0), ("average", 20.0)):
                    rows.append({"axis": axis, "value": v, "dose": dose, "method": m, "mean": base + i,
                                 "sd": np.nan if m == "average" else 0.1})
    rk = pd.DataFrame(rows)
    fig = figs.error_vs_setting(rk, ["proposed", "average"], ["noiseless", "full"], base={"pitch": 0.5},
                                axes_order=("z_weighting", "pitch"))
    assert fits_the_column(fig) and len(fig.axes) == 4
    x, y = line_xy(fig, "error:full:pitch:average")
    np.testing.assert_allclose(x, [0.5, 1.5]) and np.testing.assert_allclose(y, [20.0, 21.0])
    x, y = line_xy(fig, "error:noiseless:z_weighting:proposed")
    np.testing.assert_allclose(x, [0, 1]) and np.testing.assert_allclose(y, [2.0, 3.0])  # categorical axis
    assert fig.axes[0].get_yscale() == "log"
    lin = figs.error_vs_setting(rk, ["proposed"], ["full"], log=False, axes_order=("pitch",))
    assert lin.axes[0].get_yscale() == "linear" and lin.axes[0].get_ylim()[0] == 0
