"""The evaluation library: metrics, statistics, slice alignment, and how close a simulation is to the real slices.

* :mod:`~t2tcore.evaluation.metrics` -- PSNR, RMSE, SSIM in three conventions (their scales: :mod:`~t2tcore.evaluation.scaling`);
* :mod:`~t2tcore.evaluation.fid_kid` -- FID and KID of slice sets;
* :mod:`~t2tcore.evaluation.stats` -- paired Wilcoxon tests, summary tables;
* :mod:`~t2tcore.evaluation.alignment` -- a simulated and a real thick stack on one slice grid (count, physical);
* :mod:`~t2tcore.evaluation.fidelity` -- every method against one patient's real thick series (Table III's rows);
* :mod:`~t2tcore.evaluation.slice_mse` -- Fig. 7's measure (MSE of a thick slice against thin slices);
* :mod:`~t2tcore.evaluation.analytic` -- an analytic object sliced exactly, an independent truth;
* :mod:`~t2tcore.evaluation.tables` -- the book's styled tables and CSV downloads.

The chapters' studies (Table III over a cohort, Fig. 7, the robustness study, ...) are in :mod:`t2tcore.studies`.
The robustness names this package exported (``sweep``, ``Setting``, ...) still resolve, with a
DeprecationWarning, to :mod:`t2tcore.studies.robustness`, for one release.
"""

from __future__ import annotations

from t2tcore.evaluation.metrics import (  # noqa: F401
    CONVENTIONS,
    FID_MIN_SLICES,
    FID_WINDOW,
    HU_RANGE,
    WINDOW,
    body_mask,
    compare,
    fid,
    fid_features,
    fixed_window_scale,
    frechet_distance,
    kernel_inception_distance,
    kid,
    minmax_scale,
    psnr,
    rmse,
    ssim,
)
from t2tcore.evaluation.stats import (  # noqa: F401
    BootstrapResult,
    WilcoxonResult,
    hierarchical_bootstrap,
    higher_is_better,
    min_attainable_p,
    paired_wilcoxon,
    paper_table3,
    summary_stats,
    summary_table,
)
from t2tcore.evaluation.fidelity import (  # noqa: F401
    ALIGNMENTS,
    INDEX_METHODS,
    AlignedPair,
    FidelityError,
    align,
    aligned_pairs,
    count_positions,
    covered,
    evaluate_pairs,
    evaluate_patient,
    fid_rows,
    fid_slices,
    leave_one_out,
    resample_z,
    resize_slices,
    similarity_curve,
    similarity_slices,
    simulate_methods,
    slice_similarity,
)

__all__ = ['CONVENTIONS', 'FID_MIN_SLICES', 'FID_WINDOW', 'HU_RANGE', 'WINDOW', 'body_mask', 'compare', 'fid', 'fid_features', 'fixed_window_scale', 'frechet_distance', 'kernel_inception_distance', 'kid', 'minmax_scale', 'psnr', 'rmse', 'ssim', 'BootstrapResult', 'WilcoxonResult', 'hierarchical_bootstrap', 'higher_is_better', 'min_attainable_p', 'paired_wilcoxon', 'paper_table3', 'summary_stats', 'summary_table', 'ALIGNMENTS', 'INDEX_METHODS', 'AlignedPair', 'FidelityError', 'align', 'aligned_pairs', 'count_positions', 'covered', 'evaluate_pairs', 'evaluate_patient', 'fid_rows', 'fid_slices', 'leave_one_out', 'resample_z', 'resize_slices', 'similarity_curve', 'similarity_slices', 'simulate_methods', 'slice_similarity']

#: Names of the robustness study (now :mod:`t2tcore.studies.robustness`) this package exported.
_MOVED = {"AXES", "STUDY_METHODS", "Pair", "Setting", "StudyConfig", "evaluate_setting", "one_at_a_time", "ranking",
          "scan_phantom", "sweep", "triangle_verdict"}


def __getattr__(name: str):
    """The robustness study's old names, with a DeprecationWarning (the library does not import the studies)."""
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib
    import warnings

    where = "robustness_report" if name in ("ranking", "triangle_verdict") else "robustness"
    warnings.warn(f"t2tcore.evaluation.{name} is deprecated; use t2tcore.studies.{where}.{name}", DeprecationWarning,
                  stacklevel=2)
    return getattr(importlib.import_module(f"t2tcore.studies.{where}"), name)
