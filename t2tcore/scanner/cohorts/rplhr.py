"""The ``rplhr`` virtual cohort: a tiny RPLHR-CT-shaped tree made by the virtual scanner, for tests and trial runs.

The layout is the download's (:mod:`t2tcore.data.rplhr`)::

    ROOT/<split>/1mm/<case>.nii.gz    ROOT/<split>/5mm/<case>.nii.gz

without JSON sidecars (the RPLHR-CT files have none). Each case is one seeded chest
phantom (:func:`t2tcore.scanner.chest`) scanned *once* by the virtual helical scanner; the
1 mm slices (every 1 mm) and the 5 mm slices (every 5 mm) are two reconstructions of the
same noisy raw data (:func:`t2tcore.scanner.scan`), as on a real scanner. The thick volume
is never the output of a thick-slice simulation, so a chapter that compares simulations
with it is not comparing a method with itself.

Slice positions (mm, along z): thin ``z0 + i`` for ``i < 5 n``, thick
``z0 + 2 + 5 z + offset`` for ``z < n``: each thick slice at the centre of thin slices
``5z ... 5z+4``, the pairing of the authors' loader, unless an offset is given. A case with
an offset is one whose affines disagree with that pairing (its thick slices are still
reconstructed at their own positions: only the index pairing is wrong).

A JSON file :data:`MARKER` at the root records what made the tree, so that a chapter run on
it says the data are virtual (:func:`t2tcore.datasets.describe.describe_data`). It is written as
every virtual cohort is (:func:`t2tcore.scanner.cohorts.writer.write_cohort`: staged, the marker
last, one rename), into a new or empty folder only. ``t2tcore.evaluation.rplhr_tree`` re-exports
this module.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

from t2tcore.errors import T2TError
from t2tcore.scanner.cohorts.writer import CohortJob, write_cohort

__all__ = ["MARKER", "read_marker", "write_rplhr_tree"]

#: File at the root of a tree made here: what made it.
MARKER = "t2t_virtual_rplhr.json"

_FORMAT = 1
_THIN_MM, _THICK_MM = 1.0, 5.0
_RATIO = 5


@dataclass(frozen=True)
class _Case:
    """One case of the tree: its split, index and name (``patient`` labels the progress bar)."""

    split: str
    k: int
    name: str

    @property
    def patient(self) -> str:
        return f"{self.split}/{self.name}"


def _offsets(thick_offset_mm: float | Mapping[str, float], names: list[str]) -> dict[str, float]:
    if isinstance(thick_offset_mm, Mapping):
        unknown = sorted(set(thick_offset_mm) - set(names))
        if unknown:
            raise ValueError(f"thick_offset_mm names unknown cases {unknown}; cases are {names}")
        return {n: float(thick_offset_mm.get(n, 0.0)) for n in names}
    return dict.fromkeys(names, float(thick_offset_mm))


def write_rplhr_tree(
    root: str | os.PathLike,
    cases: Mapping[str, int] | None = None,
    *,
    image_size: int = 32,
    n_thick: int = 5,
    thick_offset_mm: float | Mapping[str, float] = 0.0,
    kernel: str = "B30",
    mAs: float = 200.0,
    seed: int = 0,
    progress: bool = False,
) -> Path:
    """Write a tiny RPLHR-CT-shaped tree of virtual 1 mm / 5 mm NIfTI pairs.

    Parameters
    ----------
    root : str or path-like
        The tree's root; must not exist or be an empty folder. Written all-or-nothing.
    cases : mapping, optional
        Split -> number of cases (default ``{"test": 3}``). Cases are named ``case000``,
        ``case001``, ... in each split.
    image_size : int
        Pixels per side (the in-plane field of view is fitted to each phantom).
    n_thick : int
        Thick slices per case (``5 n_thick`` thin slices).
    thick_offset_mm : float or mapping
        Shift (mm) of the thick slice positions from the centres of their five thin slices:
        one value for every case, or case name -> shift (others 0). Names are the same in
        every split.
    kernel : str
        Reconstruction kernel of both series (a key of :data:`t2tcore.scanner.KERNELS`).
    mAs : float
        Dose of the one scan per case.
    seed : int
        Phantom and noise seeds derive from it, the split and the case.
    progress : bool
        A progress bar over cases.

    Returns
    -------
    pathlib.Path
        ``root``.

    Raises
    ------
    T2TError
        ``root`` exists and is not an empty folder.
    ValueError
        Bad counts, sizes or offsets.
    """
    from t2tcore import __version__
    from t2tcore.data import rplhr
    from t2tcore.io import Series, sidecar_path, write_series
    from t2tcore.scanner import ReconConfig, ScannerConfig, chest, scan

    root = Path(root)
    cases = {"test": 3} if cases is None else dict(cases)
    for split, n in cases.items():
        if split not in rplhr.SPLITS or isinstance(n, bool) or int(n) != n or n < 1:
            raise ValueError(f"cases must map splits ({', '.join(rplhr.SPLITS)}) to counts >= 1, got {cases}")
    if int(n_thick) != n_thick or n_thick < 1:
        raise ValueError(f"n_thick must be a positive integer, got {n_thick}")
    n_thick = int(n_thick)
    names = [f"case{k:03d}" for k in range(max(int(n) for n in cases.values()))]
    offsets = _offsets(thick_offset_mm, names)
    n_thin = _RATIO * n_thick
    z0 = -(n_thin - 1) / 2.0
    thin_pos = z0 + np.arange(n_thin, dtype=np.float64)
    plans = [_Case(split, k, names[k]) for split in rplhr.SPLITS if split in cases for k in range(int(cases[split]))]
    cfg = ScannerConfig(image_size=int(image_size), seed=int(seed))

    def make(plan, tmp, device, bar):
        off = offsets[plan.name]
        thick_pos = z0 + (_RATIO - 1) / 2.0 + _RATIO * np.arange(n_thick, dtype=np.float64) + off
        lo, hi = min(thin_pos[0], thick_pos[0]), max(thin_pos[-1], thick_pos[-1])
        thin_r = ReconConfig(_THIN_MM, _THIN_MM, kernel, "trapezoid", (float(thin_pos[0]), float(thin_pos[-1])))
        thick_r = ReconConfig(_THICK_MM, _THICK_MM, kernel, "trapezoid", (float(thick_pos[0]), float(thick_pos[-1])))
        case_seed = int(np.random.SeedSequence([int(seed), rplhr.SPLITS.index(plan.split), plan.k]).generate_state(1)[0]
                        >> 1)
        phantom = chest(case_seed, z_extent=(lo - 20.0, hi + 20.0))
        res = scan(phantom, cfg, [thin_r, thick_r], doses={"full": float(mAs)}, seed=case_seed,
                   z_range=(float(lo), float(hi)), device=device, progress=False, keep_raw=False)
        px = (res.pixel_mm, res.pixel_mm)
        series = []
        for r, t, path in zip((thin_r, thick_r), (_THIN_MM, _THICK_MM), rplhr.case_paths(tmp, plan.split, plan.name)):
            pos = res.positions[r]
            s = Series.from_array(res.volumes[("full", r)], pos, px, t, interval=t, patient_id=plan.name,
                                  description=f"virtual RPLHR-CT {t:g} mm")
            write_series(s, path)
            sidecar_path(path).unlink(missing_ok=True)  # the RPLHR-CT files have no sidecar
            series.append({"path": path.relative_to(tmp).as_posix(), "format": "nifti", "n_slices": int(pos.size)})
        return series, {}

    def marker(series, infos, seconds):
        written: dict[str, list[str]] = {}
        for plan in plans:
            written.setdefault(plan.split, []).append(plan.name)
        return {
            "format": _FORMAT,
            "made_by": "t2tcore.scanner.cohorts.rplhr.write_rplhr_tree",
            "t2t_version": __version__,
            "cases": written,
            "image_size": int(image_size),
            "n_thick": n_thick,
            "n_thin": n_thin,
            "kernel": kernel,
            "mAs": float(mAs),
            "seed": int(seed),
            "thick_offset_mm": {n: o for n, o in offsets.items() if o != 0.0},
        }

    job = CohortJob("rplhr", "virtual RPLHR-CT cases", {}, plans, make, marker, manifest_name=MARKER, replace=False,
                    unit="case")
    return write_cohort(job, root, progress=progress, device=None)


def read_marker(root: str | os.PathLike) -> dict | None:
    """What made a tree of :func:`write_rplhr_tree` (its :data:`MARKER`), or None for other trees.

    Parameters
    ----------
    root : str or path-like
        The folder holding the split folders.
    """
    p = Path(root) / MARKER
    if not p.is_file():
        return None
    try:
        info = json.loads(p.read_text())
    except (OSError, ValueError) as exc:
        raise T2TError(f"{p}: unreadable ({exc})") from None
    return info if isinstance(info, dict) else None
