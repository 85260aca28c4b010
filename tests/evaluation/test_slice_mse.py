"""Tests of t2tcore.evaluation.slice_mse: Fig. 7's MSE curves and the slice each method pairs."""

from __future__ import annotations

import numpy as np
import pytest

from t2tcore.evaluation import slice_mse as fd
from t2tcore.simulation.simulate import simulate_thick
from tests.evaluation.stacks import object_series


def test_slice_similarity_literal_and_argmin():
    rng = np.random.default_rng(3)
    thin = rng.normal(size=(8, 5, 5)).astype(np.float32)
    thick = thin[4] + 0.1
    got = fd.slice_similarity(thick, thin, [2, 3, 4, 5])
    want = [np.mean((thick.astype(float) - thin[i].astype(float)) ** 2) for i in (2, 3, 4, 5)]
    np.testing.assert_allclose(got, want)
    curve = fd.similarity_curve(thick, thin, np.arange(8) * 0.8, position=3.3, half_width=2)
    np.testing.assert_array_equal(curve["indices"], [2, 3, 4, 5, 6])
    assert curve["nearest_index"] == 4 and curve["best_index"] == 4
    assert curve["best_position"] == pytest.approx(3.2)
    with pytest.raises(ValueError, match="thin_indices"):
        fd.slice_similarity(thick, thin, [8])


def test_similarity_curve_shows_the_index_shift():
    # Fig. 7 in miniature: a real thick slice centred on thin slice 5 (0.0 mm), and the
    # first 'average' slice of a series starting there, the mean of thin slices 5..7,
    # which looks most like slice 6 (0.8 mm): the index groups shift the content.
    thin = object_series(np.arange(-4.0, 12.0, 0.8), 1.0)
    assert thin.positions[5] == pytest.approx(0.0)
    real = simulate_thick(thin.volume, thin.positions, 3.0, target_positions=[0.0])[0][0]
    avg = simulate_thick(thin.volume[5:], thin.positions[5:], 3.0, method="average", thin_thickness=1.0)[0][0]
    idx = np.arange(3, 10)
    assert fd.similarity_curve(real, thin.volume, thin.positions, idx)["best_index"] == 5
    assert fd.similarity_curve(avg, thin.volume, thin.positions, idx)["best_index"] == 6


def test_similarity_slices_pick_what_each_method_pairs_with_the_real_slice(thin_thick):
    thin, thick = thin_thick
    got = fd.similarity_slices(thin, thick, ["proposed", "average", "direct"], 0, interval=2.0)
    assert got["real"]["position"] == 0.0
    np.testing.assert_array_equal(got["real"]["slice"], thick.volume[0])
    # the proposed method puts its first slice at the first thin position (Algorithm 1)
    assert got["proposed"]["position"] == 0.0
    want = simulate_thick(thin.volume, thin.positions, 3.0, 2.0)[0][0]
    np.testing.assert_array_equal(got["proposed"]["slice"], want)
    # average: first group (thin slices 0..2, centre 0.8 mm); resizing 12 -> 15 slices keeps slice 0
    assert got["average"]["position"] == pytest.approx(0.8)
    np.testing.assert_allclose(got["average"]["slice"], thin.volume[:3].mean(axis=0), atol=1e-3)
    np.testing.assert_array_equal(got["direct"]["slice"], thin.volume[1])
    # an interior slice: the index-based slice is interpolated between groups
    mid = fd.similarity_slices(thin, thick, ["average"], 7)
    assert mid["real"]["position"] == 14.0
    s = (7 + 0.5) * 12 / 15 - 0.5  # 5.5: half-way between groups 5 and 6 (12.8 and 15.2 mm)
    assert s == pytest.approx(5.5)
    assert mid["average"]["position"] == pytest.approx(14.0)
    many = fd.similarity_slices(thin, thick, ["average", "proposed"], [0, 7])
    assert len(many) == 2 and many[1]["average"]["position"] == pytest.approx(14.0)
    np.testing.assert_array_equal(many[0]["proposed"]["slice"], want)
    np.testing.assert_array_equal(many[1]["average"]["slice"], mid["average"]["slice"])
    with pytest.raises(ValueError, match="index must be"):
        fd.similarity_slices(thin, thick, ["average"], 15)
