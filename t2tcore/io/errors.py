"""Errors of reading and writing CT series (DICOM folders and NIfTI files).

Every one is a :class:`~t2tcore.errors.T2TError`: bad input, which the ``t2t`` command prints
as one line (exit status 2), never a traceback.
"""

from __future__ import annotations

from t2tcore.errors import T2TError

__all__ = [
    "SeriesIOError",
    "DicomError",
    "DicomReadError",
    "SeriesChoiceError",
    "MissingDecoderError",
    "DicomWriteError",
    "NiftiError",
    "NiftiReadError",
    "NiftiWriteError",
]


class SeriesIOError(T2TError):
    """Base class of the series input/output errors (any format)."""


class DicomError(SeriesIOError):
    """Base class of the DICOM input/output errors."""


class DicomReadError(DicomError):
    """A path that does not hold a readable image series (missing, empty, no CT images...)."""


class SeriesChoiceError(DicomReadError):
    """Several image series and none chosen, or the chosen SeriesInstanceUID is absent."""


class MissingDecoderError(DicomReadError):
    """Compressed pixel data whose decoder plugin is not installed."""


class DicomWriteError(DicomError):
    """The output folder cannot be written (not empty, holds the input, not a folder...)."""


class NiftiError(SeriesIOError):
    """Base class of the NIfTI input/output errors."""


class NiftiReadError(NiftiError):
    """A NIfTI file that cannot be read as one CT volume (missing, corrupt, 4-D, sheared...)."""


class NiftiWriteError(NiftiError):
    """A NIfTI file that cannot be written (exists, is the input, is a folder...)."""
