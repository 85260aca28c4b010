"""book/builder/record.py: the build record: times of every notebook, and whether results come from the current sources."""

from __future__ import annotations

import os

from tests.book.builder.helpers import build


def test_build_record_keeps_the_other_notebooks(sandbox, tmp_path):
    a, b = tmp_path / "a.ipynb", tmp_path / "b.ipynb"
    build.update_record("smoke", "a", a, status="run", seconds=3.0)
    build.update_record("smoke", "b", b, status="run", seconds=5.0)
    build.update_record("smoke", "a", a, status="failed")
    rec = build.read_record("smoke")
    assert rec["notebooks"]["a"] == {"source": str(a), "stem": "a", "status": "failed", "seconds": 3.0}
    assert rec["notebooks"]["b"]["seconds"] == 5.0 and rec["machine"]["cpus"] == os.cpu_count()
    assert build.read_record("quick") == {}


def test_results_are_current_only_after_a_run_on_these_sources(sandbox, tmp_path):
    """The golden test reuses a chapter's results only when its last run succeeded on the current sources."""
    nb = tmp_path / "02_x.ipynb"
    assert not build.results_are_current("smoke", ["02_x"])
    build.update_record("smoke", "notebooks/02_x", nb, status="run", source_sha256=build.source_hash())
    assert build.results_are_current("smoke", ["02_x"])
    assert not build.results_are_current("smoke", ["02_x", "03_y"])  # a chapter never run
    build.update_record("smoke", "notebooks/02_x", nb, status="run", source_sha256="0" * 64)  # older sources
    assert not build.results_are_current("smoke", ["02_x"])
    build.update_record("smoke", "notebooks/02_x", nb, status="failed", source_sha256=build.source_hash())
    assert not build.results_are_current("smoke", ["02_x"])
