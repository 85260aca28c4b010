"""Benchmark: ``t2t pairs`` throughput (series per minute) at 1 and 2 worker processes, and the ratio.

Runs the command end to end as a user does (a subprocess: start-up, finding the series,
simulating, writing NIfTI pairs and the index), on the thin training series of the quick
virtual cohort (``--dataset ldct_gc``: its TCIA-layout full-dose series; make the cohort with
``t2t data virtual _build/data/virtual-quick --profile quick``), into a new output folder each
time so that nothing is up to date. The worker counts are interleaved round by round, the
order rotated every round, so that a busy machine slows both alike; it prints each run, the
median series per minute of each count, and the scaling ratio (2 workers / 1 worker; 2.0
would be perfect on two idle cores). Beside it: the CPU time of each run (user + system of
the command and its worker processes) per series, and the cores it got (CPU / wall). On a
shared machine the kernel may give a session a fixed share of the CPUs whatever its number of
processes: then the cores used stay flat, and so does the throughput, however many workers.
A last run into the finished folder times a resume with nothing to do.

Usage: ``python benchmarks/bench_pairs.py [--data DIR] [--workers 1 2] [--rounds 2] [--thickness 3]``
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
T2T = str(Path(sys.executable).with_name("t2t"))


def _run(data: Path, out: Path, workers: int, args: argparse.Namespace) -> tuple[float, float, int, str]:
    """(wall s, CPU s of the command and its workers, series made, summary line) of one run."""
    cmd = [T2T, "pairs", str(data), str(out), "--thickness", str(args.thickness), "--interval", str(args.interval),
           "--workers", str(workers), "--no-progress"] + (["--dataset", args.dataset] if args.dataset else [])
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        sys.exit(f"bench_pairs: t2t pairs failed: {proc.stderr.strip()}")
    first = proc.stdout.splitlines()[0]
    made = int(re.search(r"(\d+) made", first).group(1))
    return wall, cpu, made, first


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT / "_build" / "data" / "virtual-quick",
                        help="the cohort root (default _build/data/virtual-quick)")
    parser.add_argument("--dataset", default="ldct_gc", help="read DATA as this layout ('' for a folder tree)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--thickness", type=float, default=3.0)
    parser.add_argument("--interval", type=float, default=2.0)
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        sys.exit(f"bench_pairs: {args.data} does not exist; make it with "
                 f"`t2t data virtual {args.data} --profile quick`")
    scratch = Path(tempfile.mkdtemp(prefix="bench-pairs-", dir=ROOT / "_build"))
    print(f"t2t pairs {args.data} --dataset {args.dataset} --thickness {args.thickness:g} --interval "
          f"{args.interval:g}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start")
    rate: dict[int, list[float]] = {w: [] for w in args.workers}
    cpu: dict[int, list[float]] = {w: [] for w in args.workers}
    cores: dict[int, list[float]] = {w: [] for w in args.workers}
    try:
        for r in range(args.rounds):
            order = args.workers[r % len(args.workers):] + args.workers[: r % len(args.workers)]
            for w in order:
                out = scratch / f"r{r}-w{w}"
                wall, c, made, line = _run(args.data, out, w, args)
                rate[w].append(made / wall * 60.0)
                cpu[w].append(c / max(made, 1))
                cores[w].append(c / wall)
                print(f"  round {r + 1}, {w} worker(s): {wall:6.1f} s, {rate[w][-1]:6.1f} series/min, "
                      f"{cpu[w][-1]:.2f} CPU s/series, {cores[w][-1]:.2f} cores used   [{line}]")
                if not (w == order[-1] and r == args.rounds - 1):
                    shutil.rmtree(out)
        wall, _, made, line = _run(args.data, out, args.workers[-1], args)
        print(f"  resume into the finished folder: {wall:.1f} s, {made} made   [{line}]")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print("median of the rounds:")
    med = {w: statistics.median(v) for w, v in rate.items()}
    for w in args.workers:
        print(f"  {w} worker(s): {med[w]:6.1f} series/min, {statistics.median(cpu[w]):.2f} CPU s/series, "
              f"{statistics.median(cores[w]):.2f} cores used")
    if len(args.workers) > 1:
        a, b = args.workers[0], args.workers[-1]
        print(f"scaling {b} / {a} workers: {med[b] / med[a]:.2f}x (ideal {b / a:.1f}x on idle cores); "
              f"load average {os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
