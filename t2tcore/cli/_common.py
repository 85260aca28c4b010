"""Helpers shared by the sub-commands: argument types, naming a series, matching positions."""

from __future__ import annotations

import argparse
import warnings

from t2tcore.errors import T2TError


def positive_mm(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (value > 0 and value < float("inf")):
        raise argparse.ArgumentTypeError(f"must be > 0 (mm), got {text}")
    return value



SERIES_PATH_HELP = "a DICOM folder (searched recursively) or a NIfTI file (.nii, .nii.gz)"


def series_name(series, path) -> str:
    """How a message names a series: its SeriesInstanceUID, or the file it was read from (NIfTI)."""
    if series.series_uid:
        return f"series {series.series_uid}"
    return series.files[0].name if series.files else str(path)


def match_positions(thin, real, real_dir: str):
    """Positions (mm) of a real series' slices along the thin series' normal."""
    import numpy as np

    from t2tcore.errors import SeriesWarning

    cos = float(abs(thin.normal @ real.normal))
    if cos < np.cos(np.radians(1.0)):
        raise T2TError(
            f"{real_dir}: slice orientation differs from the thin series by "
            f"{np.degrees(np.arccos(min(1.0, cos))):.1f} deg; positions are not comparable"
        )
    thin_for = thin.header.get("FrameOfReferenceUID") if thin.header is not None else None
    real_for = real.header.get("FrameOfReferenceUID") if real.header is not None else None
    if thin_for and real_for and thin_for != real_for:
        warnings.warn(
            f"{real_dir}: another FrameOfReferenceUID than the thin series; its positions may not be comparable",
            SeriesWarning,
            stacklevel=2,
        )
    return real.ipp @ thin.normal
