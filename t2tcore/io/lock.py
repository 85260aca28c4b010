"""An exclusive claim of an output path for one run: a lock file beside it, as git's ``index.lock``.

:func:`acquire` creates ``.NAME.t2t-lock`` beside the output ``NAME`` with
``O_CREAT | O_EXCL`` (atomic on every local file system and on NFSv3+), writes who holds it
(pid, host, the process's start time, the command) and :func:`release` removes it at the
end. A second run that wants the same output finds the file and stops with one line naming
the holder. A lock left by a process that no longer exists (``kill -9``, a crash, a
reboot) is *stale*: the next run on the same host takes it over, with a note. The holder's
start time (from ``/proc``) tells a live holder from an unrelated process that got its pid
later. A lock written on another host is never taken over: the message names the file to
remove once that run is known to be gone.

Claims are re-entrant within one process (a command that claims its output for the whole
run and then calls a writer that claims it again): the file is removed when the last claim
is released. Forked worker processes never release their parent's lock.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LOCK_SUFFIX", "LockOwner", "lock_path", "acquire", "release", "held", "process_alive"]

#: The lock file of output ``NAME`` is ``.NAME`` + this, in the same folder.
LOCK_SUFFIX = ".t2t-lock"

# lock file -> [number of claims, pid that made them] of this process
_HELD: dict[Path, list[int]] = {}

# A lock file younger than this whose content cannot be read yet is being written, not stale.
_FRESH_S = 5.0
# A take-over marker older than this was left by a process killed while taking over.
_BREAK_STALE_S = 30.0


def lock_path(out: str | os.PathLike) -> Path:
    """The lock file of the output ``out``: ``.NAME.t2t-lock`` in the same folder (absolute)."""
    out = Path(out).expanduser().absolute()
    return out.parent / f".{out.name}{LOCK_SUFFIX}"


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _start_ticks(pid: int) -> str:
    """When process ``pid`` started (clock ticks since boot, /proc/PID/stat field 22), or ''."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    # the command name (field 2) is in parentheses and may hold spaces: split after it
    return stat.rsplit(")", 1)[-1].split()[19]


def process_alive(pid: int, start: str = "") -> bool:
    """True if process ``pid`` runs on this host (and, when ``start`` is given as recorded by
    :func:`acquire`, is the same process, not a later one with the same pid)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        pass
    if start and ":" in start:
        boot, ticks = start.split(":", 1)
        now_boot = _boot_id()
        if boot and now_boot and boot != now_boot:
            return False  # recorded before a reboot
        now_ticks = _start_ticks(pid)
        if ticks and now_ticks and ticks != now_ticks:
            return False  # the pid was reused
    return True


@dataclass(frozen=True)
class LockOwner:
    """Who holds a lock file (what :func:`acquire` wrote into it)."""

    pid: int
    host: str
    start: str = ""
    created: str = ""
    command: str = ""

    def alive(self) -> bool | None:
        """True/False on this host; None when the lock was made on another host (unknown)."""
        if self.host != socket.gethostname():
            return None
        return process_alive(self.pid, self.start)

    def describe(self) -> str:
        since = f" since {self.created}" if self.created else ""
        what = f" ({self.command})" if self.command else ""
        return f"pid {self.pid} on {self.host}{since}{what}"

    @classmethod
    def read(cls, path: Path) -> "LockOwner | None":
        """The owner recorded in ``path``; None if it is missing or unreadable."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(int(data["pid"]), str(data["host"]), str(data.get("start", "")),
                       str(data.get("created", "")), str(data.get("command", "")))
        except (OSError, ValueError, KeyError, TypeError):
            return None


def _me() -> dict:
    pid = os.getpid()
    return {
        "pid": pid,
        "host": socket.gethostname(),
        "start": f"{_boot_id()}:{_start_ticks(pid)}",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:])[:300] if sys.argv and sys.argv[0] else "",
    }


