"""One series, all its pairs: the task ``t2t pairs`` runs in a worker process (local or Dask).

:func:`run_pair` reads one thin series, checks that it can give the pairs asked for,
simulates every thick series through :func:`t2tcore.simulation.series.simulate_series` (what
``t2t simulate`` runs), writes the thin and thick NIfTI files with their sidecars through
:func:`t2tcore.io.write_series` into a staging folder, moves them into place and writes the
series' record last. Whatever goes wrong with the input becomes a :class:`PairResult` with
one line of reason, never an exception, so one bad series does not stop the others. A task
holds one series in memory at a time.

Tasks and results are small picklable objects (paths, settings, numbers): the same function
runs in a :class:`concurrent.futures.ProcessPoolExecutor` and on a Dask cluster, whose
workers must see the input and output paths under the same names.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import socket
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from t2tcore.errors import T2TError
from t2tcore.pipelines.settings import Simulation
from t2tcore.pipelines.sources import SeriesSource

__all__ = ["PairInputError", "PairTask", "PairResult", "task_key", "check_thin", "run_pair"]

#: Bump when what a pair's files hold changes (older outputs are then made again).
FORMAT = 1


class PairInputError(T2TError):
    """A thin series that cannot give the pairs asked for (too few slices, too thick, irregular)."""


@dataclass(frozen=True)
class PairTask:
    """Make the pairs of one series.

    Attributes
    ----------
    source : SeriesSource
    simulations : tuple of Simulation
    out : str
        The output folder (absolute), claimed by :func:`t2tcore.pipelines.store.claim_output`.
    thin_file : str
        Where the thin series goes, relative to ``out``.
    thick_files : tuple of str
        Where each simulated series goes (one per simulation), relative to ``out``.
    key : str
        :func:`task_key`: written into the record, compared by the next run.
    """

    source: SeriesSource
    simulations: tuple[Simulation, ...]
    out: str
    thin_file: str
    thick_files: tuple[str, ...]
    key: str


@dataclass(frozen=True)
class PairResult:
    """What became of a task: its record, or one line saying why it was skipped."""

    id: str
    ok: bool
    reason: str = ""
    record: dict | None = None
    seconds: float = 0.0
    warnings: tuple[str, ...] = ()


def task_key(source: SeriesSource, simulations: tuple[Simulation, ...], files: list[str]) -> str:
    """sha256 of the input (:meth:`SeriesSource.fingerprint`), the settings and the file layout."""
    from t2tcore import __version__

    data = [FORMAT, __version__, source.fingerprint(), [s.key_data() for s in simulations], files]
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def check_thin(thin, simulations: tuple[Simulation, ...]) -> None:
    """Refuse a thin series that cannot give these pairs (one line, :class:`PairInputError`).

    Too few slices (fewer than 2, or covering less than one thick slice), thin slices
    not thinner than a requested thickness (a real thick series in the tree is no label), or
    irregular spacing (a NIfTI pair needs an even grid).
    """
    n = int(thin.volume.shape[0])
    if n < 2:
        raise PairInputError(f"too few slices: {n} (a thin series needs 2 or more)")
    widest = max(s.thickness for s in simulations)
    narrowest = min(s.thickness for s in simulations)
    covered = float(thin.positions[-1] - thin.positions[0]) + float(thin.spacing or 0.0)
    if covered < widest:
        raise PairInputError(
            f"too few slices: {n} slices cover {covered:.3g} mm, less than one {widest:g} mm thick slice")
    own = thin.thickness if thin.thickness is not None else thin.spacing
    if own is not None and own > narrowest * (1 + 1e-3):
        raise PairInputError(f"the thin slices are {own:g} mm thick, thicker than the requested {narrowest:g} mm")
    if own is not None and own >= narrowest * (1 - 1e-3):  # a 3 mm series is no label for 3 mm input
        raise PairInputError(f"the thin slices are {own:g} mm thick, not thinner than the requested {narrowest:g} mm "
                             "(not a thin series for these pairs)")
    if thin.irregular:
        note = next((x for x in thin.notes if x.startswith("irregular")), "irregular slice spacing")
        raise PairInputError(f"{note.split(' (kept')[0]}; a NIfTI pair needs evenly spaced slices")


def _read(source: SeriesSource):
    from t2tcore.io import read_series

    if source.nominal_thickness is not None and source.thin_thickness is None:
        from t2tcore.sr.datasets import read_volume

        return read_volume(source.path, source.nominal_thickness)
    return read_series(source.path, source.series_uid, thickness=source.thin_thickness)


@contextlib.contextmanager
def _serial_io():
    """The readers and writers run serially inside a task: the tasks are the parallelism."""
    old = os.environ.get("T2T_PARALLEL")
    os.environ["T2T_PARALLEL"] = "serial"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("T2T_PARALLEL", None)
        else:
            os.environ["T2T_PARALLEL"] = old


def _make(task: PairTask, caught: list) -> dict:
    """Read, check, simulate, write through staging, record; returns the record."""
    from t2tcore import __version__
    from t2tcore.io import sidecar_path, write_series
    from t2tcore.io.outdir import staging_dir
    from t2tcore.pipelines.store import PairsFolder
    from t2tcore.simulation import load_slice_profile
    from t2tcore.simulation.series import simulate_series

    src = task.source
    thin = _read(src)
    check_thin(thin, task.simulations)
    thicks = []
    for sim in task.simulations:
        profile = load_slice_profile(sim.profile) if sim.profile else None
        try:
            thicks.append(simulate_series(
                thin, sim.thickness, sim.interval, sim.method, sigma=sim.sigma, profile=profile,
                profile_name=sim.profile, version=__version__,
            ))
        except ValueError as exc:
            raise PairInputError(f"cannot simulate {sim.describe()}: {exc}") from None
    header = thin.header
    patient = src.patient or (str(header.get("PatientID") or "") if header is not None else "") or src.id
    record = {
        "id": src.id,
        "key": task.key,
        "patient": patient,
        "source": src.path,
        "series_uid": src.series_uid or thin.series_uid,
        "files": [task.thin_file, *task.thick_files],
        "thin": {
            "file": task.thin_file, "slices": int(thin.volume.shape[0]), "thickness": thin.thickness,
            "spacing": thin.spacing, "rows": int(thin.volume.shape[1]), "columns": int(thin.volume.shape[2]),
            "pixel_spacing": list(thin.pixel_spacing),
        },
        "thick": [
            {
                "file": rel, "label": sim.label, "method": sim.method, "thickness": sim.thickness,
                "interval": thick.interval, "profile": sim.profile, "slices": int(thick.volume.shape[0]),
                "first": float(thick.positions[0]), "last": float(thick.positions[-1]),
            }
            for sim, thick, rel in zip(task.simulations, thicks, task.thick_files)
        ],
        "notes": list(dict.fromkeys(list(thin.notes) + _messages(caught))),
        "t2t": __version__,
        "made_by": {"host": socket.gethostname(), "pid": os.getpid()},
    }
    folder = PairsFolder(Path(task.out))
    stage = staging_dir(folder.staging / src.id)
    try:
        staged = [(write_series(thin, stage / "thin.nii.gz"), task.thin_file)]
        for i, (thick, rel) in enumerate(zip(thicks, task.thick_files)):
            staged.append((write_series(thick, stage / f"thick{i}.nii.gz"), rel))
        moved: list[Path] = []
        try:
            for path, rel in staged:
                final = folder.root / rel
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(path, final)
                moved.append(final)
                os.replace(sidecar_path(path), sidecar_path(final))
            folder.write_record(record)  # last: a record says that all its files are there
        except BaseException:
            for final in moved:  # all or nothing: no pair without its record
                final.unlink(missing_ok=True)
                sidecar_path(final).unlink(missing_ok=True)
            raise
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return record


def run_pair(task: PairTask) -> PairResult:
    """Make the pairs of one series; never raises on bad input (see :class:`PairResult`).

    Parameters
    ----------
    task : PairTask

    Returns
    -------
    PairResult
        ``ok`` with the record written, or not ``ok`` with one line of reason: the input's
        :class:`~t2tcore.errors.T2TError` or ``ValueError`` message, "out of memory", or the
        type and message of an unexpected error. Nothing of the series is left in OUT then.
    """
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught, _serial_io():
        warnings.simplefilter("always")
        try:
            record = _make(task, caught)
            ok, reason = True, ""
        except (T2TError, ValueError) as exc:
            record, ok, reason = None, False, str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        except MemoryError:
            record, ok, reason = None, False, "out of memory"
        except Exception as exc:  # noqa: BLE001 - reported as one line; the other series go on
            record, ok, reason = None, False, f"unexpected {type(exc).__name__}: {exc}".splitlines()[0]
    return PairResult(task.source.id, ok, reason, record, time.perf_counter() - t0, tuple(_messages(caught)))


def _messages(caught: list) -> list[str]:
    return list(dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, UserWarning)))
