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
Another seed changes both the initial weights and the patches; it does not change the
validation patients or patches (``config.val_seed``), so several seeds are judged alike.

Validation and convergence: whole patients are held out (:func:`~t2tcore.sr.pairs.split_patients`);
the validation loss is the L2 loss on a fixed set of their patches, every ``config.val_every``
steps and at the end. The learning rate follows ``config.schedule`` (linear warm-up, then a
cosine to the step cap), training stops early at the first evaluation that finds it converged
(:mod:`t2tcore.sr.convergence`), and the weights of the lowest validation loss are the ones
returned and stored (``best_step``). The checkpoint records the untrained model's validation
loss (that of linear interpolation: the input itself, since every model starts as the
identity), the best, whether and why (not) the run converged. A non-finite training loss stops
the run at once with an :class:`~t2tcore.sr.errors.SRError` and writes nothing.

Devices and arithmetic: CUDA when available, else CPU; ``config.precision``
(:mod:`t2tcore.sr.precision`): mixed precision on CUDA (bfloat16 where supported, else float16
with a gradient scaler) and on CPUs that compute bfloat16 natively, float32 elsewhere;
channels-last 3-D tensors throughout. **Data-parallel** training with ``torch.distributed``: run
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

from t2tcore.sr import convergence
from t2tcore.sr.checkpoint import checkpoint_config, load_checkpoint, make_checkpoint, save_checkpoint
from t2tcore.sr.config import TrainConfig
from t2tcore.sr.errors import CheckpointError, SRError, SRInputError
from t2tcore.sr.pairs import PatchDataset, ThinSeries, make_pairs, split_patients
from t2tcore.sr.precision import autocast as precision_autocast
from t2tcore.sr.precision import resolve_precision

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
        ``step``, ``loss`` (mean training L2 since the last entry), ``val_loss``, ``lr``,
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


def _check_finite_loss(loss, done_before: int, world: int, dev, what: str = "the model", lr: float | None = None,
                       kind: str = "loss") -> None:
    """Stop training at the first loss that is NaN or infinite (on any process), before the
    step that would spread it into the weights and before any checkpoint of it."""
    import torch

    value = float(loss.detach()) if hasattr(loss, "detach") else float(loss)
    bad = not math.isfinite(value)
    if world > 1:
        import torch.distributed as dist

        flag = torch.tensor([1.0 if bad else 0.0], device=dev)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        bad = bool(flag.item() > 0)
    if bad:
        hint = f"lower the learning rate than {lr:g}" if lr is not None else "lower the learning rate"
        raise SRInputError(f"training {what} diverged: the {kind} is {value} at step {done_before + 1}; nothing was "
                           f"written (check the input for NaN or extreme values, or {hint})")


class _Validation:
    """The fixed validation patches (made once, kept on the device) and their per-patch L2."""

    def __init__(self, ds: PatchDataset, n: int, dev, chunk: int = 16) -> None:
        self.batches = [tuple(t.to(dev) for t in _batch(ds, range(a, min(n, a + chunk)))) for a in range(0, n, chunk)]
        self.n = int(n)

    def identity(self) -> np.ndarray:
        """Per-patch L2 of the input itself: the untrained model's, i.e. linear interpolation's."""
        return np.concatenate([((x - y) ** 2).flatten(1).mean(1).double().cpu().numpy() for x, y in self.batches])

    def losses(self, model, autocast) -> np.ndarray:
        import torch

        model.eval()
        out = []
        with torch.inference_mode():
            for x, y in self.batches:
                with autocast():
                    p = model(x)
                out.append(((p.float() - y) ** 2).flatten(1).mean(1).double().cpu().numpy())
        model.train()
        return np.concatenate(out)


def _state(m) -> dict:
    m = getattr(m, "module", m)  # unwrap DistributedDataParallel
    return {k: v.detach().to("cpu").clone() for k, v in m.state_dict().items()}


def _rel_se(a: np.ndarray, ref: float) -> float:
    return float(np.std(a, ddof=1) / math.sqrt(a.size) / ref) if a.size > 1 and ref > 0 else math.nan


