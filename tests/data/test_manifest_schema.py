"""Tests of t2tcore.data.manifest_schema: every manifest loads and holds what the paper says; profiles; errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from t2tcore.data.manifest_schema import MANIFEST_DIR, available_manifests, expectations, load_manifest, load_profile
from t2tcore.errors import T2TError
from tests.data.test_manifests import GC_PATIENTS


def test_all_manifests_load_with_required_keys():
    names = available_manifests()
    assert {"ldct_grand_challenge_2016", "tcia_ldct_projection", "virtual_smoke", "virtual_quick",
            "virtual_paper"} <= set(names)
    for name in names:
        m = load_manifest(name)
        assert m["name"] == name and m["schema_version"] == 1
        text = Path(m["path"]).read_text()
        assert text.startswith("# t2t data manifest -- schema version 1")  # schema documented on top
        exp = expectations(m)
        assert exp["test"] is not None or exp["train"] is not None


def test_grand_challenge_manifest_content():
    m = load_manifest("ldct_grand_challenge_2016")
    t = m["expect"]["test"]
    assert t["patients"] == GC_PATIENTS
    assert t["kernels"] == ["B30", "D45"] and t["doses"] == ["full", "quarter"]
    assert t["series"] == {"1mm": {"thickness_mm": 1.0, "increment_mm": 0.8},
                           "3mm": {"thickness_mm": 3.0, "increment_mm": 2.0}}
    assert t["slices"]["L286"] == {"1mm": 525, "3mm": 210}
    assert all(t["slices"][p] is None for p in GC_PATIENTS if p != "L286")
    assert m["source"]["doi"] == "10.1002/mp.12345"
    assert "redistribut" in m["source"]["licence"]
    assert m["expect"]["acquisition"]["quality_reference_mas"] == {"full": 200, "quarter": 50}


def test_tcia_manifest_content():
    m = load_manifest("tcia_ldct_projection")
    assert m["source"]["doi"] == "10.7937/9npb-2637"
    assert "NBIA Data Retriever" in m["source"]["how_to_get"] and ".tcia" in m["source"]["how_to_get"]
    st = expectations(m)["train"]["scan_types"]
    # paper Table I
    assert st["N"] == {"GE": (5.0, 5.0), "SIEMENS": (5.0, 5.0)}
    assert st["C"] == {"GE": (1.25, 1.0), "SIEMENS": (1.5, 1.0)}
    assert st["L"] == {"GE": (5.0, 3.0), "SIEMENS": (5.0, 3.0)}


@pytest.mark.parametrize(
    "name, n_test, n_train, size, z_min",
    [("virtual_smoke", 2, 2, 128, 40), ("virtual_quick", 8, 16, 256, 100), ("virtual_paper", 10, None, 512, 100)],
)
def test_virtual_profiles(name, n_test, n_train, size, z_min):
    m = load_manifest(name)
    p = m["profile"]
    assert p["name"] == name.removeprefix("virtual_")
    assert p["n_test"] == n_test and p["image_size"] == size and p["z_length_mm"] >= z_min
    if n_train is None:
        assert p["n_train"] > p["n_test"]
    else:
        assert p["n_train"] == n_train
    assert p["test"]["kernels"] == ["B30", "D45"] and p["test"]["doses"] == ["full", "quarter"]
    assert p["test"]["thin"] == {"thickness_mm": 1.0, "increment_mm": 0.8}
    assert p["test"]["thick"] == {"thickness_mm": 3.0, "increment_mm": 2.0}
    exp = expectations(m)
    test_ids, train_ids = exp["test"]["patients"], exp["train"]["patients"]
    assert len(test_ids) == n_test and test_ids[0] == "V001"
    assert not set(test_ids) & set(train_ids)
    assert all(i.startswith("V") for i in test_ids + train_ids)
    assert set(m["layout"]) == {"test", "train"}


def test_load_profile_and_name_forms():
    p = load_profile("smoke")
    assert p["manifest"] == "virtual_smoke" and p["image_size"] == 128
    assert p["test_patients"] == ["V001", "V002"] and p["train_patients"] == ["V501", "V502"]
    assert load_profile("virtual_quick")["n_train"] == 16
    assert load_manifest("virtual_paper.yaml")["name"] == "virtual_paper"
    assert load_manifest(MANIFEST_DIR / "virtual_paper.yaml")["name"] == "virtual_paper"
    with pytest.raises(T2TError, match="unknown profile 'huge'; known: paper, quick, smoke"):
        load_profile("huge")
    with pytest.raises(T2TError, match="real data"):
        load_profile(str(MANIFEST_DIR / "tcia_ldct_projection.yaml"))


def test_load_manifest_errors(tmp_path):
    with pytest.raises(T2TError, match="unknown manifest 'nope'; known: .*virtual_smoke"):
        load_manifest("nope")
    with pytest.raises(T2TError, match="does not exist"):
        load_manifest(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    with pytest.raises(T2TError, match="not valid YAML"):
        load_manifest(bad)
    m = yaml.safe_load((MANIFEST_DIR / "virtual_smoke.yaml").read_text())
    del m["profile"]["n_test"]
    bad.write_text(yaml.safe_dump(m))
    with pytest.raises(T2TError, match="missing key 'n_test'"):
        load_manifest(bad)
    m = yaml.safe_load((MANIFEST_DIR / "virtual_smoke.yaml").read_text())
    m["profile"]["train_first_id"] = 2
    bad.write_text(yaml.safe_dump(m))
    with pytest.raises(T2TError, match="overlap"):
        load_manifest(bad)
    m = yaml.safe_load((MANIFEST_DIR / "ldct_grand_challenge_2016.yaml").read_text())
    m["expect"]["test"]["kernels"] = ["B30", "B45"]
    bad.write_text(yaml.safe_dump(m))
    with pytest.raises(T2TError, match="kernels"):
        load_manifest(bad)


# --------------------------------------------------------------------------- check: Grand Challenge
