"""The book as one PDF: HTML outputs given Markdown twins the LaTeX writer can show, then jupyter-book's
LaTeX builder."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

from builder import paths
from builder.paths import BuildError, rel, say

class _Text(HTMLParser):
    """The visible text of an HTML snippet (no style or script)."""

    def __init__(self):
        super().__init__()
        self.parts, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("style", "script")

    def handle_endtag(self, tag):
        self._skip -= tag in ("style", "script") and self._skip > 0

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


class _Tables(HTMLParser):
    """The cells of the first ``<table>`` of an HTML snippet (rows of (text, is header)) and its caption."""

    def __init__(self):
        super().__init__()
        self.rows, self.caption, self._cell, self._in, self._depth = [], "", None, None, 0

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._depth += 1
        elif self._depth == 1 and tag == "tr":
            self.rows.append([])
        elif self._depth == 1 and tag in ("td", "th") and self.rows:
            self._cell = [tag == "th", ""]
        elif self._depth == 1 and tag == "caption":
            self._in = "caption"

    def handle_endtag(self, tag):
        if tag == "table":
            self._depth -= 1
        elif tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append((" ".join(self._cell[1].split()), self._cell[0]))
            self._cell = None
        elif tag == "caption":
            self._in = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[1] += data
        elif self._in == "caption":
            self.caption += data


def _md_escape(text: str) -> str:
    """Backslash-escape what Markdown (and MyST's $math$) would read as markup."""
    return re.sub(r"([\\`*_{}\[\]<>#|$~^])", r"\\\1", text)


def markdown_twin(html: str) -> str | None:
    """What an HTML output says, as Markdown: its first table (:func:`markdown_table`), else its
    visible text (links and notes, e.g. a chapter's CSV downloads); None when it has no text."""
    table = markdown_table(html)
    if table is not None:
        return table
    parser = _Text()
    parser.feed(html)
    text = " ".join("".join(parser.parts).split())
    return _md_escape(text) if text else None


def markdown_table(html: str) -> str | None:
    """A Markdown table (GFM) of the first table in ``html``, with its caption above; or None.

    For the PDF only: the pages' tables are HTML (pandas Styler), which the LaTeX writer
    cannot show; as Markdown they become ordinary LaTeX tables. Their text and header are
    kept; bold, colours and merged cells are not.
    """
    parser = _Tables()
    parser.feed(html)
    rows = [r for r in parser.rows if r]
    if not rows:
        return None
    n = max(len(r) for r in rows)

    def md(text: str) -> str:
        return _md_escape(text) or " "

    cells = [[md(t) for t, _ in r] + [" "] * (n - len(r)) for r in rows]
    n_head = 0
    while n_head < len(rows) - 1 and all(h for _, h in rows[n_head]):
        n_head += 1
    n_head = max(n_head, 1)
    header = [" ".join(c for c in col if c.strip()) or " " for col in zip(*cells[:n_head])]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * n]
    lines += ["| " + " | ".join(r) + " |" for r in cells[n_head:]]
    cap = " ".join(parser.caption.split())
    return (f"*{md(cap)}*\n\n" if cap else "") + "\n".join(lines) + "\n"


def viewer_twin(html: str) -> str | None:
    """For the PDF, a slice viewer's output (``t2tcore.figures.viewer``) is its one-line note (the
    static figure above it stays); None for any other HTML."""
    m = re.search(r'<div class="t2t-viewer-note">(.*?)</div>', html, flags=re.S)
    if 'class="t2t-viewer"' not in html or m is None:
        return None
    parser = _Text()
    parser.feed(m.group(1))
    return "*" + _md_escape(" ".join("".join(parser.parts).split())) + "*\n"


def prepare_pdf_source(src: Path | None = None) -> int:
    """Make ``_build/src`` read as a printed book: HTML outputs get a Markdown twin (:func:`markdown_twin`,
    which the LaTeX writer prefers to the HTML it cannot show; a slice viewer's is its one-line note,
    :func:`viewer_twin`),
    and cells tagged ``hide-input`` lose their code (``remove-input``): on paper there is no
    "show code" toggle. Returns the number of tables converted."""
    src = paths.SRC if src is None else src
    n = 0
    for path in src.rglob("*.ipynb"):
        nb = json.loads(path.read_text(encoding="utf8"))
        for cell in nb.get("cells", []):
            tags = cell.get("metadata", {}).get("tags", [])
            if "hide-input" in tags:
                cell["metadata"]["tags"] = [t for t in tags if t != "hide-input"] + ["remove-input"]
            for out in cell.get("outputs", []):
                data = out.get("data", {})
                html = data.get("text/html")
                if html and "text/markdown" not in data:
                    html = "".join(html) if isinstance(html, list) else html
                    twin = viewer_twin(html) or markdown_twin(html)
                    if twin:
                        data["text/markdown"] = twin
                        n += "|---" in twin
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf8")
    # Markdown outputs are read as GitHub-flavoured Markdown here (tables), not CommonMark
    import yaml

    cfg_path = src / "_config.yml"
    cfg = yaml.safe_load(cfg_path.read_text(encoding="utf8"))
    cfg.setdefault("sphinx", {}).setdefault("config", {})["nb_render_markdown_format"] = "gfm"
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True), encoding="utf8")
    return n


def build_pdf() -> Path:
    """The book as one PDF: jupyter-book's LaTeX builder (XeLaTeX via latexmk) on ``_build/src``.

    Needs a TeX installation; on Debian: ``apt-get install --no-install-recommends texlive-xetex
    texlive-latex-extra texlive-fonts-recommended texlive-latex-recommended latexmk
    fonts-freefont-otf`` (about 350 MB). Pages are rendered from the same executed notebooks as
    the HTML (:func:`prepare_pdf_source`): tables as plain LaTeX tables, collapsed code left
    out, the sliders of the teaching lab as their static figures.
    """
    missing = [t for t in ("latexmk", "xelatex") if shutil.which(t) is None]
    if missing:
        raise BuildError(f"--pdf needs {' and '.join(missing)}: apt-get install --no-install-recommends "
                         "texlive-xetex texlive-latex-extra texlive-fonts-recommended texlive-latex-recommended "
                         "latexmk fonts-freefont-otf")
    n_tables = prepare_pdf_source()
    say(f"      {n_tables} HTML table(s) given a Markdown twin; hidden code left out")
    shutil.rmtree(paths.BUILD / "latex", ignore_errors=True)  # its Makefile builds every .tex it finds
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb) if jb.exists() else (shutil.which("jupyter-book") or "jupyter-book")]
    cmd += ["build", str(paths.SRC), "--path-output", str(paths.ROOT), "--builder", "pdflatex", "--all", "--quiet"]
    log_path = paths.LOGS / "jupyter-book-pdf.log"
    with open(log_path, "w", encoding="utf8") as log:
        proc = subprocess.run(cmd, cwd=paths.ROOT, stdout=log, stderr=subprocess.STDOUT, text=True)
    pdfs = sorted((paths.BUILD / "latex").glob("*.pdf"), key=lambda p: p.stat().st_mtime)
    if proc.returncode != 0 or not pdfs:
        raise BuildError(f"the PDF build failed (exit {proc.returncode}); log {rel(log_path)}")
    return pdfs[-1]
