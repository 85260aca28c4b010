"""Reading, inspecting and writing CT series (DICOM folders and NIfTI files), and
all-or-nothing output folders.

One concept per module:

* :mod:`~t2tcore.io.series` -- :class:`Series`, :class:`SeriesInfo`, :class:`FolderScan`,
  the geometry report (spacing regularity, gantry tilt);
* :mod:`~t2tcore.io.dicom_scan` -- finding, classifying and grouping DICOM files (headers);
* :mod:`~t2tcore.io.dicom_read` -- reading one DICOM series (pixel decoding);
* :mod:`~t2tcore.io.dicom_write` -- writing a DICOM series;
* :mod:`~t2tcore.io.nifti` -- NIfTI in and out (nibabel), with the JSON sidecar;
* :mod:`~t2tcore.io.nifti_grid` -- a NIfTI file's voxel order (:class:`NiftiLayout`), kept on output;
* :mod:`~t2tcore.io.dispatch` -- :func:`read_series`, :func:`write_series`, ... choosing the
  format from the path;
* :mod:`~t2tcore.io.outdir` -- outputs checked, claimed (:mod:`~t2tcore.io.lock`), staged and
  committed all at once: :func:`claim_output` is what every writing command uses;
* :mod:`~t2tcore.io.quantize`, :mod:`~t2tcore.io.errors`.
"""

from __future__ import annotations

from t2tcore._lazy import lazy_exports

# public name -> submodule that defines it. The names are imported on first use (PEP 562),
# so ``import t2tcore.io`` -- and every module that imports a name from it, down to the
# ``t2t`` command's argument parser -- does not pay for pydicom until a DICOM file is read
# or written (see tests/cli/test_startup.py).
_EXPORTS = {
    **dict.fromkeys(
        ["check_output_dir", "is_nifti_path", "list_series", "read_series", "scan_folder", "write_series"], "dispatch"
    ),
    **dict.fromkeys(
        [
            "DicomError", "DicomReadError", "DicomWriteError", "MissingDecoderError", "NiftiError",
            "NiftiReadError", "NiftiWriteError", "SeriesChoiceError", "SeriesIOError", "NonFiniteError",
            "OutputError", "OutputBusyError", "OutputChangedError", "OutputWarning",
        ],
        "errors",
    ),
    "sidecar_path": "nifti",
    "NiftiLayout": "nifti_grid",
    **dict.fromkeys(
        ["staging_dir", "staging_file", "swap_in", "check_output", "check_not_input", "claim_output", "commit_output",
         "OutputClaim"],
        "outdir",
    ),
    **dict.fromkeys(["FolderScan", "Series", "SeriesInfo"], "series"),
}

__all__ = [
    "DicomError", "DicomReadError", "DicomWriteError", "FolderScan", "MissingDecoderError", "NiftiError",
    "NiftiReadError", "NiftiWriteError", "SeriesChoiceError", "SeriesIOError", "Series", "SeriesInfo",
    "check_output_dir", "is_nifti_path", "list_series", "read_series", "scan_folder", "sidecar_path",
    "write_series", "staging_dir", "staging_file", "swap_in", "NonFiniteError", "OutputError", "OutputBusyError",
    "OutputChangedError", "OutputWarning", "NiftiLayout", "check_output", "check_not_input", "claim_output",
    "commit_output", "OutputClaim",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
