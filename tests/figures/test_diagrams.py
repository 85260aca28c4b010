"""The book's diagrams draw what the package does, checked against literal loops."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from t2tcore.figures import TEXT_WIDTH_IN, diagrams


def _data(fig: Figure, gid: str) -> tuple[np.ndarray, np.ndarray]:
    """x and y of the one line drawn with ``gid``."""
    found = [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_gid() == gid]
    assert len(found) == 1, f"{gid}: {len(found)} lines"
    return np.asarray(found[0].get_xdata(), float), np.asarray(found[0].get_ydata(), float)


def _algorithm1(s: float, e: float, d: float) -> list[float]:
    # the paper's while loop, literally (positions as s + k d to avoid accumulated round-off)
    out, k = [], 0
    while s + k * d <= e + 1e-9:
        out.append(s + k * d)
        k += 1
    return out


def test_slab_average_is_the_overlap_over_the_width():
    # a 2 mm structure [1, 3]: a 1 mm slab centred at 1 covers [0.5, 1.5] -> 0.5; at 2 fully inside -> 1
    got = diagrams.slab_average([1.0, 2.0, 3.6, 10.0], 1.0, 1.0, 3.0)
    np.testing.assert_allclose(got, [0.5, 1.0, 0.0, 0.0])
    # a 3 mm slab at 2 covers [0.5, 3.5]: the 2 mm structure fills 2/3 of it
    np.testing.assert_allclose(diagrams.slab_average([2.0], 3.0, 1.0, 3.0), [2 / 3])
    with pytest.raises(ValueError, match="lo < hi"):
        diagrams.slab_average([0.0], 1.0, 2.0, 1.0)
    with pytest.raises(ValueError, match="width"):
        diagrams.slab_average([0.0], 0.0, 0.0, 1.0)


def test_misplacement_positions_of_patient_l286():
    pos = diagrams.misplacement_positions(525, 0.8, 1.0, 3.0, 2.0)
    thin = [0.8 * i for i in range(525)]
    np.testing.assert_allclose(pos["thin"], thin)
    # the paper's numbers for L286: 210 real thick slices, and 525 / 3 = 175 by counting
    assert pos["scanner"].size == 210 and pos["proposed"].size == 210
    np.testing.assert_allclose(pos["proposed"], _algorithm1(thin[0], thin[-1], 2.0))
    means = [sum(thin[3 * j:3 * j + 3]) / 3 for j in range(525 // 3)]
    centres = [thin[3 * j + 1] for j in range(525 // 3)]
    np.testing.assert_allclose(pos["average"], means)
    np.testing.assert_allclose(pos["direct"], centres)
    assert pos["average"].size == 175


@pytest.mark.parametrize("bad", [dict(n_thin=0), dict(n_thin=2.5), dict(n_thin=5, interval=0.0)])
def test_misplacement_positions_rejects_bad_arguments(bad):
    with pytest.raises(ValueError):
        diagrams.misplacement_positions(**bad)


def test_slice_misplacement_draws_the_computed_positions_and_offsets():
    fig = diagrams.slice_misplacement(n_thin=30, thin_interval=0.8, show_first=5)
    assert isinstance(fig, Figure) and fig.get_size_inches()[0] <= TEXT_WIDTH_IN + 1e-9
    thin = [0.8 * i for i in range(30)]
    grid = _algorithm1(thin[0], thin[-1], 2.0)
    x, _ = _data(fig, "positions:scanner")
    np.testing.assert_allclose(x, grid[:5])
    x, _ = _data(fig, "positions:average")
    np.testing.assert_allclose(x, [sum(thin[3 * j:3 * j + 3]) / 3 for j in range(5)])
    # the drift of the group means: slice j sits at 0.8 + 2.4 j, the scanner's at 2 j
    j, off = _data(fig, "offset:average")
    np.testing.assert_allclose(off, [0.8 + 2.4 * k - 2.0 * k for k in j.astype(int)])
    _, off = _data(fig, "offset:proposed")
    np.testing.assert_allclose(off, 0.0, atol=1e-12)


def test_thin_and_thick_records_less_contrast_in_thick_slices():
    fig = diagrams.thin_and_thick(structure_mm=2.0)
    assert fig.get_size_inches()[0] <= TEXT_WIDTH_IN + 1e-9
    x_thin, _ = _data(fig, "positions:thin")
    x_thick, _ = _data(fig, "positions:thick")
    np.testing.assert_allclose(np.diff(x_thin), 0.8)
    np.testing.assert_allclose(np.diff(x_thick), 2.0)
    _, rec_thin = _data(fig, "recorded:thin")
    _, rec_thick = _data(fig, "recorded:thick")
    # a 1 mm slab fits inside a 2 mm structure, a 3 mm slab cannot: at most 2/3 of it
    assert rec_thin.max() == pytest.approx(1.0)
    assert rec_thick.max() <= 2 / 3 + 1e-12
    # each value is the structure's mean over the slab, checked by brute-force sampling
    lo = 8.0 - 1.0 + 0.3 * 0.8  # where thin_and_thick puts the structure (span 16 mm)
    for xs, ys, w in ((x_thin, rec_thin, 1.0), (x_thick, rec_thick, 3.0)):
        for c, v in zip(xs, ys):
            z = np.linspace(c - w / 2, c + w / 2, 20001)
            assert v == pytest.approx(np.mean((z >= lo) & (z <= lo + 2.0)), abs=1e-3)


def test_thickness_vs_interval_rows_are_spaced_by_their_interval():
    fig = diagrams.thickness_vs_interval(3.0, (3.0, 2.0, 4.5), n_slices=4)
    for d in (3.0, 2.0, 4.5):
        x, _ = _data(fig, f"centres:d={d:g}")
        np.testing.assert_allclose(x, [0, d, 2 * d, 3 * d])
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert "contiguous" in titles[0] and "overlapping" in titles[1] and "gaps" in titles[2]
    with pytest.raises(ValueError):
        diagrams.thickness_vs_interval(3.0, ())


def test_weight_functions_triangle_is_equation_1():
    t = 3.0
    fig = diagrams.weight_functions(t)
    x, y = _data(fig, "weight:triangle")
    np.testing.assert_allclose(y, [max(0.0, 1 - abs(v) / t) for v in x])
    x, y = _data(fig, "weight:gaussian")
    # the Gaussian has the same FWHM: weight 1/2 at |p - l| = t / 2
    assert np.interp(t / 2, x, y) == pytest.approx(0.5, abs=2e-3)
    x, y = _data(fig, "weight:box")
    assert set(np.unique(y)) == {0.0, 1.0} and np.all(y[np.abs(x) < t / 2] == 1)


def test_algorithm2_weights_are_normalised_triangle_weights():
    # an irregular thin series: a gap between 2.4 and 4.4, a denser stretch after it
    thin = [0.0, 0.8, 1.6, 2.4, 4.4, 4.8, 5.2, 5.6, 6.4, 7.2]
    p, t = 3.0, 3.0
    fig = diagrams.algorithm2_weights(thin, p, t)
    x, g = _data(fig, "weight:g")
    np.testing.assert_allclose(g, [max(0.0, 1 - abs(p - v) / t) for v in x])
    x, w = _data(fig, "weight:normalised")
    total = sum(max(0.0, 1 - abs(p - v) / t) for v in thin)
    np.testing.assert_allclose(w, [max(0.0, 1 - abs(p - v) / t) / total for v in x])
    assert w.sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="no thin slice"):
        diagrams.algorithm2_weights(thin, 50.0, t)
