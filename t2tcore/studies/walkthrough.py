"""Chapter 00, the simulation walkthrough: every method against thick slices made exactly from an analytic object.

:func:`run` takes the chapter's :class:`Settings` and returns a :class:`Result`: a thin series with a gap and a
denser stretch (:func:`thin_positions`), sliced exactly from a seeded :class:`~t2tcore.evaluation.analytic.RodsObject`
(:class:`~t2tcore.evaluation.analytic.ExactSlicer`), every method's thick slices, where they lie
(:func:`position_summary`), the weights each method gives the thin slices around one thick slice, the data of the
chapter's figures, and each method's error against exactly made thick slices (:func:`error_table`), with its
sentences (:func:`findings`).

Positions and widths in mm, values in HU.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pandas as pd

from t2tcore.effort import EFFORTS
from t2tcore.evaluation.alignment import INDEX_METHODS
from t2tcore.evaluation.analytic import ExactSlicer, RodsObject, method_weights, rmse_hu

__all__ = ["IMAGE_SIZE", "Result", "Settings", "error_table", "findings", "position_summary", "run", "thin_positions"]

#: Pixels in-plane of the object per book profile (:attr:`t2tcore.effort.Effort.walkthrough_image_size`).
IMAGE_SIZE = {name: e.walkthrough_image_size for name, e in EFFORTS.items()}


def thin_positions(start: float = -20.0) -> np.ndarray:
    """The chapter's thin slice positions (mm): every 0.8 mm, with a 2 mm gap after the 19th slice and a stretch of
    six slices 0.4 mm apart: 56 slices over 42.8 mm (as series with a missing slice and a change of increment are)."""
    steps = np.concatenate([np.full(18, 0.8), [2.0], np.full(12, 0.8), np.full(6, 0.4), np.full(18, 0.8)])
    return start + np.concatenate([[0.0], np.cumsum(steps)])


@dataclass(frozen=True)
class Settings:
    """Chapter 00's parameters.

    Attributes
    ----------
    thickness, interval : float
        Simulated thick slices, mm (t and d of the paper).
    thin_thickness : float
        Thin slice thickness (header SliceThickness), mm.
    methods : tuple of str
    seed : int
        Places the object's structures.
    profile : {"smoke", "quick", "paper"}
        The in-plane size (:data:`IMAGE_SIZE`).
    weights_slice : int
        The thick slice whose weights are shown (one past the gap).
    """

    thickness: float = 3.0
    interval: float = 2.0
    thin_thickness: float = 1.0
    methods: tuple[str, ...] = ("proposed", "direct", "average", "gaussian", "gaussian_z")
    seed: int = 0
    profile: str = "quick"
    weights_slice: int = 9


@dataclass
class Result:
    """What chapter 00 shows.

    Attributes
    ----------
    settings : Settings
    thin_positions : ndarray (n,)
    coverage : (float, float)
        First and last thin position, mm.
    n_xy : int
    obj : RodsObject
    slicer : ExactSlicer
    thin : ndarray (n, Y, X)
        The thin slices (rect profile of ``thin_thickness``).
    ref_positions : ndarray (m,)
        The scanner's thick grid s, s + d, ... up to e.
    reference : dict
        Profile shape (``"triangle"``, ``"rect"``) -> exact thick slices at ``ref_positions``.
    results : dict
        Method -> (thick volume, positions) of ``simulate_thick``.
    positions : DataFrame
        :func:`position_summary`.
    weights : dict
        Around thick slice ``j``: ``dz`` (mm), ``shapes`` (name -> profile over ``dz``), ``weights`` (method ->
        weight of every thin slice), ``returned`` (method -> the position it returns), ``ref_position``, ``j``.
    own : dict
        Method -> triangle-profile reference at the method's own positions.
    z_lines : dict
        ``z`` (the object's planes), ``z_dense`` and ``lines``: (name, object values, dense triangle reference,
        method -> (positions, values)) along two lines through the object.
    errors : DataFrame
        :func:`error_table`.
    findings : str
        :func:`findings` of ``errors``.
    """

    settings: Settings
    thin_positions: np.ndarray
    coverage: tuple[float, float]
    n_xy: int
    obj: Any
    slicer: Any
    thin: np.ndarray
    ref_positions: np.ndarray
    reference: dict
    results: dict
    positions: pd.DataFrame
    weights: dict
    own: dict
    z_lines: dict
    errors: pd.DataFrame
    findings: str = ""


def run(settings: Settings = Settings()) -> Result:
    """Chapter 00 on the analytic object: see the module docstring."""
    from t2tcore.simulation import gaussian_kernel, simulate_thick, triangle_kernel

    st = settings
    t, d = st.thickness, st.interval
    thin_pos = thin_positions()
    s, e = thin_pos[0], thin_pos[-1]
    n_xy = IMAGE_SIZE[st.profile]
    rng = np.random.default_rng(st.seed)
    obj = RodsObject.random(rng, n_xy, gap_z=thin_pos[18:20].mean())
    slicer = ExactSlicer(obj, (s - 2 * t, e + 2 * t))
    thin = slicer.slices(thin_pos, "rect", st.thin_thickness)
    n_ref = int(np.floor((e - s) / d + 1e-9)) + 1  # the scanner's grid s, s + d, ... up to e
    ref_pos = s + d * np.arange(n_ref)
    reference = {shape: slicer.slices(ref_pos, shape, t) for shape in ("triangle", "rect")}
    results = {m: simulate_thick(thin, thin_pos, t, d, method=m, thin_thickness=st.thin_thickness)
               for m in st.methods}

    j = st.weights_slice
    dz = np.linspace(-2 * t, 2 * t, 601)
    weights = {
        "dz": dz,
        "shapes": {f"triangle g (t = {t:g} mm)": triangle_kernel(t)(dz),
                   f"Gaussian, FWHM {t:g} mm": gaussian_kernel(t)(dz),
                   f"rect, width {t:g} mm": (np.abs(dz) <= t / 2) * 1.0},
        "weights": {m: method_weights(thin_pos, t, d, m, thin_thickness=st.thin_thickness)[j] for m in st.methods},
        "returned": {m: results[m][1][j] for m in st.methods},
        "ref_position": ref_pos[j],
        "j": j,
    }
    own = {m: slicer.slices(p, "triangle", t) for m, (_, p) in results.items()}

    iy = n_xy // 2  # the coronal plane y = 0
    z_dense = np.arange(s, e + 1e-9, 0.1)
    dense_ref = slicer.slices(z_dense, "triangle", t)
    planes = slicer.planes.reshape(-1, n_xy, n_xy)
    x_cuts = {"through the sphere": obj.sphere[0], "through the oscillating box": 8.0}  # mm
    cuts = {k: int(np.argmin(np.abs(obj.xy - x))) for k, x in x_cuts.items()}
    lines = [(name, planes[:, iy, ix], dense_ref[:, iy, ix], {m: (p, v[:, iy, ix]) for m, (v, p) in results.items()})
             for name, ix in cuts.items()]

    errors = error_table(results, ref_pos, reference, slicer, t, coverage=(s, e))
    return Result(st, thin_pos, (float(s), float(e)), n_xy, obj, slicer, thin, ref_pos, reference, results,
                  position_summary(results, ref_pos), weights, own, {"z": slicer.z, "z_dense": z_dense, "lines": lines},
                  errors, findings(errors))


def error_table(
    results: Mapping[str, tuple[np.ndarray, np.ndarray]],
    ref_positions: Any,
    references: Mapping[str, np.ndarray],
    slicer: ExactSlicer,
    thickness: float,
    coverage: tuple[float, float],
) -> pd.DataFrame:
    """Each method's error against exactly made thick slices, paired by index and at its own positions.

    Only slices whose profile lies inside the thin coverage are scored: centres at least
    ``thickness`` mm from either end of ``coverage``.

    Parameters
    ----------
    results : mapping
        ``method -> (volume (n, Y, X), positions (n,))`` from ``simulate_thick``.
    ref_positions : array_like, shape (m,)
        Where a scanner reconstructs its thick slices, mm.
    references : mapping
        ``profile shape -> slices at ref_positions`` (:meth:`ExactSlicer.slices` with width
        ``thickness``).
    slicer : ExactSlicer
        Makes the references at each method's own positions.
    thickness : float
        Width of the reference profiles, mm.
    coverage : (float, float)
        First and last thin position, mm.

    Returns
    -------
    pandas.DataFrame
        Index ``method``; ``slices``, ``scanner's slices``, ``max |shift| paired (mm)`` and,
        per reference shape, ``RMSE paired, <shape> (HU)`` (slice j against the scanner's
        slice j) and ``RMSE own positions, <shape> (HU)``.
    """
    s, e = coverage
    ref_pos = np.asarray(ref_positions, dtype=float)
    inside_ref = (ref_pos >= s + thickness) & (ref_pos <= e - thickness)
    rows = []
    for m, (vol, pos) in results.items():
        vol, pos = np.asarray(vol), np.asarray(pos, dtype=float)
        n = min(pos.size, ref_pos.size)
        paired = np.flatnonzero(inside_ref[:n])
        own = np.flatnonzero((pos >= s + thickness) & (pos <= e - thickness))
        row = {
            "method": m,
            "slices": pos.size,
            "scanner's slices": ref_pos.size,
            "max |shift| paired (mm)": float(np.max(np.abs(pos[paired] - ref_pos[paired]))),
        }
        for shape, ref in references.items():
            row[f"RMSE paired, {shape} (HU)"] = rmse_hu(vol[paired], ref[paired])
            row[f"RMSE own positions, {shape} (HU)"] = rmse_hu(vol[own], slicer.slices(pos[own], shape, thickness))
        rows.append(row)
    return pd.DataFrame(rows).set_index("method")


def position_summary(results: Mapping[str, tuple[np.ndarray, np.ndarray]], ref_positions: Any) -> pd.DataFrame:
    """How many thick slices each method makes and where the first and last are (mm).

    Parameters
    ----------
    results : mapping
        ``method -> (volume, positions)``.
    ref_positions : array_like
        The scanner's thick slice positions, mm (the last row, ``"scanner"``).

    Returns
    -------
    pandas.DataFrame
        Index ``method``; ``slices``, ``first (mm)``, ``last (mm)``.
    """
    rows = {m: np.asarray(p, dtype=float) for m, (_, p) in results.items()}
    rows["scanner"] = np.asarray(ref_positions, dtype=float)
    return pd.DataFrame(
        [{"method": m, "slices": p.size, "first (mm)": p[0], "last (mm)": p[-1]} for m, p in rows.items()]
    ).set_index("method")


def findings(table: pd.DataFrame) -> str:
    """What :func:`error_table` shows, in two sentences of Markdown (numbers from the table).

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`error_table`, with a ``proposed`` row and at least one index-based method.
    """
    idx = [m for m in table.index if m in INDEX_METHODS]
    if not idx or "proposed" not in table.index:
        raise ValueError("the table needs 'proposed' and at least one index-based method")
    tri = table["RMSE paired, triangle (HU)"]
    shift = table.loc[idx, "max |shift| paired (mm)"].max()
    own = {shape: table[f"RMSE own positions, {shape} (HU)"] for shape in ("triangle", "rect")
           if f"RMSE own positions, {shape} (HU)" in table}
    best = "; ".join(f"against the {shape} reference `{col.idxmin()}` ({col.min():.2f} HU)" for shape, col in own.items())
    return (
        f"paired by index, as training pairs are formed, the index-based methods ({', '.join(f'`{m}`' for m in idx)}) "
        f"drift up to {shift:.1f} mm from the scanner's slices and their RMSE against the triangle-profile "
        f"thick slices is {tri[idx].min():.2f} to {tri[idx].max():.2f} HU, against {tri['proposed']:.2f} HU for "
        f"`proposed`. Compared at their own positions (the weighting alone), the lowest RMSE is {best}."
    )
