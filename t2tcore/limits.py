"""How much memory one computation may ask for: refuse, before allocating, what cannot fit.

A mistyped argument (``--interval 1e-6``, ``--node-spacing 0.0001``) asks for millions of
slices or kernel nodes; numpy would try to allocate them, the machine would swap for
minutes and the run would die with a ``MemoryError`` traceback. :func:`check_fits` refuses
such a request up front, in one line that says how many items it would have made and how
much memory that needs, against :func:`memory_budget`: half of the memory this process can
have (the machine's, or a smaller cgroup limit, as containers set).
"""

from __future__ import annotations

import os

from t2tcore.errors import T2TError

__all__ = ["TooLargeError", "memory_budget", "check_fits", "human_bytes"]


class TooLargeError(T2TError, ValueError):
    """A request that would need more memory than :func:`memory_budget` allows."""


def _cgroup_limit() -> int | None:
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path, encoding="ascii") as f:
                text = f.read().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 1 << 60:
            return int(text)
    return None


def memory_budget() -> int:
    """Bytes one computation may use: half of the machine's memory (or of a cgroup limit)."""
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        total = 8 << 30
    limit = _cgroup_limit()
    if limit is not None:
        total = min(total, limit)
    return int(total) // 2


def human_bytes(n: float) -> str:
    """``1.5 GiB``-style size."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.3g} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.3g} PiB"  # pragma: no cover


def check_fits(count: float, bytes_each: float, what: str, advice: str = "") -> None:
    """Refuse ``count`` items of ``bytes_each`` bytes if they exceed :func:`memory_budget`.

    Parameters
    ----------
    count : float
        How many items (slices, nodes...) the request would make (may be huge: it is never
        allocated here).
    bytes_each : float
        Memory per item, bytes (everything that grows with the count).
    what : str
        The items, plural ("thick slices", "kernel nodes").
    advice : str, optional
        What to do instead, appended to the message.

    Raises
    ------
    TooLargeError
        With the count, the memory it needs and the budget.
    """
    need = float(count) * float(bytes_each)
    budget = memory_budget()
    if need > budget:
        tail = f"; {advice}" if advice else ""
        raise TooLargeError(
            f"this would make {count:,.0f} {what}, which need {human_bytes(need)}: more than half of this machine's "
            f"memory ({human_bytes(budget)} of {human_bytes(2 * budget)}){tail}"
        )
