"""Issue 14, items 3-4: all-or-nothing outputs with real processes.

* two ``t2t simulate`` to one OUT at once: one succeeds, the other stops with one clear line,
  and OUT holds one complete series;
* a file put into OUT during a run is never deleted: the run keeps its result aside and says where;
* ``kill -9`` in the middle of writing leaves OUT untouched, and the next run to the same OUT
  removes the stale staging and lock (with a note) and finishes;
* SIGTERM cleans up like Ctrl-C (exit 143);
* a replaced OUT keeps the permission bits it had; a profile is an ordinary file (0666 less umask).
"""

from __future__ import annotations

import os
import signal
import stat
from pathlib import Path

import pytest

from t2tcore.cli import main
from t2tcore.io import read_series, write_series
from tests.reliability.conftest import digest, make_series, one_line_error, run, start, wait_for

ARGS = ["--thickness", "1.5", "--interval", "0.8", "--no-progress"]


@pytest.fixture(scope="module")
def big_thin(tmp_path_factory) -> Path:
    """200 slices of 192 x 192: long enough to write that a test can act in the middle."""
    return write_series(make_series(n=200, size=192), tmp_path_factory.mktemp("big") / "thin")


def lock_path(out: Path) -> Path:
    """Where a run's claim of ``out`` is (t2tcore.io.lock)."""
    return out.parent / f".{out.name}.t2t-lock"


def _staging(out: Path) -> list[Path]:
    return sorted(out.parent.glob(f".{out.name}.t2t-tmp-*"))


@pytest.mark.slow
def test_two_runs_to_one_output_give_one_success_and_one_clear_error(big_thin, tmp_path):
    for trial in range(3):
        out = tmp_path / f"thick{trial}"
        procs = [start(["simulate", big_thin, out, *ARGS]) for _ in range(2)]
        for p in procs:
            p.wait(timeout=300)
        codes = sorted(p.returncode for p in procs)
        assert codes == [0, 2], [(p.returncode, p.stderr.read()) for p in procs]
        loser = next(p for p in procs if p.returncode == 2)
        line = one_line_error(loser)
        assert "being written by another t2t run" in line or "not empty" in line, line
        n = len(list(out.iterdir()))
        assert n == read_series(out).volume.shape[0] == 200  # 199 * 0.8 mm / 0.8 mm + 1 slices: complete
        assert not _staging(out) and not lock_path(out).exists()


@pytest.mark.slow
def test_a_file_put_into_out_during_a_run_is_kept_and_so_is_the_result(big_thin, tmp_path):
    out = tmp_path / "thick"
    p = start(["simulate", big_thin, out, *ARGS])
    wait_for(lambda: _staging(out))  # computed, now writing: OUT did not exist when it started
    out.mkdir()
    (out / "mine.txt").write_text("my notes")
    p.wait(timeout=300)
    line = one_line_error(p)
    assert "no longer empty" in line and "finished result is in" in line
    assert [q.name for q in out.iterdir()] == ["mine.txt"] and (out / "mine.txt").read_text() == "my notes"
    kept = Path(line.split("finished result is in ")[1].split(" (")[0])
    assert kept.parent == tmp_path and kept.name.startswith("thick.t2t-kept-")
    assert read_series(kept).volume.shape[0] == 200
    assert not _staging(out) and not lock_path(out).exists()


@pytest.mark.slow
def test_kill_9_while_writing_then_a_rerun_cleans_up_and_finishes(big_thin, tmp_path):
    before = digest(big_thin)
    out = tmp_path / "thick"
    p = start(["simulate", big_thin, out, *ARGS])
    wait_for(lambda: _staging(out) and len(list(_staging(out)[0].iterdir())) >= 5)
    os.kill(p.pid, signal.SIGKILL)
    p.wait(timeout=60)
    assert not out.exists()  # nothing half-written where the user looks
    assert len(_staging(out)) == 1 and lock_path(out).exists()  # what kill -9 leaves
    again = run(["simulate", big_thin, out, *ARGS])
    assert again.returncode == 0, again.stderr
    assert "took over the stale lock" in again.stderr and "removed 1 staging item" in again.stderr
    assert not _staging(out) and not lock_path(out).exists()
    assert read_series(out).volume.shape[0] == 200
    assert digest(big_thin) == before


@pytest.mark.slow
def test_sigterm_cleans_up_like_ctrl_c(big_thin, tmp_path):
    out = tmp_path / "thick"
    p = start(["simulate", big_thin, out, *ARGS])
    wait_for(lambda: _staging(out) and len(list(_staging(out)[0].iterdir())) >= 5)
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=60)
    assert p.returncode == 143 and "terminated, nothing written" in p.stderr.read()
    assert not out.exists() and not _staging(out) and not lock_path(out).exists()


def test_a_replaced_output_keeps_its_mode_and_a_profile_is_an_ordinary_file(tmp_path, capsys):
    thin_s = make_series(n=20)
    thin = write_series(thin_s, tmp_path / "thin")
    out = tmp_path / "thick"
    out.mkdir(mode=0o750)
    os.chmod(out, 0o750)
    assert main(["simulate", str(thin), str(out), *ARGS]) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o750
    os.chmod(out, 0o700)
    assert main(["simulate", str(thin), str(out), *ARGS, "--overwrite"]) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    thick = thin_s.derive(thin_s.volume[::3], thin_s.positions[::3], thickness=3.0, interval=2.4, description="t")
    thick_dir = write_series(thick, tmp_path / "real")
    old = os.umask(0o022)
    try:
        assert main(["calibrate", str(thin), str(thick_dir), "--out", str(tmp_path / "p.json"), "--no-progress"]) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "p.json").stat().st_mode) == 0o644  # not mkstemp's 0600
    capsys.readouterr()
