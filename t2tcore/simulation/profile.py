"""Slice profiles: a protocol's thin-to-thick z-kernel as data (:class:`SliceProfile`).

A profile is a symmetric, non-negative kernel, piecewise linear between nodes at
``|dz| = 0, h, 2h, ..., R`` mm and 0 beyond ``R``, plus an optional in-plane Gaussian blur.
:func:`t2tcore.simulation.calibrate.fit_slice_profile` measures one from a paired scan;
``simulate_thick(method="calibrated", profile=...)`` applies it. Profiles are saved as JSON.

"Slice profile" is this object's name everywhere (``SliceProfile``, ``load_slice_profile``,
``t2t simulate --slice-profile``): the book's effort setting is the other "profile" (``make book
PROFILE=quick``). The old names ``ZProfile``, ``ProfileError`` and ``load_profile`` still work
(``load_profile`` with a DeprecationWarning) for one release.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from t2tcore.errors import T2TError
from t2tcore.simulation.kernels import Kernel

__all__ = ["PROFILE_FORMAT", "PROFILE_VERSION", "ProfileError", "SliceProfile", "SliceProfileError", "ZProfile",
           "load_profile", "load_slice_profile"]

#: ``format`` field of a profile JSON file.
PROFILE_FORMAT = "t2t-zprofile"
PROFILE_VERSION = 1


class SliceProfileError(T2TError, ValueError):
    """A slice-profile file or object that cannot be used (also a ValueError)."""


#: The old name of :class:`SliceProfileError`.
ProfileError = SliceProfileError


# --------------------------------------------------------------------------------------
# The profile
# --------------------------------------------------------------------------------------


@dataclass
class SliceProfile:
    """A measured z-weighting kernel (slice profile) of one protocol.

    Attributes
    ----------
    offsets_mm : ndarray, shape (K,), float64
        Node positions ``|dz|`` in mm: start at 0, strictly increasing.
    weights : ndarray, shape (K,), float64
        Kernel values at the nodes (>= 0, not all 0). The kernel is symmetric, linear between
        nodes and 0 beyond ``offsets_mm[-1]``. Its scale does not matter (the simulation
        normalises the weights of every thick slice); fitted profiles have a peak of 1.
    inplane_sigma_px : float
        2-D Gaussian blur (pixels, >= 0) applied to every simulated slice after the z
        weighting (0: none).
    thickness, interval : float or None
        Nominal thick slice thickness and interval (mm) of the protocol it was fitted on.
    meta : dict
        What it was fitted on (patients, series UIDs, kernel, residual RMSE in HU, t2t
        version...). Must be JSON serialisable.
    """

    offsets_mm: np.ndarray
    weights: np.ndarray
    inplane_sigma_px: float = 0.0
    thickness: float | None = None
    interval: float | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        off = np.array(self.offsets_mm, dtype=np.float64).reshape(-1)
        w = np.array(self.weights, dtype=np.float64).reshape(-1)
        if off.size < 1 or off.size != w.size:
            raise SliceProfileError(f"offsets_mm and weights must be 1-D of the same length >= 1, got {off.size} and {w.size}")
        if not (np.all(np.isfinite(off)) and np.all(np.isfinite(w))):
            raise SliceProfileError("offsets_mm and weights must be finite")
        if off[0] != 0 or np.any(np.diff(off) <= 0):
            raise SliceProfileError("offsets_mm must start at 0 and increase strictly")
        if off.size == 1:
            raise SliceProfileError("a profile needs at least 2 nodes (0 and its radius)")
        if np.any(w < 0) or not np.any(w > 0):
            raise SliceProfileError("weights must be >= 0 and not all 0")
        sigma = float(self.inplane_sigma_px)
        if not (math.isfinite(sigma) and sigma >= 0):
            raise SliceProfileError(f"inplane_sigma_px must be a finite number >= 0, got {self.inplane_sigma_px}")
        for name in ("thickness", "interval"):
            v = getattr(self, name)
            if v is not None:
                v = float(v)
                if not (math.isfinite(v) and v > 0):
                    raise SliceProfileError(f"{name} must be > 0 mm or None, got {v}")
                setattr(self, name, v)
        self.offsets_mm, self.weights, self.inplane_sigma_px = off, w, sigma
        self.meta = dict(self.meta or {})

    @property
    def radius_mm(self) -> float:
        """Support radius (mm): the last node."""
        return float(self.offsets_mm[-1])

    def __call__(self, dz: Any) -> np.ndarray:
        """Kernel values (float64) at signed distances ``dz`` (mm, any shape)."""
        a = np.abs(np.asarray(dz, dtype=np.float64))
        return np.where(a <= self.radius_mm, np.interp(a, self.offsets_mm, self.weights), 0.0)

    @property
    def fwhm_mm(self) -> float:
        """Full width at half maximum of the (symmetric) kernel, mm.

        Twice the distance at which the kernel, going outwards from its peak, first falls
        below half its peak (exact for the piecewise-linear kernel; ``2 R`` when it stays
        above half up to the radius ``R``).
        """
        off, w = self.offsets_mm, self.weights
        half = w.max() / 2
        i = int(np.flatnonzero(w == w.max())[-1])
        below = np.flatnonzero(w[i:] < half)
        if below.size == 0:
            return 2 * self.radius_mm
        b = i + int(below[0])
        a = b - 1
        x = off[a] + (w[a] - half) / (w[a] - w[b]) * (off[b] - off[a])
        return float(2 * x)

    def kernel(self) -> Kernel:
        """This profile as a :class:`t2tcore.simulation.simulate.Kernel` (``radius = offsets_mm[-1]``)."""
        off, w = self.offsets_mm.copy(), self.weights.copy()
        return Kernel(lambda a: np.interp(a, off, w), float(off[-1]), f"calibrated(FWHM={self.fwhm_mm:.3g} mm)")

    def to_dict(self) -> dict:
        """The JSON content (numbers rounded to 8 significant digits)."""

        def r(v: float) -> float:
            return float(f"{v:.8g}")

        return {
            "format": PROFILE_FORMAT,
            "version": PROFILE_VERSION,
            "thickness_mm": self.thickness,
            "interval_mm": self.interval,
            "fwhm_mm": r(self.fwhm_mm),
            "inplane_sigma_px": r(self.inplane_sigma_px),
            "offsets_mm": [r(v) for v in self.offsets_mm],
            "weights": [r(v) for v in self.weights],
            "meta": self.meta,
        }

    def to_json(self, path: str | os.PathLike, *, overwrite: bool = True) -> Path:
        """Write the profile as a small, human-readable JSON file, all at once.

        The text goes into a hidden staging file beside ``path`` (an ordinary file: 0666
        less the umask) that is committed by one rename (:func:`t2tcore.io.outdir.commit_output`).

        Parameters
        ----------
        path : str or path-like
        overwrite : bool
            Replace an existing file (default). False: if ``path`` exists when the file is
            committed, nothing is replaced and the error says where the profile was kept.

        Returns
        -------
        pathlib.Path
            The path written.
        """
        from t2tcore.io.outdir import commit_output, staging_file

        path = Path(path)
        text = json.dumps(self.to_dict(), indent=1) + "\n"
        tmp = staging_file(path, suffix=".json")
        try:
            tmp.write_text(text, encoding="utf8")
            commit_output(tmp, path, overwrite=overwrite)
        finally:
            tmp.unlink(missing_ok=True)
        return path

    @classmethod
    def from_dict(cls, data: dict) -> "SliceProfile":
        """A profile from :meth:`to_dict` content; :class:`SliceProfileError` if it is not one."""
        if not isinstance(data, dict) or data.get("format") != PROFILE_FORMAT:
            raise SliceProfileError(f"not a t2t slice profile (no \"format\": \"{PROFILE_FORMAT}\")")
        if data.get("version") != PROFILE_VERSION:
            raise SliceProfileError(f"unsupported profile version {data.get('version')!r} (this t2t reads {PROFILE_VERSION})")
        missing = [k for k in ("offsets_mm", "weights") if k not in data]
        if missing:
            raise SliceProfileError(f"profile lacks {', '.join(missing)}")
        try:
            return cls(
                offsets_mm=np.asarray(data["offsets_mm"], dtype=np.float64),
                weights=np.asarray(data["weights"], dtype=np.float64),
                inplane_sigma_px=float(data.get("inplane_sigma_px", 0.0)),
                thickness=data.get("thickness_mm"),
                interval=data.get("interval_mm"),
                meta=dict(data.get("meta") or {}),
            )
        except (TypeError, ValueError) as exc:
            if isinstance(exc, SliceProfileError):
                raise
            raise SliceProfileError(f"bad profile values: {exc}") from None

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> "SliceProfile":
        """Read a profile written by :meth:`to_json`.

        Raises
        ------
        SliceProfileError
            If the file cannot be read, is not JSON, or is not a valid profile.
        """
        try:
            text = Path(path).read_text(encoding="utf8")
        except OSError as exc:
            raise SliceProfileError(f"{path}: cannot read the profile ({exc.strerror or exc})") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SliceProfileError(f"{path}: not JSON ({exc.msg}, line {exc.lineno})") from None
        try:
            return cls.from_dict(data)
        except SliceProfileError as exc:
            raise SliceProfileError(f"{path}: {exc}") from None


def load_slice_profile(profile: Any) -> SliceProfile:
    """A :class:`SliceProfile` from a slice profile, or the path of its JSON file (str or Path)."""
    if isinstance(profile, SliceProfile):
        return profile
    if isinstance(profile, (str, os.PathLike)):
        return SliceProfile.from_json(profile)
    raise ValueError(f"profile must be a SliceProfile or the path of a profile JSON file, got {type(profile).__name__}")


#: The old name of :class:`SliceProfile` (kept: saved code and other packages use it).
ZProfile = SliceProfile


def load_profile(profile: Any) -> SliceProfile:
    """Deprecated name of :func:`load_slice_profile` (one release)."""
    import warnings

    warnings.warn("t2tcore.simulation.load_profile is deprecated; use load_slice_profile", DeprecationWarning,
                  stacklevel=2)
    return load_slice_profile(profile)
