"""Tests of t2tcore.scanner.cohorts.rplhr: the tiny RPLHR-CT-shaped tree of the virtual scanner."""

from __future__ import annotations

import json

import numpy as np
import pytest

from t2tcore.data import rplhr
from t2tcore.errors import T2TError
from t2tcore.io import read_series, sidecar_path
from t2tcore.scanner.cohorts import rplhr as tree
from t2tcore.simulation import simulate_thick

from tests.conftest import TREE_OFFSETS


def test_the_tree_has_the_download_layout_and_the_5_to_1_geometry(rplhr_tree):
    assert rplhr.find_root(rplhr_tree.parent) == rplhr_tree
    found = rplhr.pairs(rplhr_tree, "test")
    assert [c.case for c in found] == ["case000", "case001", "case002"]
    assert rplhr.pairs(rplhr_tree, "train") == []
    for c in found:
        assert not sidecar_path(c.thin).exists() and not sidecar_path(c.thick).exists()  # as the real files
        thin, thick = read_series(c.thin, thickness=1.0), read_series(c.thick, thickness=5.0)
        assert thin.shape == (35, 24, 24) and thick.shape == (7, 24, 24)
        assert thin.spacing == pytest.approx(1.0) and thick.spacing == pytest.approx(5.0)
        assert thin.pixel_spacing == pytest.approx(thick.pixel_spacing)
        off = TREE_OFFSETS.get(c.case, 0.0)
        for z in range(7):  # thick slice z at the centre of thin slices 5z..5z+4, plus the case's offset
            centre = np.mean([thin.positions[i] for i in rplhr.thin_indices(z)])
            assert thick.positions[z] == pytest.approx(centre + off, abs=1e-4)
        assert thin.volume.min() < -900 and thin.volume.max() > 100  # HU: air and soft tissue or bone
    info = tree.read_marker(rplhr_tree)
    assert info["cases"] == {"test": ["case000", "case001", "case002"]} and info["thick_offset_mm"] == TREE_OFFSETS
    assert info["n_thin"] == 35 and info["image_size"] == 24 and info["made_by"].endswith("write_rplhr_tree")
    assert tree.read_marker(rplhr_tree / "test") is None


def test_the_thick_volume_is_a_second_reconstruction_not_a_simulation(rplhr_tree):
    (c, *_) = rplhr.pairs(rplhr_tree, "test")
    thin, thick = read_series(c.thin, thickness=1.0), read_series(c.thick, thickness=5.0)
    for method in ("average", "proposed"):
        kw = {"thin_thickness": 1.0} if method == "average" else {"target_positions": thick.positions}
        sim, _ = simulate_thick(thin.volume, thin.positions, 5.0, method=method, **kw)
        diff = np.abs(sim - thick.volume)
        # the same anatomy (strongly correlated), but not the same numbers: its own noise and slice
        # profile, far beyond the 0.5 HU of integer storage
        assert np.corrcoef(sim.ravel(), thick.volume.ravel())[0, 1] > 0.9
        assert diff.mean() > 2.0
    # and the thick slices are less noisy than the thin ones: a 5 mm slice averages more raw data
    assert np.std(np.diff(thick.volume, axis=2)) < np.std(np.diff(thin.volume, axis=2))


def test_the_tree_is_written_all_or_nothing(tmp_path, monkeypatch):
    root = tmp_path / "tree"
    (root / "x").mkdir(parents=True)
    with pytest.raises(T2TError, match="not an empty folder"):
        tree.write_rplhr_tree(root, {"test": 1})
    import t2tcore.scanner

    calls = []

    def failing_scan(*args, **kw):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("scanner broke")
        return real_scan(*args, **kw)

    real_scan = t2tcore.scanner.scan
    monkeypatch.setattr(t2tcore.scanner, "scan", failing_scan)
    out = tmp_path / "new"
    with pytest.raises(RuntimeError, match="scanner broke"):
        tree.write_rplhr_tree(out, {"test": 2}, image_size=16, n_thick=1)
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["tree"]  # no half tree, no staging
    with pytest.raises(ValueError, match="cases must map"):
        tree.write_rplhr_tree(tmp_path / "a", {"validation": 1})
    with pytest.raises(ValueError, match="unknown cases"):
        tree.write_rplhr_tree(tmp_path / "b", {"test": 1}, thick_offset_mm={"case009": 1.0})
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / tree.MARKER).write_text(json.dumps([1, 2]))
    assert tree.read_marker(tmp_path / "m") is None
    (tmp_path / "m" / tree.MARKER).write_text("{broken")
    with pytest.raises(T2TError, match="unreadable"):
        tree.read_marker(tmp_path / "m")
