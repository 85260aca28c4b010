"""SR checkpoints: one file that says what a model is and carries everything needed to apply it.

A checkpoint is a ``torch.save`` dict read back with ``torch.load(..., weights_only=True)``
(tensors and plain data only: loading one never runs code). It holds

* ``format`` (``"t2t-sr-checkpoint"``), ``format_version``, ``t2t_version``, ``created``;
* ``model``: name, preset and the generator's keyword arguments; ``state_dict`` (generator
  weights) and ``discriminator`` (ESRGAN, else None);
* ``simulation``: method, the realised thickness and interval of every training series
  (mm), ``min_thickness`` (the thinnest thick slices the model accepts), the slice profile
  (``calibrated``), the thin spacing and thickness of the training data (mm);
* ``scaling``: the HU <-> network map;
* ``data``: every training/validation series (UID, patient, voxel fingerprint, role) and a
  fingerprint of them all;
* ``config`` (:class:`~t2tcore.sr.config.TrainConfig` as data), ``step``, ``history`` (losses),
  the optimiser states (to resume), and where it was trained (``device``, ``world_size``);
* ``training``: what the run achieved (steps, ``best_step``, validation L2 of the untrained
  model and of the best, their ratio, ``converged`` and a ``note`` saying why (not); written by
  :func:`t2tcore.sr.train.train_model`), ``val_patch_losses`` (step -> L2 of every fixed
  validation patch, what the convergence rule judged) and ``last_state_dict`` (the weights at
  the last step, from which a resumed run continues; ``state_dict`` holds the best ones).

:func:`save_checkpoint` writes all at once (a staging file committed by one rename).
"""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path
from typing import Any

from t2tcore import __version__
from t2tcore.sr.config import Scaling, TrainConfig
from t2tcore.sr.errors import CheckpointError

__all__ = ["FORMAT", "FORMAT_VERSION", "load_checkpoint", "make_checkpoint", "model_from_checkpoint", "save_checkpoint"]

FORMAT = "t2t-sr-checkpoint"
FORMAT_VERSION = 1
_REQUIRED = ("format", "format_version", "model", "state_dict", "simulation", "scaling", "config", "data", "step")


def make_checkpoint(
    config: TrainConfig,
    model,
    *,
    simulation: dict,
    data: dict,
    step: int,
    history: list,
    discriminator=None,
    optimizer=None,
    d_optimizer=None,
    device: str = "cpu",
    world_size: int = 1,
    seconds: float = 0.0,
    state_dict: dict | None = None,
    last_state_dict: dict | None = None,
    training: dict | None = None,
    val_patch_losses: dict | None = None,
) -> dict:
    """The checkpoint dict of a (partly) trained model (see the module docstring).

    ``state_dict`` (default: ``model``'s weights) is what inference uses, e.g. the weights of
    the best validation loss; ``last_state_dict`` the weights to resume from.
    """
    from t2tcore.sr.models import preset_kwargs

    def cpu_state(m):
        m = getattr(m, "module", m)  # unwrap DistributedDataParallel
        return {k: v.detach().to("cpu").clone() for k, v in m.state_dict().items()}

    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "t2t_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "model": {"name": config.model, "preset": config.preset, "kwargs": preset_kwargs(config.model, config.preset)},
        "state_dict": cpu_state(model) if state_dict is None else state_dict,
        "last_state_dict": last_state_dict,
        "discriminator": None if discriminator is None else cpu_state(discriminator),
        "optimizer": None if optimizer is None else optimizer.state_dict(),
        "d_optimizer": None if d_optimizer is None else d_optimizer.state_dict(),
        "simulation": simulation,
        "scaling": config.scaling.to_dict(),
        "config": config.to_dict(),
        "data": data,
        "step": int(step),
        "history": list(history),
        "device": str(device),
        "world_size": int(world_size),
        "seconds": float(seconds),
        "training": training,
        "val_patch_losses": val_patch_losses,
    }


