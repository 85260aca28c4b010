"""What the golden test pins: the key results of each chapter, read from the CSV files it writes.

A producer takes the folder of one chapter's results (``_build/results/<profile>/<stem>/``, where
the chapter's ``out_dir`` puts its CSV tables) and returns :class:`Entry` rows: a key that names the
number (``02/table3/B30/full/count/proposed/psnr/mean``), its value and its *kind*, which sets the
tolerance (:data:`TOLERANCES`). Reading the CSVs the chapters write, rather than calling the
package, pins the numbers a reader of the book sees, whatever the package's layout: the test must
pass unchanged when code moves.

Adding a chapter: write ``def produce_NN(folder) -> list[Entry]``
reading its CSVs, add it to :data:`PRODUCERS` under the chapter's notebook stem, and run
``make update-golden``; the new rows appear in ``tests/golden/smoke.csv`` for review.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd

#: kind -> (absolute, relative) tolerance: a value passes when |new - stored| <= abs + rel * |stored|.
#:
#: Why these. The smoke results are deterministic on one machine, but another CPU (an Intel
#: AVX-512 CI runner instead of this AMD AVX2 machine) rounds float32 sums in another order:
#: measured, up to 1e-4 HU per voxel in the phantoms and 6e-3 HU in a tiny scan. Such differences are
#: uncorrelated with the images, so a mean error over ~1e5 voxels moves by orders of magnitude less
#: than they do; the tolerances leave a factor of ten or more on top and still catch a real change:
#:
#: ``dB``    0.01 dB: a shift of 0.05 dB in any PSNR fails.
#: ``HU``    0.1 % (+ 1e-3 HU): an RMSE change of 0.1 % is 0.009 dB of PSNR, so 0.05 dB fails.
#: ``unit``  0.1 % (+ 1e-7): the same for RMSE on the [-1, 1] scale of the paper convention.
#: ``ssim``  1e-4: SSIM of these volumes is 0.88-0.999; a 0.05 dB PSNR shift moves it by more.
#: ``mm``    1e-3 mm: positions, offsets and FWHMs (a FWHM fitted by least squares included).
#: ``ratio`` 1e-3: dimensionless ratios and fractions (measured / predicted, same-best fractions).
#: ``fid``   1 %: FID passes float32 Inception features of a few slices through the matrix square
#:           root of rank-deficient 2048 x 2048 covariances, which amplifies rounding; a method's
#:           FID differs from the next one's by 30 % or more at this size.
#: ``volume`` 0.1 %: a volume in mm³ of a mask (chapter 07's true airways): one voxel more or less
#:           at its surface is far less; a 0.1 % change of the tree is a real one.
#: ``count`` exact: slice, patient and row counts.
TOLERANCES: dict[str, tuple[float, float]] = {
    "dB": (0.01, 0.0),
    "HU": (1e-3, 1e-3),
    "unit": (1e-7, 1e-3),
    "ssim": (1e-4, 0.0),
    "mm": (1e-3, 0.0),
    "ratio": (1e-3, 0.0),
    "fid": (0.0, 1e-2),
    "volume": (0.0, 1e-3),
    "count": (0.0, 0.0),
}


@dataclass(frozen=True)
class Entry:
    """One pinned number."""

    key: str
    value: float
    kind: str

    def __post_init__(self):
        if self.kind not in TOLERANCES:
            raise ValueError(f"{self.key}: unknown kind {self.kind!r} (known: {', '.join(TOLERANCES)})")


def within(new: float, stored: float, kind: str) -> bool:
    """True when ``new`` is within the tolerance of ``kind`` of ``stored`` (NaN only matches NaN)."""
    if math.isnan(stored) or math.isnan(new):
        return math.isnan(stored) and math.isnan(new)
    a, r = TOLERANCES[kind]
    return abs(new - stored) <= a + r * abs(stored)


def _read(folder: Path, name: str) -> pd.DataFrame:
    path = Path(folder) / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: the chapter no longer writes it, or did not run")
    return pd.read_csv(path)


def _key(*parts) -> str:
    return "/".join(str(p) for p in parts)


def _rows(df: pd.DataFrame, prefix: str, index: list[str], columns: dict[str, str]) -> list[Entry]:
    """One entry per row of ``df`` and column of ``columns`` (column -> kind), keyed by ``index`` values."""
    out = []
    for _, row in df.iterrows():
        for col, kind in columns.items():
            out.append(Entry(_key(prefix, *(row[c] for c in index), col), float(row[col]), kind))
    return out


def produce_00(folder: Path) -> list[Entry]:
    """Chapter 00: per method, how many slices it makes against the scanner's, how far they are moved,
    and its RMSE against exactly made slices (the analytic object)."""
    df = _read(folder, "errors.csv")
    kinds = {"slices": "count", "scanner's slices": "count", "max |shift| paired (mm)": "mm"}
    kinds.update({c: "HU" for c in df.columns if c.startswith("RMSE")})
    return _rows(df, "00/errors", ["method"], kinds)


def produce_01(folder: Path) -> list[Entry]:
    """Chapter 01: the scanner's slice thickness (SSP FWHM) and noise, measured against predicted."""
    ssp = _read(folder, "slice_thickness.csv")
    out = _rows(ssp, "01/slice_thickness", ["nominal (mm)", "z-weighting"],
                {c: ("ratio" if "/" in c else "mm") for c in ssp.columns if c not in ("nominal (mm)", "z-weighting")})
    noise = _read(folder, "noise.csv")
    out += _rows(noise, "01/noise", ["mAs", "thickness (mm)"],
                 {"measured SD (HU)": "HU", "predicted SD (HU)": "HU", "measured / predicted": "ratio"})
    return out


