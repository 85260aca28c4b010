"""Where torch computes: the default device, a requested device checked, and its name.

Every part of t2t that runs torch (the scanner, the virtual cohorts, FID, SR training and
benchmarks) asks here, so ``device=None`` means the same everywhere (CUDA when torch sees a GPU,
else the CPU) and a bad ``--device`` fails the same way: one line, before any work.

torch is imported inside the functions: ``import t2tcore`` and ``t2t --help`` do not pay for it.
"""

from __future__ import annotations

import platform
from typing import Any

from t2tcore.errors import T2TError

__all__ = ["check_device", "default_device", "device_name", "resolve_device"]


def default_device():
    """``torch.device("cuda")`` when torch sees a CUDA GPU, else ``torch.device("cpu")``."""
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def resolve_device(device: Any = None):
    """``device`` as a :class:`torch.device`; None: :func:`default_device`. Not checked (see :func:`check_device`)."""
    import torch

    return default_device() if device is None else torch.device(device)


def check_device(device: Any, error: type[Exception] = T2TError):
    """``device`` as a :class:`torch.device` (None stays None), or ``error`` with a one-line reason.

    Raised for a name torch does not know, and for CUDA asked for where torch sees no GPU.

    Parameters
    ----------
    device : str, torch.device or None
    error : exception type
        What to raise (a :class:`~t2tcore.errors.T2TError` subclass, so the CLI prints one line).
    """
    import torch

    if device is None:
        return None
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise error(f"unknown device {device!r} ({exc})") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise error(f"device {device!r} asked for, but torch sees no CUDA GPU")
    return dev


def device_name(device: Any = "cpu", detail: bool = True) -> str:
    """What a device is, for a record or a table.

    Parameters
    ----------
    device : str, torch.device or None
        None: :func:`default_device`.
    detail : bool
        True: the GPU's name (``"NVIDIA H100 (CUDA)"``) or the CPU model and torch's thread count;
        False: torch's short name (``"cpu"``, ``"cuda"``, ``"cuda:1"``).
    """
    import torch

    dev = resolve_device(device)
    if not detail:
        return str(dev)
    if dev.type == "cuda":
        return f"{torch.cuda.get_device_name(dev)} (CUDA)"
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf8") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {torch.get_num_threads()} torch threads (CPU)"
