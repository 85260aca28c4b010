"""How close is a simulated thick volume to the real thick volume? (Table III, Figs 4 and 7.)

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
directly at the real thick positions, so both alignments leave them unchanged.

Which real thick slices are compared (:func:`aligned_pairs`)
    * Only real thick slices whose position lies inside the thin series' coverage
      (first to last thin position, 1e-6 mm tolerance) are used: outside it every method
      would extrapolate. The number dropped is recorded in each row (``n_ref_dropped``).
      For example, a thick series at 0, 2, ..., 30 mm over a thin one at 0, 0.8, ..., 29.6
      mm loses its last slice.
    * ``count``: all those slices.
    * ``physical``: those that also lie inside the covered range of *every* index-based
      method's slice positions (their group centres start ``(k-1)/2`` thin slices in), so
      that every method is judged on the same slices; no extrapolation.

**On ayanglab/Thick2Thin.** The paper's released code is not in the source index this
project can search (``find_files`` finds no file of ``ayanglab/Thick2Thin``), so its exact
resizing call could not be checked. The issue describes the index-based stacks as
"trilinearly interpolated to the real thick slice count"; :func:`resize_slices` implements
PyTorch's trilinear interpolation with ``align_corners=False`` (PyTorch's default) and is
tested against ``torch.nn.functional.interpolate``.

FID (:func:`fid_rows`) is a distribution metric: it is computed once per group (kernel,
dose) over the slices of all patients, not per patient.

Fig. 7 (:func:`slice_similarity`, :func:`similarity_curve`): mean squared error in HU²
between one thick slice and each of a few thin slices.

Positions are in mm, images in HU (float32) unless stated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from t2tcore.evaluation import metrics as _metrics
from t2tcore.simulation import simulate as _simulate
from t2tcore.errors import T2TError

__all__ = [
    "ALIGNMENTS",
    "INDEX_METHODS",
    "AlignedPair",
    "FidelityError",
    "align",
    "aligned_pairs",
    "count_positions",
    "covered",
    "evaluate_pairs",
    "evaluate_patient",
    "fid_rows",
    "fid_slices",
    "leave_one_out",
    "resample_z",
    "resize_slices",
    "similarity_curve",
    "similarity_slices",
    "simulate_methods",
    "slice_similarity",
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


def _positions(positions: Any, n: int, name: str) -> np.ndarray:
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
    pos = _positions(positions, vol.shape[0], "positions")
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
        _positions(sim_positions, vol.shape[0] if vol.ndim == 3 else -1, "sim_positions")
        return resize_slices(vol, ref.size)
    raise ValueError(f"mode must be one of {ALIGNMENTS}, got {mode!r}")


# --------------------------------------------------------------------------------------
# Simulating and comparing one patient
# --------------------------------------------------------------------------------------


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


def _thin_thickness(thin) -> float:
    if thin.thickness is not None and thin.thickness > 0:
        return float(thin.thickness)
    if thin.spacing:
        return float(thin.spacing)
    raise FidelityError("the thin series has no SliceThickness and one slice: cannot group its slices")


def simulate_methods(
    thin,
    thick,
    methods: Sequence[str],
    *,
    thickness: float | None = None,
    profile: Any = None,
    sigma: float = 1.0,
    ref_index: Any = None,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Simulate every method from a thin series, ready to be compared with a real thick one.

    Position-based methods (anything not in :data:`INDEX_METHODS`: ``proposed``,
    ``gaussian_z``, ``calibrated``) are simulated at the positions of the real thick
    slices ``thick.positions[ref_index]``; index-based methods by index groups with
    ``thin_thickness`` = the thin header's SliceThickness.

    Parameters
    ----------
    thin, thick : t2tcore.io.Series
        The thin series and the real thick series of one patient, kernel and dose.
    methods : sequence of str
        Methods of :func:`t2tcore.simulation.simulate.simulate_thick` (``"calibrated"`` needs
        ``profile``).
    thickness : float, optional
        Simulated slice thickness in mm; default the real thick series' SliceThickness.
    profile : ZProfile, optional
        Passed to ``simulate_thick`` for ``"calibrated"``.
    sigma : float
        In-plane blur (pixels) of ``"gaussian"``.
    ref_index : array_like of int, optional
        Real thick slices to simulate at (default: those inside the thin coverage).

    Returns
    -------
    dict
        ``method -> (volume (Z, Y, X) float32, positions (Z,) mm)``, in ``methods`` order.
    """
    t = _thick_thickness(thick, thickness)
    if ref_index is None:
        ref_index = np.flatnonzero(covered(thin.positions, thick.positions))
    ref_index = np.asarray(ref_index, dtype=int)
    if ref_index.size == 0:
        raise FidelityError(
            f"no real thick slice ({thick.positions.min():.6g}..{thick.positions.max():.6g} mm) lies inside "
            f"the thin coverage ({thin.positions.min():.6g}..{thin.positions.max():.6g} mm)"
        )
    targets = thick.positions[ref_index]
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for m in dict.fromkeys(methods):
        if m in INDEX_METHODS:
            vol, pos = _simulate.simulate_thick(
                thin.volume, thin.positions, t, method=m, thin_thickness=_thin_thickness(thin), sigma=sigma
            )
        else:
            kw: dict[str, Any] = {}
            if m == "calibrated":
                if profile is None:
                    raise ValueError("method 'calibrated' needs a profile (t2tcore.simulation.calibrate.ZProfile)")
                kw["profile"] = profile
            vol, pos = _simulate.simulate_thick(
                thin.volume, thin.positions, t, method=m, target_positions=targets, **kw
            )
        out[m] = (np.asarray(vol, dtype=np.float32), np.asarray(pos, dtype=np.float64))
    return out


