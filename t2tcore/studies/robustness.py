"""Chapter 04, robustness of the thick-slice simulation methods to the scanner's slice profile.

The paper's triangle is one fixed guess at how a scanner weights its rays along z. This
module measures how every simulation method's error against the *real* thick slices
changes when the virtual scanner (:mod:`t2tcore.scanner`) changes the things that shape
the slice profile: the reconstruction z-weighting (trapezoid, triangle, Gaussian), the
helical pitch and the detector row width.

The study (:func:`sweep`)
    * Settings (:func:`one_at_a_time`) vary one thing at a time around a base scanner
      (trapezoid weighting, pitch 15/16, 16 rows of 0.6 mm); the base setting is shared by
      every axis.
    * Each phantom (:func:`t2tcore.scanner.abdomen.abdomen`) is scanned once per acquisition
      geometry (pitch, row width) and dose; all z-weightings of a geometry are reconstructed
      from the same raw data (:func:`scan_phantom`). Thin slices (default 1.0 mm every
      0.8 mm) cover the planned range, the real thick slices (default 3.0 mm every 2.0 mm)
      lie at least ``margin_mm`` inside it, so that no method is judged on truncated
      kernels.
    * For every setting and dose (:func:`evaluate_setting`) the ``calibrated`` profile is
      fitted on the first phantom's thin/thick pair (:func:`t2tcore.simulation.fit_slice_profile`)
      and every method is tested on the *other* phantoms, with the comparison of
      :mod:`t2tcore.evaluation.fidelity` (position-based methods simulated at the real thick positions,
      index-based ones interpolated in mm to them: the ``physical`` alignment) and the
      ``hu`` metric convention of :mod:`t2tcore.evaluation.metrics` (RMSE in HU inside the body mask
      of the real thick volume; PSNR with a 2000 HU range).
    * :mod:`t2tcore.studies.robustness_report` summarises the rows: the mean error per
      method and setting, each method's rank, and how far the triangle (``proposed``) is
      from the best method.

:func:`run` does the chapter (:class:`Settings` -> :class:`Result`).

Positions and lengths are in mm, images in HU.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Mapping, Sequence

import numpy as np

from t2tcore.effort import EFFORTS, effort

__all__ = [
    "AXES",
    "STUDY_METHODS",
    "Pair",
    "Result",
    "Setting",
    "Settings",
    "StudyConfig",
    "evaluate_setting",
    "one_at_a_time",
    "run",
    "scan_phantom",
    "sweep",
]

#: The scanner settings the study varies.
AXES = ("z_weighting", "pitch", "row_width")
_QUICK = EFFORTS["quick"].robustness

#: Methods compared (``proposed`` is the paper's triangle).
STUDY_METHODS = ("proposed", "average", "direct", "gaussian", "gaussian_z", "calibrated")


@dataclass(frozen=True)
class Setting:
    """One virtual-scanner setting of the study.

    Attributes
    ----------
    axis : str
        Which of :data:`AXES` this setting varies (the base setting appears on every axis).
    z_weighting : str
        Reconstruction z-weighting of both thin and thick slices (see
        :func:`t2tcore.scanner.z_weighting.z_weight`).
    pitch : float
        Helical pitch.
    row_width : float
        Detector row width at the isocentre, mm.
    """

    axis: str
    z_weighting: str = "trapezoid"
    pitch: float = 0.9375
    row_width: float = 0.6

    @property
    def value(self) -> Any:
        """The value of this setting's axis."""
        return getattr(self, self.axis)

    @property
    def geometry(self) -> tuple[float, float]:
        """(pitch, row width): settings with the same geometry share one acquisition."""
        return (float(self.pitch), float(self.row_width))


