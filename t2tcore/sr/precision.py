"""Which arithmetic SR training and inference use on a device (:func:`resolve_precision`, :func:`autocast`).

``precision`` is one of

* ``"fp32"``: float32 everywhere (eager PyTorch, channels-last 3-D tensors);
* ``"bf16"``: ``torch.autocast`` with bfloat16 (convolutions and matrix products in bfloat16,
  losses and the global residual in float32); on CUDA float16 with a gradient scaler where the
  GPU has no bfloat16;
* ``"auto"``: bf16 where the device computes it natively (CUDA; a CPU with AVX512-BF16 or AMX
  tiles), fp32 elsewhere.

Why the CPU test: without AVX512-BF16/AMX, oneDNN converts every bfloat16 operand to float32
and back, which is slower than float32 (measured with ``benchmarks/bench_sr.py`` on an AVX2-only
AMD EPYC: see its docstring). bf16 can still be *asked for* on such a CPU (the tests do, to
check that bf16 and fp32 predictions agree); it is only slow there.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any, Callable

__all__ = ["PRECISIONS", "autocast", "cpu_bf16_native", "resolve_precision"]

PRECISIONS = ("auto", "fp32", "bf16")

# /proc/cpuinfo flags of a CPU that computes bfloat16 natively.
_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


@functools.lru_cache(maxsize=1)
def cpu_bf16_native() -> bool:
    """True when this CPU computes bfloat16 in hardware (AVX512-BF16 or AMX, from ``/proc/cpuinfo``)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return any(fl in flags for fl in _BF16_FLAGS)
    except OSError:
        pass
    return False


def resolve_precision(precision: str, device: Any = "cpu") -> str:
    """``"fp32"`` or ``"bf16"``: what ``precision`` means on ``device`` (see the module docstring)."""
    import torch

    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision != "auto":
        return precision
    dev = torch.device(device)
    if dev.type == "cuda":
        return "bf16"
    return "bf16" if dev.type == "cpu" and cpu_bf16_native() else "fp32"


def autocast(device: Any, precision: str) -> tuple[Callable[[], Any], Any]:
    """(context factory, gradient scaler or None) for one device and a resolved precision.

    On CUDA the low precision is bfloat16 where the GPU supports it, else float16 with a
    ``torch.amp.GradScaler``; on CPU bfloat16 (no scaler). ``"fp32"``: a null context.
    """
    import torch

    dev = torch.device(device)
    if resolve_precision(precision, dev) == "fp32":
        return contextlib.nullcontext, None
    if dev.type == "cuda":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        scaler = torch.amp.GradScaler("cuda", enabled=dtype == torch.float16)
        return (lambda: torch.autocast("cuda", dtype=dtype)), scaler
    return (lambda: torch.autocast(dev.type, dtype=torch.bfloat16)), None
