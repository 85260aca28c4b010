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
    "OutputError",
    "OutputBusyError",
    "OutputChangedError",
    "OutputWarning",
    "NonFiniteError",
]


class SeriesIOError(T2TError):
    """Base class of the series input/output errors (any format)."""


class NonFiniteError(SeriesIOError, ValueError):
    """An input volume holds NaN or infinite values (refused when it is read)."""


class OutputError(T2TError):
    """An output that must not or cannot be written (an input, not empty, not writable...);
    see :mod:`t2tcore.io.outdir`."""


class OutputBusyError(OutputError):
    """Another running t2t has claimed the same output."""


class OutputChangedError(OutputError):
    """The output changed during the run; nothing was replaced and the result was kept aside."""


class OutputWarning(UserWarning):
    """Something about an output a user should know (stale staging removed, a lock taken over)."""


class DicomError(SeriesIOError):
    """Base class of the DICOM input/output errors."""


class DicomReadError(DicomError):
    """A path that does not hold a readable image series (missing, empty, no CT images...)."""


class SeriesChoiceError(DicomReadError):
    """Several image series and none chosen, or the chosen SeriesInstanceUID is absent."""


class MissingDecoderError(DicomReadError):
    """Compressed pixel data whose decoder plugin is not installed."""


class DicomWriteError(DicomError, OutputError):
    """The output folder cannot be written (not empty, holds the input, not a folder...)."""


class NiftiError(SeriesIOError):
    """Base class of the NIfTI input/output errors."""


class NiftiReadError(NiftiError):
    """A NIfTI file that cannot be read as one CT volume (missing, corrupt, 4-D, sheared...)."""


class NiftiWriteError(NiftiError, OutputError):
    """A NIfTI file that cannot be written (exists, is the input, is a folder...)."""
