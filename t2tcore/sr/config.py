"""What one SR training run is: :class:`TrainConfig` (model, simulation, effort, seeds) and :class:`Scaling`.

A config is plain data: JSON-serialisable (:meth:`TrainConfig.to_dict`), stored in every
checkpoint, and hashed (:meth:`TrainConfig.key`) to name cached models. It says nothing
about *which* thin series are used: that is the training data, recorded beside it.

Slice thickness and interval of the simulated training inputs may be

* one number (mm) for every thin series,
* a list, one number per thin series (a cohort whose thick series vary), or
* a range ``{"range": [lo, hi]}``: each thin series gets one value drawn uniformly from it
  with the config's seed (rounded to 0.01 mm).

:func:`realise` turns such a spec into one value per series; the realised values are what a
checkpoint records, and the thinnest one is the thinnest thick series the model accepts.

Intensity scaling (:class:`Scaling`): the network sees ``(HU - centre) / half_width`` with a
fixed window (default -1000..1000 HU -> -1..1), the same map for input and target, unclipped,
and outputs are mapped back to HU by the inverse. The paper's released code scales every
volume by its *own* minimum and maximum (MONAI ``ScaleIntensity(-1, 1)``); a target scaled by
its own extremes cannot be unscaled at test time (its extremes are unknown), so we use one
fixed, invertible map instead.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import numpy as np

from t2tcore.simulation.simulate import METHODS, PROFILE_METHODS

__all__ = ["INDEX_METHODS", "MODEL_NAMES", "PRESET_NAMES", "SR_METHODS", "Scaling", "TrainConfig", "realise", "spec_min"]

#: Models known to :mod:`t2tcore.sr.models` (kept here too so a config can be checked cheaply).
MODEL_NAMES = ("vdsr", "unet", "esrresnet", "esrgan")
PRESET_NAMES = ("small", "paper")

#: Index-based simulations: brought to the thin grid by the naive pipeline (:mod:`t2tcore.sr.pairs`).
INDEX_METHODS = ("direct", "average", "gaussian")

#: Every way of making training thick slices: the simulation methods of
#: :mod:`t2tcore.simulation` plus the ablation ``placed_average`` (:mod:`t2tcore.sr.pairs`).
SR_METHODS = (*METHODS, *PROFILE_METHODS, "placed_average")


@dataclass(frozen=True)
class Scaling:
    """Linear map between HU and the network's units: ``u = (hu - centre) / half_width``.

    Parameters
    ----------
    lo, hi : float
        HU values that map to -1 and +1 (default -1000 and 1000). Values outside are not
        clipped.
    """

    lo: float = -1000.0
    hi: float = 1000.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lo) and math.isfinite(self.hi) and self.hi > self.lo):
            raise ValueError(f"scaling needs finite lo < hi, got lo={self.lo}, hi={self.hi}")

    @property
    def centre(self) -> float:
        return 0.5 * (self.lo + self.hi)

    @property
    def half_width(self) -> float:
        return 0.5 * (self.hi - self.lo)

    def forward(self, hu: Any) -> Any:
        """HU -> network units (numpy array or torch tensor; a new array, float32 for numpy)."""
        if isinstance(hu, np.ndarray):
            out = np.subtract(hu, np.float32(self.centre), dtype=np.float32)
            out /= np.float32(self.half_width)
            return out
        return (hu - self.centre) / self.half_width

    def inverse(self, units: Any) -> Any:
        """Network units -> HU (numpy array or torch tensor; a new array, float32 for numpy)."""
        if isinstance(units, np.ndarray):
            out = np.multiply(units, np.float32(self.half_width), dtype=np.float32)
            out += np.float32(self.centre)
            return out
        return units * self.half_width + self.centre

    def to_dict(self) -> dict:
        return {"lo": float(self.lo), "hi": float(self.hi)}


def _check_mm(value: Any, name: str) -> float:
    v = float(value)
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be a positive number of mm, got {value!r}")
    return v


def _norm_spec(spec: Any, name: str) -> Any:
    """A thickness/interval spec as JSON data: None, a float, a list of floats or {"range": [lo, hi]}."""
    if spec is None:
        return None
    if isinstance(spec, dict):
        if set(spec) != {"range"} or len(spec["range"]) != 2:
            raise ValueError(f"{name}: a range is {{'range': [lo, hi]}}, got {spec!r}")
        lo, hi = (_check_mm(v, name) for v in spec["range"])
        if hi < lo:
            raise ValueError(f"{name}: range [{lo}, {hi}] has lo > hi")
        return {"range": [lo, hi]}
    if isinstance(spec, (list, tuple, np.ndarray)):
        values = [_check_mm(v, name) for v in spec]
        if not values:
            raise ValueError(f"{name}: empty list")
        return values
    return _check_mm(spec, name)


def realise(spec: Any, n: int, seed: int, name: str = "thickness") -> list[float] | None:
    """One value (mm) per thin series from a thickness/interval spec.

    Parameters
    ----------
    spec : None, float, list of float or {"range": [lo, hi]}
        See the module docstring.
    n : int
        Number of thin series.
    seed : int
        Seed of the draws from a range (a different stream for thickness and interval).
    name : str
        ``"thickness"`` or ``"interval"`` (messages, and the draw's stream).

    Returns
    -------
    list of float, or None for a None spec
    """
    spec = _norm_spec(spec, name)
    if spec is None:
        return None
    if isinstance(spec, float):
        return [spec] * n
    if isinstance(spec, list):
        if len(spec) != n:
            raise ValueError(f"{name}: {len(spec)} values given for {n} thin series (one per series)")
        return list(spec)
    lo, hi = spec["range"]
    rng = np.random.default_rng([int(seed), 7 if name == "thickness" else 11])
    return [round(float(v), 2) for v in rng.uniform(lo, hi, size=n)]


def spec_min(spec: Any) -> float | None:
    """Smallest value a thickness/interval spec can give (None for None)."""
    spec = _norm_spec(spec, "spec")
    if spec is None:
        return None
    if isinstance(spec, float):
        return spec
    if isinstance(spec, list):
        return min(spec)
    return spec["range"][0]


#: What a config stored without the newer fields meant (read by :meth:`TrainConfig.from_dict`).
_LEGACY = {"schedule": "constant", "early_stop": False, "min_lr_ratio": 1.0}


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines one SR training run but the data.

    Attributes
    ----------
    model : {"vdsr", "unet", "esrresnet", "esrgan"}
    preset : {"small", "paper"}
        Model size (:mod:`t2tcore.sr.models`).
    method : str
        How the training thick slices are simulated (:data:`t2tcore.sr.pairs.SR_METHODS`).
    thickness, interval : float, list of float or {"range": [lo, hi]}
        Simulated thick slice thickness and interval, mm (see the module docstring).
        ``interval`` is not used by the index-based methods (direct, average, gaussian).
    profile : dict, optional
        ``method="calibrated"``: the measured slice profile (``ZProfile.to_dict()``).
    sigma : float
        In-plane blur (pixels) of ``method="gaussian"``.
    patch : (int, int, int)
        Patch size (z, y, x) in thin voxels.
    batch : int
        Global batch size (patches per step, over all data-parallel processes).
    steps : int
        Step cap: optimiser steps at most (training stops earlier when it has converged and
        ``early_stop`` is on; :mod:`t2tcore.sr.convergence`).
    lr : float
        Adam's peak learning rate (the paper: 1e-4).
    schedule : {"cosine", "constant"}
        Learning rate after the warm-up: a half cosine down to ``min_lr_ratio * lr`` at the
        step cap, or constant (:func:`t2tcore.sr.convergence.lr_factor`).
    warmup : int
        Steps of linear learning-rate warm-up.
    min_lr_ratio : float
        Final learning rate of the cosine, relative to ``lr``.
    seed : int
        Seeds the initial weights, the patch stream and any thickness range draws.
    val_seed : int
        Seeds which patients are held out and the fixed validation patches (the same for every
        ``seed``, so the runs of several seeds are judged on the same patches).
    adv_weight : float
        ESRGAN only: weight of the relativistic adversarial loss added to the L2 loss.
    body_fraction : float
        Fraction of patches centred on a body voxel (the rest anywhere).
    flip : bool
        Random left-right flips (the paper's only augmentation).
    scaling : Scaling
        HU <-> network units.
    n_val : int, optional
        Patients held out for the validation loss (default: 1 in 8, at least 1 when there
        are 2 or more patients, 0 with one patient).
    val_every : int
        Steps between validation losses (and at the last step).
    val_patches : int
        Fixed validation patches.
    converge_tol, converge_window, converge_smooth : float, float, int
        The convergence rule (:func:`t2tcore.sr.convergence.check`): converged when the
        validation loss, smoothed over ``converge_smooth`` evaluations, improved by less than
        ``converge_tol`` (with its noise) over the last ``converge_window`` of the steps.
    min_steps : int
        No early stop before this step.
    early_stop : bool
        Stop at the first evaluation that finds the run converged.
    precision : {"auto", "fp32", "bf16"}
        Arithmetic (:mod:`t2tcore.sr.precision`; "auto": bf16 where the device computes it
        natively, else fp32).
    init_from : str, optional
        Key of the checkpoint the generator starts from (ESRGAN from an ESRResNet, as ESRGAN
        itself is trained); the weights are passed to the trainer, the key is recorded.
    """

    model: str = "vdsr"
    preset: str = "small"
    method: str = "proposed"
    thickness: Any = 3.0
    interval: Any = 2.0
    profile: dict | None = None
    sigma: float = 1.0
    patch: tuple[int, int, int] = (16, 48, 48)
    batch: int = 4
    steps: int = 200
    lr: float = 1e-4
    schedule: str = "cosine"
    warmup: int = 0
    min_lr_ratio: float = 0.02
    seed: int = 0
    val_seed: int = 0
    adv_weight: float = 1e-3
    body_fraction: float = 0.9
    flip: bool = True
    scaling: Scaling = field(default_factory=Scaling)
    n_val: int | None = None
    val_every: int = 50
    val_patches: int = 16
    converge_tol: float = 0.02
    converge_window: float = 0.25
    converge_smooth: int = 3
    min_steps: int = 0
    early_stop: bool = True
    precision: str = "auto"
    init_from: str | None = None

    def __post_init__(self) -> None:
        if self.model not in MODEL_NAMES:
            raise ValueError(f"model must be one of {MODEL_NAMES}, got {self.model!r}")
        if self.preset not in PRESET_NAMES:
            raise ValueError(f"preset must be one of {PRESET_NAMES}, got {self.preset!r}")
        if self.method not in SR_METHODS:
            raise ValueError(f"method must be one of {SR_METHODS}, got {self.method!r}")
        object.__setattr__(self, "thickness", _norm_spec(self.thickness, "thickness"))
        object.__setattr__(self, "interval", _norm_spec(self.interval, "interval"))
        if self.thickness is None:
            raise ValueError("thickness is required")
        if self.interval is None and self.method not in INDEX_METHODS:
            raise ValueError(f"interval is required for method {self.method!r}")
        if self.method == "calibrated" and self.profile is None:
            raise ValueError("method 'calibrated' needs profile (a ZProfile dict)")
        if self.method != "calibrated" and self.profile is not None:
            raise ValueError(f"profile is only used by method 'calibrated', not {self.method!r}")
        patch = tuple(int(p) for p in self.patch)
        if len(patch) != 3 or min(patch) < 4:
            raise ValueError(f"patch must be 3 sizes (z, y, x) of at least 4 voxels, got {self.patch!r}")
        object.__setattr__(self, "patch", patch)
        for name in ("batch", "steps", "val_every", "val_patches", "converge_smooth"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        for name in ("warmup", "min_steps"):
            if int(getattr(self, name)) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr must be > 0, got {self.lr!r}")
        if self.schedule not in ("cosine", "constant"):
            raise ValueError(f"schedule must be 'cosine' or 'constant', got {self.schedule!r}")
        if not 0.0 <= self.min_lr_ratio <= 1.0:
            raise ValueError(f"min_lr_ratio must be in [0, 1], got {self.min_lr_ratio!r}")
        if not (self.converge_tol > 0 and 0.0 < self.converge_window < 1.0):
            raise ValueError(f"need converge_tol > 0 and 0 < converge_window < 1, got {self.converge_tol!r}, "
                             f"{self.converge_window!r}")
        if self.precision not in ("auto", "fp32", "bf16"):
            raise ValueError(f"precision must be 'auto', 'fp32' or 'bf16', got {self.precision!r}")
        if not 0.0 <= self.body_fraction <= 1.0:
            raise ValueError(f"body_fraction must be in [0, 1], got {self.body_fraction!r}")
        if self.adv_weight < 0:
            raise ValueError(f"adv_weight must be >= 0, got {self.adv_weight!r}")
        if self.n_val is not None and int(self.n_val) < 0:
            raise ValueError(f"n_val must be >= 0, got {self.n_val!r}")
        if isinstance(self.scaling, dict):
            object.__setattr__(self, "scaling", Scaling(**self.scaling))

    # ---------------------------------------------------------------- serialisation

    def to_dict(self) -> dict:
        """JSON data (what checkpoints store and :meth:`key` hashes)."""
        d = asdict(self)
        d["patch"] = list(self.patch)
        d["scaling"] = self.scaling.to_dict()
        return d

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        """Inverse of :meth:`to_dict` (unknown keys are an error)."""
        known = {f.name for f in fields(cls)}
        extra = set(data) - known
        if extra:
            raise ValueError(f"unknown training config keys: {sorted(extra)}")
        # configs written before the schedule and the convergence rule existed trained at a
        # constant learning rate to the end
        d = {**_LEGACY, **data} if "schedule" not in data else dict(data)
        if "scaling" in d and isinstance(d["scaling"], dict):
            d["scaling"] = Scaling(**d["scaling"])
        if "patch" in d:
            d["patch"] = tuple(d["patch"])
        return cls(**d)

    def replace(self, **changes: Any) -> "TrainConfig":
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def key(self, *extra: Any) -> str:
        """SHA-256 (hex) of the config and any ``extra`` JSON data (e.g. a data fingerprint)."""
        blob = json.dumps([self.to_dict(), *extra], sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()

    @property
    def min_thickness(self) -> float:
        """The thinnest simulated thick slices this config can make (mm)."""
        return float(spec_min(self.thickness))

    def describe(self) -> str:
        """Short text such as ``"vdsr/small on proposed 3mm/2mm"``."""

        def fmt(spec: Any) -> str:
            if spec is None:
                return "-"
            if isinstance(spec, float):
                return f"{spec:g}mm"
            if isinstance(spec, list):
                return f"{min(spec):g}-{max(spec):g}mm"
            return f"{spec['range'][0]:g}-{spec['range'][1]:g}mm"

        return f"{self.model}/{self.preset} on {self.method} {fmt(self.thickness)}/{fmt(self.interval)}"