def one_at_a_time(
    z_weightings: Sequence[str] = ("trapezoid", "triangle", "gaussian"),
    pitches: Sequence[float] = (0.5, 0.9375, 1.5),
    row_widths: Sequence[float] = (0.5, 0.6, 0.75),
    base: Setting = Setting("z_weighting"),
) -> list[Setting]:
    """Settings that vary one axis at a time around ``base``.

    Returns
    -------
    list of Setting
        For each axis, one setting per value (``base`` with that value), in the given order;
        the base values are added where missing so that every axis passes through the base.
    """
    from t2tcore.scanner import Z_WEIGHTINGS

    bad = [z for z in z_weightings if z not in Z_WEIGHTINGS]
    if bad:
        raise ValueError(f"unknown z-weighting(s) {bad}; known: {list(Z_WEIGHTINGS)}")
    out = []
    for axis, values in (("z_weighting", z_weightings), ("pitch", pitches), ("row_width", row_widths)):
        values = list(values)
        if getattr(base, axis) not in values:
            values.append(getattr(base, axis))
            if axis != "z_weighting":
                values.sort()
        for v in values:
            out.append(replace(base, axis=axis, **{axis: v}))
    return out


@dataclass(frozen=True)
class StudyConfig:
    """Sizes and protocol of the study.

    Attributes
    ----------
    image_size : int
        Pixels per side (the phantom's field of view is kept).
    z_length_mm : float
        Phantom length along z; thin slices cover ``[margin_thin, L - margin_thin]``, real
        thick slices ``[margin_thin + margin_mm, L - margin_thin - margin_mm]``.
    thin, thick : (float, float)
        (thickness, increment) of the thin and thick reconstructions, mm.
    kernel : str
        Reconstruction kernel (``"B30"`` or ``"D45"``).
    doses : mapping
        Dose name -> mAs (None: noiseless).
    n_rows : int
        Detector rows.
    margin_mm : float
        Distance (mm) between the ends of the thin coverage and the outermost thick slices.
    margin_thin : float
        Distance (mm) between the phantom's ends and the thin coverage.
    fit : dict
        Keyword arguments of :func:`t2tcore.simulation.calibrate.fit_profile`.
    seed : int
        Noise seed (combined with each phantom's seed).
    device : str, optional
        Torch device of the scanner (default CUDA when available, else CPU).
    """

    image_size: int = 96
    z_length_mm: float = 38.0
    thin: tuple[float, float] = (1.0, 0.8)
    thick: tuple[float, float] = (3.0, 2.0)
    kernel: str = "B30"
    doses: Mapping[str, float | None] = field(default_factory=lambda: {"noiseless": None, "full": 200.0})
    n_rows: int = 16
    margin_mm: float = 6.0
    margin_thin: float = 2.0
    fit: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0
    device: str | None = None

    def __post_init__(self):
        inner = self.z_length_mm - 2 * (self.margin_thin + self.margin_mm)
        if inner < self.thick[1]:
            raise ValueError(
                f"z_length_mm={self.z_length_mm} leaves {inner:g} mm for thick slices after the margins; "
                f"need at least one thick increment ({self.thick[1]:g} mm)"
            )
        if not self.doses:
            raise ValueError("doses must name at least one dose")

    @property
    def thin_range(self) -> tuple[float, float]:
        return (self.margin_thin, self.z_length_mm - self.margin_thin)

    @property
    def thick_range(self) -> tuple[float, float]:
        a, b = self.thin_range
        return (a + self.margin_mm, b - self.margin_mm)


@dataclass
class Pair:
    """Thin and real thick reconstructions of one phantom, setting and dose (HU, mm)."""

    thin: np.ndarray
    thin_positions: np.ndarray
    thick: np.ndarray
    thick_positions: np.ndarray

    def as_tuple(self) -> tuple:
        """``(thin, thin_positions, thick, thick_positions)`` as fit_profile takes it."""
        return (self.thin, self.thin_positions, self.thick, self.thick_positions)


