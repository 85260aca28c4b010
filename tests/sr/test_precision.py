"""bf16 and fp32 give the same model output within a stated tolerance; "auto" picks bf16 only where it is native.

The bf16 path runs here even on a CPU without AVX512-BF16/AMX (oneDNN emulates it, slowly), so
the agreement is tested on every machine. Tolerance (HU, on a 40 x 32 x 32 volume of the toy
problem of ``test_learning.py``, for a VDSR trained 40 steps): RMS difference below 2 HU and
no voxel more than 25 HU apart; the residual the model adds is tens to hundreds of HU, and the
global residual (input + network) stays in float32.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from t2tcore.sr.infer import predict
from t2tcore.sr.precision import autocast, cpu_bf16_native, resolve_precision
from t2tcore.sr.train import train_model

from tests.sr.test_learning import CFG, boxes


def test_resolve_precision():
    assert resolve_precision("fp32", "cpu") == "fp32" and resolve_precision("bf16", "cpu") == "bf16"
    assert resolve_precision("auto", "cpu") == ("bf16" if cpu_bf16_native() else "fp32")
    with pytest.raises(ValueError, match="precision"):
        resolve_precision("fp16", "cpu")
    ctx, scaler = autocast("cpu", "bf16")
    with ctx():
        assert torch.get_autocast_dtype("cpu") == torch.bfloat16 and torch.is_autocast_enabled("cpu")
    assert scaler is None


@pytest.fixture(scope="module")
def trained_model():
    torch.manual_seed(0)
    cfg = CFG.replace(steps=40, val_every=20, val_patches=8)
    r = train_model(cfg, [boxes(i, n=40, size=16) for i in range(3)], val_series=[boxes(50, n=40, size=16)],
                    progress=False)
    assert r.checkpoint["training"]["precision"] == "fp32"
    return r.model


def test_bf16_and_fp32_predictions_agree(trained_model):
    sc = CFG.scaling
    vol = sc.forward(boxes(77, n=40, size=32).volume)
    fp32 = sc.inverse(predict(trained_model, vol, roi=(16, 32, 32), precision="fp32"))
    bf16 = sc.inverse(predict(trained_model, vol, roi=(16, 32, 32), precision="bf16"))
    residual = np.abs(fp32 - sc.inverse(vol))
    assert residual.max() > 50  # the model does something the tolerance can be judged against
    diff = np.abs(bf16 - fp32)
    assert diff.max() > 0  # the bf16 path really ran
    assert float(np.sqrt(np.mean(diff**2))) < 2.0 and diff.max() < 25.0, (float(np.sqrt(np.mean(diff**2))), diff.max())


def test_bf16_training_runs_and_is_recorded():
    cfg = CFG.replace(steps=2, val_every=1, val_patches=2, patch=(8, 12, 12), batch=2, precision="bf16")
    r = train_model(cfg, [boxes(i, n=30, size=16) for i in range(2)], val_series=[boxes(9, n=30, size=16)],
                    progress=False)
    t = r.checkpoint["training"]
    assert t["precision"] == "bf16" and np.isfinite(t["val_l2_best"])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_amp_training_and_inference_match_cpu(trained_model):
    cfg = CFG.replace(steps=3, val_every=3, val_patches=4, patch=(8, 12, 12), batch=2)
    r = train_model(cfg, [boxes(i, n=30, size=16) for i in range(2)], val_series=[boxes(9, n=30, size=16)],
                    device="cuda", progress=False)
    assert r.checkpoint["training"]["precision"] == "bf16" and r.checkpoint["device"].startswith("cuda")
    sc = CFG.scaling
    vol = sc.forward(boxes(77, n=40, size=32).volume)
    cpu = sc.inverse(predict(trained_model, vol, roi=(16, 32, 32), precision="fp32"))
    gpu = sc.inverse(predict(trained_model.to("cuda"), vol, roi=(16, 32, 32), device="cuda"))
    trained_model.to("cpu")
    diff = np.abs(gpu - cpu)
    assert float(np.sqrt(np.mean(diff**2))) < 2.0 and diff.max() < 25.0
