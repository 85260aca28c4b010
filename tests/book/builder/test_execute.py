"""book/builder/execute.py: the parameters a notebook gets, the run order, where progress bars go."""

from __future__ import annotations

import json
import os

import nbformat
import pytest

from tests.book.builder.helpers import build, notebook


def test_run_order_puts_summary_pages_last(tmp_path):
    a = notebook(tmp_path / "a.ipynb", [])
    disc = notebook(tmp_path / "discussion.ipynb", [], run_last=True)
    b = notebook(tmp_path / "b.ipynb", [])
    order = build.run_order([("a", a), ("discussion", disc), ("b", b)])
    assert [d for d, _ in order] == ["a", "b", "discussion"]


def test_notebook_parameters_are_only_those_declared(tmp_path):
    nb = notebook(tmp_path / "07_x.ipynb", [nbformat.v4.new_code_cell(
        "interactive = True\nresults_root = 'r'\nout_dir = 'o'\nother = 1", metadata={"tags": ["parameters"]})])
    params = build.notebook_parameters(nb, "smoke")
    assert params == {"interactive": False, "results_root": "_build/results/smoke",
                      "out_dir": "_build/results/smoke/07_x"}


def test_a_notebook_can_refuse_a_build_parameter(tmp_path):
    nb = notebook(tmp_path / "07_clin.ipynb", [nbformat.v4.new_code_cell(
        "data_root = None\nprofile = 'quick'", metadata={"tags": ["parameters"]})])
    assert set(build.notebook_parameters(nb, "smoke")) == {"data_root", "profile"}
    raw = json.loads(nb.read_text())
    raw["metadata"]["t2t"] = {"skip_parameters": ["data_root"]}
    nb.write_text(json.dumps(raw))
    assert build.notebook_parameters(nb, "smoke") == {"profile": "smoke"}


@pytest.mark.slow
def test_progress_bars_go_to_the_build_log_not_the_page(sandbox, tmp_path, monkeypatch):
    """A real kernel: a t2tcore progress bar lands in <profile>-<stem>.progress.log."""
    monkeypatch.delenv(build.PROGRESS_FILE_ENV, raising=False)
    monkeypatch.setenv("JUPYTER_PATH", os.environ.get("JUPYTER_PATH", ""))  # register_kernel changes it
    for var in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT"):  # as in a fresh shell (import t2tcore set one here)
        monkeypatch.delenv(var, raising=False)
    nb = notebook(tmp_path / "bars.ipynb", [
        nbformat.v4.new_code_cell("profile = 'x'", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("import os\nfrom t2tcore.progress import bar\n"
                                  "for _ in bar(range(3), desc='working hard'):\n    pass\nprint('done')\n"
                                  "print('omp', os.environ.get('OMP_WAIT_POLICY'), os.environ.get('GOMP_SPINCOUNT'))"),
    ])
    build.register_kernel()
    out = tmp_path / "executed" / "bars.ipynb"
    build.run_notebook(nb, out, "smoke")
    assert build.PROGRESS_FILE_ENV not in os.environ  # restored
    log = (sandbox / "logs" / "smoke-bars.progress.log").read_text()
    assert "working hard" in log and "3/3" in log
    outputs = [o for c in json.loads(out.read_text())["cells"] for o in c.get("outputs", [])]
    text = json.dumps(outputs)
    assert "done" in text and "working hard" not in text
    assert "omp None 300000" in text  # the chapters' threads spin briefly (openmp_env), t2tcore did not override it


def test_openmp_env_is_the_users_or_the_runtimes_default_spin(monkeypatch):
    for var in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT"):
        monkeypatch.delenv(var, raising=False)
    assert build.openmp_env() == {"GOMP_SPINCOUNT": "300000"}
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")
    assert build.openmp_env() == {"OMP_WAIT_POLICY": "PASSIVE"}
