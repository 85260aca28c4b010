"""Training an SR model on pairs simulated from thin series (:func:`train_model`).

As in the paper: Adam (learning rate 1e-4 by default), L2 loss between the network's output and
the thin patch, in network units (:class:`~t2tcore.sr.config.Scaling`), random left-right flips.
ESRGAN adds ESRGAN's relativistic adversarial loss, weighted by ``config.adv_weight``, and
trains its discriminator in alternation (discriminator step after each generator step, both
Adam with the same learning rate).

Reproducible: ``config.seed`` seeds the initial weights, and patch ``i`` of the stream is
drawn by its own generator (:class:`~t2tcore.sr.pairs.PatchDataset`), so the same seed gives
the same weights on CPU, a resumed run continues with exactly the patches an uninterrupted
run would have used, and data-parallel processes split each global batch between them.

Validation: whole patients are held out (:func:`~t2tcore.sr.pairs.split_patients`); the
validation loss is the L2 loss on a fixed set of their patches, every ``config.val_every``
steps and at the end.

Devices: CUDA with mixed precision (bfloat16 where supported, else float16 with a gradient
scaler) when available, else CPU. **Data-parallel** training with ``torch.distributed``: run
the same command under ``torchrun`` (e.g. ``torchrun --nproc_per_node=2 $(which t2t) sr
train ...``): every process reads the data, takes its share of each global batch, and
``DistributedDataParallel`` averages the gradients (gloo on CPU, NCCL on CUDA); process 0
writes the checkpoint. With per-sample losses and no batch statistics in the models, this
computes what one process computes with the same global batch (up to floating-point
summation order).

Progress: one bar (:func:`t2tcore.progress.bar`) with the loss and the throughput in voxels/s.
"""

from __future__ import annotations

import hashlib
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from t2tcore.sr.checkpoint import checkpoint_config, load_checkpoint, make_checkpoint, save_checkpoint
from t2tcore.sr.config import TrainConfig
from t2tcore.sr.errors import CheckpointError, SRInputError
from t2tcore.sr.pairs import PatchDataset, ThinSeries, make_pairs, split_patients

__all__ = ["TrainResult", "data_fingerprint", "train_model"]


@dataclass
class TrainResult:
    """What :func:`train_model` returns.

    Attributes
    ----------
    model : torch.nn.Module
        The trained generator (eval mode, CPU).
    checkpoint : dict
        Its checkpoint (:mod:`t2tcore.sr.checkpoint`), also written to ``out`` when given.
    history : list of dict
        ``step``, ``loss`` (mean training L2 since the last entry), ``val_loss``,
        ``adv_loss``/``d_loss`` (ESRGAN), ``seconds``, ``voxels_per_s``.
    """

    model: Any
    checkpoint: dict
    history: list


def data_fingerprint(series: Sequence[ThinSeries]) -> str:
    """One hash of every series' voxels and positions, in order."""
    h = hashlib.sha256()
    for s in series:
        h.update(s.fingerprint().encode())
    return h.hexdigest()


# --------------------------------------------------------------------------------------
# Processes and devices
# --------------------------------------------------------------------------------------


@dataclass
class _Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    owns_group: bool = False


