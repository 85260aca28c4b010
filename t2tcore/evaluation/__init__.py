"""Metrics, statistics, simulation fidelity (Table III, Fig. 7) and the robustness study."""

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
from t2tcore.evaluation.robustness import (  # noqa: F401
    AXES,
    STUDY_METHODS,
    Pair,
    Setting,
    StudyConfig,
    evaluate_setting,
    one_at_a_time,
    ranking,
    scan_phantom,
    sweep,
    triangle_verdict,
)

__all__ = ['CONVENTIONS', 'FID_MIN_SLICES', 'FID_WINDOW', 'HU_RANGE', 'WINDOW', 'body_mask', 'compare', 'fid', 'fid_features', 'fixed_window_scale', 'frechet_distance', 'kernel_inception_distance', 'kid', 'minmax_scale', 'psnr', 'rmse', 'ssim', 'BootstrapResult', 'WilcoxonResult', 'hierarchical_bootstrap', 'higher_is_better', 'min_attainable_p', 'paired_wilcoxon', 'paper_table3', 'summary_stats', 'summary_table', 'ALIGNMENTS', 'INDEX_METHODS', 'AlignedPair', 'FidelityError', 'align', 'aligned_pairs', 'count_positions', 'covered', 'evaluate_pairs', 'evaluate_patient', 'fid_rows', 'fid_slices', 'leave_one_out', 'resample_z', 'resize_slices', 'similarity_curve', 'similarity_slices', 'simulate_methods', 'slice_similarity', 'AXES', 'STUDY_METHODS', 'Pair', 'Setting', 'StudyConfig', 'evaluate_setting', 'one_at_a_time', 'ranking', 'scan_phantom', 'sweep', 'triangle_verdict']