def produce_02(folder: Path) -> list[Entry]:
    """Chapter 02: Table III (mean and SD of every metric, method, group and alignment, paper
    convention), FID per group and method, the calibrated profiles and the series' slice counts."""
    stats = _read(folder, "table3_stats_paper.csv")
    kind = {"psnr": "dB", "rmse": "unit", "ssim_2d": "ssim", "ssim_3d": "ssim"}
    out = []
    for _, r in stats.iterrows():
        for what in ("mean", "std"):
            out.append(Entry(_key("02/table3", r.kernel, r.dose, r.alignment, r.method, r.metric, what),
                             float(r[what]), kind[r.metric]))
    fid = _read(folder, "fid_paper.csv")
    out += _rows(fid, "02/fid", ["kernel", "dose", "method"], {"fid": "fid", "n_slices": "count"})
    cal = _read(folder, "calibration.csv")
    out += _rows(cal, "02/calibration", ["kernel", "dose", "held_out"], {"fwhm_mm": "mm", "fit_rmse_hu": "HU"})
    geo = _read(folder, "geometry.csv")
    out += _rows(geo, "02/geometry", ["kernel", "dose", "patient"], {"n_thin": "count", "n_thick": "count"})
    return out


def produce_03(folder: Path) -> list[Entry]:
    """Chapter 03 (Fig. 7 over all series): where each method's slice lies against the real one and
    which thin slice it resembles most, per slice group and method."""
    df = _read(folder, "slice_similarity_summary.csv")
    cols = {"slices": "count", "slice_minus_real_mm": "mm", "abs_slice_minus_real_mm": "mm",
            "best_minus_real_mm": "mm", "abs_best_minus_real_mm": "mm", "same_best_as_real": "ratio"}
    return _rows(df, "03/summary", ["where", "method"], cols)


def produce_04(folder: Path) -> list[Entry]:
    """Chapter 04: mean RMSE and PSNR of every method per scanner setting and dose, and the FWHM of
    the calibrated profiles."""
    out = []
    for name, kind in (("mean_rmse.csv", "HU"), ("mean_psnr.csv", "dB")):
        df = _read(folder, name)
        methods = [c for c in df.columns if c not in ("axis", "value", "dose")]
        out += _rows(df, f"04/{name[:-4]}", ["axis", "value", "dose"], dict.fromkeys(methods, kind))
    prof = _read(folder, "calibrated_profiles.csv")
    out += _rows(prof, "04/calibrated", ["axis", "value", "dose"], {"fwhm_mm": "mm"})
    return out


