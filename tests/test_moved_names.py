"""Code moved by the second architecture step (issue 16) stays importable from its old place, as the same object,
for one release: the SR and clinical chapters (and anybody's scripts) import these names."""

from __future__ import annotations

import importlib
import warnings

import pytest

#: old module -> (new module, names)
MOVED = {
    "t2tcore.scanner.cohort": ("t2tcore.scanner.cohorts.ldct", ["MANIFEST_NAME", "TEST_SCANNER", "TRAIN_SCANNER",
                                                              "DOSE_MAS", "PatientPlan", "make_cohort", "cohort_spec",
                                                              "is_up_to_date", "read_manifest", "resolve_profile",
                                                              "plan_patients", "scanner_configs", "make_phantom"]),
    "t2tcore.clinical.cohort": ("t2tcore.scanner.cohorts.fibrosis", ["OFFERED_THICKNESS_MM", "PROFILES", "FibrosisPlan",
                                                                    "DiseaseModel", "SurvivalModel", "plan_fibrosis",
                                                                    "make_fibrosis_cohort", "is_fibrosis_up_to_date",
                                                                    "resolve_fibrosis_profile", "airway_truth",
                                                                    "diseased_airways", "snap_thickness"]),
    "t2tcore.clinical.layout": ("t2tcore.data.fibrosis", ["SR_TRAIN_DIR", "SURVIVAL_CSV", "load_cohort",
                                                          "thin_series_in", "ClinicalCohort"]),
    "t2tcore.clinical.errors": ("t2tcore.errors", ["ClinicalError", "CohortError"]),
    "t2tcore.evaluation.rplhr_tree": ("t2tcore.scanner.cohorts.rplhr", ["MARKER", "read_marker", "write_rplhr_tree"]),
    "t2tcore.evaluation.datasets": ("t2tcore.datasets", ["DATASETS", "NiftiSource", "RPLHR_DOSE", "RPLHR_KERNEL",
                                                         "StudyGroup", "book_root", "dataset_spec", "describe_data",
                                                         "iter_groups", "resolve_data_root", "protocol_notes"]),
    "t2tcore.evaluation.pairing": ("t2tcore.datasets.pairing", ["pair_geometry", "pairing_text"]),
    "t2tcore.evaluation.fidelity": ("t2tcore.evaluation.alignment", ["resample_z", "resize_slices", "AlignedPair",
                                                                     "count_positions", "INDEX_METHODS"]),
    "t2tcore.evaluation": ("t2tcore.evaluation.alignment", ["resample_z"]),
    "t2tcore.simulation": ("t2tcore.simulation.profile", ["ZProfile", "ProfileError"]),
    "t2tcore.simulation.calibrate": ("t2tcore.simulation.calibrate", ["fit_profile"]),
    "t2tcore.data.manifests": ("t2tcore.data.manifest_schema", ["load_profile", "load_manifest", "MANIFEST_DIR"]),
    "t2tcore.data.layout": ("t2tcore.data.grand_challenge", ["series_dir", "find_series", "pairs"]),
    "t2tcore.sr.profiles": ("t2tcore.effort", ["ChapterSettings"]),
    "t2tcore.figures.discussion": ("t2tcore.studies.discussion", ["Claim", "Finding", "CLAIMS", "PAPER_TABLE4",
                                                                 "PAPER_TABLE5", "PAPER_TABLE6", "chapter_dir",
                                                                 "find_table", "findings", "summary"]),
    "t2tcore.evaluation.metrics": ("t2tcore.evaluation.fid_kid", ["FID_MIN_SLICES", "FID_WINDOW", "fid", "fid_features",
                                                                "frechet_distance", "kernel_inception_distance", "kid"]),
}


@pytest.mark.parametrize("old", sorted(MOVED))
def test_an_old_name_is_the_new_object(old):
    new, names = MOVED[old]
    a, b = importlib.import_module(old), importlib.import_module(new)
    for name in names:
        assert getattr(a, name) is getattr(b, name), f"{old}.{name}"


def test_renamed_objects_keep_their_old_names():
    from t2tcore import simulation
    from t2tcore.simulation import calibrate

    assert simulation.ZProfile is simulation.SliceProfile and calibrate.fit_profile is calibrate.fit_slice_profile
    from t2tcore.data import layout, tcia

    assert layout.find_training_series is tcia.find_training_series


