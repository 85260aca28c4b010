"""A tiny RPLHR-CT-shaped tree made by the virtual scanner: now :mod:`t2tcore.scanner.cohorts.rplhr` (one of
the virtual cohorts, written by their one writer). Its names resolve here on first use, with a
DeprecationWarning, so ``t2tcore.evaluation.rplhr_tree`` keeps working without the evaluation layer
importing the scanner."""

from __future__ import annotations

from t2tcore._lazy import moved_names

_NEW = "t2tcore.scanner.cohorts.rplhr"
__all__ = ["MARKER", "read_marker", "write_rplhr_tree"]
__getattr__, __dir__ = moved_names(__name__, dict.fromkeys(__all__, _NEW))
