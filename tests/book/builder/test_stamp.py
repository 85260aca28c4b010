"""book/builder/stamp.py: the hash of the sources and the stamp of an up-to-date HTML build."""

from __future__ import annotations

import nbformat

from tests.book.builder.helpers import build, notebook


def test_stamp_and_source_hash_decide_reuse(sandbox, tmp_path):
    page = notebook(tmp_path / "page.ipynb", [])
    entries = [("page", page)]
    h1 = build.source_hash(entries)
    assert build.source_hash(entries) == h1
    notebook(page, [nbformat.v4.new_markdown_cell("changed")])
    assert build.source_hash(entries) != h1
    html = sandbox / "html"
    html.mkdir(parents=True)
    (html / "index.html").write_text("<html></html>")
    build.write_stamp("smoke", build.source_hash(), True, {})
    assert build.is_up_to_date("smoke", html)
    assert not build.is_up_to_date("quick", html)
    build.write_stamp("smoke", build.source_hash(), False, {})  # a partial (--only) build
    assert not build.is_up_to_date("smoke", html)
    build.write_stamp("smoke", "0" * 64, True, {})  # sources changed since
    assert not build.is_up_to_date("smoke", html)
