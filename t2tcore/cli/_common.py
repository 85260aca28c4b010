"""Helpers shared by the sub-commands: argument types, lazy choices, naming a series,
matching positions.

Every command module is imported to build the parser (:func:`t2tcore.cli._build_parser`),
so they import nothing heavy at module level or in ``add_parser``: ``t2t --version`` and
``t2t simulate`` do not pay for what they do not use (tests/cli/test_startup.py).
"""

from __future__ import annotations

import argparse
import importlib
import warnings
from collections.abc import Sequence

from t2tcore.errors import T2TError


def add_slice_profile(p: argparse.ArgumentParser, help: str) -> None:
    """``--slice-profile SLICE_PROFILE.json`` (a profile measured by ``t2t calibrate``), and ``--profile``,
    its deprecated name (kept for one release: it works, with a FutureWarning; see :func:`slice_profile_path`)."""
    p.add_argument("--slice-profile", metavar="SLICE_PROFILE.json", dest="slice_profile", help=help)
    p.add_argument("--profile", metavar="SLICE_PROFILE.json", dest="old_profile", help="deprecated name of --slice-profile")


def slice_profile_path(args: argparse.Namespace, command: str) -> str | None:
    """The slice profile given with ``--slice-profile`` or its deprecated name ``--profile`` (a FutureWarning
    says so), or None; both at once is an error. ``args.slice_profile`` is set to the result."""
    path = args.slice_profile
    if args.old_profile is not None:
        if path is not None:
            raise T2TError("give --slice-profile only (--profile is its deprecated name)")
        warnings.warn(f"--profile is deprecated in t2t {command}; use --slice-profile", FutureWarning, stacklevel=2)
        path = args.old_profile
    args.slice_profile = path
    return path


def show_progress(args) -> bool:
    """Progress bars for this command: not with --no-progress, and only where someone watches them.

    A terminal on stderr, or the log file ``T2T_PROGRESS_FILE`` names (the book's build logs,
    :mod:`t2tcore.progress`); never into a redirected stderr, where a bar's carriage returns
    fill a log file with ``0%|...`` lines.
    """
    import os
    import sys

    from t2tcore.progress import PROGRESS_FILE_ENV

    if getattr(args, "no_progress", False):
        return False
    if os.environ.get(PROGRESS_FILE_ENV):
        return True
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # stderr replaced or closed
        return False