def _setup_distributed(device_kind: str) -> _Dist:
    """Join the torch.distributed group torchrun describes (WORLD_SIZE > 1), if any."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return _Dist(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return _Dist()
    dist.init_process_group(backend="nccl" if device_kind == "cuda" else "gloo")
    return _Dist(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")), True)


def _device(device: Any, local_rank: int):
    import torch

    from t2tcore.device import resolve_device

    dev = resolve_device(device)  # None: CUDA when available, else CPU
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise SRInputError("--device cuda asked for, but no CUDA device is available")
        if dev.index is None:
            dev = torch.device("cuda", local_rank)
    return dev


def _autocast(dev):
    import contextlib

    import torch

    if dev.type != "cuda":
        return contextlib.nullcontext, None
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda", enabled=dtype == torch.float16)
    return (lambda: torch.autocast("cuda", dtype=dtype)), scaler


# --------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------


def _series_records(thin: Sequence[ThinSeries], roles: Sequence[str]) -> list[dict]:
    return [
        {"uid": s.uid, "patient": s.patient, "fingerprint": s.fingerprint(), "n_slices": int(s.volume.shape[0]),
         "role": r}
        for s, r in zip(thin, roles)
    ]


def _check_resume(ckpt: dict, config: TrainConfig, fingerprint: str) -> None:
    old = checkpoint_config(ckpt)
    if old.replace(steps=config.steps) != config:
        diff = [k for k, v in config.to_dict().items() if k != "steps" and old.to_dict().get(k) != v]
        raise CheckpointError(f"cannot resume: the checkpoint was trained with other settings ({', '.join(diff)})")
    if ckpt["data"].get("fingerprint") != fingerprint:
        raise CheckpointError("cannot resume: the checkpoint was trained on other thin series")
    if int(ckpt["step"]) > config.steps:
        raise CheckpointError(f"cannot resume: the checkpoint is at step {ckpt['step']}, beyond steps={config.steps}")


def _batch(ds: PatchDataset, indices: range):
    import torch

    xs, ys = zip(*(ds[i] for i in indices))
    cl = torch.channels_last_3d  # NDHWC: oneDNN and cuDNN run 3-D convolutions faster this way
    return torch.stack(xs).contiguous(memory_format=cl), torch.stack(ys).contiguous(memory_format=cl)


def _step(loss, opt, scaler) -> None:
    """Backward pass and optimiser step (through the float16 gradient scaler when it is on)."""
    opt.zero_grad(set_to_none=True)
    if scaler is not None and scaler.is_enabled():
        scaler.scale(loss).backward()
        scaler.step(opt)
    else:
        loss.backward()
        opt.step()


def _check_finite_loss(loss, done_before: int, world: int, dev) -> None:
    """Stop training at the first loss that is NaN or infinite (on any process), before the
    step that would spread it into the weights and before any checkpoint of it."""
    import torch

    bad = not math.isfinite(float(loss.detach()))
    if world > 1:
        import torch.distributed as dist

        flag = torch.tensor([1.0 if bad else 0.0], device=dev)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        bad = bool(flag.item() > 0)
    if bad:
        raise SRInputError(f"training stopped at step {done_before + 1}: the loss is not finite, the diverged model "
                           "is not saved (check the input for NaN or extreme values, or lower the learning rate)")


def _val_loss(model, ds: PatchDataset | None, n: int, dev, autocast) -> float:
    import torch

    if ds is None:
        return math.nan
    model.eval()
    total = 0.0
    with torch.no_grad():
        for start in range(0, n, 8):
            x, y = _batch(ds, range(start, min(n, start + 8)))
            x, y = x.to(dev), y.to(dev)
            with autocast():
                out = model(x)
            total += float(((out.float() - y) ** 2).mean()) * x.shape[0]
    model.train()
    return total / n


def train_model(
    config: TrainConfig,
    thin_series: Sequence[Any],
    *,
    val_series: Sequence[Any] | None = None,
    out: str | os.PathLike | None = None,
    resume: Any = None,
    init_state: dict | None = None,
    device: Any = None,
    progress: bool = True,
    checkpoint_every: int | None = None,
    stop_after: int | None = None,
) -> TrainResult:
    """Train one SR model on pairs simulated from thin series.

    Parameters
    ----------
    config : TrainConfig
        Model, simulation, effort and seeds.
    thin_series : sequence of Series or ThinSeries
        The thin training series (:class:`t2tcore.io.Series`). Unless ``val_series`` is given,
        ``config.n_val`` whole patients of them are held out for the validation loss.
    val_series : sequence of Series or ThinSeries, optional
        Explicit validation series (then none of ``thin_series`` is held out).
    out : path, optional
        Checkpoint file to write (at the end, and every ``checkpoint_every`` steps).
    resume : path or dict, optional
        A checkpoint of this config and data to continue from (its step, weights and
        optimiser states); ``config.steps`` may be larger than the checkpoint's.
    init_state : dict, optional
        Generator weights to start from (e.g. ESRGAN from a trained ESRResNet; record where
        they come from in ``config.init_from``).
    device : str or torch.device, optional
        Default: CUDA when available, else CPU.
    progress : bool
        Progress bar (process 0 only).
    checkpoint_every : int, optional
        Steps between intermediate checkpoints (needs ``out``).
    stop_after : int, optional
        Stop after this step (the checkpoint says so by its ``step``); for tests of resuming
        and for splitting long runs.

    Returns
    -------
    TrainResult

    Raises
    ------
    SRInputError
        No usable training series, series smaller than a patch, a global batch that the
        processes cannot split evenly.
    CheckpointError
        A ``resume`` checkpoint of other settings or other data.
    """
    import torch

    from t2tcore.progress import bar
    from t2tcore.sr.models import build_discriminator, build_model
    from t2tcore.sr.models.esrgan import discriminator_loss, generator_adv_loss

    t_start = time.perf_counter()
    train = [ThinSeries.from_series(s) for s in thin_series]
    if not train:
        raise SRInputError("no thin series to train on")
    if val_series is not None:
        val = [ThinSeries.from_series(s) for s in val_series]
        everything, roles = train + val, ["train"] * len(train) + ["val"] * len(val)
    else:
        _, va = split_patients([s.patient for s in train], config.n_val, config.seed)
        everything = train
        roles = ["val" if i in set(va) else "train" for i in range(len(train))]
    pairs = make_pairs(everything, config)
    train_pairs = [p for p, r in zip(pairs, roles) if r == "train"]
    val_pairs = [p for p, r in zip(pairs, roles) if r == "val"]
    records = _series_records(everything, roles)
    fingerprint = hashlib.sha256("".join(r["fingerprint"] + r["role"] for r in records).encode()).hexdigest()

    dev_kind = "cuda" if (device is None and torch.cuda.is_available()) or str(device).startswith("cuda") else "cpu"
    dist_info = _setup_distributed(dev_kind)
    dev = _device(device, dist_info.local_rank)
    if config.batch % dist_info.world:
        raise SRInputError(f"global batch {config.batch} cannot be split evenly over {dist_info.world} processes")
    local = config.batch // dist_info.world
    autocast, scaler = _autocast(dev)

    torch.manual_seed(config.seed)
    cl = torch.channels_last_3d
    model = build_model(config.model, config.preset).to(dev, memory_format=cl)
    disc = build_discriminator(config.model, config.preset)
    disc = disc.to(dev, memory_format=cl) if disc is not None else None
    if init_state is not None:
        model.load_state_dict(init_state)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    d_opt = torch.optim.Adam(disc.parameters(), lr=config.lr) if disc is not None else None
    start, history, seconds_before = 0, [], 0.0
    if resume is not None:
        ck = load_checkpoint(resume, map_location="cpu")
        _check_resume(ck, config, fingerprint)
        model.load_state_dict(ck["state_dict"])
        if ck.get("optimizer") is not None:
            opt.load_state_dict(ck["optimizer"])
        if disc is not None and ck.get("discriminator") is not None:
            disc.load_state_dict(ck["discriminator"])
            if ck.get("d_optimizer") is not None:
                d_opt.load_state_dict(ck["d_optimizer"])
        start, history, seconds_before = int(ck["step"]), list(ck.get("history", [])), float(ck.get("seconds", 0.0))

    net, dnet = model, disc
    if dist_info.world > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP

        ids = [dev.index] if dev.type == "cuda" else None
        net = DDP(model, device_ids=ids)
        dnet = DDP(disc, device_ids=ids) if disc is not None else None
    net.train()
    if dnet is not None:
        dnet.train()

    ds = PatchDataset(train_pairs, config.patch, config.scaling, config.seed, config.body_fraction, config.flip)
    vds = (PatchDataset(val_pairs, config.patch, config.scaling, config.seed + 1_000_003, config.body_fraction, False)
           if val_pairs else None)
    voxels = config.batch * math.prod(config.patch)
    simulation = {
        "method": config.method,
        "thickness": [p.thickness for p in pairs],
        "interval": [p.interval for p in pairs],
        "min_thickness": float(min(p.thickness for p in pairs)),
        "profile": config.profile,
        "thin_spacing_mm": float(np.median([np.median(np.diff(s.positions)) for s in everything])),
        "thin_thickness_mm": float(np.median([s.thickness for s in everything])),
    }
    data = {"series": records, "fingerprint": fingerprint, "n_train": len(train_pairs), "n_val": len(val_pairs)}

    def checkpoint(step: int) -> dict:
        return make_checkpoint(
            config, model, simulation=simulation, data=data, step=step, history=history, discriminator=disc,
            optimizer=opt, d_optimizer=d_opt, device=str(dev), world_size=dist_info.world,
            seconds=seconds_before + time.perf_counter() - t_start,
        )

    last = config.steps if stop_after is None else min(config.steps, int(stop_after))
    if start == 0 and dist_info.rank == 0:  # the untrained model: the linear-interpolation baseline
        history.append({"step": 0, "loss": math.nan, "val_loss": _val_loss(model, vds, config.val_patches, dev, autocast),
                        "seconds": 0.0, "voxels_per_s": math.nan})
    is_main = dist_info.rank == 0
    sums = {"loss": 0.0, "adv_loss": 0.0, "d_loss": 0.0, "n": 0}
    t_log = time.perf_counter()
    pbar = bar(total=config.steps, initial=start, desc=f"train {config.describe()}", unit="step",
               enabled=progress and is_main)
    try:
        for step in range(start, last):
            first = step * config.batch + dist_info.rank * local
            x, y = _batch(ds, range(first, first + local))
            x, y = x.to(dev, non_blocking=True), y.to(dev, non_blocking=True)
            with autocast():
                fake = net(x)
                loss = ((fake.float() - y) ** 2).mean()
                total = loss
                if dnet is not None:
                    with torch.no_grad():
                        real_logits = dnet(y).float()
                    adv = generator_adv_loss(real_logits, dnet(fake).float())
                    total = loss + config.adv_weight * adv
            _check_finite_loss(total, done_before=step, world=dist_info.world, dev=dev)
            _step(total, opt, scaler)
            if dnet is not None:
                with autocast():  # one forward of real and fake together (one DDP reduction)
                    logits = dnet(torch.cat([y, fake.detach()])).float()
                    d_loss = discriminator_loss(logits[: y.shape[0]], logits[y.shape[0]:])
                _step(d_loss, d_opt, scaler)
                sums["adv_loss"] += float(adv.detach())
                sums["d_loss"] += float(d_loss.detach())
            if scaler is not None and scaler.is_enabled():
                scaler.update()
            sums["loss"] += float(loss.detach())
            sums["n"] += 1
            done = step + 1
            if is_main:
                dt = max(time.perf_counter() - t_log, 1e-9)
                pbar.set_postfix(loss=f"{sums['loss'] / sums['n']:.3g}", vox_s=f"{voxels * sums['n'] / dt:.3g}")
                pbar.update(1)
            if done % config.val_every == 0 or done == config.steps or done == last:
                dt = time.perf_counter() - t_log
                entry = {"step": done, "loss": sums["loss"] / sums["n"],
                         "val_loss": _val_loss(model, vds, config.val_patches, dev, autocast) if is_main else math.nan,
                         "seconds": seconds_before + time.perf_counter() - t_start,
                         "voxels_per_s": voxels * sums["n"] / max(dt, 1e-9)}
                if dnet is not None:
                    entry.update(adv_loss=sums["adv_loss"] / sums["n"], d_loss=sums["d_loss"] / sums["n"])
                history.append(entry)
                sums = {"loss": 0.0, "adv_loss": 0.0, "d_loss": 0.0, "n": 0}
                t_log = time.perf_counter()
            if out is not None and is_main and checkpoint_every and done % checkpoint_every == 0 and done < last:
                save_checkpoint(checkpoint(done), out)
    finally:
        pbar.close()
    ckpt = checkpoint(last)
    if out is not None and is_main:
        save_checkpoint(ckpt, out)
        ckpt["path"] = str(Path(out))
    if dist_info.owns_group:
        import torch.distributed as dist

        dist.destroy_process_group()
    return TrainResult(model.to("cpu").eval(), ckpt, history)
