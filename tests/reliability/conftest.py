"""Helpers of the reliability tests: series written here, the ``t2t`` command run as a real
process (for concurrency, signals and other users), and digests to prove an input unchanged."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from t2tcore.io import Series, write_series

T2T = [str(Path(sys.executable).with_name("t2t"))]  # the installed command, as a user runs it


def digest(path: Path) -> dict[str, str]:
    """sha256 of every file under ``path`` (or of the file), by relative name."""
    path = Path(path)
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return {str(p.relative_to(path.parent)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def make_series(n: int = 12, size: int = 16, spacing: float = 0.8, thickness: float = 1.0, seed: int = 0,
                orientation=(1, 0, 0, 0, 1, 0), patient: str = "R001") -> Series:
    """A thin series of ``n`` slices of ``size`` x ``size`` (smooth HU with noise, integers)."""
    rng = np.random.default_rng(seed)
    z, y, x = np.meshgrid(np.arange(n), np.arange(size), np.arange(size), indexing="ij")
    vol = 200 * np.sin(z / 3.0) + 100 * np.cos(y / 4.0) + 3 * x + rng.normal(0, 20, (n, size, size))
    return Series.from_array(np.rint(vol).astype(np.float32), np.arange(n) * spacing - 4.0, (0.7, 0.7), thickness,
                             interval=spacing, orientation=orientation, patient_id=patient, description="thin")


def run(args: list[str], *, timeout: float = 300, env: dict | None = None, **kw) -> subprocess.CompletedProcess:
    """``t2t ARGS`` in a new process; its CompletedProcess (text)."""
    full_env = {**os.environ, "PYTHONWARNINGS": "default", **(env or {})}
    return subprocess.run(T2T + [str(a) for a in args], capture_output=True, text=True, timeout=timeout,
                          env=full_env, **kw)


def start(args: list[str], **kw) -> subprocess.Popen:
    """``t2t ARGS`` started in a new process (stdout and stderr piped, text)."""
    return subprocess.Popen(T2T + [str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **kw)


def one_line_error(proc, code: int = 2) -> str:
    """The one error line of a finished command (asserting the exit status and no traceback)."""
    err = proc.stderr if isinstance(proc.stderr, str) else proc.stderr.read()
    assert proc.returncode == code, (proc.returncode, err)
    lines = [ln for ln in err.strip().splitlines() if not ln.startswith("warning:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def error_line(capsys, code: int) -> str:
    """The one error line ``main()`` printed (captured by ``capsys``), asserting exit status 2."""
    err = [ln for ln in capsys.readouterr().err.strip().splitlines() if not ln.startswith("warning:")]
    assert code == 2 and len(err) == 1 and "Traceback" not in "".join(err), (code, err)
    return err[0]


def wait_for(cond, timeout: float = 120.0, step: float = 0.002):
    """Poll ``cond()`` until it returns something true (returned); AssertionError after ``timeout`` s."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = cond()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("timed out")


def shared_tmp(prefix: str) -> Path:
    """A folder every user can read (pytest's own tmp folders are 0700), for commands run as
    another user; skips the test unless root with setpriv (root reads and writes anywhere)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run a command as another user")
    root = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(root, 0o755)
    return root


def as_nobody(args, timeout: float = 120) -> subprocess.CompletedProcess:
    """``t2t ARGS`` run as the user nobody (setpriv), from /."""
    cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *T2T, *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd="/")
