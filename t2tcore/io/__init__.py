"""Reading, inspecting and writing CT series, and all-or-nothing output folders."""

from __future__ import annotations

from t2tcore.io.dicomio import (  # noqa: F401
    DicomError,
    DicomReadError,
    DicomWriteError,
    FolderScan,
    MissingDecoderError,
    SeriesChoiceError,
    Series,
    SeriesInfo,
    check_output_dir,
    list_series,
    read_series,
    scan_folder,
    write_series,
)
from t2tcore.io.outdir import (  # noqa: F401
    staging_dir,
    swap_in,
)

__all__ = ['DicomError', 'DicomReadError', 'DicomWriteError', 'FolderScan', 'MissingDecoderError', 'SeriesChoiceError', 'Series', 'SeriesInfo', 'check_output_dir', 'list_series', 'read_series', 'scan_folder', 'write_series', 'staging_dir', 'swap_in']
