"""Tests of t2tcore.datasets (groups, roots, describe): groups of (thin, thick) pairs, data folders, provenance."""

from __future__ import annotations

import numpy as np
import pytest

from t2tcore.data import series_dir
from t2tcore.errors import T2TError
from t2tcore import datasets
from t2tcore.io import Series, write_series


def _series(n, step, thickness, value):
    pos = np.arange(n) * step
    vol = np.full((n, 8, 8), value, np.float32) + np.arange(n, dtype=np.float32)[:, None, None]
    return Series.from_array(vol, pos, (0.7, 0.7), thickness)


def test_study_group_reads_each_pair_when_it_is_reached():
    calls = []

    def read(src):
        calls.append(src)
        return src * 10

    g = datasets.StudyGroup("B30", "full", [("P1", 1, 2), ("P2", 3, 4)], ["a note"], read)
    assert len(g) == 2 and g.patients == ["P1", "P2"]
    it = iter(g)
    assert next(it) == ("P1", 10, 20) and calls == [1, 2]  # the second patient is not read yet
    assert list(it) == [("P2", 30, 40)]
    assert g.load() == {"P1": (10, 20), "P2": (30, 40)}
    # in-memory series: the default reader is the identity
    s = _series(3, 1.0, 1.0, 0.0)
    assert datasets.StudyGroup("B30", "full", [("P1", s, s)]).load()["P1"][0] is s


def test_ldct_gc_groups_read_the_layout_and_note_incomplete_patients(tmp_path):
    thin = _series(10, 0.8, 1.0, 0.0)
    thick = _series(4, 2.0, 3.0, 100.0)
    for p in ("V001", "V002"):
        write_series(thin, series_dir(tmp_path, p, "B30", "full", 1))
    write_series(thick, series_dir(tmp_path, "V001", "B30", "full", 3))  # V002 has no thick series
    groups = list(datasets.iter_groups(tmp_path, ["B30"], ["full"]))
    assert len(groups) == 1
    g = groups[0]
    assert (g.kernel, g.dose, g.patients) == ("B30", "full", ["V001"])
    assert len(g.notes) == 1 and "V002" in g.notes[0] and g.notes[0].startswith("B30 full: ")
    ((p, a, b),) = list(g)
    np.testing.assert_allclose(a.positions, thin.positions)
    np.testing.assert_allclose(b.volume, thick.volume, atol=0.5)  # stored as integers in DICOM
    assert b.thickness == pytest.approx(3.0)


def test_unknown_dataset_and_missing_folder_are_clear_errors(tmp_path):
    with pytest.raises(datasets.DatasetError, match="unknown dataset 'rplhr'.*ldct_gc"):
        datasets.load_group(tmp_path, "B30", "full", dataset="rplhr")
    assert issubclass(datasets.DatasetError, T2TError)
    with pytest.raises(datasets.DatasetError, match="does not exist"):
        datasets.resolve_data_root(tmp_path / "nope", "smoke")


