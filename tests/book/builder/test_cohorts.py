"""book/builder/cohorts.py: the virtual cohort a notebook asks for."""

from __future__ import annotations

import nbformat
import pytest

from tests.book.builder.helpers import ROOT, build, notebook


def test_a_chapter_can_ask_for_the_fibrosis_cohort(tmp_path, sandbox):
    params = nbformat.v4.new_code_cell("profile = 'quick'\ndata_root = None", metadata={"tags": ["parameters"]})
    plain = notebook(tmp_path / "plain.ipynb", [params])
    fib = notebook(tmp_path / "fib.ipynb", [params])
    nb = nbformat.read(fib, as_version=4)
    nb.metadata["t2t"] = {"cohort": "fibrosis"}
    nbformat.write(nb, fib)
    assert build.notebook_cohort(plain) == "ldct" and build.notebook_cohort(fib) == "fibrosis"
    assert build.notebook_parameters(plain, "smoke")["data_root"].endswith("virtual-smoke")
    assert build.notebook_parameters(fib, "smoke")["data_root"].endswith("virtual-fibrosis-smoke")
    nb.metadata["t2t"] = {"cohort": "nonsense"}
    nbformat.write(nb, fib)
    with pytest.raises(build.BuildError, match="unknown cohort 'nonsense'"):
        build.notebook_cohort(fib)


def test_chapter_07_gets_the_fibrosis_cohort():
    assert build.notebook_cohort(ROOT / "notebooks" / "07_clinical_relevance.ipynb") == "fibrosis"
