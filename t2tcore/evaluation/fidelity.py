"""How close is a simulated thick volume to the real thick volume? (Table III, Fig. 4.)

For one patient, :func:`simulate_methods` makes every method's thick stack (position-based methods at the
real thick positions), :func:`aligned_pairs` puts each on the real slice grid in both alignments
(:mod:`t2tcore.evaluation.alignment`) and :func:`evaluate_pairs` scores them in both metric conventions
(:func:`t2tcore.evaluation.compare`); :func:`evaluate_patient` does all three.

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

FID (:func:`fid_slices`, :func:`fid_rows`) is a distribution metric: it is computed once per group (kernel,
dose) over the slices of all patients, not per patient. :func:`leave_one_out` fits a ``calibrated`` profile
per patient on the others.

The names of :mod:`~t2tcore.evaluation.alignment` and :mod:`~t2tcore.evaluation.slice_mse` (Fig. 7)
are re-exported here, where they were first defined.

Positions are in mm, images in HU (float32) unless stated.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from t2tcore.evaluation import metrics as _metrics
from t2tcore.evaluation.alignment import (  # noqa: F401  (re-exported)
    ALIGNMENTS,
    INDEX_METHODS,
    AlignedPair,
    FidelityError,
    align,
    count_positions,
    covered,
    resample_z,
    resize_slices,
    thick_thickness_of,
    thin_thickness_of,
)
from t2tcore.evaluation.slice_mse import similarity_curve, similarity_slices, slice_similarity  # noqa: F401
from t2tcore.simulation import simulate as _simulate

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
    t = thick_thickness_of(thick, thickness)
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
                thin.volume, thin.positions, t, method=m, thin_thickness=thin_thickness_of(thin), sigma=sigma
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
