"""Fixtures of the evaluation tests: a tiny RPLHR-CT-shaped tree made by the virtual scanner."""

from __future__ import annotations

import pytest

#: The tiny tree: three test cases of 24² pixels, 35 thin / 7 thick slices; the thick slices of
#: case002 are reconstructed 2 mm below the centres of their five thin slices.
TREE_CASES = {"test": 3}
TREE_OFFSETS = {"case002": -2.0}


@pytest.fixture(scope="session")
def rplhr_tree(tmp_path_factory):
    """Root of the tree (made once per session; about 10 s)."""
    from t2tcore.evaluation.rplhr_tree import write_rplhr_tree

    root = tmp_path_factory.mktemp("rplhr") / "RPLHR-CT"
    return write_rplhr_tree(root, TREE_CASES, image_size=24, n_thick=7, thick_offset_mm=TREE_OFFSETS, seed=1)
