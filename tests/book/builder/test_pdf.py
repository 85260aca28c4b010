"""book/builder/pdf.py: Markdown twins of HTML outputs and the PDF source."""

from __future__ import annotations

import json

import nbformat
import numpy as np

from tests.book.builder.helpers import build, notebook


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
    notebook(tmp_path / "book" / "p.ipynb", [
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


def test_a_slice_viewer_is_its_one_line_note_in_the_pdf(tmp_path):
    from t2tcore.figures import viewer

    rng = np.random.default_rng(0)
    h = viewer.slice_viewer({"a": (rng.normal(size=(4, 8, 8)).astype(np.float32), np.arange(4.0))}, 1.0,
                            caption="What to look for.", out_dir=tmp_path)
    assert build.viewer_twin(h.data) == "*" + build._md_escape(viewer.VIEWER_NOTE) + "*\n"
    assert build.viewer_twin("<table><tr><td>1</td></tr></table>") is None
