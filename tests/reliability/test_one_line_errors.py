"""Issue 14, items 5 and 10: one line and a non-zero exit, never a traceback, and before any
work: an unwritable output folder (as another user: root may write anywhere), CUDA asked for
where there is none, a request that would not fit in memory, output piped into ``head``."""

from __future__ import annotations

import os
import shutil
import time

import pytest
import torch

from t2tcore.cli import main
from t2tcore.io import read_series, write_series
from tests.reliability.conftest import as_nobody, error_line, make_series, one_line_error, run, shared_tmp, start

_SR = ["--model", "vdsr", "--method", "proposed", "--thickness", "3", "--interval", "2", "--batch", "1",
       "--patch", "4", "8", "8", "--no-progress"]



@pytest.fixture
def shared_dir():
    """A folder every user can read (pytest's own tmp folders are 0700 under /tmp/pytest-of-root),
    holding input series, and ``ro/``: a folder only root may write in."""
    root = shared_tmp("t2t-reliability-")
    old = os.umask(0o022)
    try:
        for s in range(2):
            write_series(make_series(n=20, seed=s), root / f"thin{s}")
        thick = read_series(root / "thin0")
        write_series(thick.derive(thick.volume[::3], thick.positions[::3], thickness=3.0, interval=2.4,
                                  description="t"), root / "thick")
        (root / "ro").mkdir()
    finally:
        os.umask(old)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def test_an_unwritable_output_folder_is_one_line_before_any_work(shared_dir):
    r = shared_dir
    t0 = time.monotonic()
    # 10^6 steps would take hours: the refusal must come before reading or training
    proc = as_nobody(["sr", "train", r / "thin0", r / "thin1", "--out", r / "ro" / "m.pt", "--steps", "1000000", *_SR])
    line = one_line_error(proc)
    assert "cannot write in" in line and str(r / "ro") in line and time.monotonic() - t0 < 100
    line = one_line_error(as_nobody(["calibrate", r / "thin0", r / "thick", "--out", r / "ro" / "p.json",
                                      "--no-progress"]))
    assert "cannot write in" in line
    line = one_line_error(as_nobody(["simulate", r / "thin0", r / "ro" / "out", "--thickness", "3", "--interval", "2"]))
    assert "cannot write in" in line
    line = one_line_error(as_nobody(["simulate", r / "thin0", r / "ro" / "new" / "o.nii.gz", "--thickness", "3",
                                      "--interval", "2"]))
    assert "cannot write in" in line
    line = one_line_error(as_nobody(["data", "virtual", r / "ro" / "cohort", "--profile", "smoke", "--no-progress"]))
    assert "cannot write in" in line
    assert sorted(p.name for p in (r / "ro").iterdir()) == []


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_device_cuda_without_cuda_is_one_line(tmp_path, capsys):
    thin = [write_series(make_series(n=20, seed=s), tmp_path / f"t{s}") for s in range(2)]
    line = error_line(capsys, main(["sr", "train", *map(str, thin), "--out", str(tmp_path / "m.pt"), "--device", "cuda",
                               "--steps", "1", *_SR]))
    assert "--device cuda" in line and "no CUDA" in line
    assert main(["sr", "train", *map(str, thin), "--out", str(tmp_path / "m.pt"), "--steps", "1", *_SR]) == 0
    capsys.readouterr()
    line = error_line(capsys, main(["sr", "apply", str(tmp_path / "m.pt"), str(thin[0]), str(tmp_path / "o"), "--device",
                               "cuda"]))
    assert "no CUDA" in line and not (tmp_path / "o").exists()


def test_requests_beyond_memory_are_refused_with_the_count(tmp_path, capsys):
    thick = make_series(n=20, size=64)
    thin = write_series(thick, tmp_path / "thin")
    line = error_line(capsys, main(["simulate", str(thin), str(tmp_path / "o"), "--thickness", "3", "--interval", "1e-9",
                               "--no-progress"]))
    assert "would make 15,200,000,001 thick slices" in line and "half of this machine's memory" in line
    thick_dir = write_series(thick.derive(thick.volume[::3], thick.positions[::3], thickness=3.0, interval=2.4,
                                          description="t"), tmp_path / "thick")
    line = error_line(capsys, main(["calibrate", str(thin), str(thick_dir), "--out", str(tmp_path / "p.json"),
                               "--node-spacing", "1e-7", "--no-progress"]))
    assert "kernel nodes" in line and "would make" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thick", "thin"]


@pytest.mark.slow
def test_sr_apply_interval_beyond_memory_is_refused(tmp_path, capsys):
    thins = [write_series(make_series(n=20, size=64, seed=s), tmp_path / f"t{s}") for s in range(2)]
    assert main(["sr", "train", *map(str, thins), "--out", str(tmp_path / "m.pt"), "--steps", "1", *_SR]) == 0
    thick_dir = write_series(make_series(n=20, size=64, spacing=2.0, thickness=3.0, seed=7), tmp_path / "thick")
    capsys.readouterr()
    line = error_line(capsys, main(["sr", "apply", str(tmp_path / "m.pt"), str(thick_dir), str(tmp_path / "o"),
                                    "--interval", "0.001", "--no-progress"]))
    assert "thin slices every 0.001 mm asked for; the model makes them every 0.8 mm" in line and "--force" in line
    line = error_line(capsys, main(["sr", "apply", str(tmp_path / "m.pt"), str(thick_dir), str(tmp_path / "o"),
                                    "--interval", "1e-7", "--force", "--no-progress"]))
    assert "thin slices" in line and "would make" in line and not (tmp_path / "o").exists()


def test_info_into_a_closed_pipe_exits_quietly(tmp_path):
    thin = write_series(make_series(n=20), tmp_path / "thin")
    p = start(["info", thin, "--no-progress"])
    p.stdout.close()  # as `head` does once it has what it wants
    err = p.stderr.read()
    assert p.wait(timeout=120) == 141 and err == ""


def test_a_missing_input_is_one_line_in_a_real_process(tmp_path):
    proc = run(["simulate", tmp_path / "missing", tmp_path / "o", "--thickness", "3", "--interval", "2"])
    assert "no such file or folder" in one_line_error(proc)
