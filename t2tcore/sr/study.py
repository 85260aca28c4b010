"""The old name of chapter 05's study, now :mod:`t2tcore.studies.sr_training` (issue 16).

Its names resolve there for one release, with a DeprecationWarning; ``training_table`` and
``TRAINING_COLUMNS``, which the library uses too, are in :mod:`t2tcore.sr.runs`. The import is by
name, on first use: the library does not import the studies.
"""

from __future__ import annotations

from t2tcore._lazy import moved_names

_STUDY = ["PAPER_DATASET", "Calibration", "StudyResult", "calibrate", "dataset_notes", "evaluate", "fid_note",
          "fig_labels", "figure_case", "findings", "read_training", "resolve", "slice_profiles", "train_runs",
          "training_notes", "z_table"]

__getattr__, __dir__ = moved_names(__name__, {**dict.fromkeys(_STUDY, "t2tcore.studies.sr_training"),
                                              **dict.fromkeys(["TRAINING_COLUMNS", "training_table"], "t2tcore.sr.runs")})
