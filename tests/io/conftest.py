"""Fixtures of the t2tcore.io tests (the DICOM series factories are in tests/conftest.py)."""

from __future__ import annotations

import pytest

from t2tcore.io import _parallel


@pytest.fixture
def force_parallel(monkeypatch):
    """Take the parallel code paths even for tiny test series: no file-count threshold, two
    workers, and no T2T_PARALLEL override from the environment."""
    monkeypatch.setattr(_parallel, "_PARALLEL_MIN_FILES", 0)
    monkeypatch.setattr(_parallel, "_n_workers", lambda: 2)
    monkeypatch.delenv("T2T_PARALLEL", raising=False)
