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
