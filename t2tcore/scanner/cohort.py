"""The book's virtual cohort (Grand Challenge / TCIA stand-in): now :mod:`t2tcore.scanner.cohorts.ldct`,
written by the one cohort writer (:mod:`t2tcore.scanner.cohorts.writer`). This module re-exports it, so
``t2tcore.scanner.cohort`` keeps working."""

from __future__ import annotations

from t2tcore.scanner.cohorts.ldct import (  # noqa: F401
    COHORT_FORMAT,
    DOSE_MAS,
    MANIFEST_NAME,
    TEST_SCANNER,
    TRAIN_SCANNER,
    PatientPlan,
    __all__,
    cohort_spec,
    is_up_to_date,
    make_cohort,
    make_phantom,
    plan_patients,
    read_manifest,
    recon_configs,
    resolve_profile,
    scanner_configs,
)
