"""Tests of t2tcore.studies.similarity: the Fig. 7 study over a cohort and its summaries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from t2tcore.datasets import StudyGroup
from t2tcore.evaluation import fidelity
from t2tcore.studies import similarity
from t2tcore.io import Series


def _pair(shift):
    thin_z = np.arange(0.0, 16.0, 0.8)
    thick_z = np.arange(0.0, 16.0, 2.0)
    y, x = np.mgrid[0:12, 0:12].astype(np.float64)

    def obj(z):
        return np.stack([np.where((x - 6) ** 2 + (y - 6) ** 2 < 20, 50 * np.sin((zi + shift) / 1.7), -1000.0)
                         + 200.0 * ((x - 3 - 0.5 * zi) ** 2 < 2) for zi in z]).astype(np.float32)

    thick = np.mean([obj(thick_z + d) for d in (-1.0, 0.0, 1.0)], axis=0).astype(np.float32)
    return Series.from_array(obj(thin_z), thin_z, (1.0, 1.0), 1.0), Series.from_array(thick, thick_z, (1.0, 1.0), 3.0)


def _group():
    return StudyGroup("B30", "full", [(f"P{i}", *_pair(0.9 * i)) for i in range(2)])


def test_run_similarity_rows_equal_the_curves_computed_directly():
    methods = ["proposed", "average", "calibrated"]  # calibrated is left out (no profile here)
    res = similarity.run_similarity([_group()], methods, half_width=2, interior_index=3)
    rows = res.rows
    assert set(rows["method"]) == {"real", "proposed", "average"}
    thin, thick = _pair(0.9)
    n_in = int(fidelity.covered(thin.positions, thick.positions).sum())
    sl = fidelity.similarity_slices(thin, thick, ["proposed", "average"], list(range(n_in)), thickness=3.0, interval=2.0)
    for j in (0, 3, n_in - 1):
        for m in ("real", "average"):
            p_real = sl[j]["real"]["position"]
            nearest = int(np.argmin(np.abs(thin.positions - p_real)))
            idx = np.arange(max(0, nearest - 2), min(thin.positions.size, nearest + 3))
            mse = [np.mean((sl[j][m]["slice"].astype(np.float64) - thin.volume[i]) ** 2) for i in idx]
            r = rows[(rows.patient == "P1") & (rows["index"] == j) & (rows.method == m)].iloc[0]
            assert r["best_thin"] == idx[int(np.argmin(mse))]
            assert r["best_minus_real_mm"] == pytest.approx(thin.positions[r["best_thin"]] - p_real)
            assert r["where"] == ("first" if j == 0 else "last" if j == n_in - 1 else "interior")
    # same_best_as_real compares with the real slice of the same series and index
    real = rows[rows.method == "real"].set_index(["patient", "index"])["best_thin"]
    for r in rows.itertuples():
        assert r.same_best_as_real == (r.best_thin == real[(r.patient, r.index)])
    # the figure: the first patient, slices 0 and 3, every method, with the real positions
    assert res.figure["patient"] == "P0"
    assert sorted({j for j, _ in res.curves}) == [0, 3] and len(res.curves) == 6
    assert res.figure["real_positions"][3] == pytest.approx(rows[(rows.patient == "P0") & (rows["index"] == 3)]
                                                             .real_position.iloc[0])


def test_summarise_against_a_hand_made_table():
    rows = pd.DataFrame({
        "patient": ["A", "A", "B", "B"], "where": ["first"] * 4, "method": ["real", "direct", "real", "direct"],
        "real_position": [0.0, 0.0, 0.0, 0.0], "slice_position": [0.0, 0.8, 0.0, -0.8],
        "best_minus_real_mm": [0.0, 0.8, 0.0, -0.8], "same_best_as_real": [True, False, True, True]})
    s = similarity.summarise(rows)
    d = s.loc[("first", "direct")]
    assert d["slices"] == 2 and d["slice_minus_real_mm"] == 0.0 and d["abs_slice_minus_real_mm"] == pytest.approx(0.8)
    assert d["abs_best_minus_real_mm"] == pytest.approx(0.8) and d["same_best_as_real"] == 0.5


def test_first_slice_centroid_is_the_triangles_one_sided_mean():
    tp = np.array([0.0, 0.8, 1.6, 2.4, 3.2, 4.0])
    w = np.maximum(0.0, 1.0 - np.abs(tp - tp[0]) / 3.0)  # Algorithm 2's weights at p = first position
    want = float((w * tp).sum() / w.sum() - tp[0])
    assert similarity.first_slice_centroid(tp, 3.0) == pytest.approx(want)
    assert want > 0  # pulled inwards


def _summ():
    idx = pd.MultiIndex.from_tuples([("first", "real"), ("first", "proposed"), ("first", "direct"),
                                     ("interior", "real"), ("interior", "proposed"), ("interior", "direct")],
                                    names=["where", "method"])
    return pd.DataFrame({"slices": [4, 4, 4, 8, 8, 8], "slice_minus_real_mm": 0.0, "abs_slice_minus_real_mm": 0.0,
                         "best_minus_real_mm": 0.0, "abs_best_minus_real_mm": [0.0, 0.4, 0.8, 0.0, 0.1, 0.3],
                         "same_best_as_real": [1.0, 0.75, 0.0, 1.0, 0.875, 0.5]}, index=idx)


def test_findings_claims_and_the_paper_side_by_side():
    s = _summ()
    text = similarity.findings(s, ["proposed", "direct"])
    assert "differs from the real slice's in 100 % of cases" in text
    assert "`proposed` has the real slice's best match in 75 % of first slices (88 % for the interior slices)" in text
    claims = similarity.first_slice_claims(s, ["proposed", "direct"], [0.0, 0.8, 1.6, 2.4], 3.0)
    assert "(1) index-based methods (direct)" in claims and "in the interior: 88 %" in claims
    side = similarity.beside_paper(s, ["proposed", "direct", "gaussian_z"])
    assert list(side.index) == ["real", "proposed", "direct", "gaussian_z"]
    assert side.loc["real", "paper (first slice)"] == similarity.PAPER_FIG7["real"]
    assert side.loc["direct", "paper (first slice)"] == similarity.PAPER_FIG7["index"]
    assert side.loc["gaussian_z", "paper (first slice)"] == "—"
    assert side.loc["proposed", "ours: best match as real, first (%)"] == 75.0
    assert np.isnan(side.loc["gaussian_z", "ours: best match as real, interior (%)"])


def test_run_is_the_chapter_on_a_data_folder(rplhr_tree):
    res = similarity.run(similarity.Settings(data_root=rplhr_tree, dataset="rplhr_ct", kernels=["RPLHR-CT"],
                                             doses=["one protocol"], thickness=5.0, interval=5.0,
                                             methods=["proposed", "average", "calibrated"]))
    assert res.methods == ["proposed", "average"]  # calibrated needs a fitted profile
    assert res.measured.rows.patient.nunique() == 3
    pd.testing.assert_frame_equal(res.summary, similarity.summarise(res.measured.rows))
    assert res.findings == similarity.findings(res.summary, res.methods) and res.claims.startswith("From ")
