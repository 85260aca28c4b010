"""Applying an SR model to a whole thick series (:func:`apply_model`, :func:`predict`).

The thick series goes through the same input pipeline as in training
(:func:`t2tcore.sr.pairs.to_thin_grid`: linear interpolation along z, in mm, to the thin
positions), is scaled to network units, and the model runs over it in overlapping windows
whose seams are blended with Gaussian weights (:func:`monai.inferers.sliding_window_inference`).

Bounded memory: the volume is processed in slabs along z (each slab with a halo of half a
window on each side, the halo's output discarded), so besides the input and the output only
one slab's buffers (MONAI's output and weight-count maps, at most ``max_slab_voxels`` voxels
each) and one batch of windows' activations exist at a time, whatever the number of slices.

Speed: windows are computed under ``torch.inference_mode``, on channels-last 3-D tensors, in
the arithmetic ``precision`` asks for (:mod:`t2tcore.sr.precision`: bfloat16 autocast on CUDA
and on CPUs that compute it natively, float32 elsewhere).

Positions are in mm, volumes HU float32 (Z, Y, X).
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Sequence

import numpy as np

from t2tcore.errors import SeriesWarning
from t2tcore.limits import check_fits
from t2tcore.simulation import thick_positions
from t2tcore.simulation.simulate import n_thick_positions
from t2tcore.sr.checkpoint import checkpoint_scaling, load_checkpoint, model_from_checkpoint
from t2tcore.sr.errors import SRError, SRInputError
from t2tcore.sr.pairs import to_thin_grid
from t2tcore.sr.precision import autocast as precision_autocast
from t2tcore.sr.precision import resolve_precision

__all__ = ["DEFAULT_OVERLAP", "DEFAULT_ROI", "MAX_SLAB_VOXELS", "apply_model", "check_thick", "predict", "thin_positions"]

#: Default sliding-window size (z, y, x) per preset, in voxels. ``small``: windows span a whole
#: slice of up to 512 x 512 and overlap along z only, so little is computed twice (the earlier
#: 64 x 256 x 256 windows with 25 % overlap in every direction computed a 512 x 512 x 200 volume
#: about 6.75 times over, these about 2 times; benchmarks/bench_sr.py times both).
DEFAULT_ROI = {"small": (32, 512, 512), "paper": (32, 160, 160)}

#: Default overlap of neighbouring windows (fraction of a window, every axis).
DEFAULT_OVERLAP = 0.25

#: Default slab size: output voxels per slab (128 slices of 512 x 512).
MAX_SLAB_VOXELS = 128 * 512 * 512

# Thick series may be this much (relative) thinner or thicker than the training thicknesses,
# and spaced this much unlike the training intervals.
_THICKNESS_TOL = 0.01
_INTERVAL_TOL = 0.02


def _round_up(n: int, m: int) -> int:
    return int(math.ceil(n / m) * m)


def _roi(shape: Sequence[int], roi: Sequence[int], multiple: Sequence[int]) -> tuple[int, int, int]:
    """The window: ``roi`` but no larger than the volume (rounded up to the model's size multiple)."""
    return tuple(_round_up(min(int(r), int(n)), int(m)) for r, n, m in zip(roi, shape, multiple))


def predict(
    model,
    volume: np.ndarray,
    *,
    roi: Sequence[int] = DEFAULT_ROI["small"],
    overlap: float = DEFAULT_OVERLAP,
    device: Any = None,
    sw_batch_size: int = 1,
    max_slab_voxels: int = MAX_SLAB_VOXELS,
    precision: str = "auto",
    progress: bool = False,
) -> np.ndarray:
    """Run a model over a whole volume in blended overlapping windows.

    Parameters
    ----------
    model : torch.nn.Module
        Maps (N, 1, z, y, x) to (N, 1, z, y, x), network units. Its ``size_multiple``
        attribute (if any) rounds the window size.
    volume : ndarray, shape (Z, Y, X)
        Input in network units (float32). Not modified.
    roi : (int, int, int)
        Window size (z, y, x), shrunk to the volume's size.
    overlap : float
        Fraction of a window shared with its neighbour (MONAI ``overlap``).
    device : str or torch.device, optional
        Where windows are computed (default: the model's device). The output is stitched on CPU.
    sw_batch_size : int
        Windows per forward pass.
    max_slab_voxels : int
        Output voxels per slab along z (memory bound; see the module docstring).
    precision : {"auto", "fp32", "bf16"}
        Arithmetic of the windows (:mod:`t2tcore.sr.precision`; "auto": bfloat16 autocast on
        CUDA and on CPUs that compute it natively, float32 elsewhere). The output is float32.
    progress : bool
        A progress bar over slabs.

    Returns
    -------
    ndarray, shape (Z, Y, X), float32
    """
    import torch
    from monai.inferers import sliding_window_inference

    from t2tcore.progress import bar

    vol = np.asarray(volume, dtype=np.float32)
    if vol.ndim != 3:
        raise ValueError(f"volume must be (Z, Y, X), got shape {vol.shape}")
    if not 0 <= overlap < 1:
        raise ValueError(f"overlap must be in [0, 1), got {overlap}")
    dev = torch.device(device) if device is not None else next(model.parameters()).device
    multiple = getattr(model, "size_multiple", (1, 1, 1))
    win = _roi(vol.shape, roi, multiple)
    plane = vol.shape[1] * vol.shape[2]
    slab = max(win[0], int(max_slab_voxels) // plane)
    halo = 0 if slab >= vol.shape[0] else win[0] // 2
    out = np.empty_like(vol)
    autocast, _ = precision_autocast(dev, resolve_precision(precision, dev))

    def run(x):
        x = x.contiguous(memory_format=torch.channels_last_3d)  # faster 3-D convolutions (oneDNN, cuDNN)
        with autocast():
            return model(x).float().contiguous()

    starts = list(range(0, vol.shape[0], slab))
    was_training = model.training
    model.eval()
    model.to(memory_format=torch.channels_last_3d)
    try:
        with torch.inference_mode(), bar(total=len(starts), desc="SR inference", unit="slab", enabled=progress) as pbar:
            for z0 in starts:
                z1 = min(vol.shape[0], z0 + slab)
                a, b = max(0, z0 - halo), min(vol.shape[0], z1 + halo)
                x = torch.from_numpy(np.ascontiguousarray(vol[a:b]))[None, None]  # (1, 1, z, y, x)
                w = _roi(x.shape[2:], win, multiple)
                y = sliding_window_inference(
                    x, w, sw_batch_size, run, overlap=overlap, mode="gaussian", padding_mode="replicate",
                    sw_device=dev, device="cpu",
                )
                out[z0:z1] = y[0, 0, z0 - a : z1 - a].numpy()
                del x, y
                pbar.update(1)
    finally:
        model.train(was_training)
    return out


def thin_positions(thick_pos: Any, interval: float) -> np.ndarray:
    """Thin slice positions every ``interval`` mm across a thick series' extent (Algorithm 1)."""
    p = np.asarray(thick_pos, dtype=np.float64)
    return thick_positions(float(p.min()), float(p.max()), float(interval))


def _trained_for(sim: dict) -> str:
    """``3 mm slices every 2 mm``: what a checkpoint's model was trained on."""
    def span(values) -> str:
        v = [float(x) for x in values if x]
        return f"{min(v):g}" if max(v) - min(v) < 1e-9 else f"{min(v):g}-{max(v):g}"

    what = f"{span(sim['thickness'])} mm slices"
    if any(sim.get("interval") or []):
        what += f" every {span(sim['interval'])} mm"
    return what


def check_thick(ckpt: dict, thick, min_slices: int | None = None, *, force: bool = False) -> float:
    """Refuse a thick series the model cannot take, or was not trained for; return its thickness (mm).

    Parameters
    ----------
    ckpt : dict
        A checkpoint.
    thick : t2tcore.io.Series
    min_slices : int, optional
        Unused (kept for callers).
    force : bool
        Accept a series thicker than the model's thickest training slices, or spaced unlike
        its training intervals (2 % tolerance): a model applied outside what it learnt.

    Raises
    ------
    SRInputError
        Fewer than 2 slices; thinner than the thinnest training thick slices; without
        ``force``, thicker than the thickest, or another slice interval (the message says
        what the model was trained for).
    """
    n = int(thick.volume.shape[0])
    if n < 2:
        raise SRInputError(f"the thick series has {n} slice(s); at least 2 are needed to interpolate along z")
    t = thick.thickness
    if not t:
        t = thick.spacing
        warnings.warn(f"the thick series has no SliceThickness; taking its spacing ({t:g} mm)", SeriesWarning, stacklevel=3)
    sim = ckpt["simulation"]
    t_min = float(sim["min_thickness"])
    if t < t_min * (1 - _THICKNESS_TOL):
        raise SRInputError(
            f"the thick series is {t:g} mm thick, thinner than the thinnest thick slices the model was trained on "
            f"({t_min:g} mm)"
        )
    if force:
        return float(t)
    ts = [float(v) for v in sim.get("thickness") or [] if v] or [t_min]
    intervals = [float(v) for v in sim.get("interval") or [] if v]
    spacing = thick.spacing
    off = t > max(ts) * (1 + _THICKNESS_TOL)
    if intervals and spacing and not (min(intervals) * (1 - _INTERVAL_TOL) <= spacing <= max(intervals) * (1 + _INTERVAL_TOL)):
        off = True
    if off:
        every = f" every {spacing:.4g} mm" if spacing else ""
        raise SRInputError(
            f"the thick series has {t:g} mm slices{every}; the model was trained for {_trained_for(sim)}: use a model "
            "trained for this series (or force=True / --force to apply this one anyway)"
        )
    return float(t)


def apply_model(
    checkpoint: Any,
    thick,
    target_positions: Any = None,
    *,
    interval: float | None = None,
    device: Any = None,
    roi: Sequence[int] | None = None,
    overlap: float = DEFAULT_OVERLAP,
    precision: str = "auto",
    progress: bool = False,
    force: bool = False,
):
    """Super-resolve a thick series into a thin one.

    Parameters
    ----------
    checkpoint : path or dict
        A checkpoint of :func:`t2tcore.sr.train.train_model` (or its loaded dict).
    thick : t2tcore.io.Series
        The thick series (real or simulated). Not modified.
    target_positions : array_like, optional
        Positions (mm, along the thick series' normal) of the thin slices to make, e.g. those
        of a real thin series for evaluation. Positions outside the thick series' range take
        its end slice (a :class:`~t2tcore.errors.SeriesWarning` says how many). Default: every
        ``interval`` mm from its first to its last slice.
    interval : float, optional
        Spacing of the default thin positions, mm (default: the training data's thin spacing;
        another spacing, 2 % tolerance, only with ``force``).
    device : str, optional
        Default: CUDA when available, else CPU.
    roi : (int, int, int), optional
        Window size (default :data:`DEFAULT_ROI` of the model's preset).
    overlap : float
        Window overlap.
    precision : {"auto", "fp32", "bf16"}
        Arithmetic (:func:`predict`).
    progress : bool
        Progress bar.
    force : bool
        Apply the model to a series thicker than, or spaced unlike, its training slices
        (:func:`check_thick`).

    Returns
    -------
    t2tcore.io.Series
        A derived series of the same patient, study and frame of reference (write it with
        :func:`t2tcore.io.write_series`): SliceThickness = the training thin thickness, a
        SeriesDescription naming the model and its training simulation.

    Raises
    ------
    CheckpointError
        Not a checkpoint.
    SRInputError
        A thick series thinner than the model's thinnest training thickness, with fewer than
        2 slices, or fewer thin slices to make than one training patch deep; without
        ``force``, a series the model was not trained for; CUDA asked for where there is
        none.
    TooLargeError
        More thin slices to make than half the machine's memory holds.
    SRError
        The model's output is not finite (finite but huge weights of a diverged training).
    """
    import torch

    from t2tcore import __version__

    ckpt = load_checkpoint(checkpoint)
    sim = ckpt["simulation"]
    t = check_thick(ckpt, thick, force=force)
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if torch.device(device).type == "cuda" and not torch.cuda.is_available():
        raise SRInputError(f"device {device!r} asked for, but torch sees no CUDA GPU")
    plane = int(thick.volume.shape[1]) * int(thick.volume.shape[2])
    if target_positions is None:
        step = float(interval) if interval else float(sim["thin_spacing_mm"])
        train_step = float(sim["thin_spacing_mm"])
        if not force and abs(step - train_step) > _INTERVAL_TOL * train_step:
            raise SRInputError(
                f"thin slices every {step:g} mm asked for; the model makes them every {train_step:g} mm (its training "
                "data's spacing): leave the interval out (or force=True / --force to ask for it anyway)"
            )
        lo, hi = float(thick.positions.min()), float(thick.positions.max())
        check_fits(n_thick_positions(lo, hi, step), 3 * 4 * plane, "thin slices", "choose a larger interval")
        targets = thin_positions(thick.positions, step)
    else:
        targets = np.asarray(target_positions, dtype=np.float64).reshape(-1)
        step = float(np.median(np.diff(np.sort(targets)))) if targets.size > 1 else None
        train_step = float(sim["thin_spacing_mm"])
        if not force and step is not None and abs(step - train_step) > _INTERVAL_TOL * train_step:
            raise SRInputError(
                f"the target positions are {step:g} mm apart; the model makes thin slices every {train_step:g} mm "
                "(its training data's spacing): match a series of that spacing (or force=True / --force to ask for "
                "it anyway)"
            )
    depth = int(ckpt["config"]["patch"][0])
    if targets.size < depth:
        raise SRInputError(
            f"too few slices for one window: {targets.size} thin slice(s) to make, the model works on windows of "
            f"{depth} (its training patch depth)"
        )
    lo, hi = float(thick.positions.min()), float(thick.positions.max())
    outside = int(np.count_nonzero((targets < lo - 1e-6) | (targets > hi + 1e-6)))
    if outside == targets.size:
        raise SRInputError(f"no target position lies inside the thick series ({lo:.2f} to {hi:.2f} mm)")
    if outside:
        warnings.warn(f"{outside} of {targets.size} thin position(s) lie outside the thick series ({lo:.2f} to "
                      f"{hi:.2f} mm) and take its end slice", SeriesWarning, stacklevel=2)
    check_fits(targets.size, 3 * 4 * plane, "thin slices", "choose fewer target positions")
    scaling = checkpoint_scaling(ckpt)
    model = model_from_checkpoint(ckpt, device)
    x = scaling.forward(to_thin_grid(thick.volume, thick.positions, targets, outside="clamp"))
    y = predict(model, x, roi=roi or DEFAULT_ROI[ckpt["model"]["preset"]], overlap=overlap, device=device,
                precision=precision, progress=progress)
    del x
    vol = scaling.inverse(y)
    name = f"{ckpt['model']['name']}/{ckpt['model']['preset']}"
    bad = int(vol.size - np.count_nonzero(np.isfinite(vol)))
    if bad:  # finite but huge weights (a diverged training) overflow: nothing to write
        raise SRError(f"{ckpt.get('path') or 'the checkpoint'}: the model's output holds {bad} NaN or infinite "
                      f"voxel(s) of {vol.size} on this series; its weights are unusable (did the training "
                      "diverge?): train it again")
    ts = sim["thickness"]
    what = f"{sim['method']} {min(ts):g}" + (f"-{max(ts):g}" if max(ts) > min(ts) else "") + "mm"
    thin_t = float(sim["thin_thickness_mm"])
    description = f"t2t sr {name} {what} -> {thin_t:g}mm"[:64]
    derivation = (
        f"t2t {__version__} sr apply: {name} trained on {what} thick slices simulated from {ckpt['data'].get('n_train', '?')} "
        f"thin series (checkpoint {ckpt.get('path') or '-'}); from series {thick.series_uid} ({t:g} mm)"
    )
    return thick.derive(vol, targets, thickness=thin_t, interval=step, description=description, derivation=derivation)
