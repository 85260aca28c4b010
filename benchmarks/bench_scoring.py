"""Benchmark of chapter 05's scoring per SR output: the old path beside the new one, in one run.

Old (before issue 15): :func:`t2tcore.evaluation.compare` in the ``paper`` and ``hu``
conventions (2-D SSIM slice by slice with scikit-image), whole volume and body. New:
:class:`t2tcore.evaluation.regions.CaseScorer` -- three conventions (``paper``, ``window``,
``hu``) x six regions (all, body, lung, soft tissue, bone, edge) from one set of filtered
statistics -- plus :func:`t2tcore.evaluation.regions.z_displacement`. The reference's own work
(masks, statistics) is done once per case and timed apart. The pair is a body phantom with
lung and bone and 30 HU noise, the size of a quick-profile scored box (16 x 160 x 240). Runs are
interleaved and the best of ``--repeat`` is kept, because the CPU is shared; the machine load
is printed. Inference (most of the chapter's scoring time at two dozen models) is not timed
here (``benchmarks/bench_sr.py``).

    .venv/bin/python benchmarks/bench_scoring.py [--slices 16] [--rows 160] [--cols 240] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from t2tcore.evaluation import compare
from t2tcore.evaluation.regions import CaseScorer, z_displacement
from t2tcore.masks import body_mask


def phantom(z: int, ny: int, nx: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    zz, y, x = np.meshgrid(np.arange(z), np.arange(ny), np.arange(nx), indexing="ij")
    body = ((y - ny / 2) / (0.45 * ny)) ** 2 + ((x - nx / 2) / (0.47 * nx)) ** 2 < 1
    lung = ((y - 0.45 * ny) / (0.15 * ny)) ** 2 + ((x - 0.3 * nx) / (0.1 * nx)) ** 2 < 1 + 0.3 * np.sin(zz / 3)
    bone = (y - 0.6 * ny) ** 2 + (x - 0.5 * nx) ** 2 < (0.08 * ny) ** 2 * (1 + 0.5 * np.cos(zz / 4))
    v = np.where(body, 40.0, -1000.0)
    v = np.where(body & lung, -850.0, v)
    v = np.where(body & bone, 700.0, v)
    return (v + rng.normal(0.0, 10.0, v.shape)).astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--slices", type=int, default=16)
    ap.add_argument("--rows", type=int, default=160)
    ap.add_argument("--cols", type=int, default=240)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    ref = phantom(a.slices, a.rows, a.cols)
    test = (ref + np.random.default_rng(1).normal(0.0, 30.0, ref.shape)).astype(np.float32)
    t0 = time.perf_counter()
    body = body_mask(ref)
    old_setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    scorer = CaseScorer(ref, (0.8, 1.4, 1.4))
    new_setup = time.perf_counter() - t0
    old, new = [], []
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        compare(ref, test, "paper", ssim_modes=("2d",))
        compare(ref, test, "hu", mask=body, ssim_modes=("2d",))
        old.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        scorer.score(test)
        z_displacement(ref, test, 0.8, body=scorer.masks["body"])
        new.append(time.perf_counter() - t0)
    print(f"volume {ref.shape}, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; best of {a.repeat}")
    print(f"per case (once):   old body mask {old_setup:.3f} s; new masks + reference statistics {new_setup:.3f} s")
    print(f"per output:        old 2 conventions x 1 region {min(old):.3f} s; "
          f"new 3 conventions x 6 regions + z displacement {min(new):.3f} s; old / new = {min(old) / min(new):.2f}")


if __name__ == "__main__":
    main()
