"""Benchmark: ``t2t simulate`` end-to-end vs ``dcm2niix`` on the same 525-file series.

Builds a synthetic thin series (525 slices of 512 x 512, 1.0 mm thick every 0.8 mm, a
body-like phantom in HU) with :func:`t2tcore.io.write_series` in a temporary folder,
then times side by side, in one run (median of ``--repeat`` runs each, warm page cache):

* :func:`t2tcore.read_series` alone, in this process: the default per-phase parallel
  setting (:data:`t2tcore.io._parallel.PARALLEL`) and every phase serial / threads / processes;
* :func:`t2tcore.write_series` of a 210-slice volume, serial / threads / processes;
* the same series as NIfTI: :func:`t2tcore.read_series` of ``thin.nii`` and
  :func:`t2tcore.write_series` of the 210 slices to ``.nii`` and ``.nii.gz``;
* ``t2t simulate`` through :func:`t2tcore.cli.main` in this process (no start-up cost);
* as subprocesses, interleaved round by round (the order rotated every round) so that a
  busy machine slows both sides alike: ``dcm2niix -z n`` converting the folder to NIfTI
  (the reference converter), ``t2t simulate IN OUT --thickness 3 --interval 2`` end-to-end
  (default, and with ``T2T_PARALLEL=serial|thread|process``), ``t2t simulate thin.nii out.nii``
  (NIfTI in and out), and ``t2t --version``
  (interpreter start-up and imports alone), and ``python -c "import numpy, pydicom, tqdm"``
  (the start-up the command cannot avoid); ``sync`` runs (untimed) before each run;

and prints the ratios to dcm2niix (goal: ``t2t simulate`` <= 2x, wall), median and range of
the per-round ratios, beside the CPU time of each child (user + system, from
:func:`resource.getrusage`), which a busy machine disturbs much less than wall time.

Usage: ``python benchmarks/bench_cli.py [--slices 525] [--size 512] [--repeat 5]``
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import pathlib
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

from t2tcore.io import _parallel
from t2tcore.io import Series, read_series, write_series


def synthetic_volume(n: int = 525, size: int = 512, seed: int = 0) -> np.ndarray:
    """A body-like CT volume in HU, shape (n, size, size), float32.

    Air (-1000) around an elliptic body (soft tissue ~40 HU) whose size changes along z,
    two lungs (-850 HU) in the upper half, a spine and ribs-like bone ring (~700-1200 HU),
    a few contrast-enhanced vessels (~250 HU) and Gaussian noise (sigma 15 HU).
    """
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    y = (y - size / 2) / (size / 2)
    x = (x - size / 2) / (size / 2)
    vol = np.empty((n, size, size), np.float32)
    for k in range(n):
        t = k / max(1, n - 1)
        a, b = 0.80 + 0.08 * np.sin(3 * t), 0.58 + 0.05 * np.cos(2 * t)
        r = (x / a) ** 2 + (y / b) ** 2
        img = np.full((size, size), -1000.0, np.float32)
        img[r <= 1] = 40.0
        img[(r <= 1) & (r > 0.85)] = -90.0  # fat layer
        if t > 0.45:  # lungs
            for cx in (-0.35, 0.35):
                lung = ((x - cx) / 0.27) ** 2 + ((y + 0.05) / 0.38) ** 2 <= 1
                img[lung] = -850.0
        rs = (x / 0.09) ** 2 + ((y - 0.38) / 0.08) ** 2
        img[rs <= 1] = 700.0  # vertebral body
        img[(rs <= 1) & (rs > 0.6)] = 1200.0  # cortical shell
        ring = (r > 0.7) & (r < 0.74) & (np.sin(40 * np.arctan2(y, x) + 6 * t) > 0.3)
        img[ring] = 900.0
        for cx, cy in ((0.05, 0.1), (-0.1, 0.12)):
            img[((x - cx) ** 2 + (y - cy) ** 2) < 0.004] = 250.0
        img += rng.normal(0.0, 15.0, img.shape).astype(np.float32)
        vol[k] = img
    return vol


def _cpu_self() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _median_time(fn, repeat: int) -> tuple[float, float]:
    """(median wall time, median CPU time of this process, all threads) of ``fn()``."""
    times, cpus = [], []
    for _ in range(repeat):
        c0, t0 = _cpu_self(), time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        cpus.append(_cpu_self() - c0)
    return statistics.median(times), statistics.median(cpus)


def _t2t_command() -> list[str]:
    exe = pathlib.Path(sys.executable).with_name("t2t")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "t2tcore.cli"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--slices", type=int, default=525)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)

    dcm2niix = shutil.which("dcm2niix")
    ncpu = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"# {args.slices} slices of {args.size}x{args.size}, {ncpu} CPU(s), median of {args.repeat} runs")
    with tempfile.TemporaryDirectory(prefix="t2t-bench-") as tmp:
        tmp = pathlib.Path(tmp)
        vol = synthetic_volume(args.slices, args.size)
        pos = np.arange(args.slices) * 0.8
        thin = Series.from_array(vol, pos, (0.7, 0.7), 1.0, interval=0.8, description="bench thin 1mm/0.8mm")
        t0 = time.perf_counter()
        write_series(thin, tmp / "thin")
        print(f"wrote the thin series in {time.perf_counter() - t0:.2f} s")
        write_series(thin, tmp / "thin.nii")
        del vol, thin

        results: dict[str, tuple[float, float]] = {}
        ratios: dict[str, list[float]] = {}

        # In-process: read_series with each way of running the phases in parallel.
        saved = dict(_parallel.PARALLEL)
        env_mode = os.environ.pop("T2T_PARALLEL", None)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                results["read_series [default: " + ", ".join(f"{k} {v}" for k, v in saved.items()) + "]"] = (
                    _median_time(lambda: read_series(tmp / "thin"), args.repeat)
                )
                for mode in ("serial", "thread", "process"):
                    _parallel.PARALLEL.update({k: mode for k in saved})
                    results[f"read_series [all {mode}]"] = _median_time(lambda: read_series(tmp / "thin"), args.repeat)
                _parallel.PARALLEL.update(saved)
                series = read_series(tmp / "thin")
                thick = series.derive(series.volume[::2][:210], series.positions[::2][:210],
                                      thickness=3.0, interval=1.6, description="bench write")
                for mode in ("serial", "thread", "process"):
                    _parallel.PARALLEL.update(write=mode)
                    results[f"write_series {thick.volume.shape[0]} slices [{mode}]"] = _median_time(
                        lambda t=thick: write_series(t, tmp / "w", overwrite=True), args.repeat
                    )
                _parallel.PARALLEL.update(saved)
                results["read_series thin.nii (NIfTI)"] = _median_time(lambda: read_series(tmp / "thin.nii"), args.repeat)
                for suffix in (".nii", ".nii.gz"):
                    results[f"write_series {thick.volume.shape[0]} slices to {suffix}"] = _median_time(
                        lambda t=thick, x=suffix: write_series(t, tmp / f"w{x}", overwrite=True), args.repeat
                    )
                del series, thick
                # The whole command in this process: everything but interpreter start-up and imports.
                from t2tcore.cli import main as t2t_main

                argv = ["simulate", str(tmp / "thin"), str(tmp / "out_inproc"), "--thickness", "3", "--interval", "2",
                        "--overwrite", "--no-progress"]
                with contextlib.redirect_stdout(io.StringIO()):
                    results["t2t simulate via cli.main (no start-up)"] = _median_time(lambda: t2t_main(argv), args.repeat)
        finally:
            _parallel.PARALLEL.clear()
            _parallel.PARALLEL.update(saved)
            if env_mode is not None:
                os.environ["T2T_PARALLEL"] = env_mode

        # Subprocesses, interleaved round by round so that both sides see the same machine.
        runs: dict[str, tuple[list[str], dict]] = {}
        nii = tmp / "nii"
        if dcm2niix:
            runs["dcm2niix -z n (reference)"] = (
                [dcm2niix, "-z", "n", "-b", "n", "-w", "1", "-o", str(nii), "-f", "thin", str(tmp / "thin")], {}
            )
        simulate = _t2t_command() + ["simulate", str(tmp / "thin"), str(tmp / "out"), "--thickness", "3",
                                     "--interval", "2", "--overwrite", "--no-progress"]
        runs["t2t simulate (default)"] = (simulate, {})
        for mode in ("serial", "thread", "process"):
            runs[f"t2t simulate (T2T_PARALLEL={mode})"] = (simulate, {"T2T_PARALLEL": mode})
        runs["t2t simulate thin.nii out.nii (NIfTI)"] = (
            _t2t_command() + ["simulate", str(tmp / "thin.nii"), str(tmp / "out.nii"), "--thickness", "3",
                              "--interval", "2", "--overwrite", "--no-progress"], {}
        )
        runs["t2t --version (startup only)"] = (_t2t_command() + ["--version"], {})
        runs["python -c 'import numpy, pydicom, tqdm'"] = ([sys.executable, "-c", "import numpy, pydicom, tqdm"], {})
        times: dict[str, list[float]] = {k: [] for k in runs}
        cpu: dict[str, list[float]] = {k: [] for k in runs}
        nii.mkdir()
        names = list(runs)
        ref_name = "dcm2niix -z n (reference)"
        for r in range(args.repeat):
            this_round = {}
            for name in names[r % len(names):] + names[: r % len(names)]:  # rotate the order
                cmd, env = runs[name]
                # Flush the previous run's output to disk first (not timed): otherwise its
                # write-back (275 MB for dcm2niix) slows down whichever run comes next.
                os.sync()
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                t0 = time.perf_counter()
                subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, **env})
                this_round[name] = time.perf_counter() - t0
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu[name].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
            for name, t in this_round.items():
                times[name].append(t)
                if dcm2niix:
                    ratios.setdefault(name, []).append(t / this_round[ref_name])

    print(f"\nin this process (median of {args.repeat}; CPU = user + system of all threads):")
    width = max(len(k) for k in results) + 2
    ref = statistics.median(times[ref_name]) if dcm2niix else None
    ref_c = statistics.median(cpu[ref_name]) if dcm2niix else None
    print(f"  {'':<{width}} {'wall':>9} {'CPU':>9}")
    for k, (v, c) in results.items():
        ratio = f"   {v / ref:5.2f}x / {c / ref_c:5.2f}x dcm2niix (wall / CPU)" if ref else ""
        print(f"  {k:<{width}} {v:7.3f} s {c:7.3f} s{ratio}")
    print(f"\nsubprocesses, interleaved (median of {args.repeat} rounds; ratio = median of the per-round ratios):")
    print(f"  {'':<{width}} {'wall':>9} {'ratio':>7} {'(range)':>13} {'CPU u+s':>9} {'ratio':>7}")
    ref_cpu = statistics.median(cpu[ref_name]) if dcm2niix else None
    for k in names:
        w, c = statistics.median(times[k]), statistics.median(cpu[k])
        rw = f"{statistics.median(ratios[k]):6.2f}x" if dcm2niix else ""
        rr = f"({min(ratios[k]):.2f}-{max(ratios[k]):.2f})" if dcm2niix else ""
        rc = f"{c / ref_cpu:6.2f}x" if dcm2niix else ""
        print(f"  {k:<{width}} {w:7.3f} s {rw:>7} {rr:>13} {c:7.3f} s {rc:>7}")
    if dcm2niix:
        goal = statistics.median(ratios["t2t simulate (default)"])
        print(f"goal: t2t simulate <= 2x dcm2niix (wall): {goal:.2f}x (median of the per-round ratios) -> "
              f"{'met' if goal <= 2 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