def positive_mm(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (value > 0 and value < float("inf")):
        raise argparse.ArgumentTypeError(f"must be > 0 (mm), got {text}")
    return value


def whole_number(text: str, minimum: int = 1) -> int:
    """An argparse type: a whole number >= ``minimum``."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
    return value


def positive_int(text: str) -> int:
    """An argparse type: a whole number >= 1."""
    return whole_number(text, 1)


class LazyChoices(Sequence):
    """The ``choices`` of an argument, read from ``module.attribute`` tuples on first use.

    argparse only looks at choices to check a value given on the command line or to print
    help, so a parser built with these imports nothing (e.g. the simulation package for its
    method names) until then.

    Examples
    --------
    >>> LazyChoices("t2tcore.simulation.simulate", "METHODS", "PROFILE_METHODS")  # doctest: +SKIP
    """

    def __init__(self, module: str, *attributes: str) -> None:
        self._module, self._attributes = module, attributes
        self._values: tuple | None = None

    def _load(self) -> tuple:
        if self._values is None:
            mod = importlib.import_module(self._module)
            self._values = tuple(v for a in self._attributes for v in getattr(mod, a))
        return self._values

    def __getitem__(self, i):
        return self._load()[i]

    def __len__(self) -> int:
        return len(self._load())

    def __contains__(self, value) -> bool:
        return value in self._load()

    def __iter__(self):
        return iter(self._load())


def deferred_help(**fields) -> type[argparse.HelpFormatter]:
    """A help formatter that fills ``{field}`` in help texts with ``fields[field]()``,
    called only when help is printed (e.g. the manifest names, which need the data package).
    Give it to ``add_parser(..., formatter_class=deferred_help(...))``."""

    class DeferredHelpFormatter(argparse.HelpFormatter):
        def _get_help_string(self, action):
            text = super()._get_help_string(action) or ""
            for name, make in fields.items():
                token = "{" + name + "}"
                if token in text:
                    text = text.replace(token, make())
            return text

    return DeferredHelpFormatter


SERIES_PATH_HELP = "a DICOM folder (searched recursively) or a NIfTI file (.nii, .nii.gz)"


def series_name(series, path) -> str:
    """How a message names a series: its SeriesInstanceUID, or the file it was read from (NIfTI)."""
    if series.series_uid:
        return f"series {series.series_uid}"
    return series.files[0].name if series.files else str(path)


def match_positions(thin, real, real_dir: str):
    """Positions (mm) of a real series' slices along the thin series' normal."""
    import numpy as np

    from t2tcore.errors import SeriesWarning

    cos = float(abs(thin.normal @ real.normal))
    if cos < np.cos(np.radians(1.0)):
        raise T2TError(
            f"{real_dir}: slice orientation differs from the thin series by "
            f"{np.degrees(np.arccos(min(1.0, cos))):.1f} deg; positions are not comparable"
        )
    thin_for = thin.header.get("FrameOfReferenceUID") if thin.header is not None else None
    real_for = real.header.get("FrameOfReferenceUID") if real.header is not None else None
    if thin_for and real_for and thin_for != real_for:
        warnings.warn(
            f"{real_dir}: another FrameOfReferenceUID than the thin series; its positions may not be comparable",
            SeriesWarning,
            stacklevel=2,
        )
    elif not (thin_for and real_for) and (
        thin.shape[1:] != real.shape[1:] or not np.allclose(thin.pixel_spacing, real.pixel_spacing, rtol=1e-3)
    ):  # NIfTI has no frame of reference: the image grid is what tells another scan
        warnings.warn(
            f"{real_dir}: images of {real.shape[1]} x {real.shape[2]} px at {_mm(real.pixel_spacing)} mm, the thin "
            f"series' are {thin.shape[1]} x {thin.shape[2]} px at {_mm(thin.pixel_spacing)} mm: is it the same scan? "
            "The output keeps the thin series' images, only the slice positions are the real series'",
            SeriesWarning,
            stacklevel=2,
        )
    return real.ipp @ thin.normal


def _mm(pair) -> str:
    return " x ".join(f"{float(v):.4g}" for v in pair)


def claim_series_output(out, inputs, overwrite: bool):
    """Check and claim a series output for the whole run (:func:`t2tcore.io.outdir.claim_output`):
    a NIfTI file (with its JSON sidecar) when ``out`` ends in .nii/.nii.gz, else a DICOM folder.
    Use the result as a context manager around the reading, the work and the writing."""
    from t2tcore.io.errors import DicomWriteError, NiftiWriteError
    from t2tcore.io.nifti import check_nifti_output, has_nifti_suffix, sidecar_path
    from t2tcore.io.outdir import claim_output

    if has_nifti_suffix(out):
        check_nifti_output(out, True)  # the name only
        return claim_output(out, inputs=inputs, overwrite=overwrite, kind="file", companions=[sidecar_path(out)],
                            error=NiftiWriteError)
    return claim_output(out, inputs=inputs, overwrite=overwrite, kind="folder", error=DicomWriteError)


def claim_file_output(out, inputs, overwrite: bool, what: str):
    """Check and claim an output file (a profile, a checkpoint) for the whole run."""
    from pathlib import Path

    from t2tcore.io.outdir import claim_output

    if Path(out).is_dir():
        raise T2TError(f"{out} is a folder; --out names the {what} file")
    return claim_output(out, inputs=inputs, overwrite=overwrite, kind="file")


def read_input(path, uids, option: str, *, several: bool = False, thickness=None, progress: bool = False):
    """Read one input series for a command, choosing it by SeriesInstanceUID where asked.

    Parameters
    ----------
    path : str
        A DICOM folder or file, or a NIfTI file.
    uids : str, list of str or None
        The UIDs given with ``option``. With ``several`` (a command that reads many folders
        with one option: ``calibrate``, ``sr train``), each folder reads the one of them it
        holds (none: its only CT series); otherwise the one UID must be in ``path``.
    option : str
        The command's option for this input (``--series-uid``, ``--match-series-uid``...),
        named in the message when a folder holds several series and none is chosen.
    """
    from t2tcore.io import is_nifti_path, list_series, read_series
    from t2tcore.io.errors import DicomReadError

    uids = [] if uids is None else [uids] if isinstance(uids, str) else list(uids)
    uid = None
    if uids and not several:
        uid = uids[0]
    elif uids and not is_nifti_path(path):
        held = [u for u in dict.fromkeys(uids) if u in {s.uid for s in list_series(path)}]
        if len(held) > 1:
            raise T2TError(f"{path} holds {len(held)} of the series given with {option}; give one per folder")
        uid = held[0] if held else None
    try:
        return read_series(path, uid, thickness=thickness, progress=progress)
    except DicomReadError as exc:
        text = str(exc)
        if "(t2t: --series-uid)" not in text:
            raise
        raise type(exc)(text.replace("(t2t: --series-uid)", f"(t2t: {option})")) from None


def check_uids_used(uids, series, option: str) -> None:
    """Refuse UIDs given with ``option`` that none of the series read has (a typo)."""
    unused = [u for u in (uids or []) if u not in {s.series_uid for s in series}]
    if unused:
        raise T2TError(f"{option} {unused[0]}: none of the series read has this SeriesInstanceUID")


def check_thinner(thin, thickness: float, what: str) -> None:
    """Refuse simulating slices thinner than the thin slices they would be made of."""
    t = thin.thickness
    if t is not None and thickness < t * (1 - 1e-3):
        raise T2TError(f"{what} {thickness:g} mm is thinner than the thin series' slices ({t:g} mm): a simulated "
                       "thick slice cannot be thinner than the slices it is made of")


def check_covered(thin, thickness: float, what: str) -> None:
    """Refuse a thick slice wider than the whole thin series: every slice would be the same mean."""
    n = int(thin.volume.shape[0])
    covered = float(thin.positions[-1] - thin.positions[0]) + float(thin.thickness or thin.spacing or 0.0)
    if n > 1 and thickness > covered * (1 + 1e-3):
        raise T2TError(f"{what} {thickness:g} mm is wider than the whole thin series ({n} slices cover {covered:.4g} "
                       "mm): every thick slice would be the same average of all of it")


def same_series(a, b) -> bool:
    """Two series read from the same data: one SeriesInstanceUID, or the same files."""
    import os

    if a.series_uid and a.series_uid == b.series_uid:
        return True
    files_a = {os.path.realpath(f) for f in a.files}
    return bool(files_a) and files_a == {os.path.realpath(f) for f in b.files}


def check_distinct(series: Sequence, paths: Sequence, what: str) -> None:
    """Refuse the same series given twice where distinct ones are meant (``what``: their role)."""
    for j in range(len(series)):
        for i in range(j):
            if same_series(series[i], series[j]):
                raise T2TError(f"{paths[j]} is the same series as {paths[i]}: {what} must be different series")


def check_cuda(device) -> None:
    """Refuse ``--device cuda`` where torch sees no CUDA GPU, before any data is read."""
    if device is None or not str(device).startswith("cuda"):
        return
    import torch

    if not torch.cuda.is_available():
        raise T2TError(f"--device {device}: torch sees no CUDA GPU on this machine (use --device cpu, or leave it out)")
