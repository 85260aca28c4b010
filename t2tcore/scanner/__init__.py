"""The virtual helical CT scanner: analytic phantoms, acquisition and wFBP reconstruction, virtual cohorts.

On a real scanner, thin and thick slices are two reconstructions of one set of projection
data that differ only in how the detector rows are weighted along z. This package does the
same with a simple, explicit physics model, so that the book's "real" thick slices come from
physics and not from any of the thick-slice simulation methods it compares.

Modules, lowest first (each imports only the ones above it):

Phantoms
    :mod:`~t2tcore.scanner.primitives` -- analytic solids and the :class:`Phantom` that paints
    them (coordinates, HU and mu conventions); :mod:`~t2tcore.scanner.physics_phantoms` --
    water cylinder, disk, bead and composites for physics tests;
    :mod:`~t2tcore.scanner.anatomy` -- helpers shared by the seeded anatomies (trees, spine,
    ribs, lesion placement); :mod:`~t2tcore.scanner.abdomen`, :mod:`~t2tcore.scanner.chest`.
Scanner
    :mod:`~t2tcore.scanner.config` -- :class:`ScannerConfig`, :class:`ReconConfig` and the
    helical geometry; :mod:`~t2tcore.scanner.z_weighting` -- z-weights and the slice
    sensitivity profile; :mod:`~t2tcore.scanner.filters` -- the kernels' ramp filters;
    :mod:`~t2tcore.scanner.projectors` -- sparse forward and back-projector;
    :mod:`~t2tcore.scanner.dose` -- photons per ray and predicted noise;
    :mod:`~t2tcore.scanner.acquisition` -- raw data, noiseless and noisy;
    :mod:`~t2tcore.scanner.reconstruction` -- z-filtered FBP and :func:`scan`.
Cohorts
    :mod:`~t2tcore.scanner.cohorts` -- the virtual cohorts (``ldct``: the book's stand-in of the
    paper's data, written as DICOM; ``fibrosis``: chapter 07's; ``rplhr``: a tiny RPLHR-CT tree),
    one writer for all, and where the book keeps them (``cohort_dir``).

Positions and thicknesses are in mm, images are float32 HU, arrays are (Z, Y, X).
"""

from __future__ import annotations

from t2tcore.scanner.primitives import (  # noqa: F401
    MU_WATER,
    AIR_HU,
    Phantom,
    Primitive,
    Extrusion,
    Ellipsoid,
    TubeSet,
    NoiseTile,
)
from t2tcore.scanner.physics_phantoms import (  # noqa: F401
    WaterCylinder,
    Disk,
    Bead,
    Composite,
)
from t2tcore.scanner.anatomy import Lesion  # noqa: F401
from t2tcore.scanner.abdomen import abdomen  # noqa: F401
from t2tcore.scanner.chest import ChestPhantom, chest  # noqa: F401
from t2tcore.scanner.config import (  # noqa: F401
    KERNELS,
    Z_WEIGHTINGS,
    ScannerConfig,
    ReconConfig,
)
from t2tcore.scanner.z_weighting import (  # noqa: F401
    slice_sensitivity_profile,
    fwhm,
    z_weight,
    z_weight_width,
    z_weight_variance_factor,
)
from t2tcore.scanner.filters import kernel_response  # noqa: F401
from t2tcore.scanner.dose import photons_per_ray, predict_noise_sd  # noqa: F401
from t2tcore.scanner.acquisition import (  # noqa: F401
    RawData,
    project,
    add_noise,
    acquire,
)
from t2tcore.scanner.reconstruction import (  # noqa: F401
    ScanResult,
    reconstruct,
    reconstruct_many,
    scan,
)
from t2tcore.scanner.cohorts.ldct import (  # noqa: F401
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
