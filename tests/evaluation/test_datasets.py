"""Tests of t2tcore.evaluation.datasets: groups of (thin, thick) pairs, data folders, provenance."""

from __future__ import annotations

import numpy as np
import pytest

from t2tcore.data import series_dir
from t2tcore.errors import T2TError
from t2tcore.evaluation import datasets
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
