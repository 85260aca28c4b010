from __future__ import annotations

import pytest

from tests.book.builder.helpers import build


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """The builder's output folders (book/builder/paths.py) moved into tmp_path."""
    b = tmp_path / "_build"
    monkeypatch.setattr(build.paths, "BUILD", b)
    monkeypatch.setattr(build.paths, "LOGS", b / "logs")
    monkeypatch.setattr(build.paths, "RESULTS", b / "results")
    monkeypatch.setattr(build.paths, "HTML", b / "html")
    monkeypatch.setattr(build.paths, "STAMP", b / "html" / ".t2t-build.json")
    monkeypatch.setattr(build.paths, "VENDOR", b / "vendor")
    return b