def _summary(config: TrainConfig, done: int, per_patch: dict, untrained: np.ndarray | None, best_step: int,
             conv: convergence.Convergence, precision: str) -> dict:
    """What the run achieved (the checkpoint's ``training``; :func:`t2tcore.sr.study.training_table` reads it)."""
    if untrained is None or best_step not in per_patch:
        return {"steps": done, "cap": config.steps, "best_step": done, "val_l2_untrained": math.nan,
                "val_l2_best": math.nan, "val_ratio": math.nan, "val_ratio_se": math.nan, "val_se_rel": math.nan,
                "converged": False, "convergence": conv.to_dict(), "precision": precision,
                "note": "not converged: no validation patients, nothing to judge convergence on"}
    best = np.asarray(per_patch[best_step])
    u, b = float(untrained.mean()), float(best.mean())
    return {"steps": done, "cap": config.steps, "best_step": best_step, "val_l2_untrained": u, "val_l2_best": b,
            "val_ratio": b / u if u > 0 else math.nan, "val_ratio_se": _rel_se(best - untrained, u),
            "val_se_rel": _rel_se(best, b),
            "converged": bool(conv.converged and convergence.learned(u, b, config.converge_tol)),
            "convergence": conv.to_dict(), "precision": precision,
            "note": convergence.note(conv, steps=done, cap=config.steps, val_untrained=u, val_best=b,
                                     tol=config.converge_tol)}


