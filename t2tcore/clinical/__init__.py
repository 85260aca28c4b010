"""Clinical relevance (the paper's Section VI-D, Table V) on a cohort with known truth.

One concept per module, lowest first:

* :mod:`~t2tcore.clinical.errors` -- :class:`ClinicalError`, :class:`CohortError`;
* :mod:`~t2tcore.clinical.layout` -- the folder of a clinical cohort (virtual or real) and
  :func:`load_cohort`, which checks the survival table against the images;
* :mod:`~t2tcore.clinical.cohort` -- the virtual fibrosis cohort (severity, airways, survival,
  scans, airway truth): :func:`make_fibrosis_cohort`;
* :mod:`~t2tcore.clinical.airway` -- airway segmentation (seeded region growing with leak
  control) and its accuracy (Dice, centreline branch detection);
* :mod:`~t2tcore.clinical.radiomics` -- the paper's five airway features with pyradiomics,
  the low-variance filter and agreement with the true-thin features (relative error, ICC);
* :mod:`~t2tcore.clinical.survival` -- multivariate Cox per input, Kaplan-Meier by tertiles,
  log-rank, concordance bootstrap and power;
* :mod:`~t2tcore.clinical.sr` -- the two ESRGANs (proposed and naive pairs) on a cohort.

Chapter 07's study (the whole pipeline on a cohort folder, Table V) is
:mod:`t2tcore.studies.clinical`, its words and small tables :mod:`t2tcore.studies.clinical_report`;
``clinical.analysis`` and ``clinical.report`` (and the names of the first exported here: ``run_study``,
``survival_study``, ...) are their old names, which resolve there with a DeprecationWarning for one release.

Names are imported lazily, so ``t2t data virtual --cohort fibrosis`` does not load
pyradiomics, lifelines or pingouin.
"""

from __future__ import annotations

from t2tcore._lazy import lazy_exports

_EXPORTS = {
    **dict.fromkeys(["ClinicalError", "CohortError"], "errors"),
    **dict.fromkeys(["ClinicalCohort", "SURVIVAL_COLUMNS", "load_cohort", "load_survival"], "layout"),
    **dict.fromkeys(["PROFILES", "DiseaseModel", "SurvivalModel", "FibrosisPlan", "plan_fibrosis", "diseased_airways",
                     "make_patient_phantom", "airway_truth", "fibrosis_cohort_spec", "is_fibrosis_up_to_date",
                     "make_fibrosis_cohort", "OFFERED_THICKNESS_MM", "snap_thickness"], "cohort"),
    **dict.fromkeys(["SegmentationParams", "segment_airways", "tune_segmentation", "dice", "branch_detection"], "airway"),
    **dict.fromkeys(["FEATURES", "extract_features", "agreement", "low_variance"], "radiomics"),
    **dict.fromkeys(["fit_cox", "cox_table", "kaplan_meier", "logrank", "bootstrap_concordance", "schoenfeld_power",
                     "paper_table5"], "survival"),
    **dict.fromkeys(["SR_INPUTS", "train_models", "super_resolve"], "sr"),
    **dict.fromkeys(["INPUTS", "StudyResult", "run_study", "survival_study", "km_study", "dice_summary"], "analysis"),
}

__all__ = list(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
