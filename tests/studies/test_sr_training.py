"""Chapter 05's study (t2tcore.studies.sr_training): the pipeline end to end on tiny data, and its words."""

import pandas as pd
import pytest
import torch

from t2tcore.io import write_series
from t2tcore.data import series_dir, training_series_dir
from t2tcore.sr import datasets, effects
from t2tcore.sr import evaluate as ev
from t2tcore.sr.profiles import chapter_settings
from t2tcore.studies import sr_training as study

from tests.sr.conftest import thick_of, thin_series


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    root = tmp_path_factory.mktemp("cohort")
    for i, p in enumerate(["V001", "V002"]):
        thin = thin_series(n=30, size=24, seed=10 + i, patient=p)
        write_series(thin, series_dir(root, p, "B30", "full", "1mm"))
        write_series(thick_of(thin), series_dir(root, p, "B30", "full", "3mm"))
    for i, p in enumerate(["V501", "V502", "V503"]):
        write_series(thin_series(n=30, size=24, seed=20 + i, patient=p), training_series_dir(root, p))
    return root


def test_the_chapter_05_pipeline_end_to_end(cohort, tmp_path):
    S = chapter_settings("smoke", models=("vdsr", "esrresnet", "esrgan"), ablation_models=("vdsr",), steps=1,
                         gan_steps=1, batch=1, patch=(8, 16, 16), val_patches=1, eval_slices=8, eval_margin_px=2)
    cases = datasets.test_cases(cohort, kernels=["B30"], doses=["full"])
    cal = study.calibrate(cases)
    assert cal.patient == "V001" and 2.0 < cal.fwhm_mm < 4.5  # the thick series are 3 mm triangles
    cases = [c for c in cases if c.patient != cal.patient]
    train = study.read_training(cohort)
    assert [s.patient for s in train] == ["V501", "V502", "V503"]
    ckpts = study.train_runs(S, train, tmp_path / "models", calibration=cal)
    assert set(ckpts) == {"vdsr/proposed/s0", "vdsr/average/s0", "vdsr/placed_average/s0", "vdsr/calibrated/s0",
                          "vdsr/proposed/s1", "vdsr/average/s1", "vdsr/placed_average/s1", "vdsr/calibrated/s1",
                          "esrresnet/proposed/s0", "esrresnet/average/s0", "esrgan/proposed/s0", "esrgan/average/s0"}
    assert ckpts["esrgan/proposed/s0"]["config"]["init_from"] == ckpts["esrresnet/proposed/s0"]["cache_key"]
    assert ckpts["vdsr/calibrated/s0"]["simulation"]["profile"] == cal.profile
    assert ckpts["vdsr/proposed/s1"]["config"]["seed"] == 1
    assert not all(torch.equal(v, ckpts["vdsr/proposed/s1"]["state_dict"][k])
                   for k, v in ckpts["vdsr/proposed/s0"]["state_dict"].items())
    table = study.training_table(ckpts)
    assert list(table.columns[:11]) == ["model", "method", "seed", "steps", "best_step", "seconds", "val_l2_untrained",
                                        "val_l2_best", "val_ratio", "converged", "note"]
    assert len(table) == len(ckpts) and set(table.seed) == {0, 1} and (table.steps == 1).all()
    row = table.set_index("label").loc["esrgan/proposed/s0"]
    assert row.init_from == "esrresnet/proposed/s0" and row.val_l2_untrained == pytest.approx(
        table.set_index("label").loc["esrresnet/proposed/s0", "val_l2_untrained"])
    text = study.training_notes(table)
    assert text.count("\n* ") == len(table) and "did not converge" in text
    again = study.train_runs(S, train, tmp_path / "models", calibration=cal)
    assert all(c["cached"] for c in again.values())
    res = study.evaluate(cases, ckpts, S)
    df = res.metrics
    assert set(df.label) == set(ckpts) | {"linear"} and set(df.patient) == {"V002"}
    # each model once per case; every convention and region from that one prediction
    assert len(df) == (len(ckpts) + 1) * 3 * 6 and (df.n_slices == 8).all()
    assert set(df.convention) == {"paper", "window", "hu"} and set(df.seed) == {0, 1}
    assert set(res.regions.columns) >= {"voxels_body", "voxels_edge", "voxels_bone"}
    z = study.z_table(df)
    assert len(z) == len(ckpts) + 1 and "z_displacement_mm" in z
    fig = study.figure_case(cases[0], {k: ckpts[k] for k in ("esrgan/average/s0", "esrgan/proposed/s0")}, S)
    assert set(fig["volumes"]) == {"thin", "linear", "esrgan/average/s0", "esrgan/proposed/s0"}
    assert fig["volumes"]["thin"].shape[0] > 8 and fig["case"] == ("V002", "B30", "full")
    text = study.findings(df)
    assert "SR against no network" in text and "Proposed vs naive" in text and "Ablation: position correction" in text
    assert "Why the conventions can disagree" in text and "not assessed" in text
    assert "inconclusive" in text  # one test patient: no interval, no verdict
    assert study.fig_labels(ckpts, "esrgan") == ["esrgan/average/s0", "esrgan/proposed/s0"]
    assert study.fig_labels(ckpts, "vdsr", ("proposed",)) == ["vdsr/proposed/s0"]  # its lowest seed
    eff = effects.effects(df, metrics=["psnr"], conventions=["paper", "hu"], regions=None, training=table)
    t4 = eff[[effects.DEFAULT_REGION[c] == r for c, r in zip(eff.convention, eff.region)]]
    stats, tabs = study.table4_tables(df, ["psnr"], ["paper", "hu"], t4, S, "ldct_gc", "THE DATA")
    assert list(stats) == ["paper", "hu"] and len(tabs) == 2  # one kernel, two conventions
    for c, (cells, bold, caption) in zip(stats, tabs):
        want, _ = ev.table4_cells(stats[c], "B30", ssim_col="ssim_2d", paper=True)
        assert cells.equals(want) and bold.shape == cells.shape
        assert caption == f"Table IV, kernel B30, our values in the {c} convention (THE DATA) beside the paper's (its own convention)"
    line = study.settings_line(S, "THE DATA")
    assert line.startswith("profile smoke: small models, at most 1 steps of 1 patches 8×16×16") and "12 runs" in line
    assert "data: THE DATA; training pairs 3 mm every 2 mm" in line