def save_checkpoint(checkpoint: dict, path: str | os.PathLike, *, overwrite: bool = True) -> Path:
    """Write ``checkpoint`` to ``path`` all at once: a hidden staging file beside it (an
    ordinary file, 0666 less the umask), committed by one rename
    (:func:`t2tcore.io.outdir.commit_output`; ``overwrite=False`` never replaces a file that
    is there, and says where the checkpoint was kept)."""
    import torch

    from t2tcore.io.outdir import commit_output, staging_file

    path = Path(path)
    tmp = staging_file(path, suffix=".tmp")
    try:
        torch.save(checkpoint, tmp)
        commit_output(tmp, path, overwrite=overwrite)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load_checkpoint(source: Any, map_location: str = "cpu") -> dict:
    """Read and check a checkpoint.

    Parameters
    ----------
    source : str, path-like or dict
        A checkpoint file, or an already loaded checkpoint dict (checked and returned).
    map_location : str
        Where tensors go (default CPU).

    Returns
    -------
    dict
        With ``path`` added (the file it came from, or None).

    Raises
    ------
    CheckpointError
        Missing file, not a torch file, not a t2t SR checkpoint, a newer format, missing
        fields, or weights that are NaN or infinite.
    """
    import torch

    if isinstance(source, dict):
        ckpt, where = source, "checkpoint"
    else:
        p = Path(source)
        where = str(p)
        if not p.is_file():
            raise CheckpointError(f"{p}: no such checkpoint file")
        try:
            ckpt = torch.load(p, map_location=map_location, weights_only=True)
        except Exception as exc:  # noqa: BLE001 - torch raises many types for a bad file
            raise CheckpointError(f"{p}: not a t2t SR checkpoint (torch.load cannot read it: {type(exc).__name__})") from None
        ckpt["path"] = str(p)
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"{where}: not a t2t SR checkpoint (no format '{FORMAT}')")
    if int(ckpt.get("format_version", 0)) > FORMAT_VERSION:
        raise CheckpointError(
            f"{where}: checkpoint format {ckpt['format_version']} is newer than this t2t reads ({FORMAT_VERSION})"
        )
    missing = [k for k in _REQUIRED if k not in ckpt]
    if missing:
        raise CheckpointError(f"{where}: incomplete checkpoint, missing {', '.join(missing)}")
    state = ckpt["state_dict"] if isinstance(ckpt["state_dict"], dict) else {}
    bad = [k for k, v in state.items() if torch.is_tensor(v) and v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        raise CheckpointError(f"{where}: {len(bad)} weight tensor(s) hold NaN or infinite values (first: {bad[0]}); "
                              "the training diverged or saw non-finite data: train it again")
    ckpt.setdefault("path", None)
    return ckpt


def checkpoint_config(ckpt: dict) -> TrainConfig:
    """The training config recorded in a checkpoint."""
    try:
        return TrainConfig.from_dict(ckpt["config"])
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"{ckpt.get('path') or 'checkpoint'}: bad training config ({exc})") from None


def checkpoint_scaling(ckpt: dict) -> Scaling:
    return Scaling(**ckpt["scaling"])


def model_from_checkpoint(ckpt: dict, device: Any = "cpu"):
    """The generator of a checkpoint, weights loaded, in eval mode on ``device``."""
    from t2tcore.sr.models import MODELS, build_model

    m = ckpt["model"]
    if m.get("name") not in MODELS:
        raise CheckpointError(f"{ckpt.get('path') or 'checkpoint'}: unknown model {m.get('name')!r}")
    model = build_model(m["name"], m.get("preset", "small"), **{k: tuple(v) if isinstance(v, list) else v
                                                                  for k, v in m.get("kwargs", {}).items()})
    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as exc:
        raise CheckpointError(
            f"{ckpt.get('path') or 'checkpoint'}: weights do not fit model {m['name']}/{m.get('preset')}: "
            f"{str(exc).splitlines()[0][:120]}"
        ) from None
    return model.to(device).eval()
