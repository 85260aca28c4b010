"""Hostile report items 2, 5, 12, 13: ``t2t pairs`` as real processes.

* a series not thinner than the requested thickness is skipped and named, never a label;
* a run that makes no pair exits non-zero with one error line;
* SIGTERM exits 143 (as ``t2t simulate``), Ctrl-C 130;
* ``kill -9`` of the command leaves no worker process behind, and nothing more is written.
"""

from __future__ import annotations

import csv
import os
import signal
import time
from pathlib import Path

import pytest

from t2tcore.io import write_series
from tests.reliability.conftest import make_series, one_line_error, run, start, wait_for


def _children(pid: int) -> set[int]:
    """The processes whose parent is ``pid`` (from /proc, independent of t2t)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_series_as_thick_as_requested_is_skipped_and_named(tmp_path):
    data = tmp_path / "data"
    write_series(make_series(n=20, seed=1, patient="A"), data / "A" / "thin.nii.gz")  # 1 mm every 0.8 mm
    thick = make_series(n=8, seed=2, spacing=3.0, thickness=3.0, patient="B")
    write_series(thick, data / "B" / "real3mm.nii.gz")  # a real 3 mm series in the same tree
    r = run(["pairs", data, tmp_path / "P", "--thickness", "3", "--workers", "1", "--no-progress"])
    assert r.returncode == 0, r.stderr
    assert "2 thin series: 1 made" in r.stdout
    assert "skipped B_real3mm: the thin slices are 3 mm thick, not thinner than the requested 3 mm" in r.stdout
    with open(tmp_path / "P" / "pairs.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1 and "A" in rows[0]["id"]
    assert not (tmp_path / "P" / "thin" / "B_real3mm.nii.gz").exists()


def test_a_run_that_makes_no_pair_fails_in_one_line(tmp_path):
    data = tmp_path / "data"
    write_series(make_series(n=8, seed=2, spacing=3.0, thickness=3.0), data / "real3mm.nii.gz")
    r = run(["pairs", data, tmp_path / "P", "--thickness", "3", "--workers", "1", "--no-progress"])
    line = one_line_error(r)  # exit 2; the summary (with the reason) is on stdout
    assert line.startswith("t2t pairs: error: no pairs: 1 series skipped and none made"), line
    assert "not thinner than the requested 3 mm" in r.stdout


@pytest.fixture(scope="module")
def big_tree(tmp_path_factory) -> Path:
    """Six thin NIfTI series big enough (200 x 160 x 160) that a test can act while workers run."""
    root = tmp_path_factory.mktemp("tree")
    for i in range(6):
        write_series(make_series(n=200, size=160, seed=i, patient=f"P{i}"), root / f"s{i}.nii.gz")
    return root


def _records(out: Path) -> int:
    return len(list(out.glob(".t2t-pairs/records/*.json"))) if out.exists() else 0


@pytest.mark.slow
def test_sigterm_to_pairs_exits_143(big_tree, tmp_path):
    out = tmp_path / "P"
    p = start(["pairs", big_tree, out, "--thickness", "3", "--workers", "2", "--no-progress"])
    wait_for(lambda: len(_children(p.pid)) >= 2)
    time.sleep(0.5)
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=300)
    err = p.stderr.read()
    assert p.returncode == 143, (p.returncode, err)
    assert "t2t pairs: terminated" in err and "Traceback" not in err


@pytest.mark.slow
def test_kill_9_of_pairs_leaves_no_worker_running(big_tree, tmp_path):
    out = tmp_path / "P"
    p = start(["pairs", big_tree, out, "--thickness", "3", "--workers", "2", "--no-progress"])
    workers = wait_for(lambda: (lambda c: c if len(c) >= 2 else None)(_children(p.pid)))
    time.sleep(0.5)  # the workers are in the middle of their first series
    os.kill(p.pid, signal.SIGKILL)
    p.wait(timeout=60)
    wait_for(lambda: not any(_alive(w) for w in workers), timeout=10)  # before: they ran on, adopted by init
    n = _records(out)
    time.sleep(3)
    assert _records(out) == n  # nobody writes any more
    again = run(["pairs", big_tree, out, "--thickness", "3", "--workers", "2", "--no-progress"])
    assert again.returncode == 0, again.stderr
    assert "6 thin series" in again.stdout and _records(out) == 6


def test_pairs_csv_records_tidy_paths_and_no_empty_folder_is_left(tmp_path):
    """Item 24: DATA given as ../data was recorded with its '..'; switching to two thicknesses
    left an empty thick/ folder."""
    data = tmp_path / "data"
    write_series(make_series(n=30, seed=1, patient="A"), data / "A" / "thin.nii.gz")
    (tmp_path / "work").mkdir()
    args = ["--workers", "1", "--no-progress"]
    r = run(["pairs", "../data", "../P", "--thickness", "3", *args], cwd=tmp_path / "work")
    assert r.returncode == 0, r.stderr
    with open(tmp_path / "P" / "pairs.csv", newline="") as f:
        row = next(csv.DictReader(f))
    recorded = [v for v in row.values() if "thin.nii.gz" in v and "data" in v]
    assert recorded and all(".." not in v for v in recorded), row
    assert any(Path(v) == data / "A" / "thin.nii.gz" for v in recorded), row
    r = run(["pairs", data, tmp_path / "P", "--thickness", "3", "5", *args])
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "P").iterdir() if not p.name.startswith(".")) == [
        "datalist.json", "pairs.csv", "thick_3mm", "thick_5mm", "thin"]


def test_an_unreachable_scheduler_is_one_line_quickly_and_leaves_nothing(tmp_path):
    """Item 9: 'Exception ignored in Client.__del__ ... TimeoutError' 20 s after the error, and
    OUT/.t2t-pairs left behind."""
    pytest.importorskip("distributed")  # an optional extra (t2t[pipelines])
    thin = write_series(make_series(n=20), tmp_path / "thin.nii.gz")
    t0 = time.monotonic()
    r = run(["pairs", thin, tmp_path / "PZ", "--thickness", "3", "--scheduler", "notaurl", "--no-progress"])
    line = one_line_error(r)
    assert "cannot reach the Dask scheduler at notaurl" in line and "Exception ignored" not in r.stderr
    assert time.monotonic() - t0 < 15
    assert not (tmp_path / "PZ").exists() and not list(tmp_path.glob(".PZ*"))
