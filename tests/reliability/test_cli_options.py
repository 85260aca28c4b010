"""Hostile report items 16, 23: options that contradict each other, and progress bars only
where someone watches them (a terminal, or the book's log through T2T_PROGRESS_FILE)."""

from __future__ import annotations

import pytest

from t2tcore.cli import main
from t2tcore.io import read_series, write_series
from t2tcore.simulation import ZProfile
from tests.reliability.conftest import error_line, make_series


@pytest.fixture
def thin_and_profile(tmp_path):
    thin = write_series(make_series(n=20), tmp_path / "thin.nii.gz")
    prof = ZProfile([0.0, 1.0, 2.0, 3.0], [1.0, 0.8, 0.3, 0.0], thickness=3.0, interval=2.0).to_json(tmp_path / "g.json")
    return thin, prof


def test_an_explicit_method_is_never_silently_replaced_by_the_profile(thin_and_profile, tmp_path, capsys):
    thin, prof = thin_and_profile
    for cmd, opt in (("simulate", "--profile"), ("pairs", "--slice-profile")):  # --profile: the deprecated name
        out = tmp_path / ("x.nii.gz" if cmd == "simulate" else "P")
        line = error_line(capsys, main([cmd, str(thin), str(out), opt, str(prof), "--method", "proposed",
                                        "--thickness", "3", "--interval", "2", "--no-progress"]))
        assert "--slice-profile selects --method calibrated" in line and "--method proposed" in line, line
        assert not out.exists()
    # the profile alone (or with --method calibrated) is the calibrated method; no method is proposed
    assert main(["simulate", str(thin), str(tmp_path / "c.nii.gz"), "--profile", str(prof), "--no-progress"]) == 0
    assert "method calibrated" in read_series(tmp_path / "c.nii.gz").description + capsys.readouterr().out
    assert main(["simulate", str(thin), str(tmp_path / "p.nii.gz"), "--thickness", "3", "--interval", "2",
                 "--no-progress"]) == 0
    assert "method proposed" in capsys.readouterr().out


def _bars(text: str) -> bool:
    return "scanning headers" in text or "%|" in text


def test_progress_bars_only_on_a_terminal_or_in_the_progress_log(tmp_path):
    """Item 23: a redirected stderr (a log file) gets no bar; a terminal and T2T_PROGRESS_FILE do."""
    import fcntl
    import os
    import pty
    import struct
    import subprocess
    import termios

    from tests.reliability.conftest import T2T, run

    thin = write_series(make_series(n=30), tmp_path / "thin")  # a DICOM folder: "scanning headers"
    env = {k: v for k, v in os.environ.items() if k != "T2T_PROGRESS_FILE"}
    r = run(["info", thin], env=env)
    assert r.returncode == 0 and not _bars(r.stderr), r.stderr  # before: "scanning headers: 0%|..." lines
    r = run(["simulate", thin, tmp_path / "o.nii.gz", "--thickness", "3", "--interval", "2"], env=env)
    assert r.returncode == 0 and not _bars(r.stderr), r.stderr

    log = tmp_path / "progress.log"
    r = run(["info", thin], env={**env, "T2T_PROGRESS_FILE": str(log)})
    assert r.returncode == 0 and not _bars(r.stderr) and "scanning headers" in log.read_text()

    master, slave = pty.openpty()  # stderr a terminal (80 columns: tqdm fits its bar to them): the bar is there
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    try:
        p = subprocess.run(T2T + ["info", str(thin)], stdout=subprocess.PIPE, stderr=slave, env=env, timeout=120)
        os.close(slave)
        seen = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the terminal's other end is closed and drained
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(master)
    assert p.returncode == 0 and "scanning headers" in seen.decode(errors="replace")


def test_errors_speak_the_commands_language(tmp_path, capsys):
    """Item 22: CLI errors name options (not the Python API's keywords) and the command as typed."""
    thin = write_series(make_series(n=20), tmp_path / "thin")
    both = tmp_path / "both"
    write_series(make_series(n=20, seed=1), both / "a")
    write_series(make_series(n=20, seed=2), both / "b")
    (tmp_path / "o.nii.gz").write_bytes(b"mine")
    sim = ["--thickness", "3", "--interval", "2", "--no-progress"]
    line = error_line(capsys, main(["simulate", str(thin), str(tmp_path / "o.nii.gz"), *sim]))
    assert line.startswith("t2t simulate: error: ") and "(use --overwrite to replace it)" in line, line
    line = error_line(capsys, main(["simulate", str(both), str(tmp_path / "o2.nii.gz"), *sim]))
    assert "choose one with --series-uid" in line and "series_uid" not in line.replace("--series-uid", ""), line
    line = error_line(capsys, main(["sr", "apply", str(tmp_path / "none.pt"), str(thin), str(tmp_path / "x"),
                                    "--no-progress"]))
    assert line.startswith("t2t sr apply: error: "), line
    prof = ZProfile([0.0, 1.5, 3.0], [1.0, 0.5, 0.0], thickness=3.0, interval=2.0).to_json(tmp_path / "prof.json")
    line = error_line(capsys, main(["simulate", str(thin), str(prof), "--profile", str(prof), "--no-progress"]))
    assert "holds the input" not in line and "is the input or inside it" in line, line  # a file holds nothing
    with pytest.raises(SystemExit):
        main(["pairs", str(thin), str(tmp_path / "P"), "--thickness", "3", "--val-patients", "-1"])
    assert "must be >= 0, got -1" in capsys.readouterr().err
