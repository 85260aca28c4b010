"""The virtual fibrosis cohort (t2tcore.scanner.cohorts.fibrosis and its models): disease model, truth, survival, files."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pandas as pd
import pytest

from t2tcore.errors import ClinicalError
from t2tcore.io import read_series
from t2tcore.scanner import Ellipsoid, Phantom, TubeSet, chest
from t2tcore.scanner.cohorts import fibrosis as C
from tests.conftest import TINY_FIBROSIS as TINY


@pytest.fixture(scope="module")
def ph():
    return chest(7, z_extent=(-100.0, 100.0), fibrosis=0.2)


def _connected(a, b, gen):
    """Every segment starts where another one ends, except the trachea's top."""
    ends = {tuple(np.round(q, 6)) for q in b}
    starts = [tuple(np.round(p, 6)) for p in a]
    return all(s in ends for s, g in zip(starts, gen) if g > 0)


def test_no_disease_change_keeps_the_phantom(ph):
    none = C.DiseaseModel(calibre=(1.0, 1.0), dilation=0.0, prune_radius_mm=(0.0, 0.0), tortuosity=0.0)
    new = C.diseased_airways(ph, 0.7, np.random.default_rng(0), none)
    s0, s1 = ph.airway_segments, new.airway_segments
    np.testing.assert_array_equal(s0.a, s1.a)
    np.testing.assert_allclose(s0.rb, s1.rb)
    g = ph.grid(48)
    z = np.linspace(ph.anatomy["carina_z"] - 20, ph.anatomy["carina_z"] + 5, 6)
    np.testing.assert_array_equal(ph.hu(g, g, z), new.hu(g, g, z))


def test_severity_widens_adds_and_bends_distal_airways_on_a_connected_tree(ph):
    m = C.DiseaseModel()
    mild = C.diseased_airways(ph, 0.0, np.random.default_rng(1), m)
    severe = C.diseased_airways(ph, 1.0, np.random.default_rng(1), m)
    assert ph.airway_segments is not mild.airway_segments and len(ph.airway_segments) == len(ph.airway_generation)
    g0, g1 = mild.airway_generation, severe.airway_generation
    # more air-filled distal branches with severity (pruning at 1.6 mm vs 1.0 mm outer radius)
    assert np.sum(g1 >= 2) > np.sum(g0 >= 2)
    # central airways only scaled by the calibre factor; distal ones dilated on top of it
    t0 = ph.airway_segments.ra[ph.airway_generation == 0][0]
    assert severe.airway_segments.ra[g1 == 0][0] == pytest.approx(t0 * m.calibre[1])
    assert mild.airway_segments.ra[g0 == 0][0] == pytest.approx(t0 * m.calibre[0])
    deep = ph.airway_segments.ra[(ph.airway_generation >= 6) & (ph.airway_segments.ra >= 1.6)]
    assert severe.airway_segments.ra[g1 >= 6].max() > 1.5 * deep.max()
    for p, g in ((mild, g0), (severe, g1)):
        assert _connected(p.airway_segments.a, p.airway_segments.b, g)
    # bends: distal segments split in three at u = 1, none at u = 0
    assert len(severe.airway_segments) > 2 * np.sum(g1 >= 2) / 3 + np.sum(g1 < 2)
    assert len(mild.airway_segments) == len(g0)
    # the swapped primitives are painted where the old ones were
    i = next(k for k, q in enumerate(severe.primitives) if q is severe.airway_lumen)
    assert ph.primitives[i] is ph.airway_lumen and severe.primitives[i - 1] is severe.airway_wall
    with pytest.raises(ValueError):
        C.diseased_airways(ph, 1.5, np.random.default_rng(0))