def scan_phantom(
    phantom, settings: Sequence[Setting], study: StudyConfig, *, seed: int = 0, progress: bool = False
) -> dict[tuple[Setting, str], Pair]:
    """Scan one phantom for every setting and dose.

    One acquisition per geometry (pitch, row width) and dose; every z-weighting of that
    geometry is reconstructed from the same raw data.

    Parameters
    ----------
    phantom : t2tcore.scanner.primitives.Phantom
        Spanning at least ``[0, study.z_length_mm]`` along z.
    settings : sequence of Setting
    study : StudyConfig
    seed : int
        Noise seed of this phantom (each dose gets its own realisation).
    progress : bool

    Returns
    -------
    dict
        ``(setting, dose) -> Pair``.
    """
    from t2tcore.scanner import ReconConfig, ScannerConfig, scan

    by_geometry: dict[tuple[float, float], list[Setting]] = {}
    for s in settings:
        by_geometry.setdefault(s.geometry, []).append(s)
    out: dict[tuple[Setting, str], Pair] = {}
    for (pitch, row_width), group in by_geometry.items():
        cfg = ScannerConfig(image_size=study.image_size, n_rows=study.n_rows, row_width=row_width, pitch=pitch)
        recons = {}
        for zw in dict.fromkeys(s.z_weighting for s in group):
            recons[zw] = (
                ReconConfig(*study.thin, kernel=study.kernel, z_weighting=zw, z_range=study.thin_range),
                ReconConfig(*study.thick, kernel=study.kernel, z_weighting=zw, z_range=study.thick_range),
            )
        res = scan(
            phantom, cfg, [r for pair in recons.values() for r in pair], doses=dict(study.doses),
            seed=seed, z_range=study.thin_range, device=study.device, progress=progress, keep_raw=False,
        )
        for s in group:
            thin_r, thick_r = recons[s.z_weighting]
            for dose in study.doses:
                out[(s, dose)] = Pair(
                    res.volumes[(dose, thin_r)], res.positions[thin_r],
                    res.volumes[(dose, thick_r)], res.positions[thick_r],
                )
    return out


def _series(volume, positions, thickness):
    from t2tcore.io import Series

    return Series.from_array(volume, positions, (1.0, 1.0), thickness)


def evaluate_setting(
    pairs: Sequence[Pair], methods: Sequence[str] = STUDY_METHODS, *, study: StudyConfig = StudyConfig()
) -> tuple[list[dict], Any]:
    """Every method's error on phantoms ``1..n-1``; ``calibrated`` fitted on phantom 0.

    Parameters
    ----------
    pairs : sequence of Pair
        One per phantom, the same setting and dose; at least 2 (the first is the calibration
        phantom, never tested).
    methods : sequence of str
    study : StudyConfig
        For the thicknesses and the fit options.

    Returns
    -------
    rows : list of dict
        ``phantom`` (index in ``pairs``), ``method``, ``rmse_hu``, ``psnr_db``, ``n_slices``.
    profile : ZProfile or None
        The fitted profile (None when ``calibrated`` is not among the methods).
    """
    from t2tcore.evaluation import fidelity
    from t2tcore.simulation.calibrate import fit_profile

    if len(pairs) < 2:
        raise ValueError("evaluate_setting needs >= 2 phantoms: one to calibrate on, the others to test")
    profile = None
    if "calibrated" in methods:
        profile = fit_profile([pairs[0].as_tuple()], thickness=study.thick[0], **dict(study.fit))
    rows = []
    for i, p in enumerate(pairs[1:], start=1):
        thin = _series(p.thin, p.thin_positions, study.thin[0])
        thick = _series(p.thick, p.thick_positions, study.thick[0])
        sims = fidelity.simulate_methods(thin, thick, methods, profile=profile)
        aligned = fidelity.aligned_pairs(thin, thick, sims, ("physical",))
        for r in fidelity.evaluate_pairs(aligned, ("hu",), ssim_modes=()):
            rows.append(
                {"phantom": i, "method": r["method"], "rmse_hu": r["rmse"], "psnr_db": r["psnr"],
                 "n_slices": r["n_slices"]}
            )
    return rows, profile


