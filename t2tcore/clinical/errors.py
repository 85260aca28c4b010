"""Errors of the clinical analysis: bad cohort folders and survival tables (one-line messages).

Defined in :mod:`t2tcore.errors` (the cohort's folder layout in :mod:`t2tcore.data` and its virtual
writer in :mod:`t2tcore.scanner.cohorts` raise them too); this module is where the clinical code
imports them from.
"""

from __future__ import annotations

from t2tcore.errors import ClinicalError, CohortError

__all__ = ["ClinicalError", "CohortError"]
