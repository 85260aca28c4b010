"""Exercises 1-4 of the lab: slice profiles, noise, errors, the misplaced slice (one function each, returning
what :mod:`t2tcore.figures.teaching` draws)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from t2tcore.teaching.model import IMAGE_SIZE, THIN, real_thick, record, scanner_ssp, thin_series, z_object

__all__ = ["errors", "misplaced", "noise", "profiles"]


def profiles(thickness: float = 3.0, interval: float = 2.0, pitch: float = 0.9375, row_width: float = 0.6,
             z_weighting: str = "trapezoid", methods: Sequence[str] = ("proposed", "gaussian_z", "average")) -> dict:
    """Exercise 1: the real SSP of a thick slice against what each simulation really averages.

    A simulated thick slice is a weighted sum of thin slices, each of which has the scanner's
    1 mm SSP, so its effective profile is ``sum_l w_l SSP_thin(z - l)``. The weights ``w`` are
    measured by running :func:`t2tcore.simulation.simulate_thick` on unit impulses (nothing is
    re-implemented). The thick slice taken is the one nearest the middle of a regular thin series.

    Returns
    -------
    dict
        ``z`` (mm, relative to the real slice's centre), ``real`` (the scanner's thick SSP),
        ``effective`` (method -> profile, all scaled to unit area like ``real``), ``offset``
        (method -> centre of its slice minus the real one's, mm), ``fwhm`` (name -> mm),
        ``coverage_z`` and ``coverage`` (the sum of the real SSPs of slices every ``interval``
        mm: flat when ``interval`` samples z densely enough), and the settings.
    """
    from t2tcore.scanner import fwhm
    from t2tcore.simulation import simulate_thick

    if not thickness > THIN["thickness"]:
        raise ValueError(f"thickness must be more than the thin slices' {THIN['thickness']:g} mm, got {thickness}")
    if not interval > 0:
        raise ValueError(f"interval must be > 0 mm, got {interval}")
    thin_pos = THIN["interval"] * np.arange(121)  # 96 mm of thin slices
    centre = float(thin_pos[60])
    u_thin, s_thin = scanner_ssp(THIN["thickness"], pitch, row_width, z_weighting)
    u_t, s_t = scanner_ssp(thickness, pitch, row_width, z_weighting)
    z = np.arange(-2.5 * thickness, 2.5 * thickness + 1e-9, 0.01)
    real = np.interp(z, u_t, s_t, left=0.0, right=0.0)
    area = np.trapezoid(real, z)
    out = {"z": z, "real": real / area, "effective": {}, "offset": {}, "fwhm": {"real": fwhm(z, real)},
           "thickness": thickness, "interval": interval, "pitch": pitch, "row_width": row_width,
           "z_weighting": z_weighting}
    impulses = np.eye(thin_pos.size, dtype=np.float64)[:, None, :]
    for m in methods:
        kw = {"thin_thickness": THIN["thickness"]} if m in ("direct", "average", "gaussian") else {}
        w, pos = simulate_thick(impulses, thin_pos, thickness, interval, method=m, sigma=0.0, **kw)
        j = int(np.argmin(np.abs(np.asarray(pos) - centre)))
        weights = w[j, 0, :]
        eff = np.zeros_like(z)
        for l_pos, wl in zip(thin_pos, weights):
            if wl != 0:
                eff += wl * np.interp(z + centre - l_pos, u_thin, s_thin, left=0.0, right=0.0)
        offset = float(pos[j]) - centre
        out["offset"][m] = offset
        out["effective"][m] = eff / np.trapezoid(eff, z)
        out["fwhm"][m] = fwhm(z, eff)
    cz = np.arange(-2 * interval - thickness, 2 * interval + thickness + 1e-9, 0.01)
    grid = interval * np.arange(-6, 7)
    out["coverage_z"] = cz
    out["coverage"] = sum(np.interp(cz - g, u_t, s_t, left=0.0, right=0.0) for g in grid)
    return out


def noise(thickness: float = 3.0, kernel: str = "B30", mAs: float = 200.0, pitch: float = 0.9375,
          thicknesses: Sequence[float] = (1.0, 2.0, 3.0, 5.0), kernels: Sequence[str] = ("B30", "D45"),
          fov_mm: float = 350.0) -> dict:
    """Exercise 2: noise against thickness, kernel and dose, predicted by the scanner model.

    Real thick slices: :func:`t2tcore.scanner.predict_noise_sd` (the noise SD in the centre of a
    300 mm water cylinder, reconstructed on a coarse 64² matrix, so the values are lower than on
    512² clinical images; the ratios are what matter). Simulated thick slices: the proposed
    triangle over thin slices every 0.8 mm multiplies the thin slices' noise SD by
    ``sqrt(sum w^2)`` (weights from :func:`t2tcore.simulation.weight_matrix`) if the thin
    slices' noise were independent from slice to slice; real thin slices share rays, so their
    noise is correlated along z and the true reduction is smaller.

    Returns
    -------
    dict
        ``curves``: kernel -> (thicknesses, SD in HU) at ``mAs``; ``sd`` (the chosen thickness,
        kernel and dose); ``sd_thin`` (1 mm, same kernel and dose); ``triangle_factor``
        (``sqrt(sum w^2)`` of the proposed weights for ``thickness``); ``sd_simulated``
        (``sd_thin * triangle_factor``); the settings.
    """
    from t2tcore.scanner import KERNELS, ReconConfig, ScannerConfig, predict_noise_sd
    from t2tcore.simulation import thick_positions, triangle_kernel, weight_matrix

    if kernel not in KERNELS:
        raise ValueError(f"unknown kernel {kernel!r}; known: {sorted(KERNELS)}")
    if not mAs > 0:
        raise ValueError(f"mAs must be > 0, got {mAs}")
    if not thickness >= THIN["thickness"]:
        raise ValueError(f"thickness must be at least {THIN['thickness']:g} mm, got {thickness}")
    cfg = ScannerConfig(image_size=IMAGE_SIZE, pitch=pitch)

    def sd(t, k):
        return predict_noise_sd(cfg, ReconConfig(thickness=float(t), kernel=k), float(mAs), fov_mm)

    curves = {k: (np.asarray(thicknesses, float), np.array([sd(t, k) for t in thicknesses])) for k in kernels}
    thin_pos = THIN["interval"] * np.arange(61)
    centre = thick_positions(thin_pos[0], thin_pos[-1], 2.0)[15]
    w = weight_matrix(thin_pos, [centre], triangle_kernel(thickness))[0]
    factor = float(np.sqrt(np.sum(w**2)))
    sd_thin = sd(THIN["thickness"], kernel)
    return {"curves": curves, "sd": sd(thickness, kernel), "sd_thin": sd_thin, "triangle_factor": factor,
            "sd_simulated": sd_thin * factor, "thickness": thickness, "kernel": kernel, "mAs": mAs, "pitch": pitch}


def errors(thickness: float = 3.0, interval: float = 2.0, pitch: float = 0.9375, z_weighting: str = "trapezoid",
           methods: Sequence[str] = ("proposed", "gaussian_z", "average", "direct"), seed: int = 0,
           column: int = 0) -> dict:
    """Exercise 3: each method's error against the scanner's real thick slices.

    Thin slices (:data:`THIN`) and real thick slices (``thickness`` every ``interval``, at
    ``s + k d`` from the first thin position) are recorded from the same z-object through the
    scanner's SSPs. Every method simulates from the thin slices. Two errors, RMSE in HU over
    the slices whose profile lies inside the object:

    * **paired by index** — simulated slice ``j`` against real slice ``j`` (how a training
      pair is formed; counts misplacement and the weighting);
    * **own positions** — against real-SSP slices made at the positions the method reports
      (the weighting alone).

    Returns
    -------
    dict
        ``table`` (method -> dict of ``n_slices``, ``rmse_paired``, ``rmse_own``,
        ``max_shift_mm``), ``n_real`` (real slice count), and for the drawing: ``z`` and
        ``truth`` (the object along ``column``), ``real`` (positions, values) and ``series``
        (method -> positions, values) of that column.
    """
    from t2tcore.simulation import simulate_thick

    obj = z_object(seed=seed)
    thin, thin_pos = thin_series(obj, pitch, 0.6, z_weighting)
    real, real_pos = real_thick(obj, thin_pos, thickness, interval, pitch, 0.6, z_weighting)
    ssp = scanner_ssp(thickness, pitch, 0.6, z_weighting)
    table, series = {}, {}
    for m in methods:
        kw = {"thin_thickness": THIN["thickness"]} if m in ("direct", "average", "gaussian") else {}
        vol, pos = simulate_thick(thin, thin_pos, thickness, interval, method=m, sigma=0.0, **kw)
        vol, pos = np.asarray(vol, np.float64), np.asarray(pos, np.float64)
        n = min(pos.size, real_pos.size)
        own = record(obj, pos, ssp).astype(np.float64)
        table[m] = {
            "n_slices": int(pos.size),
            "rmse_paired": float(np.sqrt(np.mean((vol[:n] - real[:n]) ** 2))),
            "rmse_own": float(np.sqrt(np.mean((vol - own) ** 2))),
            "max_shift_mm": float(np.max(np.abs(pos[:n] - real_pos[:n]))),
        }
        series[m] = (pos, vol[:, 0, column])
    return {"table": table, "n_real": int(real_pos.size), "z": obj.z, "truth": obj.values[:, column],
            "real": (real_pos, real[:, 0, column].astype(np.float64)), "series": series,
            "thickness": thickness, "interval": interval, "pitch": pitch, "z_weighting": z_weighting}


def misplaced(j: int = 10, thickness: float = 3.0, interval: float = 2.0, seed: int = 1,
              half_width: int = 5) -> dict:
    """Exercise 4: which thin slice does thick slice ``j`` look like? (the paper's Fig. 7)

    The mean squared error between thick slice ``j`` — real, ``proposed`` and index-based
    ``average`` — and the thin slices around it (:func:`t2tcore.evaluation.slice_similarity`).
    A real slice is most like the thin slice nearest its position ``s + j d``; an index-based
    slice ``j`` is built from thin slices ``k j .. k j + k - 1`` whatever the spacing.

    Returns
    -------
    dict
        ``thin_index`` (the thin slices compared), ``mse`` (series -> MSE, HU²), ``best``
        (series -> the thin index with the lowest MSE), ``position`` (series -> its slice
        position, mm), ``nearest`` (the thin index nearest the real slice's position),
        ``index_guess`` (the centre of the index group, ``k j + k // 2``), ``k``, ``j``.
    """
    from t2tcore.evaluation import slice_similarity
    from t2tcore.simulation import simulate_thick

    if int(j) != j or j < 0:
        raise ValueError(f"j must be a non-negative integer, got {j}")
    obj = z_object(seed=seed, length_mm=100.0)
    thin, thin_pos = thin_series(obj)
    real, real_pos = real_thick(obj, thin_pos, thickness, interval, 0.9375, 0.6, "trapezoid")
    k = max(1, int(np.floor(thickness / THIN["thickness"] + 0.5)))
    prop, prop_pos = simulate_thick(thin, thin_pos, thickness, interval, method="proposed")
    avg, avg_pos = simulate_thick(thin, thin_pos, thickness, method="average", thin_thickness=THIN["thickness"])
    n = min(real_pos.size, avg_pos.size)
    if j >= n:
        raise ValueError(f"j must be below {n} (the shorter series has {n} slices)")
    nearest = int(np.argmin(np.abs(thin_pos - real_pos[j])))
    centre = max(nearest, k * j + k // 2)
    lo = max(0, min(nearest, k * j) - half_width)
    hi = min(thin_pos.size, centre + half_width + 1)
    idx = np.arange(lo, hi)
    sl = {"real": real[j], "proposed": np.asarray(prop)[j], "average": np.asarray(avg)[j]}
    mse = {name: slice_similarity(s, thin, idx) for name, s in sl.items()}
    return {"thin_index": idx, "mse": mse, "best": {m: int(idx[np.argmin(v)]) for m, v in mse.items()},
            "position": {"real": float(real_pos[j]), "proposed": float(prop_pos[j]), "average": float(avg_pos[j])},
            "nearest": nearest, "index_guess": k * j + k // 2, "k": k, "j": int(j), "thin_positions": thin_pos[idx]}
