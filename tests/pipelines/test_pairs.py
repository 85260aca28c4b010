"""make_pairs end to end: the pairs equal ``t2t simulate``, the index is MONAI's, reruns resume."""

from __future__ import annotations

import json
import os
import shutil

import nibabel as nib
import numpy as np
import pytest

from t2tcore.io.lock import lock_path

from t2tcore.errors import T2TError
from t2tcore.io import read_series
from t2tcore.pipelines import make_pairs, simulations

from .conftest import run_t2t, write_thin

GOOD = {"P1_ct_thin", "P2_thin", "P3_ct"}
BAD = {"P4_thick": "thicker than the requested", "P5_short": "too few slices", "P6_broken": "not a readable NIfTI"}


def _pairs(archive, out, **kw):
    return make_pairs(archive, out, simulations([3.0], [2.0]), **kw)


def test_an_archive_gives_the_pairs_of_t2t_simulate_and_names_the_bad_series(archive, tmp_path, t2t_simulate):
    out = tmp_path / "out"
    s = _pairs(archive, out, workers=1, val_patients=1, seed=0)
    assert set(s.made) == GOOD and s.up_to_date == [] and not s.removed
    assert {i: why for i, why in s.failed}.keys() == BAD.keys()
    for ident, why in s.failed:
        assert BAD[ident] in why and "\n" not in why
    for ident in GOOD:
        thin = next(p for p in (archive / ident.split("_")[0]).rglob("*") if p.name in ("thin", "ct", "thin.nii.gz")
                    and (p.is_file() or not any(c.is_dir() for c in p.iterdir())))
        ref = t2t_simulate(thin, tmp_path / f"{ident}.nii.gz", "--thickness", 3, "--interval", 2)
        got = nib.load(str(out / "thick" / f"{ident}.nii.gz"))
        assert np.array_equal(np.asarray(got.dataobj), np.asarray(ref.dataobj))
        np.testing.assert_allclose(got.affine, ref.affine, atol=1e-5)
        want_thin = read_series(thin).volume
        np.testing.assert_array_equal(read_series(out / "thin" / f"{ident}.nii.gz").volume, want_thin)
        side = json.loads((out / "thick" / f"{ident}.json").read_text())
        assert side["SliceThickness"] == 3.0 and side["SpacingBetweenSlices"] == 2.0
        assert side == json.loads((tmp_path / f"{ident}.json").read_text())  # the same sidecar, description too
    # nothing of the bad series, nothing staged
    names = {p.name for p in out.rglob("*.nii.gz")}
    assert not any(b in n for b in BAD for n in names)
    assert list((out / ".t2t-pairs" / "staging").iterdir()) == [] and not lock_path(out).exists()


def test_the_datalist_is_monais_and_splits_whole_patients(archive, tmp_path):
    from monai.data import load_decathlon_datalist
    from monai.transforms import Compose, EnsureChannelFirstd, LoadImaged

    out = tmp_path / "out"
    s = _pairs(archive, out, workers=1, val_patients=1, seed=3)
    train = load_decathlon_datalist(str(out / "datalist.json"), data_list_key="training")
    val = load_decathlon_datalist(str(out / "datalist.json"), data_list_key="validation")
    assert (len(train), len(val)) == (s.n_training, s.n_validation) == (2, 1)
    assert not {d["patient"] for d in train} & {d["patient"] for d in val}
    sample = Compose([LoadImaged(["image", "label"]), EnsureChannelFirstd(["image", "label"])])(train[0])
    assert sample["image"].shape[:3] == sample["label"].shape[:3]
    assert sample["image"].shape[3] < sample["label"].shape[3]
    rows = (out / "pairs.csv").read_text().splitlines()
    header = rows[0].split(",")
    assert len(rows) == 4 and {"image", "label", "split", "thickness_mm", "source", "key"} <= set(header)
    again = _pairs(archive, tmp_path / "out2", workers=1, val_patients=1, seed=3)
    assert json.loads((tmp_path / "out2" / "datalist.json").read_text())["validation"] == json.loads(
        (out / "datalist.json").read_text())["validation"] and again.n_validation == 1


