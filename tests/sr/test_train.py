import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from t2tcore.sr.checkpoint import load_checkpoint, model_from_checkpoint
from t2tcore.sr.config import TrainConfig
from t2tcore.sr.errors import CheckpointError, SRInputError
from t2tcore.sr.train import train_model

CFG = TrainConfig(model="vdsr", method="proposed", thickness=3.0, interval=2.0, patch=(8, 16, 16), batch=2, steps=3,
                  val_every=2, val_patches=2, lr=1e-3)


def _weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _equal(a, b):
    return all(torch.equal(a[k], b[k]) for k in a)


def test_same_seed_same_weights_other_seed_not(thins):
    a = train_model(CFG, thins, progress=False)
    b = train_model(CFG, thins, progress=False)
    c = train_model(CFG.replace(seed=1), thins, progress=False)
    wa, wb, wc = _weights(a.model), _weights(b.model), _weights(c.model)
    assert _equal(wa, wb)
    assert not _equal(wa, wc)
    # it trained: the head is no longer zero
    assert a.model.head.conv.weight.abs().sum() > 0


def test_history_validation_and_checkpoint_contents(thins, tmp_path):
    r = train_model(CFG, thins, out=tmp_path / "m.pt", progress=False)
    h = r.history
    assert [e["step"] for e in h] == [0, 2, 3]
    assert np.isnan(h[0]["loss"]) and all(np.isfinite(e["val_loss"]) for e in h)
    ck = load_checkpoint(tmp_path / "m.pt")
    assert ck["model"] == {"name": "vdsr", "preset": "small", "kwargs": {"channels": 16, "depth": 5}}
    roles = [s["role"] for s in ck["data"]["series"]]
    assert roles.count("val") == 1 and roles.count("train") == 2  # one whole patient held out
    assert {s["patient"] for s in ck["data"]["series"]} == {"V900", "V901", "V902"}
    sim = ck["simulation"]
    assert sim["method"] == "proposed" and sim["thickness"] == [3.0] * 3 and sim["interval"] == [2.0] * 3
    assert sim["min_thickness"] == 3.0 and sim["thin_spacing_mm"] == pytest.approx(0.8)
    assert sim["thin_thickness_mm"] == 1.0
    assert ck["scaling"] == {"lo": -1000.0, "hi": 1000.0}
    assert TrainConfig.from_dict(ck["config"]) == CFG
    assert ck["t2t_version"] and ck["step"] == 3
    # the checkpoint's model computes what the trained model computes
    x = torch.randn(1, 1, 8, 16, 16)
    with torch.no_grad():
        assert torch.allclose(model_from_checkpoint(ck)(x), r.model(x), atol=1e-6)


def test_resume_equals_uninterrupted(thins, tmp_path):
    cfg = CFG.replace(steps=4)
    full = train_model(cfg, thins, progress=False)
    part = train_model(cfg, thins, out=tmp_path / "p.pt", progress=False, stop_after=2)
    assert part.checkpoint["step"] == 2
    rest = train_model(cfg, thins, resume=tmp_path / "p.pt", progress=False)
    assert rest.checkpoint["step"] == 4
    assert _equal(_weights(full.model), _weights(rest.model))
    with pytest.raises(CheckpointError, match="other settings"):
        train_model(cfg.replace(lr=1e-2), thins, resume=tmp_path / "p.pt", progress=False)
    with pytest.raises(CheckpointError, match="other thin series"):
        train_model(cfg, thins[:2], resume=tmp_path / "p.pt", progress=False)


def test_esrgan_trains_both_nets_and_starts_from_given_weights(thins):
    base = train_model(CFG.replace(model="esrresnet", steps=2), thins, progress=False)
    cfg = CFG.replace(model="esrgan", steps=2, init_from="abc")
    r = train_model(cfg, thins, init_state=base.checkpoint["state_dict"], progress=False)
    ck = r.checkpoint
    assert ck["discriminator"] is not None and ck["d_optimizer"] is not None
    assert all("adv_loss" in e and "d_loss" in e for e in r.history[1:])
    zero = train_model(cfg.replace(init_from=None), thins, progress=False)
    assert not _equal(_weights(r.model), _weights(zero.model))


def test_bad_training_input(thins):
    with pytest.raises(SRInputError):
        train_model(CFG, [], progress=False)
    with pytest.raises(SRInputError, match="patch"):
        train_model(CFG.replace(patch=(64, 16, 16)), thins, progress=False)


_WORKER = textwrap.dedent(
    """
    import sys
    import numpy as np
    import torch
    from t2tcore.sr.config import TrainConfig
    from t2tcore.sr.pairs import ThinSeries
    from t2tcore.sr.train import train_model

    data = np.load(sys.argv[1])
    thin = [ThinSeries(data[f"v{i}"], data[f"p{i}"], 1.0, f"P{i}", f"u{i}") for i in range(3)]
    cfg = TrainConfig.from_dict(__import__("json").loads(open(sys.argv[2]).read()))
    r = train_model(cfg, thin, out=sys.argv[3], progress=False)
    """
)