def _thick_thickness(thick, thickness: float | None) -> float:
    if thickness is not None:
        return float(thickness)
    if thick.thickness is None or not thick.thickness > 0:
        raise FidelityError("the real thick series has no SliceThickness: pass thickness=")
    return float(thick.thickness)


def aligned_pairs(
    thin,
    thick,
    simulations: Mapping[str, tuple[np.ndarray, np.ndarray]],
    alignments: Sequence[str] = ALIGNMENTS,
) -> list[AlignedPair]:
    """Every simulation on the slice grid of the real thick slices, in every alignment.

    Parameters
    ----------
    thin, thick : t2tcore.io.Series
        The thin series (for its coverage) and the real thick series.
    simulations : mapping
        ``method -> (volume, positions)`` from :func:`simulate_methods` (position-based
        methods simulated at the real positions of the slices inside the thin coverage).
    alignments : sequence of {"count", "physical"}

    Returns
    -------
    list of AlignedPair
        In ``alignments`` order, then ``simulations`` order. Which real thick slices each
        alignment compares is explained in the module docstring.

    Raises
    ------
    FidelityError
        If no real thick slice lies inside the thin coverage, or (``"physical"``) inside
        the coverage of every index-based method.
    """
    bad = [a for a in alignments if a not in ALIGNMENTS]
    if bad:
        raise ValueError(f"unknown alignment(s) {bad}; valid: {ALIGNMENTS}")
    n_all = thick.volume.shape[0]
    base = np.flatnonzero(covered(thin.positions, thick.positions))
    if base.size == 0:
        raise FidelityError("no real thick slice lies inside the thin coverage")
    phys = base
    for m, (_, pos) in simulations.items():
        if m in INDEX_METHODS:
            phys = phys[covered(pos, thick.positions[phys])]
    out: list[AlignedPair] = []
    for a in alignments:
        idx = base if a == "count" else phys
        if idx.size == 0:
            raise FidelityError(
                "no real thick slice lies inside the coverage of every index-based simulation "
                f"({', '.join(m for m in simulations if m in INDEX_METHODS)})"
            )
        ref_pos = thick.positions[idx]
        ref = thick.volume[idx]
        for m, (vol, pos) in simulations.items():
            if m in INDEX_METHODS:
                test = align(vol, pos, ref_pos, a)
            else:
                # simulated at thick.positions[base]: pick the slices of idx
                if vol.shape[0] != base.size:
                    raise ValueError(
                        f"{m}: {vol.shape[0]} simulated slices, expected one per real thick slice inside "
                        f"the thin coverage ({base.size}); use simulate_methods"
                    )
                test = vol[np.searchsorted(base, idx)]
            out.append(AlignedPair(m, a, ref, test, idx, ref_pos, pos, n_all - idx.size))
    return out


