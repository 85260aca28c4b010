"""Does a data set's own index pairing of thick and thin slices match their positions?

Some data sets pair slices by index, not by position. RPLHR-CT's loader (code of
``smilenaxx/RPLHR-CT``, ``code/utils/in_model.py``) takes thick slice ``z`` to cover thin
slices ``r z ... r z + r - 1`` with ``r = 5`` (:func:`t2tcore.data.rplhr.thin_indices`):
nothing in it reads a position. The chapters compare slices in two alignments
(:mod:`t2tcore.evaluation.fidelity`):

``count``
    An index-based stack (``direct``, ``average``, ``gaussian``: groups of ``k`` consecutive
    thin slices) is resized along the slice index to the real slice count. With
    ``n_thin = r n_thick`` and ``k = r`` the stack already has ``n_thick`` slices, resizing
    is the identity, and the group that stands for real thick slice ``z`` is thin slices
    ``r z ... r z + r - 1``: the authors' pairing.
``physical``
    Positions from the headers (NIfTI affines, DICOM ImagePositionPatient).

The two agree when every thick slice lies at the centre of its ``r`` thin slices.
:func:`index_offsets` measures how far each one is from it, :func:`pair_geometry` makes one
row per case (what the chapter tabulates), :func:`count_is_index_pairing` checks on the
aligned pairs themselves that the count alignment paired the slices as the authors do, and
:func:`pairing_text` says it in sentences.

Indices here count slices from the lowest position along the slice normal (the order of
:class:`t2tcore.io.Series`). A loader that reads the files as stored counts from the first
slice *in the file*. When both files of a case run the same way along z and
``n_thin = r n_thick``, the two countings give the same pairs (reversing both maps group
``z`` to group ``n_thick - 1 - z``); when the ``r : 1`` relation fails they may not, and
:func:`pair_geometry` says so (``ratio_holds``).

Positions are in mm.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "TOL_MM",
    "count_is_index_pairing",
    "index_offsets",
    "pair_geometry",
    "pairing_text",
]

#: Offsets up to this size (mm) count as agreement (the header tolerance of ``t2t data check``).
TOL_MM = 0.05

# Index-based methods (as t2tcore.evaluation.fidelity.INDEX_METHODS; not imported, so that
# this module sits below fidelity and table3 can use both).
_INDEX_METHODS = ("direct", "average", "gaussian")

# Values spanning less than this (HU) cannot be CT images in HU (air to soft tissue is ~1000).
_MIN_HU_SPAN = 100.0


def _ascending(positions: Any, name: str) -> np.ndarray:
    pos = np.array(positions, dtype=np.float64).reshape(-1)
    if pos.size == 0 or not np.all(np.isfinite(pos)):
        raise ValueError(f"{name} must be a non-empty finite 1-D array")
    if np.any(np.diff(pos) <= 0):
        raise ValueError(f"{name} must be strictly increasing (mm)")
    return pos


def _ratio(ratio: Any) -> int:
    if isinstance(ratio, bool) or int(ratio) != ratio or int(ratio) < 1:
        raise ValueError(f"ratio must be a positive integer, got {ratio!r}")
    return int(ratio)


def index_offsets(thin_positions: Any, thick_positions: Any, ratio: int) -> np.ndarray:
    """How far each thick slice lies from the centre of the thin slices an index pairing gives it.

    Parameters
    ----------
    thin_positions : array_like, shape (n_thin,)
        Thin slice positions, mm, strictly increasing.
    thick_positions : array_like, shape (n_thick,)
        Thick slice positions, mm, strictly increasing.
    ratio : int
        Thin slices per thick slice of the pairing (RPLHR-CT: 5): thick slice ``z`` goes
        with thin slices ``ratio*z ... ratio*z + ratio - 1``.

    Returns
    -------
    ndarray, shape (m,), float64
        ``thick_positions[z] - mean(thin_positions[ratio*z : ratio*z + ratio])`` for
        ``z < m = min(n_thick, n_thin // ratio)`` (thick slices without a complete group of
        thin slices have no offset). 0 everywhere: the index pairing and the positions agree.
    """
    thin = _ascending(thin_positions, "thin_positions")
    thick = _ascending(thick_positions, "thick_positions")
    r = _ratio(ratio)
    m = min(thick.size, thin.size // r)
    centres = thin[: m * r].reshape(m, r).mean(axis=1)
    return thick[:m] - centres


def count_is_index_pairing(pairs: Sequence[Any], thin_positions: Any, ratio: int, tol: float = TOL_MM) -> bool | None:
    """Did the count alignment pair the real thick slices with thin slices ``ratio*z ...`` as an index loader does?

    Checked on the aligned pairs themselves, for every index-based method in the count
    alignment: every real thick slice was compared, in order (``ref_index`` is ``0 ... n-1``
    and nothing was dropped), the simulated stack had exactly one slice per real slice (so
    the count resize was the identity), and simulated slice ``z`` stands for the centre of
    thin slices ``ratio*z ... ratio*z + ratio - 1`` (its position within ``tol`` mm).

    Parameters
    ----------
    pairs : sequence of AlignedPair
        One case's pairs (:func:`t2tcore.evaluation.fidelity.aligned_pairs`).
    thin_positions : array_like
        The case's thin slice positions, mm, increasing.
    ratio : int
    tol : float
        mm.

    Returns
    -------
    bool or None
        None when there is no index-based method in the count alignment.
    """
    thin = _ascending(thin_positions, "thin_positions")
    r = _ratio(ratio)
    sel = [p for p in pairs if p.alignment == "count" and p.method in _INDEX_METHODS]
    if not sel:
        return None
    for p in sel:
        n = int(p.ref_index.size)
        if p.n_ref_dropped != 0 or not np.array_equal(p.ref_index, np.arange(n)):
            return False
        sim = np.asarray(p.sim_positions, dtype=np.float64).reshape(-1)
        if sim.size != n or thin.size < n * r:
            return False
        centres = thin[: n * r].reshape(n, r).mean(axis=1)
        if not np.all(np.abs(sim - centres) <= tol):
            return False
    return True


def _angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    c = float(np.clip(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)), -1.0, 1.0))
    return float(np.degrees(np.arccos(c)))


def pair_geometry(thin, thick, *, ratio: int | None = None, pairs: Sequence[Any] = (), tol: float = TOL_MM) -> dict:
    """One case's slice geometry, and how its index pairing compares with the positions.

    Parameters
    ----------
    thin, thick : t2tcore.io.Series
        The thin and the real thick series of one case.
    ratio : int, optional
        The data set's index pairing (thin slices per thick slice), None if it has none.
    pairs : sequence of AlignedPair, optional
        The case's aligned pairs, for ``count_is_index`` (see :func:`count_is_index_pairing`).
    tol : float
        Offsets up to ``tol`` mm count as agreement.

    Returns
    -------
    dict
        ``n_thin, n_thick`` (slices), ``thin_spacing_mm, thick_spacing_mm``,
        ``thin_thickness_mm, thick_thickness_mm``, ``thin_z_first, thin_z_last,
        thick_z_first, thick_z_last`` (mm), ``normal_angle_deg`` (between the two series'
        slice normals; positions along different normals are not comparable),
        ``thin_min, thin_max, thick_min, thick_max`` (voxel values), ``hu_like`` (both span
        at least 100: values that can be HU), and with a ``ratio``: ``ratio``,
        ``ratio_holds`` (``n_thin == ratio * n_thick``), ``n_offsets``, ``offset_mean_mm``,
        ``offset_min_mm``, ``offset_max_mm`` (:func:`index_offsets`), ``index_agrees`` (every
        offset within ``tol`` and the relation holds), ``count_is_index``. Without a ratio
        these are None.
    """
    tv, kv = np.asarray(thin.volume), np.asarray(thick.volume)
    row: dict[str, Any] = {
        "n_thin": int(tv.shape[0]),
        "n_thick": int(kv.shape[0]),
        "thin_spacing_mm": thin.spacing,
        "thick_spacing_mm": thick.spacing,
        "thin_thickness_mm": thin.thickness,
        "thick_thickness_mm": thick.thickness,
        "thin_z_first": float(thin.positions[0]),
        "thin_z_last": float(thin.positions[-1]),
        "thick_z_first": float(thick.positions[0]),
        "thick_z_last": float(thick.positions[-1]),
        "normal_angle_deg": _angle_deg(np.asarray(thin.normal), np.asarray(thick.normal)),
        "thin_min": float(tv.min()),
        "thin_max": float(tv.max()),
        "thick_min": float(kv.min()),
        "thick_max": float(kv.max()),
    }
    row["hu_like"] = bool(min(row["thin_max"] - row["thin_min"], row["thick_max"] - row["thick_min"]) >= _MIN_HU_SPAN)
    keys = ("ratio", "ratio_holds", "n_offsets", "offset_mean_mm", "offset_min_mm", "offset_max_mm", "index_agrees",
            "count_is_index")
    if ratio is None:
        row.update(dict.fromkeys(keys))
        return row
    r = _ratio(ratio)
    off = index_offsets(thin.positions, thick.positions, r)
    holds = row["n_thin"] == r * row["n_thick"]
    row.update({
        "ratio": r,
        "ratio_holds": holds,
        "n_offsets": int(off.size),
        "offset_mean_mm": float(off.mean()) if off.size else None,
        "offset_min_mm": float(off.min()) if off.size else None,
        "offset_max_mm": float(off.max()) if off.size else None,
        "index_agrees": bool(holds and off.size and np.all(np.abs(off) <= tol)),
        "count_is_index": count_is_index_pairing(pairs, thin.positions, r, tol) if pairs else None,
    })
    return row


def _mm(v: float) -> str:
    return f"{v:+.2f} mm"


def _cases(names: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def pairing_text(geometry: pd.DataFrame, tol: float = TOL_MM) -> str:
    """Markdown bullets: where the index pairing and the positions agree, and where not.

    Parameters
    ----------
    geometry : DataFrame
        Rows of :func:`pair_geometry` with a ``patient`` column (as
        :attr:`t2tcore.studies.table3.Table3Result.geometry`), all with a ratio.
    tol : float
        The tolerance the rows were made with (mm).

    Returns
    -------
    str
        Empty when no row has a ratio.
    """
    g = geometry[geometry["ratio"].notna()] if "ratio" in geometry else geometry.iloc[0:0]
    if g.empty:
        return ""
    r = int(g["ratio"].iloc[0])
    n = len(g)
    pairing = f"thick slice z with thin slices {r}z … {r}z+{r - 1}"
    agree = g[g["index_agrees"].astype(bool)]
    lines = [(f"* **Index pairing against the affines.** The data set's loader pairs {pairing}. In {len(agree)} of "
              f"{n} cases the positions agree: every thick slice lies within {tol:g} mm of the centre of its {r} thin "
              "slices.")]
    broken = g[~g["ratio_holds"].astype(bool)]
    if len(broken):
        lines.append(f"* The {r}:1 slice relation fails in {len(broken)} case(s) ("
                     + _cases([f"{p}: {a} thin, {b} thick" for p, a, b in
                               zip(broken["patient"], broken["n_thin"], broken["n_thick"])])
                     + "): there the loader's pairing depends on the order the slices are stored in; ours uses positions.")
    off = g[g["ratio_holds"].astype(bool) & ~g["index_agrees"].astype(bool)]
    if len(off):
        desc = []
        for _, x in off.iterrows():
            lo, hi = x["offset_min_mm"], x["offset_max_mm"]
            desc.append(f"{x['patient']} ({_mm(lo)} for every slice)" if abs(hi - lo) <= tol
                        else f"{x['patient']} ({_mm(lo)} to {_mm(hi)})")
        lines.append(f"* The affines put the thick slices elsewhere in {len(off)} case(s): " + _cases(desc) +
                     " (thick slice position minus the centre of its thin slices). There the index pairing compares "
                     "slices that are not at the same place; the **physical** alignment follows the affines.")
    known = g[g["count_is_index"].notna()]
    if len(known):
        same = int(known["count_is_index"].astype(bool).sum())
        lines.append(f"* Our **count** alignment paired the slices exactly as the loader does ({pairing}, checked on the "
                     f"aligned index-based stacks) in {same} of {len(known)} cases; the **physical** alignment uses "
                     "the affines. In the cases where the affines agree with the loader, both alignments compare the same "
                     "slices and give the same numbers.")
    bad_normal = g[g["normal_angle_deg"] > 0.01]
    if len(bad_normal):
        lines.append(f"* The thin and thick slice normals differ in {len(bad_normal)} case(s) ("
                     + _cases(list(bad_normal["patient"])) + "): positions along them are not comparable.")
    return "\n".join(lines)
