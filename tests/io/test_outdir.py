import json
import os
import stat
import subprocess
import sys

import numpy as np
import pytest

from t2tcore.io.errors import OutputWarning
from t2tcore.io.outdir import staging_dir, swap_in


def _mode(p):
    return stat.S_IMODE(os.stat(p).st_mode)


def test_staging_dir_is_hidden_beside_target_with_umask_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        tmp = staging_dir(tmp_path / "sub" / "out")
    finally:
        os.umask(old)
    assert tmp.parent == tmp_path / "sub" and tmp.name.startswith(".out.t2t-tmp-")
    assert _mode(tmp) == 0o755  # not mkdtemp's 0700


def test_swap_in_replaces_existing_content_and_leaves_no_staging(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    tmp = staging_dir(out)
    (tmp / "new.txt").write_text("new")
    swap_in(tmp, out)
    assert sorted(p.name for p in out.iterdir()) == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_swap_in_puts_old_content_back_when_the_move_fails(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    tmp = staging_dir(out)
    real_replace = os.replace

    def failing_replace(src, dst):
        if str(src) == str(tmp):
            raise OSError("disk full")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        swap_in(tmp, out)
    assert (out / "old.txt").read_text() == "old"


def test_staging_file_is_hidden_beside_target_with_umask_permissions(tmp_path):
    from t2tcore.io.outdir import staging_file

    old = os.umask(0o022)
    try:
        tmp = staging_file(tmp_path / "sub" / "out.nii.gz", suffix=".nii.gz")
    finally:
        os.umask(old)
    assert tmp.parent == tmp_path / "sub" and tmp.name.startswith(".out.nii.gz.t2t-tmp-")
    assert tmp.name.endswith(".nii.gz") and tmp.stat().st_size == 0
    assert _mode(tmp) == 0o644  # not mkstemp's 0600


def test_finish_with_manifest_writes_it_last_and_swaps_the_folder_in(tmp_path):
    import json

    from t2tcore.io.outdir import finish_with_manifest, staging_dir

    out = tmp_path / "cohort"
    out.mkdir()
    (out / "old.txt").write_text("old")
    tmp = staging_dir(out)
    (tmp / "data.txt").write_text("new")
    finish_with_manifest(tmp, out, "manifest.json", {"n": 3}, replace_any=True)  # a cohort known by its manifest
    assert sorted(p.name for p in out.iterdir()) == ["data.txt", "manifest.json"]
    assert json.loads((out / "manifest.json").read_text()) == {"n": 3}
    assert not tmp.exists() and not list(tmp_path.glob(".cohort.t2t-*"))


# --------------------------------------------------------------------------------------
# The guard API: check_output, claim_output, commit_output (issue 14)
# --------------------------------------------------------------------------------------


def test_check_output_refuses_inputs_in_every_spelling(tmp_path):
    from t2tcore.io.errors import OutputError
    from t2tcore.io.outdir import check_not_input, check_output

    src = tmp_path / "in"
    src.mkdir()
    (src / "a.dcm").write_bytes(b"x")
    (tmp_path / "case.nii.gz").write_bytes(b"x")
    os.symlink(src, tmp_path / "link")
    for out, why in [
        (src, "holds the input"),
        (src / "a.dcm", "is the input"),
        (src / "sub" / "x", "inside"),
        (tmp_path / "link" / "new", "inside"),
        (tmp_path / "in" / ".." / "in" / "new", "inside"),
        (tmp_path, "holds the input"),
        (tmp_path / "case.json", "is the input"),  # the sidecar of a NIfTI input
    ]:
        with pytest.raises(OutputError, match=why):
            check_output(out, inputs=[src, tmp_path / "case.nii.gz"], overwrite=True,
                         kind="file" if out.suffix else "folder")
    assert check_not_input(tmp_path / "other", [src]) == tmp_path / "other"


def test_check_output_kinds_and_overwrite(tmp_path):
    from t2tcore.io.errors import OutputError
    from t2tcore.io.outdir import check_output

    (tmp_path / "f").write_text("x")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x").write_text("x")
    with pytest.raises(OutputError, match="exists and is not a folder"):
        check_output(tmp_path / "f", overwrite=True)
    with pytest.raises(OutputError, match="is a folder"):
        check_output(tmp_path / "d", kind="file", overwrite=True)
    with pytest.raises(OutputError, match="not empty"):
        check_output(tmp_path / "d")
    with pytest.raises(OutputError, match="exists"):
        check_output(tmp_path / "f", kind="file")
    with pytest.raises(OutputError, match="g.json: exists"):
        (tmp_path / "g.json").write_text("x")
        check_output(tmp_path / "g.nii.gz", kind="file", companions=[tmp_path / "g.json"])
    with pytest.raises(OutputError, match="is not a folder"):
        check_output(tmp_path / "f" / "below", kind="file")
    assert check_output(tmp_path / "new" / "deeper", kind="folder") == tmp_path / "new" / "deeper"


def test_commit_without_overwrite_never_replaces_and_keeps_the_result(tmp_path):
    from t2tcore.io.errors import OutputChangedError
    from t2tcore.io.outdir import commit_output, staging_file

    out = tmp_path / "out"
    tmp = staging_dir(out)
    (tmp / "new.txt").write_text("new")
    out.mkdir()
    (out / "mine.txt").write_text("mine")  # appeared during the run
    with pytest.raises(OutputChangedError, match="no longer empty.*finished result is in") as err:
        commit_output(tmp, out, overwrite=False)
    assert (out / "mine.txt").read_text() == "mine" and (err.value.kept / "new.txt").read_text() == "new"
    assert err.value.kept.name.startswith("out.t2t-kept-")
    # files: the same with an atomic link
    f = tmp_path / "p.json"
    t = staging_file(f, suffix=".json")
    t.write_text("new")
    f.write_text("theirs")
    with pytest.raises(OutputChangedError, match="exists now") as err:
        commit_output(t, f, overwrite=False)
    assert f.read_text() == "theirs" and err.value.kept.read_text() == "new"
    assert err.value.kept.name.startswith("p.t2t-kept-") and err.value.kept.name.endswith(".json")
    # an empty folder is replaced, and keeps its mode
    empty = tmp_path / "empty"
    empty.mkdir()
    os.chmod(empty, 0o705)
    tmp = staging_dir(empty)
    (tmp / "a").write_text("a")
    commit_output(tmp, empty, overwrite=False)
    assert (empty / "a").read_text() == "a" and _mode(empty) == 0o705


def test_a_claim_is_exclusive_reentrant_and_cleans_up(tmp_path):
    from t2tcore.io.errors import OutputBusyError
    from t2tcore.io.lock import lock_path
    from t2tcore.io.outdir import claim_output

    out = tmp_path / "a" / "b" / "out"
    with claim_output(out) as claim:
        assert lock_path(out).is_file()
        with claim_output(out) as inner:  # a writer called by a command that holds the claim
            assert inner.path == out
        assert lock_path(out).is_file()
        staged = claim.staging_dir()
        (staged / "x").write_text("x")
    # not committed: staging, lock and the folders made for it are gone
    assert not (tmp_path / "a").exists()
    with claim_output(out) as claim:
        tmp = claim.staging_dir()
        claim.commit(tmp)
    assert out.is_dir() and not lock_path(out).exists()
    # another process's claim
    holder = subprocess.Popen([sys.executable, "-c", f"from t2tcore.io.outdir import claim_output\n"
                               f"import sys, time\nc = claim_output({str(tmp_path / 'busy')!r})\n"
                               "print('held', flush=True)\ntime.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(OutputBusyError, match=f"being written by another t2t run \\(pid {holder.pid}"):
            claim_output(tmp_path / "busy")
    finally:
        holder.kill()
        holder.wait()
    with pytest.warns(OutputWarning, match="took over the stale lock"):  # its process is gone
        claim_output(tmp_path / "busy").release()


def test_stale_staging_is_removed_and_unknown_staging_is_reported(tmp_path):
    from t2tcore.io.outdir import claim_output

    out = tmp_path / "out"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    stale = tmp_path / f".out.t2t-tmp-{pid}-abc"
    stale.mkdir()
    (stale / "IM0001.dcm").write_bytes(b"x")
    old = tmp_path / ".out.t2t-tmp-q1w2e3"  # an older t2t: no pid in the name
    old.mkdir()
    unrelated = tmp_path / ".outer.t2t-tmp-1-x"
    unrelated.mkdir()
    with pytest.warns(OutputWarning) as record:
        claim_output(out).release()
    text = " ".join(str(w.message) for w in record)
    assert "removed 1 staging item" in text and "older t2t" in text and str(old) in text
    assert not stale.exists() and old.exists() and unrelated.exists()


def test_a_lock_of_another_host_is_never_taken_over(tmp_path):
    import json

    from t2tcore.io.errors import OutputBusyError
    from t2tcore.io.lock import lock_path
    from t2tcore.io.outdir import claim_output

    out = tmp_path / "out"
    lock_path(out).write_text(json.dumps({"pid": 1, "host": "some-other-host", "start": ""}))
    with pytest.raises(OutputBusyError, match=f"if that run is gone, remove {lock_path(out)}"):
        claim_output(out)
    assert lock_path(out).exists()


# --------------------------------------------------------------------------------------
# --overwrite replaces only what t2t wrote (hostile report, item 25)
# --------------------------------------------------------------------------------------


def _tree(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_overwrite_refuses_a_folder_of_the_users_own_files_and_touches_nothing(tmp_path, write_ct_series):
    from t2tcore.io.errors import OutputError
    from t2tcore.io.outdir import check_output, claim_output, foreign_files

    out = tmp_path / "mine"
    (out / "sub").mkdir(parents=True)
    (out / "a.txt").write_text("keep me")
    (out / "sub" / "b.dcm").write_bytes(b"\0" * 128 + b"DICM")  # not even a whole DICOM file
    write_ct_series(out / "scanner", np.zeros((3, 4, 4), np.int16), np.arange(3) * 3.0)  # another program's DICOM
    before = _tree(out)
    found = foreign_files(out)
    assert found[0] == "a.txt" and found[-1] == "sub/b.dcm" and len(found) == 5
    assert all(f.startswith("scanner/") for f in found[1:4]) and foreign_files(out, at_most=2) == found[:2]
    for call in (lambda: check_output(out, overwrite=True), lambda: claim_output(out, overwrite=True)):
        with pytest.raises(OutputError, match=r"mine: holds files t2t did not write \(a.txt, scanner/\S+, "
                                              r"scanner/\S+, \.\.\.\).*nothing was changed"):
            call()
    assert _tree(out) == before and [p.name for p in tmp_path.iterdir()] == ["mine"]  # no lock or staging left


def test_overwrite_replaces_a_t2t_series_but_not_one_with_other_files(tmp_path):
    from t2tcore.io import read_series, write_series
    from t2tcore.io.errors import OutputChangedError, OutputError
    from t2tcore.io.outdir import claim_output, foreign_files
    from tests.sr.conftest import thin_series

    out = tmp_path / "series"
    write_series(thin_series(n=4, size=8), out)
    assert foreign_files(out) == []
    write_series(thin_series(n=6, size=8), out, overwrite=True)
    assert read_series(out).volume.shape[0] == 6 and sorted(_tree(out)) == [f"IM{i:04d}.dcm" for i in range(1, 7)]
    (out / "notes.txt").write_text("the user's")
    with pytest.raises(OutputError, match=r"holds files t2t did not write \(notes.txt\)"):
        write_series(thin_series(n=5, size=8), out, overwrite=True)
    (out / "notes.txt").unlink()
    # a file put there during the run: the commit refuses too, and keeps the finished result aside
    with pytest.raises(OutputChangedError, match=r"holds files t2t did not write \(late.txt\).*nothing was replaced, "
                                                 r"the finished result is in .*series.t2t-kept-"):
        with claim_output(out, overwrite=True) as claim:
            tmp = claim.staging_dir()
            (tmp / "IM0001.dcm").write_bytes((out / "IM0001.dcm").read_bytes())
            (out / "late.txt").write_text("written by the user during the run")
            before = _tree(out)
            claim.commit(tmp)
    assert _tree(out) == before  # the user's folder as it was
    assert len(list(tmp_path.glob("series.t2t-kept-*"))) == 1
