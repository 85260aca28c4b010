"""The builder as the tests reach it (``book/build.py``, loaded from its file), a notebook factory, and the
``sandbox`` fixture (in conftest.py) that moves every build folder into a temporary one."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[3]
_spec = importlib.util.spec_from_file_location("t2t_book_build_unit", ROOT / "book" / "build.py")
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)


def notebook(path: Path, cells: list, run_last: bool = False) -> Path:
    """Write a notebook of ``cells`` (nbformat cells) at ``path``; metadata ``run_last`` if asked."""
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    if run_last:
        nb.metadata["t2t"] = {"run_last": True}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path
