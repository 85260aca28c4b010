"""Measuring SR models: inference time and peak memory per volume, training throughput.

Used by chapter 06 (Table VI: :mod:`t2tcore.studies.sr_benchmark`) and ``benchmarks/bench_sr.py``.
Timings are wall-clock seconds of one call (after a warm-up call on a small volume), on the device
named by :func:`device_name`.

Peak memory (:class:`PeakMemory`): on CUDA, ``torch.cuda.max_memory_allocated`` over the call
(tensors only); on CPU, the process's resident set size sampled every few milliseconds by a
thread reading ``/proc/self/statm`` (Linux), minus the resident size before the call: the
memory the call added at its peak, whatever allocated it (torch, numpy). Elsewhere on CPU it
is not measured (NaN).
"""

from __future__ import annotations

import math
import os
import threading
import time
from typing import Any, Sequence

import numpy as np

from t2tcore._lazy import moved_names

__all__ = ["PeakMemory", "device_name", "time_inference", "time_training"]

#: Chapter 06's Table VI (``table6``, ``table6_cells``) is :mod:`t2tcore.studies.sr_benchmark`; the old names
#: resolve there for one release, with a DeprecationWarning.
__getattr__, __dir__ = moved_names(__name__, dict.fromkeys(["table6", "table6_cells"], "t2tcore.studies.sr_benchmark"))


def device_name(device: Any = "cpu") -> str:
    """A human name of a torch device: the GPU's name, or the CPU model and its thread count."""
    from t2tcore.device import device_name as name

    return name(device)


