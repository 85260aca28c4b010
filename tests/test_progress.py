"""t2tcore.progress: bars go to stderr, or to the file T2T_PROGRESS_FILE names (the book's logs)."""

from t2tcore.progress import PROGRESS_FILE_ENV, bar


def test_bar_writes_to_stderr_by_default(capsys, monkeypatch):
    monkeypatch.delenv(PROGRESS_FILE_ENV, raising=False)
    assert sum(bar(range(5), desc="counting", enabled=True)) == 10
    assert "counting" in capsys.readouterr().err


def test_disabled_bar_writes_nothing_anywhere(capsys, monkeypatch, tmp_path):
    log = tmp_path / "progress.log"
    monkeypatch.setenv(PROGRESS_FILE_ENV, str(log))
    assert list(bar(range(3), desc="quiet", enabled=False)) == [0, 1, 2]
    assert capsys.readouterr().err == ""
    assert not log.exists() or "quiet" not in log.read_text()


def test_progress_file_takes_the_bar_and_stderr_stays_clean(capsys, monkeypatch, tmp_path):
    log = tmp_path / "progress.log"
    monkeypatch.setenv(PROGRESS_FILE_ENV, str(log))
    with bar(total=4, desc="chapter work", unit="patient") as b:
        for _ in range(4):
            b.update()
    assert capsys.readouterr().err == ""
    text = log.read_text()
    assert "chapter work" in text and "4/4" in text


def test_auto_bar_is_silent_off_a_terminal(capsys, monkeypatch):
    monkeypatch.delenv(PROGRESS_FILE_ENV, raising=False)
    list(bar(range(3), desc="auto", enabled=None))  # pytest's captured stderr is not a terminal
    assert "auto" not in capsys.readouterr().err
