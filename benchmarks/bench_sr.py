"""Benchmark of the SR models: training throughput and whole-volume inference, per model and preset,
on CPU and (when present) CUDA, side by side in one run.

For every model (VDSR, U-Net, ESRResNet, ESRGAN) and preset (small, paper) and device:

* training throughput in voxels/s (``t2tcore.sr.benchmark.time_training``: Adam steps on random
  patches, ESRGAN with its discriminator step; CUDA with bfloat16 autocast);
* whole-volume inference time on a 512 x 512 x ``--slices`` volume (default 200) through
  ``t2tcore.sr.infer.predict`` (blended windows, slabs along z) and the peak memory it adds.

Some CPU cells would take hours (the ``paper`` presets on 512 x 512 x 200): with ``--cpu-budget-s``
(default 120) a cell is timed on a smaller volume first, and when the whole volume would take
longer than the budget the printed time is that measurement scaled by the voxel count, marked
"≈" (an estimate, not a measurement). Timings are noisy when other work shares the machine:
the load average is printed before and after.

The paper reports 6-9 s per volume on an NVIDIA RTX 6000 (Table VI); the issue's goal for a GPU
is a 512 x 512 x 525 volume in under 2 s per model (``--slices 525``).

    .venv/bin/python benchmarks/bench_sr.py [--slices 200] [--devices cpu,cuda] [--presets small,paper]
        [--models vdsr,unet,esrresnet,esrgan] [--train-steps 3] [--cpu-budget-s 120]
"""

from __future__ import annotations

import argparse
import math
import os

import torch

from t2tcore.sr.benchmark import device_name, time_inference, time_training
from t2tcore.sr.infer import DEFAULT_ROI
from t2tcore.sr.models import build_model, parameter_megabytes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--slices", type=int, default=200)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--devices", default="cpu,cuda")
    ap.add_argument("--presets", default="small,paper")
    ap.add_argument("--models", default="vdsr,unet,esrresnet,esrgan")
    ap.add_argument("--train-steps", type=int, default=3)
    ap.add_argument("--train-batch", type=int, default=4)
    ap.add_argument("--train-patch", type=int, nargs=3, default=(16, 48, 48))
    ap.add_argument("--cpu-budget-s", type=float, default=120.0)
    args = ap.parse_args()

    devices = [d for d in args.devices.split(",") if d == "cpu" or (d == "cuda" and torch.cuda.is_available())]
    shape = (args.slices, args.size, args.size)
    print(f"cores: {os.cpu_count()}, torch threads: {torch.get_num_threads()}, load average before: {os.getloadavg()}")
    for d in devices:
        print(f"device {d}: {device_name(d)}")
    if "cuda" in args.devices and "cuda" not in devices:
        print("device cuda: not available on this machine (no CUDA device): CPU only")
    print(f"inference volume {shape[1]} x {shape[2]} x {shape[0]}; training patches {args.train_batch} x "
          f"{' x '.join(map(str, args.train_patch))}")
    head = f"{'model':<10} {'preset':<6} {'MB':>7}" + "".join(
        f" | {d + ' train vox/s':>16} {d + ' infer s':>13} {d + ' peak MB':>12}" for d in devices)
    print(head)
    print("-" * len(head))
    for preset in args.presets.split(","):
        for name in args.models.split(","):
            mb = parameter_megabytes(name, preset)["total_mb"]
            cells = []
            for d in devices:
                tr = time_training(name, preset, device=d, batch=args.train_batch, patch=args.train_patch,
                                   steps=args.train_steps)
                model = build_model(name, preset)
                roi = DEFAULT_ROI[preset]
                est, timed = "", shape
                if d == "cpu":
                    probe = (min(shape[0], 16), min(shape[1], 128), min(shape[2], 128))
                    p = time_inference(model, probe, device=d, roi=roi)
                    whole = p["seconds"] * math.prod(shape) / math.prod(probe)
                    if whole > args.cpu_budget_s:
                        est, timed, r = "≈", probe, {**p, "seconds": whole}
                    else:
                        r = time_inference(model, shape, device=d, roi=roi)
                else:
                    r = time_inference(model, shape, device=d, roi=roi)
                peak = f"{r['peak_mb']:.0f}" + ("*" if timed != shape else "")
                cells.append(f" | {tr['voxels_per_s']:>16.3g} {est + format(r['seconds'], '.3g'):>13} {peak:>12}")
            print(f"{name:<10} {preset:<6} {mb:>7.3g}" + "".join(cells), flush=True)
    print("≈: estimated from a 16 x 128 x 128 volume scaled by the voxel count; *: peak memory of that smaller volume")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
