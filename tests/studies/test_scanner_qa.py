"""Tests of t2tcore.studies.scanner_qa: the virtual scanner measured as a physicist would."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from t2tcore.studies import scanner_qa
from t2tcore.scanner import ScannerConfig


def test_ray_z_is_the_helix_and_half_pitch_interleaves_the_rays():
    cfg = ScannerConfig(image_size=32, n_rows=16, row_width=0.6, pitch=0.9375)
    m, z = scanner_qa.ray_z(cfg, n_half_rot=4)
    np.testing.assert_array_equal(m, [-2, -1, 0, 1])
    feed = 0.9375 * 16 * 0.6  # pitch x collimation
    offsets = (np.arange(16) - 7.5) * 0.6
    np.testing.assert_allclose(z, m[:, None] * feed / 2 + offsets[None, :])
    # pitch 15/16: complementary rays fall halfway between direct ones -> z sampled every w / 2
    assert scanner_qa.z_sampling(scanner_qa.ray_z(cfg)[1]) == pytest.approx(0.3)
    fast = ScannerConfig(image_size=32, n_rows=16, row_width=0.625, pitch=1.375)
    assert scanner_qa.z_sampling(scanner_qa.ray_z(fast)[1]) == pytest.approx(0.625)
    with pytest.raises(ValueError):
        scanner_qa.ray_z(cfg, n_half_rot=0)


def test_noise_falls_with_dose_and_thickness_as_predicted():
    cfg = ScannerConfig(image_size=64)
    table, water = scanner_qa.noise_study(cfg, 64, doses=(400.0, 100.0), thicknesses=(1.0, 3.0))
    assert list(table.columns) == ["mAs", "thickness (mm)", "measured SD (HU)", "predicted SD (HU)",
                                   "measured / predicted"]
    assert len(table) == 4 and abs(water) < 5.0  # water is 0 HU
    sd = table.set_index(["mAs", "thickness (mm)"])["measured SD (HU)"]
    # quantum noise: a quarter of the dose doubles the SD (within the estimate's noise)
    assert sd[(100.0, 1.0)] / sd[(400.0, 1.0)] == pytest.approx(2.0, rel=0.2)
    assert sd[(400.0, 3.0)] < sd[(400.0, 1.0)]
    np.testing.assert_allclose(table["measured / predicted"], 1.0, atol=0.3)


def test_ssp_study_measures_the_nominal_thickness():
    cfg = ScannerConfig(image_size=64)
    study = scanner_qa.ssp_study(cfg, cfg, thicknesses=(3.0,), kinds=("trapezoid",))
    t = study["table"]
    assert t.loc[0, "measured FWHM (mm)"] == pytest.approx(3.0, rel=0.1)
    assert t.loc[0, "measured / nominal"] == pytest.approx(t.loc[0, "measured FWHM (mm)"] / 3.0)
    z, prof = study["measured"][(3.0, "trapezoid")]
    assert abs(z[int(np.argmax(prof))]) < 0.3  # the SSP peaks at the disk
    assert set(study["weights"]) == set(study["model"]) == {(3.0, "trapezoid")}


def test_chapter_setup_picks_a_test_patient_and_a_training_chest():
    s = scanner_qa.chapter_setup("smoke", None, seed=1)
    assert s.manifest is None and s.plan.role == "test" and s.train_plan.anatomy == "chest"
    from t2tcore.scanner import plan_patients

    tests = [p for p in plan_patients(s.profile) if p.role == "test"]
    assert s.plan == tests[1 % len(tests)]
    assert s.test_cfg.image_size == s.profile["image_size"] and s.test_cfg.pitch != s.train_cfg.pitch


def test_thin_thick_reads_the_cohort_layout(tmp_path):
    from types import SimpleNamespace

    from t2tcore.data import series_dir
    from t2tcore.io import Series, write_series

    for k, t, inc in scanner_qa.THIN_THICK:
        n = int(8 / inc)
        vol = np.full((n, 6, 6), 10.0 * t, np.float32)
        write_series(Series.from_array(vol, np.arange(n) * inc, (0.8, 0.8), t), series_dir(tmp_path, "V001", k, "full", t))
    setup = SimpleNamespace(plan=SimpleNamespace(patient="V001"))
    vols = scanner_qa.thin_thick(setup, tmp_path)
    vol, pos, pix = vols[("B30", 3)]
    assert pix == pytest.approx(0.8) and vol.shape == (4, 6, 6) and np.allclose(vol, 30.0, atol=0.5)
    np.testing.assert_allclose(pos, [0.0, 2.0, 4.0, 6.0])
    assert vols["timings"] == {}


def test_common_slice_difference_stats_and_findings():
    # both series have 0 and 4 mm (2 mm is not a thin position): the middle of [0, 4] is 4
    assert scanner_qa.common_slice([0.0, 0.8, 1.6, 2.4, 3.2, 4.0], [0.0, 2.0, 4.0]) == (4.0, 5, 2)
    assert scanner_qa.common_slice(np.arange(0, 8.01, 0.8), [0.0, 4.0, 8.0]) == (4.0, 5, 1)
    with pytest.raises(ValueError, match="share no slice"):
        scanner_qa.common_slice([0.5], [0.0])
    thin = np.array([[0.0, 10.0], [-1000.0, 4.0]], np.float32)
    thick = np.array([[2.0, 6.0], [-1000.0, 0.0]], np.float32)
    d = scanner_qa.difference_stats(thin, thick)
    body = np.array([-2.0, 4.0, 4.0])  # the three pixels above -500 HU in the thick slice
    assert d["mean"] == pytest.approx(body.mean()) and d["sd"] == pytest.approx(body.std())
    assert d["p99_abs"] == pytest.approx(np.percentile(np.abs(body), 99))
    ssp = pd.DataFrame({"measured / nominal": [0.99, 1.004]})
    noise = pd.DataFrame({"mAs": [200.0, 50.0], "thickness (mm)": [1.0, 3.0], "measured / predicted": [0.96, 1.05]})
    text = scanner_qa.findings(ssp, noise, d)
    assert "0.990 to 1.004 times the nominal" in text and "0.96 to 1.05 times the predicted noise over 2 doses" in text


def test_cohort_tables_from_a_manifest():
    manifest = {
        "series": [{"role": "test", "kernel": "B30", "dose": "full", "label": "1mm", "patient": p, "n_slices": 51}
                   for p in ("V001", "V002")],
        "patients": [{"patient": "V001", "role": "test", "anatomy": "abdomen", "fov_mm": 386.6,
                      "timings_s": {"phantom": 0.5, "total": 7.0}}],
        "summary": {"n_test_patients": 2, "n_train_patients": 0, "n_series": 2, "wall_s": 28.4, "peak_rss_mb": 792.2},
        "generator": {"device": "cpu"},
    }
    series, patients, line = scanner_qa.cohort_tables(manifest)
    assert series.to_dict("records") == [{"role": "test", "kernel": "B30", "dose": "full", "label": "1mm",
                                          "patients": 2, "slices_per_patient": 51}]
    assert patients.to_dict("records") == [{"patient": "V001", "role": "test", "anatomy": "abdomen",
                                            "fov (mm)": 387, "seconds": 7.0}]
    assert line == "2 test + 0 training patients, 2 series, made in 28 s on cpu, peak memory 792 MB"
