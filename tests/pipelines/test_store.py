"""The guards of ``t2t pairs``' output folder, all in claim_output."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from t2tcore.pipelines.store import PairOutputError, PairsFolder, claim_output, pair_paths


def test_the_output_may_not_be_or_hold_or_lie_in_an_input(tmp_path):
    data = tmp_path / "data"
    (data / "x").mkdir(parents=True)
    for out, what in ((data, "is the input"), (data / "pairs", "inside it"), (tmp_path, "holds the input")):
        with pytest.raises(PairOutputError, match=what):
            claim_output(out, [data])
    assert sorted(p.name for p in data.rglob("*")) == ["x"]  # nothing created


def test_a_folder_of_other_files_is_refused_an_earlier_output_is_taken(tmp_path):
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "mine.txt").write_text("keep me")
    with pytest.raises(PairOutputError, match="did not write"):
        claim_output(tmp_path / "other", [])
    (tmp_path / "file").write_text("x")
    with pytest.raises(PairOutputError, match="not a folder"):
        claim_output(tmp_path / "file", [])
    folder = claim_output(tmp_path / "new", [])
    folder.release()
    (tmp_path / "new" / "pairs.csv").write_text("id\n")
    claim_output(tmp_path / "new", []).release()  # an earlier t2t pairs output: updated


def test_one_run_at_a_time_and_a_dead_runs_lock_and_staging_are_cleared(tmp_path):
    import socket

    from t2tcore.io.lock import lock_path

    lock = lock_path(tmp_path / "out")  # the lock every t2t writer takes, beside OUT
    folder = claim_output(tmp_path / "out", [])
    assert lock.is_file()
    folder.release()
    assert not lock.exists()
    # another live run holds it
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock.write_text(json.dumps({"pid": other.pid, "host": socket.gethostname()}))
        with pytest.raises(PairOutputError, match="is being written by another t2t run"):
            claim_output(tmp_path / "out", [])
    finally:
        other.kill()
        other.wait()
    # a run killed while staging: its lock names a process that is gone
    lock.write_text(json.dumps({"pid": other.pid, "host": socket.gethostname()}))
    stale = tmp_path / "out" / ".t2t-pairs" / "staging" / ".P1.t2t-tmp-abc"
    stale.mkdir()
    (stale / "thin.nii.gz").write_bytes(b"half")
    with pytest.warns(UserWarning, match="stale lock"):
        folder = claim_output(tmp_path / "out", [])
    assert not stale.exists() and json.loads(lock.read_text())["pid"] == os.getpid()
    folder.release()


def test_records_list_their_files_and_removing_a_pair_removes_only_them(tmp_path):
    folder = claim_output(tmp_path / "out", [])
    thin, thick = pair_paths("P1", ["3mm"])
    assert (thin, thick) == ("thin/P1.nii.gz", ["thick/P1.nii.gz"])
    assert pair_paths("P1", ["3mm", "5mm"])[1] == ["thick_3mm/P1.nii.gz", "thick_5mm/P1.nii.gz"]
    for rel in (thin, thick[0]):
        (tmp_path / "out" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "out" / rel).write_bytes(b"x")
        (tmp_path / "out" / rel.replace(".nii.gz", ".json")).write_text("{}")
    (tmp_path / "out" / "thin" / "P10.nii.gz").write_bytes(b"other")
    folder.write_record({"id": "P1", "key": "k", "files": [thin, thick[0]]})
    assert PairsFolder(tmp_path / "out").record_ids() == ["P1"] and folder.read_record("P1")["key"] == "k"
    (tmp_path / "out" / thick[0]).unlink()
    assert folder.read_record("P1") is None  # a listed file is missing: not up to date
    (tmp_path / "outside.nii.gz").write_bytes(b"not ours")
    folder.write_record({"id": "P1", "key": "k", "files": [thin, thick[0], "../outside.nii.gz"]})
    folder.remove_pair("P1")
    assert sorted(p.name for p in (tmp_path / "out").rglob("*.*") if ".t2t-pairs" not in p.parts) == ["P10.nii.gz"]
    assert (tmp_path / "outside.nii.gz").exists() and folder.record_ids() == []
    folder.release()