def _trim() -> None:
    """Give freed heap memory back to the system (glibc ``malloc_trim``), so that the resident
    size before a measurement is not inflated by memory an earlier call freed."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _rss_bytes() -> int | None:
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


class PeakMemory:
    """Context manager measuring the peak memory a block adds (bytes in :attr:`peak`).

    Parameters
    ----------
    device : str or torch.device
        ``cuda`` devices use the CUDA allocator's statistics, CPU the sampled RSS.
    interval_s : float
        RSS sampling period on CPU.
    """

    def __init__(self, device: Any = "cpu", interval_s: float = 0.002) -> None:
        import torch

        self.device = torch.device(device)
        self.interval_s = float(interval_s)
        self.peak = math.nan
        self._stop = threading.Event()

    def __enter__(self) -> "PeakMemory":
        import torch

        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._base = torch.cuda.memory_allocated(self.device)
            return self
        import gc

        gc.collect()
        _trim()
        self._base = _rss_bytes()
        self._max = self._base
        if self._base is not None:
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.is_set():
            r = _rss_bytes()
            if r is not None and r > self._max:
                self._max = r
            self._stop.wait(self.interval_s)

    def __exit__(self, *exc) -> None:
        import torch

        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.peak = float(torch.cuda.max_memory_allocated(self.device) - self._base)
            return
        if self._base is None:
            return
        self._stop.set()
        self._thread.join()
        r = _rss_bytes()
        if r is not None:
            self._max = max(self._max, r)
        self.peak = float(self._max - self._base)


def _sync(device) -> None:
    import torch

    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def time_inference(
    model,
    shape: Sequence[int],
    *,
    device: Any = "cpu",
    roi: Sequence[int] = (32, 512, 512),
    overlap: float = 0.25,
    repeats: int = 1,
    seed: int = 0,
    precision: str = "auto",
    max_slab_voxels: int | None = None,
) -> dict:
    """Time :func:`t2tcore.sr.infer.predict` on a random volume of ``shape`` (z, y, x).

    ``precision`` and ``max_slab_voxels`` are passed to ``predict``.

    Returns
    -------
    dict
        ``seconds`` (median of ``repeats``), ``peak_mb`` (largest peak the calls added, MB),
        ``voxels``, ``mvoxels_per_s``, ``device`` (its name), ``precision`` (as resolved).
    """
    from t2tcore.sr.infer import MAX_SLAB_VOXELS, predict
    from t2tcore.sr.precision import resolve_precision

    model = model.to(device).eval()
    rng = np.random.default_rng(seed)
    vol = rng.standard_normal(tuple(int(s) for s in shape), dtype=np.float32) * 0.1
    small = vol[: min(4, vol.shape[0]), : min(16, vol.shape[1]), : min(16, vol.shape[2])]
    kw = {"roi": roi, "overlap": overlap, "device": device, "precision": precision,
          "max_slab_voxels": int(max_slab_voxels or MAX_SLAB_VOXELS)}
    predict(model, small, **kw)  # warm-up (allocators, kernels)
    times, peaks = [], []
    for _ in range(max(1, int(repeats))):
        with PeakMemory(device) as mem:
            _sync(device)
            t0 = time.perf_counter()
            out = predict(model, vol, **kw)
            _sync(device)
            times.append(time.perf_counter() - t0)
        peaks.append(mem.peak)
        del out
    sec = float(np.median(times))
    return {"seconds": sec, "peak_mb": float(np.nanmax(peaks)) / 2**20 if np.isfinite(peaks).any() else math.nan,
            "voxels": int(vol.size), "mvoxels_per_s": vol.size / sec / 1e6, "device": device_name(device),
            "precision": resolve_precision(precision, device)}


def time_training(
    model_name: str,
    preset: str,
    *,
    device: Any = "cpu",
    batch: int = 4,
    patch: Sequence[int] = (16, 48, 48),
    steps: int = 3,
    adversarial: bool | None = None,
    precision: str = "auto",
    channels_last: bool = True,
    max_seconds: float | None = None,
) -> dict:
    """Training throughput of one model: voxels per second over ``steps`` steps on random patches.

    One warm-up step is not counted. ESRGAN (``adversarial`` None: by name) includes its
    discriminator step, as :func:`t2tcore.sr.train.train_model` does. ``precision``
    (:mod:`t2tcore.sr.precision`) and ``channels_last`` (channels-last 3-D tensors, as training
    uses) choose the arithmetic and the memory layout; ``max_seconds`` stops the timed steps
    early (at least one is taken).

    Returns
    -------
    dict
        ``seconds_per_step``, ``voxels_per_s``, ``steps`` (timed), ``peak_mb`` (memory the
        steps added at their peak: CUDA allocations, or the process's resident memory on CPU),
        ``device``, ``precision`` (as resolved).
    """
    import torch

    from t2tcore.sr.models import build_discriminator, build_model
    from t2tcore.sr.models.esrgan import discriminator_loss, generator_adv_loss
    from t2tcore.sr.precision import autocast, resolve_precision
    from t2tcore.sr.train import _step as backward  # the trainer's own backward pass and optimiser step

    dev = torch.device(device)
    torch.manual_seed(0)
    fmt = torch.channels_last_3d if channels_last else torch.contiguous_format
    g = build_model(model_name, preset).to(dev, memory_format=fmt).train()
    d = build_discriminator(model_name, preset) if adversarial is not False else None
    d = d.to(dev, memory_format=fmt).train() if d is not None else None
    opt = torch.optim.Adam(g.parameters(), lr=1e-4)
    d_opt = torch.optim.Adam(d.parameters(), lr=1e-4) if d is not None else None
    x = (torch.randn(int(batch), 1, *patch, device=dev) * 0.1).contiguous(memory_format=fmt)
    y = (x + 0.01 * torch.randn_like(x)).contiguous(memory_format=fmt)
    prec = resolve_precision(precision, dev)
    ctx, scaler = autocast(dev, prec)

    def step() -> None:
        with ctx():
            fake = g(x)
            loss = ((fake.float() - y) ** 2).mean()
            if d is not None:
                with torch.no_grad():
                    real = d(y).float()
                loss = loss + 1e-3 * generator_adv_loss(real, d(fake).float())
        backward(loss, opt, scaler)
        if d is not None:
            with ctx():
                logits = d(torch.cat([y, fake.detach()])).float()
                dl = discriminator_loss(logits[: y.shape[0]], logits[y.shape[0]:])
            backward(dl, d_opt, scaler)
        if scaler is not None and scaler.is_enabled():
            scaler.update()

    step()
    _sync(dev)
    n = 0
    with PeakMemory(dev) as mem:
        t0 = time.perf_counter()
        while n < max(1, int(steps)):
            step()
            n += 1
            if max_seconds is not None and time.perf_counter() - t0 > max_seconds:
                _sync(dev)
                if time.perf_counter() - t0 > max_seconds:
                    break
        _sync(dev)
        sps = (time.perf_counter() - t0) / n
    return {"seconds_per_step": sps, "voxels_per_s": x.numel() / sps, "steps": n,
            "peak_mb": mem.peak / 2**20 if np.isfinite(mem.peak) else math.nan, "device": device_name(dev),
            "precision": prec}
