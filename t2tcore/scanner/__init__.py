"""The virtual helical CT scanner: analytic phantoms, acquisition and wFBP reconstruction, virtual cohorts."""

from __future__ import annotations

from t2tcore.scanner.phantoms import (  # noqa: F401
    MU_WATER,
    AIR_HU,
    Phantom,
    Primitive,
    Extrusion,
    Ellipsoid,
    TubeSet,
    NoiseTile,
    WaterCylinder,
    Disk,
    Bead,
    Composite,
    Lesion,
    ChestPhantom,
    abdomen,
    chest,
)
from t2tcore.scanner.helical import (  # noqa: F401
    KERNELS,
    Z_WEIGHTINGS,
    ScannerConfig,
    ReconConfig,
    RawData,
    ScanResult,
    project,
    add_noise,
    acquire,
    reconstruct,
    reconstruct_many,
    scan,
    photons_per_ray,
    predict_noise_sd,
    slice_sensitivity_profile,
    fwhm,
    z_weight,
    z_weight_width,
    z_weight_variance_factor,
    kernel_response,
)
from t2tcore.scanner.cohort import (  # noqa: F401
    MANIFEST_NAME,
    COHORT_FORMAT,
    TEST_SCANNER,
    TRAIN_SCANNER,
    DOSE_MAS,
    PatientPlan,
    resolve_profile,
    scanner_configs,
    recon_configs,
    plan_patients,
    make_phantom,
    cohort_spec,
    read_manifest,
    is_up_to_date,
    make_cohort,
)

__all__ = ['MU_WATER', 'AIR_HU', 'Phantom', 'Primitive', 'Extrusion', 'Ellipsoid', 'TubeSet', 'NoiseTile', 'WaterCylinder', 'Disk', 'Bead', 'Composite', 'Lesion', 'ChestPhantom', 'abdomen', 'chest', 'KERNELS', 'Z_WEIGHTINGS', 'ScannerConfig', 'ReconConfig', 'RawData', 'ScanResult', 'project', 'add_noise', 'acquire', 'reconstruct', 'reconstruct_many', 'scan', 'photons_per_ray', 'predict_noise_sd', 'slice_sensitivity_profile', 'fwhm', 'z_weight', 'z_weight_width', 'z_weight_variance_factor', 'kernel_response', 'MANIFEST_NAME', 'COHORT_FORMAT', 'TEST_SCANNER', 'TRAIN_SCANNER', 'DOSE_MAS', 'PatientPlan', 'resolve_profile', 'scanner_configs', 'recon_configs', 'plan_patients', 'make_phantom', 'cohort_spec', 'read_manifest', 'is_up_to_date', 'make_cohort']
