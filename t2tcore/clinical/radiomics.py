"""The paper's five airway radiomics features (pyradiomics), the low-variance filter, and agreement.

Features (:data:`FEATURES`), computed by pyradiomics 3.0.1 on the airway mask of an image:
``Elongation``, ``Maximum2DDiameterColumn`` (largest diameter in the coronal plane, mm),
``Maximum2DDiameterSlice`` (axial plane, mm), ``MeshVolume`` (mm^3) -- shape features of the
mask -- and first-order ``10Percentile`` (HU) of the image inside the mask.

Settings (:data:`SETTINGS`, the one place they are written): bin width 25 HU (the default; it
only matters for texture features, none of which are used), no resampling (every input of one
patient is compared on the same thin grid: thick images are interpolated to it before they
are segmented), no mask correction, 3-D extraction, no diagnostic output (``additionalInfo``:
it hashes every image, which costs more than the features).

Low-variance filter (:func:`low_variance`): "we filtered out radiomics features with low
variance" (Section VI-D). Each feature is min-max scaled over the patients of one input and
dropped when the variance of the scaled values is below :data:`LOW_VARIANCE` (0.01): almost
all patients share one value and a few differ. It uses no outcome. The paper then "selected
five pertinent features relevant to mortality" -- a selection on the outcome; we do not
select: the five are the paper's, fixed in advance.

Agreement with the reference (the same features on the true mask of the thin image,
:func:`agreement`): per input and feature the median relative error over patients and the
intraclass correlation ICC(2,1) (two-way random effects, absolute agreement, single rater;
:func:`pingouin.intraclass_corr`) with its 95% confidence interval.

pyradiomics logs much; :func:`quiet_pyradiomics` sends its warnings to the build log (the file
named by ``T2T_PROGRESS_FILE``, :mod:`t2tcore.progress`) or nowhere, never to a book page.
"""

from __future__ import annotations

import logging
import os
import warnings
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

__all__ = [
    "FEATURES",
    "FEATURE_CLASSES",
    "SETTINGS",
    "LOW_VARIANCE",
    "quiet_pyradiomics",
    "extract_features",
    "feature_table",
    "low_variance",
    "relative_error",
    "agreement",
]

#: The paper's five features, in Table V's order.
FEATURES = ("Elongation", "Maximum2DDiameterColumn", "Maximum2DDiameterSlice", "MeshVolume", "10Percentile")
#: pyradiomics feature class of each feature.
FEATURE_CLASSES = {"Elongation": "shape", "Maximum2DDiameterColumn": "shape", "Maximum2DDiameterSlice": "shape",
                   "MeshVolume": "shape", "10Percentile": "firstorder"}
#: pyradiomics settings (all of them, in one place).
SETTINGS: dict[str, Any] = {
    "binWidth": 25,
    "resampledPixelSpacing": None,
    "interpolator": "sitkBSpline",
    "correctMask": False,
    "force2D": False,
    "label": 1,
    "minimumROIDimensions": 2,
    "additionalInfo": False,
}
#: Variance threshold of min-max scaled features (:func:`low_variance`).
LOW_VARIANCE = 0.01

_quiet_done = False


def quiet_pyradiomics() -> None:
    """Send pyradiomics' log to the build log (``T2T_PROGRESS_FILE``) or nowhere; never to stderr."""
    global _quiet_done
    if _quiet_done:
        return
    import radiomics

    from t2tcore.progress import PROGRESS_FILE_ENV

    logger = logging.getLogger("radiomics")
    radiomics.setVerbosity(logging.CRITICAL + 10)  # its own stderr handler prints nothing
    logger.setLevel(logging.WARNING)
    logger.propagate = False
    path = os.environ.get(PROGRESS_FILE_ENV)
    if path:
        h = logging.FileHandler(path, encoding="utf8")
        h.setLevel(logging.WARNING)
        h.setFormatter(logging.Formatter("pyradiomics %(levelname)s: %(message)s"))
        logger.addHandler(h)
    _quiet_done = True


def _extractor(features: Sequence[str]):
    from radiomics import featureextractor

    quiet_pyradiomics()
    ex = featureextractor.RadiomicsFeatureExtractor(**SETTINGS)
    ex.disableAllFeatures()
    by_class: dict[str, list[str]] = {}
    for f in features:
        if f not in FEATURE_CLASSES:
            raise ValueError(f"unknown feature {f!r}; known: {', '.join(FEATURES)}")
        by_class.setdefault(FEATURE_CLASSES[f], []).append(f)
    ex.enableFeaturesByName(**by_class)
    return ex


