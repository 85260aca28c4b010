"""book/build.py: what reaches a page, where progress goes, the CSV downloads, the up-to-date stamp."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import nbformat
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("t2t_book_build_unit", ROOT / "book" / "build.py")
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)


def _nb(path: Path, cells: list, run_last: bool = False) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    if run_last:
        nb.metadata["t2t"] = {"run_last": True}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """build.py's output folders moved into tmp_path."""
    b = tmp_path / "_build"
    monkeypatch.setattr(build, "BUILD", b)
    monkeypatch.setattr(build, "LOGS", b / "logs")
    monkeypatch.setattr(build, "RESULTS", b / "results")
    monkeypatch.setattr(build, "HTML", b / "html")
    monkeypatch.setattr(build, "STAMP", b / "html" / ".t2t-build.json")
    return b


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
    src = _nb(tmp_path / "exec.ipynb", [nbformat.v4.new_code_cell("x", outputs=[
        nbformat.v4.new_output("stream", name="stderr", text="warning: something\n"),
        nbformat.v4.new_output("stream", name="stdout", text="result\n")])])
    dest, log = tmp_path / "src.ipynb", tmp_path / "logs" / "x.stderr.log"
    assert build._strip_into_log(src, dest, log) == 1
    assert "warning: something" in log.read_text() and "warning" not in dest.read_text()
    assert "result" in dest.read_text() and "warning: something" in src.read_text()  # the record is kept
    clean = _nb(tmp_path / "clean.ipynb", [nbformat.v4.new_code_cell("x")])
    assert build._strip_into_log(clean, dest, log) == 0 and not log.exists()  # no stale log


def test_run_order_puts_summary_pages_last(tmp_path):
    a = _nb(tmp_path / "a.ipynb", [])
    disc = _nb(tmp_path / "discussion.ipynb", [], run_last=True)
    b = _nb(tmp_path / "b.ipynb", [])
    order = build.run_order([("a", a), ("discussion", disc), ("b", b)])
    assert [d for d, _ in order] == ["a", "b", "discussion"]


def test_notebook_parameters_are_only_those_declared(tmp_path):
    nb = _nb(tmp_path / "07_x.ipynb", [nbformat.v4.new_code_cell(
        "interactive = True\nresults_root = 'r'\nout_dir = 'o'\nother = 1", metadata={"tags": ["parameters"]})])
    params = build.notebook_parameters(nb, "smoke")
    assert params == {"interactive": False, "results_root": "_build/results/smoke",
                      "out_dir": "_build/results/smoke/07_x"}


def test_a_notebook_can_refuse_a_build_parameter(tmp_path):
    nb = _nb(tmp_path / "07_clin.ipynb", [nbformat.v4.new_code_cell(
        "data_root = None\nprofile = 'quick'", metadata={"tags": ["parameters"]})])
    assert set(build.notebook_parameters(nb, "smoke")) == {"data_root", "profile"}
    raw = json.loads(nb.read_text())
    raw["metadata"]["t2t"] = {"skip_parameters": ["data_root"]}
    nb.write_text(json.dumps(raw))
    assert build.notebook_parameters(nb, "smoke") == {"profile": "smoke"}


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


def test_stamp_and_source_hash_decide_reuse(sandbox, tmp_path):
    page = _nb(tmp_path / "page.ipynb", [])
    entries = [("page", page)]
    h1 = build.source_hash(entries)
    assert build.source_hash(entries) == h1
    _nb(page, [nbformat.v4.new_markdown_cell("changed")])
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


def test_build_record_keeps_the_other_notebooks(sandbox, tmp_path):
    a, b = tmp_path / "a.ipynb", tmp_path / "b.ipynb"
    build.update_record("smoke", "a", a, status="run", seconds=3.0)
    build.update_record("smoke", "b", b, status="run", seconds=5.0)
    build.update_record("smoke", "a", a, status="failed")
    rec = build.read_record("smoke")
    assert rec["notebooks"]["a"] == {"source": str(a), "stem": "a", "status": "failed", "seconds": 3.0}
    assert rec["notebooks"]["b"]["seconds"] == 5.0 and rec["machine"]["cpus"] == os.cpu_count()
    assert build.read_record("quick") == {}


