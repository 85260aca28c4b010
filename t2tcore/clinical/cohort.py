"""The virtual fibrosis cohort of chapter 07: now :mod:`t2tcore.scanner.cohorts.fibrosis` (its true models in
:mod:`t2tcore.scanner.cohorts.fibrosis_models`), written by the one cohort writer
(:mod:`t2tcore.scanner.cohorts.writer`). This module re-exports it, so ``t2tcore.clinical.cohort`` keeps
working."""

from __future__ import annotations

from t2tcore.scanner.cohorts.fibrosis import (  # noqa: F401
    COHORT_KIND,
    KERNEL,
    MAS,
    OFFERED_THICKNESS_MM,
    PROFILES,
    SCANNER,
    THICKNESS_MEAN_SD_MM,
    THIN_MM,
    FibrosisPlan,
    __all__,
    fibrosis_cohort_spec,
    is_fibrosis_up_to_date,
    make_fibrosis_cohort,
    make_patient_phantom,
    plan_fibrosis,
    resolve_fibrosis_profile,
    scan_range,
    snap_thickness,
)
from t2tcore.scanner.cohorts.fibrosis_models import (  # noqa: F401
    DiseaseModel,
    SurvivalModel,
    airway_truth,
    diseased_airways,
)
