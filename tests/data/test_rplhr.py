"""Tests of t2tcore.data.rplhr (the RPLHR-CT tree) and of `t2t data check --manifest rplhr_ct`
on tiny RPLHR-shaped trees of NIfTI pairs made here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from t2tcore.cli import main
from t2tcore.data import rplhr
from t2tcore.data.manifests import MANIFEST_DIR, check, expectations, load_manifest
from t2tcore.errors import T2TError
from t2tcore.io import Series, read_series, sidecar_path, write_series


def write_pair(root: Path, split: str, case: str, *, n_thick=2, n_thin=None, size=16, thin_step=1.0, thick_step=None,
               thick_offset=0.0, thick_size=None, thick_pixel=0.7, sidecars=False, seed=0):
    """One case: thin slices every ``thin_step`` mm and thick slices at the centres of five thin ones."""
    rng = np.random.default_rng(seed)
    n_thin = rplhr.RATIO * n_thick if n_thin is None else n_thin
    thin_pos = np.arange(n_thin) * thin_step - 20.0
    thick_step = rplhr.RATIO * thin_step if thick_step is None else thick_step
    thick_pos = thin_pos[0] + 2 * thin_step + np.arange(n_thick) * thick_step + thick_offset
    ts = thick_size or size
    thin = Series.from_array(rng.normal(0, 100, (n_thin, size, size)), thin_pos, (0.7, 0.7), 1.0)
    thick = Series.from_array(rng.normal(0, 100, (n_thick, ts, ts)), thick_pos, (thick_pixel, thick_pixel), 5.0)
    paths = rplhr.case_paths(root, split, case)
    for series, path in zip((thin, thick), paths):
        write_series(series, path)
        if not sidecars:  # the RPLHR-CT files have none
            sidecar_path(path).unlink()
    return paths


def small_manifest(tmp_path: Path, size=16) -> Path:
    """The real RPLHR-CT manifest with tiny counts (2/1/2, subset 1/1/1) and images of ``size``² pixels."""
    m = yaml.safe_load((MANIFEST_DIR / "rplhr_ct.yaml").read_text())
    m["expect"]["train"]["splits"] = {"train": 2, "val": 1}
    m["expect"]["train"]["subset_splits"] = {"train": 1, "val": 1}
    m["expect"]["test"]["splits"] = {"test": 2}
    m["expect"]["test"]["subset_splits"] = {"test": 1}
    m["expect"]["pairs"]["in_plane"] = [size, size]
    path = tmp_path / "rplhr_small.yaml"
    path.write_text(yaml.safe_dump(m))
    return path


def make_tree(root: Path, counts=None) -> Path:
    counts = counts or {"train": 2, "val": 1, "test": 2}
    for split, n in counts.items():
        for k in range(n):
            write_pair(root, split, f"case{k:03d}", seed=k)
    return root


# --------------------------------------------------------------------------- layout


def test_layout_helpers(tmp_path):
    root = tmp_path / "download" / "RPLHR-CT"
    write_pair(root, "train", "a")
    write_pair(root, "test", "b")
    rplhr.case_paths(root, "val", "c")[0].parent.mkdir(parents=True)
    write_series(Series.from_array(np.zeros((5, 4, 4)), np.arange(5.0), (1, 1), 1.0), rplhr.case_paths(root, "val", "c")[0])
    assert rplhr.find_root(tmp_path) == root  # found two levels down
    assert rplhr.find_root(root) == root
    everything = rplhr.cases(tmp_path)
    assert [(c.split, c.case, c.paired) for c in everything] == [("train", "a", True), ("val", "c", False),
                                                                ("test", "b", True)]
    (train,) = rplhr.pairs(root, "train")
    assert train.thin == root / "train" / "1mm" / "a.nii.gz" and train.thick == root / "train" / "5mm" / "a.nii.gz"
    assert rplhr.pairs(root, "val") == []
    assert read_series(train.thick, thickness=5.0).shape[0] == 2 and read_series(train.thin, thickness=1.0).shape[0] == 10
    assert list(rplhr.thin_indices(3)) == [15, 16, 17, 18, 19]
    with pytest.raises(ValueError, match="split"):
        rplhr.cases(root, "validation")
    with pytest.raises(ValueError, match="plain name"):
        rplhr.case_paths(root, "train", "a.b")
    (tmp_path / "empty").mkdir()
    with pytest.raises(T2TError, match="no RPLHR-CT tree"):
        rplhr.find_root(tmp_path / "empty")


def test_thick_slices_cover_their_five_thin_slices(tmp_path):
    # The helper's geometry is the authors' index relation: thick slice z at the centre of
    # thin slices 5z..5z+4 (checked on the positions read back from the files).
    thin_path, thick_path = write_pair(tmp_path, "test", "x", n_thick=3)
    thin, thick = read_series(thin_path, thickness=1.0), read_series(thick_path, thickness=5.0)
    for z in range(3):
        assert thick.positions[z] == pytest.approx(thin.positions[list(rplhr.thin_indices(z))].mean(), abs=1e-4)


# --------------------------------------------------------------------------- manifest


def test_rplhr_manifest_content():
    m = load_manifest("rplhr_ct")
    assert m["kind"] == "real" and m["source"]["url"] == "https://zenodo.org/records/17239183"
    assert "17239183" in m["source"]["record"] and "October 2025" in m["source"]["record"]
    for words in ("MICCAI 2022", "13436", "344-353", "Yu"):
        assert words in m["source"]["citation"]
    assert "smilenaxx/RPLHR-CT" in m["source"]["code"]
    assert "record page" in m["source"]["licence"]  # not invented: to be read on the record
    exp = expectations(m)
    assert exp["train"]["splits"] == {"train": 100, "val": 50} and exp["test"]["splits"] == {"test": 100}
    assert exp["train"]["subset_splits"] == {"train": 20, "val": 10} and exp["test"]["subset_splits"] == {"test": 20}
    assert exp["test"]["thin"] == ("1mm", 1.0, 1.0) and exp["test"]["thick"] == ("5mm", 5.0, 5.0)
    assert exp["test"]["ratio"] == 5 and exp["test"]["in_plane"] == (512, 512)


def test_rplhr_manifest_validation(tmp_path):
    m = yaml.safe_load((MANIFEST_DIR / "rplhr_ct.yaml").read_text())
    m["expect"]["test"]["splits"] = {"testing": 100}
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(m))
    with pytest.raises(T2TError, match="splits.testing must be one of train, val, test"):
        load_manifest(tmp_path / "bad.yaml")
    m = yaml.safe_load((MANIFEST_DIR / "rplhr_ct.yaml").read_text())
    del m["expect"]["pairs"]["ratio"]
    (tmp_path / "bad2.yaml").write_text(yaml.safe_dump(m))
    with pytest.raises(T2TError, match="ratio"):
        load_manifest(tmp_path / "bad2.yaml")


# --------------------------------------------------------------------------- check


def test_check_complete_tree(tmp_path):
    root = make_tree(tmp_path / "data")
    rep = check(root, small_manifest(tmp_path))
    assert rep.ok, rep.problems
    assert rep.notes == []
    assert str(rep).splitlines()[-1] == "summary: 5 of 5 expected case pairs present, 5 correct -- COMPLETE"


def test_check_reports_each_fault_in_plain_words(tmp_path):
    root = tmp_path / "data"
    write_pair(root, "train", "good")
    write_pair(root, "train", "ratio", n_thin=9)
    write_pair(root, "val", "spacing", thick_step=4.0)
    write_pair(root, "test", "size", thick_size=12)
    write_pair(root, "test", "pixel", thick_pixel=0.8, sidecars=True)
    write_pair(root, "test", "shifted", thick_offset=1.5)
    rplhr.case_paths(root, "test", "lonely")[1].unlink(missing_ok=True)
    write_series(Series.from_array(np.zeros((10, 16, 16)), np.arange(10.0), (0.7, 0.7), 1.0),
                 rplhr.case_paths(root, "test", "lonely")[0])
    rep = check(root, small_manifest(tmp_path))
    text = "\n".join(rep.problems)
    assert not rep.ok
    assert "train/ratio: 9 thin and 2 thick slices; the 5:1 relation" in text and "needs 10 thin slices" in text
    assert "val/spacing: 5mm slice spacing is 4 mm, expected 5 mm" in text
    assert "test/size: 5mm images are 12 x 12 px, expected 16 x 16" in text
    assert "test/pixel: pixel spacing differs" in text
    assert "test/lonely: test/1mm/lonely.nii.gz has no 5mm partner" in text
    assert "test: 3 of 2" not in text  # more pairs than expected is a note, not a problem
    assert any("test: 3 case pairs, more than the manifest's 2" in n for n in rep.notes)
    assert any(n.startswith("test/shifted: in world coordinates (the affines) thick slice z lies +1.5 mm") for n in rep.notes)
    assert not any("good" in p for p in rep.problems)
    assert rep.present == 5 and rep.correct < 5


def test_check_says_when_only_the_authors_subset_is_there(tmp_path):
    root = make_tree(tmp_path / "data", {"train": 1, "val": 1, "test": 1})
    rep = check(root, small_manifest(tmp_path))
    assert rep.ok, rep.problems
    assert rep.variant == "the authors' 1/1/1 subset"
    assert any("only the authors' small subset is present" in n and "not comparable" in n for n in rep.notes)
    assert rep.summary == ("summary: 3 of 3 expected case pairs present (the authors' 1/1/1 subset), 3 correct -- "
                           "COMPLETE")
    partial = make_tree(tmp_path / "partial", {"train": 1, "test": 2})
    rep = check(partial, small_manifest(tmp_path))
    assert "train: 1 of 2 case pairs present" in rep.problems and "val: 0 of 1 case pairs present" in rep.problems
    assert rep.variant == ""


def test_cli_data_check_rplhr(tmp_path, capsys):
    root = make_tree(tmp_path / "data")
    assert main(["data", "check", str(root), "--manifest", str(small_manifest(tmp_path)), "--no-progress"]) == 0
    assert capsys.readouterr().out.strip().endswith("COMPLETE")
    # The real manifest on this tiny tree: every way it differs from RPLHR-CT is named.
    assert main(["data", "check", str(root), "--manifest", "rplhr_ct", "--no-progress"]) == 1
    out = capsys.readouterr().out
    assert "train: 2 of 100 case pairs present" in out and "test: 2 of 100 case pairs present" in out
    assert "1mm images are 16 x 16 px, expected 512 x 512" in out
    (tmp_path / "nothing").mkdir()
    assert main(["data", "check", str(tmp_path / "nothing"), "--manifest", "rplhr_ct", "--no-progress"]) == 1
    assert "no RPLHR-CT tree" in capsys.readouterr().out
