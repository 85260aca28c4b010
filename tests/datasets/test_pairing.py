"""Tests of t2tcore.datasets.pairing: a data set's index pairing of thick and thin slices
against their positions, checked with literal loops and hand-made geometries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from t2tcore.datasets import pairing
from t2tcore.evaluation import fidelity
from t2tcore.io import Series


def _series(positions, thickness, value=0.0, size=6, spread=1000.0):
    pos = np.asarray(positions, dtype=float)
    rng = np.random.default_rng(len(pos))
    vol = value + spread * rng.random((pos.size, size, size))
    return Series.from_array(vol.astype(np.float32), pos, (0.8, 0.8), thickness)


def test_index_offsets_against_a_literal_loop():
    thin = 10.0 + np.arange(23) * 1.0  # 23 thin slices: 4 complete groups of 5, 3 left over
    thick = np.array([12.0, 17.5, 22.0, 27.0, 32.0, 37.0])
    want = []
    for z in range(len(thick)):
        group = list(range(5 * z, 5 * z + 5))
        if group[-1] >= len(thin):
            break
        want.append(thick[z] - sum(thin[i] for i in group) / 5)
    got = pairing.index_offsets(thin, thick, 5)
    np.testing.assert_allclose(got, want)
    np.testing.assert_allclose(got, [0.0, 0.5, 0.0, 0.0])  # the second slice sits 0.5 mm off
    # fewer thick than groups: one offset per thick slice
    assert pairing.index_offsets(thin, thick[:2], 5).shape == (2,)
    with pytest.raises(ValueError, match="increasing"):
        pairing.index_offsets(thin[::-1], thick, 5)
    with pytest.raises(ValueError, match="positive integer"):
        pairing.index_offsets(thin, thick, 0)
    with pytest.raises(ValueError, match="positive integer"):
        pairing.index_offsets(thin, thick, 2.5)


def _case(offset=0.0, n_thick=4):
    thin = _series(np.arange(5 * n_thick) * 1.0, 1.0)
    thick = _series(2.0 + 5.0 * np.arange(n_thick) + offset, 5.0)
    return thin, thick


def test_count_alignment_is_the_index_pairing_only_when_it_compares_those_slices():
    thin, thick = _case()
    sims = fidelity.simulate_methods(thin, thick, ["proposed", "average", "direct"], thickness=5.0)
    prs = fidelity.aligned_pairs(thin, thick, sims)
    assert pairing.count_is_index_pairing(prs, thin.positions, 5) is True
    # literally: the count-aligned average of real slice z is the mean of thin slices 5z..5z+4
    avg = next(p for p in prs if p.method == "average" and p.alignment == "count")
    for z in range(4):
        np.testing.assert_allclose(avg.test[z], thin.volume[5 * z:5 * z + 5].mean(axis=0), rtol=1e-5, atol=1e-3)
    # no index-based method: nothing to say
    assert pairing.count_is_index_pairing([p for p in prs if p.method == "proposed"], thin.positions, 5) is None
    # a thick series shifted beyond the thin coverage loses its last slice: the count resize mixes groups
    thin2, thick2 = _case(offset=3.0)
    prs2 = fidelity.aligned_pairs(thin2, thick2, fidelity.simulate_methods(thin2, thick2, ["average"], thickness=5.0))
    assert prs2[0].n_ref_dropped == 1
    assert pairing.count_is_index_pairing(prs2, thin2.positions, 5) is False
    # groups of 3 (a 3 mm simulation) are not the 5:1 pairing
    prs3 = fidelity.aligned_pairs(thin, thick, fidelity.simulate_methods(thin, thick, ["average"], thickness=3.0))
    assert pairing.count_is_index_pairing(prs3, thin.positions, 5) is False


def test_pair_geometry_rows():
    thin, thick = _case(offset=-2.0)
    prs = fidelity.aligned_pairs(thin, thick, fidelity.simulate_methods(thin, thick, ["average"], thickness=5.0))
    g = pairing.pair_geometry(thin, thick, ratio=5, pairs=prs)
    assert (g["n_thin"], g["n_thick"], g["ratio"], g["ratio_holds"]) == (20, 4, 5, True)
    assert g["thin_spacing_mm"] == pytest.approx(1.0) and g["thick_spacing_mm"] == pytest.approx(5.0)
    assert g["thick_z_first"] == pytest.approx(0.0) and g["thin_z_last"] == pytest.approx(19.0)
    assert g["offset_min_mm"] == pytest.approx(-2.0) and g["offset_max_mm"] == pytest.approx(-2.0)
    assert g["n_offsets"] == 4 and g["index_agrees"] is False
    assert g["count_is_index"] is True  # the count alignment still pairs by index: that is the point
    assert g["normal_angle_deg"] == pytest.approx(0.0, abs=1e-6) and g["hu_like"] is True
    # without a ratio: the geometry only
    g0 = pairing.pair_geometry(thin, thick)
    assert g0["ratio"] is None and g0["index_agrees"] is None and g0["n_thin"] == 20
    # values of a [0, 1] scale are not HU
    thin01 = _series(thin.positions, 1.0, spread=1.0)
    assert pairing.pair_geometry(thin01, thick)["hu_like"] is False
    # one case with one thin slice too many: the 5:1 relation fails
    thin21 = _series(np.arange(21) * 1.0, 1.0)
    g21 = pairing.pair_geometry(thin21, _case()[1], ratio=5)
    assert g21["ratio_holds"] is False and g21["index_agrees"] is False and g21["offset_max_mm"] == pytest.approx(0.0)


def test_pairing_text_names_the_cases_that_disagree():
    rows = []
    for name, offset, n_thin in (("a", 0.0, 20), ("b", -2.0, 20), ("c", 0.0, 21)):
        thin = _series(np.arange(n_thin) * 1.0, 1.0)
        thick = _series(2.0 + 5.0 * np.arange(4) + offset, 5.0)
        prs = fidelity.aligned_pairs(thin, thick, fidelity.simulate_methods(thin, thick, ["average"], thickness=5.0))
        rows.append({"patient": name, **pairing.pair_geometry(thin, thick, ratio=5, pairs=prs)})
    text = pairing.pairing_text(pd.DataFrame(rows))
    assert "thin slices 5z … 5z+4" in text
    assert "In 1 of 3 cases the positions agree" in text
    assert "5:1 slice relation fails in 1 case(s) (c: 21 thin, 4 thick)" in text
    assert "b (-2.00 mm for every slice)" in text
    assert "exactly as the loader does" in text and "in 3 of 3 cases" in text
    # no ratio (the paper's data set): nothing to say
    plain = pd.DataFrame([{"patient": "x", **pairing.pair_geometry(*_case())}])
    assert pairing.pairing_text(plain) == "" and pairing.pairing_text(pd.DataFrame()) == ""
