"""Thick-slice CT simulated from thin-slice CT: the paper's method and the baselines.

The proposed method (Tang, Xing, Yang, Section III-A/B) has two steps:

* **Algorithm 1** (position correction, :func:`thick_positions`): thick slices are placed at
  physical positions ``s, s + d, s + 2d, ...`` from the first thin position ``s`` to the last
  one ``e`` in steps of the slice interval ``d`` (mm).
* **Algorithm 2** (weighted average): each thick slice at ``p`` is the normalised weighted sum
  of the thin slices at ``l`` with the triangular weight ``g(p, l, t) = max(0, 1 - |p - l| / t)``
  where ``t`` is the thick slice thickness (mm).

Every method that works on physical positions (``proposed``, ``gaussian_z``, and any later
kernel, e.g. a measured one) is built the same way: a :class:`Kernel` (a symmetric weight as a
function of the z distance in mm, with a support radius) gives a :func:`weight_matrix`
between thin and thick positions, and :func:`apply_weights` applies it slice by slice in
bounded memory. Adding such a method is one entry in ``_KERNEL_METHODS``.

The baselines (``direct``, ``average``, ``gaussian``) are index based, as the paper describes
earlier work (Section II) and as its released code is described to do them: the thin slices
are cut into groups of ``k = round(thickness / thin_thickness)`` consecutive slices,
ignoring where the slices are. Their weights are also a matrix (:func:`group_weights`)
applied by the same :func:`apply_weights`.

All positions and thicknesses are in mm; images are float32 (HU) unless stated.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from t2tcore.simulation.profile import load_slice_profile
from t2tcore.simulation.kernels import (
    Kernel,
    _as_float64,
    _finite,
    _is_torch,
    _positive,
    apply_weights,
    blur_in_plane,
    gaussian_kernel,
    group_weights,
    triangle_kernel,
    weight_matrix,
)

__all__ = ["METHODS", "PROFILE_METHODS", "n_thick_positions", "simulate_thick", "thick_positions"]

#: Every simulation method :func:`simulate_thick` knows that needs nothing but its thin
#: series (``calibrated`` also needs a measured profile: :data:`PROFILE_METHODS`).
METHODS = ("proposed", "direct", "average", "gaussian", "gaussian_z")

#: Methods that need ``profile=`` (a slice profile measured by :mod:`t2tcore.simulation.calibrate`).
PROFILE_METHODS = ("calibrated",)

# Algorithm 1 treats an end point within this many intervals of the grid as on the grid,
# or within this fraction of the span (a slice spacing stored with 6 significant digits,
# 0.799999 for 0.8, as some NIfTI writers do, must not drop the last slice).
_GRID_TOL = 1e-9
_SPAN_TOL = 2e-6


# --------------------------------------------------------------------------------------
# Algorithm 1 and the driver
# --------------------------------------------------------------------------------------


def thick_positions(start: float, end: float, interval: float) -> np.ndarray:
    """Algorithm 1: thick slice positions ``s, s + d, s + 2d, ...`` while ``s <= p <= e``.

    Positions are computed as ``p_k = s + k*d`` (no accumulated round-off), and an end
    point that lies on the grid up to round-off is included and returned exactly as
    ``end``: ``thick_positions(0, 0.3, 0.1)`` has 4 positions. Round-off is float
    round-off (1e-9 intervals) or a spacing stored with 6 significant digits (2e-6 of the
    span, e.g. 80 slices every 0.799999 mm), at most 1 % of an interval: the same end
    point whether the thin positions come from DICOM or from a NIfTI affine.

    Parameters
    ----------
    start, end : float
        First and last thin slice positions ``s <= e`` (mm).
    interval : float
        Slice interval ``d`` (mm, > 0): the distance between consecutive thick slices.

    Returns
    -------
    ndarray, shape (n_thick,), float64
        Ascending positions in mm; ``n_thick = floor((e - s) / d) + 1``.
    """
    s = _finite(start, "start")
    e = _finite(end, "end")
    d = _positive(interval, "interval")
    n = n_thick_positions(s, e, d) - 1
    p = s + np.arange(n + 1, dtype=np.float64) * d
    if abs(p[-1] - e) <= _end_tol(s, e, d):
        p[-1] = e
    return p


def _end_tol(s: float, e: float, d: float) -> float:
    return min(max(_GRID_TOL * d, _SPAN_TOL * (e - s)), 0.01 * d)


def n_thick_positions(start: float, end: float, interval: float) -> int:
    """How many positions :func:`thick_positions` returns (computed without making them)."""
    s = _finite(start, "start")
    e = _finite(end, "end")
    d = _positive(interval, "interval")
    if e < s:
        raise ValueError(f"end ({e} mm) must not be below start ({s} mm)")
    return int(math.floor((e - s + _end_tol(s, e, d)) / d)) + 1


def _check_size(n_thick: int, volume: Any, advice: str) -> None:
    """Refuse a simulation whose output (and weight matrix) would not fit in memory."""
    from t2tcore.limits import check_fits

    n_thin, ny, nx = (int(v) for v in volume.shape)
    itemsize = 8 if getattr(volume, "dtype", None) == np.float64 else 4
    check_fits(n_thick, ny * nx * itemsize + 8 * n_thin, "thick slices", f"choose {advice}")


# method -> kernel factory taking (thickness) in mm. A new physical-position method (e.g. a
# measured kernel) is one more entry here plus its name in METHODS.
_KERNEL_METHODS: dict[str, Callable[[float], Kernel]] = {
    "proposed": triangle_kernel,
    "gaussian_z": gaussian_kernel,
    "calibrated": lambda thickness: _needs_profile(),
}


def _needs_profile() -> Kernel:
    raise ValueError("method 'calibrated' needs profile= (a t2tcore.simulation.SliceProfile or its JSON path)")


def _profile_kernel(profile: Any, thickness: float) -> tuple[Kernel, float]:
    """Kernel and in-plane sigma (pixels) of a calibrated profile (a SliceProfile or a JSON path).

    """

    if profile is None:
        _needs_profile()
    prof = load_slice_profile(profile)
    if prof.thickness is not None and abs(prof.thickness - thickness) > 0.01 * prof.thickness:
        raise ValueError(
            f"the profile was fitted for {prof.thickness:g} mm thick slices, not {thickness:g} mm "
            "(simulate with its thickness, or fit a profile for this one)"
        )
    return prof.kernel(), prof.inplane_sigma_px


_GROUP_METHODS = {"direct": "centre", "average": "mean", "gaussian": "mean"}


def simulate_thick(
    volume: Any,
    positions: Any,
    thickness: float,
    interval: float | None = None,
    method: str = "proposed",
    target_positions: Any = None,
    thin_thickness: float | None = None,
    sigma: float = 1.0,
    profile: Any = None,
) -> tuple[Any, Any]:
    """Simulate a thick-slice series from a thin-slice series.

    Every method returns honest physical positions, so that its slices can be paired with
    the slices of a real thick series by position.

    ``proposed``
        The paper's method: positions by Algorithm 1 (:func:`thick_positions` from the
        first to the last thin position in steps of ``interval``) or exactly
        ``target_positions``, and Algorithm 2: ``thick(p) = sum_l g(p,l,t) thin(l) /
        sum_l g(p,l,t)`` with the triangle ``g = max(0, 1 - |p - l| / t)``.
    ``gaussian_z``
        Same positions; a Gaussian weight along z with FWHM = ``thickness`` (truncated at
        4 sigma), normalised by the total weight.
    ``calibrated``
        Same positions; the kernel measured on paired scans of the protocol
        (``profile``, see :mod:`t2tcore.simulation.calibrate`), normalised by the total weight, then
        the profile's in-plane blur.
    ``direct``, ``average``, ``gaussian``
        The index-based baselines: groups of ``k = round(thickness / thin_thickness)``
        consecutive slices (halves round up; at least 1), ``n // k`` groups, an incomplete
        last group of ``n % k`` slices is dropped. ``direct`` takes the centre slice of each
        group (slice ``k // 2`` of the group), ``average`` the group mean, ``gaussian`` the
        group mean followed by an in-plane 2-D Gaussian blur of ``sigma`` pixels (what the
        paper's released code is reported to call Gaussian averaging;
        ``scipy.ndimage.gaussian_filter``, mode ``"reflect"``, truncated at 4 sigma).
        ``interval`` is not used (the groups set the spacing). Dropping the incomplete
        last group follows the paper's "n slices become n/k" (525 -> 175 for 1 -> 3 mm). The
        returned positions are honest physical positions: the mean position of each
        group's slices (``average``, ``gaussian``), or the position of the slice taken
        (``direct``).

    Parameters
    ----------
    volume : ndarray or torch.Tensor, shape (Z, Y, X)
        Thin slices in HU, float32 (numpy float64 is kept as float64). A torch tensor is
        processed with torch on its device, and torch tensors are returned. Never modified.
    positions : array_like, shape (Z,)
        Slice positions in mm along the slice normal, in any order (sorted internally; the
        volume's slices are taken in position order). Must be finite and distinct.
    thickness : float
        Thick slice thickness ``t`` in mm (> 0).
    interval : float, optional
        Thick slice interval ``d`` in mm (> 0). Required for ``proposed``/``gaussian_z``
        unless ``target_positions`` is given.
    method : str, optional
        One of :data:`METHODS` or :data:`PROFILE_METHODS`; default ``"proposed"``.
    target_positions : array_like, shape (n_thick,), optional
        ``proposed``/``gaussian_z`` only: compute the thick slices exactly at these positions
        (mm, kept in the given order), e.g. those of a real thick series, instead of
        Algorithm 1. Not accepted by the index-based methods, whose positions are fixed by
        their groups.
    thin_thickness : float, optional
        Index-based methods only: the thin slice thickness in mm used for ``k``. Default:
        the median spacing of ``positions``. (The ``t2t`` command passes the header's
        SliceThickness.)
    sigma : float, optional
        ``gaussian`` only: in-plane blur in pixels (>= 0), default 1.
    profile : SliceProfile or str or Path, optional
        ``calibrated`` only (and required there): a measured slice profile
        (:class:`t2tcore.simulation.SliceProfile`) or the path of its JSON file. Its kernel
        replaces the triangle of Algorithm 2 (same positions, same normalisation), then its
        in-plane blur (``inplane_sigma_px``) is applied. ``thickness`` must match the
        profile's own thickness when it records one (1 % tolerance).

    Returns
    -------
    thick_volume : ndarray or torch.Tensor, shape (n_thick, Y, X)
        float32 (float64 for float64 numpy input).
    thick_positions : ndarray or torch.Tensor, shape (n_thick,), float64
        Positions in mm (ascending unless ``target_positions`` were given in another order);
        a float64 tensor on the volume's device for torch input.

    Raises
    ------
    ValueError
        On invalid arguments (non-3-D volume, length mismatch, non-finite or duplicate
        positions, thickness/interval <= 0, unknown method, non-finite targets) and when a
        target position gets no weight from any thin slice (outside the thin coverage).
    """
    is_torch = _is_torch(volume)
    if not is_torch:
        volume = np.asarray(volume)
    if volume.ndim != 3:
        raise ValueError(f"volume must be 3-D (Z, Y, X), got shape {tuple(volume.shape)}")
    if method not in METHODS + PROFILE_METHODS:
        raise ValueError(f"unknown method {method!r}; valid methods: {', '.join(METHODS + PROFILE_METHODS)}")
    if profile is not None and method != "calibrated":
        raise ValueError(f"profile= is for method 'calibrated', not {method!r}")
    n_thin = volume.shape[0]
    pos = _as_float64(positions)
    if pos.ndim != 1 or pos.size != n_thin:
        raise ValueError(f"positions must be 1-D with one entry per slice ({n_thin}), got shape {pos.shape}")
    if n_thin == 0:
        raise ValueError("volume has no slices")
    if not np.all(np.isfinite(pos)):
        raise ValueError("positions must be finite (no NaN or inf)")
    order = np.argsort(pos, kind="stable")
    sorted_pos = pos[order]
    dup = np.flatnonzero(np.diff(sorted_pos) <= 0)
    if dup.size:
        raise ValueError(
            f"positions must be distinct (strictly monotonic after sorting); {dup.size} duplicate(s), "
            f"first at {sorted_pos[dup[0]]:.6g} mm"
        )
    t = _positive(thickness, "thickness")
    if interval is not None:
        interval = _positive(interval, "interval")

    if method in _KERNEL_METHODS:
        if target_positions is not None:
            targets = _as_float64(target_positions).reshape(-1)
            if targets.size == 0:
                raise ValueError("target_positions is empty")
            if not np.all(np.isfinite(targets)):
                raise ValueError("target_positions must be finite (no NaN or inf)")
        elif interval is None:
            raise ValueError(f"method {method!r} needs an interval (mm) or target_positions")
        else:
            _check_size(n_thick_positions(sorted_pos[0], sorted_pos[-1], interval), volume, "a larger interval")
            targets = thick_positions(sorted_pos[0], sorted_pos[-1], interval)
        _check_size(targets.size, volume, "fewer target positions")
        if method == "calibrated":
            kernel, blur = _profile_kernel(profile, t)
        else:
            kernel, blur = _KERNEL_METHODS[method](t), 0.0
        w = weight_matrix(pos, targets, kernel)
        out = apply_weights(volume, w)
        if blur > 0:
            out = blur_in_plane(out, blur, inplace=True)
    else:
        s = _finite(sigma, "sigma") if method == "gaussian" else 0.0
        if s < 0:
            raise ValueError(f"sigma must be >= 0 pixels, got {s}")
        if volume.ndim == 3 and s > max(volume.shape[1:]):  # its taps alone would not fit in memory at 1e9
            raise ValueError(f"sigma {s:g} pixels is wider than the images ({volume.shape[1]} x {volume.shape[2]} "
                             "px): the blur would flatten every slice to its mean")
        if target_positions is not None:
            raise ValueError(
                f"target_positions only works with the physical-position methods "
                f"({', '.join(_KERNEL_METHODS)}); {method!r} places its slices by index groups"
            )
        if thin_thickness is None:
            if n_thin < 2:
                raise ValueError("one thin slice has no spacing: pass thin_thickness")
            thin_t = float(np.median(np.diff(sorted_pos)))
        else:
            thin_t = _positive(thin_thickness, "thin_thickness")
        k = max(1, int(math.floor(t / thin_t + 0.5)))
        w_sorted = group_weights(n_thin, k, _GROUP_METHODS[method])
        if method == "direct":
            targets = sorted_pos[np.arange(w_sorted.shape[0]) * k + k // 2]
        else:
            targets = sorted_pos[: w_sorted.shape[0] * k].reshape(-1, k).mean(axis=1)
        w = np.zeros_like(w_sorted)
        w[:, order] = w_sorted  # back to the volume's own slice order
        out = apply_weights(volume, w)
        if method == "gaussian":
            out = blur_in_plane(out, s, inplace=True)

    if is_torch:
        import torch

        # float64 positions on the volume's device (on CPU for devices without float64, MPS)
        device = volume.device if volume.device.type != "mps" else "cpu"
        return out, torch.as_tensor(targets, dtype=torch.float64, device=device)
    return out, targets


