"""One series' task: the checks of a thin series, one line of reason, all or nothing."""

from __future__ import annotations

import numpy as np
import pytest

from t2tcore.io import Series
from t2tcore.pipelines.settings import PairSettingsError, simulations
from t2tcore.pipelines.sources import discover
from t2tcore.pipelines.store import claim_output, pair_paths
from t2tcore.pipelines.task import PairInputError, PairTask, check_thin, run_pair, task_key

from .conftest import write_thin


def _series(n=10, spacing=0.8, thickness=1.0, positions=None):
    pos = np.arange(n) * spacing if positions is None else np.asarray(positions, float)
    return Series.from_array(np.zeros((len(pos), 4, 4), np.float32), pos, (0.7, 0.7), thickness)


def test_check_thin_says_what_is_wrong():
    sims = tuple(simulations([3.0], [2.0]))
    check_thin(_series(), sims)
    with pytest.raises(PairInputError, match=r"too few slices: 1 \("):
        check_thin(_series(n=1), sims)
    with pytest.raises(PairInputError, match="3 slices cover 2.4 mm, less than one 3 mm"):
        check_thin(_series(n=3), sims)
    with pytest.raises(PairInputError, match="thin slices are 5 mm thick, thicker than the requested 3 mm"):
        check_thin(_series(n=10, spacing=5, thickness=5.0), sims)
    with pytest.raises(PairInputError, match="irregular slice spacing.*evenly spaced"):
        check_thin(_series(positions=[0, 0.8, 1.6, 2.4, 4.8, 5.6, 6.4]), sims)


def test_settings_are_checked_before_any_series():
    assert [s.label for s in simulations([3, 5])] == ["3mm", "5mm"]
    assert [s.label for s in simulations([3, 5], [2])] == ["3mm_2mm", "5mm_2mm"]
    assert simulations([3], method="average")[0].interval is None
    with pytest.raises(PairSettingsError, match="one per --thickness"):
        simulations([3, 5, 7], [1, 2])
    with pytest.raises(PairSettingsError, match="asked twice"):
        simulations([3, 3])
    with pytest.raises(PairSettingsError, match="needs --slice-profile"):
        simulations([3], method="calibrated")
    with pytest.raises(PairSettingsError, match="--thickness is required"):
        simulations(None)


def _task(tmp_path, src, sims):
    folder = claim_output(tmp_path / "out", [])
    thin, thick = pair_paths(src.id, [s.label for s in sims])
    return folder, PairTask(src, sims, str(folder.root), thin, tuple(thick), task_key(src, sims, [thin, *thick]))


def test_a_failure_while_writing_leaves_nothing(tmp_path, monkeypatch):
    write_thin(tmp_path / "d" / "a.nii.gz", n=20)
    src = discover(tmp_path / "d").sources[0]
    sims = tuple(simulations([2.0, 3.0]))
    folder, task = _task(tmp_path, src, sims)
    import t2tcore.io

    real = t2tcore.io.write_series
    calls = []

    def fail_on_third(series, out, *a, **k):
        calls.append(out)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real(series, out, *a, **k)

    monkeypatch.setattr(t2tcore.io, "write_series", fail_on_third)
    res = run_pair(task)
    assert not res.ok and "No space left on device" in res.reason and "\n" not in res.reason
    assert [p for p in folder.root.rglob("*") if p.is_file() and p.name != "lock"] == []
    monkeypatch.setattr(t2tcore.io, "write_series", real)
    from t2tcore.pipelines.store import PairsFolder

    def no_record(self, record):
        raise OSError(5, "Input/output error")

    with monkeypatch.context() as m:  # the files are in place, the record cannot be written: all undone
        m.setattr(PairsFolder, "write_record", no_record)
        res = run_pair(task)
    assert not res.ok and "Input/output error" in res.reason
    assert [p for p in folder.root.rglob("*") if p.is_file() and p.name != "lock"] == []
    res = run_pair(task)
    assert res.ok and folder.read_record(src.id)["key"] == task.key
    assert len(list(folder.root.rglob("*.nii.gz"))) == 3
    folder.release()


def test_warnings_are_kept_with_the_pair(tmp_path):
    write_thin(tmp_path / "d" / "a.nii.gz", n=20)
    (tmp_path / "d" / "a.json").unlink()  # no sidecar: the reader warns that it uses the spacing
    src = discover(tmp_path / "d").sources[0]
    folder, task = _task(tmp_path, src, tuple(simulations([3.0], [2.0])))
    res = run_pair(task)
    assert res.ok and any("no slice thickness" in w.lower() or "slice spacing" in w for w in res.warnings)
    assert any("slice spacing" in n for n in res.record["notes"])
    folder.release()
