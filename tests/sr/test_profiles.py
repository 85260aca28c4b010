import pytest

from t2tcore.sr.profiles import PROFILES, chapter_settings, train_config


def test_profiles_and_runs():
    q = chapter_settings("quick")
    runs = q.runs()
    assert runs.index(("esrresnet", "proposed")) < runs.index(("esrgan", "proposed"))
    assert ("vdsr", "placed_average") in runs and ("unet", "placed_average") not in runs
    assert runs[-1][0] == "esrgan"
    p = chapter_settings("paper")
    assert p.lr == 1e-4 and p.batch == 32 and p.preset == "paper" and p.n_steps(100) == 1000 * 4
    assert ("esrgan", "calibrated") in p.runs()
    assert chapter_settings("smoke", steps=1).steps == 1
    with pytest.raises(ValueError):
        chapter_settings("huge")
    assert set(PROFILES) == {"smoke", "quick", "paper"}


def test_train_config():
    q = chapter_settings("quick")
    c = train_config(q, "esrgan", "proposed", 16, init_from="k")
    assert c.steps == q.gan_steps and c.init_from == "k" and c.lr == q.lr
    assert train_config(q, "esrgan", "proposed", 16).steps == q.steps
    assert train_config(q, "vdsr", "average", 16).interval is None
    prof = {"x": 1}
    assert train_config(q, "vdsr", "proposed", 16, profile=prof).profile is None


def test_train_config_follows_the_data_set():
    q = chapter_settings("quick")
    ldct = train_config(q, "vdsr", "proposed", 16)
    assert (ldct.thickness, ldct.interval) == (3.0, 2.0)  # the paper's, the default
    assert train_config(q, "vdsr", "proposed", 16, dataset="ldct_gc") == ldct
    r = train_config(q, "vdsr", "proposed", 16, dataset="rplhr_ct")
    assert (r.thickness, r.interval) == (5.0, 5.0) and r.key() != ldct.key()
    assert train_config(q, "vdsr", "average", 16, dataset="rplhr_ct").thickness == 5.0
    assert train_config(q, "vdsr", "proposed", 16, thickness=4.0, dataset="rplhr_ct").thickness == 4.0


def test_fid_note_says_why_there_is_fid_kid_or_neither():
    from t2tcore.sr.profiles import chapter_settings
    from t2tcore.sr.study import fid_note

    quick = fid_note(chapter_settings("quick"), 14)
    assert "No FID or KID" in quick and "300" in quick
    kid = fid_note(chapter_settings("quick", fid_slices=4), 14)
    assert kid.startswith("KID only: 56 slices")
    both = fid_note(chapter_settings("paper"), 20)
    assert both.startswith("FID and KID on 320 slices")
