"""The Discussion page's claim judging moved to :mod:`t2tcore.studies.discussion` (it draws no figure: it
reads the chapters' CSV tables and judges the paper's claims). This old import path keeps working for one
release; the names are the same objects."""

from t2tcore.studies.discussion import (  # noqa: F401
    CLAIMS,
    PAPER_TABLE4,
    PAPER_TABLE5,
    PAPER_TABLE6,
    Claim,
    Finding,
    chapter_dir,
    find_table,
    findings,
    summary,
)

__all__ = ["Claim", "Finding", "CLAIMS", "PAPER_TABLE4", "PAPER_TABLE5", "PAPER_TABLE6", "chapter_dir",
           "find_table", "findings", "summary"]
