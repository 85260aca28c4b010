"""t2tcore.device: one default device, one check of a requested device, one name for it."""

from __future__ import annotations

import pytest
import torch

from t2tcore import device as D
from t2tcore.errors import T2TError


class Refused(T2TError):
    pass


def test_default_is_cuda_only_where_torch_sees_a_gpu():
    assert D.default_device().type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert D.resolve_device(None) == D.default_device() and D.resolve_device("cpu") == torch.device("cpu")


def test_a_requested_device_is_checked_with_a_one_line_error():
    assert D.check_device(None) is None and D.check_device("cpu") == torch.device("cpu")
    with pytest.raises(Refused, match="unknown device 'toaster'") as info:
        D.check_device("toaster", Refused)
    assert "\n" not in str(info.value)
    if not torch.cuda.is_available():
        with pytest.raises(T2TError, match="torch sees no CUDA GPU"):
            D.check_device("cuda")


def test_names():
    assert D.device_name("cpu", detail=False) == "cpu"
    assert D.device_name(None, detail=False) == str(D.default_device())
    assert D.device_name("cpu").endswith("torch threads (CPU)")


def test_every_part_of_t2t_asks_the_same_helper():
    """The scanner, the FID network and the SR benchmark name and check devices through t2tcore.device."""
    from t2tcore.evaluation.metrics import _default_device
    from t2tcore.scanner import config
    from t2tcore.sr.benchmark import device_name

    assert config.check_device is D.check_device and config._default_device is D.resolve_device
    assert _default_device(None) == D.device_name(None, detail=False)
    assert device_name("cpu") == D.device_name("cpu")
