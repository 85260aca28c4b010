"""Exception and warning types of t2tcore.

Every error the package raises on bad *input* (files, folders, arguments coming from a
user) is a :class:`T2TError`, so the ``t2t`` command can print it as one line and exit
non-zero instead of showing a traceback.
"""


class T2TError(Exception):
    """Base class for errors caused by bad input (not by bugs)."""


class SeriesWarning(UserWarning):
    """Something about a DICOM series that a user should know (skipped files, gaps, tilt)."""
