import os
import stat

import pytest

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
    finish_with_manifest(tmp, out, "manifest.json", {"n": 3})
    assert sorted(p.name for p in out.iterdir()) == ["data.txt", "manifest.json"]
    assert json.loads((out / "manifest.json").read_text()) == {"n": 3}
    assert not tmp.exists() and not list(tmp_path.glob(".cohort.t2t-*"))
