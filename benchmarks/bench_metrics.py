"""Benchmark of t2tcore.evaluation.metrics: PSNR, RMSE, SSIM (3-D and 2-D) on a 512 x 512 x 210 float32
pair, and FID on 8 volumes x 50 slices of 256 x 256 per side, in one run.

The volume pair is an ellipse phantom in air (HU) and the same with 20 HU noise, like a
real and a simulated thick volume. Each metric is timed on its own (best of ``--repeat``),
then ``compare`` (everything in one call) in both conventions. FID times the InceptionV3
features of both sides (``fid_features``), then the Fréchet distance per volume
(50 vs 50 slices) and pooled (400 vs 400), and prints the machine load, because the CPU is
shared.

    .venv/bin/python benchmarks/bench_metrics.py [--slices 210] [--repeat 1]
        [--fid-volumes 8] [--fid-slices 50] [--fid-size 256] [--device cpu]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from t2tcore.evaluation import metrics as M


def phantom(z: int, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.ogrid[:n, :n]
    body = ((y - n / 2) / (0.38 * n)) ** 2 + ((x - n / 2) / (0.45 * n)) ** 2 < 1
    lung = ((y - 0.45 * n) / (0.15 * n)) ** 2 + ((x - 0.35 * n) / (0.1 * n)) ** 2 < 1
    sl = np.full((n, n), -1000.0, np.float32)
    sl[body] = 40.0
    sl[body & lung] = -850.0
    vol = np.repeat(sl[None], z, axis=0)
    vol += rng.normal(0.0, 10.0, vol.shape).astype(np.float32)
    return vol


def best_of(repeat: int, fn) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--slices", type=int, default=210)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--fid-volumes", type=int, default=8)
    ap.add_argument("--fid-slices", type=int, default=50)
    ap.add_argument("--fid-size", type=int, default=256)
    ap.add_argument("--device", default=None)
    ap.add_argument("--skip-fid", action="store_true")
    args = ap.parse_args()

    print(f"cores: {os.cpu_count()}, load average before: {os.getloadavg()}")
    ref = phantom(args.slices, args.size, 0)
    tst = ref + np.random.default_rng(1).normal(0.0, 20.0, ref.shape).astype(np.float32)
    a, b = M.minmax_scale(ref), M.minmax_scale(tst)
    print(f"pair: {ref.shape} float32 ({ref.nbytes / 2**20:.0f} MiB each)")
    rows = [
        ("minmax_scale x2", lambda: (M.minmax_scale(ref), M.minmax_scale(tst))),
        ("psnr", lambda: M.psnr(a, b, 2.0)),
        ("rmse", lambda: M.rmse(a, b)),
        ("ssim 3d", lambda: M.ssim(a, b, 2.0, mode="3d")),
        ("ssim 2d (per slice)", lambda: M.ssim(a, b, 2.0, mode="2d")),
        ("body_mask", lambda: M.body_mask(ref)),
        ("compare paper (all)", lambda: M.compare(ref, tst, "paper")),
        ("compare hu (all)", lambda: M.compare(ref, tst, "hu")),
    ]
    for name, fn in rows:
        sec, out = best_of(args.repeat, fn)
        val = f"{out:.4f}" if isinstance(out, float) else ""
        print(f"{name:24s} {sec:8.2f} s  {val}")

    if args.skip_fid:
        return
    nv, ns, n = args.fid_volumes, args.fid_slices, args.fid_size
    vols_a = [phantom(ns, n, 10 + i) for i in range(nv)]
    vols_b = [v + np.random.default_rng(100 + i).normal(0.0, 20.0, v.shape).astype(np.float32) for i, v in enumerate(vols_a)]
    print(f"FID: {nv} volumes x {ns} slices of {n}x{n} per side, load average {os.getloadavg()}")
    t = time.perf_counter()
    M.fid_features(vols_a[0][:2], device=args.device, progress=False)  # model load
    print(f"{'fid model load + 2 slices':24s} {time.perf_counter() - t:8.2f} s")
    t = time.perf_counter()
    fa = M.fid_features(vols_a, device=args.device, progress=False)
    fb = M.fid_features(vols_b, device=args.device, progress=False)
    t_feat = time.perf_counter() - t
    print(f"{'fid features (both)':24s} {t_feat:8.2f} s  ({2 * nv * ns} slices, {t_feat / (2 * nv * ns):.3f} s/slice)")
    t = time.perf_counter()
    per = [M.frechet_distance(fa[i * ns : (i + 1) * ns], fb[i * ns : (i + 1) * ns]) for i in range(nv)]
    print(f"{'frechet per volume':24s} {time.perf_counter() - t:8.2f} s  (x{nv}, mean FID {np.mean(per):.3f})")
    t = time.perf_counter()
    pooled = M.frechet_distance(fa, fb)
    print(f"{'frechet pooled (gram)':24s} {time.perf_counter() - t:8.2f} s  FID {pooled:.3f}")
    t = time.perf_counter()
    pooled_e = M.frechet_distance(fa, fb, method="eigh")
    print(f"{'frechet pooled (eigh)':24s} {time.perf_counter() - t:8.2f} s  FID {pooled_e:.3f}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
