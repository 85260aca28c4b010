"""The ``ldct`` virtual cohort (t2tcore.scanner.cohorts.ldct) and ``t2t data virtual``.

A tiny profile (64^2 pixels, 12 mm of z, 1 test + 1 training patient) is generated once per
module from a YAML manifest written here; the checks read it back with the same readers the
notebooks use (layout, read_series, the manifest check) and test what matters: the layout,
the headers, shared Study/FrameOfReference UIDs, the skip/regenerate logic, atomicity, and
that the "real" thick series is a reconstruction of the same raw data as the thin one and
not a thick-slice simulation of the thin series.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pydicom
import pytest
import yaml

from t2tcore.scanner.cohorts import ldct as C
from t2tcore.cli import main as cli
from t2tcore.io import Series, read_series, write_series
from t2tcore.errors import T2TError
from t2tcore.data.layout import find_series, find_training_series, series_dir, training_series_dir
from t2tcore.data.manifests import MANIFEST_DIR
from t2tcore.simulation.simulate import simulate_thick

Z_LEN = 12.0
N_THIN = int(np.floor(Z_LEN / 0.8 + 1e-9)) + 1  # slices from -6 to +6 mm every 0.8 mm
N_THICK = int(np.floor(Z_LEN / 2.0 + 1e-9)) + 1


def _tiny_manifest(path: Path, **changes) -> Path:
    m = yaml.safe_load((MANIFEST_DIR / "virtual_smoke.yaml").read_text())
    m["name"] = path.stem
    m["profile"].update(name="tiny", image_size=64, z_length_mm=Z_LEN, n_test=1, n_train=1, **changes)
    path.write_text(yaml.safe_dump(m))
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    base = tmp_path_factory.mktemp("cohort")
    manifest = _tiny_manifest(base / "virtual_tiny.yaml")
    t0 = time.perf_counter()
    root = C.make_cohort(str(manifest), base / "cohort", progress=False, device="cpu")
    return {"root": root, "manifest": manifest, "seconds": time.perf_counter() - t0, "base": base}


def _series(root, patient="V001"):
    return {(e.kernel, e.dose, e.thickness_label): e.path for e in find_series(root, patient=patient)}


def test_layout_and_every_series_reads_back_with_its_parameters(tiny):
    root = tiny["root"]
    found = _series(root)
    assert sorted(found) == sorted((k, d, t) for k in ("B30", "D45") for d in ("full", "quarter") for t in ("1mm", "3mm"))
    for (k, d, t), path in found.items():
        assert path == series_dir(root, "V001", k, d, t)
        s = read_series(path)
        thick, inc, n = (1.0, 0.8, N_THIN) if t == "1mm" else (3.0, 2.0, N_THICK)
        assert s.volume.shape[0] == n and s.volume.shape[1:] == (64, 64)
        assert s.thickness == pytest.approx(thick) and s.spacing == pytest.approx(inc, abs=1e-3)
        assert s.positions[0] == pytest.approx(-Z_LEN / 2, abs=1e-3) and s.positions[-1] == pytest.approx(Z_LEN / 2, abs=1e-3)
        h = pydicom.dcmread(s.files[0], stop_before_pixels=True)
        assert h.ConvolutionKernel == k and int(h.Exposure) == {"full": 200, "quarter": 50}[d]
        assert float(h.KVP) == 120 and h.Manufacturer == "t2t virtual scanner"
        assert h.SeriesDescription == f"V001 {d} {t} {k}" and h.PatientID == "V001" and str(h.PatientName) == "V001"
        # pixel spacing = the patient's field of view / matrix, as the manifest says
        assert s.pixel_spacing[0] == pytest.approx(float(h.ReconstructionDiameter) / 64, rel=1e-4)
        # an abdomen: air outside, soft tissue inside, bone somewhere
        assert s.volume.min() < -900 and s.volume.max() > 300
    train = find_training_series(root)
    assert [(e.patient, e.dose) for e in train] == [("V501", "full")]
    assert train[0].path == training_series_dir(root, "V501")
    s = read_series(train[0].path)
    assert s.volume.shape == (N_THIN, 64, 64) and s.thickness == pytest.approx(1.0)
    assert s.description == "V501 full 1mm B30"


def test_thin_and_thick_share_study_and_frame_of_reference(tiny):
    root = tiny["root"]
    series = [read_series(p) for p in _series(root).values()]
    headers = [s.header for s in series]
    assert len({h.StudyInstanceUID for h in headers}) == 1
    assert len({h.FrameOfReferenceUID for h in headers}) == 1
    assert len({s.series_uid for s in series}) == len(series) == 8
    train = read_series(training_series_dir(root, "V501")).header
    assert train.StudyInstanceUID != headers[0].StudyInstanceUID
    assert train.FrameOfReferenceUID != headers[0].FrameOfReferenceUID


def test_training_cohort_comes_from_another_scanner_configuration(tiny):
    root = tiny["root"]
    test_h = read_series(series_dir(root, "V001", "B30", "full", 1)).header
    train_h = read_series(training_series_dir(root, "V501")).header
    assert float(test_h.SpiralPitchFactor) == C.TEST_SCANNER["pitch"]
    assert float(train_h.SpiralPitchFactor) == C.TRAIN_SCANNER["pitch"]
    assert (float(test_h.SpiralPitchFactor), float(test_h.SingleCollimationWidth)) != (
        float(train_h.SpiralPitchFactor), float(train_h.SingleCollimationWidth))


def test_manifest_records_parameters_and_every_series(tiny):
    m = C.read_manifest(tiny["root"])
    spec = m["spec"]
    assert spec["t2t_version"] and spec["profile"]["image_size"] == 64 and spec["profile"]["seed"] == 2016
    assert spec["test"]["scanner"]["pitch"] == C.TEST_SCANNER["pitch"]
    assert [r["thickness"] for r in spec["test"]["recons"]] == [1.0, 1.0, 3.0, 3.0]
    assert len(m["series"]) == 9 and m["summary"]["n_series"] == 9
    for s in m["series"]:
        folder = tiny["root"] / s["path"]
        assert len(list(folder.glob("*.dcm"))) == s["n_slices"] == (N_THIN if s["thickness_mm"] == 1.0 else N_THICK)
    for p in m["patients"]:
        assert set(p["timings_s"]) == {"phantom", "projection", "noise", "reconstruction", "dicom", "total"}
        assert p["patient"].startswith("V")


def test_patient_plan_is_deterministic_with_disjoint_seeds():
    p = C.resolve_profile("quick")
    a, b = C.plan_patients(p), C.plan_patients(p)
    assert a == b
    test = [x for x in a if x.role == "test"]
    train = [x for x in a if x.role == "train"]
    assert len(test) == p["n_test"] and len(train) == p["n_train"]
    assert not {x.phantom_seed for x in test} & {x.phantom_seed for x in train}
    assert len({x.phantom_seed for x in a}) == len(a) and len({x.noise_seed for x in a}) == len(a)
    assert {x.anatomy for x in test} == {"abdomen"} and {x.anatomy for x in train} == {"abdomen", "chest"}
    assert all(x.patient.startswith("V") for x in a)
    other = C.plan_patients({**p, "seed": p["seed"] + 1})
    assert {x.phantom_seed for x in other}.isdisjoint({x.phantom_seed for x in a})


def test_real_thick_is_a_reconstruction_not_a_simulation_of_the_thin_series(tiny, tmp_path):
    root = tiny["root"]
    thin = read_series(series_dir(root, "V001", "B30", "full", 1))
    thick = read_series(series_dir(root, "V001", "B30", "full", 3))
    body = thick.volume.mean(0) > -500
    for method in ("proposed", "gaussian_z"):
        sim, pos = simulate_thick(thin.volume, thin.positions, 3.0, method=method, target_positions=thick.positions)
        roundoff = np.sqrt(np.mean((np.rint(sim) - sim)[:, body] ** 2))  # what int16 storage alone changes
        rms = np.sqrt(np.mean((sim - thick.volume)[:, body] ** 2))
        assert rms > 5 * roundoff, (method, rms, roundoff)
        assert abs(np.mean((sim - thick.volume)[:, body])) < 2.0  # same calibration, same mean
    # negative control: a cohort writer that stored the simulation would fail the check above
    fake = Series.from_array(sim, pos, thin.pixel_spacing, 3.0, interval=2.0)
    back = read_series(write_series(fake, tmp_path / "fake"))
    assert np.sqrt(np.mean((back.volume - sim)[:, body] ** 2)) <= 1.5 * roundoff


def test_thin_and_thick_of_one_dose_share_their_noise(tiny):
    """Full minus quarter dose cancels the anatomy and leaves the two doses' noise. If thin and
    thick of a dose come from the same raw data, their noise differences agree (after the
    z-averaging); from separate acquisitions they would be uncorrelated."""
    root = tiny["root"]
    r = {(d, t): read_series(series_dir(root, "V001", "B30", d, t)) for d in ("full", "quarter") for t in (1, 3)}
    n_thin = r[("full", 1)].volume - r[("quarter", 1)].volume
    n_thick = r[("full", 3)].volume - r[("quarter", 3)].volume
    body = r[("full", 3)].volume.mean(0) > -500
    s, _ = simulate_thick(n_thin, r[("full", 1)].positions, 3.0, target_positions=r[("full", 3)].positions)
    corr = np.corrcoef(s[:, body].ravel(), n_thick[:, body].ravel())[0, 1]
    assert corr > 0.7
    # and thick slices are less noisy than thin ones (more rays averaged)
    assert n_thick[:, body].std() < 0.8 * n_thin[:, body].std()


def test_data_check_passes_and_names_what_is_missing(tiny, tmp_path, capsys):
    rc = cli(["data", "check", str(tiny["root"]), "--manifest", str(tiny["manifest"]), "--no-progress"])
    out = capsys.readouterr().out
    assert rc == 0 and "9 of 9 expected series present, 9 correct -- COMPLETE" in out
    broken = tmp_path / "broken"
    shutil.copytree(tiny["root"], broken)
    shutil.rmtree(series_dir(broken, "V001", "D45", "quarter", 3))
    rc = cli(["data", "check", str(broken), "--manifest", str(tiny["manifest"]), "--no-progress"])
    assert rc == 1 and "V001 3mm D45 quarter dose" in capsys.readouterr().out
    assert not C.is_up_to_date(str(tiny["manifest"]), broken)  # an incomplete cohort is made again


def test_matching_manifest_skips_and_force_gives_identical_pixels(tiny, tmp_path, capsys):
    root, manifest = tiny["root"], str(tiny["manifest"])
    stamp = (root / C.MANIFEST_NAME).stat().st_mtime_ns
    t0 = time.perf_counter()
    assert C.make_cohort(manifest, root, progress=False) == root
    assert time.perf_counter() - t0 < min(2.0, tiny["seconds"] / 3)
    assert (root / C.MANIFEST_NAME).stat().st_mtime_ns == stamp
    rc = cli(["data", "virtual", "--profile", manifest, str(root), "--no-progress"])
    assert rc == 0 and "up to date, kept" in capsys.readouterr().out
    # force on a copy: made again, same seeds -> the same images and Study/FoR UIDs, new series UIDs
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    C.make_cohort(manifest, copy, force=True, progress=False, device="cpu")
    assert (copy / C.MANIFEST_NAME).stat().st_mtime_ns != stamp
    for key, path in _series(root).items():
        a, b = read_series(path), read_series(_series(copy)[key])
        assert np.array_equal(a.volume, b.volume)
        assert a.header.StudyInstanceUID == b.header.StudyInstanceUID
        assert a.series_uid != b.series_uid


def test_different_parameters_regenerate_and_replace_the_old_cohort(tiny, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(tiny["root"], copy)
    reduced = _tiny_manifest(tmp_path / "virtual_tiny_b30.yaml",
                             test={"kernels": ["B30"], "doses": ["full"], "thin": {"thickness_mm": 1.0, "increment_mm": 0.8},
                                   "thick": {"thickness_mm": 3.0, "increment_mm": 2.0}})
    assert not C.is_up_to_date(str(reduced), copy)
    C.make_cohort(str(reduced), copy, progress=False, device="cpu")
    assert sorted(_series(copy)) == [("B30", "full", "1mm"), ("B30", "full", "3mm")]  # old D45/quarter gone
    m = C.read_manifest(copy)
    assert m["spec"]["profile"]["test"]["kernels"] == ["B30"] and len(m["series"]) == 3
    assert C.is_up_to_date(str(reduced), copy) and not C.is_up_to_date(str(tiny["manifest"]), copy)
    assert not list(tmp_path.glob(".copy.t2t-*"))  # no temporary folder left behind


def test_an_interrupted_run_leaves_no_half_cohort(tiny, tmp_path, monkeypatch):
    def boom(plan, profile, tmp, *args, **kwargs):
        (tmp / "Training_Image_Data").mkdir()
        raise KeyboardInterrupt

    monkeypatch.setattr(C, "_make_patient", boom)
    with pytest.raises(KeyboardInterrupt):
        C.make_cohort(str(tiny["manifest"]), tmp_path / "new", progress=False)
    assert not (tmp_path / "new").exists() and not list(tmp_path.iterdir())
    # an existing (stale) cohort stays as it was
    old = tmp_path / "old"
    shutil.copytree(tiny["root"], old)
    before = sorted(str(p.relative_to(old)) for p in old.rglob("*"))
    with pytest.raises(KeyboardInterrupt):
        C.make_cohort(str(tiny["manifest"]), old, force=True, progress=False)
    assert sorted(str(p.relative_to(old)) for p in old.rglob("*")) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old"]


def test_bad_input_is_one_line_error(tmp_path, capsys):
    with pytest.raises(T2TError, match="unknown profile"):
        C.make_cohort("huge", tmp_path / "x")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    rc = cli(["data", "virtual", "--profile", "smoke", str(tmp_path / "mine"), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and "holds no cohort_manifest.json" in err and len(err.strip().splitlines()) == 1
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    with pytest.raises(T2TError, match="one kernel"):
        C.resolve_profile({**C.resolve_profile("smoke"), "train": {"kernels": ["B30", "D45"], "doses": ["full"],
                                                                   "thin": {"thickness_mm": 1.0, "increment_mm": 0.8}}})
    with pytest.raises(T2TError, match="n_test"):
        C.resolve_profile({**C.resolve_profile("smoke"), "n_test": 0})