def _stop_everywhere(code: int, dist_info: _Dist, dev) -> int:
    """Process 0's decision after a validation (0 go on, 1 stop early, 2 the validation loss is not
    finite), shared with every process."""
    if dist_info.world <= 1:
        return code
    import torch
    import torch.distributed as dist

    flag = torch.tensor([int(code)], device=dev)
    dist.broadcast(flag, 0)
    return int(flag.item())


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
        Model, simulation, effort, schedule, convergence rule and seeds.
    thin_series : sequence of Series or ThinSeries
        The thin training series (:class:`t2tcore.io.Series`). Unless ``val_series`` is given,
        ``config.n_val`` whole patients of them are held out for the validation loss.
    val_series : sequence of Series or ThinSeries, optional
        Explicit validation series (then none of ``thin_series`` is held out).
    out : path, optional
        Checkpoint file to write (at the end, and every ``checkpoint_every`` steps).
    resume : path or dict, optional
        A checkpoint of this config and data to continue from (its step, last weights,
        optimiser states, best weights and validation losses); ``config.steps`` may be larger
        than the checkpoint's (the cosine then follows the new cap).
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
        The model and checkpoint hold the weights of the lowest validation loss (the last
        weights when there is no validation set); ``checkpoint["training"]`` says what the run
        achieved (steps, best step, validation L2 untrained and best, converged and why).

    Raises
    ------
    SRInputError
        No usable training series, series smaller than a patch, a global batch that the
        processes cannot split evenly.
    CheckpointError
        A ``resume`` checkpoint of other settings or other data.
    SRError
        A non-finite training loss (the run diverged); nothing is written.
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
        _, va = split_patients([s.patient for s in train], config.n_val, config.val_seed)
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
    precision = resolve_precision(config.precision, dev)
    autocast, scaler = precision_autocast(dev, precision)

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
    per_patch: dict[int, list] = {}
    best_step, best_state = 0, None
    if resume is not None:
        ck = load_checkpoint(resume, map_location="cpu")
        _check_resume(ck, config, fingerprint)
        model.load_state_dict(ck.get("last_state_dict") or ck["state_dict"])
        if ck.get("optimizer") is not None:
            opt.load_state_dict(ck["optimizer"])
        if disc is not None and ck.get("discriminator") is not None:
            disc.load_state_dict(ck["discriminator"])
            if ck.get("d_optimizer") is not None:
                d_opt.load_state_dict(ck["d_optimizer"])
        start, history, seconds_before = int(ck["step"]), list(ck.get("history", [])), float(ck.get("seconds", 0.0))
        per_patch = {int(k): list(v) for k, v in (ck.get("val_patch_losses") or {}).items()}
        best_step = int((ck.get("training") or {}).get("best_step", start))
        best_state = {k: v.clone() for k, v in ck["state_dict"].items()}

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
    is_main = dist_info.rank == 0
    vds = (PatchDataset(val_pairs, config.patch, config.scaling, config.val_seed + 1_000_003, config.body_fraction,
                        False) if val_pairs else None)
    vset = _Validation(vds, config.val_patches, dev) if vds is not None and is_main else None
    untrained = vset.identity() if vset is not None else None
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
    rule = {"tol": config.converge_tol, "window": config.converge_window, "smooth": config.converge_smooth,
            "min_steps": config.min_steps}
    conv = convergence.check(per_patch, **rule) if per_patch else convergence.Convergence()

    def checkpoint(step: int) -> dict:
        last = _state(model)
        keep = best_state if best_state is not None and vset is not None else last
        return make_checkpoint(
            config, model, simulation=simulation, data=data, step=step, history=history, discriminator=disc,
            optimizer=opt, d_optimizer=d_opt, device=str(dev), world_size=dist_info.world,
            seconds=seconds_before + time.perf_counter() - t_start, state_dict=keep, last_state_dict=last,
            training=_summary(config, step, per_patch, untrained, best_step if vset is not None else step, conv,
                              precision),
            val_patch_losses={str(k): [float(x) for x in v] for k, v in per_patch.items()},
        )

    last = config.steps if stop_after is None else min(config.steps, int(stop_after))
    if start == 0 and vset is not None:  # the starting model (untrained: the linear-interpolation baseline)
        per_patch[0] = vset.losses(model, autocast).tolist()
        history.append({"step": 0, "loss": math.nan, "val_loss": float(np.mean(per_patch[0])), "lr": math.nan,
                        "seconds": 0.0, "voxels_per_s": math.nan})
    elif start == 0 and is_main:
        history.append({"step": 0, "loss": math.nan, "val_loss": math.nan, "lr": math.nan, "seconds": 0.0,
                        "voxels_per_s": math.nan})
    sums = {"loss": 0.0, "adv_loss": 0.0, "d_loss": 0.0, "n": 0}
    t_log = time.perf_counter()
    pbar = bar(total=config.steps, initial=start, desc=f"train {config.describe()}", unit="step",
               enabled=progress and is_main)
    done = start
    try:
        for step in range(start, last):
            lr = config.lr * convergence.lr_factor(step, config.steps, schedule=config.schedule, warmup=config.warmup,
                                                   min_lr_ratio=config.min_lr_ratio)
            for o in (opt, d_opt):
                for g in (o.param_groups if o is not None else ()):
                    g["lr"] = lr
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
            _check_finite_loss(total, done_before=step, world=dist_info.world, dev=dev, what=config.describe(), lr=config.lr)
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
            stop, diverged = False, False
            if done % config.val_every == 0 or done == config.steps or done == last:
                dt = time.perf_counter() - t_log
                val_loss = math.nan
                if vset is not None:
                    per_patch[done] = vset.losses(model, autocast).tolist()
                    val_loss = float(np.mean(per_patch[done]))
                    diverged = not math.isfinite(val_loss)
                    if best_state is None or val_loss < float(np.mean(per_patch[best_step])) or best_step == 0:
                        best_step, best_state = done, _state(model)
                    conv = convergence.check(per_patch, **rule)
                    stop = config.early_stop and conv.converged
                entry = {"step": done, "loss": sums["loss"] / sums["n"], "val_loss": val_loss, "lr": lr,
                         "seconds": seconds_before + time.perf_counter() - t_start,
                         "voxels_per_s": voxels * sums["n"] / max(dt, 1e-9)}
                if dnet is not None:
                    entry.update(adv_loss=sums["adv_loss"] / sums["n"], d_loss=sums["d_loss"] / sums["n"])
                history.append(entry)
                sums = {"loss": 0.0, "adv_loss": 0.0, "d_loss": 0.0, "n": 0}
                t_log = time.perf_counter()
                code = _stop_everywhere(2 if diverged else int(stop), dist_info, dev)
                if code == 2:
                    raise SRInputError(f"training {config.describe()} diverged: the validation loss is {val_loss} at "
                                       f"step {done}; nothing was written (lower the learning rate than {config.lr:g})")
                stop = bool(code)
            if out is not None and is_main and checkpoint_every and done % checkpoint_every == 0 and done < last:
                save_checkpoint(checkpoint(done), out)
            if stop:
                break
    finally:
        pbar.close()
    ckpt = checkpoint(done)
    if out is not None and is_main:
        save_checkpoint(ckpt, out)
        ckpt["path"] = str(Path(out))
    if dist_info.owns_group:
        import torch.distributed as dist

        dist.destroy_process_group()
    model.load_state_dict(ckpt["state_dict"])
    return TrainResult(model.to("cpu").eval(), ckpt, history)
