"""Running the per-file work of the readers and writers in parallel.

Standard-library pools (:mod:`concurrent.futures` threads, :mod:`multiprocessing` forked
processes) do the work; this module only decides which to use per phase, keeps the order of
the results, feeds a progress bar and hands large arrays to forked workers without pickling
them (:data:`SHARED`, :func:`new_volume`).
"""

from __future__ import annotations

import mmap
import os
import sys
from typing import Any, Callable, Sequence

import numpy as np

__all__ = ["PARALLEL", "SHARED", "mode", "pmap", "new_volume", "progress_bar"]

# Below this many files everything runs in this process.
_PARALLEL_MIN_FILES = 48

#: How each phase runs: "process" (forked workers, Linux only), "thread" or "serial".
#: Overridden for all phases by the environment variable ``T2T_PARALLEL``.
#: Measured with benchmarks/bench_cli.py on the shared 2-core machine (525 files of 512 x 512,
#: load average 5-10 from other jobs), ``t2t simulate`` end to end, interleaved rounds:
#: serial work used the least CPU and wall time (about 3.5x dcm2niix against 4x with
#: threads and 4.4x with processes). pydicom's header parsing and the encoding of the few
#: per-slice elements hold the GIL, so threads only add switching; reading uncompressed
#: pixels and writing files release it, but with the machine busy a second thread found no
#: idle core (the kernel shares the CPUs between sessions, not threads) and cost more than
#: it overlapped. Forked processes cost more CPU still (pool start, pickling the header
#: records back). Compressed pixels are decoded by plugins that hold the GIL and take
#: milliseconds a file: processes.
PARALLEL = {"scan": "serial", "decode": "serial", "decode_compressed": "process", "write": "serial"}

#: Objects handed to forked workers by token (inherited at fork time, never pickled).
SHARED: dict[int, Any] = {}


def _n_workers() -> int:
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    return max(1, min(n, 8))


def mode(phase: str, n_items: int) -> str:
    """How ``phase`` runs for ``n_items`` files: "serial", "thread" or "process"."""
    chosen = os.environ.get("T2T_PARALLEL", "").strip().lower() or PARALLEL.get(phase, "thread")
    if chosen not in ("process", "thread", "serial"):
        chosen = "thread"
    if n_items < _PARALLEL_MIN_FILES or _n_workers() < 2:
        return "serial"
    if chosen == "process" and not sys.platform.startswith("linux"):
        return "thread"  # fork is only safe and cheap on Linux
    return chosen


def pmap(func: Callable, items: Sequence, phase: str, bar: Any = None) -> list:
    """``[func(x) for x in items]`` in parallel (order kept), updating a tqdm ``bar``."""
    how = mode(phase, len(items))
    out: list = []
    if how == "serial":
        for x in items:
            out.append(func(x))
            if bar is not None:
                bar.update(1)
        return out
    workers = _n_workers()
    if how == "process":
        import multiprocessing as mp

        chunk = max(1, min(32, len(items) // (workers * 8)))
        with mp.get_context("fork").Pool(workers) as pool:
            for r in pool.imap(func, items, chunksize=chunk):
                out.append(r)
                if bar is not None:
                    bar.update(1)
        return out
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers) as ex:
        for r in ex.map(func, items):
            out.append(r)
            if bar is not None:
                bar.update(1)
    return out


def new_volume(shape: tuple[int, int, int], shared: bool) -> np.ndarray:
    """An uninitialised float32 array; in anonymous shared memory (writable by forked
    workers) if ``shared``."""
    nbytes = int(np.prod(shape)) * 4
    if not shared or nbytes == 0:
        return np.empty(shape, np.float32)  # numpy asks the kernel for huge pages itself
    buf = mmap.mmap(-1, nbytes)
    if hasattr(mmap, "MADV_HUGEPAGE"):  # fewer page faults when the workers fill it, as numpy does
        try:
            buf.madvise(mmap.MADV_HUGEPAGE)
        except OSError:  # pragma: no cover - a kernel without transparent huge pages
            pass
    return np.frombuffer(buf, dtype=np.float32).reshape(shape)


def progress_bar(progress: bool, total: int, desc: str, unit: str = "file"):
    """A tqdm bar from :func:`t2tcore.progress.bar`, or None when ``progress`` is False."""
    if not progress:
        return None
    from t2tcore.progress import bar

    return bar(total=total, desc=desc, unit=unit)
