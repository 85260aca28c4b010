"""One effort setting per profile (``t2tcore/effort.py``): the places that used to hold the knobs read it,
and the Reproducing page shows the table made from it."""

from __future__ import annotations

import json
import sys
from dataclasses import fields, replace
from pathlib import Path

import pytest

from t2tcore import effort as E

ROOT = Path(__file__).resolve().parents[1]


def test_three_profiles_each_named_by_its_key():
    assert list(E.EFFORTS) == ["smoke", "quick", "paper"]
    for name, e in E.EFFORTS.items():
        assert e.profile == name and e.sr.profile == name and e.ldct_cohort == f"virtual_{name}"
    with pytest.raises(ValueError, match="known: smoke, quick, paper"):
        E.effort("huge")


def test_the_old_places_read_the_effort():
    from t2tcore.studies import clinical_report as report
    from t2tcore.clinical import sr as csr
    from t2tcore.scanner.cohorts import fibrosis
    from t2tcore.sr import profiles
    from t2tcore.studies import robustness, scanner_qa, table3, walkthrough

    sys.path.insert(0, str(ROOT / "book"))
    try:
        from builder import paths
    finally:
        sys.path.remove(str(ROOT / "book"))
    for name, e in E.EFFORTS.items():
        assert profiles.PROFILES[name] is e.sr and profiles.chapter_settings(name) is e.sr
        assert paths.PROFILES[name] == {"about": e.about, "cell_timeout_s": e.cell_timeout_s, "extra": dict(e.extra)}
        assert csr.EFFORT[name] == dict(e.clinical.sr_changes) and report.BOOTSTRAP[name] == e.clinical.bootstrap
        assert fibrosis.resolve_fibrosis_profile(name) == {"name": name, **{f.name: getattr(e.clinical.cohort, f.name)
                                                                            for f in fields(e.clinical.cohort)}}
        assert walkthrough.IMAGE_SIZE[name] == e.walkthrough_image_size
        assert scanner_qa.SIZES[name] == (e.scanner_qa_z_mm, e.scanner_qa_matrix)
        assert table3.effort(name) == (e.fid_max_slices, e.fid_all_groups, list(e.ssim_modes))
        st = robustness.Settings.for_profile(name, seed=3, n_phantoms=None)
        assert (st.n_phantoms, st.image_size, st.z_length_mm, tuple(st.pitches), tuple(st.row_widths), st.seed) == (
            e.robustness.n_phantoms, e.robustness.image_size, e.robustness.z_length_mm, e.robustness.pitches,
            e.robustness.row_widths, 3)
    assert robustness.Settings.for_profile("smoke", image_size=64).image_size == 64  # a given value wins


def test_the_table_has_every_profile_and_follows_a_change():
    table = E.markdown_table()
    lines = table.splitlines()
    assert lines[0] == "| chapter | knob | smoke | quick | paper |"
    assert len(lines) == 2 + len(E.rows()) and all(ln.count("|") == 6 for ln in lines)
    # a changed knob changes the table: the table is made from the settings, nothing is typed twice
    changed = dict(E.EFFORTS, quick=replace(E.EFFORTS["quick"], robustness=replace(E.EFFORTS["quick"].robustness,
                                                                                    n_phantoms=7)))
    diff = set(E.markdown_table(changed).splitlines()) ^ set(lines)
    assert len(diff) == 2 and any("| 7 |" in d for d in diff)
    assert "| 05 | step cap (per model) | 4 | 200 (unet 600, esrresnet 100) | 1000 epochs |" in lines


def test_the_reproducing_page_shows_the_table():
    nb = json.loads((ROOT / "book" / "reproducing.ipynb").read_text(encoding="utf8"))
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    assert any("markdown_table()" in c and "t2tcore.effort" in c for c in code)


def test_chapter_04_takes_its_sizes_from_the_profile():
    nb = json.loads((ROOT / "notebooks" / "04_robustness.ipynb").read_text(encoding="utf8"))
    code = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert "Settings.for_profile(" in code and '"smoke":' not in code
