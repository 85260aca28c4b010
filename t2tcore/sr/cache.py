"""Trained models cached by a hash of their data, their config and the code that trains them.

:func:`cached_model` returns the checkpoint stored under ``cache_dir`` for this exact
training (same thin series voxel for voxel, same :class:`~t2tcore.sr.config.TrainConfig`, same
starting weights, same training code), and trains and stores it when there is none. The book's
SR chapters use it so a rebuild does not retrain; the clinical chapter uses it for its own
model.

The key hashes: the config (:meth:`TrainConfig.to_dict`), the fingerprint of every thin series
(:meth:`ThinSeries.fingerprint`, in order), the checkpoint format, the arithmetic the config's
``precision`` means on the training device (:func:`t2tcore.sr.precision.resolve_precision`:
bf16 and fp32 train different weights), and the source code of the modules that determine the
weights (:mod:`t2tcore.sr` training code and models, :mod:`t2tcore.simulation`). Files are named ``<model>-<preset>-<method>-<key[:16]>.pt``; a JSON
sidecar beside each says what it is. A file that cannot be read is trained again.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Sequence

from t2tcore.sr.checkpoint import FORMAT_VERSION, load_checkpoint
from t2tcore.sr.config import TrainConfig
from t2tcore.sr.errors import CheckpointError
from t2tcore.sr.pairs import ThinSeries

__all__ = ["cache_key", "cache_path", "cached_model", "source_hash"]

_PKG = Path(__file__).resolve().parent
# Code whose change changes the trained weights.
_SOURCES = ("config.py", "convergence.py", "pairs.py", "precision.py", "train.py", "models")


def source_hash() -> str:
    """SHA-256 of the training code (:mod:`t2tcore.sr` training modules, models, :mod:`t2tcore.simulation`)."""
    files: list[Path] = []
    for name in _SOURCES:
        p = _PKG / name
        files += sorted(p.glob("*.py")) if p.is_dir() else [p]
    files += sorted((_PKG.parent / "simulation").glob("*.py"))
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def cache_key(config: TrainConfig, thin_series: Sequence[ThinSeries], device: Any = None) -> str:
    """The hash naming one training on ``device`` (default: CUDA when available, else CPU; see the module docstring)."""
    import torch

    from t2tcore.sr.precision import resolve_precision

    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    data = [s.fingerprint() for s in thin_series]
    return config.key(data, FORMAT_VERSION, source_hash(), resolve_precision(config.precision, device))


def cache_path(cache_dir: str | os.PathLike, config: TrainConfig, key: str) -> Path:
    return Path(cache_dir) / f"{config.model}-{config.preset}-{config.method}-{key[:16]}.pt"


def cached_model(
    config: TrainConfig,
    thin_series: Sequence[Any],
    cache_dir: str | os.PathLike,
    *,
    init_state: dict | None = None,
    device: Any = None,
    progress: bool = True,
    retrain: bool = False,
) -> dict:
    """The checkpoint of ``config`` trained on ``thin_series``: from the cache, or trained now and cached.

    Parameters
    ----------
    config : TrainConfig
    thin_series : sequence of Series or ThinSeries
        Thin training series (validation patients are held out of them by the config).
        Pass :class:`ThinSeries` objects to reuse their body masks between models.
    cache_dir : path
        Folder of the cache (created when missing).
    init_state : dict, optional
        Starting generator weights; ``config.init_from`` must say where they come from (it is
        part of the key).
    device : str, optional
        Training device (default CUDA when available, else CPU).
    progress : bool
        Training progress bar.
    retrain : bool
        Train again even when cached.

    Returns
    -------
    dict
        The checkpoint, with ``path`` (its file), ``cache_key`` and ``cached`` (True when it
        was read from the cache).
    """
    from t2tcore.sr.train import train_model

    if init_state is not None and not config.init_from:
        raise ValueError("init_state given: set config.init_from to say where the weights come from")
    series = [ThinSeries.from_series(s) for s in thin_series]
    key = cache_key(config, series, device)
    path = cache_path(cache_dir, config, key)
    if path.is_file() and not retrain:
        try:
            ckpt = load_checkpoint(path)
        except CheckpointError:
            ckpt = None
        if ckpt is not None and ckpt.get("cache_key") == key:
            ckpt["cached"] = True
            return ckpt
    result = train_model(config, series, init_state=init_state, device=device, progress=progress)
    ckpt = result.checkpoint
    ckpt["cache_key"] = key
    from t2tcore.sr.checkpoint import save_checkpoint

    save_checkpoint(ckpt, path)
    side = {k: ckpt[k] for k in ("model", "config", "simulation", "t2t_version", "created", "step", "seconds",
                                 "training")}
    side["data"] = {k: v for k, v in ckpt["data"].items()}
    side["cache_key"] = key
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(side, indent=1, default=str))
    os.replace(tmp, path.with_suffix(".json"))
    ckpt["path"], ckpt["cached"] = str(path), False
    return ckpt