def sweep(
    phantom_seeds: Sequence[int],
    settings: Sequence[Setting],
    study: StudyConfig = StudyConfig(),
    methods: Sequence[str] = STUDY_METHODS,
    *,
    progress: bool = False,
):
    """The whole study: scan every phantom for every setting, then evaluate every setting.

    Parameters
    ----------
    phantom_seeds : sequence of int
        Seeds of :func:`t2tcore.scanner.abdomen.abdomen`; the first is the calibration phantom.
    settings : sequence of Setting
        E.g. :func:`one_at_a_time`.
    study : StudyConfig
    methods : sequence of str
    progress : bool

    Returns
    -------
    results : pandas.DataFrame
        One row per setting, dose, test phantom and method: ``axis, value, z_weighting,
        pitch, row_width, dose, phantom`` (seed), ``method, rmse_hu, psnr_db, n_slices``.
    profiles : pandas.DataFrame
        One row per setting and dose: the fitted profile's ``fwhm_mm``, ``residual_rmse_hu``,
        ``radius_mm`` and the profile itself (``profile``).
    timings : dict
        Seconds: ``scan``, ``evaluate``.
    """
    import pandas as pd
    from t2tcore.progress import bar

    from t2tcore.scanner import abdomen

    seeds = [int(s) for s in phantom_seeds]
    if len(seeds) < 2 or len(set(seeds)) != len(seeds):
        raise ValueError(f"need >= 2 distinct phantom seeds (one to calibrate, others to test), got {seeds}")
    unique = list(dict.fromkeys(settings))
    t0 = time.perf_counter()
    scans = []
    for s in bar(seeds, desc="phantoms", enabled=progress):
        ph = abdomen(s, z_extent=(0.0, study.z_length_mm))
        scans.append(scan_phantom(ph, unique, study, seed=study.seed * 100_003 + s, progress=False))
    t_scan = time.perf_counter() - t0
    rows, prof_rows = [], []
    for s in bar(settings, desc="settings", enabled=progress):
        for dose in study.doses:
            res, prof = evaluate_setting([sc[(s, dose)] for sc in scans], methods, study=study)
            base = {"axis": s.axis, "value": s.value, "z_weighting": s.z_weighting, "pitch": s.pitch,
                    "row_width": s.row_width, "dose": dose}
            for r in res:
                rows.append({**base, **r, "phantom": seeds[r["phantom"]]})
            if prof is not None:
                prof_rows.append({**base, "fwhm_mm": prof.fwhm_mm, "residual_rmse_hu": prof.meta["residual_rmse"],
                                  "radius_mm": prof.radius_mm, "profile": prof})
    timings = {"scan": t_scan, "evaluate": time.perf_counter() - t0 - t_scan}
    return pd.DataFrame(rows), pd.DataFrame(prof_rows), timings


# --------------------------------------------------------------------------------------
# The chapter
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """Chapter 04's parameters (those of its notebook, for one profile).

    Attributes
    ----------
    seed : int
        First phantom seed (it calibrates); the others follow.
    n_phantoms : int
        The first calibrates, the others test.
    image_size : int
        Pixels per side.
    z_length_mm : float
        Phantom length along z, mm.
    pitches, row_widths : sequence of float
        The values of the pitch and row-width settings.
    z_weightings : sequence of str
    methods : sequence of str
    profile : str
        The book profile these sizes are (for the data description).

    The defaults are the ``quick`` profile's sizes (:attr:`t2tcore.effort.Effort.robustness`);
    :meth:`for_profile` takes another profile's.
    """

    seed: int = 0
    n_phantoms: int = _QUICK.n_phantoms
    image_size: int = _QUICK.image_size
    z_length_mm: float = _QUICK.z_length_mm
    pitches: Sequence[float] = _QUICK.pitches
    row_widths: Sequence[float] = _QUICK.row_widths
    z_weightings: Sequence[str] = ("trapezoid", "triangle", "gaussian")
    methods: Sequence[str] = STUDY_METHODS
    profile: str = "quick"

    @classmethod
    def for_profile(cls, profile: str, **given: Any) -> "Settings":
        """The settings of book ``profile``: its sizes (:attr:`t2tcore.effort.Effort.robustness`) where
        ``given`` has none (a missing or None value), the given values otherwise."""
        sizes = effort(profile).robustness
        kw = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(sizes).items()}
        kw.update({k: v for k, v in given.items() if v is not None})
        return cls(profile=profile, **kw)


