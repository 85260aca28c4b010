"""Chapter 01, the virtual scanner measured: geometry, SSP, noise, thin vs thick.

The book's "real" thick slices come from :mod:`t2tcore.scanner`; this module measures
that scanner the way a physicist checks a real one, using only its public API.
:func:`run` does the whole chapter (:class:`Settings` -> :class:`Result`) with these:

* :func:`ray_z` — the z positions of the rays at one view angle (direct and complementary);
* :func:`ssp_study` — calibrated z-weightings, model slice sensitivity profiles, and SSPs
  measured by reconstructing a thin disk (slice thickness = FWHM, IEC 61223);
* :func:`noise_study` — noise SD of a water cylinder against dose and slice thickness,
  measured (noisy minus noiseless) and predicted (:func:`t2tcore.scanner.predict_noise_sd`);
* :func:`chapter_setup`, :func:`phantom_views`, :func:`sinogram_example`,
  :func:`thin_thick`, :func:`common_slice`, :func:`difference_stats`,
  :func:`cohort_tables` — the patient shown in the chapter, read from a cohort's DICOM
  files or scanned on the spot.

Positions in mm, images in HU.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from t2tcore.effort import EFFORTS

__all__ = [
    "SIZES",
    "ChapterSetup",
    "Result",
    "Settings",
    "chapter_setup",
    "cohort_tables",
    "common_slice",
    "difference_stats",
    "findings",
    "noise_study",
    "phantom_views",
    "ray_z",
    "run",
    "sinogram_example",
    "ssp_study",
    "thin_thick",
    "z_sampling",
]


def ray_z(cfg, n_half_rot: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """z (mm) of every ray at the view angle 0 (mod pi) in a few half-rotations around z = 0.

    Parameters
    ----------
    cfg : t2tcore.scanner.ScannerConfig
    n_half_rot : int
        Half-rotations (even numbers: direct rays, odd: complementary rays).

    Returns
    -------
    m : ndarray of int, shape (n_half_rot,)
        Half-rotation index, ``-n/2 .. n/2 - 1``.
    z : ndarray, shape (n_half_rot, n_rows)
        ``m * feed / 2 + row offset``, mm.
    """
    if n_half_rot < 1:
        raise ValueError(f"n_half_rot must be >= 1, got {n_half_rot}")
    m = np.arange(-n_half_rot // 2, n_half_rot // 2)
    return m, m[:, None] * (cfg.feed_mm / 2) + np.asarray(cfg.row_offsets)[None, :]


def z_sampling(z: Any, window: tuple[float, float] = (-6.0, 6.0)) -> float:
    """Median distance (mm) between the distinct ray positions inside ``window``."""
    u = np.unique(np.round(np.sort(np.asarray(z, dtype=float).ravel()), 6))
    u = u[(u > window[0]) & (u < window[1])]
    if u.size < 2:
        raise ValueError("fewer than two ray positions inside the window")
    return float(np.median(np.diff(u)))


@dataclass
class ChapterSetup:
    """The profile, scanners and patients chapter 01 shows.

    Attributes
    ----------
    profile : dict
        The resolved virtual profile (:func:`t2tcore.scanner.resolve_profile`).
    manifest : dict or None
        The cohort manifest when a cohort folder is given.
    test_cfg, train_cfg : ScannerConfig
        The test and training cohorts' scanners.
    plan : PatientPlan
        The test patient shown.
    train_plan : PatientPlan
        The first training chest.
    """

    profile: dict
    manifest: dict | None
    test_cfg: Any
    train_cfg: Any
    plan: Any
    train_plan: Any


def chapter_setup(profile: str, data_root=None, seed: int = 0) -> ChapterSetup:
    """Which profile, scanners and patients to show: the cohort's own profile when one is given.

    Parameters
    ----------
    profile : str
        Used when ``data_root`` is None.
    data_root : str or os.PathLike, optional
        A virtual cohort folder (its manifest gives the profile).
    seed : int
        Picks the test patient (``seed % n_test``).

    Returns
    -------
    ChapterSetup
    """
    from t2tcore.scanner import (
        plan_patients,
        read_manifest,
        resolve_profile,
        scanner_configs,
    )

    manifest = read_manifest(data_root) if data_root is not None else None
    prof = resolve_profile(manifest["spec"]["profile"] if manifest else profile)
    test_cfg, train_cfg = scanner_configs(prof)
    plans = plan_patients(prof)
    tests = [p for p in plans if p.role == "test"]
    chest = next((p for p in plans if p.anatomy == "chest"), None)
    return ChapterSetup(prof, manifest, test_cfg, train_cfg, tests[seed % len(tests)], chest)


def phantom_views(setup: ChapterSetup) -> dict:
    """Axial and coronal views of the test patient and an axial view of a training chest.

    Returns
    -------
    dict
        ``phantom`` (the test patient's Phantom), ``x`` (pixel centres, mm), ``axial`` (at
        z = 0), ``z`` (coronal planes every 0.5 mm), ``coronal`` (at y = 0, (len(z), n)),
        ``chest`` (its Phantom or None), ``chest_x``, ``chest_axial`` (HU).
    """
    from t2tcore.scanner import make_phantom

    prof = setup.profile
    ph = make_phantom(setup.plan, prof)
    n = int(prof["image_size"])
    c = ph.grid(n)
    zc = np.arange(-prof["z_length_mm"] / 2, prof["z_length_mm"] / 2 + 1e-6, 0.5)
    out = {"phantom": ph, "x": c, "axial": ph.hu(c, c, [0.0])[0], "z": zc, "coronal": ph.hu(c, [0.0], zc)[:, 0, :],
           "chest": None, "chest_x": None, "chest_axial": None}
    if setup.train_plan is not None:
        chest = make_phantom(setup.train_plan, prof)
        cc = chest.grid(n)
        out.update(chest=chest, chest_x=cc, chest_axial=chest.hu(cc, cc, [0.0])[0])
    return out


def sinogram_example(phantom, cfg, *, seed: int = 0, mAs: float = 50.0, z_range=(-1.0, 1.0)) -> dict:
    """One detector row over one rotation, noiseless, and the quantum noise at ``mAs``.

    Returns
    -------
    dict
        ``sinogram`` (views, bins), ``noise`` (measured - noiseless), ``t`` (bin centres,
        mm), ``row``, ``views``, ``n_views`` (views of the whole acquisition), ``bins``,
        ``n_rows``, ``mAs``, ``photons`` (``{mAs: N0}`` for 200 mAs and ``mAs``).
    """
    from t2tcore.scanner import add_noise, photons_per_ray, project

    raw = project(phantom, cfg, z_range=z_range, device="cpu")
    noisy = add_noise(raw, mAs, seed=seed)
    row, views = cfg.n_rows // 2, cfg.views
    sino = raw.sinogram(row)[:views]
    noise = noisy.sinogram(row)[:views] - sino
    t = (np.arange(sino.shape[1]) - (sino.shape[1] - 1) / 2) * raw.pixel_mm
    photons = {float(d): float(photons_per_ray(cfg, d, raw.fov_mm)) for d in (200.0, float(mAs))}
    return {"sinogram": sino, "noise": noise, "t": t, "row": row, "views": views, "n_views": raw.n_views,
            "bins": cfg.bins, "n_rows": cfg.n_rows, "mAs": float(mAs), "photons": photons}


def ssp_study(
    test_cfg,
    train_cfg,
    *,
    thicknesses: Sequence[float] = (1.0, 3.0),
    kinds: Sequence[str] | None = None,
    disk_z: float = 0.4,
) -> dict:
    """Calibrated z-weightings, model SSPs and SSPs measured on a thin disk.

    The disk (0.2 mm thick, radius 20 mm, 1000 HU) is scanned noiselessly with the test
    scanner's rows, pitch and views on a 48² image (60 mm field of view) and reconstructed
    every 0.05 mm; the SSP is the mean disk signal above air within 8 mm of the axis.

    Parameters
    ----------
    test_cfg, train_cfg : ScannerConfig
    thicknesses : sequence of float
        Nominal slice thicknesses, mm.
    kinds : sequence of str, optional
        z-weightings (default :data:`t2tcore.scanner.Z_WEIGHTINGS`).
    disk_z : float
        Disk position, mm (off a slice centre on purpose).

    Returns
    -------
    dict
        ``z`` (mm, for the weightings), ``weights``: ``(thickness, kind) -> h(z)``,
        ``model``: ``(thickness, kind) -> (u, ssp)``, ``measured``: ``(thickness, kind) ->
        (distance from the disk (mm), signal (HU))``, ``table``: DataFrame with ``nominal
        (mm), z-weighting, width of h (mm), model SSP FWHM (mm), measured FWHM (mm),
        training scanner model FWHM (mm), measured / nominal``.
    """
    from t2tcore.scanner import (
        Z_WEIGHTINGS,
        Disk,
        ReconConfig,
        fwhm,
        project,
        reconstruct,
        slice_sensitivity_profile,
        z_weight,
        z_weight_width,
    )

    kinds = list(Z_WEIGHTINGS if kinds is None else kinds)
    zz = np.linspace(-4, 4, 801)
    weights, model, measured, rows = {}, {}, {}, []
    for thick in thicknesses:
        for kind in kinds:
            weights[(thick, kind)] = z_weight(zz, z_weight_width(test_cfg, thick, kind), kind)
            model[(thick, kind)] = slice_sensitivity_profile(test_cfg, thick, kind)
    small = replace(test_cfg, image_size=48, fov_mm=60.0, views_per_rot=test_cfg.views)
    disk_raw = project(Disk(disk_z, 0.2, 20.0, 1000.0), small, z_range=(-3.2, 4.0), device="cpu")
    g = (np.arange(48) - 23.5) * 60.0 / 48
    inner = np.hypot(*np.meshgrid(g, g)) < 8.0
    for thick in thicknesses:
        for kind in kinds:
            rc = ReconConfig(thick, 0.05, "B30", kind, z_range=(disk_z - 3.0 + 0.013, disk_z + 3.0))
            vol, pos = reconstruct(disk_raw, rc)
            prof = (vol[:, inner] + 1000.0).mean(1)  # disk signal above the air background
            measured[(thick, kind)] = (pos - disk_z, prof)
            u, s = model[(thick, kind)]
            ut, st = slice_sensitivity_profile(train_cfg, thick, kind)
            rows.append({"nominal (mm)": thick, "z-weighting": kind,
                         "width of h (mm)": z_weight_width(test_cfg, thick, kind),
                         "model SSP FWHM (mm)": fwhm(u, s), "measured FWHM (mm)": fwhm(pos - disk_z, prof),
                         "training scanner model FWHM (mm)": fwhm(ut, st)})
    table = pd.DataFrame(rows)
    table["measured / nominal"] = table["measured FWHM (mm)"] / table["nominal (mm)"]
    return {"z": zz, "weights": weights, "model": model, "measured": measured, "table": table}


def noise_study(
    cfg,
    image_size: int,
    *,
    seed: int = 0,
    doses: Sequence[float] = (400.0, 200.0, 100.0, 50.0, 25.0),
    thicknesses: Sequence[float] = (1.0, 2.0, 3.0, 5.0),
    radius_mm: float = 150.0,
    roi_mm: float = 20.0,
) -> tuple[pd.DataFrame, float]:
    """Noise SD of a water cylinder against dose and slice thickness, measured and predicted.

    The cylinder (``radius_mm``, 200 mm long) is scanned once without noise and once per
    dose (one noise realisation each, ``seed``); every dose is reconstructed at every
    thickness (B30, 1 mm increment, z in [-2, 2] mm). Noise = noisy minus noiseless image,
    SD within ``roi_mm`` of the centre, on an ``image_size``² image of a 330 mm field.

    Returns
    -------
    table : DataFrame
        ``mAs, thickness (mm), measured SD (HU), predicted SD (HU), measured / predicted``.
    water_hu : float
        Mean HU of the noiseless 3 mm (third thickness) image inside the ROI.
    """
    from t2tcore.scanner import (
        ReconConfig,
        WaterCylinder,
        add_noise,
        predict_noise_sd,
        project,
        reconstruct_many,
    )

    fov = 330.0
    wcfg = replace(cfg, image_size=int(image_size), fov_mm=fov)
    wraw = project(WaterCylinder(radius_mm, 200.0), wcfg, z_range=(-3.0, 3.0), device="cpu")
    wrec = [ReconConfig(t, 1.0, "B30", z_range=(-2.0, 2.0)) for t in thicknesses]
    ref = [v for v, _ in reconstruct_many(wraw, wrec)]
    gw = (np.arange(image_size) - (image_size - 1) / 2) * fov / image_size
    roi = np.hypot(*np.meshgrid(gw, gw)) <= roi_mm
    rows = []
    for mAs in doses:
        noisy = add_noise(wraw, mAs, seed=seed)
        for r, (v, _), v0 in zip(wrec, reconstruct_many(noisy, wrec), ref):
            rows.append({"mAs": mAs, "thickness (mm)": r.thickness, "measured SD (HU)": float((v - v0)[:, roi].std()),
                         "predicted SD (HU)": predict_noise_sd(wcfg, r, mAs, fov)})
    table = pd.DataFrame(rows)
    table["measured / predicted"] = table["measured SD (HU)"] / table["predicted SD (HU)"]
    return table, float(ref[min(2, len(ref) - 1)][:, roi].mean())


#: The series chapter 01 shows: (kernel, nominal thickness mm, increment mm).
THIN_THICK = (("B30", 1.0, 0.8), ("B30", 3.0, 2.0), ("D45", 1.0, 0.8))


def thin_thick(setup: ChapterSetup, data_root=None, *, z_mm: float = 32.0, phantom=None) -> dict:
    """The test patient's full-dose B30 1 mm and 3 mm and D45 1 mm series.

    Read from the cohort's DICOM files when ``data_root`` is given (as the later chapters
    read them), else scanned here over ``z_mm`` of z.

    Returns
    -------
    dict
        ``(kernel, thickness) -> (volume (Z, Y, X) HU, positions (Z,) mm, pixel mm)`` and
        ``"timings"`` (seconds per step of the scan; empty when read).
    """
    if data_root is not None:
        from t2tcore.data import series_dir
        from t2tcore.io import read_series

        out: dict = {}
        for k, t, _ in THIN_THICK:
            s = read_series(series_dir(data_root, setup.plan.patient, k, "full", int(t)))
            out[(k, int(t))] = (s.volume, s.positions, s.pixel_spacing[0])
        out["timings"] = {}
        return out
    from t2tcore.scanner import ReconConfig, make_phantom, scan

    ph = phantom if phantom is not None else make_phantom(setup.plan, setup.profile)
    zr = (-z_mm / 2, z_mm / 2)
    recons = {(k, int(t)): ReconConfig(t, inc, k, z_range=zr) for k, t, inc in THIN_THICK}
    res = scan(ph, setup.test_cfg, list(recons.values()), doses={"full": 200.0}, seed=setup.plan.noise_seed,
               z_range=zr, device=None, progress=False, keep_raw=False)
    out = {key: (res.volumes[("full", r)], res.positions[r], res.pixel_mm) for key, r in recons.items()}
    out["timings"] = dict(res.timings)
    return out


def common_slice(thin_positions: Any, thick_positions: Any, tol: float = 1e-3) -> tuple[float, int, int]:
    """A position both series have, the middle one of those: ``(z, thin index, thick index)``.

    Raises
    ------
    ValueError
        If no thick position is within ``tol`` mm of a thin one.
    """
    tp = np.asarray(thin_positions, dtype=float)
    kp = np.asarray(thick_positions, dtype=float)
    common = [z for z in kp if np.min(np.abs(tp - z)) < tol]
    if not common:
        raise ValueError("the thin and thick series share no slice position")
    z = float(common[len(common) // 2])
    return z, int(np.argmin(np.abs(tp - z))), int(np.argmin(np.abs(kp - z)))


def difference_stats(thin_slice: Any, thick_slice: Any, body_hu: float = -500.0) -> dict:
    """Thin minus thick inside the body (thick slice above ``body_hu``): mean, SD, 99th |d| (HU)."""
    a = np.asarray(thin_slice, dtype=np.float32)
    b = np.asarray(thick_slice, dtype=np.float32)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"two 2-D slices of one shape expected, got {a.shape} and {b.shape}")
    diff = a - b
    body = b > body_hu
    if not body.any():
        raise ValueError("no pixel of the thick slice is above body_hu")
    return {"mean": float(diff[body].mean()), "sd": float(diff[body].std()),
            "p99_abs": float(np.percentile(np.abs(diff[body]), 99))}


def cohort_tables(manifest: Mapping) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """What a cohort holds: series per role, kernel, dose and thickness; patients; one summary line.

    Returns
    -------
    series : DataFrame
        ``role, kernel, dose, label, patients, slices_per_patient``.
    patients : DataFrame
        ``patient, role, anatomy, fov (mm), seconds`` (to make the patient; the manifest
        has the time of each step).
    line : str
    """
    series = pd.DataFrame(manifest["series"])
    table = (series.groupby(["role", "kernel", "dose", "label"])
             .agg(patients=("patient", "nunique"), slices_per_patient=("n_slices", "first"))
             .reset_index())
    pts = pd.DataFrame([{"patient": p["patient"], "role": p["role"], "anatomy": p["anatomy"],
                         "fov (mm)": round(p["fov_mm"]), "seconds": p["timings_s"].get("total", float("nan"))}
                        for p in manifest["patients"]])
    s = manifest["summary"]
    line = (f"{s['n_test_patients']} test + {s['n_train_patients']} training patients, {s['n_series']} series, "
            f"made in {s['wall_s']:.0f} s on {manifest['generator']['device']}, peak memory {s['peak_rss_mb']:.0f} MB")
    return table, pts, line


def findings(ssp_table: pd.DataFrame, noise_table: pd.DataFrame, diff: Mapping[str, float]) -> str:
    """What the chapter measured, in one Markdown sentence group (numbers from the tables).

    Parameters
    ----------
    ssp_table : DataFrame
        ``ssp_study(...)["table"]``.
    noise_table : DataFrame
        :func:`noise_study`.
    diff : mapping
        :func:`difference_stats` of the thin and thick slices shown.

    Returns
    -------
    str
    """
    r = ssp_table["measured / nominal"]
    q = noise_table["measured / predicted"]
    return (
        f"the measured slice thickness (FWHM of a thin disk's SSP) is {r.min():.3f} to {r.max():.3f} times the "
        f"nominal thickness for every z-weighting; the measured noise in water is {q.min():.2f} to {q.max():.2f} "
        f"times the predicted noise over {noise_table['mAs'].nunique()} doses and "
        f"{noise_table['thickness (mm)'].nunique()} thicknesses; and a 1 mm and a 3 mm slice of the same raw data "
        f"differ inside the body by {diff['mean']:+.2f} HU on average, with an SD of {diff['sd']:.1f} HU."
    )


# --------------------------------------------------------------------------------------
# The chapter
# --------------------------------------------------------------------------------------

#: Per book profile: z length (mm) scanned here when no cohort is given, and the matrix of the water phantom
#: (:class:`t2tcore.effort.Effort`).
SIZES = {name: (e.scanner_qa_z_mm, e.scanner_qa_matrix) for name, e in EFFORTS.items()}


@dataclass(frozen=True)
class Settings:
    """Chapter 01's parameters.

    Attributes
    ----------
    profile : {"smoke", "quick", "paper"}
        Image matrix and lengths (:data:`SIZES`; the cohort's own profile when ``data_root`` is given).
    data_root : str or os.PathLike, optional
        A virtual cohort (``t2t data virtual``); None: the test patient is scanned here.
    seed : int
        Picks the test patient shown, seeds the water phantom's and the sinogram's noise.
    """

    profile: str = "quick"
    data_root: Any = None
    seed: int = 0


@dataclass
class Result:
    """What chapter 01 shows: every figure's data and every table.

    Attributes
    ----------
    settings : Settings
    setup : ChapterSetup
    rays : dict
        Label -> :func:`ray_z` of the test and the training scanner.
    views : dict
        :func:`phantom_views`.
    sinogram : dict
        :func:`sinogram_example`.
    ssp : dict
        :func:`ssp_study` (its ``table``: slice thickness, nominal, model and measured).
    responses : dict
        Kernel -> its response (:func:`t2tcore.scanner.kernel_response`).
    series : dict
        :func:`thin_thick`.
    slice : (float, int, int)
        :func:`common_slice` of the B30 1 mm and 3 mm series: ``(z, thin index, thick index)``.
    difference : dict
        :func:`difference_stats` of those two slices.
    noise : DataFrame
        :func:`noise_study`'s table.
    water_hu : float
    cohort : (DataFrame, DataFrame, str) or None
        :func:`cohort_tables` of the cohort's manifest.
    findings : str
    """

    settings: Settings
    setup: ChapterSetup
    rays: dict
    views: dict
    sinogram: dict
    ssp: dict
    responses: dict
    series: dict
    slice: tuple
    difference: dict
    noise: pd.DataFrame
    water_hu: float
    cohort: tuple | None
    findings: str


def run(settings: Settings = Settings()) -> Result:
    """Chapter 01: the scanners and the patient shown, rays, SSPs, kernels, thin vs thick, noise."""
    from t2tcore.scanner import KERNELS, kernel_response

    st = settings
    z_mm, water_n = SIZES[st.profile]
    setup = chapter_setup(st.profile, st.data_root, st.seed)
    rays = {f"{name}: {c.n_rows} x {c.row_width:g} mm, pitch {c.pitch:g}": ray_z(c)
            for name, c in (("test", setup.test_cfg), ("training", setup.train_cfg))}
    views = phantom_views(setup)
    sino = sinogram_example(views["phantom"], setup.test_cfg, seed=st.seed)
    ssp = ssp_study(setup.test_cfg, setup.train_cfg)
    responses = {k: kernel_response(k, 0.5, 731) for k in KERNELS}
    series = thin_thick(setup, st.data_root, z_mm=z_mm, phantom=views["phantom"])
    thin, thin_pos, _ = series[("B30", 1)]
    thick, thick_pos, _ = series[("B30", 3)]
    where = common_slice(thin_pos, thick_pos)
    diff = difference_stats(thin[where[1]], thick[where[2]])
    noise, water_hu = noise_study(setup.test_cfg, water_n, seed=st.seed)
    cohort = cohort_tables(setup.manifest) if setup.manifest is not None else None
    return Result(st, setup, rays, views, sino, ssp, responses, series, where, diff, noise, water_hu, cohort,
                  findings(ssp["table"], noise, diff))
