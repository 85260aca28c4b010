"""One way to write a virtual cohort: plan, make each patient, manifest last, all or nothing.

Every kind of virtual cohort (:mod:`~t2tcore.scanner.cohorts.ldct`,
:mod:`~t2tcore.scanner.cohorts.fibrosis`, :mod:`~t2tcore.scanner.cohorts.rplhr`) describes itself as
a :class:`CohortJob` — its spec, its patients' plans, how to make one patient, what its manifest
says — and :func:`write_cohort` does the rest the same way for all:

1. the output folder is checked (:func:`check_out_dir`): a file, a non-empty folder that is not a
   virtual cohort, or a cohort of another kind is refused with a one-line error;
2. a cohort already there whose manifest has the requested spec and whose files are all present
   (:func:`is_up_to_date`) is kept, unless ``force``;
3. otherwise the folder is claimed (:func:`t2tcore.io.outdir.claim_output`: its lock, a hidden
   staging folder beside it), every patient is made into the staging folder, the kind's tables are
   written, the manifest last, and the staging folder replaces the output in one rename
   (:func:`t2tcore.io.outdir.finish_with_manifest`). An error or an interrupt removes the staging
   folder and leaves an older cohort untouched (a killed run leaves only a hidden staging folder).

The manifest (:data:`MANIFEST_NAME`, unless the kind names another file) holds ``spec`` — everything
that determines the images, a hash of the generating source included (:func:`source_hash`) — and
what the run measured. Positions are in mm, images in HU.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from t2tcore import __version__
from t2tcore.errors import T2TError

__all__ = [
    "MANIFEST_NAME",
    "CohortJob",
    "check_out_dir",
    "generator_info",
    "is_up_to_date",
    "read_manifest",
    "series_complete",
    "source_hash",
    "uid",
    "write_cohort",
]

#: File name of the cohort manifest at the cohort root.
MANIFEST_NAME = "cohort_manifest.json"

_SCANNER = Path(__file__).resolve().parents[1]  # t2tcore/scanner: its modules make the pixels


@dataclass
class CohortJob:
    """What one kind of cohort gives :func:`write_cohort`.

    Attributes
    ----------
    kind : str
        ``"ldct"``, ``"fibrosis"``, ``"rplhr"``: a manifest of another kind is never replaced.
    title : str
        The progress bar's label (``"virtual cohort 'smoke'"``).
    spec : dict
        JSON data: everything that determines the cohort's images (the manifest's ``spec``).
    plans : sequence
        One plan per patient, each with a ``patient`` attribute (its ID), in writing order.
    make_patient : callable
        ``make_patient(plan, staging, device, bar) -> (series, info)``: writes one patient's files
        into the staging folder; ``series`` lists them (dicts with ``path`` relative to the cohort
        root, ``n_slices``, ``format`` ``"dicom"`` (default) or ``"nifti"``), ``info`` is what the
        manifest says about the patient.
    manifest : callable
        ``manifest(series, infos, seconds) -> dict``: the manifest, given every patient's series
        and info (patient ID -> info) and the wall time so far.
    finish : callable, optional
        ``finish(staging, infos)``: writes the kind's tables before the manifest.
    required : tuple of str
        Files (relative to the root) a complete cohort has besides its series.
    manifest_name : str
    replace : bool
        False: the output folder must not exist or be empty (no up-to-date check, no replacing).
    unit : str
        The progress bar's unit.
    """

    kind: str
    title: str
    spec: dict
    plans: Sequence[Any]
    make_patient: Callable[[Any, Path, Any, Any], tuple[list[dict], dict]]
    manifest: Callable[[list[dict], dict, float], dict]
    finish: Callable[[Path, dict], None] | None = None
    required: tuple[str, ...] = ()
    manifest_name: str = MANIFEST_NAME
    replace: bool = True
    unit: str = "patient"
    error: type[Exception] = field(default=T2TError)


def source_hash(*files: str | os.PathLike) -> str:
    """16 hex digits of SHA-256 over the scanner package's modules, this skeleton and ``files``.

    Part of every cohort's spec: a change of the code that makes the pixels makes the cohort again.
    """
    h = hashlib.sha256()
    paths = sorted(_SCANNER.glob("*.py")) + [Path(__file__).resolve()] + [Path(f).resolve() for f in files]
    for path in paths:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def uid(namespace: str, profile: Mapping, patient: str, what: str) -> str:
    """A DICOM UID derived from the cohort, its profile's name and seed, the patient and ``what``."""
    from pydicom.uid import generate_uid

    return generate_uid(entropy_srcs=[namespace, str(profile["name"]), str(profile["seed"]), patient, what])


