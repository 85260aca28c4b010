"""Benchmark: the virtual helical scanner on one ``quick``-sized test and training patient.

Prints, measured side by side in one run:

* the forward projector: the sparse separable-footprint system matrix applied with
  ``torch.sparse.mm`` (what :mod:`t2tcore.scanner.projectors` builds) vs rotate-and-sum with
  ``torch.nn.functional.grid_sample``, on the same fine slices and angles (ratio);
* a ``quick`` test patient (abdomen phantom, 256^2, 100 mm: thin 1.0/0.8 mm and thick
  3.0/2.0 mm x B30/D45 x full/quarter dose) and a ``quick`` training patient (thin 1.0/0.8 mm,
  B30, full dose, as in ``data_manifests/virtual_quick.yaml``), each in a fresh process:
  wall time, CPU time, the share spent in phantom sampling, projection (incl. the row
  aperture integration), noise and reconstruction, and peak memory (RSS; GPU memory too);
* the ``quick`` cohort estimate (8 test + 16 training patients) against its 15-minute budget;
* all of it again on CUDA when a GPU is present.

The one-time calibrations (z-weight widths, photons per ray; cached per geometry, so paid
once per cohort) are timed separately. Wall times depend on what else runs on the machine;
the CPU time / wall time ratio shows how much of the 2 cores the run got.

Usage: ``python benchmarks/bench_scanner.py [--size 256] [--length 100] [--seed 1] [--device cpu|cuda|all]``
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import os
import resource
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import torch


def _patient(kind: str, size: int, length: float, seed: int, device: str) -> dict:
    """One patient in this (fresh) process; returns timings and peak memory."""
    from t2tcore import scanner as S
    from t2tcore.scanner.config import _Geom
    from t2tcore.scanner.projectors import _backprojector

    torch.manual_seed(0)
    ph = S.abdomen(seed, z_extent=(0.0, length + 40.0))
    cfg = S.ScannerConfig(image_size=size)
    z_range = (20.0, 20.0 + length)
    if kind == "test":
        recons = [S.ReconConfig(t, i, k) for t, i in ((1.0, 0.8), (3.0, 2.0)) for k in ("B30", "D45")]
        doses = {"full": 200.0, "quarter": 50.0}
    else:
        recons = [S.ReconConfig(1.0, 0.8, "B30")]
        doses = {"full": 200.0}
    t0 = time.perf_counter()
    S.photons_per_ray(cfg, 200.0, ph.fov_mm)
    for r in recons:
        S.z_weight_width(cfg, r.thickness, r.z_weighting)
    _backprojector(_Geom.of(cfg, ph.fov_mm), str(torch.device(device)))  # cached per geometry
    calib = time.perf_counter() - t0
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    res = S.scan(ph, cfg, recons, doses=doses, z_range=z_range, device=device, progress=False, keep_raw=False)
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    n_slices = sum(v.shape[0] for v in res.volumes.values())
    out = dict(res.timings)
    out.update(
        calibration=calib,
        cpu=(r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime),
        rss_gb=r1.ru_maxrss / 1e6,
        gpu_gb=(torch.cuda.max_memory_allocated() / 1e9) if device == "cuda" else float("nan"),
        n_slices=n_slices,
        n_volumes=len(res.volumes),
    )
    return out


def _in_child(*args) -> dict:
    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as ex:
        return ex.submit(_patient, *args).result()


def _projector_ratio(size: int, device: str, n_slices: int = 32) -> tuple[float, float, float]:
    """Seconds to project ``n_slices`` fine slices at the scanner's V/2 angles: sparse
    matrix build (once per patient) and apply vs grid_sample rotate-and-sum (timed on a
    subset of the angles and scaled to all)."""
    import torch.nn.functional as F

    from t2tcore import scanner as S
    from t2tcore.scanner.config import _Geom, _sync
    from t2tcore.scanner.projectors import _projection_matrix

    ph = S.abdomen(1, z_extent=(0.0, 140.0))
    cfg = S.ScannerConfig(image_size=size)
    g = _Geom.of(cfg, ph.fov_mm)
    xs = g.grid()
    mu = ph.mu(xs, xs, 60.0 + 0.2 * np.arange(n_slices), mu_water=cfg.mu_water).reshape(n_slices, -1)
    support = np.nonzero(mu.max(0) > 0)[0]
    iy, ix = np.divmod(support, size)
    dev = torch.device(device)
    t0 = time.perf_counter()
    A = _projection_matrix(xs[ix], xs[iy], g.pix, g, dev)
    _sync(dev)
    t_build = time.perf_counter() - t0
    X = torch.from_numpy(np.ascontiguousarray(mu[:, support].T)).to(dev)
    t0 = time.perf_counter()
    y = torch.sparse.mm(A, X)
    _sync(dev)
    t_apply = time.perf_counter() - t0
    img = torch.from_numpy(mu.reshape(1, n_slices, size, size)).to(dev)
    n_ang = 24
    t0 = time.perf_counter()
    for th in g.angles()[:: max(1, g.V2 // n_ang)][:n_ang]:
        c, s = math.cos(th), math.sin(th)
        aff = torch.tensor([[[c, -s, 0.0], [s, c, 0.0]]], dtype=torch.float32, device=dev)
        grid = F.affine_grid(aff, (1, n_slices, size, size), align_corners=False)
        y2 = F.grid_sample(img, grid, align_corners=False).sum(2)
    _sync(dev)
    t_rot = (time.perf_counter() - t0) * g.V2 / n_ang
    del y, y2
    return t_build, t_apply, t_rot


def _report(name: str, r: dict) -> None:
    parts = ("phantom", "projection", "noise", "reconstruction")
    tot = r["total"]
    share = "  ".join(f"{p} {100 * r[p] / tot:4.1f}%" for p in parts)
    other = tot - sum(r[p] for p in parts)
    print(f"  {name:8s} wall {tot:6.1f} s  cpu {r['cpu']:6.1f} s (cpu/wall {r['cpu'] / tot:.2f})  "
          f"{r['n_volumes']} volumes, {r['n_slices']} slices")
    print(f"           {share}  other {100 * other / tot:4.1f}%")
    gpu = "" if math.isnan(r["gpu_gb"]) else f", GPU peak {r['gpu_gb']:.2f} GB"
    print(f"           peak RSS {r['rss_gb']:.2f} GB{gpu}; one-time calibrations {r['calibration']:.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--length", type=float, default=100.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--device", choices=("cpu", "cuda", "all"), default="all")
    a = ap.parse_args()
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    if a.device != "all":
        devices = [a.device]
    print(f"scanner benchmark: {a.size}^2, {a.length:g} mm, {os.cpu_count()} CPUs, torch {torch.__version__}, "
          f"load average {os.getloadavg()[0]:.1f}")
    for dev in devices:
        print(f"\n[{dev}]" + (f" {torch.cuda.get_device_name()}" if dev == "cuda" else f" {torch.get_num_threads()} threads"))
        tb, ta, tr = _projector_ratio(a.size, dev)
        print(f"  projector, 32 fine slices x V/2 angles: sparse matrix apply {ta:.2f} s (+ build {tb:.2f} s once per "
              f"patient), grid_sample rotate-and-sum {tr:.2f} s -> apply {tr / ta:.0f}x faster; per ~600-slice patient "
              f"{tr * 600 / 32 / (tb + ta * 600 / 32):.0f}x")
        test = _in_child("test", a.size, a.length, a.seed, dev)
        train = _in_child("train", a.size, a.length, a.seed + 1, dev)
        _report("test", test)
        _report("training", train)
        est = 8 * test["total"] + 16 * train["total"] + test["calibration"] + train["calibration"]
        est_cpu = (8 * test["cpu"] + 16 * train["cpu"]) / max(1, torch.get_num_threads())
        print(f"  quick cohort (8 test + 16 training), scanner only: {est / 60:.1f} min wall as measured, "
              f"{est_cpu / 60:.1f} min if the CPU time were spread over {torch.get_num_threads()} free cores "
              f"(budget 15 min, 6 GB)")


if __name__ == "__main__":
    main()
