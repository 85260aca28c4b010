"""What ``t2t pairs`` simulates: one :class:`Simulation` per thick series made from each thin series.

Several thicknesses in one run are several :class:`Simulation` objects
(:func:`simulations`). Each knows its folder label and its settings as a dictionary, which
goes into the resume key of every pair (:mod:`t2tcore.pipelines.task`), so that changing
any setting (or the measured profile's file content) makes the pairs again.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

from t2tcore.errors import T2TError
from t2tcore.simulation.series import INDEX_METHODS

__all__ = ["PairSettingsError", "Simulation", "simulations"]


class PairSettingsError(T2TError):
    """Settings of ``t2t pairs`` that cannot work together (thicknesses, intervals, profile, method)."""


@dataclass(frozen=True)
class Simulation:
    """One thick series to make from every thin series.

    Attributes
    ----------
    thickness : float
        Thick slice thickness, mm.
    interval : float or None
        Distance between thick slices, mm (None for the index-based methods).
    method : str
        A method of :func:`t2tcore.simulation.simulate_thick`.
    sigma : float
        In-plane blur of ``gaussian`` (pixels).
    profile : str or None
        Path of a measured slice profile (``calibrated``).
    profile_sha256 : str or None
        Hash of the profile file's content (part of the resume key).
    """

    thickness: float
    interval: float | None
    method: str = "proposed"
    sigma: float = 1.0
    profile: str | None = None
    profile_sha256: str | None = None

    @property
    def label(self) -> str:
        """Folder label: ``"3mm"``, or ``"3mm_2mm"`` when the interval is not the thickness."""
        text = f"{self.thickness:g}mm"
        if self.interval is not None and self.interval != self.thickness:
            text += f"_{self.interval:g}mm"
        return text

    def key_data(self) -> dict:
        """The settings that decide the numbers of a pair (the profile by content, not path)."""
        data = asdict(self)
        data.pop("profile")
        if self.method != "gaussian":
            data.pop("sigma")
        return data

    def describe(self) -> str:
        """E.g. ``"proposed 3 mm every 2 mm"``."""
        every = f" every {self.interval:g} mm" if self.interval is not None else " (groups of thin slices)"
        prof = f", profile {Path(self.profile).name}" if self.profile else ""
        return f"{self.method} {self.thickness:g} mm{every}{prof}"


def _sha256(path: str) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError as exc:
        raise PairSettingsError(f"{path}: cannot read the slice profile ({exc.strerror or exc})") from None


def simulations(
    thickness: Sequence[float] | None,
    interval: Sequence[float] | None = None,
    method: str = "proposed",
    *,
    sigma: float = 1.0,
    profile: str | None = None,
) -> list[Simulation]:
    """The thick series to make, checked before any series is read.

    Parameters
    ----------
    thickness : sequence of float or None
        One or more thicknesses (mm); None takes the profile's.
    interval : sequence of float, optional
        One interval for all thicknesses or one per thickness (mm); default each thickness
        (contiguous thick slices; the profile's interval with a profile). Ignored by the
        index-based methods.
    method : str
        ``proposed`` (default), ``gaussian_z``, ``direct``, ``average``, ``gaussian``, or
        ``calibrated`` (needs ``profile``; a profile selects it).
    sigma : float
        In-plane blur of ``gaussian`` (pixels).
    profile : str, optional
        A slice profile JSON measured by ``t2t calibrate``.

    Returns
    -------
    list of Simulation
        One per thickness, in the order given; their labels differ.

    Raises
    ------
    PairSettingsError
        No thickness, interval count mismatch, duplicate settings, a profile with another
        method or another thickness, an unreadable profile.
    """
    from t2tcore.simulation import METHODS, PROFILE_METHODS, load_slice_profile

    if method not in METHODS + PROFILE_METHODS:
        raise PairSettingsError(f"unknown method {method!r}; one of {', '.join(METHODS + PROFILE_METHODS)}")
    prof = None
    if profile is not None:
        if method not in ("proposed", "calibrated"):
            raise PairSettingsError(f"a slice profile selects the calibrated method; not with --method {method}")
        method = "calibrated"
        prof = load_slice_profile(profile)  # ProfileError is a T2TError
    elif method == "calibrated":
        raise PairSettingsError("--method calibrated needs --slice-profile PROFILE.json (made by `t2t calibrate`)")
    if not thickness:
        if prof is None or prof.thickness is None:
            raise PairSettingsError("--thickness is required")
        thickness = [prof.thickness]
    thickness = [float(t) for t in thickness]
    if method in INDEX_METHODS:
        intervals: list[float | None] = [None] * len(thickness)
    elif not interval:
        fallback = prof.interval if prof is not None and prof.interval is not None else None
        intervals = [fallback if fallback is not None else t for t in thickness]
    elif len(interval) == 1:
        intervals = [float(interval[0])] * len(thickness)
    elif len(interval) == len(thickness):
        intervals = [float(d) for d in interval]
    else:
        raise PairSettingsError(f"give one --interval or one per --thickness ({len(thickness)}), not {len(interval)}")
    for t, d in zip(thickness, intervals):
        if not (t > 0 and (d is None or d > 0)):
            raise PairSettingsError(f"thickness and interval must be > 0 mm, got {t:g} and {d}")
        if prof is not None and prof.thickness is not None and abs(prof.thickness - t) > 0.01 * prof.thickness:
            raise PairSettingsError(f"the profile {profile} was fitted for {prof.thickness:g} mm thick slices, "
                                    f"not {t:g} mm")
    digest = _sha256(profile) if profile is not None else None
    out = [Simulation(t, d, method, float(sigma), str(profile) if profile else None, digest)
           for t, d in zip(thickness, intervals)]
    labels = [s.label for s in out]
    if len(set(labels)) != len(labels):
        raise PairSettingsError(f"the same thick series asked twice: {', '.join(labels)}")
    return out
