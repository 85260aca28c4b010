"""The old name of chapter 07's study, now :mod:`t2tcore.studies.clinical` (issue 16).

Its names resolve there for one release, with a DeprecationWarning. The import is by name, on
first use: the library does not import the studies.
"""

from __future__ import annotations

from t2tcore._lazy import moved_names

_NAMES = ["INPUTS", "REFERENCE", "StudyResult", "run_study", "dice_summary", "survival_study", "km_feature",
          "oracle_cox", "km_study", "table5_beside_paper", "input_comparison", "design_power"]

__getattr__, __dir__ = moved_names(__name__, dict.fromkeys(_NAMES, "t2tcore.studies.clinical"))
