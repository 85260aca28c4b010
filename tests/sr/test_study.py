import pytest

from t2tcore.io import write_series
from t2tcore.data import series_dir, training_series_dir
from t2tcore.sr import datasets, study
from t2tcore.sr.profiles import chapter_settings

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
    assert set(ckpts) == {"vdsr/proposed", "vdsr/average", "vdsr/placed_average", "vdsr/calibrated",
                          "esrresnet/proposed", "esrresnet/average", "esrgan/proposed", "esrgan/average"}
    assert ckpts["esrgan/proposed"]["config"]["init_from"] == ckpts["esrresnet/proposed"]["cache_key"]
    assert ckpts["vdsr/calibrated"]["simulation"]["profile"] == cal.profile
    again = study.train_runs(S, train, tmp_path / "models", calibration=cal)
    assert all(c["cached"] for c in again.values())
    res = study.evaluate(cases, ckpts, S)
    df = res.metrics
    assert set(df.label) == set(ckpts) | {"linear"} and set(df.patient) == {"V002"}
    assert len(df) == (len(ckpts) + 1) * 2 and (df.n_slices == 8).all()
    fig = study.figure_case(cases[0], {k: ckpts[k] for k in ("esrgan/average", "esrgan/proposed")}, S)
    assert set(fig["volumes"]) == {"thin", "linear", "esrgan/average", "esrgan/proposed"}
    assert fig["volumes"]["thin"].shape[0] > 8 and fig["case"] == ("V002", "B30", "full")
    text = study.findings(df)
    assert "SR against no network" in text and "Proposed vs naive" in text and "Ablation (vdsr, HU)" in text
    assert "Why the conventions can disagree" in text
