"""A thin series in, the thick series ``t2t simulate`` writes out: one function for every front end.

``t2t simulate``, ``t2t pairs`` and the MONAI and TorchIO transforms
(:mod:`t2tcore.pipelines`) all simulate through these two functions, so that the same thin
slices give the same thick slices, with the same positions, whichever way they came in:

* :func:`simulate_volume` -- :func:`~t2tcore.simulation.simulate.simulate_thick` with the
  arguments the command passes (the thin thickness for the index-based baselines only, no
  interval for them, the measured profile for ``calibrated``), plus an optional shift of
  Algorithm 1's grid (``offset``, for augmentation);
* :func:`simulate_series` -- the same on a :class:`t2tcore.io.Series`, returning the derived
  thick series with the description and derivation the command writes.

Positions and thicknesses in mm, volumes in HU.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from t2tcore.simulation.simulate import simulate_thick, thick_positions

__all__ = ["INDEX_METHODS", "simulate_volume", "simulate_series"]

#: The index-based baselines: slices placed by groups of thin slices (no interval, no target positions).
INDEX_METHODS = ("direct", "average", "gaussian")


def simulate_volume(
    volume: Any,
    positions: Any,
    thickness: float,
    interval: float | None = None,
    method: str = "proposed",
    *,
    thin_thickness: float | None = None,
    sigma: float = 1.0,
    profile: Any = None,
    target_positions: Any = None,
    offset: float = 0.0,
) -> tuple[Any, Any]:
    """Thick slices from thin slices, with the arguments as ``t2t simulate`` passes them.

    Parameters
    ----------
    volume : ndarray or torch.Tensor, shape (Z, Y, X)
        Thin slices (HU), any device for torch. Not modified.
    positions : array_like, shape (Z,)
        Their positions along the slice normal (mm), any order.
    thickness : float
        Thick slice thickness (mm).
    interval : float, optional
        Distance between thick slices (mm); required by the position-based methods unless
        ``target_positions`` is given; ignored by the index-based ones (:data:`INDEX_METHODS`).
    method : str
        See :func:`t2tcore.simulation.simulate_thick`.
    thin_thickness : float, optional
        Thin slice thickness (mm): used by the index-based methods only (default there: the
        median spacing of ``positions``).
    sigma : float
        In-plane blur of ``gaussian`` (pixels).
    profile : SliceProfile or path, optional
        The measured profile of ``calibrated``.
    target_positions : array_like, optional
        Exact thick positions (mm), instead of Algorithm 1 (``--match``).
    offset : float
        Start Algorithm 1's grid ``offset`` mm after the first thin position (``0 <= offset``);
        0 is the paper's grid. Position-based methods only.

    Returns
    -------
    (thick_volume, thick_positions)
        As :func:`~t2tcore.simulation.simulate.simulate_thick`.

    Raises
    ------
    ValueError
        Invalid arguments (see :func:`~t2tcore.simulation.simulate.simulate_thick`), an offset
        with an index-based method or with target positions, an offset past the last thin slice.
    """
    index = method in INDEX_METHODS
    offset = float(offset)
    if not (np.isfinite(offset) and offset >= 0):
        raise ValueError(f"offset must be >= 0 mm, got {offset}")
    if offset > 0:
        if index or target_positions is not None:
            raise ValueError("offset shifts Algorithm 1's grid: not with an index-based method or target positions")
        if interval is None:
            raise ValueError(f"method {method!r} needs an interval (mm) to place a grid with an offset")
        pos = np.asarray(positions.cpu() if hasattr(positions, "cpu") else positions, dtype=np.float64)
        start, end = float(np.min(pos)) + offset, float(np.max(pos))
        if start > end:
            raise ValueError(f"offset {offset:g} mm is beyond the thin series ({end - start + offset:g} mm long)")
        target_positions = thick_positions(start, end, interval)
    return simulate_thick(
        volume,
        positions,
        thickness,
        interval=None if index else interval,
        method=method,
        target_positions=target_positions,
        thin_thickness=thin_thickness if index else None,
        sigma=sigma,
        profile=profile,
    )


def simulate_series(
    thin: Any,
    thickness: float,
    interval: float | None = None,
    method: str = "proposed",
    *,
    target_positions: Any = None,
    sigma: float = 1.0,
    profile: Any = None,
    profile_name: str | None = None,
    how: str = "",
    matched: bool = False,
    source: str | None = None,
    version: str = "",
) -> Any:
    """The thick series ``t2t simulate`` writes for a thin :class:`t2tcore.io.Series`.

    Parameters
    ----------
    thin : Series
        The thin series (``volume`` float32 HU, ``positions`` mm).
    thickness, interval, method, target_positions, sigma, profile
        As :func:`simulate_volume` (``thin.thickness`` is the thin thickness of the
        index-based methods).
    profile_name : str, optional
        How the derivation names the profile (its file).
    how : str
        What the derivation says about the positions (``--match``: which series).
    matched : bool
        The positions are a real series' (the description ends with "matched").
    source : str, optional
        How the derivation names the thin series; default its SeriesInstanceUID or file name.
    version : str
        The t2t version written in the derivation.

    Returns
    -------
    Series
        ``thin.derive(...)``: the thick slices at their positions, ``thickness``, ``interval``
        (given, else the median step of the positions), SeriesDescription
        ``"t2t <method> <t>mm/<d>mm"`` and a DerivationDescription saying what made it.

    Raises
    ------
    ValueError
        As :func:`simulate_volume`; also when no thick slice fits in the thin series.
    """
    volume, positions = simulate_volume(
        thin.volume,
        thin.positions,
        thickness,
        interval,
        method,
        thin_thickness=thin.thickness,
        sigma=sigma,
        profile=profile,
        target_positions=target_positions,
    )
    positions = np.asarray(positions, dtype=np.float64)
    if positions.size == 0:
        raise ValueError("no thick slice fits in the thin series")
    index = method in INDEX_METHODS
    if index:
        interval = None
    if profile is not None:
        fwhm = getattr(profile, "fwhm_mm", None)
        text = f"profile {profile_name or 'given'}" + (f" (FWHM {fwhm:.3g} mm)" if fwhm is not None else "")
        how = (f"{how}, " if how else "") + text
    steps = np.diff(np.sort(positions))
    if interval is None:
        interval = round(float(np.median(steps)), 6) if steps.size else None
    if index:
        k = max(1, int(np.floor(thickness / (thin.thickness or thin.spacing or thickness) + 0.5)))
        how = f"groups of {k} thin slices"
    step = f"{interval:g} mm" if interval is not None else "-"
    description = f"t2t {method} {thickness:g}mm/{step.replace(' ', '')}" + (" matched" if matched else "")
    if thin.description:
        description = f"{description} from {thin.description}"[:64]
    if source is None:
        source = f"series {thin.series_uid}" if thin.series_uid else (thin.files[0].name if thin.files else "an array")
    derivation = (
        f"t2t {version} simulate: method {method}, thickness {thickness:g} mm, interval {step}"
        + (f", {how}" if how else "")
        + f"; from {source} ({thin.description or 'no description'})"
    )
    return thin.derive(
        volume, positions, thickness=thickness, interval=interval, description=description, derivation=derivation
    )
