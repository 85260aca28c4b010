"""The paper's simulation as TorchIO transforms: :class:`SimulateThick` and :class:`RandomSimulateThick`.

Each simulates the scalar images of a subject (``include``/``exclude`` choose which; label
maps are never simulated) and replaces each by a ``ScalarImage`` on the thick grid: the
slice axis of the new length and the affine at the thick slice positions
(:func:`t2tcore.pipelines.arrays.simulate_array`), with the numbers ``t2t simulate`` writes
for the same file. :class:`RandomSimulateThick` draws thickness, interval and the start of
Algorithm 1's grid once per subject with torch's generator (``torch.manual_seed`` makes it
repeatable) and applies the deterministic :class:`SimulateThick`, which the subject's
history records, as TorchIO's own random transforms do.

The thick image is on another grid than the subject's other images: keep a thin copy under
another name (``include=["image"]``) and bring the thick one back with
``tio.Resample("label")`` when a model needs both on one grid. Importing this module imports TorchIO.
"""

from __future__ import annotations

from typing import Any, Sequence

import torchio as tio
from torchio.transforms.augmentation import RandomTransform

from t2tcore.pipelines.arrays import simulate_array

__all__ = ["SimulateThick", "RandomSimulateThick"]


class SimulateThick(tio.Transform):
    """Thick slices from the thin scalar images of a subject.

    Parameters
    ----------
    thickness : float
        Thick slice thickness (mm).
    interval : float, optional
        Distance between thick slices (mm); default ``thickness``.
    method : str
        ``proposed`` (default), ``gaussian_z``, ``calibrated`` (with ``profile``), ``direct``,
        ``average``, ``gaussian``.
    offset : float
        Start of Algorithm 1's grid after the first thin slice (mm); 0 is ``t2t simulate``'s.
    thin_thickness : float, optional
        Thin slice thickness (mm) of the index-based methods (default: the slice spacing).
    sigma : float
        In-plane blur of ``gaussian`` (pixels).
    profile : SliceProfile or path, optional
        A measured slice profile (``calibrated``).
    slice_axis : {0, 1, 2}
        Spatial axis of the slices (default 2).
    **kwargs
        TorchIO's ``p``, ``include``, ``exclude``, ``copy``.
    """

    def __init__(self, thickness: float, interval: float | None = None, method: str = "proposed",
                 offset: float = 0.0, thin_thickness: float | None = None, sigma: float = 1.0, profile: Any = None,
                 slice_axis: int = 2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if method == "calibrated" and profile is None:
            raise ValueError("method 'calibrated' needs profile= (a SliceProfile or its JSON path)")
        self.thickness = float(thickness)
        self.interval = float(interval) if interval is not None else float(thickness)
        self.method = method
        self.offset = float(offset)
        self.thin_thickness = thin_thickness
        self.sigma = float(sigma)
        self.profile = profile
        self.slice_axis = slice_axis
        self.args_names = ["thickness", "interval", "method", "offset", "thin_thickness", "sigma", "profile",
                           "slice_axis"]

    def apply_transform(self, subject: tio.Subject) -> tio.Subject:
        for name, image in subject.get_images_dict(intensity_only=True, include=self.include,
                                                   exclude=self.exclude).items():
            data, affine, _ = simulate_array(
                image.data, image.affine, self.thickness, self.interval, self.method, offset=self.offset,
                thin_thickness=self.thin_thickness, sigma=self.sigma, profile=self.profile,
                slice_axis=self.slice_axis, name=name,
            )
            subject[name] = tio.ScalarImage(tensor=data, affine=affine)
        return subject


def _range(value: float | Sequence[float] | None, name: str) -> tuple[float, float] | None:
    if value is None:
        return None
    lo, hi = (value, value) if isinstance(value, (int, float)) else tuple(value)
    if not (0 <= float(lo) <= float(hi) < float("inf")):
        raise ValueError(f"{name} must be a number or a range (low, high) with 0 <= low <= high, got {value}")
    return float(lo), float(hi)


class RandomSimulateThick(RandomTransform):
    """:class:`SimulateThick` with thickness, interval and grid start drawn for every subject.

    Parameters
    ----------
    thickness : float or (float, float)
        Thickness (mm) or the range it is drawn from (uniform); default 2 to 5 mm.
    interval : float or (float, float), optional
        Interval (mm) or its range; default the drawn thickness.
    offset : float or (float, float), optional
        Grid start after the first thin slice (mm) or its range; default uniform in [0, interval).
    method, thin_thickness, sigma, profile, slice_axis
        See :class:`SimulateThick`.
    **kwargs
        TorchIO's ``p``, ``include``, ``exclude``, ``copy``.
    """

    def __init__(self, thickness: float | Sequence[float] = (2.0, 5.0), interval: float | Sequence[float] | None = None,
                 offset: float | Sequence[float] | None = None, method: str = "proposed",
                 thin_thickness: float | None = None, sigma: float = 1.0, profile: Any = None, slice_axis: int = 2,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.thickness_range = _range(thickness, "thickness")
        if self.thickness_range[0] <= 0:
            raise ValueError(f"thickness must be > 0 mm, got {thickness}")
        self.interval_range = _range(interval, "interval")
        self.offset_range = _range(offset, "offset")
        self.fixed = dict(method=method, thin_thickness=thin_thickness, sigma=sigma, profile=profile,
                          slice_axis=slice_axis)

    def get_params(self) -> tuple[float, float, float]:
        """Draw (thickness, interval, offset) in mm with torch's generator."""
        t = self.sample_uniform(*self.thickness_range)
        d = self.sample_uniform(*self.interval_range) if self.interval_range is not None else t
        o = self.sample_uniform(*self.offset_range) if self.offset_range is not None else self.sample_uniform(0.0, d)
        return float(t), float(d), float(o)

    def apply_transform(self, subject: tio.Subject) -> tio.Subject:
        t, d, o = self.get_params()
        transform = SimulateThick(t, d, offset=o, **self.fixed, **self._get_base_args())
        out = transform(subject)
        assert isinstance(out, tio.Subject)
        return out