def test_the_robustness_names_of_t2tcore_evaluation_warn_and_resolve():
    import t2tcore.evaluation as ev
    from t2tcore.studies import robustness, robustness_report

    with pytest.warns(DeprecationWarning, match="t2tcore.studies.robustness.sweep"):
        assert ev.sweep is robustness.sweep
    with pytest.warns(DeprecationWarning, match="robustness_report.ranking"):
        assert ev.ranking is robustness_report.ranking
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ev.compare is not None  # the library's own names do not warn
    with pytest.raises(AttributeError):
        ev.nothing_like_this  # noqa: B018


def test_fid_and_the_scales_are_the_metrics_names_and_the_package_function_stays_a_function():
    import t2tcore
    import t2tcore.evaluation as ev
    from t2tcore.evaluation import fid_kid, metrics, scaling

    for name in ("WINDOW", "minmax_scale", "fixed_window_scale"):
        assert getattr(metrics, name) is getattr(scaling, name) is getattr(ev, name)
    assert callable(ev.fid) and ev.fid is fid_kid.fid and t2tcore.fid is fid_kid.fid


#: Chapters 05-07 moved up from the library into t2tcore.studies (issue 16): old module -> (new module, names).
#: The old names resolve with a DeprecationWarning, looked up by name (the library imports no study).
MOVED_UP = {
    "t2tcore.sr.study": ("t2tcore.studies.sr_training", ["PAPER_DATASET", "Calibration", "StudyResult", "calibrate",
                                                         "dataset_notes", "evaluate", "fid_note", "fig_labels",
                                                         "figure_case", "findings", "read_training", "resolve",
                                                         "slice_profiles", "train_runs", "training_notes", "z_table",
                                                         "training_table", "TRAINING_COLUMNS"]),
    "t2tcore.sr.benchmark": ("t2tcore.studies.sr_benchmark", ["table6", "table6_cells"]),
    "t2tcore.clinical.analysis": ("t2tcore.studies.clinical", ["INPUTS", "REFERENCE", "StudyResult", "run_study",
                                                               "dice_summary", "survival_study", "km_feature",
                                                               "oracle_cox", "km_study", "table5_beside_paper",
                                                               "input_comparison", "design_power"]),
    "t2tcore.clinical.report": ("t2tcore.studies.clinical_report", ["PAPER_COHORT", "ALPHA", "BOOTSTRAP",
                                                                    "resolve_cohort", "data_description",
                                                                    "cohort_summary", "true_model_table", "sr_runs",
                                                                    "significant_features", "findings",
                                                                    "power_statement", "true_survival_model",
                                                                    "design_statement"]),
}


@pytest.mark.parametrize("old", sorted(MOVED_UP))
def test_the_old_names_of_chapters_05_to_07_warn_and_resolve(old):
    new, names = MOVED_UP[old]
    a, b = importlib.import_module(old), importlib.import_module(new)
    for name in names:
        with pytest.warns(DeprecationWarning, match=rf"{old}\.{name} is deprecated; use t2tcore\.(studies|sr)\."):
            assert getattr(a, name) is getattr(b, name), f"{old}.{name}"
    assert set(names) <= set(dir(a))
    with pytest.raises(AttributeError):
        a.nothing_like_this  # noqa: B018


def test_the_training_table_stays_in_the_library_and_the_benchmark_helpers_do_not_warn():
    from t2tcore.clinical import sr as csr
    from t2tcore.sr import benchmark, runs, study
    from t2tcore.studies import sr_training

    with pytest.warns(DeprecationWarning, match="use t2tcore.sr.runs.training_table"):
        assert study.training_table is runs.training_table is sr_training.training_table
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert callable(benchmark.time_inference) and callable(benchmark.device_name) and callable(csr.training_table)


def test_the_clinical_package_names_of_the_study_resolve_to_it():
    import t2tcore.clinical as clinical
    from t2tcore.studies import clinical as study

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # once: the package keeps what it resolved
        for name in ("INPUTS", "StudyResult", "run_study", "survival_study", "km_study", "dice_summary"):
            assert getattr(clinical, name) is getattr(study, name)
