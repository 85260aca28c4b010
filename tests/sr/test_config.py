import numpy as np
import pytest

from t2tcore.sr.config import Scaling, TrainConfig, realise, spec_min


def test_scaling_round_trip_and_values():
    s = Scaling(-1000.0, 1000.0)
    hu = np.array([-1000.0, 0.0, 1000.0, 3000.0], dtype=np.float32)
    u = s.forward(hu)
    assert u.tolist() == [-1.0, 0.0, 1.0, 3.0]  # linear, not clipped
    np.testing.assert_allclose(s.inverse(u), hu, atol=1e-3)
    with pytest.raises(ValueError):
        Scaling(10.0, -10.0)


def test_realise_forms():
    assert realise(3.0, 3, seed=0) == [3.0, 3.0, 3.0]
    assert realise([2.0, 3.0], 2, seed=0) == [2.0, 3.0]
    with pytest.raises(ValueError, match="one per series"):
        realise([2.0, 3.0], 3, seed=0)
    a = realise({"range": [1.5, 3.0]}, 50, seed=4)
    assert a == realise({"range": [1.5, 3.0]}, 50, seed=4)  # seeded
    assert a != realise({"range": [1.5, 3.0]}, 50, seed=5)
    assert min(a) >= 1.5 and max(a) <= 3.0 and len(set(a)) > 10
    assert realise(None, 3, seed=0) is None
    assert spec_min({"range": [1.5, 3.0]}) == 1.5 and spec_min([3.0, 2.0]) == 2.0 and spec_min(2.5) == 2.5


def test_config_round_trip_and_key():
    c = TrainConfig(model="unet", method="proposed", thickness={"range": [1.5, 3.0]}, interval=1.5, steps=7)
    d = c.to_dict()
    assert TrainConfig.from_dict(d) == c
    assert c.key() == TrainConfig.from_dict(d).key()
    assert c.key() != c.replace(seed=1).key()
    assert c.min_thickness == 1.5
    with pytest.raises(ValueError, match="unknown training config keys"):
        TrainConfig.from_dict({**d, "bogus": 1})


@pytest.mark.parametrize(
    "kw, msg",
    [
        ({"model": "srcnn"}, "model"),
        ({"method": "magic"}, "method"),
        ({"interval": None}, "interval is required"),
        ({"method": "calibrated"}, "needs profile"),
        ({"patch": (2, 16, 16)}, "patch"),
        ({"thickness": -1.0}, "positive"),
        ({"body_fraction": 1.5}, "body_fraction"),
    ],
)
def test_config_rejects(kw, msg):
    with pytest.raises(ValueError, match=msg):
        TrainConfig(**kw)


def test_index_methods_need_no_interval():
    c = TrainConfig(method="average", interval=None)
    assert c.interval is None