def test_airway_truth_is_the_painted_lumen_minus_what_is_painted_over_it():
    lumen = TubeSet([[0.0, 0.0, -30.0]], [[0.0, 0.0, 30.0]], 6.0, 6.0, -1000.0)
    wall = TubeSet([[0.0, 0.0, -30.0]], [[0.0, 0.0, 30.0]], 8.0, 8.0, 50.0)
    nodule = Ellipsoid([6.0, 0.0, 0.0], [4.0, 4.0, 4.0], 40.0)
    body = Ellipsoid([0.0, 0.0, 0.0], [19.0, 19.0, 39.0], 0.0)
    ph = Phantom([body, wall, lumen, nodule], (-40.0, 40.0), 40.0)
    ph.airway_lumen = lumen
    x = (np.arange(40) - 19.5) * 1.0
    z = np.array([-10.0, 0.0])
    truth = C.airway_truth(ph, x, x, z, 1.0)
    # away from the nodule: the disc of radius 6 mm (pi r^2 = 113 voxels of 1 mm^2)
    assert truth[0].sum() == pytest.approx(math.pi * 36, rel=0.06)
    # at z = 0 the nodule covers part of the lumen: exactly what the phantom shows as -1000 HU there
    hu = ph.hu(x, x, z)
    assert truth[1].sum() < truth[0].sum() - 10
    inside = np.hypot(*np.meshgrid(x, x)) < 15  # within the body
    assert np.mean(truth[1][inside] == (hu[1][inside] < -900)) > 0.97
    with pytest.raises(ValueError):
        C.airway_truth(ph, x[::-1], x, z, 1.0)


def test_snap_thickness_and_plan():
    assert C.snap_thickness([1.2, 1.74, 1.76, 2.27, 2.8, 9.0]).tolist() == [1.5, 1.5, 2.0, 2.5, 3.0, 3.0]
    plans = C.plan_fibrosis("quick")
    ana = [p for p in plans if p.role == "analysis"]
    assert len(ana) == 36 and len(plans) == 42 and [p.patient for p in ana][:2] == ["F001", "F002"]
    assert {p.thickness_mm for p in ana} <= set(C.OFFERED_THICKNESS_MM)
    assert all(p.interval_mm == p.thickness_mm for p in ana)
    assert all(p.time > 0 and p.event in (0, 1) and p.time <= p.true_time + 1e-9 for p in ana)
    assert len({p.phantom_seed for p in plans}) == len(plans) and len({p.noise_seed for p in plans}) == len(plans)
    assert plans == C.plan_fibrosis("quick")  # deterministic
    # another survival model changes the times and nothing of the images
    other = C.plan_fibrosis("quick", survival=C.SurvivalModel(beta=0.1))
    same = lambda p: (p.phantom_seed, p.severity, p.fibrosis, p.thickness_mm, p.top_above_carina_mm)
    assert [same(p) for p in plans] == [same(p) for p in other]
    assert [p.time for p in ana] != [p.time for p in other if p.role == "analysis"]
    with pytest.raises(ClinicalError, match="unknown fibrosis cohort profile"):
        C.resolve_fibrosis_profile("huge")
    with pytest.raises(ClinicalError, match="missing key"):
        C.resolve_fibrosis_profile({"name": "x"})


def test_thickness_distribution_is_the_papers_rounded():
    t = C.snap_thickness(np.random.default_rng(0).normal(2.27, 0.44, 20000))
    assert t.mean() == pytest.approx(2.27, abs=0.02)
    assert set(np.unique(t)) == set(C.OFFERED_THICKNESS_MM)


def test_survival_model_draws_its_own_weibull_and_hazard_ratio():
    from t2tcore.clinical.survival import fit_cox

    m = C.SurvivalModel()
    rng = np.random.default_rng(3)
    s = rng.standard_normal(4000)
    time_, event, true = m.draw(s, rng)
    assert np.all(time_ <= true) and np.array_equal(event, (true <= time_ + 1e-12).astype(int))
    zero = m.draw(np.zeros(20000), np.random.default_rng(4))[2]
    assert np.median(zero) == pytest.approx(m.median_years, rel=0.03)
    grid = np.array([1.0, 3.0, 5.0])
    assert np.mean(zero[:, None] > grid, axis=0) == pytest.approx(m.survival(grid, 0.0), abs=0.01)
    fit = fit_cox({"s": s}, time_, event, standardise=False)
    assert fit["summary"].loc["s", "coef"] == pytest.approx(m.beta, abs=0.06)
    d = m.describe()
    assert d["hazard_ratio_per_sd"] == pytest.approx(2.0) and "Weibull" in d["model"]