def held(out: str | os.PathLike) -> bool:
    """True if this process holds the lock of output ``out``."""
    entry = _HELD.get(lock_path(out))
    return entry is not None and entry[1] == os.getpid()


def _create(lock: Path) -> bool:
    """Create ``lock`` exclusively with our owner record; False if it exists."""
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
    except FileExistsError:
        return False
    data = (json.dumps(_me()) + "\n").encode("utf-8")
    try:
        if os.write(fd, data) != len(data):
            raise OSError(errno.ENOSPC, "No space left on device (the lock file was cut short)")
    except BaseException:  # a disk full: no empty lock file left, which later runs took for one starting
        os.close(fd)
        lock.unlink(missing_ok=True)
        raise
    os.close(fd)
    return True


def _take_over(lock: Path, seen: LockOwner | None) -> bool:
    """Remove a stale ``lock`` if it still holds what we saw; True if it is gone.

    A second marker file (``LOCK.break``, also ``O_EXCL``) makes sure that of two runs taking
    over one stale lock at once, only one removes it (never the new lock of the other).
    """
    brk = lock.with_name(lock.name + ".break")
    try:
        fd = os.open(brk, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
    except FileExistsError:
        try:
            if time.time() - brk.stat().st_mtime > _BREAK_STALE_S:
                brk.unlink(missing_ok=True)
        except OSError:
            pass
        return False
    os.close(fd)
    try:
        if LockOwner.read(lock) != seen:
            return False
        lock.unlink(missing_ok=True)
        return True
    finally:
        brk.unlink(missing_ok=True)


def acquire(out: str | os.PathLike) -> tuple[Path, str | None]:
    """Claim the output ``out`` for this process.

    Parameters
    ----------
    out : str or path-like
        The output file or folder (it need not exist; its folder must).

    Returns
    -------
    lock : pathlib.Path
        The lock file (pass ``out`` to :func:`release` at the end).
    note : str or None
        What was taken over (a stale lock of a process that is gone), for the user.

    Raises
    ------
    BlockingIOError
        Another live process holds the claim (or one on another host: unknown); the
        message says who and which file to remove if that run is known to be gone.
    OSError
        The lock file cannot be created (e.g. ``PermissionError``: the folder is not
        writable).
    """
    lock = lock_path(out)
    entry = _HELD.get(lock)
    if entry is not None and entry[1] == os.getpid():
        entry[0] += 1
        return lock, None
    note = None
    for _ in range(5):
        if _create(lock):
            _HELD[lock] = [1, os.getpid()]
            return lock, note
        owner = LockOwner.read(lock)
        if owner is None:
            try:
                age = time.time() - lock.stat().st_mtime
            except FileNotFoundError:
                continue
            if age < _FRESH_S:  # being written by a run that just started
                time.sleep(0.05)
                continue
            state = False  # an unreadable lock file that old: left by a crash
        else:
            state = owner.alive()
        if state is None or state:
            who = owner.describe() if owner is not None else "another process"
            where = "" if state else f"; if that run is gone, remove {lock}"
            raise BlockingIOError(f"is being written by another t2t run ({who}){where}")
        if _take_over(lock, owner):
            gone = owner.describe() if owner is not None else "an unreadable lock file"
            note = f"took over the stale lock {lock.name} of a run that is gone ({gone})"
    raise BlockingIOError(f"cannot claim it: {lock} keeps changing (another run is starting?)")


def release(out: str | os.PathLike) -> None:
    """Give back a claim made by :func:`acquire` (the lock file goes with the last one)."""
    lock = lock_path(out)
    entry = _HELD.get(lock)
    if entry is None or entry[1] != os.getpid():
        return  # not ours (e.g. a forked worker): leave it to the owner
    entry[0] -= 1
    if entry[0] <= 0:
        del _HELD[lock]
        owner = LockOwner.read(lock)
        if owner is None or owner.pid == os.getpid():
            lock.unlink(missing_ok=True)
