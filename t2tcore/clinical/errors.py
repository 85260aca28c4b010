"""Errors of the clinical analysis: bad cohort folders and survival tables (one-line messages)."""

from __future__ import annotations

from t2tcore.errors import T2TError

__all__ = ["ClinicalError", "CohortError"]


class ClinicalError(T2TError):
    """Bad input to the clinical analysis (the ``t2t`` command prints it as one line)."""


class CohortError(ClinicalError):
    """A cohort folder or its survival table is incomplete or inconsistent; the message names what."""