def extract_features(volume: Any, mask: Any, spacing: Sequence[float], features: Sequence[str] = FEATURES,
                     extractor=None) -> dict[str, float]:
    """The radiomics features of one masked image.

    Parameters
    ----------
    volume : (Z, Y, X) array_like
        Image, HU. Not modified.
    mask : (Z, Y, X) array_like of bool
        Region (the airway lumen).
    spacing : (dz, dy, dx)
        Voxel size, mm.
    features : sequence of str
        Names from :data:`FEATURES`.
    extractor : optional
        A pyradiomics extractor made for these features (reuse it across calls).

    Returns
    -------
    dict
        Feature name -> value (float); all NaN when the mask is empty.
    """
    import SimpleITK as sitk

    v = np.asarray(volume, dtype=np.float32)
    m = np.asarray(mask, dtype=bool)
    if v.ndim != 3 or v.shape != m.shape:
        raise ValueError(f"volume and mask must be 3-D of one shape, got {v.shape} and {m.shape}")
    sp = [float(s) for s in spacing]
    if len(sp) != 3 or not all(s > 0 for s in sp):
        raise ValueError(f"spacing must be (dz, dy, dx) > 0 mm, got {spacing}")
    if not m.any():
        return {f: float("nan") for f in features}
    ex = extractor if extractor is not None else _extractor(features)
    # crop to the mask's bounding box plus one voxel (pyradiomics crops too, after checks that
    # scan the whole image); shape and first-order features do not change
    box = tuple(slice(max(int(i.min()) - 1, 0), int(i.max()) + 2) for i in np.nonzero(m))
    img = sitk.GetImageFromArray(np.ascontiguousarray(v[box]))
    msk = sitk.GetImageFromArray(np.ascontiguousarray(m[box], dtype=np.uint8))
    for im in (img, msk):
        im.SetSpacing((sp[2], sp[1], sp[0]))
    out = ex.execute(img, msk)
    # pyradiomics returns 0-d arrays; shape features from eigenvalues may come back complex with a
    # zero imaginary part (a square root of a rounding-negative eigenvalue of a flat region)
    return {f: float(np.real(out[f"original_{FEATURE_CLASSES[f]}_{f}"])) for f in features}


def feature_table(items: Iterable[tuple[str, Any, Any, Sequence[float]]], features: Sequence[str] = FEATURES,
                  progress: bool = False, desc: str = "radiomics"):
    """Features of many (patient, volume, mask, spacing): a DataFrame indexed by patient_id.

    ``items`` may be a generator (volumes are read one at a time).
    """
    import pandas as pd

    from t2tcore.progress import bar

    ex = _extractor(features)
    rows = {}
    for pid, vol, mask, sp in bar(items, desc=desc, enabled=progress):
        rows[str(pid)] = extract_features(vol, mask, sp, features, ex)
    df = pd.DataFrame.from_dict(rows, orient="index", columns=list(features))
    df.index.name = "patient_id"
    return df


def low_variance(table, threshold: float = LOW_VARIANCE) -> list[str]:
    """Columns whose min-max scaled values have a variance below ``threshold`` (constant ones too).

    Parameters
    ----------
    table : pandas.DataFrame
        Patients x features (NaN ignored).
    threshold : float

    Returns
    -------
    list of str
        The low-variance columns, in table order.
    """
    low = []
    for c in table.columns:
        x = np.asarray(table[c], dtype=np.float64)
        x = x[np.isfinite(x)]
        span = x.max() - x.min() if x.size else 0.0
        if x.size < 2 or span <= 0 or np.var((x - x.min()) / span) < threshold:
            low.append(c)
    return low


def relative_error(values, reference) -> np.ndarray:
    """``|values - reference| / |reference|`` elementwise (NaN where the reference is 0)."""
    v, r = np.asarray(values, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(r != 0, np.abs(v - r) / np.abs(r), np.nan)


def agreement(tables: Mapping[str, Any], reference, features: Sequence[str] = FEATURES):
    """Agreement of each input's features with the reference features, patient by patient.

    Parameters
    ----------
    tables : mapping of input name -> DataFrame
        Patients x features of each input (e.g. thick, SR naive, SR proposed, thin).
    reference : DataFrame
        The same features on the reference (true mask on the thin image), same patients.
    features : sequence of str

    Returns
    -------
    pandas.DataFrame
        One row per input and feature: ``input``, ``feature``, ``n``, ``median_rel_error``,
        ``icc`` (ICC(2,1)), ``icc_low``, ``icc_high`` (95% CI). Patients with a missing value
        in either table are left out of that row (``n`` says how many remain).
    """
    import pandas as pd
    import pingouin as pg

    rows = []
    for name, tab in tables.items():
        common = tab.index.intersection(reference.index)
        for f in features:
            a, r = tab.loc[common, f].astype(float), reference.loc[common, f].astype(float)
            ok = np.isfinite(a.to_numpy()) & np.isfinite(r.to_numpy())
            pids = common[ok]
            row = {"input": name, "feature": f, "n": int(ok.sum()),
                   "median_rel_error": float(np.nanmedian(relative_error(a[ok], r[ok]))) if ok.any() else float("nan"),
                   "icc": float("nan"), "icc_low": float("nan"), "icc_high": float("nan")}
            if ok.sum() >= 3 and (np.ptp(a[ok]) > 0 or np.ptp(r[ok]) > 0):
                long = pd.DataFrame({"patient": np.r_[pids, pids], "rater": ["input"] * len(pids) + ["ref"] * len(pids),
                                     "value": np.r_[a[ok].to_numpy(), r[ok].to_numpy()]})
                with warnings.catch_warnings():  # perfect agreement divides by a zero error mean square
                    warnings.simplefilter("ignore", RuntimeWarning)
                    icc = pg.intraclass_corr(long, targets="patient", raters="rater", ratings="value").set_index("Type")
                kind = "ICC(A,1)" if "ICC(A,1)" in icc.index else "ICC2"  # pingouin >= 0.7 / older names
                ci = "CI95" if "CI95" in icc.columns else "CI95%"
                row["icc"] = float(icc.loc[kind, "ICC"])
                row["icc_low"], row["icc_high"] = (float(v) for v in icc.loc[kind, ci])
            rows.append(row)
    return pd.DataFrame(rows)
