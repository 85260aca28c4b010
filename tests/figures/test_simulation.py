"""The walkthrough figures (chapter 00) draw exactly the data they are given."""

import numpy as np
import pytest

from t2tcore.figures import simulation as figs
from tests.figures._artists import artists, fits_the_column, image, line_xy, one


def test_thin_layout_draws_one_slab_per_slice_and_the_spacing():
    pos = np.array([0.0, 0.8, 1.6, 3.6, 4.0])
    fig = figs.thin_layout(pos, 1.0)
    assert fits_the_column(fig) and len(fig.axes) == 2
    slabs = artists(fig, "slab")
    assert len(slabs) == 5 and [s.get_x() for s in slabs] == pytest.approx(pos - 0.5)
    x, y = line_xy(fig, "spacing")
    np.testing.assert_allclose(y, [0.8, 0.8, 2.0, 0.4])
    np.testing.assert_allclose(x, [0.4, 1.2, 2.6, 3.8])
    assert fig.axes[1].get_ylabel() == "spacing (mm)"
    with pytest.raises(ValueError):
        figs.thin_layout([1.0], 1.0)


def test_weights_draws_the_shapes_the_weights_and_the_returned_positions():
    dz = np.linspace(-3, 3, 7)
    shapes = {"triangle": np.maximum(0, 1 - np.abs(dz) / 3), "box": (np.abs(dz) <= 1.5).astype(float)}
    tp = np.arange(6) * 0.8
    w = {"proposed": np.array([0.1, 0.3, 0.4, 0.2, 0.0, 0.0]), "direct": np.array([0, 0, 1.0, 0, 0, 0])}
    fig = figs.weights(dz, shapes, tp, w, {"proposed": 1.6, "direct": 1.6}, 1.5, 3, 3.0)
    assert fits_the_column(fig) and len(fig.axes) == 2
    np.testing.assert_allclose(line_xy(fig, "shape:box")[1], shapes["box"])
    segs = one(fig, "weights:proposed").get_segments()
    # one bar per thin slice with a weight, height weight / max weight
    assert [s[0][0] for s in segs] == pytest.approx(tp[:4])
    assert [s[1][1] - s[0][1] for s in segs] == pytest.approx(w["proposed"][:4] / 0.4)
    assert line_xy(fig, "position:direct")[0] == pytest.approx([1.6])
    assert [t.get_text() for t in fig.axes[1].get_yticklabels()] == ["thin", "proposed", "direct"]


def test_positions_draws_each_methods_positions_and_drift():
    ref = np.arange(0.0, 10.0, 2.0)
    pos = {"proposed": ref.copy(), "average": np.array([0.8, 3.2, 5.6])}
    fig = figs.positions(np.arange(0, 10, 0.8), ref, pos)
    assert fits_the_column(fig) and len(fig.axes) == 2
    np.testing.assert_allclose(line_xy(fig, "positions:average")[0], pos["average"])
    x, y = line_xy(fig, "drift:average")
    np.testing.assert_allclose(x, [0, 1, 2])
    np.testing.assert_allclose(y, pos["average"] - ref[:3])
    np.testing.assert_allclose(line_xy(fig, "drift:proposed")[1], 0.0)


def test_coronal_figures_show_the_images_given():
    x = np.linspace(-5, 5, 6)
    img = np.arange(24, dtype=float).reshape(4, 6)
    z = np.arange(4.0)
    fig = figs.coronal_inputs(x, [("thin", img, z), ("ref", img + 1, z)])
    assert fits_the_column(fig) and len(fig.axes) == 2
    np.testing.assert_allclose(image(fig, "coronal:ref"), img + 1)
    fig = figs.coronal_methods(x, {"a": (img, z), "b": (2 * img, z)}, {"a": img - 1, "b": img * 0}, (0, 3))
    assert len(fig.axes) == 5  # 2 x 2 images and a colour bar
    np.testing.assert_allclose(image(fig, "image:b"), 2 * img)
    np.testing.assert_allclose(image(fig, "error:a"), img - 1)


def test_z_lines_plots_object_reference_and_methods():
    zo = np.linspace(0, 10, 11)
    zr = np.linspace(0, 10, 5)
    lines = [("sphere", np.sin(zo), np.cos(zr), {"proposed": (np.array([1.0, 3.0]), np.array([5.0, 6.0]))})]
    fig = figs.z_lines(zo, zr, lines, (0, 10))
    assert fits_the_column(fig) and len(fig.axes) == 1
    np.testing.assert_allclose(line_xy(fig, "object")[1], np.sin(zo))
    np.testing.assert_allclose(line_xy(fig, "reference")[1], np.cos(zr))
    np.testing.assert_allclose(line_xy(fig, "method:proposed")[1], [5.0, 6.0])
    assert fig.axes[0].get_title() == "sphere"
