"""Hostile report items 7, 17, 20: paths this user may not read, and files that are not files,
give one line naming the right path (run as another user: root reads everything)."""

from __future__ import annotations

import os
import shutil

import pytest

from t2tcore.io import write_series
from tests.reliability.conftest import as_nobody, make_series, one_line_error, run, shared_tmp


@pytest.fixture
def tree():
    """noread/ (root, 0700) holding a series; rw/ (0777) with a readable copy; arch2/ with an
    unreadable sub-folder beside a readable series."""
    root = shared_tmp("t2t-unreadable-")
    old = os.umask(0o022)
    try:
        write_series(make_series(n=20), root / "noread" / "ras.nii.gz")
        write_series(make_series(n=20), root / "rw" / "ras.nii.gz")
        write_series(make_series(n=20, seed=1), root / "arch2" / "sub" / "thin")
        write_series(make_series(n=20, seed=2), root / "arch2" / "thin2")
    finally:
        os.umask(old)
    os.chmod(root / "noread", 0o700)
    os.chmod(root / "arch2" / "sub", 0o700)
    os.chmod(root / "rw", 0o777)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def test_unreadable_inputs_and_unreachable_outputs_are_one_line_naming_the_path(tree):
    r = tree
    sim = ["--thickness", "3", "--interval", "2", "--no-progress"]
    cases = [
        (["simulate", r / "noread" / "ras.nii.gz", r / "rw" / "o2.nii.gz", *sim], r / "noread" / "ras.nii.gz"),
        (["info", r / "noread" / "ras.nii.gz"], r / "noread" / "ras.nii.gz"),
        (["simulate", r / "rw" / "ras.nii.gz", r / "noread" / "x.nii.gz", *sim], r / "noread" / "x.nii.gz"),
        (["simulate", r / "rw" / "ras.nii.gz", r / "noread" / "sub" / "x", *sim], r / "noread" / "sub" / "x"),
        (["info", r / "arch2"], r / "arch2" / "sub"),  # item 20: before, "arch2: cannot list the folder"
        (["pairs", r / "arch2", r / "rw" / "P", "--thickness", "3", "--no-progress"], r / "arch2" / "sub"),
    ]
    for args, named in cases:
        line = one_line_error(as_nobody(args))  # exit 2, no traceback
        assert f"{named}: " in line and ("ermission denied" in line or "cannot list" in line), (args, line)
    assert sorted(p.name for p in (r / "rw").iterdir()) == ["ras.json", "ras.nii.gz"]  # nothing written


def test_a_named_pipe_in_a_dicom_folder_is_left_out_instead_of_hanging(tmp_path):
    folder = write_series(make_series(n=20), tmp_path / "a")
    os.mkfifo(folder / "fifo.dcm")
    r = run(["info", folder, "--no-progress"], timeout=60)  # before: waited forever on the pipe
    assert r.returncode == 0 and "20" in r.stdout, r.stderr
    r = run(["simulate", folder, tmp_path / "o.nii.gz", "--thickness", "3", "--interval", "2", "--no-progress"],
            timeout=60)
    assert r.returncode == 0, r.stderr


def test_overwrite_of_a_folder_this_user_may_not_move_is_refused_before_the_work(tree):
    """Item 10: as nobody in a world-writable rw/ holding root's existing/ (0755), --overwrite did
    the work, then failed to move it in, left rw/.existing.t2t-old-*/ and, on the next run, said
    that a killed run had left staging."""
    r = tree
    existing = r / "rw" / "existing"
    write_series(make_series(n=20, seed=4), existing)  # root's, 0755
    os.chmod(existing, 0o755)
    before = sorted(p.name for p in existing.iterdir())
    for _ in range(2):
        proc = as_nobody(["simulate", r / "rw" / "ras.nii.gz", existing, "--thickness", "3", "--interval", "2",
                          "--overwrite", "--no-progress"])
        line = one_line_error(proc)
        assert f"{existing}: cannot be replaced" in line and "killed" not in proc.stderr, proc.stderr
        assert sorted(p.name for p in (r / "rw").iterdir()) == ["existing", "ras.json", "ras.nii.gz"]
        assert sorted(p.name for p in existing.iterdir()) == before
