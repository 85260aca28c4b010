"""The clinical figures (chapter 07) draw exactly the data they are given."""

import numpy as np
import pandas as pd
import pytest

from t2tcore.figures import clinical as figs
from tests.figures._artists import artists, fits_the_column, image, line_xy, one


def test_airway_mips_are_projections_cropped_to_the_masks_with_the_head_up():
    m = np.zeros((10, 30, 40), bool)
    m[9, 12, 13] = True  # top slice (most cranial)
    m[0:3, 14, 16] = True
    masks = {"truth": m, "thick": np.zeros_like(m), "SR naive": m, "SR proposed": m[::-1].copy()}
    fig = figs.airway_mips(masks, (0.8, 2.0, 2.0), margin_px=1)
    assert fits_the_column(fig) and len(fig.axes) == 8
    cor = image(fig, "mip:truth")  # (z, x) cropped to x 12..17 (margin 1 around 13..16)
    assert cor.shape == (10, 6)
    assert cor[0, 1] == 1 and cor[9, 4] == 1 and cor.sum() == 4  # row 0 = the top slice
    ax = image(fig, "axial:truth")  # (y, x) cropped to y 11..15, x 12..17
    assert ax.shape == (5, 6) and ax[1, 1] == 1 and ax[3, 4] == 1 and ax.sum() == 2
    np.testing.assert_array_equal(image(fig, "mip:SR proposed"), cor[::-1])
    assert image(fig, "mip:thick").sum() == 0
    assert one(fig, "mip:truth").axes.get_aspect() == pytest.approx(0.4)
    with pytest.raises(ValueError):
        figs.airway_mips({"truth": m, "thick": m[:5]}, (1, 1, 1), labels=("truth", "thick"))


def test_segmentation_scores_plot_every_patient_and_the_median():
    seg = pd.DataFrame({"input": ["thick"] * 3 + ["SR proposed"] * 3, "dice": [0.5, 0.6, 0.7, 0.8, 0.9, 0.85],
                        "branches_detected": [0.2, 0.3, 0.4, 0.5, 0.6, 0.7]})
    fig = figs.segmentation_scores(seg, ["thick", "SR proposed"])
    assert fits_the_column(fig) and len(fig.axes) == 2
    pts = one(fig, "dice:SR proposed").get_offsets()
    assert sorted(pts[:, 1]) == pytest.approx([0.8, 0.85, 0.9])
    _, y = line_xy(fig, "branches_detected:median:thick")
    assert y == pytest.approx([0.3, 0.3])


def test_km_curves_start_at_one_and_step_down():
    km = {"thin": {"curves": [("low", np.array([1.0, 2.0]), np.array([0.5, 0.0])),
                              ("middle", np.array([3.0]), np.array([0.5])),
                              ("high", np.array([0.5]), np.array([0.0]))],
                   "logrank": {"statistic": 4.2, "dof": 2, "p": 0.1225}, "n": 6},
          "thick": {"curves": [("low", np.array([1.0]), np.array([1.0]))] * 3,
                    "logrank": {"statistic": 0.0, "dof": 2, "p": 1.0}, "n": 6}}
    fig = figs.km_curves(km, "MeshVolume")
    assert fits_the_column(fig)
    x, y = line_xy(fig, "km:thin:0")
    assert x.tolist() == [0.0, 1.0, 2.0] and y.tolist() == [1.0, 0.5, 0.0]
    assert "p = 0.122" in one(fig, "km:thin:0").axes.get_title()
    assert len(artists(fig, "km:thick:2")) == 1


def test_feature_agreement_puts_the_reference_on_x():
    ref = pd.DataFrame({"MeshVolume": [1.0, 2.0, 3.0]}, index=["a", "b", "c"])
    thick = pd.DataFrame({"MeshVolume": [1.5, np.nan, 2.5]}, index=["a", "b", "c"])
    fig = figs.feature_agreement({"thick": thick}, ref, ["thick"], ["MeshVolume"])
    assert fits_the_column(fig)
    off = np.asarray(one(fig, "agree:MeshVolume:thick").get_offsets())
    assert off[:, 0].tolist() == [1.0, 2.0, 3.0]
    assert off[0, 1] == 1.5 and off[2, 1] == 2.5