def evaluate_pairs(
    pairs: Iterable[AlignedPair],
    conventions: Sequence[str] = ("paper", "hu"),
    *,
    ssim_modes: Sequence[str] = ("3d", "2d"),
) -> list[dict]:
    """Metrics of aligned pairs (:func:`t2tcore.evaluation.metrics.compare`, real thick = reference).

    The ``hu`` convention's body mask is that of :func:`t2tcore.evaluation.metrics.compare`
    (``body_mask(reference)``), computed once per reference volume.

    Returns
    -------
    list of dict
        One row per pair and convention: ``method, alignment, convention, psnr, rmse,
        ssim_3d, ssim_2d, data_range, rmse_unit, n_voxels, mask_fraction, n_slices,
        n_ref_dropped, z_first, z_last`` (positions of the first and last compared real
        thick slices, mm).
    """
    rows = []
    masks: dict[int, np.ndarray] = {}  # the hu convention's body mask, once per reference
    for p in pairs:
        for c in conventions:
            mask = None
            if c == "hu":
                key = id(p.reference)
                if key not in masks:
                    masks[key] = _metrics.body_mask(p.reference)
                mask = masks[key]
            r = _metrics.compare(p.reference, p.test, convention=c, mask=mask, ssim_modes=ssim_modes)
            rows.append(
                {
                    "method": p.method,
                    "alignment": p.alignment,
                    **r,
                    "n_slices": int(p.ref_index.size),
                    "n_ref_dropped": int(p.n_ref_dropped),
                    "z_first": float(p.ref_positions[0]),
                    "z_last": float(p.ref_positions[-1]),
                }
            )
    return rows


def evaluate_patient(
    thin,
    thick,
    methods: Sequence[str],
    *,
    conventions: Sequence[str] = ("paper", "hu"),
    alignments: Sequence[str] = ALIGNMENTS,
    profile: Any = None,
    thickness: float | None = None,
    sigma: float = 1.0,
    ssim_modes: Sequence[str] = ("3d", "2d"),
) -> list[dict]:
    """Every method's simulated thick volume against one patient's real thick volume.

    :func:`simulate_methods`, then :func:`aligned_pairs`, then :func:`evaluate_pairs`.
    Patient-agnostic: the caller adds patient, kernel and dose to the rows.

    Parameters
    ----------
    thin, thick : t2tcore.io.Series
        Thin series and real thick series (same patient, kernel, dose).
    methods : sequence of str
        Simulation methods.
    conventions : sequence of {"paper", "hu"}
        Metric conventions (see :mod:`t2tcore.evaluation.metrics`).
    alignments : sequence of {"count", "physical"}
        Slice alignments (see the module docstring).
    profile : ZProfile, optional
        For ``"calibrated"``.
    thickness : float, optional
        Simulated thickness (mm); default the real thick series' SliceThickness.
    sigma : float
        In-plane blur of ``"gaussian"`` (pixels).
    ssim_modes : sequence of {"3d", "2d"}

    Returns
    -------
    list of dict
        See :func:`evaluate_pairs`.
    """
    sims = simulate_methods(thin, thick, methods, thickness=thickness, profile=profile, sigma=sigma)
    return evaluate_pairs(aligned_pairs(thin, thick, sims, alignments), conventions, ssim_modes=ssim_modes)


# --------------------------------------------------------------------------------------
# FID over a cohort
# --------------------------------------------------------------------------------------


def _even_pick(n: int, k: int) -> np.ndarray:
    """``min(n, k)`` indices spread evenly over ``range(n)``."""
    if k >= n:
        return np.arange(n)
    return np.unique(np.round(np.linspace(0, n - 1, k)).astype(int))


