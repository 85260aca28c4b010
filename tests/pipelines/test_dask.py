"""``t2t pairs --scheduler``: the same tasks on a real Dask cluster (two worker processes)."""

from __future__ import annotations

import json
import os

import nibabel as nib
import numpy as np
import pytest

from t2tcore.io.lock import lock_path

distributed = pytest.importorskip("distributed")  # an optional extra: t2t[pipelines]

from t2tcore.errors import T2TError  # noqa: E402
from t2tcore.pipelines import make_pairs, simulations  # noqa: E402
from t2tcore.pipelines import runner  # noqa: E402

from .conftest import run_t2t  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        yield c


def test_a_dask_cluster_makes_the_same_pairs_as_local_processes(archive, tmp_path, cluster):
    local, remote = tmp_path / "local", tmp_path / "dask"
    want = make_pairs(archive, local, simulations([3.0], [2.0]), workers=1)
    got = make_pairs(archive, remote, simulations([3.0], [2.0]), scheduler=cluster.scheduler_address)
    assert got.made == want.made and got.failed == want.failed and got.executor.startswith("Dask")
    for p in local.rglob("*.nii.gz"):
        q = remote / p.relative_to(local)
        assert np.array_equal(np.asarray(nib.load(str(p)).dataobj), np.asarray(nib.load(str(q)).dataobj))
    assert (local / "datalist.json").read_text() == (remote / "datalist.json").read_text()
    # the cluster's worker processes made them, not this one
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        worker_pids = set(client.run(os.getpid).values())
    made_by = {json.loads(r.read_text())["made_by"]["pid"] for r in (remote / ".t2t-pairs" / "records").iterdir()}
    assert made_by and made_by <= worker_pids and os.getpid() not in made_by
    assert run_t2t("pairs", archive, remote, "--thickness", 3, "--interval", 2, "--scheduler",
                   cluster.scheduler_address, "--no-progress") == 0  # up to date: nothing sent


def test_an_unreachable_scheduler_is_one_line(archive, tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "CONNECT_TIMEOUT_S", 1)
    with pytest.raises(T2TError, match="cannot reach the Dask scheduler"):
        make_pairs(archive, tmp_path / "out", simulations([3.0], [2.0]), scheduler="tcp://127.0.0.1:9")
    assert not lock_path(tmp_path / "out").exists()
