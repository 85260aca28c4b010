"""The effective slice profile of an SR model's output, measured on a thin disk as a physicist would.

A CT slice's sensitivity profile (SSP) is its response along z to a thin layer: its FWHM is the
slice thickness (IEC 61223; chapter 01 measures the virtual scanner's this way,
:func:`t2tcore.evaluation.scanner_qa.ssp_study`). An SR model turns real thick slices into
thin ones, so the question "how thin are its slices really?" has the same answer: scan a thin
high-contrast disk, reconstruct the real thin and thick series of the same raw data, feed the
thick series to the model, and measure the profile of its output across the disk.

:func:`scan_disk` scans a 0.2 mm disk of +1000 HU (radius 15 mm) inside a water cylinder with
the test scanner's helix (noiselessly: :func:`t2tcore.scanner.project`) once, and reconstructs
the thin and the thick series at ``n_offsets`` shifts of both slice grids across one thick
interval (the grids keep the cohort's phase: both start at the same position), so that the
combined samples describe the profile every 0.2 mm (for 2 mm / 10 offsets), averaged over
where the disk falls between slices. :func:`measure_profiles` feeds every thick series through
the one input pipeline (:func:`t2tcore.sr.pairs.to_thin_grid`) and each model, and returns the
FWHM of each output's profile beside the real thin series' (and the linear baseline's), and
its centroid: a displacement of the output along z shows there directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

__all__ = ["DiskScans", "measure_profiles", "profile_of", "scan_disk"]

_INNER_MM = 8.0  # the profile is the mean over the disk's inner 8 mm (its radius is 15 mm)
_FAR_MM = 6.0  # background: slices farther than this from the disk


@dataclass
class DiskScans:
    """What :func:`scan_disk` returns.

    Attributes
    ----------
    thin, thick : list of (volume (Z, Y, X) HU, positions (Z,) mm)
        One per offset; positions relative to the disk (the disk is at 0 mm).
    inner : ndarray of bool, shape (Y, X)
        Pixels whose mean makes the profile.
    offsets : ndarray
        Shifts of the slice grids (mm).
    spec : dict
        Scanner rows, pitch, thicknesses, increments, kernel and disk of the measurement.
    """

    thin: list
    thick: list
    inner: np.ndarray
    offsets: np.ndarray
    spec: dict


def scan_disk(scanner: Any = None, *, thin: tuple[float, float] = (1.0, 0.8), thick: tuple[float, float] = (3.0, 2.0),
              kernel: str = "B30", z_weighting: str = "trapezoid", n_offsets: int = 10, disk_mm: float = 0.2,
              disk_hu: float = 1000.0, image_size: int = 48, fov_mm: float = 64.0, half_range_mm: float = 12.0,
              progress: bool = False) -> DiskScans:
    """Scan a thin disk once and reconstruct real thin and thick series at shifted slice grids.

    Parameters
    ----------
    scanner : ScannerConfig or mapping, optional
        The helix (rows, row width, pitch; default the test cohort's,
        :data:`t2tcore.scanner.cohort.TEST_SCANNER`); the image is ``image_size`` pixels over
        ``fov_mm``.
    thin, thick : (thickness, increment) in mm
        The real thin and thick reconstructions (the cohort's 1/0.8 and 3/2 mm by default).
    kernel, z_weighting : str
        Reconstruction kernel and z-weighting (as the cohort's).
    n_offsets : int
        Shifts of both grids, evenly over one thick increment.
    disk_mm, disk_hu : float
        Disk thickness (mm) and value (HU).
    half_range_mm : float
        Slices from -this to +this mm around the disk (and the offset).

    Returns
    -------
    DiskScans
    """
    from dataclasses import replace

    from t2tcore.progress import bar
    from t2tcore.scanner import Disk, ReconConfig, ScannerConfig, WaterCylinder, project, reconstruct_many
    from t2tcore.scanner.cohort import TEST_SCANNER

    if n_offsets < 1 or not disk_mm > 0:
        raise ValueError("n_offsets must be >= 1 and disk_mm > 0")
    if scanner is None:
        cfg = ScannerConfig(image_size=int(image_size), fov_mm=float(fov_mm), **TEST_SCANNER)
    elif isinstance(scanner, dict):
        cfg = ScannerConfig(image_size=int(image_size), fov_mm=float(fov_mm), **scanner)
    else:
        cfg = replace(scanner, image_size=int(image_size), fov_mm=float(fov_mm))
    phantom = Disk(0.0, disk_mm, 15.0, disk_hu, inside=WaterCylinder(0.44 * fov_mm, 4 * half_range_mm))
    raw = project(phantom, cfg, z_range=(-half_range_mm - thick[1] - 2.0, half_range_mm + thick[1] + 2.0), device="cpu")
    offsets = np.arange(int(n_offsets)) * float(thick[1]) / int(n_offsets)
    thins, thicks = [], []
    for d in bar(offsets, desc="disk reconstructions", unit="offset", enabled=progress):
        k_thin = int(np.ceil(half_range_mm / thin[1]))
        k_thick = int(np.ceil(half_range_mm / thick[1]))
        # both grids pass through d (as the cohort's start together), thick covering the thin one
        rc = [ReconConfig(thin[0], thin[1], kernel, z_weighting, (d - k_thin * thin[1], d + k_thin * thin[1])),
              ReconConfig(thick[0], thick[1], kernel, z_weighting, (d - (k_thick + 1) * thick[1], d + (k_thick + 1) * thick[1]))]
        (tv, tp), (kv, kp) = reconstruct_many(raw, rc, device="cpu")
        thins.append((tv, tp))
        thicks.append((kv, kp))
    g = (np.arange(cfg.image_size) - (cfg.image_size - 1) / 2) * cfg.fov_mm / cfg.image_size
    inner = np.hypot(*np.meshgrid(g, g)) < _INNER_MM
    spec = {"rows": f"{cfg.n_rows} x {cfg.row_width:g} mm", "pitch": cfg.pitch, "thin": thin, "thick": thick,
            "kernel": kernel, "z_weighting": z_weighting, "disk_mm": disk_mm, "disk_hu": disk_hu,
            "pixel_mm": cfg.fov_mm / cfg.image_size, "n_offsets": int(n_offsets)}
    return DiskScans(thins, thicks, inner, offsets, spec)


def profile_of(volumes: Sequence[np.ndarray], positions: Sequence[np.ndarray], inner: np.ndarray,
               window_mm: float = _FAR_MM) -> tuple[np.ndarray, np.ndarray]:
    """The disk's profile from several series: (position relative to the disk (mm), signal above background (HU)).

    Each series' profile is the mean over ``inner`` of every slice minus the median of the
    slices farther than ``window_mm`` from the disk; the samples of all series are pooled,
    samples at the same position (0.1 µm) are averaged, and the result is sorted by position;
    only positions within ``window_mm`` are returned.
    """
    u, s = [], []
    for v, p in zip(volumes, positions):
        prof = np.asarray(v, dtype=np.float64)[:, inner].mean(axis=1)
        p = np.asarray(p, dtype=np.float64)
        far = np.abs(p) > window_mm
        bg = float(np.median(prof[far])) if far.any() else 0.0
        near = ~far
        u.append(p[near])
        s.append(prof[near] - bg)
    u, s = np.concatenate(u), np.concatenate(s)
    # samples at the same distance from the disk (other phases of the thick grid) are averaged:
    # the profile of a shift-variant system, averaged over where the disk falls between slices
    key = np.round(u, 4)
    pos, inv = np.unique(key, return_inverse=True)
    return pos, np.bincount(inv, weights=s) / np.bincount(inv)


def _stats(u: np.ndarray, s: np.ndarray) -> dict:
    from t2tcore.scanner import fwhm

    w = np.clip(s, 0.0, None)
    peak = w >= 0.5 * w.max() if w.max() > 0 else np.zeros_like(w, dtype=bool)
    centroid = float(np.sum(u[peak] * w[peak]) / np.sum(w[peak])) if peak.any() else float("nan")
    return {"fwhm_mm": fwhm(u, s), "peak_hu": float(s.max()), "centroid_mm": centroid}


def measure_profiles(models: Sequence[Any], scans: DiskScans, *, device: Any = None) -> tuple[pd.DataFrame, dict]:
    """FWHM and centroid of the disk profile of the real thin and thick series, the linear baseline and every model.

    Parameters
    ----------
    models : sequence of LoadedModel
        :func:`t2tcore.sr.evaluate.load_models`.
    scans : DiskScans
    device : str, optional

    Returns
    -------
    table : DataFrame
        One row per label (``thin``: the real thin series, ``thick``: the real thick series
        on its own grid, ``linear``, each model): ``label, model, method, seed, fwhm_mm,
        fwhm_vs_thin`` (ratio to the real thin series'), ``peak_hu``, ``centroid_mm``
        (centroid of the part above half maximum, relative to the disk: a z shift).
    profiles : dict
        Label -> (positions mm, signal HU), for the figure.
    """
    from t2tcore.sr.infer import predict
    from t2tcore.sr.pairs import to_thin_grid

    thin_v = [v for v, _ in scans.thin]
    thin_p = [p for _, p in scans.thin]
    inputs = [to_thin_grid(kv, kp, tp, outside="clamp") for (kv, kp), tp in zip(scans.thick, thin_p)]
    outputs = {"thin": (thin_v, thin_p, ("thin", "real", 0)), "thick": ([v for v, _ in scans.thick],
                                                                       [p for _, p in scans.thick], ("thick", "real", 0)),
               "linear": (inputs, thin_p, ("linear", "linear", 0))}
    for m in models:
        vols = [m.scaling.inverse(predict(m.model, m.scaling.forward(x), roi=m.roi, device=device)) for x in inputs]
        outputs[m.label] = (vols, thin_p, (m.name, m.method, m.seed))
    profiles, rows = {}, []
    for label, (vols, pos, (name, method, seed)) in outputs.items():
        u, s = profile_of(vols, pos, scans.inner)
        profiles[label] = (u, s)
        rows.append({"label": label, "model": name, "method": method, "seed": int(seed), **_stats(u, s)})
    table = pd.DataFrame(rows)
    table["fwhm_vs_thin"] = table["fwhm_mm"] / float(table.loc[table.label == "thin", "fwhm_mm"].iloc[0])
    return table, profiles