def fid_slices(
    pairs: Sequence[AlignedPair],
    n_slices: int | None = None,
    *,
    convention: str = "paper",
    alignment: str = "count",
) -> dict[str, np.ndarray]:
    """The slices of one patient that go into the cohort FID (:func:`fid_rows`).

    Parameters
    ----------
    pairs : sequence of AlignedPair
        One patient's pairs (:func:`aligned_pairs`); those with ``alignment`` are used
        (default ``"count"``: every real thick slice inside the thin coverage, every method
        on the same slices).
    n_slices : int, optional
        Keep at most this many slices, spread evenly along z, the same ones for the real
        and every simulated stack (default all).
    convention : {"paper", "hu"}
        ``"paper"``: each whole volume is min-max scaled to [-1, 1]
        (:func:`t2tcore.evaluation.metrics.minmax_scale`) *before* the slices are picked; ``"hu"``:
        HU, unchanged.

    Returns
    -------
    dict
        ``"reference"`` and each method -> float32 array (k, Y, X); small enough to keep
        for a whole cohort.
    """
    if convention not in _metrics.CONVENTIONS:
        raise ValueError(f"convention must be one of {_metrics.CONVENTIONS}, got {convention!r}")
    sel = [p for p in pairs if p.alignment == alignment]
    if not sel:
        raise ValueError(f"no {alignment!r} pairs given")
    n = sel[0].reference.shape[0]
    pick = _even_pick(n, n if n_slices is None else max(1, int(n_slices)))

    def prep(vol: np.ndarray) -> np.ndarray:
        v = _metrics.minmax_scale(vol) if convention == "paper" else np.asarray(vol, dtype=np.float32)
        return np.ascontiguousarray(v[pick])

    out = {"reference": prep(sel[0].reference)}
    for p in sel:
        if p.reference.shape[0] != n:
            raise ValueError("the pairs of one alignment must share their real thick slices")
        out[p.method] = prep(p.test)
    return out


def fid_rows(
    slice_sets: Sequence[Mapping[str, np.ndarray]],
    *,
    convention: str = "paper",
    device: str | None = None,
    progress: bool = False,
) -> list[dict]:
    """FID of each method against the real thick slices, pooled over patients.

    FID compares two *distributions* of images, so one value per method and group (e.g.
    kernel and dose) is computed from the slices of all patients together: the set of the
    real thick slices against the set of that method's simulated slices (the same slice
    positions, see :func:`fid_slices`). The images: ``"paper"`` maps [-1, 1] (each volume
    already min-max scaled by :func:`fid_slices`) to grey levels 0-255, ``"hu"`` maps
    (-1000, 1000) HU to 0-255; then :func:`t2tcore.evaluation.metrics.fid_features` (8-bit
    quantisation, 3 equal channels, bilinear resize to 299 x 299, InceptionV3 pool3) and
    :func:`t2tcore.evaluation.metrics.frechet_distance`. With fewer slices than 2048 features the
    covariances are rank-deficient: values are comparable between methods on the same
    slices, not with FIDs computed on other slice counts.

    Parameters
    ----------
    slice_sets : sequence of mapping
        One :func:`fid_slices` result per patient, all with the same methods.
    convention : {"paper", "hu"}
        The convention the slice sets were made with.
    device : str, optional
        Torch device of the network (default CUDA when available, else CPU).
    progress : bool
        Progress bar.

    Returns
    -------
    list of dict
        One row per method: ``method, convention, fid, n_slices, n_patients``.
    """
    if convention not in _metrics.CONVENTIONS:
        raise ValueError(f"convention must be one of {_metrics.CONVENTIONS}, got {convention!r}")
    if not slice_sets:
        raise ValueError("no slice sets given")
    keys = list(slice_sets[0])
    if "reference" not in keys:
        raise ValueError("slice sets must hold the real thick slices under 'reference'")
    for s in slice_sets[1:]:
        if list(s) != keys:
            raise ValueError("every patient must have the same methods")
    n_slices = int(sum(s["reference"].shape[0] for s in slice_sets))
    if n_slices < 2:
        raise ValueError("FID needs at least 2 slices")
    kw = dict(window=(-1.0, 1.0) if convention == "paper" else _metrics.HU_RANGE, device=device, progress=progress)
    ref = _metrics.fid_features([s["reference"] for s in slice_sets], **kw)
    rows = []
    for m in keys:
        if m == "reference":
            continue
        d = _metrics.frechet_distance(ref, _metrics.fid_features([s[m] for s in slice_sets], **kw))
        rows.append({"method": m, "convention": convention, "fid": d, "n_slices": n_slices,
                     "n_patients": len(slice_sets)})
    return rows


# --------------------------------------------------------------------------------------
# Leave-one-out calibration
# --------------------------------------------------------------------------------------


def leave_one_out(items: Mapping[str, Any], fit: Callable[[list], Any]) -> dict[str, Any]:
    """Fit on all patients but one, for each patient.

    Parameters
    ----------
    items : mapping
        ``patient -> item`` (e.g. ``(thin_volume, thin_positions, thick_volume,
        thick_positions)``), at least 2 patients.
    fit : callable
        Called with the list of the *other* patients' items (in ``items`` order), e.g.
        ``t2tcore.simulation.calibrate.fit_profile``.

    Returns
    -------
    dict
        ``patient -> fit(items of the other patients)``: never fitted on the patient's own
        data.
    """
    keys = list(items)
    if len(keys) < 2:
        raise ValueError(f"leave-one-out needs at least 2 patients, got {len(keys)}")
    return {k: fit([items[o] for o in keys if o != k]) for k in keys}


