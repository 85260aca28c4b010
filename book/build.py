"""Build the t2t book: vendor MathJax and NiiVue, make the data, run the notebooks, build the HTML.

Usage (from anywhere; ``make book`` calls it with the ``.venv`` python)::

    python book/build.py --profile smoke|quick|paper [--only NAME ...] [--strict] [--pdf]

This file is the entry point; the builder is the package ``book/builder/``, one module per step
(its ``__init__`` describes the steps and the modules). The names below are re-exported so that
scripts and tests that load this file (``tests/book``, ``tests/golden``) reach the builder here.
The driver imports no ``t2tcore`` at start, so that a broken package fails in a notebook's log.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # book/: the builder package

from builder import paths  # noqa: E402
from builder.assemble import assemble_source, build_html, copy_results, strip_stderr, _strip_into_log  # noqa: E402,F401
from builder.cli import main  # noqa: E402
from builder.cohorts import data_root, ensure_data, notebook_cohort  # noqa: E402,F401
from builder.execute import (  # noqa: E402,F401
    KERNEL_NAME,
    PROGRESS_FILE_ENV,
    notebook_parameters,
    openmp_env,
    progress_log,
    register_kernel,
    run_notebook,
    run_order,
    runs_last,
)
from builder.paths import BUILD, HTML, LOGS, PROFILES, RESULTS, ROOT, SRC, STAMP, VENDOR, BuildError, rel, say  # noqa: E402,F401
from builder.pdf import _md_escape, build_pdf, markdown_table, markdown_twin, prepare_pdf_source, viewer_twin  # noqa: E402,F401
from builder.record import read_record, results_are_current, update_record  # noqa: E402,F401
from builder.stamp import is_up_to_date, read_stamp, source_hash, write_stamp  # noqa: E402,F401
from builder.toc import toc_entries  # noqa: E402,F401
from builder.vendor import (  # noqa: E402,F401
    MATHJAX_VERSION,
    NIIVUE_FILE,
    NIIVUE_VERSION,
    vendor_mathjax,
    vendor_niivue,
)

__all__ = [
    "BUILD", "BuildError", "HTML", "KERNEL_NAME", "LOGS", "MATHJAX_VERSION", "NIIVUE_FILE", "NIIVUE_VERSION",
    "PROFILES", "PROGRESS_FILE_ENV", "RESULTS", "ROOT", "SRC", "STAMP", "VENDOR", "_md_escape",
    "_strip_into_log", "assemble_source", "build_html", "build_pdf", "copy_results", "data_root",
    "ensure_data", "is_up_to_date", "main", "markdown_table", "markdown_twin", "notebook_cohort",
    "notebook_parameters", "paths", "prepare_pdf_source", "progress_log", "read_record", "read_stamp",
    "register_kernel", "rel", "results_are_current", "run_notebook", "run_order", "runs_last", "say",
    "source_hash", "strip_stderr", "toc_entries", "update_record", "vendor_mathjax", "vendor_niivue",
    "viewer_twin", "write_stamp",
]

if __name__ == "__main__":
    sys.exit(main())
