"""The SR half of ``benchmarks/gpu_check.sh``: AMP training and whole-volume inference of every model, as JSON.

For every model (VDSR, U-Net, ESRResNet, ESRGAN) at one preset (default ``paper``):

* **training**: mixed-precision training steps as chapter 05's ``paper`` profile takes them
  (batch 32 of 32 x 96 x 96 patches, Adam, L2 loss, ESRGAN with its discriminator step;
  :func:`t2tcore.sr.benchmark.time_training`), at most ``--train-steps`` steps or
  ``--train-seconds`` seconds per model after one warm-up step: steps/s, voxels/s and the
  peak memory the steps allocated;
* **inference**: one whole ``--slices`` x 512 x 512 volume (default 525, the issue's) through
  :func:`t2tcore.sr.infer.predict` (blended windows, slabs along z, bf16 autocast): seconds
  (goal: under 2 s per model) and peak memory.

``--dry-run`` does every step on the CPU at a tiny size (``small`` presets, 2 steps, a
8 x 32 x 32 volume), so that the script itself is tested without a GPU
(``tests/sr/test_gpu_check.py``). Prints one line per measurement and writes ``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="_build/gpu_check.json")
    ap.add_argument("--dry-run", action="store_true", help="every step on the CPU at a tiny size")
    ap.add_argument("--preset", default=None, help="model preset (default paper; dry run: small)")
    ap.add_argument("--models", default="vdsr,unet,esrresnet,esrgan")
    ap.add_argument("--train-steps", type=int, default=None, help="default 300 (dry run: 2)")
    ap.add_argument("--train-seconds", type=float, default=45.0, help="per model, after the warm-up step")
    ap.add_argument("--batch", type=int, default=None, help="default 32 (dry run: 2)")
    ap.add_argument("--patch", type=int, nargs=3, default=None, help="default 32 96 96 (dry run: 8 16 16)")
    ap.add_argument("--slices", type=int, default=None, help="inference volume depth (default 525; dry run: 8)")
    ap.add_argument("--size", type=int, default=None, help="inference volume side (default 512; dry run: 32)")
    ap.add_argument("--tests", default=None, help="JSON summary of the CUDA tests to include (from gpu_check.sh)")
    args = ap.parse_args(argv)

    import torch

    from t2tcore.sr.benchmark import device_name, time_inference, time_training
    from t2tcore.sr.infer import DEFAULT_ROI
    from t2tcore.sr.models import build_model, parameter_megabytes

    dry = args.dry_run
    if not dry and not torch.cuda.is_available():
        print("gpu_check: no CUDA device (use --dry-run to test the script on the CPU)", file=sys.stderr)
        return 2
    device = "cpu" if dry else "cuda"
    preset = args.preset or ("small" if dry else "paper")
    steps = args.train_steps if args.train_steps is not None else (2 if dry else 300)
    batch = args.batch or (2 if dry else 32)
    patch = tuple(args.patch or ((8, 16, 16) if dry else (32, 96, 96)))
    shape = (args.slices or (8 if dry else 525), args.size or (32 if dry else 512), args.size or (32 if dry else 512))
    report = {"device": device_name(device), "dry_run": dry, "preset": preset, "torch": torch.__version__,
              "cuda": torch.version.cuda, "started": time.strftime("%Y-%m-%dT%H:%M:%S"), "training": [], "inference": [],
              "inference_shape": list(shape), "inference_goal_s": 2.0,
              "training_setup": {"batch": batch, "patch": list(patch), "max_steps": steps,
                                 "max_seconds": args.train_seconds, "precision": "fp32" if dry else "amp (bf16)"}}
    if args.tests and Path(args.tests).is_file():
        report["tests"] = json.loads(Path(args.tests).read_text())
    print(f"gpu_check on {report['device']}: preset {preset}, training batch {batch} x {'x'.join(map(str, patch))}, "
          f"inference {' x '.join(map(str, shape))}", flush=True)
    for name in args.models.split(","):
        t0 = time.perf_counter()
        tr = time_training(name, preset, device=device, batch=batch, patch=patch, steps=steps,
                           max_seconds=args.train_seconds, precision="fp32" if dry else "auto")
        tr.update(model=name, preset=preset, parameters_mb=parameter_megabytes(name, preset)["total_mb"],
                  steps_per_s=1.0 / tr["seconds_per_step"], wall_s=time.perf_counter() - t0)
        report["training"].append(tr)
        print(f"train {name:<10} {tr['steps']:>4} steps  {tr['steps_per_s']:8.3g} steps/s  "
              f"{tr['voxels_per_s']:10.3g} vox/s  peak {tr['peak_mb']:8.0f} MB", flush=True)
    for name in args.models.split(","):
        if name == "esrgan" and "esrresnet" in args.models.split(","):
            # the same generator as ESRResNet: inference is the same network
            r = dict(next(x for x in report["inference"] if x["model"] == "esrresnet"), model="esrgan",
                     note="generator = ESRResNet's; timed once")
        else:
            r = time_inference(build_model(name, preset), shape, device=device, roi=DEFAULT_ROI[preset],
                               precision="fp32" if dry else "auto")
            r.update(model=name, meets_goal=bool(r["seconds"] < 2.0))
        report["inference"].append(r)
        print(f"infer {name:<10} {r['seconds']:8.3g} s per volume  peak {r['peak_mb']:8.0f} MB"
              f"{'' if dry else ('  (goal < 2 s: ' + ('met' if r['meets_goal'] else 'NOT met') + ')')}", flush=True)
    report["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(report, indent=1, default=lambda v: None if isinstance(v, float) and math.isnan(v) else v))
    tmp.replace(out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