def test_a_rerun_makes_only_what_changed(archive, tmp_path):
    out = tmp_path / "out"
    _pairs(archive, out, workers=1)
    stamp = {p: p.stat().st_mtime_ns for p in out.rglob("*.nii.gz")}
    s = _pairs(archive, out, workers=1)
    assert s.made == [] and set(s.up_to_date) == GOOD
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.nii.gz")} == stamp
    # a changed input file: that series only
    p2 = archive / "P2" / "thin.nii.gz"
    os.utime(p2, ns=(p2.stat().st_atime_ns, p2.stat().st_mtime_ns + 10**9))
    s = _pairs(archive, out, workers=1)
    assert s.made == ["P2_thin"] and set(s.up_to_date) == GOOD - {"P2_thin"}
    # a series that left DATA: its pairs are removed
    shutil.rmtree(archive / "P3")
    s = _pairs(archive, out, workers=1)
    assert s.removed == ["P3_ct"] and not (out / "thick" / "P3_ct.nii.gz").exists()
    # other settings: everything again, in one folder per thickness
    s = make_pairs(archive, out, simulations([2.0, 3.0]), workers=1)
    assert set(s.made) == GOOD - {"P3_ct"}
    assert (out / "thick_2mm" / "P1_ct_thin.nii.gz").is_file() and (out / "thick_3mm" / "P1_ct_thin.nii.gz").is_file()
    assert not (out / "thick" / "P1_ct_thin.nii.gz").exists()
    datalist = json.loads((out / "datalist.json").read_text())
    assert sorted({d["thickness"] for d in datalist["training"] + datalist["validation"]}) == [2.0, 3.0]


def test_local_processes_give_the_same_files_as_one_process(archive, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    _pairs(archive, one, workers=1)
    s = _pairs(archive, two, workers=2)
    assert set(s.made) == GOOD and s.executor == "2 worker(s)"
    made_by = {json.loads(r.read_text())["made_by"]["pid"] for r in (two / ".t2t-pairs" / "records").iterdir()}
    assert os.getpid() not in made_by and 1 <= len(made_by) <= 2  # worker processes, at most 2
    for p in one.rglob("*.nii.gz"):
        q = two / p.relative_to(one)
        assert np.array_equal(np.asarray(nib.load(str(p)).dataobj), np.asarray(nib.load(str(q)).dataobj))


def test_strict_stops_at_the_first_bad_series_without_an_index(archive, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(T2TError, match="--strict"):
        _pairs(archive, out, workers=1, strict=True)
    assert not (out / "datalist.json").exists() and not lock_path(out).exists()


def test_a_csv_list_and_a_mixed_folder(archive, tmp_path):
    mixed = tmp_path / "mixed"
    write_thin(mixed / "a", n=20, seed=7)
    write_thin(mixed / "b", n=20, seed=8, description="other")
    for f in (mixed / "b").iterdir():
        f.rename(mixed / "a" / f"b-{f.name}")  # two CT series in one folder
    lst = tmp_path / "list.csv"
    lst.write_text("path,patient,id\n" f"{archive / 'P2' / 'thin.nii.gz'},X1,first\n" f"{mixed / 'a'},X2,mixed\n")
    s = _pairs(lst, tmp_path / "out", workers=1)
    assert s.made == ["first"]
    assert [i for i, _ in s.failed] == ["mixed"] and "holds 2 CT image series" in s.failed[0][1]
    rows = (tmp_path / "out" / "pairs.csv").read_text()
    assert ",X1," in rows
    # the folder tree reads both series of the folder, one pair each
    s = _pairs(mixed, tmp_path / "tree", workers=1)
    assert len(s.made) == 2 and not s.failed


def test_a_profile_selects_the_calibrated_method_as_t2t_simulate_does(archive, tmp_path, t2t_simulate):
    from t2tcore.simulation import ZProfile

    prof = ZProfile([0.0, 1.0, 2.5], [1.0, 0.7, 0.0], inplane_sigma_px=0.6, thickness=3.0, interval=2.0)
    path = prof.to_json(tmp_path / "profile.json")
    out = tmp_path / "out"
    s = make_pairs(archive / "P2", out, simulations(None, profile=str(path)), workers=1)
    assert s.made == ["thin"]
    ref = t2t_simulate(archive / "P2" / "thin.nii.gz", tmp_path / "ref.nii.gz", "--slice-profile", path)
    assert np.array_equal(np.asarray(nib.load(str(out / "thick" / "thin.nii.gz")).dataobj), np.asarray(ref.dataobj))
    assert run_t2t("pairs", archive / "P2", out, "--slice-profile", path, "--no-progress") == 0


def test_index_methods_and_too_many_validation_patients(archive, tmp_path):
    from monai.data import load_decathlon_datalist

    out = tmp_path / "out"
    with pytest.raises(T2TError, match="cannot hold out 3 of 3 patient.*pairs are made and kept"):
        make_pairs(archive, out, simulations([3.0], method="average"), workers=1, val_patients=3)
    s = make_pairs(archive, out, simulations([3.0], method="average"), workers=1, val_patients=0)
    assert s.up_to_date and not s.made and s.n_validation == 0
    entries = load_decathlon_datalist(str(out / "datalist.json"), data_list_key="training")
    assert {e["method"] for e in entries} == {"average"}
    # groups of 3 thin slices: the thick slices are 3 thin spacings apart (0.8 mm -> 2.4 mm)
    assert {e["id"]: e["interval"] for e in entries}["P1_ct_thin"] == pytest.approx(2.4)