# --------------------------------------------------------------------------------------
# Fig. 7: slice similarity
# --------------------------------------------------------------------------------------


def slice_similarity(thick_slice: Any, thin_volume: Any, thin_indices: Any, mask: Any = None) -> np.ndarray:
    """Mean squared error between one thick slice and some thin slices (Fig. 7).

    Parameters
    ----------
    thick_slice : array_like, shape (Y, X)
        A real or simulated thick slice, HU.
    thin_volume : array_like, shape (Z, Y, X)
        The thin slices, HU.
    thin_indices : array_like of int, shape (K,)
        Which thin slices (0-based indices into ``thin_volume``).
    mask : array_like of bool, shape (Y, X), optional
        Pixels to average over (default all).

    Returns
    -------
    ndarray, shape (K,), float64
        ``mean((thick_slice - thin_volume[i])**2)`` in HU² for each ``i``.
    """
    sl = np.asarray(thick_slice, dtype=np.float64)
    vol = np.asarray(thin_volume)
    if sl.ndim != 2:
        raise ValueError(f"thick_slice must be 2-D (Y, X), got shape {sl.shape}")
    if vol.ndim != 3 or vol.shape[1:] != sl.shape:
        raise ValueError(f"thin_volume must be (Z, {sl.shape[0]}, {sl.shape[1]}), got shape {vol.shape}")
    idx = np.asarray(thin_indices).reshape(-1)
    if idx.size == 0:
        raise ValueError("thin_indices is empty")
    if idx.dtype.kind not in "iu" or idx.min() < 0 or idx.max() >= vol.shape[0]:
        raise ValueError(f"thin_indices must be integers in 0..{vol.shape[0] - 1}, got {idx.tolist()}")
    m = None
    if mask is not None:
        m = np.asarray(mask, dtype=bool)
        if m.shape != sl.shape or not m.any():
            raise ValueError("mask must be a non-empty boolean (Y, X) array")
    out = np.empty(idx.size, dtype=np.float64)
    for j, i in enumerate(idx):
        d = sl - vol[int(i)].astype(np.float64)
        out[j] = float(np.mean(d[m] ** 2 if m is not None else d**2))
    return out


def similarity_curve(
    thick_slice: Any,
    thin_volume: Any,
    thin_positions: Any,
    thin_indices: Any = None,
    *,
    position: float | None = None,
    half_width: int = 3,
    mask: Any = None,
) -> dict:
    """MSE of one thick slice against nearby thin slices, and the best-matching thin slice.

    Parameters
    ----------
    thick_slice : array_like, shape (Y, X)
        A real or simulated thick slice (HU), e.g. the first slice of a series.
    thin_volume : array_like, shape (Z, Y, X)
        Thin slices (HU) in position order.
    thin_positions : array_like, shape (Z,)
        Their positions (mm), increasing.
    thin_indices : array_like of int, optional
        Thin slices to compare (0-based). Default: the thin slice nearest ``position`` and
        ``half_width`` slices on each side (cut at the ends of the series).
    position : float, optional
        Position (mm) of the thick slice; needed when ``thin_indices`` is None.
    half_width : int
        See ``thin_indices``.
    mask : array_like of bool, shape (Y, X), optional
        As in :func:`slice_similarity`.

    Returns
    -------
    dict
        ``indices`` (0-based), ``positions`` (mm) of the thin slices compared, ``mse``
        (HU², one per thin slice), ``best_index`` (the thin slice with the smallest MSE),
        ``best_position`` (mm), ``nearest_index`` (the thin slice nearest ``position``, or
        None).
    """
    vol = np.asarray(thin_volume)
    pos = _positions(thin_positions, vol.shape[0] if vol.ndim == 3 else -1, "thin_positions")
    if pos.size > 1 and np.any(np.diff(pos) <= 0):
        raise ValueError("thin_positions must be strictly increasing")
    nearest = None if position is None else int(np.argmin(np.abs(pos - float(position))))
    if thin_indices is None:
        if nearest is None:
            raise ValueError("give thin_indices or the thick slice's position")
        if int(half_width) < 0:
            raise ValueError(f"half_width must be >= 0, got {half_width}")
        thin_indices = np.arange(max(0, nearest - int(half_width)), min(pos.size, nearest + int(half_width) + 1))
    idx = np.asarray(thin_indices).reshape(-1)
    mse = slice_similarity(thick_slice, vol, idx, mask=mask)
    best = int(idx[int(np.argmin(mse))])
    return {
        "indices": idx.astype(int),
        "positions": pos[idx.astype(int)],
        "mse": mse,
        "best_index": best,
        "best_position": float(pos[best]),
        "nearest_index": nearest,
    }


