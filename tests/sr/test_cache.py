import torch

from t2tcore.sr.cache import cache_key, cached_model
from t2tcore.sr.config import TrainConfig
from t2tcore.sr.pairs import ThinSeries

CFG = TrainConfig(model="vdsr", patch=(8, 16, 16), batch=2, steps=2, val_every=2, val_patches=2)


def test_trains_once_then_reads_the_cache(thins, tmp_path):
    a = cached_model(CFG, thins, tmp_path, progress=False)
    assert a["cached"] is False and (tmp_path / a["path"].split("/")[-1]).is_file()
    assert (tmp_path / a["path"].split("/")[-1]).with_suffix(".json").is_file()
    b = cached_model(CFG, thins, tmp_path, progress=False)
    assert b["cached"] is True and b["path"] == a["path"]
    for k, v in a["state_dict"].items():
        assert torch.equal(b["state_dict"][k], v)
    c = cached_model(CFG.replace(seed=5), thins, tmp_path, progress=False)
    assert c["cached"] is False and c["path"] != a["path"]


def test_key_depends_on_the_voxels(thins):
    series = [ThinSeries.from_series(s) for s in thins]
    k = cache_key(CFG, series)
    assert cache_key(CFG, series) == k
    changed = [ThinSeries(s.volume.copy(), s.positions, s.thickness, s.patient, s.uid) for s in series]
    changed[0].volume[3, 4, 5] += 1.0
    assert cache_key(CFG, changed) != k
    assert cache_key(CFG, series[:2]) != k


def test_unreadable_cache_file_is_trained_again(thins, tmp_path):
    a = cached_model(CFG, thins, tmp_path, progress=False)
    with open(a["path"], "wb") as f:
        f.write(b"broken")
    b = cached_model(CFG, thins, tmp_path, progress=False)
    assert b["cached"] is False
