"""Reading, inspecting and writing CT series (DICOM folders and NIfTI files), and
all-or-nothing output folders.

One concept per module:

* :mod:`~t2tcore.io.series` -- :class:`Series`, :class:`SeriesInfo`, :class:`FolderScan`,
  the geometry report (spacing regularity, gantry tilt);
* :mod:`~t2tcore.io.dicom_scan` -- finding, classifying and grouping DICOM files (headers);
* :mod:`~t2tcore.io.dicom_read` -- reading one DICOM series (pixel decoding);
* :mod:`~t2tcore.io.dicom_write` -- writing a DICOM series;
* :mod:`~t2tcore.io.nifti` -- NIfTI in and out (nibabel), with the JSON sidecar;
* :mod:`~t2tcore.io.dispatch` -- :func:`read_series`, :func:`write_series`, ... choosing the
  format from the path;
* :mod:`~t2tcore.io.outdir`, :mod:`~t2tcore.io.quantize`, :mod:`~t2tcore.io.errors`.
"""

from __future__ import annotations

from t2tcore.io.dispatch import (  # noqa: F401
    check_output_dir,
    is_nifti_path,
    list_series,
    read_series,
    scan_folder,
    write_series,
)
from t2tcore.io.errors import (  # noqa: F401
    DicomError,
    DicomReadError,
    DicomWriteError,
    MissingDecoderError,
    NiftiError,
    NiftiReadError,
    NiftiWriteError,
    SeriesChoiceError,
    SeriesIOError,
)
from t2tcore.io.nifti import sidecar_path  # noqa: F401
from t2tcore.io.outdir import (  # noqa: F401
    staging_dir,
    staging_file,
    swap_in,
)
from t2tcore.io.series import FolderScan, Series, SeriesInfo  # noqa: F401

__all__ = [
    "DicomError", "DicomReadError", "DicomWriteError", "FolderScan", "MissingDecoderError", "NiftiError",
    "NiftiReadError", "NiftiWriteError", "SeriesChoiceError", "SeriesIOError", "Series", "SeriesInfo",
    "check_output_dir", "is_nifti_path", "list_series", "read_series", "scan_folder", "sidecar_path",
    "write_series", "staging_dir", "staging_file", "swap_in",
]
