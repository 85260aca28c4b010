"""The paper's simulation as MONAI transforms: thick slices from thin ones, inside a ``Compose``.

* :class:`SimulateThick` (array) and :class:`SimulateThickd` (dictionary): fixed thickness,
  interval and method -- the series ``t2t simulate`` writes for the same file;
* :class:`RandSimulateThick` and :class:`RandSimulateThickd`: thickness, interval and the
  start of Algorithm 1's grid drawn from ranges for every sample (augmentation), seeded by
  :meth:`~monai.transforms.Randomizable.set_random_state`; the dictionary version draws once
  per sample and applies the same draw to every key.

They take channel-first images (C, I, J, K) -- ``MetaTensor`` as ``LoadImaged`` +
``EnsureChannelFirstd`` give them, plain tensors or arrays (identity affine) -- on CPU or
CUDA, and return a ``MetaTensor`` of the same device with the slice axis of the new length
and its affine moved to the thick slice positions (:func:`t2tcore.pipelines.arrays.simulate_array`).
Other meta data are kept; the settings are added as ``t2t_method``, ``t2t_thickness``,
``t2t_interval`` and ``t2t_offset`` (mm). The output grid differs from the input's, so use
them before patch sampling, or bring the thick image back onto the thin grid by its affine
(``ResampleToMatchd(keys="image", key_dst="label")``: linear along z, in mm).

The transforms are not invertible (thick slices lose detail) and record nothing in
``applied_operations``. Importing this module imports MONAI.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from monai.config import KeysCollection
from monai.data import MetaTensor
from monai.data.meta_obj import get_track_meta
from monai.transforms import MapTransform, RandomizableTransform, Transform
from monai.utils import TransformBackends
from monai.utils.type_conversion import convert_to_tensor

from t2tcore.pipelines.arrays import simulate_array

__all__ = ["SimulateThick", "SimulateThickd", "RandSimulateThick", "RandSimulateThickd"]


class SimulateThick(Transform):
    """Thick slices from a thin channel-first image (the paper's method by default).

    Parameters
    ----------
    thickness : float
        Thick slice thickness (mm).
    interval : float, optional
        Distance between thick slices (mm); default ``thickness`` (contiguous slices).
        Not used by the index-based methods.
    method : str
        ``proposed`` (Algorithms 1 and 2), ``gaussian_z``, ``calibrated`` (with ``profile``),
        or the baselines ``direct``, ``average``, ``gaussian``.
    offset : float
        Start of Algorithm 1's grid after the first thin slice (mm); 0 is ``t2t simulate``'s.
    thin_thickness : float, optional
        Thin slice thickness (mm) for the index-based methods (default: the slice spacing).
    sigma : float
        In-plane blur of ``gaussian`` (pixels).
    profile : SliceProfile or path, optional
        A slice profile measured by ``t2t calibrate`` (``method="calibrated"``).
    slice_axis : {0, 1, 2}
        Spatial axis of the slices (default 2: K, as ``t2t`` reads NIfTI).

    Examples
    --------
    >>> from monai.transforms import Compose, LoadImaged, EnsureChannelFirstd  # doctest: +SKIP
    >>> from t2tcore.pipelines.monai import SimulateThickd  # doctest: +SKIP
    >>> load = Compose([LoadImaged("image"), EnsureChannelFirstd("image"),
    ...                 SimulateThickd("image", thickness=3, interval=2)])  # doctest: +SKIP
    """

    backend = [TransformBackends.TORCH, TransformBackends.NUMPY]

    def __init__(
        self,
        thickness: float,
        interval: float | None = None,
        method: str = "proposed",
        offset: float = 0.0,
        thin_thickness: float | None = None,
        sigma: float = 1.0,
        profile: Any = None,
        slice_axis: int = 2,
    ) -> None:
        if method == "calibrated" and profile is None:
            raise ValueError("method 'calibrated' needs profile= (a SliceProfile or its JSON path)")
        self.thickness = float(thickness)
        self.interval = None if interval is None else float(interval)
        self.method = method
        self.offset = float(offset)
        self.thin_thickness = thin_thickness
        self.sigma = float(sigma)
        self.profile = profile
        self.slice_axis = slice_axis

    def __call__(
        self,
        img: Any,
        thickness: float | None = None,
        interval: float | None = None,
        offset: float | None = None,
    ) -> torch.Tensor:
        """Simulate ``img`` (C, I, J, K); ``thickness``, ``interval``, ``offset`` replace the constructor's."""
        t = self.thickness if thickness is None else float(thickness)
        d = interval if interval is not None else (self.interval if self.interval is not None else t)
        o = self.offset if offset is None else float(offset)
        img = convert_to_tensor(img, track_meta=get_track_meta())
        affine = img.affine if isinstance(img, MetaTensor) else torch.eye(4, dtype=torch.float64)
        data = img.as_tensor() if isinstance(img, MetaTensor) else img
        thick, new_affine, _ = simulate_array(
            data, affine, t, d, self.method, offset=o, thin_thickness=self.thin_thickness, sigma=self.sigma,
            profile=self.profile, slice_axis=self.slice_axis,
        )
        if not isinstance(img, MetaTensor):
            return thick
        out = MetaTensor(thick, meta=dict(img.meta), applied_operations=list(img.applied_operations))
        out.affine = torch.as_tensor(new_affine, dtype=torch.float64)
        out.meta.update(t2t_method=self.method, t2t_thickness=t, t2t_interval=float(d), t2t_offset=o)
        return out


class SimulateThickd(MapTransform):
    """Dictionary version of :class:`SimulateThick`: the same simulation for every key.

    Parameters
    ----------
    keys : str or sequence of str
        Keys of the images to simulate (e.g. ``"image"``; keep a thin copy under another key).
    allow_missing_keys : bool
        Do not raise when a key is missing.
    **kwargs
        See :class:`SimulateThick`.
    """

    backend = SimulateThick.backend

    def __init__(self, keys: KeysCollection, thickness: float, interval: float | None = None,
                 method: str = "proposed", offset: float = 0.0, thin_thickness: float | None = None,
                 sigma: float = 1.0, profile: Any = None, slice_axis: int = 2,
                 allow_missing_keys: bool = False) -> None:
        super().__init__(keys, allow_missing_keys)
        self.simulate = SimulateThick(thickness, interval, method, offset, thin_thickness, sigma, profile, slice_axis)

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        d = dict(data)
        for key in self.key_iterator(d):
            d[key] = self.simulate(d[key])
        return d


def _range(value: float | Sequence[float] | None, name: str) -> tuple[float, float] | None:
    if value is None:
        return None
    lo, hi = (value, value) if np.isscalar(value) else tuple(value)
    lo, hi = float(lo), float(hi)
    if not (0 <= lo <= hi < float("inf")):
        raise ValueError(f"{name} must be a number or a range (low, high) with 0 <= low <= high, got {value}")
    return lo, hi


class RandSimulateThick(RandomizableTransform):
    """:class:`SimulateThick` with thickness, interval and grid start drawn for every image.

    Parameters
    ----------
    prob : float
        Probability of simulating (default 1: every sample is thick; otherwise it stays thin).
    thickness : float or (float, float)
        Thickness (mm) or the range it is drawn from (uniform); default 2 to 5 mm.
    interval : float or (float, float), optional
        Interval (mm) or its range; default the drawn thickness (contiguous slices).
    offset : float or (float, float), optional
        Start of Algorithm 1's grid after the first thin slice (mm) or its range; default
        uniform in [0, interval): every phase of the grid against the thin slices.
    method, thin_thickness, sigma, profile, slice_axis
        See :class:`SimulateThick`.
    """

    backend = SimulateThick.backend

    def __init__(self, prob: float = 1.0, thickness: float | Sequence[float] = (2.0, 5.0),
                 interval: float | Sequence[float] | None = None, offset: float | Sequence[float] | None = None,
                 method: str = "proposed", thin_thickness: float | None = None, sigma: float = 1.0,
                 profile: Any = None, slice_axis: int = 2) -> None:
        RandomizableTransform.__init__(self, prob)
        self.thickness_range = _range(thickness, "thickness")
        if self.thickness_range[0] <= 0:
            raise ValueError(f"thickness must be > 0 mm, got {thickness}")
        self.interval_range = _range(interval, "interval")
        self.offset_range = _range(offset, "offset")
        self.simulate = SimulateThick(self.thickness_range[0], None, method, 0.0, thin_thickness, sigma, profile,
                                      slice_axis)
        self.params: tuple[float, float, float] = (self.thickness_range[0], self.thickness_range[0], 0.0)

    def randomize(self, data: Any = None) -> None:
        """Draw (thickness, interval, offset) in mm, and whether to simulate at all."""
        super().randomize(None)
        if not self._do_transform:
            return
        t = self.R.uniform(*self.thickness_range)
        d = self.R.uniform(*self.interval_range) if self.interval_range is not None else t
        o = self.R.uniform(*self.offset_range) if self.offset_range is not None else self.R.uniform(0.0, d)
        self.params = (float(t), float(d), float(o))

    def __call__(self, img: Any, randomize: bool = True) -> torch.Tensor:
        if randomize:
            self.randomize()
        if not self._do_transform:
            return convert_to_tensor(img, track_meta=get_track_meta())
        t, d, o = self.params
        return self.simulate(img, thickness=t, interval=d, offset=o)


class RandSimulateThickd(RandomizableTransform, MapTransform):
    """Dictionary version of :class:`RandSimulateThick`: one draw per sample, applied to every key.

    Parameters
    ----------
    keys : str or sequence of str
    prob, thickness, interval, offset, method, thin_thickness, sigma, profile, slice_axis
        See :class:`RandSimulateThick`.
    allow_missing_keys : bool
    """

    backend = SimulateThick.backend

    def __init__(self, keys: KeysCollection, prob: float = 1.0, thickness: float | Sequence[float] = (2.0, 5.0),
                 interval: float | Sequence[float] | None = None, offset: float | Sequence[float] | None = None,
                 method: str = "proposed", thin_thickness: float | None = None, sigma: float = 1.0,
                 profile: Any = None, slice_axis: int = 2, allow_missing_keys: bool = False) -> None:
        MapTransform.__init__(self, keys, allow_missing_keys)
        RandomizableTransform.__init__(self, prob)
        self.rand = RandSimulateThick(1.0, thickness, interval, offset, method, thin_thickness, sigma, profile,
                                      slice_axis)

    def set_random_state(self, seed: int | None = None, state: np.random.RandomState | None = None):
        super().set_random_state(seed, state)
        self.rand.set_random_state(seed, state)
        return self

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        d = dict(data)
        self.randomize(None)
        if self._do_transform:
            self.rand.randomize()
        for key in self.key_iterator(d):
            if self._do_transform:
                d[key] = self.rand(d[key], randomize=False)
            else:
                d[key] = convert_to_tensor(d[key], track_meta=get_track_meta())
        return d