def read_manifest(root: str | os.PathLike, name: str = MANIFEST_NAME) -> dict:
    """The manifest of a cohort folder.

    Raises
    ------
    T2TError
        No manifest there, or it is not valid JSON.
    """
    path = Path(root).expanduser() / name
    if not path.is_file():
        raise T2TError(f"{Path(root)} holds no {name}: not a virtual cohort (make one with t2t data virtual)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise T2TError(f"{path} is not valid JSON ({exc})") from None


def _manifest_or_none(root: Path, name: str = MANIFEST_NAME) -> dict | None:
    try:
        m = read_manifest(root, name)
    except T2TError:
        return None
    return m if isinstance(m, dict) else None


def series_complete(root: str | os.PathLike, manifest: Mapping, required: Sequence[str] = ()) -> bool:
    """True when every series the manifest lists is there (a DICOM folder with all its slices, or a
    NIfTI file) and so is every ``required`` file."""
    root = Path(root)
    series = manifest.get("series") or []
    for s in series:
        path = root / s["path"]
        if s.get("format", "dicom") == "nifti":
            if not path.is_file():
                return False
        elif not path.is_dir() or sum(1 for f in path.iterdir() if f.suffix == ".dcm") != s["n_slices"]:
            return False
    return bool(series) and all((root / r).is_file() for r in required)


def is_up_to_date(out_dir: str | os.PathLike, spec: Mapping, required: Sequence[str] = (),
                  name: str = MANIFEST_NAME) -> bool:
    """True if ``out_dir`` holds a complete cohort whose manifest has exactly ``spec``."""
    root = Path(out_dir).expanduser()
    m = _manifest_or_none(root, name)
    return m is not None and m.get("spec") == json.loads(json.dumps(spec)) and series_complete(root, m, required)


def check_out_dir(out: Path, kind: str, error: type[Exception] = T2TError, *, replace: bool = True,
                  name: str = MANIFEST_NAME, what: str = "a virtual cohort") -> None:
    """Refuse an output folder a cohort of ``kind`` may not be written to (one-line ``error``).

    A file; a non-empty folder with no manifest; a virtual cohort of another kind (a manifest whose
    ``spec.kind`` differs; no ``kind`` means ``"ldct"``); with ``replace=False``, any non-empty folder.
    """
    if out.exists() and not out.is_dir():
        raise error(f"{out} exists and is not a folder")
    if not (out.is_dir() and any(out.iterdir())):
        return
    if not replace:
        raise error(f"{out} exists and is not an empty folder: give a new folder for {what}")
    m = _manifest_or_none(out, name)
    if m is None:
        raise error(f"{out} is not empty and holds no {name}; choose a new or empty folder "
                    "(a virtual cohort only replaces an older virtual cohort of its kind)")
    other = (m.get("spec") or {}).get("kind", "ldct")
    if other != kind:
        raise error(f"{out} holds a virtual cohort of another kind ({other}); choose another folder")


def generator_info(**extra) -> dict:
    """What made a cohort: the t2t version, Python, the host's CPUs, and ``extra`` (torch, device...)."""
    return {"t2t_version": __version__, "python": platform.python_version(), **extra, "host_cpus": os.cpu_count()}


def write_cohort(job: CohortJob, out_dir: str | os.PathLike, *, force: bool = False, progress: bool = True,
                 device: Any = None) -> Path:
    """Write the cohort ``job`` describes into ``out_dir``, or keep the up-to-date one there (module docstring).

    Parameters
    ----------
    job : CohortJob
    out_dir : str or path-like
        The cohort root.
    force : bool
        Make it again even if an up-to-date cohort is there.
    progress : bool
        A progress bar over patients (:func:`t2tcore.progress.bar`).
    device : str or torch.device, optional
        Where the scanner computes (:func:`t2tcore.device.check_device`; default CUDA when available).

    Returns
    -------
    pathlib.Path
        ``out_dir``, absolute.

    Raises
    ------
    job.error
        A bad output folder or device (one line).
    """
    from t2tcore.device import check_device
    from t2tcore.io.outdir import claim_output, finish_with_manifest
    from t2tcore.progress import bar as progress_bar

    out = Path(out_dir).expanduser().absolute()
    check_out_dir(out, job.kind, job.error, replace=job.replace, name=job.manifest_name)
    device = check_device(device, job.error)
    if job.replace and not force and is_up_to_date(out, job.spec, job.required, job.manifest_name):
        return out
    older = out.is_dir() and any(out.iterdir())  # an older cohort of this kind (check_out_dir): replaced at the end
    # check_out_dir recognised an older cohort of this kind by its manifest (older ones have no OUTPUT_RECORD)
    with claim_output(out, overwrite=older, kind="folder", replace_any=older) as claim:
        t_start = time.perf_counter()
        tmp = claim.staging_dir()
        bar = progress_bar(total=len(job.plans), desc=job.title, unit=job.unit, enabled=progress)
        try:
            series, infos = [], {}
            for plan in job.plans:
                bar.set_postfix_str(str(plan.patient))
                s, info = job.make_patient(plan, tmp, device, bar)
                series += s
                infos[plan.patient] = info
                gc.collect()
                bar.update(1)
            bar.set_postfix_str("done")
            if job.finish is not None:
                job.finish(tmp, infos)
            manifest = job.manifest(series, infos, time.perf_counter() - t_start)
            finish_with_manifest(tmp, out, job.manifest_name, manifest, overwrite=claim.overwrite,
                                 replace_any=claim.replace_any)
        finally:
            bar.close()
    return out