#: The region each metric convention's Table IV is scored on in chapter 05 (t2tcore.sr.effects.DEFAULT_REGION).
TABLE4_REGION = {"paper": "all", "window": "all", "hu": "body"}
#: Chapter 07's inputs that no SR model made (the thick series interpolated, the thin series, the true mask).
NO_SR_INPUTS = ("thick", "thin", "truth")


def produce_05(folder: Path) -> list[Entry]:
    """Chapter 05: only what no trained network decides, because SR training is not bit-reproducible
    across CPUs (another CPU's float32 rounding in the first steps grows over training, so the weights,
    their scores, when the convergence rule stops and the verdicts differ beyond any tolerance that
    would still catch a change; they are left out). Pinned: the linear-interpolation baseline (the real
    thick series interpolated along z, no network) on every case in each convention's Table IV region,
    with the scored slices; the training runs of each model and simulation and their step caps."""
    df = _read(folder, "per_case_metrics.csv")
    lin = df[(df.label == "linear") & (df.region == df.convention.map(TABLE4_REGION))]
    out = []
    for _, r in lin.iterrows():
        key = ("05/linear", r.kernel, r.dose, r.patient, r.convention)
        out.append(Entry(_key(*key, "psnr"), float(r.psnr), "dB"))
        out.append(Entry(_key(*key, "rmse"), float(r.rmse), "HU" if r.convention == "hu" else "unit"))
        out += [Entry(_key(*key, c), float(r[c]), "ssim") for c in ("ssim_2d", "ssim_3d") if c in r and r[c] == r[c]]
        out.append(Entry(_key(*key, "n_slices"), float(r.n_slices), "count"))
    runs = _read(folder, "training_runs.csv")
    for (model, method), g in runs.groupby(["model", "method"]):
        out.append(Entry(_key("05/runs", model, method, "seeds"), float(len(g)), "count"))
        out += [Entry(_key("05/runs", model, method, f"s{r.seed}", "cap"), float(r.cap), "count") for r in g.itertuples()]
    return out


def produce_07(folder: Path) -> list[Entry]:
    """Chapter 07: only what no SR model decides (the SR inputs' segmentations, features and Cox models
    follow their networks' weights, which another CPU rounds differently; see :func:`produce_05`):
    the patients and events each Cox model of the thick, thin and true-mask inputs has, the patients
    whose trachea the segmentation found in the thick and thin images, and the true airways' mesh volume
    (a shape of the true mask alone, no image intensity) and elongation per patient."""
    power = _read(folder, "power.csv")
    power = power[power.input.isin(NO_SR_INPUTS)]
    out = _rows(power, "07/cox", ["input"], {"n": "count", "events": "count"})
    seg = _read(folder, "segmentation_per_patient.csv")
    seg = seg[seg.input.isin(NO_SR_INPUTS)]
    out += [Entry(_key("07/segmentation", k, "seed_found"), float(g.seed_found.astype(bool).sum()), "count")
            for k, g in seg.groupby("input")]
    feats = _read(folder, "features_per_patient.csv")
    truth = feats[feats.input == "truth"]
    out += _rows(truth, "07/truth", ["patient_id"], {"MeshVolume": "volume", "Elongation": "ratio"})
    return out


#: chapter notebook stem -> producer. The golden test runs (or reuses) these chapters of the smoke book.
PRODUCERS: dict[str, Callable[[Path], list[Entry]]] = {
    "00_simulation_walkthrough": produce_00,
    "01_virtual_scanner": produce_01,
    "02_simulation_fidelity": produce_02,
    "03_slice_similarity": produce_03,
    "04_robustness": produce_04,
    "05_sr_training": produce_05,
    "07_clinical_relevance": produce_07,
}


def produce(results: Path) -> list[Entry]:
    """Every producer's entries from ``results`` (``_build/results/<profile>``), sorted by key."""
    out = [e for stem, fn in PRODUCERS.items() for e in fn(Path(results) / stem)]
    keys = [e.key for e in out]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise ValueError(f"producers made duplicate keys: {dup[:5]}")
    return sorted(out, key=lambda e: e.key)
