"""The data of chapter 02's Fig. 4: where each method's count-aligned slice really is, the images of one real
thick slice beside each method's, and the volumes for the slice viewer.

Each function takes one patient's aligned pairs (:attr:`t2tcore.studies.table3.Table3Result.fig4`
``["pairs"]``, :class:`t2tcore.evaluation.alignment.AlignedPair`). Positions in mm, images in HU.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from t2tcore.evaluation.alignment import INDEX_METHODS, AlignedPair, count_positions

__all__ = ["fig4_panels", "fig4_series", "misplacement"]


def misplacement(pairs: Sequence[AlignedPair]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Where each method's count-aligned slice really is, against the real slice it is paired with.

    Parameters
    ----------
    pairs : sequence of AlignedPair
        One patient's pairs (:attr:`Table3Result.fig4` ``["pairs"]``).

    Returns
    -------
    dict
        ``method -> (real positions (M,) mm, offset (M,) mm)``: position stood for minus
        the real slice's position (:func:`t2tcore.evaluation.count_positions` for
        index-based methods; 0 for position-based ones, simulated at the real positions).
    """
    out = {}
    for p in pairs:
        if p.alignment != "count":
            continue
        if p.method in INDEX_METHODS:
            at = count_positions(p.sim_positions, p.ref_index.size)
        else:
            at = p.ref_positions
        out[p.method] = (np.asarray(p.ref_positions, dtype=float), at - p.ref_positions)
    if not out:
        raise ValueError("no count-aligned pairs given")
    return out


def fig4_panels(pairs: Sequence[AlignedPair], fig_slice: int | None = None) -> dict:
    """The images of Fig. 4: one real thick slice, each method's slice and errors.

    Parameters
    ----------
    pairs : sequence of AlignedPair
        One patient's pairs, both alignments.
    fig_slice : int, optional
        Index of the real thick slice in its series; default the compared slice a quarter
        of the way along z (in the physical alignment's slices).

    Returns
    -------
    dict
        ``index`` (real slice), ``z`` (mm), ``real`` (Y, X) HU, ``methods`` (list),
        ``count`` and ``physical``: ``method -> simulated slice`` (Y, X), ``error``:
        ``(method, alignment) -> simulated - real`` (HU), ``offset``: ``method ->``
        count-alignment misplacement (mm) of that slice, ``limit``: the shared colour limit
        of the error maps (HU; the median over maps of their 99th percentile of |error|,
        rounded up to 10, at least 20).

    Raises
    ------
    ValueError
        If ``fig_slice`` is not among the compared slices.
    """
    cnt = {p.method: p for p in pairs if p.alignment == "count"}
    phy = {p.method: p for p in pairs if p.alignment == "physical"}
    if not cnt or not phy:
        raise ValueError("fig4_panels needs the pairs of both alignments")
    any_phy = next(iter(phy.values()))
    if fig_slice is None:
        j_ref = int(any_phy.ref_index[len(any_phy.ref_index) // 4])
    else:
        j_ref = int(fig_slice)
        if j_ref not in set(int(i) for i in any_phy.ref_index):
            raise ValueError(f"fig_slice {j_ref} is not among the compared slices {list(any_phy.ref_index)}")

    def at(p):
        return list(p.ref_index).index(j_ref)

    real = any_phy.reference[at(any_phy)]
    offsets = misplacement(list(cnt.values()))
    ms = list(cnt)
    tests = {a: {m: src[m].test[at(src[m])] for m in ms} for a, src in (("count", cnt), ("physical", phy))}
    err = {(m, a): tests[a][m] - real for m in ms for a in ("count", "physical")}
    lim = max(20.0, float(np.ceil(np.median([np.percentile(np.abs(x), 99) for x in err.values()]) / 10) * 10))
    return {
        "index": j_ref,
        "z": float(any_phy.ref_positions[at(any_phy)]),
        "real": real,
        "methods": ms,
        "count": tests["count"],
        "physical": tests["physical"],
        "error": err,
        "offset": {m: float(offsets[m][1][at(cnt[m])]) for m in ms},
        "limit": lim,
    }


def fig4_series(pairs: Sequence[AlignedPair], methods: Sequence[str], thickness: float) -> dict:
    """Fig. 4's volumes for the slice viewer (:func:`t2tcore.figures.viewer.slice_viewer`).

    The real thick slices compared in the count alignment, and for each method its slices on the
    real slice grid: a position-based method once (it is simulated at the real positions, both
    alignments are the same), an index-based method in each alignment (``count``: interpolated
    along the slice index to the real count, as the released code pairs; ``physical``: linearly
    along z in mm to the real positions inside every method's range).

    Returns
    -------
    dict
        Name -> ``(volume (M, Y, X) HU, positions (M,) mm, thickness mm)``; ``"real thick"`` first.
    """
    by = {(p.method, p.alignment): p for p in pairs}
    missing = [m for m in methods if (m, "count") not in by or (m, "physical") not in by]
    if missing:
        raise ValueError(f"no pairs of both alignments for {missing}")
    ref = max((p for p in pairs if p.alignment == "count"), key=lambda p: p.reference.shape[0])
    out = {"real thick": (ref.reference, ref.ref_positions, thickness)}
    for m in methods:
        cnt, phy = by[(m, "count")], by[(m, "physical")]
        if m not in INDEX_METHODS:
            out[m] = (phy.test, phy.ref_positions, thickness)
        else:
            out[f"{m}, count"] = (cnt.test, cnt.ref_positions, thickness)
            out[f"{m}, physical"] = (phy.test, phy.ref_positions, thickness)
    return out
