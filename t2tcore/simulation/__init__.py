"""Thick slices from thin slices: Algorithms 1 and 2, the baselines, kernels and measured slice profiles."""

from __future__ import annotations

from t2tcore.simulation.kernels import (  # noqa: F401
    FWHM_PER_SIGMA,
    Kernel,
    apply_weights,
    blur_in_plane,
    gaussian_kernel,
    group_weights,
    triangle_kernel,
    weight_matrix,
)
from t2tcore.simulation.simulate import (  # noqa: F401
    METHODS,
    PROFILE_METHODS,
    simulate_thick,
    thick_positions,
)
from t2tcore.simulation.profile import (  # noqa: F401
    PROFILE_FORMAT,
    PROFILE_VERSION,
    ProfileError,
    SliceProfile,
    SliceProfileError,
    ZProfile,
    load_profile,
    load_slice_profile,
)
from t2tcore.simulation.calibrate import (  # noqa: F401
    fit_profile,
    fit_slice_profile,
)

__all__ = ['FWHM_PER_SIGMA', 'Kernel', 'apply_weights', 'blur_in_plane', 'gaussian_kernel', 'group_weights', 'triangle_kernel', 'weight_matrix', 'METHODS', 'PROFILE_METHODS', 'simulate_thick', 'thick_positions', 'PROFILE_FORMAT', 'PROFILE_VERSION', 'ProfileError', 'SliceProfile', 'SliceProfileError', 'ZProfile', 'load_profile', 'load_slice_profile', 'fit_profile', 'fit_slice_profile']
