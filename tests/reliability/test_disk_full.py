"""Hostile report item 11: a full disk leaves no empty lock file behind (later runs took one for
a run that was starting: "keeps changing"), and the next run right after succeeds."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from t2tcore.io import write_series
from tests.reliability.conftest import make_series, one_line_error, run


@pytest.fixture
def small_disk():
    """A 256 KiB tmpfs (root only), unmounted at the end."""
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a small tmpfs")
    mnt = Path(tempfile.mkdtemp(prefix="t2t-full-"))
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)], capture_output=True)
    if r.returncode != 0:
        os.rmdir(mnt)
        pytest.skip(f"cannot mount a tmpfs here ({r.stderr.decode().strip()})")
    yield mnt
    subprocess.run(["umount", str(mnt)], check=False)
    os.rmdir(mnt)


def test_a_full_disk_leaves_no_lock_and_the_next_run_succeeds(small_disk, tmp_path):
    thin = write_series(make_series(n=20), tmp_path / "thin.nii.gz")
    filler = small_disk / "filler"
    fd = os.open(filler, os.O_CREAT | os.O_WRONLY)  # fill the disk up to the last block
    try:
        while os.write(fd, b"\0" * 4096) > 0:
            pass
    except OSError:
        pass
    finally:
        os.close(fd)
    out = small_disk / "o.nii.gz"
    args = ["--thickness", "3", "--interval", "2", "--no-progress"]
    line = one_line_error(run(["simulate", thin, out, *args]))
    assert "No space left" in line or "no space" in line.lower(), line
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler"]  # no lock, no staging, no output
    filler.unlink()
    r = run(["simulate", thin, out, *args])  # at once: no "keeps changing", no stale lock to take over
    assert r.returncode == 0 and "lock" not in r.stderr, r.stderr
    assert sorted(p.name for p in small_disk.iterdir()) == ["o.json", "o.nii.gz"]