def test_tiny_cohort_files_manifest_and_truth(tiny_cohort):
    from t2tcore.scanner import MANIFEST_NAME

    root = tiny_cohort["root"]
    man = json.loads((root / MANIFEST_NAME).read_text())
    assert man["spec"] == C.fibrosis_cohort_spec(TINY)
    assert man["true_model"]["survival"]["beta"] == pytest.approx(math.log(2.0))
    assert C.is_fibrosis_up_to_date(TINY, root)
    surv = pd.read_csv(root / "survival.csv")
    assert list(surv.columns) == ["patient_id", "time", "event"] and list(surv.patient_id) == ["F001", "F002"]
    truth = pd.read_csv(root / "truth.csv")
    assert set(truth.patient_id) == {"F001", "F002", "F501"}
    for p in man["patients"]:
        folder = root / ("images" if p["role"] == "analysis" else "sr_train") / p["patient"]
        thin = read_series(folder / "thin")
        z0, z1 = p["scan_range_mm"]
        assert thin.positions[0] == pytest.approx(z0, abs=1e-3) and thin.positions[-1] <= z1 + 1e-3
        assert thin.thickness == pytest.approx(1.0) and thin.spacing == pytest.approx(0.8, abs=1e-3)
        assert z1 - p["carina_z_mm"] == pytest.approx(p["top_above_carina_mm"], abs=0.06)
        mask = read_series(folder / "airway_truth.nii.gz")
        assert mask.volume.shape == thin.volume.shape
        np.testing.assert_allclose(mask.positions, thin.positions, atol=1e-3)
        m = mask.volume > 0.5
        assert set(np.unique(mask.volume)) <= {0.0, 1.0} and m.sum() == p["truth_voxels"] > 0
        assert np.median(thin.volume[m]) < -600  # the true lumen is dark on the thin image
        if p["role"] == "analysis":
            thick = read_series(folder / "thick")
            assert thick.thickness == pytest.approx(p["thickness_mm"]) and thick.spacing == pytest.approx(p["interval_mm"])
            assert thick.positions[0] <= thin.positions[0] + 1e-6 and thick.positions[-1] >= thin.positions[-1] - 1e-6
            assert thick.header.StudyInstanceUID == thin.header.StudyInstanceUID
        else:
            assert not (folder / "thick").exists()


def test_thick_is_a_reconstruction_not_a_resampling_of_thin(tiny_cohort):
    from t2tcore.evaluation import resample_z

    folder = tiny_cohort["root"] / "images" / "F001"
    thin, thick = read_series(folder / "thin"), read_series(folder / "thick")
    up = resample_z(thick.volume, thick.positions, thin.positions, outside="clamp")
    body = thin.volume > -500
    # the same anatomy (correlated), but not the thin slices: other noise, other z blur
    r = np.corrcoef(up[body], thin.volume[body])[0, 1]
    assert 0.5 < r < 0.999


def test_up_to_date_cohort_is_kept_and_folders_are_guarded(tiny_cohort, tmp_path):
    root = tiny_cohort["root"]
    before = os.stat(root / "survival.csv").st_mtime_ns
    C.make_fibrosis_cohort(TINY, root, progress=False)
    assert os.stat(root / "survival.csv").st_mtime_ns == before
    other = tmp_path / "stuff"
    other.mkdir()
    (other / "x.txt").write_text("mine")
    with pytest.raises(ClinicalError, match="not empty"):
        C.make_fibrosis_cohort(TINY, other, progress=False)
    ldct = tmp_path / "ldct"
    ldct.mkdir()
    (ldct / "cohort_manifest.json").write_text(json.dumps({"spec": {"format": 1}}))
    with pytest.raises(ClinicalError, match="another kind"):
        C.make_fibrosis_cohort(TINY, ldct, progress=False)
    with pytest.raises(ClinicalError, match="device"):
        C.make_fibrosis_cohort(TINY, tmp_path / "new", progress=False, device="nonsense")
    assert (other / "x.txt").read_text() == "mine"
    assert not C.is_fibrosis_up_to_date({**TINY, "seed": 6}, root)
