"""The one cohort writer (t2tcore.scanner.cohorts.writer): plan, make each patient, manifest last, all or
nothing, kept when up to date; on a fake kind whose "patients" are small files, so every rule is seen in
milliseconds (the real kinds are tested in test_ldct.py, test_fibrosis.py and test_rplhr.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from t2tcore.errors import T2TError
from t2tcore.scanner.cohorts import writer as W


class FakeError(T2TError):
    pass


@dataclass(frozen=True)
class Plan:
    patient: str


def job(calls: list, spec=None, fail_at: str | None = None, kind: str = "fake", **kw) -> W.CohortJob:
    """Two patients, each one NIfTI-named file and one DICOM folder of two slices; a table written at the end."""

    def make(plan, tmp, device, bar):
        calls.append(plan.patient)
        if plan.patient == fail_at:
            raise RuntimeError("the scanner broke")
        d = tmp / plan.patient
        (d / "dicom").mkdir(parents=True)
        for i in range(2):
            (d / "dicom" / f"{i}.dcm").write_bytes(b"x")
        (d / "mask.nii.gz").write_bytes(b"m")
        return ([{"path": f"{plan.patient}/dicom", "n_slices": 2},
                 {"path": f"{plan.patient}/mask.nii.gz", "format": "nifti", "n_slices": 1}], {"seen": plan.patient})

    def manifest(series, infos, seconds):
        return {"spec": spec or {"kind": kind, "n": 2}, "series": series, "patients": list(infos.values())}

    def finish(tmp, infos):
        (tmp / "table.csv").write_text("patient\n" + "\n".join(infos) + "\n")

    return W.CohortJob(kind, "fake cohort", spec or {"kind": kind, "n": 2}, [Plan("A"), Plan("B")], make, manifest,
                       finish=finish, required=("table.csv",), error=FakeError, **kw)


def test_every_patient_then_the_tables_then_the_manifest(tmp_path):
    calls = []
    out = W.write_cohort(job(calls), tmp_path / "c", progress=False)
    assert out == (tmp_path / "c").absolute() and calls == ["A", "B"]
    m = W.read_manifest(out)
    assert m["spec"] == {"kind": "fake", "n": 2} and [p["seen"] for p in m["patients"]] == ["A", "B"]
    assert (out / "table.csv").read_text().split() == ["patient", "A", "B"]
    assert W.is_up_to_date(out, {"kind": "fake", "n": 2}, ("table.csv",))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c"]  # no staging folder or lock left


def test_an_up_to_date_cohort_is_kept_and_another_spec_replaces_it(tmp_path):
    calls = []
    W.write_cohort(job(calls), tmp_path / "c", progress=False)
    W.write_cohort(job(calls), tmp_path / "c", progress=False)
    assert calls == ["A", "B"]  # kept: nothing made again
    W.write_cohort(job(calls), tmp_path / "c", progress=False, force=True)
    assert calls == ["A", "B"] * 2
    W.write_cohort(job(calls, spec={"kind": "fake", "n": 3}), tmp_path / "c", progress=False)
    assert W.read_manifest(tmp_path / "c")["spec"]["n"] == 3


def test_a_failure_leaves_no_half_cohort_and_the_older_one_untouched(tmp_path):
    with pytest.raises(RuntimeError, match="broke"):
        W.write_cohort(job([], fail_at="B"), tmp_path / "new", progress=False)
    assert list(tmp_path.iterdir()) == []
    W.write_cohort(job([]), tmp_path / "c", progress=False)
    before = (tmp_path / "c" / W.MANIFEST_NAME).read_text()
    with pytest.raises(RuntimeError, match="broke"):
        W.write_cohort(job([], spec={"kind": "fake", "n": 9}, fail_at="B"), tmp_path / "c", progress=False)
    assert (tmp_path / "c" / W.MANIFEST_NAME).read_text() == before and sorted(p.name for p in tmp_path.iterdir()) == ["c"]


def test_a_cohort_is_complete_only_with_every_series_and_table(tmp_path):
    out = W.write_cohort(job([]), tmp_path / "c", progress=False)
    m = W.read_manifest(out)
    assert W.series_complete(out, m, ("table.csv",))
    (out / "A" / "dicom" / "1.dcm").unlink()
    assert not W.series_complete(out, m)
    assert not W.is_up_to_date(out, m["spec"], ("table.csv",))
    out2 = W.write_cohort(job([]), tmp_path / "d", progress=False)
    (out2 / "B" / "mask.nii.gz").unlink()
    assert not W.series_complete(out2, W.read_manifest(out2))
    out3 = W.write_cohort(job([]), tmp_path / "e", progress=False)
    (out3 / "table.csv").unlink()
    assert W.series_complete(out3, W.read_manifest(out3)) and not W.series_complete(out3, W.read_manifest(out3),
                                                                                   ("table.csv",))


def test_folders_it_may_not_write_are_refused_in_one_line(tmp_path):
    (tmp_path / "file").write_text("x")
    (tmp_path / "mine" / "photos").mkdir(parents=True)
    W.write_cohort(job([], kind="other"), tmp_path / "other", progress=False)
    for target, message in (("file", "exists and is not a folder"), ("mine", "is not empty and holds no"),
                            ("other", r"another kind \(other\)")):
        with pytest.raises(FakeError, match=message) as info:
            W.write_cohort(job([]), tmp_path / target, progress=False)
        assert "\n" not in str(info.value)
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["photos"]
    with pytest.raises(FakeError, match="device"):
        W.write_cohort(job([]), tmp_path / "new", progress=False, device="nonsense")
    W.write_cohort(job([], replace=False), tmp_path / "fresh", progress=False)
    with pytest.raises(FakeError, match="not an empty folder"):
        W.write_cohort(job([], replace=False), tmp_path / "fresh", progress=False)


def test_a_manifest_without_kind_is_an_ldct_cohort(tmp_path):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / W.MANIFEST_NAME).write_text(json.dumps({"spec": {"format": 1}}))
    W.check_out_dir(tmp_path / "old", "ldct")
    with pytest.raises(T2TError, match=r"another kind \(ldct\)"):
        W.check_out_dir(tmp_path / "old", "fibrosis")


def test_source_hash_and_uids_are_deterministic(tmp_path):
    f = tmp_path / "kind.py"
    f.write_text("a = 1\n")
    h = W.source_hash(f)
    assert len(h) == 16 and W.source_hash(f) == h
    f.write_text("a = 2\n")
    assert W.source_hash(f) != h
    p = {"name": "smoke", "seed": 1}
    assert W.uid("ns", p, "V001", "study") == W.uid("ns", p, "V001", "study") != W.uid("ns", p, "V002", "study")
