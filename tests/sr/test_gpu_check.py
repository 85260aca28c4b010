"""benchmarks/gpu_check.sh --dry-run: every step of the GPU check, tiny and on the CPU, writes its JSON."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_gpu_check_dry_run_writes_every_section(tmp_path):
    out = tmp_path / "gpu.json"
    env = {**os.environ, "T2T_PROGRESS_FILE": ""}
    proc = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_check.sh"), "--dry-run", "--out", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    r = json.loads(out.read_text())
    assert r["dry_run"] is True and "CPU" in r["device"]
    assert {t["model"] for t in r["training"]} == {"vdsr", "unet", "esrresnet", "esrgan"}
    assert all(t["steps"] >= 1 and t["steps_per_s"] > 0 for t in r["training"])
    assert {t["model"] for t in r["inference"]} == {"vdsr", "unet", "esrresnet", "esrgan"}
    assert all(t["seconds"] > 0 for t in r["inference"]) and r["inference_shape"] == [8, 32, 32]
    names = [t["name"] for t in r["tests"]["tests"]]
    assert any("cuda" in n for n in names)  # the CUDA tests were collected (and skip without a GPU)
    assert r["tests"]["counts"]["failure"] == 0 and r["tests"]["counts"]["error"] == 0


def test_gpu_check_refuses_to_run_without_a_gpu_unless_dry(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    proc = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_check.sh"), "--out", str(tmp_path / "x.json")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "no CUDA device" in proc.stderr and not (tmp_path / "x.json").exists()
