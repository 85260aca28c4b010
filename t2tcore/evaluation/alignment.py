"""Putting a simulated thick stack and the real thick stack on one slice grid.

A simulated thick series and the real thick series of the same patient rarely have the
same slices: the index-based baselines (``direct``, ``average``, ``gaussian``) make
``n_thin // k`` slices at the centres of their index groups, the real series has its own
positions. Before any metric, the two stacks must be put on one slice grid. Two ways are
offered and both are reported, never mixed:

``"count"`` (the released code's way)
    The simulated stack is linearly interpolated along the slice *index* to the real
    slice count (:func:`resize_slices`, the semantics of
    ``torch.nn.functional.interpolate(mode="trilinear", align_corners=False)`` with the
    in-plane size unchanged), whatever the slices' positions are.
``"physical"``
    The simulated stack is linearly interpolated along z *in mm* to the real thick slice
    positions (:func:`resample_z`), using each method's honest slice positions.

The position-based methods (``proposed``, ``gaussian_z`` and ``calibrated``) are simulated
directly at the real thick positions, so both alignments leave them unchanged. Which real
thick slices are compared is :func:`t2tcore.evaluation.fidelity.aligned_pairs`' rule; an
aligned pair is an :class:`AlignedPair`.

**On ayanglab/Thick2Thin.** The paper's released code is not in the source index this
project can search (``find_files`` finds no file of ``ayanglab/Thick2Thin``), so its exact
resizing call could not be checked. The issue describes the index-based stacks as
"trilinearly interpolated to the real thick slice count"; :func:`resize_slices` implements
PyTorch's trilinear interpolation with ``align_corners=False`` (PyTorch's default) and is
tested against ``torch.nn.functional.interpolate``.

Positions are in mm, images in HU (float32) unless stated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from t2tcore.errors import T2TError

__all__ = [
    "ALIGNMENTS",
    "INDEX_METHODS",
    "AlignedPair",
    "FidelityError",
    "align",
    "count_positions",
    "covered",
    "resample_z",
    "resize_slices",
    "thick_thickness_of",
    "thin_thickness_of",
]

#: Slice alignments of a simulated stack to the real thick slices.
ALIGNMENTS = ("count", "physical")

#: Methods that place their slices by index groups (no target positions).
INDEX_METHODS = ("direct", "average", "gaussian")

# Positions within this distance (mm) of the covered range count as inside it.
_TOL_MM = 1e-6


class FidelityError(T2TError):
    """A thin/thick pair that cannot be compared (no common slices, no coverage...)."""


# --------------------------------------------------------------------------------------
# Putting two stacks on one slice grid
# --------------------------------------------------------------------------------------


def as_positions(positions: Any, n: int, name: str) -> np.ndarray:
    """``positions`` as a finite 1-D float64 array of exactly ``n`` values, or a ValueError naming ``name``."""
    pos = np.array(positions, dtype=np.float64).reshape(-1)
    if pos.size != n:
        raise ValueError(f"{name} has {pos.size} entries for {n} slices")
    if n == 0:
        raise ValueError(f"{name} is empty")
    if not np.all(np.isfinite(pos)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return pos


def covered(positions: Any, target_positions: Any, tol: float = _TOL_MM) -> np.ndarray:
    """Which targets lie inside the range spanned by ``positions``.

    Parameters
    ----------
    positions : array_like, shape (n,)
        Slice positions in mm, any order.
    target_positions : array_like, shape (m,)
        Positions in mm.
    tol : float
        Targets within ``tol`` mm outside the range still count as inside.

    Returns
    -------
    ndarray of bool, shape (m,)
        ``min(positions) - tol <= target <= max(positions) + tol``.
    """
    pos = np.asarray(positions, dtype=np.float64).reshape(-1)
    tgt = np.asarray(target_positions, dtype=np.float64).reshape(-1)
    if pos.size == 0:
        raise ValueError("positions is empty")
    return (tgt >= pos.min() - tol) & (tgt <= pos.max() + tol)


def resample_z(
    volume: Any, positions: Any, target_positions: Any, *, outside: str = "raise", tol: float = _TOL_MM
) -> np.ndarray:
    """Linear interpolation of a stack of slices along z, in mm.

    Slice ``j`` of the output is ``(1 - w) * volume[a] + w * volume[b]`` where ``a`` and ``b``
    are the two slices whose positions enclose ``target_positions[j]`` and ``w`` is the
    fraction of the way from ``a`` to ``b``; a target equal to a slice position gives that
    slice exactly. In-plane nothing changes.

    Parameters
    ----------
    volume : array_like, shape (Z, Y, X)
        Slices (HU). Not modified.
    positions : array_like, shape (Z,)
        Their positions in mm, any order, distinct.
    target_positions : array_like, shape (M,)
        Where to interpolate (mm), any order (output follows it).
    outside : {"raise", "clamp"}
        What happens to targets outside ``[min(positions), max(positions)]`` (more than
        ``tol`` mm outside): ``"raise"`` (default) raises :class:`ValueError` naming them;
        ``"clamp"`` gives them the nearest end slice (constant continuation, never a
        linear extrapolation). Use :func:`covered` to know which targets are inside.
    tol : float
        Targets within ``tol`` mm of the range are inside (and take the end slice).

    Returns
    -------
    ndarray, shape (M, Y, X), float32
        (float64 for float64 input).

    Raises
    ------
    ValueError
        On a non-3-D volume, a length mismatch, non-finite or duplicate positions, an unknown
        ``outside``, or (``outside="raise"``) targets outside the covered range.
    """
    vol = np.asarray(volume)
    if vol.ndim != 3:
        raise ValueError(f"volume must be 3-D (Z, Y, X), got shape {vol.shape}")
    if outside not in ("raise", "clamp"):
        raise ValueError(f"outside must be 'raise' or 'clamp', got {outside!r}")
    pos = as_positions(positions, vol.shape[0], "positions")
    tgt = np.array(target_positions, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(tgt)):
        raise ValueError("target_positions must be finite (no NaN or inf)")
    order = np.argsort(pos, kind="stable")
    sp = pos[order]
    if np.any(np.diff(sp) <= 0):
        raise ValueError("positions must be distinct")
    inside = covered(sp, tgt, tol)
    if outside == "raise" and not inside.all():
        bad = tgt[~inside]
        shown = ", ".join(f"{v:.6g}" for v in bad[:10]) + (" ..." if bad.size > 10 else "")
        raise ValueError(
            f"{bad.size} target position(s) outside the covered range {sp[0]:.6g}..{sp[-1]:.6g} mm "
            f"(no extrapolation; pass outside='clamp' to use the end slices): {shown} mm"
        )
    dtype = np.float64 if vol.dtype == np.float64 else np.float32
    out = np.empty((tgt.size,) + vol.shape[1:], dtype=dtype)
    t = np.clip(tgt, sp[0], sp[-1])
    hi = np.clip(np.searchsorted(sp, t, side="right"), 1, max(sp.size - 1, 1))
    for j in range(tgt.size):
        if sp.size == 1:
            out[j] = vol[order[0]]
            continue
        b = int(hi[j])
        a = b - 1
        w = (t[j] - sp[a]) / (sp[b] - sp[a])
        if w <= 0:
            out[j] = vol[order[a]]
        elif w >= 1:
            out[j] = vol[order[b]]
        else:
            np.multiply(vol[order[a]], dtype(1.0 - w), out=out[j], dtype=dtype, casting="unsafe")
            out[j] += dtype(w) * vol[order[b]].astype(dtype, copy=False)
    return out


def resize_slices(volume: Any, n: int) -> np.ndarray:
    """Resize a stack to ``n`` slices by linear interpolation along the slice index.

    This is ``torch.nn.functional.interpolate(v[None, None], size=(n, Y, X),
    mode="trilinear", align_corners=False)[0, 0]``: with the in-plane size unchanged the
    in-plane part is the identity, and output slice ``i`` samples the input at the index
    ``s = max((i + 0.5) * Z / n - 0.5, 0)``, linearly between slices ``floor(s)`` and
    ``min(floor(s) + 1, Z - 1)``. Slice positions are ignored: this is how the released
    code is described to match a simulated stack to the real thick slice count.

    Parameters
    ----------
    volume : array_like, shape (Z, Y, X)
        Slices in position order. Not modified.
    n : int
        Number of output slices (>= 1).

    Returns
    -------
    ndarray, shape (n, Y, X), float32
        (float64 for float64 input). ``n == Z`` returns a copy of the input.
    """
    vol = np.asarray(volume)
    if vol.ndim != 3 or vol.shape[0] == 0:
        raise ValueError(f"volume must be 3-D (Z, Y, X) with Z >= 1, got shape {vol.shape}")
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    n = int(n)
    z = vol.shape[0]
    dtype = np.float64 if vol.dtype == np.float64 else np.float32
    out = np.empty((n,) + vol.shape[1:], dtype=dtype)
    scale = z / n
    for i in range(n):
        s = max((i + 0.5) * scale - 0.5, 0.0)
        a = min(int(math.floor(s)), z - 1)
        b = min(a + 1, z - 1)
        w = s - a
        if w == 0 or a == b:
            out[i] = vol[a]
        else:
            np.multiply(vol[a], dtype(1.0 - w), out=out[i], dtype=dtype, casting="unsafe")
            out[i] += dtype(w) * vol[b].astype(dtype, copy=False)
    return out


def count_positions(sim_positions: Any, n: int) -> np.ndarray:
    """Where the slices of a count-aligned stack really are.

    :func:`resize_slices` mixes neighbouring slices by index; the same interpolation of the
    slices' positions gives the position (mm) each output slice stands for. The difference
    from the real slice it is paired with is the count alignment's misplacement.

    Parameters
    ----------
    sim_positions : array_like, shape (Z,)
        Positions (mm) of the stack's slices, in slice order.
    n : int
        Number of slices after resizing.

    Returns
    -------
    ndarray, shape (n,), float64
    """
    pos = np.array(sim_positions, dtype=np.float64).reshape(-1)
    if pos.size == 0 or not np.all(np.isfinite(pos)):
        raise ValueError("sim_positions must be a non-empty finite 1-D array")
    return resize_slices(pos[:, None, None], n)[:, 0, 0]


def align(
    sim_volume: Any, sim_positions: Any, ref_positions: Any, mode: str = "physical", *, outside: str = "raise"
) -> np.ndarray:
    """Put a simulated stack on the slice grid of a real thick series.

    Parameters
    ----------
    sim_volume : array_like, shape (Z, Y, X)
        Simulated thick slices (HU), in position order.
    sim_positions : array_like, shape (Z,)
        Their positions in mm (used by ``"physical"`` only).
    ref_positions : array_like, shape (M,)
        Positions of the real thick slices to compare with (mm).
    mode : {"physical", "count"}
        ``"physical"``: :func:`resample_z` to ``ref_positions`` (mm). ``"count"``:
        :func:`resize_slices` to ``M`` slices (the released code's way; positions ignored).
    outside : {"raise", "clamp"}
        ``"physical"`` only, see :func:`resample_z`.

    Returns
    -------
    ndarray, shape (M, Y, X), float32
    """
    ref = np.asarray(ref_positions, dtype=np.float64).reshape(-1)
    if mode == "physical":
        return resample_z(sim_volume, sim_positions, ref, outside=outside)
    if mode == "count":
        vol = np.asarray(sim_volume)
        as_positions(sim_positions, vol.shape[0] if vol.ndim == 3 else -1, "sim_positions")
        return resize_slices(vol, ref.size)
    raise ValueError(f"mode must be one of {ALIGNMENTS}, got {mode!r}")


@dataclass
class AlignedPair:
    """One simulated stack on the slice grid of the real thick slices it is compared with.

    Attributes
    ----------
    method : str
        Simulation method.
    alignment : str
        ``"count"`` or ``"physical"`` (see the module docstring).
    reference : ndarray, shape (M, Y, X), float32
        The real thick slices compared (HU).
    test : ndarray, shape (M, Y, X), float32
        The simulated slices on that grid (HU).
    ref_index : ndarray of int, shape (M,)
        Indices of the compared slices in the real thick series.
    ref_positions : ndarray, shape (M,)
        Their positions (mm).
    sim_positions : ndarray
        Positions (mm) of the simulated slices before alignment.
    n_ref_dropped : int
        Real thick slices of the series not compared.
    """

    method: str
    alignment: str
    reference: np.ndarray
    test: np.ndarray
    ref_index: np.ndarray
    ref_positions: np.ndarray
    sim_positions: np.ndarray
    n_ref_dropped: int = 0


def thin_thickness_of(thin) -> float:
    """The thin series' SliceThickness (mm), else its slice spacing (the thickness the index methods assume)."""
    if thin.thickness is not None and thin.thickness > 0:
        return float(thin.thickness)
    if thin.spacing:
        return float(thin.spacing)
    raise FidelityError("the thin series has no SliceThickness and one slice: cannot group its slices")




def thick_thickness_of(thick, thickness: float | None) -> float:
    """``thickness`` if given, else the real thick series' SliceThickness (mm); :class:`FidelityError` without one."""
    if thickness is not None:
        return float(thickness)
    if thick.thickness is None or not thick.thickness > 0:
        raise FidelityError("the real thick series has no SliceThickness: pass thickness=")
    return float(thick.thickness)
