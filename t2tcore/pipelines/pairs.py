"""``t2t pairs``: a paired training set (thin, simulated thick) from a whole archive of thin series.

:func:`make_pairs` runs the stages of :mod:`t2tcore.pipelines`:

1. find the thin series (:func:`t2tcore.pipelines.sources.discover`);
2. claim OUT, the one place its guards are checked (:func:`t2tcore.pipelines.store.claim_output`);
3. keep the pairs whose record says they are up to date (same input files, same settings,
   :func:`t2tcore.pipelines.task.task_key`), remove those of series that changed or left DATA;
4. run one task per remaining series (:func:`t2tcore.pipelines.task.run_pair`) here, in
   local processes or on a Dask cluster (:func:`t2tcore.pipelines.runner.run_tasks`), with
   a progress bar; a bad series is reported and skipped (``strict``: the run stops);
5. write the index last (:func:`t2tcore.pipelines.index.write_index`).

Example
-------
>>> from t2tcore.pipelines import make_pairs, simulations  # doctest: +SKIP
>>> summary = make_pairs("archive/", "pairs/", simulations([3, 5]), workers=2)  # doctest: +SKIP
>>> print("\\n".join(summary.lines()))  # doctest: +SKIP
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from t2tcore.pipelines.settings import Simulation
from t2tcore.pipelines.task import PairInputError, PairResult, PairTask, run_pair, task_key

__all__ = ["PairsSummary", "make_pairs"]


@dataclass
class PairsSummary:
    """What a run did.

    Attributes
    ----------
    out : Path
    made, up_to_date : list of str
        Series ids made now, and kept from an earlier run.
    failed : list of (str, str)
        (series id, one line of reason): bad input, skipped.
    skipped : list of (str, str)
        (series name, reason): found in DATA but not thin CT series (localizers, ...).
    removed : list of str
        Series ids whose pairs were removed (left DATA).
    warnings : list of (str, str)
        (series id, warning) of the series made now.
    n_training, n_validation : int
        Pairs in the datalist.
    seconds : float
        Wall time.
    executor : str
        Where the tasks ran.
    """

    out: Path
    made: list[str] = field(default_factory=list)
    up_to_date: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    n_training: int = 0
    n_validation: int = 0
    seconds: float = 0.0
    executor: str = ""

    def lines(self, max_warnings: int = 5) -> list[str]:
        """The summary as text lines (what ``t2t pairs`` prints)."""
        n = len(self.made) + len(self.up_to_date) + len(self.failed)
        out = [f"{n} thin series: {len(self.made)} made, {len(self.up_to_date)} up to date, "
               f"{len(self.failed)} skipped (bad input); {self.seconds:.1f} s ({self.executor})"]
        out += [f"skipped {name}: {why}" for name, why in self.failed]
        out += [f"not a thin CT series: {name}: {why}" for name, why in self.skipped]
        if self.removed:
            out.append(f"removed the pairs of {len(self.removed)} series no longer in DATA: {', '.join(self.removed)}")
        out += [f"warning: {name}: {msg}" for name, msg in self.warnings[:max_warnings]]
        if len(self.warnings) > max_warnings:
            out.append(f"... {len(self.warnings) - max_warnings} more warnings (notes column of pairs.csv)")
        out.append(f"index: {self.out / 'datalist.json'} ({self.n_training} training, {self.n_validation} "
                   f"validation pairs), {self.out / 'pairs.csv'}")
        return out


def _failed(task: PairTask, reason: str) -> PairResult:
    return PairResult(task.source.id, False, reason)


def make_pairs(
    data: str | os.PathLike,
    out: str | os.PathLike,
    simulations: list[Simulation],
    *,
    dataset: str | None = None,
    thin_thickness: float | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    val_patients: int | None = None,
    seed: int = 0,
    strict: bool = False,
    progress: bool = False,
) -> PairsSummary:
    """Make (or bring up to date) the pair data set OUT from the thin series of DATA.

    Parameters
    ----------
    data : path
        A folder tree, a DICOM or NIfTI file, a CSV list, or a data set root (``dataset``).
    out : path
        The output folder: new, empty, or an earlier output of this function.
    simulations : list of Simulation
        The thick series to make of each thin one (:func:`t2tcore.pipelines.settings.simulations`).
    dataset : {"ldct_gc", "rplhr_ct"}, optional
    thin_thickness : float, optional
        Thin slice thickness (mm) replacing the headers' (NIfTI stores none).
    workers : int, optional
        Local processes; default ``os.cpu_count()``.
    scheduler : str, optional
        A Dask scheduler address; the tasks run on its cluster instead.
    val_patients : int, optional
        Patients held out for validation in the datalist (default 1 in 8).
    seed : int
        Seed of the patient split.
    strict : bool
        Stop at the first bad series (:class:`~t2tcore.pipelines.task.PairInputError`);
        the pairs made are kept, the index is not written.
    progress : bool
        Progress bars (header scan, series).

    Returns
    -------
    PairsSummary

    Raises
    ------
    T2TError
        Bad DATA or OUT, unreachable scheduler, a bad series with ``strict``, too many
        validation patients.
    """
    from t2tcore.pipelines.index import write_index
    from t2tcore.pipelines.runner import run_tasks
    from t2tcore.pipelines.sources import discover
    from t2tcore.pipelines.store import claim_output, pair_paths
    from t2tcore.progress import bar
    from t2tcore.sr.errors import SRInputError

    t0 = time.perf_counter()
    found = discover(data, dataset=dataset, thin_thickness=thin_thickness, progress=progress)
    inputs = found.inputs + [Path(s.profile) for s in simulations if s.profile]
    folder = claim_output(out, inputs)
    if not workers:
        workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    summary = PairsSummary(out=folder.root, skipped=found.skipped,
                           executor=f"Dask scheduler {scheduler}" if scheduler else f"{workers} worker(s)")
    try:
        sims = tuple(simulations)
        labels = [s.label for s in sims]
        tasks, records = [], {}
        for src in found.sources:
            thin_file, thick_files = pair_paths(src.id, labels)
            key = task_key(src, sims, [thin_file, *thick_files])
            rec = folder.read_record(src.id)
            if rec is not None and rec.get("key") == key:
                records[src.id] = rec
                summary.up_to_date.append(src.id)
                continue
            folder.remove_pair(src.id)  # an earlier pair of another input or settings: made again
            tasks.append(PairTask(src, sims, str(folder.root), thin_file, tuple(thick_files), key))
        ids = {s.id for s in found.sources}
        for ident in folder.record_ids():
            if ident not in ids:
                folder.remove_pair(ident)
                summary.removed.append(ident)
        with bar(total=len(tasks), desc="pairs", unit="series", enabled=progress and bool(tasks)) as pbar:
            results = run_tasks(tasks, run_pair, workers=workers, scheduler=scheduler, failed=_failed,
                                name=lambda t: t.source.id)
            try:
                for res in results:
                    pbar.update(1)
                    if res.ok:
                        records[res.id] = res.record
                        summary.made.append(res.id)
                        summary.warnings += [(res.id, w) for w in res.warnings]
                    else:
                        summary.failed.append((res.id, res.reason))
                        if strict:
                            raise PairInputError(
                                f"{res.id}: {res.reason} (--strict: stopped; the {len(summary.made)} series made "
                                "now are kept, the index is not written)")
            finally:
                results.close()  # cancels what has not started
        summary.made.sort()
        summary.failed.sort()
        try:
            summary.n_training, summary.n_validation = write_index(
                folder, list(records.values()), val_patients=val_patients, seed=seed,
                settings=[s.key_data() | {"profile": s.profile} for s in sims])
        except SRInputError as exc:
            raise PairInputError(f"{exc}: the pairs are made and kept; run again with a smaller --val-patients "
                                 "to write the index") from None
    finally:
        folder.release(drop_if_unused=True)
    summary.seconds = time.perf_counter() - t0
    return summary
