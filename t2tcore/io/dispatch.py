"""The public readers and writers: the format follows the path.

A path ending in ``.nii`` or ``.nii.gz`` is a NIfTI file (:mod:`t2tcore.io.nifti`; to read,
only if it is not a folder); anything else is a DICOM folder, or a single DICOM file
(:mod:`t2tcore.io.dicom_read`, :mod:`t2tcore.io.dicom_write`, :mod:`t2tcore.io.dicom_scan`).
Every command and notebook reads and writes series through these functions, so each
accepts both formats. The DICOM modules (and pydicom with them) are imported when a DICOM
path is first read, written or scanned, not when this module is.
"""

from __future__ import annotations

import os
import pathlib
from typing import TYPE_CHECKING, Any, Iterable

from t2tcore.io.errors import NiftiReadError
from t2tcore.io.nifti import check_nifti_output, has_nifti_suffix, is_nifti_path, read_nifti, scan_nifti, write_nifti
from t2tcore.io.quantize import check_finite

if TYPE_CHECKING:
    from t2tcore.io.series import FolderScan, Series, SeriesInfo

__all__ = ["read_series", "write_series", "check_output_dir", "scan_folder", "list_series", "is_nifti_path"]


def read_series(
    path: str | os.PathLike,
    series_uid: str | None = None,
    *,
    thickness: float | None = None,
    progress: bool = False,
) -> Series:
    """Read one CT series from a DICOM folder (or file) or a NIfTI file.

    Parameters
    ----------
    path : str or path-like
        A folder of DICOM files (searched recursively, any names and order), a single DICOM
        file, or a NIfTI file (``*.nii``, ``*.nii.gz``; see :func:`t2tcore.io.nifti.read_nifti`).
    series_uid : str, optional
        SeriesInstanceUID to read when a DICOM folder holds several CT series (not for NIfTI).
    thickness : float, optional
        Slice thickness in mm, replacing the header's (DICOM SliceThickness, NIfTI sidecar).
        NIfTI without a sidecar needs it, or its slice spacing is used with a warning.
    progress : bool, optional
        Show progress bars on stderr (DICOM).

    Returns
    -------
    Series
        ``volume`` float32 HU (Z, Y, X), slices ascending along the slice normal;
        ``positions`` (Z,) mm; geometry in DICOM patient coordinates (LPS).

    Raises
    ------
    DicomReadError, SeriesChoiceError, MissingDecoderError
        See :func:`t2tcore.io.dicom_read.read_dicom`.
    NonFiniteError
        The volume holds NaN or infinite values (the message says how many voxels).
    NiftiReadError
        See :func:`t2tcore.io.nifti.read_nifti`; also ``series_uid`` given for a NIfTI file.
    ValueError
        ``thickness`` not a positive number.
    """
    if thickness is not None and not (float(thickness) > 0 and float(thickness) < float("inf")):
        raise ValueError(f"thickness must be > 0 (mm), got {thickness}")
    if is_nifti_path(path):
        if series_uid is not None:
            raise NiftiReadError(f"{path}: a NIfTI file holds one series; a SeriesInstanceUID does not apply")
        return read_nifti(path, thickness=thickness)
    from t2tcore.io.dicom_read import read_dicom

    series = read_dicom(path, series_uid, progress=progress)
    check_finite(series.volume, path)  # a NaN or infinite RescaleSlope/Intercept
    if thickness is not None:
        old = "none" if series.thickness is None else f"{series.thickness:g} mm"
        series.thickness = float(thickness)
        series.notes.append(f"slice thickness {float(thickness):g} mm given (SliceThickness in the header: {old})")
    return series


def write_series(
    series: Series, out: str | os.PathLike, overwrite: bool = False, *, progress: bool = False
) -> pathlib.Path:
    """Write a series: a NIfTI file if ``out`` ends in ``.nii``/``.nii.gz``, else a DICOM folder.

    Parameters
    ----------
    series : Series
        The series (``volume`` finite HU).
    out : str or path-like
        The DICOM folder to create (see :func:`t2tcore.io.dicom_write.write_dicom`) or the
        NIfTI file to write with its JSON sidecar (see :func:`t2tcore.io.nifti.write_nifti`).
    overwrite : bool, optional
        Replace a non-empty folder or an existing file; the series' input never.
    progress : bool, optional
        Show a progress bar on stderr (DICOM).

    Returns
    -------
    pathlib.Path
        The absolute output folder or file.

    Raises
    ------
    DicomWriteError, NiftiWriteError
        The output cannot be written (exists, holds or is the input, ...).
    ValueError
        The volume holds NaN or infinite values.
    """
    if has_nifti_suffix(out):
        return write_nifti(series, out, overwrite)
    from t2tcore.io.dicom_write import write_dicom

    return write_dicom(series, out, overwrite, progress=progress)


def check_output_dir(out: str | os.PathLike, overwrite: bool = False, inputs: Iterable[Any] = ()) -> pathlib.Path:
    """Check, before any work, that :func:`write_series` can write ``out``; returns its absolute path.

    A DICOM output folder must be empty (or ``overwrite``); a NIfTI output file (and its
    sidecar) must not exist (or ``overwrite``); neither may be, or hold, one of ``inputs``.

    Raises
    ------
    DicomWriteError, NiftiWriteError
    """
    if has_nifti_suffix(out):
        return check_nifti_output(out, overwrite, inputs)
    from t2tcore.io.dicom_write import check_dicom_output

    return check_dicom_output(out, overwrite, inputs)


def scan_folder(path: str | os.PathLike, *, progress: bool = False) -> FolderScan:
    """What a DICOM folder (searched recursively), DICOM file or NIfTI file holds, from headers only.

    Returns
    -------
    FolderScan
        For a NIfTI file, one series named by the file.

    Raises
    ------
    DicomReadError, NiftiReadError
        The path does not exist, the folder is empty, the NIfTI file is unreadable.
    """
    if is_nifti_path(path):
        return scan_nifti(path)
    from t2tcore.io.dicom_scan import scan_dicom

    return scan_dicom(path, progress=progress)


def list_series(path: str | os.PathLike) -> list[SeriesInfo]:
    """The image series in a folder (searched recursively) or file: CT series first."""
    return scan_folder(path).series
