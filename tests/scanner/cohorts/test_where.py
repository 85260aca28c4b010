"""Where the book keeps a profile's virtual cohort, said once (t2tcore.scanner.cohorts.cohort_dir), and the
cohort made or kept there (ensure_cohort); book/build.py, the chapters and chapter 07 ask these."""

from __future__ import annotations

from pathlib import Path

import pytest

from t2tcore.scanner import cohorts


def test_each_kind_has_its_folder_in_the_books_data_folder(tmp_path, monkeypatch):
    assert cohorts.cohort_dir("ldct", "quick", tmp_path) == tmp_path / "virtual-quick"
    assert cohorts.cohort_dir("fibrosis", "smoke", tmp_path) == tmp_path / "virtual-fibrosis-smoke"
    (tmp_path / "book" / "notebooks").mkdir(parents=True)
    (tmp_path / "book" / "_toc.yml").write_text("root: intro\n")
    monkeypatch.chdir(tmp_path / "book" / "notebooks")
    assert cohorts.find_book_root() == (tmp_path / "book").resolve()
    assert cohorts.cohort_dir("ldct", "paper") == (tmp_path / "book").resolve() / "_build" / "data" / "virtual-paper"
    with pytest.raises(ValueError, match="unknown cohort kind 'nope'"):
        cohorts.cohort_dir("nope", "quick")


def test_outside_a_book_the_data_folder_is_the_working_folders(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if cohorts.find_book_root() is not None:
        pytest.skip("the temporary folder lies inside a book")
    assert cohorts.cohort_dir("ldct", "smoke") == Path("_build") / "data" / "virtual-smoke"


def test_ensure_cohort_asks_the_kinds_maker_for_that_folder(tmp_path, monkeypatch):
    from t2tcore.scanner.cohorts import fibrosis, ldct

    calls = []
    monkeypatch.setattr(ldct, "make_cohort", lambda profile, out, **kw: calls.append(("ldct", profile, out, kw)) or out)
    monkeypatch.setattr(fibrosis, "make_fibrosis_cohort",
                        lambda profile, out, **kw: calls.append(("fibrosis", profile, out, kw)) or out)
    assert cohorts.ensure_cohort("ldct", "smoke", data_dir=tmp_path, progress=False) == tmp_path / "virtual-smoke"
    cohorts.ensure_cohort("fibrosis", "quick", tmp_path / "mine", force=True)
    assert calls == [("ldct", "smoke", tmp_path / "virtual-smoke", {"force": False, "progress": False, "device": None}),
                     ("fibrosis", "quick", tmp_path / "mine", {"force": True, "progress": True, "device": None})]
    assert not cohorts.is_cohort_up_to_date("ldct", "smoke", tmp_path / "absent")


def test_chapter_07_and_the_chapters_data_root_ask_the_same_function(tmp_path, monkeypatch):
    from t2tcore.studies import clinical_report as report
    from t2tcore.datasets import roots

    seen = []
    monkeypatch.setattr(cohorts, "ensure_cohort", lambda kind, profile, out=None, **kw: seen.append((kind, profile, kw))
                        or tmp_path)
    report.resolve_cohort(None, "smoke", build_dir=tmp_path, progress=False)
    roots.resolve_data_root(None, "quick", root=tmp_path)
    assert seen == [("fibrosis", "smoke", {"data_dir": tmp_path, "progress": False}),
                    ("ldct", "quick", {"data_dir": tmp_path / "_build" / "data", "progress": False})]