def test_the_chapter_05_pipeline_on_rplhr_ct(rplhr_train_tree, tmp_path):
    from t2tcore.sr.pairs import group_size

    S = chapter_settings("smoke", models=("vdsr",), methods=("proposed", "average"), ablation_models=("vdsr",),
                         ablation_methods=("calibrated",), seeds={"vdsr": (0,)}, steps=1, batch=1, patch=(8, 16, 16), val_patches=1,
                         eval_slices=8, eval_margin_px=2, eval_halo=2)
    cases = datasets.test_cases(rplhr_train_tree, "rplhr_ct")
    cal = study.calibrate(cases, dataset="rplhr_ct")  # the data set's group, 5 mm every 5 mm
    assert (cal.patient, cal.kernel, cal.dose) == ("case000", cases[0].kernel, cases[0].dose)
    assert 3.0 < cal.fwhm_mm < 7.5 and (cal.profile["thickness_mm"], cal.profile["interval_mm"]) == (5.0, 5.0)
    cases = [c for c in cases if c.patient != cal.patient]
    train = study.read_training(rplhr_train_tree, "rplhr_ct")
    ckpts = study.train_runs(S, train, tmp_path / "models", calibration=cal, dataset="rplhr_ct")
    assert set(ckpts) == {"vdsr/proposed/s0", "vdsr/average/s0", "vdsr/calibrated/s0"}
    for label, c in ckpts.items():
        sim = c["simulation"]
        assert set(sim["thickness"]) == {5.0} and sim["thin_thickness_mm"] == 1.0
        assert set(sim["interval"]) == ({None} if label.startswith("vdsr/average") else {5.0})
        assert c["data"]["n_train"] == 1 and c["data"]["n_val"] == 1  # one training case held out
    assert group_size(5.0, train[0].thickness) == 5  # what `average` averages
    res = study.evaluate(cases, ckpts, S)
    assert set(res.metrics.patient) == {"case001"} and (res.metrics.n_slices == 8).all()
    cells, _ = ev.table4_cells(ev.table4(res.metrics, ["psnr"], "paper"), cases[0].kernel, ssim_col="ssim_2d",
                               paper=False)
    assert set(cells.columns.get_level_values(1)) == {"ours"}
    _, tabs = study.table4_tables(res.metrics, ["psnr"], ["paper"], pd.DataFrame({"convention": []}), S, "rplhr_ct", "D")
    assert len(tabs) == 1 and "no published numbers beside them" in tabs[0][2] and "beside the paper's" not in tabs[0][2]
    assert "training pairs 5 mm every 5 mm" in study.settings_line(S, "D", "rplhr_ct")
    text = study.findings(res.metrics, dataset="rplhr_ct")
    assert "not this data set" in text
    notes = study.dataset_notes("rplhr_ct")
    assert "5 mm every 5 mm" in notes and "k = 5" in notes and "3 mm every 2 mm" in notes
    assert "could not be retrieved offline" in notes and "[0, 1]" in notes and study.dataset_notes() == ""


def test_fid_note_says_why_there_is_fid_kid_or_neither():
    quick = study.fid_note(chapter_settings("quick"), 14)
    assert "No FID or KID" in quick and "300" in quick
    kid = study.fid_note(chapter_settings("quick", fid_slices=4), 14)
    assert kid.startswith("KID only: 56 slices")
    both = study.fid_note(chapter_settings("paper"), 20)
    assert both.startswith("FID and KID on 320 slices")