def similarity_slices(
    thin,
    thick,
    methods: Sequence[str],
    index: int | Sequence[int] = 0,
    *,
    thickness: float | None = None,
    interval: float | None = None,
    sigma: float = 1.0,
    profile: Any = None,
) -> dict[str, dict] | list[dict[str, dict]]:
    """The real thick slice ``index`` and, for each method, the slice that stands for it.

    Fig. 7 asks where each method puts the content of a thick slice. For the real slice
    ``index`` (counted among the real thick slices inside the thin coverage, as in
    :func:`aligned_pairs`; 0 = the first, the paper's choice) this returns:

    * position-based methods (``proposed``, ``gaussian_z``, ``calibrated``): simulated as
      the method does on its own (Algorithm 1 positions from the first thin position in
      steps of ``interval``), the slice nearest the real slice's position;
    * index-based methods: slice ``index`` of their stack resized to the real slice count
      (:func:`resize_slices`, the count alignment: what the released code pairs with the
      real slice); its position is the same interpolation of the group-centre positions
      (:func:`count_positions`).

    Parameters
    ----------
    thin, thick : t2tcore.io.Series
        Thin and real thick series of one patient.
    methods : sequence of str
        Simulation methods.
    index : int or sequence of int
        Real thick slice(s) (0-based, among those inside the thin coverage). Every method
        is simulated once whatever the number of indices.
    thickness : float, optional
        Simulated thickness (mm); default the real thick SliceThickness.
    interval : float, optional
        Interval (mm) of Algorithm 1; default the real thick series' interval (header), else
        its median spacing.
    sigma : float
        In-plane blur of ``"gaussian"`` (pixels).
    profile : ZProfile, optional
        For ``"calibrated"``.

    Returns
    -------
    dict or list of dict
        ``"real"`` and each method -> ``{"slice": (Y, X) float32 HU, "position": mm}``; a
        list of such dicts when ``index`` is a sequence.
    """
    t = _thick_thickness(thick, thickness)
    base = np.flatnonzero(covered(thin.positions, thick.positions))
    single = np.ndim(index) == 0
    idx = np.atleast_1d(np.asarray(index)).astype(int)
    if idx.size == 0 or idx.min() < 0 or idx.max() >= base.size:
        raise ValueError(
            f"index must be in 0..{base.size - 1} (real thick slices inside the thin coverage), got {index}"
        )
    d = interval if interval is not None else (thick.interval or thick.spacing)
    outs: list[dict[str, dict]] = []
    for i in idx:
        j = int(base[i])
        outs.append({"real": {"slice": thick.volume[j], "position": float(thick.positions[j])}})
    for m in dict.fromkeys(methods):
        if m in INDEX_METHODS:
            vol, pos = _simulate.simulate_thick(
                thin.volume, thin.positions, t, method=m, thin_thickness=_thin_thickness(thin), sigma=sigma
            )
            resized = resize_slices(vol, base.size)
            at = count_positions(pos, base.size)
            for o, i in zip(outs, idx):
                o[m] = {"slice": resized[i], "position": float(at[i])}
        else:
            if d is None:
                raise FidelityError("the real thick series has one slice and no interval: pass interval=")
            if m == "calibrated" and profile is None:
                raise ValueError("method 'calibrated' needs a profile (t2tcore.simulation.calibrate.ZProfile)")
            kw = {"profile": profile} if m == "calibrated" else {}
            vol, pos = _simulate.simulate_thick(thin.volume, thin.positions, t, interval=float(d), method=m, **kw)
            pos = np.asarray(pos)
            for o in outs:
                k = int(np.argmin(np.abs(pos - o["real"]["position"])))
                o[m] = {"slice": np.asarray(vol[k], dtype=np.float32), "position": float(pos[k])}
    return outs[0] if single else outs
