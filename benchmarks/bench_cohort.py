"""Time the virtual cohort (t2tcore.scanner.cohort.make_cohort) for one profile.

Usage::

    .venv/bin/python benchmarks/bench_cohort.py [--profile quick] [--device cpu|cuda] [--keep DIR]

Makes the cohort from scratch in a temporary folder (or DIR, which is replaced) and prints
the wall and CPU time, the time per test and per training patient, the share of the time
spent in phantom sampling, projection, noise, reconstruction and DICOM writing (summed over
patients, from the timings the scanner and the cohort writer record), and the peak resident
memory of the process (``resource.getrusage``). The issue's budget for ``quick`` is
<= 15 min on 2 CPU cores with <= 6 GB.

Wall times depend on what else runs on the machine; the CPU time (user + system, all
threads) is printed beside them so that a run on a busy machine can be judged.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

STAGES = ("phantom", "projection", "noise", "reconstruction", "dicom")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profile", default="quick", help="smoke, quick or paper (default quick)")
    ap.add_argument("--device", default=None, help="torch device (default: CUDA if available, else CPU)")
    ap.add_argument("--keep", metavar="DIR", default=None, help="make the cohort in DIR and keep it")
    args = ap.parse_args(argv)

    import torch

    from t2tcore.scanner.cohort import make_cohort, read_manifest

    if args.keep:
        out = Path(args.keep)
        tmp = None
    else:
        tmp = Path(tempfile.mkdtemp(prefix="t2t-bench-cohort-"))
        out = tmp / "cohort"
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    try:
        make_cohort(args.profile, out, force=True, progress=sys.stderr.isatty(), device=args.device)
        wall = time.perf_counter() - t0
        ru1 = resource.getrusage(resource.RUSAGE_SELF)
        m = read_manifest(out)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    peak_mb = ru1.ru_maxrss / 1024  # Linux: kB
    s, pts = m["summary"], m["patients"]
    test = [p for p in pts if p["role"] == "test"]
    train = [p for p in pts if p["role"] == "train"]
    spec = m["spec"]["profile"]
    print(f"profile {args.profile}: {spec['image_size']}^2, {spec['z_length_mm']:g} mm of z, "
          f"{len(test)} test + {len(train)} training patients, {s['n_series']} series, {s['n_slices']} slices")
    print(f"device {m['generator']['device']}, torch threads {torch.get_num_threads()}, "
          f"host CPUs {os.cpu_count()}, load average {load0:.1f} at start / {os.getloadavg()[0]:.1f} at end")
    print(f"total: wall {wall:.1f} s ({wall / 60:.1f} min), CPU {cpu:.1f} s (CPU/wall {cpu / wall:.2f})")
    for name, group in (("test", test), ("training", train)):
        if group:
            t = [p["timings_s"]["total"] for p in group]
            print(f"per {name} patient: mean {sum(t) / len(t):.1f} s (min {min(t):.1f}, max {max(t):.1f}) wall")
    tot = sum(s["timings_s"][k] for k in STAGES)
    parts = ", ".join(f"{k} {100 * s['timings_s'][k] / tot:.0f}%" for k in STAGES)
    print(f"share of the per-patient time: {parts}")
    for name, group in (("test", test), ("training", train)):
        if group:
            g = {k: sum(p["timings_s"][k] for p in group) for k in STAGES}
            gt = sum(g.values())
            print(f"  {name}: " + ", ".join(f"{k} {100 * g[k] / gt:.0f}%" for k in STAGES))
    print(f"peak memory (ru_maxrss): {peak_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
