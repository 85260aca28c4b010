"""The HTML book: ``_build/src`` assembled from the sources and the executed notebooks (stderr kept out of
the pages, in logs), built by jupyter-book, and the chapters' CSV tables served beside the pages."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from builder import paths
from builder.paths import BuildError, rel, say
from builder.vendor import STATIC_DIR

def strip_stderr(nb: dict) -> list[str]:
    """Remove every stderr stream output from a notebook (a dict, modified in place).

    Returns the texts removed, in order. Other outputs (stdout, figures, tables, errors
    shown on purpose as text) are kept.
    """
    removed = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        keep = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                text = out.get("text", "")
                removed.append("".join(text) if isinstance(text, list) else str(text))
            else:
                keep.append(out)
        cell["outputs"] = keep
    return removed


def _strip_into_log(src: Path, dest: Path, log_path: Path) -> int:
    """Copy an executed notebook to ``dest`` without its stderr outputs; log what was removed."""
    nb = json.loads(src.read_text(encoding="utf8"))
    removed = strip_stderr(nb)
    dest.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf8")
    if removed:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "w", encoding="utf8") as log:
            log.write(f"# stderr outputs of {rel(src)}, removed from the rendered page\n")
            for i, text in enumerate(removed, 1):
                log.write(f"\n## block {i}\n{text.rstrip()}\n")
    else:
        log_path.unlink(missing_ok=True)
    return len(removed)


def assemble_source(entries: list[tuple[str, Path]], executed: dict[str, Path], vendor_dirs: list[Path],
                    profile: str) -> dict[str, int]:
    """Write ``_build/src`` from scratch: config, toc, markdown, executed notebooks, and the vendored
    packages (``vendor_dirs``: MathJax, NiiVue), merged into ``_build/src/_vendor`` (``_static/`` in the HTML).

    Executed notebooks go in without their stderr outputs (:func:`strip_stderr`), which are
    written to ``_build/logs/<profile>-<stem>.stderr.log``. Returns, per docname, how many
    stderr blocks were moved (only docnames with at least one).
    """
    tmp = paths.SRC.with_name(paths.SRC.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(paths.ROOT / name, tmp / name)
    # everything in book/ except this script (intro, bibliography, figures, ...)
    shutil.copytree(paths.ROOT / "book", tmp / "book", ignore=shutil.ignore_patterns("build.py", "builder", "__pycache__", "*.pyc"))
    moved = {}
    for docname, src in entries:
        dest = tmp / f"{docname}{src.suffix}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        if docname in executed:
            n = _strip_into_log(executed[docname], dest, paths.LOGS / f"{profile}-{src.stem}.stderr.log")
            if n:
                moved[docname] = n
        else:
            shutil.copy2(src, dest)
    for folder in vendor_dirs:
        shutil.copytree(folder, tmp / STATIC_DIR, dirs_exist_ok=True)
    shutil.rmtree(paths.SRC, ignore_errors=True)
    tmp.replace(paths.SRC)
    return moved


def build_html(strict: bool) -> Path:
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb) if jb.exists() else (shutil.which("jupyter-book") or "jupyter-book")]
    cmd += ["build", str(paths.SRC), "--path-output", str(paths.ROOT), "--all", "--quiet"]
    if strict:
        cmd += ["-W", "--keep-going"]
    paths.LOGS.mkdir(parents=True, exist_ok=True)
    log_path = paths.LOGS / "jupyter-book.log"
    with open(log_path, "w", encoding="utf8") as log:
        proc = subprocess.run(cmd, cwd=paths.ROOT, stdout=log, stderr=subprocess.STDOUT, text=True)
    text = re.sub(r"\x1b\[[0-9;]*m", "", log_path.read_text(encoding="utf8"))  # no colour codes
    warnings = list(dict.fromkeys(ln for ln in text.splitlines() if "WARNING" in ln or "ERROR" in ln))
    for ln in warnings[:20]:
        say(f"      {ln.replace(str(paths.SRC) + os.sep, '')}")
    if len(warnings) > 20:
        say(f"      ... {len(warnings) - 20} more in {rel(log_path)}")
    if proc.returncode != 0 or not (paths.HTML / "index.html").is_file():
        raise BuildError(f"jupyter-book build failed (exit {proc.returncode}); log {rel(log_path)}")
    return paths.HTML / "index.html"




def copy_results(profile: str, html: Path | None = None) -> int:
    """Copy ``_build/results/<profile>/<stem>/*.csv`` to ``<html>/results/<stem>/``.

    The pages (in ``_build/html/notebooks/``) link their full tables as
    ``../results/<stem>/<file>.csv``. The folder is made afresh, so a table a chapter no
    longer writes is not served. Returns the number of files copied.
    """
    dest_root = (paths.HTML if html is None else html) / "results"
    shutil.rmtree(dest_root, ignore_errors=True)
    n = 0
    for csv in sorted((paths.RESULTS / profile).glob("*/*.csv")):
        dest = dest_root / csv.parent.name / csv.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(csv, dest)
        n += 1
    return n
