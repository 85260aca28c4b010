"""Where the tasks of ``t2t pairs`` run: this process, local worker processes, or a Dask cluster.

:func:`run_tasks` hands each task to ``func`` and yields the results as they finish, in
whatever order. The work is the same in all three places; only the executor changes:

* ``workers=1``: one after another in this process;
* ``workers=N``: a :class:`concurrent.futures.ProcessPoolExecutor` of at most N processes
  (forked on Linux; ``spawn`` elsewhere, where a calling script needs the
  ``if __name__ == "__main__":`` guard). Each process holds one task, so memory is bounded
  by N series. The workers end with this process, even when it is killed (``kill -9``);
* ``scheduler="tcp://HOST:PORT"``: Dask's :class:`distributed.Client` connected to an
  existing scheduler submits the tasks (``client.map``) to the cluster's workers, which
  must import t2tcore and see the paths under the same names.

When the consumer stops early (``--strict``, Ctrl-C) the tasks not started are cancelled;
those running finish their own all-or-nothing write.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
import uuid
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Iterator, Sequence

from t2tcore.errors import T2TError

__all__ = ["CONNECT_TIMEOUT_S", "RunnerError", "run_tasks"]

#: Seconds to wait for the Dask scheduler before giving up.
CONNECT_TIMEOUT_S = 10


class RunnerError(T2TError):
    """The executor cannot run: Dask missing or its scheduler unreachable."""


def _die_with_parent(parent: int) -> None:
    """Initializer of a local worker: end when the process that started it ends, even by ``kill -9``.

    Without it, a killed ``t2t pairs`` leaves its workers running (adopted by init), still
    writing into OUT while a rerun takes the lock over. Linux: the kernel sends SIGKILL at the
    parent's death (``prctl(PR_SET_PDEATHSIG)``); elsewhere a thread polls the parent's pid. A
    worker killed mid-pair leaves only staging, which the next run removes.
    """
    import signal
    import threading
    import time

    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # 1: PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
        else:
            if os.getppid() != parent:  # the parent died before the prctl
                os._exit(1)
            return

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="t2t-parent-watch").start()


def _local(tasks: Sequence, func: Callable, workers: int, failed: Callable) -> Iterator:
    if workers <= 1 or len(tasks) <= 1:
        for task in tasks:
            yield func(task)
        return
    # fork on Linux, as t2tcore.io._parallel does: the workers start with everything imported, and
    # a script calling make_pairs needs no `if __name__ == "__main__":` guard (spawn and forkserver
    # import the caller's script again in every worker)
    ctx = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    pool = ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=ctx,
                               initializer=_die_with_parent, initargs=(os.getpid(),))
    try:
        futures = {pool.submit(func, task): task for task in tasks}
        for future in as_completed(futures):
            try:
                yield future.result()
            except BrokenProcessPool:
                yield failed(futures[future], "the worker process died while making it (out of memory?)")
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _dask(tasks: Sequence, func: Callable, address: str, failed: Callable, name: Callable) -> Iterator:
    try:
        from distributed import Client, as_completed as dask_completed
    except ImportError:
        raise RunnerError("--scheduler needs Dask's distributed: pip install 't2t[pipelines]'") from None

    class _QuietClient(Client):
        """A Client whose failed start is not closed again at garbage collection (which waited
        20 s and printed "Exception ignored in Client.__del__ ... TimeoutError")."""

        failed = False

        def __del__(self):
            if not self.failed:
                super().__del__()

    client = _QuietClient.__new__(_QuietClient)  # kept, so that a failed start can be cleaned up here
    try:
        client.__init__(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except Exception as exc:  # noqa: BLE001 - OSError, TimeoutError, ValueError for a bad address
        client.failed = True
        with contextlib.suppress(Exception):
            client._loop_runner.stop()  # its event loop thread; nothing else was started
        raise RunnerError(f"cannot reach the Dask scheduler at {address} ({type(exc).__name__}: {exc})") from None
    run = uuid.uuid4().hex[:8]
    futures = []
    try:
        futures = client.map(func, list(tasks), pure=False, key=[f"t2t-pairs-{run}-{name(t)}" for t in tasks])
        by_key = {f.key: t for f, t in zip(futures, tasks)}
        for future in dask_completed(futures, loop=client.loop):
            try:
                yield future.result()
            except Exception as exc:  # noqa: BLE001 - a worker died (KilledWorker), a task could not be sent
                yield failed(by_key[future.key], f"the Dask task failed ({type(exc).__name__}: {exc})".splitlines()[0])
    finally:
        if futures:
            client.cancel(futures)
        client.close()


def run_tasks(
    tasks: Sequence[Any],
    func: Callable[[Any], Any],
    *,
    workers: int = 1,
    scheduler: str | None = None,
    failed: Callable[[Any, str], Any],
    name: Callable[[Any], str] = str,
) -> Iterator[Any]:
    """``func(task)`` for every task, yielded as each finishes.

    Parameters
    ----------
    tasks : sequence
        Picklable tasks.
    func : callable
        A module-level function (importable by the workers) that does not raise on bad input.
    workers : int
        Local processes (1: this process). Not used with ``scheduler``.
    scheduler : str, optional
        Address of a Dask scheduler (``tcp://HOST:PORT``).
    failed : callable
        ``failed(task, reason)`` -> the result to yield for a task whose worker died.
    name : callable
        A short unique name of a task (Dask keys).

    Yields
    ------
    The results, in the order they finish.

    Raises
    ------
    RunnerError
        Dask is not installed or the scheduler cannot be reached.
    """
    if scheduler:
        yield from _dask(tasks, func, scheduler, failed, name)
    else:
        yield from _local(tasks, func, int(workers), failed)
