"""Helpers shared by the tests of t2tcore.io."""

from __future__ import annotations

import hashlib
import pathlib
import warnings

from t2tcore.errors import SeriesWarning
from t2tcore.io import Series, read_series


def _read_quiet(path, **kw) -> Series:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SeriesWarning)
        return read_series(path, **kw)


def _series_warnings(record) -> list[str]:
    return [str(w.message) for w in record if issubclass(w.category, SeriesWarning)]


def _tree_digest(folder: pathlib.Path) -> dict[str, tuple[str, int]]:
    return {
        str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }
