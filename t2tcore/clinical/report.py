"""The old name of chapter 07's words and small tables, now :mod:`t2tcore.studies.clinical_report` (issue 16).

Its names resolve there for one release, with a DeprecationWarning. The import is by name, on
first use: the library does not import the studies.
"""

from __future__ import annotations

from t2tcore._lazy import moved_names

_NAMES = ["PAPER_COHORT", "ALPHA", "BOOTSTRAP", "resolve_cohort", "data_description", "cohort_summary",
          "true_model_table", "sr_runs", "significant_features", "findings", "power_statement",
          "true_survival_model", "design_statement"]

__getattr__, __dir__ = moved_names(__name__, dict.fromkeys(_NAMES, "t2tcore.studies.clinical_report"))