def test_resolve_data_root_takes_relative_paths_from_the_book_root(tmp_path):
    (tmp_path / "_toc.yml").write_text("format: jb-book\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "notebooks").mkdir()
    assert datasets.book_root(tmp_path / "notebooks") == tmp_path.resolve()
    assert datasets.resolve_data_root("data", "smoke", root=tmp_path) == tmp_path / "data"
    assert datasets.resolve_data_root(tmp_path / "data", "smoke") == tmp_path / "data"
    with pytest.raises(datasets.DatasetError, match="_toc.yml"):
        datasets.book_root(tmp_path.parent / "elsewhere-without-toc")


def test_describe_data_names_real_data_and_a_virtual_cohort(tmp_path):
    assert datasets.describe_data(tmp_path) == f"**real data**: the 2016 LDCT Grand Challenge folder `{tmp_path}`"
    plain = datasets.describe_data(tmp_path, plain=True)
    assert "*" not in plain and "`" not in plain and str(tmp_path) in plain
    import json

    spec = {"profile": {"name": "smoke", "n_test": 2, "image_size": 128, "z_length_mm": 40.0},
            "t2t_version": "0.1.0", "source_sha256": "abc123"}
    (tmp_path / "cohort_manifest.json").write_text(json.dumps({"spec": spec}))
    text = datasets.describe_data(tmp_path)
    assert text.startswith("the **virtual cohort** of profile `smoke`")
    assert "2 test patients, 128² pixels, 40.0 mm along z, t2t 0.1.0, source hash abc123" in text
    assert "pixels" not in datasets.describe_data(tmp_path, detail=False)


# --------------------------------------------------------------------------- RPLHR-CT


def _write_rplhr_case(root, split, case, *, n_thick=2, sidecar_thickness=None):
    """One 1 mm / 5 mm NIfTI pair as RPLHR-CT ships it (no JSON sidecar unless asked)."""
    from t2tcore.data import rplhr
    from t2tcore.io import sidecar_path

    thin = _series(5 * n_thick, 1.0, sidecar_thickness or 1.0, 0.0)
    thick = Series.from_array(np.full((n_thick, 8, 8), 50.0, np.float32), 2.0 + 5.0 * np.arange(n_thick), (0.7, 0.7),
                              sidecar_thickness or 5.0)
    paths = rplhr.case_paths(root, split, case)
    for s, p in zip((thin, thick), paths):
        write_series(s, p)
        if sidecar_thickness is None:
            sidecar_path(p).unlink()
    return paths


def test_rplhr_ct_group_reads_the_test_split_with_the_folder_thicknesses(tmp_path):
    import warnings

    from t2tcore.errors import SeriesWarning

    root = tmp_path / "download" / "RPLHR-CT"
    _write_rplhr_case(root, "test", "b")
    _write_rplhr_case(root, "test", "a", n_thick=3)
    _write_rplhr_case(root, "train", "t")
    _write_rplhr_case(root, "test", "c")[1].unlink()  # case c has no 5 mm volume
    (g,) = list(datasets.iter_groups(tmp_path, ["RPLHR-CT"], ["one protocol"], dataset="rplhr_ct"))
    assert (g.kernel, g.dose, g.patients, g.ratio) == ("RPLHR-CT", "one protocol", ["a", "b"], 5)
    assert g.notes == ["RPLHR-CT test: case c has a 1mm volume and no 5mm one; left out"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", SeriesWarning)  # no "no slice thickness" warning: the folder gives it
        thin, thick = g.read_pair(0)
    assert (thin.thickness, thick.thickness) == (1.0, 5.0) and (thin.shape[0], thick.shape[0]) == (15, 3)
    np.testing.assert_allclose(thick.positions, [2.0, 7.0, 12.0])
    assert [p for p, _, _ in g] == ["a", "b"]
    # another split
    (t,) = list(datasets.iter_groups(root, ["RPLHR-CT"], ["one protocol"], dataset="rplhr_ct", split="train"))
    assert t.patients == ["t"]
    # a JSON sidecar beside a file wins over the folder's thickness
    _write_rplhr_case(root, "val", "v", sidecar_thickness=1.25)
    v = datasets.load_group(root, "RPLHR-CT", "one protocol", dataset="rplhr_ct", split="val")
    assert [s.thickness for s in v.read_pair(0)] == [1.25, 1.25]


def test_rplhr_ct_group_errors_are_clear(tmp_path):
    _write_rplhr_case(tmp_path, "test", "a")
    with pytest.raises(datasets.DatasetError, match="one kernel and one dose per case"):
        datasets.load_group(tmp_path, "B30", "full", dataset="rplhr_ct")
    with pytest.raises(datasets.DatasetError, match="split must be one of train, val, test"):
        datasets.load_group(tmp_path, "RPLHR-CT", "one protocol", dataset="rplhr_ct", split="validation")
    with pytest.raises(datasets.DatasetError, match="no complete 1mm/5mm pair in the val split"):
        datasets.load_group(tmp_path, "RPLHR-CT", "one protocol", dataset="rplhr_ct", split="val")
    with pytest.raises(T2TError, match="no RPLHR-CT tree"):
        datasets.load_group(tmp_path / "test", "RPLHR-CT", "one protocol", dataset="rplhr_ct")
    with pytest.raises(datasets.DatasetError, match="ldct_gc layout has no splits"):
        datasets.load_group(tmp_path, "B30", "full", split="test")


def test_dataset_specs_give_each_data_set_its_defaults():
    gc = datasets.dataset_spec("ldct_gc")
    # the chapter's defaults before datasets had specs: B30/D45, full/quarter, 3 mm every 2 mm
    assert gc.resolve() == (["B30", "D45"], ["full", "quarter"], 3.0, 2.0, None, None)
    assert gc.resolve(["D45"], None, 5, None, "B30", 4) == (["D45"], ["full", "quarter"], 5.0, 2.0, {"D45": "B30"}, 4)
    assert gc.label("B30", "full") == "B30, full dose"
    rp = datasets.dataset_spec("rplhr_ct")
    assert rp.resolve() == (["RPLHR-CT"], ["one protocol"], 5.0, 5.0, {"RPLHR-CT": "B30"}, 10)
    assert rp.label("RPLHR-CT", "one protocol") == "RPLHR-CT (one protocol)"
    with pytest.raises(datasets.DatasetError, match="unknown dataset 'x'; known: ldct_gc, rplhr_ct"):
        datasets.dataset_spec("x")


def test_describe_data_says_which_rplhr_tree_it_is(tmp_path):
    from t2tcore.scanner.cohorts.rplhr import MARKER

    root = tmp_path / "RPLHR-CT"
    _write_rplhr_case(root, "test", "a")
    _write_rplhr_case(root, "test", "b")
    text = datasets.describe_data(tmp_path, dataset="rplhr_ct")
    assert text == (f"**real data**: RPLHR-CT (Yu et al., MICCAI 2022), Zenodo record 17239183, test split (2 case "
                    f"pairs), folder `{root}`")
    assert "val split (0 case pairs)" in datasets.describe_data(tmp_path, dataset="rplhr_ct", split="val")
    import json

    (root / MARKER).write_text(json.dumps({"image_size": 8, "n_thin": 10, "n_thick": 2, "seed": 3, "t2t_version": "9",
                                           "thick_offset_mm": {"b": -2.0}}))
    text = datasets.describe_data(tmp_path, dataset="rplhr_ct", plain=True)
    assert text.startswith("a virtual RPLHR-CT-shaped tree (not RPLHR-CT data")
    assert "test split, 2 case pairs, 8² pixels, 10 thin / 2 thick slices, seed 3, thick slices of b shifted -2 mm" in text
    assert "*" not in text and "`" not in text


def test_protocol_notes_state_where_rplhr_ct_differs():
    assert datasets.protocol_notes("ldct_gc") == ""
    text = datasets.protocol_notes("rplhr_ct")
    for needle in ("LNCS 13436, pp. 344–353", "Zenodo record 17239183", "thin slices 5z … 5z+4", "5z_s+3",
                   "`y[5:-5]`", "11 × 11 Gaussian", "peak of 1", "Table IV (chapter 05)", "kernel B30",
                   "up to 10 other cases"):
        assert needle in text, needle
