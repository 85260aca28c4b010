"""Exception and warning types of t2tcore.

Every error the package raises on bad *input* (files, folders, arguments coming from a
user) is a :class:`T2TError`, so the ``t2t`` command can print it as one line and exit
non-zero instead of showing a traceback.
"""


class T2TError(Exception):
    """Base class for errors caused by bad input (not by bugs)."""


class SeriesWarning(UserWarning):
    """Something about a DICOM series that a user should know (skipped files, gaps, tilt)."""


# The clinical cohort's errors live here, at the bottom, because three layers raise them: its folder
# layout (t2tcore.data.fibrosis), its virtual writer (t2tcore.scanner.cohorts.fibrosis) and the
# clinical analysis (t2tcore.clinical, whose errors module re-exports them).
class ClinicalError(T2TError):
    """Bad input to the clinical analysis (the ``t2t`` command prints it as one line)."""


class CohortError(ClinicalError):
    """A cohort folder or its survival table is incomplete or inconsistent; the message names what."""
