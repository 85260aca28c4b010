"""A tiny RPLHR-CT-shaped tree made by the virtual scanner: now :mod:`t2tcore.scanner.cohorts.rplhr` (one of
the virtual cohorts, written by their one writer). This module re-exports it, so
``t2tcore.evaluation.rplhr_tree`` keeps working."""

from __future__ import annotations

from t2tcore.scanner.cohorts.rplhr import MARKER, __all__, read_marker, write_rplhr_tree  # noqa: F401
