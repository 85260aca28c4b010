"""Benchmark of the SR models on this machine: the fp32-eager path as it was against the fast path, side by side.

For every model (VDSR, U-Net, ESRResNet, ESRGAN) at one preset (default ``small``, what the CPU
chapters train), two configurations, each measured in its own child process (the OpenMP
runtime reads its settings once, when torch is imported), alternating, best of ``--rounds``:

``before`` (fp32 eager, as the code was before issue 15)
    float32, channels-last 3-D tensors, PyTorch's default OpenMP wait policy (threads spin while
    they wait), ``torch.no_grad`` replaced by nothing else; inference in windows of 64 x 256 x 256
    with 25 % overlap in every direction, slabs of 64 slices with a half-window halo.
``fast`` (what t2tcore does now)
    ``OMP_WAIT_POLICY=PASSIVE`` (set by ``import t2tcore`` unless the user set a wait policy or
    a spin count; the book build asks for the runtime's default spin instead, faster on a quiet
    machine: ``book/builder/execute.openmp_env``), ``precision="auto"`` (bfloat16 autocast where the CPU computes it natively —
    AVX512-BF16 or AMX — float32 elsewhere), ``torch.inference_mode``, inference in windows
    that span the whole slice (up to 512 x 512) and overlap along z only, slabs of 128 slices.

Measured per model and configuration: training throughput in voxels/s (Adam steps on random
patches of ``--train-batch`` x ``--train-patch``, ESRGAN with its discriminator step;
:func:`t2tcore.sr.benchmark.time_training`) and whole-volume inference seconds for a
``--size`` x ``--size`` x ``--slices`` volume (default 512 x 512 x 200; :func:`t2tcore.sr.infer.predict`).
A volume that would take longer than ``--cpu-budget-s`` is timed on a 32 x 256 x 256 crop and
scaled by the voxel count (marked ``≈``, an estimate). The last columns are the ratios
fast / before (training: throughput ratio; inference: time ratio before / fast), the goal of
issue 15 being 2x.

The load average is printed before and after: on a machine other jobs share, wall-clock times
are noisy, and the spinning OpenMP threads of ``before`` suffer most from that sharing (that is
the point of the passive wait policy). bf16 is reported as what ``auto`` resolved to: on a CPU
without native bf16 it is fp32 (oneDNN's emulated bf16 was measured 5x slower than fp32 on the
AVX2-only AMD EPYC this project was developed on, so it is never chosen there).

    .venv/bin/python benchmarks/bench_sr.py [--slices 200] [--models vdsr,unet,esrresnet,esrgan]
        [--preset small] [--train-steps 5] [--rounds 2] [--cpu-budget-s 120]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CROP = (32, 256, 256)

#: The inference settings of each configuration (``before``: the code before issue 15).
INFER = {
    "before": {"roi": {"small": (64, 256, 256), "paper": (32, 160, 160)}, "overlap": 0.25,
               "max_slab_voxels": 64 * 512 * 512, "precision": "fp32"},
    "fast": {"roi": None, "overlap": None, "max_slab_voxels": None, "precision": "auto"},
}


def child(config: str, args: argparse.Namespace) -> dict:
    """Measure every model in this process, configured as ``config``; returns the results."""
    wait_policy = os.environ.get("OMP_WAIT_POLICY", "(default)")  # what the OpenMP runtime reads at torch's import
    import torch  # before t2tcore: the OpenMP runtime keeps the wait policy of the environment now

    torch.manual_seed(0)
    from t2tcore.sr.benchmark import device_name, time_inference, time_training
    from t2tcore.sr.infer import DEFAULT_OVERLAP, DEFAULT_ROI, MAX_SLAB_VOXELS
    from t2tcore.sr.models import build_model

    s = INFER[config]
    roi = (s["roi"] or DEFAULT_ROI)[args.preset]
    kw = {"roi": roi, "overlap": s["overlap"] if s["overlap"] is not None else DEFAULT_OVERLAP,
          "max_slab_voxels": s["max_slab_voxels"] or MAX_SLAB_VOXELS, "precision": s["precision"]}
    shape = (args.slices, args.size, args.size)
    out = {"config": config, "device": device_name("cpu"), "omp_wait_policy": wait_policy,
           "models": {}}
    for name in args.models.split(","):
        tr = time_training(name, args.preset, batch=args.train_batch, patch=tuple(args.train_patch),
                           steps=args.train_steps, precision=s["precision"])
        if name == "esrgan":  # its generator is ESRResNet's: the same inference
            inf = dict(out["models"]["esrresnet"]["infer"]) if "esrresnet" in out["models"] else None
        else:
            inf = None
        if inf is None:
            model = build_model(name, args.preset)
            probe = tuple(min(a, b) for a, b in zip(CROP, shape))
            p = time_inference(model, probe, **kw)
            whole = p["seconds"] * math.prod(shape) / math.prod(probe)
            if whole > args.cpu_budget_s or probe == shape:
                inf = {"seconds": whole, "estimated": probe != shape, "peak_mb": p["peak_mb"], "timed": list(probe)}
            else:
                r = time_inference(model, shape, **kw)
                inf = {"seconds": r["seconds"], "estimated": False, "peak_mb": r["peak_mb"], "timed": list(shape)}
        out["models"][name] = {"train_vox_s": tr["voxels_per_s"], "precision": tr["precision"], "infer": inf}
    return out


def run_child(config: str, argv: list[str]) -> dict:
    env = dict(os.environ)
    if config == "before":
        env.pop("OMP_WAIT_POLICY", None)
    else:
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    proc = subprocess.run([sys.executable, __file__, "--child", config, *argv], env=env, capture_output=True,
                          text=True, cwd=ROOT)
    if proc.returncode:
        raise SystemExit(f"bench_sr: the {config} child failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--slices", type=int, default=200)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--preset", default="small")
    ap.add_argument("--models", default="vdsr,unet,esrresnet,esrgan")
    ap.add_argument("--train-steps", type=int, default=5)
    ap.add_argument("--train-batch", type=int, default=4)
    ap.add_argument("--train-patch", type=int, nargs=3, default=(16, 32, 32))
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--cpu-budget-s", type=float, default=120.0)
    ap.add_argument("--child", choices=sorted(INFER), help=argparse.SUPPRESS)
    args, _ = ap.parse_known_args()
    if args.child:
        print(json.dumps(child(args.child, args)))
        return
    argv = [a for a in sys.argv[1:]]
    print(f"cores: {os.cpu_count()}, load average before: {os.getloadavg()}", flush=True)
    best: dict = {}
    for rnd in range(max(1, args.rounds)):
        for config in ("before", "fast"):
            r = run_child(config, argv)
            print(f"round {rnd + 1}: {config} measured ({r['device']}, OMP_WAIT_POLICY {r['omp_wait_policy']})",
                  flush=True)
            for name, m in r["models"].items():
                b = best.setdefault(config, {}).setdefault(name, m)
                if m["train_vox_s"] > b["train_vox_s"]:
                    b.update(train_vox_s=m["train_vox_s"])
                if m["infer"]["seconds"] < b["infer"]["seconds"]:
                    b.update(infer=m["infer"])
            best[config + "_device"] = r["device"]
    shape = f"{args.size} x {args.size} x {args.slices}"
    print(f"\npreset {args.preset}; training patches {args.train_batch} x {' x '.join(map(str, args.train_patch))}; "
          f"inference volume {shape}; best of {args.rounds} rounds; device {best['fast_device']}")
    head = (f"{'model':<10} {'train vox/s before':>19} {'fast':>10} {'ratio':>6} | {'infer s before':>15} "
            f"{'fast':>9} {'ratio':>6} | {'fast precision':>14}")
    print(head)
    print("-" * len(head))
    for name in args.models.split(","):
        b, f = best["before"][name], best["fast"][name]

        def sec(x):
            return ("≈" if x["estimated"] else "") + f"{x['seconds']:.3g}"

        print(f"{name:<10} {b['train_vox_s']:>19.3g} {f['train_vox_s']:>10.3g} {f['train_vox_s'] / b['train_vox_s']:>6.2f} | "
              f"{sec(b['infer']):>15} {sec(f['infer']):>9} {b['infer']['seconds'] / f['infer']['seconds']:>6.2f} | "
              f"{f['precision']:>14}")
    print(f"≈: estimated from a {' x '.join(map(str, CROP))} crop scaled by the voxel count")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
