"""Benchmark of t2tcore.simulate_thick, side by side in one run.

A 512 x 512 x 525 float32 volume (thin slices 0.8 mm apart, 1 mm -> 3 mm thickness, 2 mm
interval, like the paper's AAPM-Mayo L286 example) is simulated with every method and
compared with ``np.copyto`` of the input into a preallocated array (goal: ``simulate_thick``
<= 3x the copy) and with a literal per-slice Python loop of Algorithm 2. The rounds
interleave all contenders so that machine load affects them alike; each contender's wall
time is compared with the copy of the same round, and the median (and range) of these
per-round ratios is reported, with the medians of wall and CPU time (user + system of the
whole process, all threads: much less sensitive to other jobs than wall time on a shared
machine, but not immune to them).

    .venv/bin/python benchmarks/bench_simulate.py [--slices 525] [--repeat 7]
"""

from __future__ import annotations

import argparse
import gc
import resource
import statistics
import sys
import time
import tracemalloc

import numpy as np

from t2tcore.simulation.simulate import METHODS, simulate_thick, thick_positions


def literal_algorithm2(thick_locs, thin_images, thin_locs, t):
    """Algorithm 2 as printed in the paper: one thick slice at a time, a Python loop over
    every thin slice, float64 accumulation."""
    result = []
    for l in thick_locs:
        w_total = 0.0
        acc = np.zeros(thin_images[0].shape, dtype=np.float64)
        for i, p in zip(thin_images, thin_locs):
            w = max(0.0, 1.0 - abs(p - l) / t)
            if w == 0:
                continue
            acc += i * w
            w_total += w
        result.append(acc / w_total)
    return np.stack(result)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--slices", type=int, default=525)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--literal-slices", type=int, default=8, help="thick slices the literal loop computes")
    args = ap.parse_args(argv)

    n, s = args.slices, args.size
    thickness, interval, spacing = 3.0, 2.0, 0.8
    rng = np.random.default_rng(0)
    vol = rng.normal(-300.0, 400.0, size=(n, s, s)).astype(np.float32)
    pos = np.arange(n) * spacing
    n_thick = thick_positions(pos[0], pos[-1], interval).size
    print(f"volume {n} x {s} x {s} float32 ({vol.nbytes / 2**20:.0f} MiB), spacing {spacing} mm, "
          f"{thickness:g} mm thick every {interval:g} mm -> {n_thick} thick slices")
    print(f"numpy {np.__version__}, python {sys.version.split()[0]}")

    dst = np.empty_like(vol)
    np.copyto(dst, vol)  # touch the pages once

    def kw(method):
        return dict(interval=interval) if method in ("proposed", "gaussian_z") else dict(thin_thickness=1.0)

    contenders = {
        "np.copyto (preallocated dst)": lambda: np.copyto(dst, vol),
        "np.copyto (fresh dst)": lambda: np.copyto(np.empty_like(vol), vol),
    }
    for m in METHODS:
        contenders[f"simulate_thick {m}"] = lambda m=m: simulate_thick(vol, pos, thickness, method=m, **kw(m))
    def cpu() -> float:
        ru = resource.getrusage(resource.RUSAGE_SELF)
        return ru.ru_utime + ru.ru_stime

    times = {k: [] for k in contenders}
    cpus = {k: [] for k in contenders}
    for r in range(args.repeat):
        names = list(contenders)
        for name in names[r % len(names):] + names[: r % len(names)]:  # rotate the order every round
            gc.collect()
            c0, t0 = cpu(), time.perf_counter()
            contenders[name]()
            times[name].append(time.perf_counter() - t0)
            cpus[name].append(cpu() - c0)
    copy_name = "np.copyto (preallocated dst)"
    ratios = {k: [t / c for t, c in zip(v, times[copy_name])] for k, v in times.items()}
    med = {k: statistics.median(v) for k, v in times.items()}

    # the literal loop on a subset of thick slices, scaled to all of them
    all_p = thick_positions(pos[0], pos[-1], interval)
    sub = all_p[np.linspace(0, all_p.size - 1, args.literal_slices).round().astype(int)]
    thin_list = list(vol)
    t0 = time.perf_counter()
    ref = literal_algorithm2(sub, thin_list, list(pos), thickness)
    t_lit = (time.perf_counter() - t0) / sub.size * all_p.size
    out, p = simulate_thick(vol, pos, thickness, interval)
    idx = np.searchsorted(p, sub)
    err = float(np.max(np.abs(out[idx] - ref)) / np.max(np.abs(ref)))

    copy, copy_cpu = med[copy_name], statistics.median(cpus[copy_name])
    print(f"\n{args.repeat} interleaved rounds; ratio = median (range) of the per-round wall-time ratios to {copy_name}")
    print(f"{'contender':40s} {'wall s':>8s} {'ratio':>7s} {'(range)':>13s} {'CPU s':>8s} {'CPU ratio':>9s}")
    for name, t in med.items():
        rr = ratios[name]
        c = statistics.median(cpus[name])
        print(f"{name:40s} {t:8.3f} {statistics.median(rr):6.2f}x {f'({min(rr):.2f}-{max(rr):.2f})':>13s} "
              f"{c:8.3f} {c / copy_cpu:8.2f}x")
    print(f"{'literal Algorithm 2 loop (scaled)':40s} {t_lit:8.3f} {t_lit / copy:6.2f}x"
          f"   <- {sub.size} of {all_p.size} thick slices timed once, scaled x{all_p.size / sub.size:.1f}")
    print(f"\nsimulate_thick proposed vs literal loop: {t_lit / med['simulate_thick proposed']:.0f}x faster; "
          f"max relative difference {err:.1e}")
    goal = statistics.median(ratios["simulate_thick proposed"])
    print(f"goal simulate_thick <= 3x np.copyto: {goal:.2f}x (median of the per-round ratios) -> "
          f"{'met' if goal <= 3 else 'NOT met'}")

    # peak memory of one call, measured apart from the timings (tracemalloc slows allocation)
    del out
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    out, p = simulate_thick(vol, pos, thickness, interval)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    extra = peak - out.nbytes
    print(f"\npeak memory of simulate_thick proposed (tracemalloc): output {out.nbytes / 2**20:.0f} MiB + "
          f"extra {extra / 2**20:.2f} MiB = {100 * extra / (vol.nbytes + out.nbytes):.2f}% of input+output (bound 25%)")
    print(f"process max RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10:.0f} MiB "
          f"(input {vol.nbytes / 2**20:.0f} MiB + copy destination {dst.nbytes / 2**20:.0f} MiB + outputs)")

    try:
        import torch
    except ImportError:
        return 0
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"\ntorch {torch.__version__}" + ("" if "cuda" in devices else " (no CUDA device: GPU path not timed)"))
    for dev in devices:
        vt = torch.from_numpy(vol).to(dev)
        sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
        copy_t = torch.empty_like(vt)
        res = {}
        for name, fn in [("copy_", lambda: copy_t.copy_(vt))] + [
            (m, lambda m=m: simulate_thick(vt, pos, thickness, method=m, **kw(m))) for m in METHODS
        ]:
            fn()
            sync()
            ts = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                fn()
                sync()
                ts.append(time.perf_counter() - t0)
            res[name] = min(ts)
        name = torch.cuda.get_device_name() if dev == "cuda" else "cpu"
        print(f"torch on {name}: copy_ {res['copy_']:.4f} s; " + ", ".join(
            f"{m} {res[m]:.4f} s ({res[m] / res['copy_']:.1f}x)" for m in METHODS))
        if dev == "cuda":
            out_t, _ = simulate_thick(vt, pos, thickness, interval)
            d = float((out_t.cpu() - torch.from_numpy(out)).abs().max()) / float(np.abs(out).max())
            print(f"  GPU vs numpy max relative difference {d:.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
