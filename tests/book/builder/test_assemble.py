"""book/builder/assemble.py: the rendered copy of a notebook keeps no stderr; the chapters' CSVs are served."""

from __future__ import annotations

import nbformat

from tests.book.builder.helpers import build, notebook


def test_strip_stderr_keeps_everything_else():
    nb = {"cells": [
        {"cell_type": "markdown", "source": "x"},
        {"cell_type": "code", "outputs": [
            {"output_type": "stream", "name": "stdout", "text": "kept\n"},
            {"output_type": "stream", "name": "stderr", "text": ["B30 full:  0%|", "| 0/2\n"]},
            {"output_type": "display_data", "data": {"text/plain": "fig"}},
            {"output_type": "stream", "name": "stderr", "text": "UserWarning: careful\n"},
        ]},
    ]}
    removed = build.strip_stderr(nb)
    assert removed == ["B30 full:  0%|| 0/2\n", "UserWarning: careful\n"]
    kinds = [(o["output_type"], o.get("name")) for o in nb["cells"][1]["outputs"]]
    assert kinds == [("stream", "stdout"), ("display_data", None)]


def test_stderr_goes_to_a_log_not_to_the_rendered_copy(tmp_path):
    src = notebook(tmp_path / "exec.ipynb", [nbformat.v4.new_code_cell("x", outputs=[
        nbformat.v4.new_output("stream", name="stderr", text="warning: something\n"),
        nbformat.v4.new_output("stream", name="stdout", text="result\n")])])
    dest, log = tmp_path / "src.ipynb", tmp_path / "logs" / "x.stderr.log"
    assert build._strip_into_log(src, dest, log) == 1
    assert "warning: something" in log.read_text() and "warning" not in dest.read_text()
    assert "result" in dest.read_text() and "warning: something" in src.read_text()  # the record is kept
    clean = notebook(tmp_path / "clean.ipynb", [nbformat.v4.new_code_cell("x")])
    assert build._strip_into_log(clean, dest, log) == 0 and not log.exists()  # no stale log


def test_copy_results_serves_the_chapters_csv_and_nothing_stale(sandbox):
    res = sandbox / "results" / "smoke"
    (res / "02_fid").mkdir(parents=True)
    (res / "02_fid" / "per_patient.csv").write_text("a\n1\n")
    (res / "02_fid" / "fig4.png").write_bytes(b"png")
    stale = sandbox / "html" / "results" / "99_old" / "gone.csv"
    stale.parent.mkdir(parents=True)
    stale.write_text("x")
    assert build.copy_results("smoke", sandbox / "html") == 1
    assert (sandbox / "html" / "results" / "02_fid" / "per_patient.csv").read_text() == "a\n1\n"
    assert not stale.exists() and not (sandbox / "html" / "results" / "02_fid" / "fig4.png").exists()
