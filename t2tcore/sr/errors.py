"""Errors of the super-resolution stage; all are :class:`~t2tcore.errors.T2TError` (one-line CLI errors)."""

from __future__ import annotations

from t2tcore.errors import T2TError

__all__ = ["CheckpointError", "SRError", "SRInputError"]


class SRError(T2TError):
    """Base class of the errors of :mod:`t2tcore.sr`."""


class CheckpointError(SRError):
    """A file that is not a readable t2t SR checkpoint, or one that does not fit the request."""


class SRInputError(SRError):
    """A series a model cannot be applied to (too thin, too few slices) or bad training data."""
