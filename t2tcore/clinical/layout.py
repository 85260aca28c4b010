"""The folder of a clinical cohort and how it is read: now :mod:`t2tcore.data.fibrosis` (a data layout,
beside the paper's other layouts in :mod:`t2tcore.data`). This module re-exports it, so
``t2tcore.clinical.layout`` keeps working."""

from __future__ import annotations

from t2tcore.data.fibrosis import (  # noqa: F401
    IMAGES_DIR,
    SR_TRAIN_DIR,
    SURVIVAL_COLUMNS,
    SURVIVAL_CSV,
    TRUTH_CSV,
    TRUTH_MASK,
    ClinicalCohort,
    image_path,
    load_cohort,
    load_survival,
    thin_series_in,
)
from t2tcore.data.fibrosis import __all__  # noqa: F401