@pytest.mark.slow
def test_progress_bars_go_to_the_build_log_not_the_page(sandbox, tmp_path, monkeypatch):
    """A real kernel: a t2tcore progress bar lands in <profile>-<stem>.progress.log."""
    monkeypatch.delenv(build.PROGRESS_FILE_ENV, raising=False)
    monkeypatch.setenv("JUPYTER_PATH", os.environ.get("JUPYTER_PATH", ""))  # register_kernel changes it
    nb = _nb(tmp_path / "bars.ipynb", [
        nbformat.v4.new_code_cell("profile = 'x'", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("from t2tcore.progress import bar\n"
                                  "for _ in bar(range(3), desc='working hard'):\n    pass\nprint('done')"),
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


def test_markdown_twin_of_a_styled_table_keeps_text_and_header():
    html = ("<style>#T_x td {font-weight: bold}</style><table id='T_x'><caption>Table III (virtual_smoke)</caption>"
            "<thead><tr><th></th><th>PSNR</th><th>RMSE</th></tr><tr><th>method</th><th></th><th></th></tr></thead>"
            "<tbody><tr><th>proposed</th><td>51.47 ± 0.72</td><td>0.0068</td></tr>"
            "<tr><th>average_x</th><td>40.66 ± 3.13†</td><td>$0.0198 | a$</td></tr></tbody></table>")
    md = build.markdown_twin(html)
    lines = md.splitlines()
    assert lines[0] == r"*Table III (virtual\_smoke)*"
    # the two header rows are merged per column; body cells escaped for Markdown and MyST math
    assert lines[2] == "| method | PSNR | RMSE |" and lines[3] == "|---|---|---|"
    assert lines[4] == "| proposed | 51.47 ± 0.72 | 0.0068 |"
    assert lines[5] == r"| average\_x | 40.66 ± 3.13† | \$0.0198 \| a\$ |"
    assert build.markdown_twin('<p>Download (CSV): <a href="../results/x/a.csv" download>a.csv</a></p>') == \
        "Download (CSV): a.csv"
    assert build.markdown_twin("<div></div>") is None


def test_prepare_pdf_source_collapses_hidden_code_and_adds_twins(tmp_path):
    (tmp_path / "_config.yml").write_text("title: x\nsphinx:\n  config:\n    nb_merge_streams: true\n")
    table = "<table><tr><th>a</th></tr><tr><td>1</td></tr></table>"
    _nb(tmp_path / "book" / "p.ipynb", [
        nbformat.v4.new_code_cell("import x", metadata={"tags": ["hide-input"]}),
        nbformat.v4.new_code_cell("t", outputs=[nbformat.v4.new_output(
            "display_data", data={"text/html": table, "text/plain": "<Styler>"})]),
    ])
    assert build.prepare_pdf_source(tmp_path) == 1
    nb = json.loads((tmp_path / "book" / "p.ipynb").read_text())
    assert nb["cells"][0]["metadata"]["tags"] == ["remove-input"]
    assert nb["cells"][1]["outputs"][0]["data"]["text/markdown"] == "| a |\n|---|\n| 1 |\n"
    import yaml

    cfg = yaml.safe_load((tmp_path / "_config.yml").read_text())
    assert cfg["sphinx"]["config"] == {"nb_merge_streams": True, "nb_render_markdown_format": "gfm"}


def test_a_chapter_can_ask_for_the_fibrosis_cohort(tmp_path, sandbox):
    params = nbformat.v4.new_code_cell("profile = 'quick'\ndata_root = None", metadata={"tags": ["parameters"]})
    plain = _nb(tmp_path / "plain.ipynb", [params])
    fib = _nb(tmp_path / "fib.ipynb", [params])
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


def test_a_slice_viewer_is_its_one_line_note_in_the_pdf(tmp_path):
    from t2tcore.figures import viewer

    rng = np.random.default_rng(0)
    h = viewer.slice_viewer({"a": (rng.normal(size=(4, 8, 8)).astype(np.float32), np.arange(4.0))}, 1.0,
                            caption="What to look for.", out_dir=tmp_path)
    assert build.viewer_twin(h.data) == "*" + build._md_escape(viewer.VIEWER_NOTE) + "*\n"
    assert build.viewer_twin("<table><tr><td>1</td></tr></table>") is None


def test_niivue_is_vendored_from_its_tarball_and_cached(tmp_path, monkeypatch, sandbox):
    """The classic-script build and package.json come out of the npm tarball; a wrong version is refused."""
    import io
    import tarfile

    def tarball(version: str) -> Path:
        path = tmp_path / f"fake-{version}.tgz"
        with tarfile.open(path, "w:gz") as tar:
            for name, text in ((f"package/dist/{build.NIIVUE_FILE}", "var niivue = {};"),
                               ("package/package.json", json.dumps({"name": "@niivue/niivue", "version": version})),
                               ("package/build/niivue/index.js", "export {};")):
                data = text.encode()
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        return path

    monkeypatch.setattr(build, "VENDOR", sandbox / "vendor")
    monkeypatch.setenv("T2T_NIIVUE_TGZ", str(tarball("0.0.1")))
    with pytest.raises(build.BuildError, match="not 0.69"):
        build.vendor_niivue()
    (sandbox / "vendor" / "npm" / f"niivue-niivue-{build.NIIVUE_VERSION}.tgz").unlink()
    monkeypatch.setenv("T2T_NIIVUE_TGZ", str(tarball(build.NIIVUE_VERSION)))
    out = build.vendor_niivue()
    assert sorted(p.name for p in (out / "niivue").iterdir()) == [build.NIIVUE_FILE, "package.json"]
    monkeypatch.delenv("T2T_NIIVUE_TGZ")
    assert build.vendor_niivue() == out  # cached: nothing fetched again


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
