import pytest

from t2tcore.sr.profiles import PROFILES, chapter_settings, train_config


def test_profiles_and_runs():
    q = chapter_settings("quick")
    runs = q.runs()
    assert runs.index(("esrresnet", "proposed")) < runs.index(("esrgan", "proposed"))
    assert ("vdsr", "placed_average") in runs and ("unet", "placed_average") in runs
    assert ("esrresnet", "placed_average") not in runs and runs[-1][0] == "esrgan"
    # the issue: at least 3 seeds for VDSR and U-Net on average, placed_average and proposed; 1 for the GANs
    for m in ("vdsr", "unet"):
        for meth in ("average", "placed_average", "proposed"):
            assert (m, meth) in runs and len(q.seeds_for(m, meth)) >= 3
    assert q.seeds_for("esrresnet", "proposed") == (0,) and q.seeds_for("esrgan", "average") == (0,)
    assert q.seeds_for("vdsr", "calibrated") == (0,)
    assert q.n_runs() == sum(len(q.seeds_for(m, s)) for m, s in runs)
    smoke = chapter_settings("smoke")
    assert max(len(smoke.seeds_for(m, s)) for m, s in smoke.runs()) >= 2  # CI runs the seed path
    p = chapter_settings("paper")
    assert p.lr == 1e-4 and p.batch == 32 and p.preset == "paper" and p.n_steps(100) == 1000 * 4
    assert ("esrgan", "calibrated") in p.runs()
    assert chapter_settings("smoke", steps=1).steps == 1
    with pytest.raises(ValueError):
        chapter_settings("huge")
    with pytest.raises(ValueError, match="no ESRResNet"):
        chapter_settings("quick", seeds={"esrgan": (0, 1), "esrresnet": (0,)})
    assert set(PROFILES) == {"smoke", "quick", "paper"}


def test_train_config():
    q = chapter_settings("quick")
    c = train_config(q, "esrgan", "proposed", 16, init_from="k")
    assert c.steps == q.gan_steps and c.init_from == "k" and c.lr == q.lr
    assert train_config(q, "vdsr", "average", 16).lr == q.model_lr.get("vdsr", q.lr)
    assert train_config(q, "esrgan", "proposed", 16).steps == q.steps
    c = train_config(q, "unet", "average", 16, seed=2)
    assert (c.seed, c.val_seed, c.schedule, c.warmup, c.converge_tol, c.val_patches) == (
        2, 0, q.schedule, q.warmup, q.converge_tol, q.val_patches)
    assert c.steps == q.n_steps(16, "unet") and c.min_steps == int(q.min_fraction * c.steps)
    assert c.val_every == c.steps // (4 * q.converge_smooth) and c.steps // 4 >= q.converge_smooth * c.val_every  # evaluations to smooth in the last quarter
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