@pytest.mark.slow
def test_torchrun_two_gloo_processes_train_what_one_process_trains(thins, tmp_path):
    from t2tcore.sr.pairs import ThinSeries

    cfg = CFG.replace(batch=4, steps=3, n_val=0)
    np.savez(tmp_path / "data.npz", **{f"v{i}": s.volume for i, s in enumerate(thins)},
             **{f"p{i}": s.positions for i, s in enumerate(thins)})
    (tmp_path / "cfg.json").write_text(json.dumps(cfg.to_dict()))
    (tmp_path / "worker.py").write_text(_WORKER)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": "lo", "T2T_PROGRESS_FILE": ""}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           str(tmp_path / "worker.py"), str(tmp_path / "data.npz"), str(tmp_path / "cfg.json"), str(tmp_path / "ddp.pt")]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ddp = load_checkpoint(tmp_path / "ddp.pt")
    assert ddp["world_size"] == 2
    thin = [ThinSeries(s.volume, s.positions, 1.0, f"P{i}", f"u{i}") for i, s in enumerate(thins)]
    one = train_model(cfg, thin, progress=False)
    assert one.checkpoint["world_size"] == 1
    for k, v in one.checkpoint["state_dict"].items():
        torch.testing.assert_close(ddp["state_dict"][k], v, rtol=1e-4, atol=1e-6)
    # and the weights did move, by more than the tolerance
    assert (one.checkpoint["state_dict"]["head.conv.weight"].abs().max() > 1e-4)


def test_training_summary_best_weights_and_untrained_baseline(thins, tmp_path):
    cfg = CFG.replace(steps=6, val_every=2, val_patches=3, early_stop=False)
    r = train_model(cfg, thins, out=tmp_path / "m.pt", progress=False)
    ck = load_checkpoint(tmp_path / "m.pt")
    t = ck["training"]
    per = {int(k): np.mean(v) for k, v in ck["val_patch_losses"].items()}
    assert sorted(per) == [0, 2, 4, 6] and len(ck["val_patch_losses"]["2"]) == 3
    # the untrained model is the identity: its loss is step 0's, and the kept weights are the best trained ones
    assert t["val_l2_untrained"] == pytest.approx(per[0], rel=1e-6)
    best = min((s for s in per if s > 0), key=per.get)
    assert t["best_step"] == best and t["val_l2_best"] == pytest.approx(per[best])
    assert t["val_ratio"] == pytest.approx(per[best] / per[0])
    assert t["steps"] == 6 and t["cap"] == 6 and t["converged"] is False and "step cap 6 reached" in t["note"]
    assert ck["last_state_dict"] is not None
    if best != 6:
        assert not _equal(ck["state_dict"], ck["last_state_dict"])
    x = torch.randn(1, 1, 8, 16, 16)
    with torch.no_grad():
        assert torch.allclose(model_from_checkpoint(ck)(x), r.model(x), atol=1e-6)  # returned = kept weights
    assert all(np.isfinite(e["lr"]) for e in r.history[1:])


def test_early_stop_when_converged(thins):
    # lr 0: nothing changes, the loss is flat from the first evaluation on, so the run converges as soon as the
    # rule can judge it: 3 evaluations after the reference step, at step s with s0 <= 0.75 s
    cfg = CFG.replace(steps=100, lr=1e-12, val_every=2, val_patches=4, min_steps=0)
    r = train_model(cfg, thins, progress=False)
    t = r.checkpoint["training"]
    assert t["convergence"]["converged"] and t["steps"] < 100
    # flat, but flat at the untrained model's loss: not counted as converged, and the note says why
    assert not t["converged"] and "did not learn" in t["note"]
    assert r.checkpoint["step"] == t["steps"] == r.history[-1]["step"]
    off = train_model(cfg.replace(steps=12, early_stop=False), thins, progress=False)
    assert off.checkpoint["step"] == 12


def test_esrgan_untrained_loss_is_linear_interpolation_not_its_start(thins):
    base = train_model(CFG.replace(model="esrresnet", steps=4, val_every=2), thins, progress=False)
    g = train_model(CFG.replace(model="esrgan", steps=2, init_from="k", val_every=2), thins,
                    init_state=base.checkpoint["state_dict"], progress=False)
    assert g.checkpoint["training"]["val_l2_untrained"] == pytest.approx(base.checkpoint["training"]["val_l2_untrained"])
    assert g.history[0]["val_loss"] == pytest.approx(base.checkpoint["training"]["val_l2_best"], rel=1e-5)


def test_a_non_finite_loss_stops_with_one_error_and_writes_nothing(thins, tmp_path):
    from t2tcore.sr.errors import SRError

    # Adam's first step moves every weight by about lr: 1e30 makes the next forward pass overflow
    with pytest.raises(SRError, match=r"diverged: the (validation )?loss is (nan|inf) at step [123]; nothing was written"):
        train_model(CFG.replace(lr=1e30, steps=3, val_every=1), thins, out=tmp_path / "x.pt", progress=False)
    assert not list(tmp_path.iterdir())


def test_seed_changes_weights_and_patches_not_the_validation(thins):
    a = train_model(CFG, thins, progress=False)
    b = train_model(CFG.replace(seed=7), thins, progress=False)
    roles = lambda r: [(s["patient"], s["role"]) for s in r.checkpoint["data"]["series"]]  # noqa: E731
    assert roles(a) == roles(b)
    assert a.checkpoint["training"]["val_l2_untrained"] == b.checkpoint["training"]["val_l2_untrained"]
    assert a.checkpoint["config"]["seed"] == 0 and b.checkpoint["config"]["seed"] == 7