@dataclass
class Result:
    """What chapter 04 shows.

    Attributes
    ----------
    settings : Settings
    setups : list of Setting
        The scanner settings (:func:`one_at_a_time`).
    study : StudyConfig
    seeds : list of int
    data, about : str
        The data in one phrase; the protocol in a sentence (Markdown).
    results, profiles : DataFrame
        :func:`sweep`'s rows and calibrated profiles.
    timings : dict
    profile_table : DataFrame
        :func:`~t2tcore.studies.robustness_report.profile_table`.
    ranking : DataFrame
        :func:`~t2tcore.studies.robustness_report.ranking` of the RMSE.
    tables : dict
        :func:`~t2tcore.studies.robustness_report.ranking_tables`: ``rmse``, ``rank``, ``psnr``.
    verdict_all, verdict_fixed : DataFrame
        :func:`~t2tcore.studies.robustness_report.triangle_verdict` against every method, and against the
        fixed guesses (calibrated excluded).
    verdict, findings : str
    """

    settings: Settings
    setups: list
    study: StudyConfig
    seeds: list
    data: str
    about: str
    results: Any
    profiles: Any
    timings: dict
    profile_table: Any
    ranking: Any
    tables: dict
    verdict_all: Any
    verdict_fixed: Any
    verdict: str
    findings: str


def run(settings: Settings = Settings(), progress: bool = False) -> Result:
    """Chapter 04: scan the phantoms for every setting, evaluate every method, and summarise."""
    from t2tcore.studies import robustness_report as rep

    st = settings
    setups = one_at_a_time(st.z_weightings, st.pitches, st.row_widths)
    study = StudyConfig(image_size=st.image_size, z_length_mm=st.z_length_mm, seed=st.seed)
    seeds = list(range(st.seed, st.seed + st.n_phantoms))
    thick = study.thick[0]
    data = (f"virtual scanner only: {len(seeds)} abdomen phantoms (seeds {seeds[0]}–{seeds[-1]}; seed {seeds[0]} "
            f"calibrates), {study.image_size}² pixels, {study.z_length_mm:g} mm long, profile {st.profile}")
    n_geo = len({s.geometry for s in setups})
    about = (f"Data: {data}. Thin slices {study.thin[0]:g} mm every {study.thin[1]:g} mm over {study.thin_range} mm, "
             f"real thick {thick:g} mm every {study.thick[1]:g} mm over {study.thick_range} mm; {len(setups)} "
             f"settings ({n_geo} acquisition geometries) x doses {', '.join(study.doses)}.")
    results, profiles, timings = sweep(seeds, setups, study, st.methods, progress=progress)
    v_all = rep.triangle_verdict(results, "rmse_hu")
    v_fixed = rep.triangle_verdict(results, "rmse_hu", exclude=["calibrated"])
    return Result(st, setups, study, seeds, data, about, results, profiles, timings, rep.profile_table(profiles, thick),
                  rep.ranking(results, "rmse_hu"), rep.ranking_tables(results, list(st.methods)), v_all, v_fixed,
                  rep.verdict_text(v_all, v_fixed, seeds[0], len(seeds) - 1), rep.findings(v_all, v_fixed))
