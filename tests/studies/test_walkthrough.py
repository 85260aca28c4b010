"""Tests of t2tcore.studies.walkthrough (chapter 00): the error table against exact slices, its words, and run."""

from __future__ import annotations

import numpy as np
import pytest

from t2tcore.evaluation import analytic
from t2tcore.studies import walkthrough


def test_error_table_pairs_by_index_and_at_own_positions():
    def obj(z):
        return np.broadcast_to(np.asarray(z, dtype=float)[:, None, None] * 10.0, (len(z), 2, 2)).astype(np.float32)

    slicer = analytic.ExactSlicer(obj, (-12.0, 30.0))
    ref_pos = np.arange(0.0, 20.0, 2.0)
    refs = {"triangle": slicer.slices(ref_pos, "triangle", 3.0)}
    shifted = ref_pos + 1.0  # right slices, at positions 1 mm off the scanner's
    results = {"exact": (refs["triangle"], ref_pos), "shifted": (slicer.slices(shifted, "triangle", 3.0), shifted)}
    t = walkthrough.error_table(results, ref_pos, refs, slicer, 3.0, (0.0, 18.0))
    assert t.loc["exact", "RMSE paired, triangle (HU)"] == 0.0
    assert t.loc["shifted", "max |shift| paired (mm)"] == pytest.approx(1.0)
    # f = 10 z: 1 mm off is 10 HU off when paired by index, 0 at its own positions
    assert t.loc["shifted", "RMSE paired, triangle (HU)"] == pytest.approx(10.0, abs=0.05)
    assert t.loc["shifted", "RMSE own positions, triangle (HU)"] == pytest.approx(0.0, abs=1e-3)
    summary = walkthrough.position_summary(results, ref_pos)
    assert list(summary.index) == ["exact", "shifted", "scanner"] and summary.loc["shifted", "first (mm)"] == 1.0


def test_findings_quote_the_table():
    import pandas as pd

    t = pd.DataFrame({"max |shift| paired (mm)": [0.0, 6.4], "RMSE paired, triangle (HU)": [1.79, 23.12],
                      "RMSE own positions, triangle (HU)": [1.79, 4.29], "RMSE own positions, rect (HU)": [3.92, 1.98]},
                     index=pd.Index(["proposed", "average"], name="method"))
    text = walkthrough.findings(t)
    assert "drift up to 6.4 mm" in text and "23.12 to 23.12 HU, against 1.79 HU for `proposed`" in text
    assert "against the triangle reference `proposed` (1.79 HU); against the rect reference `average` (1.98 HU)" in text
    with pytest.raises(ValueError, match="proposed"):
        walkthrough.findings(t.drop(index="proposed"))


def test_run_makes_the_chapter_from_its_settings():
    """The slice counts follow from the geometry alone: 56 thin slices over 42.8 mm, the scanner's 3 mm grid every
    2 mm (22 slices), the index methods' groups of three (18)."""
    res = walkthrough.run(walkthrough.Settings(profile="smoke"))
    assert res.thin_positions.size == 56 and res.n_xy == 48
    assert res.coverage == (-20.0, pytest.approx(22.8))
    assert res.ref_positions.size == 22 and np.allclose(np.diff(res.ref_positions), 2.0)
    assert res.errors.loc["proposed", "slices"] == 22 and res.errors.loc["direct", "slices"] == 18
    assert res.positions.loc["scanner", "slices"] == 22
    assert np.allclose(res.thin, res.slicer.slices(res.thin_positions, "rect", 1.0))
    assert res.weights["j"] == 9 and set(res.weights["weights"]) == set(res.settings.methods)
    assert [name for name, *_ in res.z_lines["lines"]] == ["through the sphere", "through the oscillating box"]
    assert res.findings == walkthrough.findings(res.errors)
