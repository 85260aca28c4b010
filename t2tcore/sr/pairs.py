"""Training pairs for SR: (input, target) 3-D patches from thin series.

The target is the thin volume. The input is a thick volume simulated from it and brought
back onto the thin grid. How it is brought back is the point of this module:

**One input pipeline for real and simulated thick slices** (:func:`to_thin_grid`)
    The thick slices are interpolated *linearly along z, in mm*, to the thin slice positions;
    in-plane nothing changes. At test time a real thick series goes through exactly this
    function (:func:`t2tcore.sr.infer.apply_model`), so a model sees the same kind of input
    in training and in use; the pipelines below differ only in how the training thick slices
    were made. (The paper says it interpolated trilinearly; with the in-plane grid unchanged,
    trilinear interpolation onto the thin grid *is* linear interpolation along z, which is
    what we do, in mm: :func:`t2tcore.evaluation.fidelity.resample_z`.)
**Position-based simulations** (``proposed``, ``gaussian_z``, ``calibrated``)
    Thick slices at the positions of Algorithm 1 (first thin position, then every
    ``interval`` mm), weighted along z (:func:`t2tcore.simulation.simulate_thick`), then
    :func:`to_thin_grid`.
**The naive pipeline, as naive users run it** (``direct``, ``average``, ``gaussian``)
    Index groups of ``k = round(thickness / thin thickness)`` thin slices
    (:func:`t2tcore.simulation.simulate_thick` with an index method), and the stack is brought
    back to the thin grid *by the index ratio*: thick slice ``i`` is taken to sit at thin index
    ``k*i + (k - 1)/2`` and the thin slices in between are linear mixtures by index
    (:func:`naive_to_thin_grid`; this is ``torch.nn.functional.interpolate(...,
    scale_factor=k, mode="trilinear", align_corners=False)`` along z). So a 1 mm / 0.8 mm
    series averaged by threes is placed on a 2.4 mm grid, although a real 3 mm thick series
    of that scanner is on a 2 mm grid.
**The ablation** ``placed_average``
    The same averaging weights placed at the correct physical positions: a box of width
    ``k * spacing`` mm (the z-span a group of ``k`` thin slices covers), each thin slice
    weighted by the overlap of its own ``spacing``-wide cell with the box (on the thin grid:
    exactly the naive ``1/k`` weights; half-way between thin slices: ``1/2, 1, 1, 1/2``
    normalised), at the positions of Algorithm 1 every ``interval`` mm, then
    :func:`to_thin_grid`. Naive vs ``placed_average`` isolates what position correction buys;
    ``placed_average`` vs ``proposed`` what triangular weighting buys.

Only thin slices inside the range the simulated thick slices cover are used as targets
(nothing is extrapolated in training).

Patches (:class:`PatchDataset`) are drawn from seeded generators, one per patch index, so
patch ``i`` is the same whatever process, worker or resume draws it; with probability
``body_fraction`` a patch is centred on a voxel of the body (:func:`t2tcore.masks.body_mask`
of the thin volume), otherwise anywhere; a patch is flipped left-right with probability 1/2
(the paper's only augmentation). Intensities are scaled by the config's
:class:`~t2tcore.sr.config.Scaling`.

Positions and thicknesses are in mm, volumes float32 HU of shape (Z, Y, X).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from t2tcore.evaluation.fidelity import resample_z
from t2tcore.masks import body_mask
from t2tcore.simulation import Kernel, apply_weights, simulate_thick, thick_positions, weight_matrix
from t2tcore.sr.config import INDEX_METHODS, SR_METHODS, Scaling, TrainConfig, realise
from t2tcore.sr.errors import SRInputError

__all__ = [
    "INDEX_METHODS",
    "SR_METHODS",
    "PairVolume",
    "PatchDataset",
    "ThinSeries",
    "box_kernel",
    "group_size",
    "make_pair",
    "make_pairs",
    "naive_positions",
    "naive_to_thin_grid",
    "simulate_input",
    "split_patients",
    "to_thin_grid",
]

# Body voxels kept per series as patch centres (a seeded subset beyond this).
_MAX_CENTRES = 200_000


# --------------------------------------------------------------------------------------
# The input pipelines
# --------------------------------------------------------------------------------------


def to_thin_grid(volume: Any, positions: Any, thin_positions: Any, *, outside: str = "raise") -> np.ndarray:
    """The one input pipeline: thick slices interpolated linearly along z (mm) to thin positions.

    Parameters
    ----------
    volume : array_like, shape (Zt, Y, X)
        Thick slices, HU (real or simulated).
    positions : array_like, shape (Zt,)
        Their positions, mm.
    thin_positions : array_like, shape (Z,)
        Where the model's input slices go (mm): the thin grid.
    outside : {"raise", "clamp"}
        Thin positions outside the thick range: an error, or the nearest end slice.

    Returns
    -------
    ndarray, shape (Z, Y, X), float32
    """
    return resample_z(volume, positions, thin_positions, outside=outside)


def group_size(thickness: float, thin_thickness: float) -> int:
    """``k = round(thickness / thin_thickness)`` (halves round up, at least 1), as the index methods use."""
    if not (thickness > 0 and thin_thickness > 0):
        raise ValueError(f"thicknesses must be > 0, got {thickness} and {thin_thickness}")
    return max(1, int(math.floor(thickness / thin_thickness + 0.5)))


def naive_positions(n_thick: int, k: int) -> np.ndarray:
    """Thin *indices* at which the naive pipeline places thick slices: ``k*i + (k - 1)/2``."""
    if n_thick < 1 or k < 1:
        raise ValueError(f"need n_thick >= 1 and k >= 1, got {n_thick} and {k}")
    return k * np.arange(n_thick, dtype=np.float64) + (k - 1) / 2.0


def naive_to_thin_grid(stack: Any, k: int, n_thin: int) -> np.ndarray:
    """An index-group stack brought back to the thin grid by the index ratio.

    Thick slice ``i`` sits at thin index ``k*i + (k - 1)/2`` (:func:`naive_positions`); thin
    slice ``j`` is the linear mixture (by index) of the two thick slices around ``j``; thin
    slices before the first or after the last centre take the end slice. For ``n_thin ==
    k * n_thick`` this equals ``torch.nn.functional.interpolate(stack[None, None],
    scale_factor=(k, 1, 1), mode="trilinear", align_corners=False)[0, 0]``.

    Parameters
    ----------
    stack : array_like, shape (n_thick, Y, X)
    k : int
        Group size.
    n_thin : int
        Slices of the thin grid.

    Returns
    -------
    ndarray, shape (n_thin, Y, X), float32
    """
    stack = np.asarray(stack)
    if stack.ndim != 3:
        raise ValueError(f"stack must be (n_thick, Y, X), got shape {stack.shape}")
    if int(n_thin) < 1:
        raise ValueError(f"n_thin must be >= 1, got {n_thin}")
    at = naive_positions(stack.shape[0], int(k))
    return resample_z(stack, at, np.arange(int(n_thin), dtype=np.float64), outside="clamp")


def box_kernel(width: float, cell: float) -> Kernel:
    """A box of ``width`` mm seen by slices of ``cell`` mm: weight = overlap of the slice's cell with the box.

    The weight of a thin slice at distance ``dz`` from the box centre is the length of
    ``[dz - cell/2, dz + cell/2] ∩ [-width/2, width/2]`` (mm). With ``width = k * cell`` and
    the centre on a thin slice, the ``k`` nearest slices get equal weight (simple averaging).

    Parameters
    ----------
    width, cell : float
        Box width and thin slice spacing, mm (> 0).

    Returns
    -------
    t2tcore.simulation.Kernel
    """
    w, c = float(width), float(cell)
    if not (w > 0 and c > 0):
        raise ValueError(f"width and cell must be > 0, got {width} and {cell}")

    def overlap(a: np.ndarray) -> np.ndarray:
        return np.clip(np.minimum(a + c / 2, w / 2) - np.maximum(a - c / 2, -w / 2), 0.0, None)

    return Kernel(overlap, w / 2 + c / 2, f"box(width={w:g} mm, cell={c:g} mm)")


def simulate_input(
    thin_volume: Any,
    thin_positions: Any,
    method: str,
    thickness: float,
    interval: float | None = None,
    *,
    thin_thickness: float | None = None,
    profile: Any = None,
    sigma: float = 1.0,
) -> tuple[np.ndarray, slice, dict]:
    """A simulated thick volume on the thin grid: the training input of one thin series.

    Parameters
    ----------
    thin_volume : array_like, shape (Z, Y, X)
        Thin slices, HU, in ascending position order.
    thin_positions : array_like, shape (Z,)
        Ascending, mm.
    method : str
        One of :data:`SR_METHODS` (see the module docstring).
    thickness : float
        Simulated slice thickness, mm.
    interval : float, optional
        Simulated slice interval, mm (position-based methods and ``placed_average``).
    thin_thickness : float, optional
        Thin SliceThickness (mm) for ``k`` of the index methods and ``placed_average``;
        default the median spacing.
    profile : ZProfile or dict, optional
        ``calibrated`` only.
    sigma : float
        ``gaussian`` only: in-plane blur in pixels.

    Returns
    -------
    inp : ndarray, shape (Z', Y, X), float32
        The input on the thin slices ``covered``.
    covered : slice
        The thin slices (indices) that have an input: targets are ``thin_volume[covered]``.
    info : dict
        ``n_thick``, ``k`` (index methods), ``thick_positions`` (mm, position-based) or
        ``thick_indices`` (thin indices, naive).
    """
    if method not in SR_METHODS:
        raise ValueError(f"method must be one of {SR_METHODS}, got {method!r}")
    vol = np.asarray(thin_volume)
    pos = np.asarray(thin_positions, dtype=np.float64).reshape(-1)
    if vol.ndim != 3 or pos.size != vol.shape[0]:
        raise ValueError(f"thin volume {vol.shape} and {pos.size} positions do not match")
    if pos.size < 2 or np.any(np.diff(pos) <= 0):
        raise ValueError("thin positions must be ascending and hold at least 2 slices")
    spacing = float(np.median(np.diff(pos)))
    t_thin = float(thin_thickness) if thin_thickness else spacing
    if method in INDEX_METHODS:
        k = group_size(thickness, t_thin)
        stack, _ = simulate_thick(vol, pos, thickness, method=method, thin_thickness=t_thin, sigma=sigma)
        at = naive_positions(stack.shape[0], k)
        lo, hi = int(math.ceil(at[0])), int(math.floor(at[-1])) + 1
        if hi - lo < 1:
            raise SRInputError(f"{pos.size} thin slices make no thick slice with k = {k}")
        inp = resample_z(stack, at, np.arange(lo, hi, dtype=np.float64))
        return inp, slice(lo, hi), {"n_thick": int(stack.shape[0]), "k": k, "thick_indices": at}
    if interval is None:
        raise ValueError(f"method {method!r} needs an interval (mm)")
    if method == "placed_average":
        k = group_size(thickness, t_thin)
        tpos = thick_positions(pos[0], pos[-1], interval)
        w = weight_matrix(pos, tpos, box_kernel(k * spacing, spacing))
        thick = apply_weights(vol, w)
        info = {"n_thick": int(tpos.size), "k": k, "thick_positions": tpos}
    else:
        thick, tpos = simulate_thick(vol, pos, thickness, interval, method=method, profile=profile)
        tpos = np.asarray(tpos, dtype=np.float64)
        info = {"n_thick": int(tpos.size), "thick_positions": tpos}
    lo = int(np.searchsorted(pos, tpos[0] - 1e-6, side="left"))
    hi = int(np.searchsorted(pos, tpos[-1] + 1e-6, side="right"))
    if hi - lo < 1:
        raise SRInputError("no thin slice lies inside the simulated thick slices' range")
    inp = resample_z(thick, tpos, pos[lo:hi])
    return inp, slice(lo, hi), info


# --------------------------------------------------------------------------------------
# Series and pair volumes
# --------------------------------------------------------------------------------------


@dataclass
class ThinSeries:
    """A thin series as training data: volume, positions and who it is.

    Attributes
    ----------
    volume : ndarray, shape (Z, Y, X), float32
        HU, ascending positions.
    positions : ndarray, shape (Z,), float64
        mm.
    thickness : float
        SliceThickness (mm; the median spacing when the header has none).
    patient : str
        Patient ID (held-out validation patients are chosen by it).
    uid : str
        SeriesInstanceUID (or another identifier).
    centres : ndarray of int64, optional
        Flat indices of body voxels (patch centres); made by :func:`make_pair` when missing.
    """

    volume: np.ndarray
    positions: np.ndarray
    thickness: float
    patient: str = ""
    uid: str = ""
    centres: np.ndarray | None = None

    @classmethod
    def from_series(cls, series: Any) -> "ThinSeries":
        """From a :class:`t2tcore.io.Series` (or anything with ``volume``, ``positions``, ``thickness``)."""
        if isinstance(series, cls):
            return series
        vol = np.asarray(series.volume, dtype=np.float32)
        pos = np.asarray(series.positions, dtype=np.float64)
        t = getattr(series, "thickness", None)
        if not t:
            t = float(np.median(np.diff(pos))) if pos.size > 1 else 1.0
        hdr = getattr(series, "header", None)
        patient = str(hdr.get("PatientID", "")) if hdr is not None else ""
        uid = getattr(series, "series_uid", None) or ""
        return cls(vol, pos, float(t), patient, str(uid))

    def fingerprint(self) -> str:
        """BLAKE2 hash of the voxels and positions (identifies the data a model was trained on)."""
        import hashlib

        h = hashlib.blake2b(digest_size=16)
        h.update(np.ascontiguousarray(self.positions, dtype=np.float64).tobytes())
        h.update(str(self.volume.shape).encode())
        h.update(np.ascontiguousarray(self.volume).tobytes())
        return h.hexdigest()


@dataclass
class PairVolume:
    """One thin series with its simulated input on the thin grid.

    Attributes
    ----------
    input, target : ndarray, shape (Z', Y, X), float32
        HU.
    centres : ndarray of int64
        Flat indices (into ``target``) of body voxels, patch centres.
    thickness, interval : float or None
        The simulated thickness and interval, mm.
    patient, uid : str
    """

    input: np.ndarray
    target: np.ndarray
    centres: np.ndarray
    thickness: float
    interval: float | None
    patient: str = ""
    uid: str = ""


def _body_centres(volume: np.ndarray, seed: int) -> np.ndarray:
    idx = np.flatnonzero(body_mask(volume)).astype(np.int64)
    if idx.size > _MAX_CENTRES:
        rng = np.random.default_rng([int(seed), 3])
        idx = np.sort(rng.choice(idx, _MAX_CENTRES, replace=False))
    return idx


def make_pair(
    thin: ThinSeries,
    method: str,
    thickness: float,
    interval: float | None,
    *,
    profile: Any = None,
    sigma: float = 1.0,
    patch: Sequence[int] = (1, 1, 1),
    seed: int = 0,
) -> PairVolume:
    """Simulate one thin series' training input (:func:`simulate_input`) and find its body voxels.

    Raises
    ------
    SRInputError
        If the covered part of the series is smaller than one patch.
    """
    inp, cov, _ = simulate_input(
        thin.volume, thin.positions, method, thickness, interval, thin_thickness=thin.thickness,
        profile=profile, sigma=sigma,
    )
    target = thin.volume[cov]
    short = [f"{n} < {p}" for n, p in zip(target.shape, patch) if n < p]
    if short:
        raise SRInputError(
            f"series {thin.uid or thin.patient}: {target.shape} voxels with an input, smaller than one "
            f"patch {tuple(patch)} ({', '.join(short)})"
        )
    if thin.centres is None:
        thin.centres = _body_centres(thin.volume, seed)
    z0, z1 = cov.start, cov.stop
    plane = thin.volume.shape[1] * thin.volume.shape[2]
    c = thin.centres[(thin.centres >= z0 * plane) & (thin.centres < z1 * plane)] - z0 * plane
    return PairVolume(inp, target, c, float(thickness), None if interval is None else float(interval),
                      thin.patient, thin.uid)


def make_pairs(thin: Sequence[ThinSeries], config: TrainConfig) -> list[PairVolume]:
    """Every thin series' pair, with the config's per-series thickness and interval (:func:`realise`)."""
    from t2tcore.simulation import ZProfile

    n = len(thin)
    ts = realise(config.thickness, n, config.seed, "thickness")
    ds = realise(config.interval, n, config.seed, "interval") or [None] * n
    profile = ZProfile.from_dict(config.profile) if config.profile is not None else None
    return [
        # the body-voxel subset (very large series only) is seeded by the series' index, not the
        # config: a ThinSeries keeps it for every model trained on it, whatever trained first
        make_pair(s, config.method, t, d, profile=profile, sigma=config.sigma, patch=config.patch, seed=i)
        for i, (s, t, d) in enumerate(zip(thin, ts, ds))
    ]


def split_patients(patients: Sequence[str], n_val: int | None, seed: int) -> tuple[list[int], list[int]]:
    """Indices of training and validation series: whole patients are held out.

    Parameters
    ----------
    patients : sequence of str
        Patient ID of each series (empty IDs count as one patient per series).
    n_val : int or None
        Patients to hold out; None: ``max(1, round(n_patients / 8))`` when there are 2 or
        more patients, else 0.
    seed : int
        Seeds which patients are held out.

    Returns
    -------
    (train, val) : lists of series indices
    """
    ids = [p if p else f"#series{i}" for i, p in enumerate(patients)]
    unique = sorted(set(ids))
    if n_val is None:
        n_val = max(1, round(len(unique) / 8)) if len(unique) >= 2 else 0
    if n_val >= len(unique) and unique:
        raise SRInputError(f"cannot hold out {n_val} of {len(unique)} patient(s) and still train")
    rng = np.random.default_rng([int(seed), 5])
    held = set(rng.permutation(unique)[: int(n_val)].tolist()) if n_val else set()
    train = [i for i, p in enumerate(ids) if p not in held]
    val = [i for i, p in enumerate(ids) if p in held]
    return train, val


# --------------------------------------------------------------------------------------
# Patches
# --------------------------------------------------------------------------------------


class PatchDataset:
    """Seeded 3-D patches of pair volumes: ``dataset[i]`` is always the same patch.

    Parameters
    ----------
    pairs : sequence of PairVolume
    patch : (int, int, int)
        Patch size (z, y, x).
    scaling : Scaling
        HU -> network units.
    seed : int
        Patch ``i`` is drawn by ``numpy.random.default_rng([seed, i])``.
    body_fraction : float
        Probability that a patch is centred on a body voxel.
    flip : bool
        Flip left-right (the last axis) with probability 1/2.

    Notes
    -----
    A torch map-style dataset (``__getitem__``/``__len__``), usable with
    ``torch.utils.data.DataLoader``. ``dataset[i]`` returns ``(input, target)``, each a float32
    tensor of shape (1, z, y, x) in network units. Every patch is a series chosen uniformly,
    then a centre, then the patch around it, moved inside the volume.
    """

    def __init__(
        self,
        pairs: Sequence[PairVolume],
        patch: Sequence[int],
        scaling: Scaling,
        seed: int = 0,
        body_fraction: float = 0.9,
        flip: bool = True,
        length: int = 2**31 - 1,
    ) -> None:
        if not pairs:
            raise SRInputError("no training pairs")
        self.pairs = list(pairs)
        self.patch = tuple(int(p) for p in patch)
        for p in self.pairs:
            if any(n < q for n, q in zip(p.target.shape, self.patch)):
                raise SRInputError(f"series {p.uid or p.patient} of shape {p.target.shape} is smaller than the patch {self.patch}")
        self.scaling = scaling
        self.seed = int(seed)
        self.body_fraction = float(body_fraction)
        self.flip = bool(flip)
        self.length = int(length)

    def __len__(self) -> int:
        return self.length

    def window(self, i: int) -> tuple[int, tuple[int, int, int], bool]:
        """Which pair, which corner (z, y, x) and whether flipped, for patch ``i``."""
        rng = np.random.default_rng([self.seed, int(i)])
        j = int(rng.integers(len(self.pairs)))
        p = self.pairs[j]
        shape = p.target.shape
        if p.centres.size and rng.random() < self.body_fraction:
            c = np.unravel_index(int(p.centres[rng.integers(p.centres.size)]), shape)
        else:
            c = tuple(int(rng.integers(n)) for n in shape)
        corner = tuple(int(min(max(ci - q // 2, 0), n - q)) for ci, q, n in zip(c, self.patch, shape))
        flipped = bool(self.flip and rng.random() < 0.5)
        return j, corner, flipped

    def arrays(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Patch ``i`` as HU arrays (input, target), each (z, y, x)."""
        j, (z, y, x), flipped = self.window(i)
        pz, py, px = self.patch
        p = self.pairs[j]
        a = p.input[z : z + pz, y : y + py, x : x + px]
        b = p.target[z : z + pz, y : y + py, x : x + px]
        if flipped:
            a, b = a[..., ::-1], b[..., ::-1]
        return np.ascontiguousarray(a), np.ascontiguousarray(b)

    def __getitem__(self, i: int):
        import torch

        a, b = self.arrays(i)
        return (torch.from_numpy(self.scaling.forward(a))[None], torch.from_numpy(self.scaling.forward(b))[None])
