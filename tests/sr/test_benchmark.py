import numpy as np

from t2tcore.sr.benchmark import PeakMemory, device_name, time_inference, time_training
from t2tcore.sr.models import build_model


def test_peak_memory_sees_an_allocation():
    with PeakMemory("cpu") as m:
        a = np.ones(64 * 2**20 // 8)  # 64 MB, touched
        a += 1
        del a
    assert 48 * 2**20 < m.peak < 200 * 2**20
    with PeakMemory("cpu") as small:
        b = np.ones(1000)
        del b
    assert small.peak < 16 * 2**20


def test_timing_helpers_report_what_they_measure():
    r = time_inference(build_model("vdsr", "small"), (8, 32, 32), roi=(8, 32, 32))
    assert r["voxels"] == 8 * 32 * 32 and r["seconds"] > 0 and r["mvoxels_per_s"] > 0
    assert "CPU" in r["device"] and "CPU" in device_name("cpu")
    t = time_training("esrgan", "small", batch=1, patch=(8, 16, 16), steps=1)
    assert t["voxels_per_s"] == 8 * 16 * 16 / t["seconds_per_step"]


def test_table6_measures_estimates_and_lays_out():
    from t2tcore.sr.benchmark import table6, table6_cells
    from t2tcore.sr.evaluate import paper_table6

    t = table6((8, 24, 24), presets=("small",), models=("vdsr", "unet"), crop={"small": (4, 24, 24)})
    assert list(t.model) == ["vdsr", "unet"] and t.estimated.all()
    np.testing.assert_allclose(t.inference_s, t.seconds_per_mvoxel * 8 * 24 * 24 / 1e6)
    np.testing.assert_allclose(t.seconds_per_mvoxel, t.seconds_timed / (4 * 24 * 24 / 1e6))
    import pandas as pd

    rank = pd.DataFrame({"model": ["unet", "vdsr"], "rank": [1, 2]})
    cells = table6_cells(t, rank, paper_table6())
    assert cells.loc["vdsr", ("rank", "ours")] == "2" and cells.loc["vdsr", ("rank", "paper")] == "4"
    assert cells.loc["vdsr", ("inference (s / volume)", "ours small")].startswith("≈")
    assert cells.loc["unet", ("parameters (MB)", "paper")] == "4"
    assert table6_cells(t, None, paper_table6()).loc["unet", ("rank", "ours")] == "—"
