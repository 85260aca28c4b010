"""Radiomics features against analytic shapes, numpy and hand formulas (t2tcore.clinical.radiomics)."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from t2tcore.clinical import radiomics as R


def _grid(shape, spacing):
    dz, dy, dx = spacing
    z, y, x = (np.arange(n) - (n - 1) / 2 for n in shape)
    return z[:, None, None] * dz, y[None, :, None] * dy, x[None, None, :] * dx


def test_mesh_volume_of_a_ball_with_anisotropic_voxels():
    sp = (1.5, 0.8, 0.8)
    Z, Y, X = _grid((40, 70, 70), sp)
    r = 20.0
    ball = Z ** 2 + Y ** 2 + X ** 2 <= r ** 2
    f = R.extract_features(np.zeros(ball.shape), ball, sp, ["MeshVolume"])
    assert f["MeshVolume"] == pytest.approx(4 / 3 * np.pi * r ** 3, rel=0.03)


def test_diameters_and_elongation_of_a_box_follow_the_axes():
    # a box 40 mm along x, 20 mm along y, 12 mm along z: axial plane (x, y) diameter
    # sqrt(40^2 + 20^2), coronal plane (x, z) sqrt(40^2 + 12^2); elongation = 20 / 40
    sp = (1.0, 0.5, 1.0)
    m = np.zeros((20, 60, 50), bool)
    m[4:16, 10:50, 5:45] = True
    f = R.extract_features(np.zeros(m.shape), m, sp)
    assert f["Maximum2DDiameterSlice"] == pytest.approx(np.hypot(40, 20), abs=1.5)
    assert f["Maximum2DDiameterColumn"] == pytest.approx(np.hypot(40, 12), abs=1.5)
    assert f["Elongation"] == pytest.approx(0.5, abs=0.03)


def test_tenth_percentile_is_numpys_on_the_region_and_cropping_changes_nothing():
    rng = np.random.default_rng(0)
    vol = rng.normal(-900, 80, (12, 30, 30)).astype(np.float32)
    m = np.zeros(vol.shape, bool)
    m[2:9, 5:20, 8:25] = True
    f = R.extract_features(vol, m, (1.0, 1.0, 1.0), ["10Percentile"])
    assert f["10Percentile"] == pytest.approx(np.percentile(vol[m], 10), abs=1e-3)
    big = np.full((20, 50, 50), 500.0, np.float32)  # the same region inside a larger image
    bm = np.zeros(big.shape, bool)
    big[3:15, 7:37, 9:39], bm[3:15, 7:37, 9:39] = vol, m
    g = R.extract_features(big, bm, (1.0, 1.0, 1.0))
    h = R.extract_features(vol, m, (1.0, 1.0, 1.0))
    assert g == pytest.approx(h)


def test_empty_mask_gives_nan_and_bad_arguments_raise():
    f = R.extract_features(np.zeros((4, 5, 5)), np.zeros((4, 5, 5), bool), (1, 1, 1))
    assert all(np.isnan(v) for v in f.values()) and list(f) == list(R.FEATURES)
    with pytest.raises(ValueError):
        R.extract_features(np.zeros((4, 5, 5)), np.zeros((4, 5, 6), bool), (1, 1, 1))
    with pytest.raises(ValueError):
        R.extract_features(np.zeros((4, 5, 5)), np.ones((4, 5, 5), bool), (1, 0, 1))
    with pytest.raises(ValueError, match="unknown feature"):
        R.extract_features(np.zeros((4, 5, 5)), np.ones((4, 5, 5), bool), (1, 1, 1), ["Sphericity3D"])


def test_feature_table_is_indexed_by_patient():
    m = np.zeros((10, 20, 20), bool)
    m[2:8, 5:15, 5:15] = True
    items = [(f"P{i}", np.full(m.shape, -900.0 + i), m, (1.0, 1.0, 1.0)) for i in range(3)]
    tab = R.feature_table(iter(items))
    assert list(tab.index) == ["P0", "P1", "P2"] and list(tab.columns) == list(R.FEATURES)
    assert tab["10Percentile"].tolist() == pytest.approx([-900.0, -899.0, -898.0])


def test_low_variance():
    t = pd.DataFrame({"const": [1.0] * 10, "one_outlier": [0.0] * 9 + [1.0], "spread": np.arange(10.0),
                      "nan_ok": [np.nan] + list(np.arange(9.0))})
    # one outlier in ten: scaled values nine 0s and a 1, variance 0.09 (kept); in 40: 0.024; in 200: 0.005
    assert R.low_variance(t) == ["const"]
    t2 = pd.DataFrame({"rare": [0.0] * 199 + [1.0]})
    assert R.low_variance(t2) == ["rare"] and R.low_variance(t2, threshold=0.001) == []


def test_relative_error():
    assert R.relative_error([1.1, 2.0, 5.0], [1.0, 4.0, 0.0])[:2] == pytest.approx([0.1, 0.5])
    assert np.isnan(R.relative_error([5.0], [0.0])[0])


def _hand_icc2(a, b):
    """ICC(2,1) of two raters from the two-way ANOVA mean squares (Shrout and Fleiss 1979)."""
    Y = np.column_stack([a, b]).astype(float)
    n, k = Y.shape
    grand = Y.mean()
    msr = k * np.sum((Y.mean(axis=1) - grand) ** 2) / (n - 1)
    msc = n * np.sum((Y.mean(axis=0) - grand) ** 2) / (k - 1)
    sse = np.sum((Y - Y.mean(axis=1, keepdims=True) - Y.mean(axis=0, keepdims=True) + grand) ** 2)
    mse = sse / ((n - 1) * (k - 1))
    return (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)


def test_agreement_icc_and_relative_error():
    rng = np.random.default_rng(1)
    ref = pd.DataFrame({f: rng.normal(10, 2, 12) for f in R.FEATURES}, index=[f"P{i}" for i in range(12)])
    same = ref.copy()
    shifted = ref + rng.normal(1.0, 0.7, ref.shape)
    shifted.loc["P3", "MeshVolume"] = np.nan  # left out of that row only
    out = R.agreement({"same": same, "shifted": shifted}, ref)
    assert len(out) == 2 * len(R.FEATURES)
    s = out[out.input == "same"]
    assert np.allclose(s["icc"], 1.0) and np.allclose(s["median_rel_error"], 0.0)
    row = out[(out.input == "shifted") & (out.feature == "Elongation")].iloc[0]
    assert row["icc"] == pytest.approx(_hand_icc2(shifted["Elongation"], ref["Elongation"]), abs=1e-6)
    assert row["icc_low"] < row["icc"] < row["icc_high"]
    rel = np.median(np.abs(shifted["Elongation"] - ref["Elongation"]) / ref["Elongation"])
    assert row["median_rel_error"] == pytest.approx(rel)
    assert out[(out.input == "shifted") & (out.feature == "MeshVolume")]["n"].item() == 11


def test_pyradiomics_prints_nothing(capfd, monkeypatch, tmp_path):
    m = np.zeros((6, 10, 10), bool)
    m[1:5, 2:8, 2:8] = True
    R.extract_features(np.zeros(m.shape), m, (1, 1, 1))
    logging.getLogger("radiomics").warning("a warning that must not reach the page")
    out, err = capfd.readouterr()
    assert out == "" and err == ""
