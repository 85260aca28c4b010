"""Data manifests (``data_manifests/*.yaml``) and the download check behind ``t2t data check``.

:func:`check` verifies a folder against a manifest -- series present per patient, kernel,
dose and thickness, slice counts where the manifest knows them, slice thickness and
increment from the DICOM headers (:func:`t2tcore.io.scan_folder`, no pixel data); for
RPLHR-CT, cases present and paired per split, image size, slice spacing and the 5:1 slice
relation from the NIfTI headers -- and returns a :class:`CheckReport` whose lines say in
plain words what is missing or wrong.

One concept per module, this one the entry point that re-exports them:
:mod:`~t2tcore.data.manifest_schema` (the schema, :func:`load_manifest`, :func:`load_profile`,
:func:`expectations`), :mod:`~t2tcore.data.check_dicom` (Grand Challenge and TCIA folders),
:mod:`~t2tcore.data.check_rplhr` (RPLHR-CT trees), :mod:`~t2tcore.data.check_report` (the report).
"""

from __future__ import annotations

from pathlib import Path

from t2tcore.data.check_dicom import check_test, check_train, judge_series
from t2tcore.data.check_report import CheckReport
from t2tcore.data.check_rplhr import check_rplhr
from t2tcore.data.manifest_schema import (  # noqa: F401
    MANIFEST_DIR,
    SCHEMA_VERSION,
    as_manifest,
    available_manifests,
    expectations,
    is_rplhr,
    load_manifest,
    load_profile,
    validate_profile,
)
from t2tcore.errors import T2TError
from t2tcore.io import DicomReadError, scan_folder

__all__ = [
    "MANIFEST_DIR",
    "available_manifests",
    "load_manifest",
    "load_profile",
    "expectations",
    "CheckReport",
    "check",
]


def check(root, manifest, *, progress: bool = False) -> CheckReport:
    """Verify a downloaded (or generated) data folder against a manifest.

    Reads folder names and DICOM headers only (:func:`t2tcore.io.scan_folder` on each
    series folder), never pixel data; slice counts are the images ``read_series`` would read.

    Parameters
    ----------
    root : str or os.PathLike
        The data folder (holding ``Training_Image_Data`` and/or ``LDCT-and-Projection-data``,
        or one of them).
    manifest : dict or str or os.PathLike
        A loaded manifest, a manifest name or a YAML path.
    progress : bool, optional
        Show a progress bar over the series checked (on stderr, and only on a terminal).

    Returns
    -------
    CheckReport
        Problems and notes in plain words, and counts; ``report.ok`` is True when complete.

    Raises
    ------
    T2TError
        If ``root`` is not an existing folder or the manifest cannot be loaded.
    """
    m = as_manifest(manifest)
    root = Path(root).expanduser()
    if not root.is_dir():
        raise T2TError(f"data folder {root} does not exist" if not root.exists() else f"{root} is not a folder")
    exp = expectations(m)
    tol = {k: float(v) for k, v in m["tolerance_mm"].items()}
    report = CheckReport(manifest=m["name"], root=root)
    if is_rplhr(m):
        check_rplhr(root, exp, tol, report, progress)
        return report
    jobs: list[tuple[str, Path, float, float, int | None]] = []  # header checks to run
    if exp["test"] is not None:
        jobs += check_test(root, exp["test"], m, report)
    if exp["train"] is not None:
        jobs += check_train(root, exp["train"], m, report)
    bar = None
    if progress and jobs:
        from t2tcore.progress import bar as progress_bar

        bar = progress_bar(total=len(jobs), desc="checking series", unit="series", enabled=None)
    try:
        for name, folder, thickness, increment, n_expected in jobs:
            try:
                scan = scan_folder(folder)
            except DicomReadError as exc:
                found, notes = [f"{name}: {exc}"], []
            else:
                found, notes = judge_series(name, scan, thickness, increment, n_expected, tol)
            report.problems += found
            report.notes += notes
            report.correct += not found
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return report
