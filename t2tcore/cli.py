"""The ``t2t`` command.

Each sub-command is a pair of functions: ``_add_<name>(subparsers)`` declares its
arguments and ``_run_<name>(args) -> int`` does the work by calling ``t2tcore``
functions. Errors caused by bad input (:class:`~t2tcore.errors.T2TError`) are printed as
one line on stderr with a non-zero exit status, never as a traceback.
"""

from __future__ import annotations

import argparse
import sys
import warnings

from t2tcore import __version__
from t2tcore.errors import T2TError

EXIT_INPUT_ERROR = 2


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="t2t",
        description="Simulate thick-slice CT from thin-slice CT (position correction + triangular weighting), "
        "inspect DICOM folders, and make the virtual helical-CT cohort.",
    )
    parser.add_argument("--version", action="version", version=f"t2t {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for add in _SUBCOMMANDS:
        add(sub)
    return parser


# Sub-commands register themselves here (see the _add_* functions below).
_SUBCOMMANDS: list = []


def _format_warning(message, category, filename, lineno, line=None):  # noqa: ARG001
    return f"warning: {message}\n"


# --------------------------------------------------------------------------- t2t data ACTION
# `t2t data` is a group: its actions register in _DATA_SUBCOMMANDS exactly like the top-level
# sub-commands (an `_add_data_<action>(actions)` that calls set_defaults(func=_run_data_<action>)).
_DATA_SUBCOMMANDS: list = []


def _add_data(subparsers) -> None:
    p = subparsers.add_parser(
        "data",
        help="check data downloads against their manifests; make the virtual cohort",
        description="Data sets of the paper (real and virtual), described by data_manifests/*.yaml.",
    )
    actions = p.add_subparsers(dest="data_command", metavar="ACTION")
    actions.required = True
    for add in _DATA_SUBCOMMANDS:
        add(actions)


def _add_data_check(actions) -> None:
    from t2tcore.manifests import available_manifests

    p = actions.add_parser(
        "check",
        help="verify a data folder against a manifest (series, slice counts, thickness, increment)",
        description="Verify a downloaded or generated data folder against a manifest: series present per "
        "patient, kernel, dose and thickness, slice counts where known, slice thickness and increment from "
        "the DICOM headers (pixel data is not read). Prints one line per problem and a summary. Exit status: "
        "0 complete, 1 something missing or wrong, 2 bad input.",
    )
    p.add_argument("root", metavar="ROOT", help="data folder (holding Training_Image_Data and/or LDCT-and-Projection-data)")
    p.add_argument(
        "--manifest",
        required=True,
        metavar="NAME",
        help=f"manifest name ({', '.join(available_manifests())}) or path of a YAML manifest",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_run_data_check)


def _run_data_check(args) -> int:
    from t2tcore.manifests import check

    report = check(args.root, args.manifest, progress=not args.no_progress)
    print(report)
    return 0 if report.ok else 1


_SUBCOMMANDS.append(_add_data)
_DATA_SUBCOMMANDS.append(_add_data_check)


# --------------------------------------------------------------------------- t2t simulate
# Index-based baselines of t2tcore.simulate: they take the thin SliceThickness and place
# their slices by groups of thin slices (no --interval, no --match).
_INDEX_METHODS = ("direct", "average", "gaussian")


def _positive_mm(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (value > 0 and value < float("inf")):
        raise argparse.ArgumentTypeError(f"must be > 0 (mm), got {text}")
    return value


def _add_simulate(subparsers) -> None:
    from t2tcore.simulate import METHODS

    p = subparsers.add_parser(
        "simulate",
        help="simulate a thick-slice DICOM series from a thin-slice one",
        description="Read a thin-slice CT series, simulate thick slices (default: the paper's method, position "
        "correction + triangular weighting) and write them as a new DICOM series of the same patient, study and "
        "frame of reference. Example: t2t simulate thin/ thick3mm/ --thickness 3 --interval 2",
    )
    p.add_argument("in_dir", metavar="IN_DIR", help="folder holding the thin-slice series (searched recursively)")
    p.add_argument("out_dir", metavar="OUT_DIR", help="folder to create for the simulated series (must be empty)")
    p.add_argument(
        "--thickness",
        type=_positive_mm,
        metavar="MM",
        help="thick slice thickness in mm (with --match: default the real series' SliceThickness)",
    )
    p.add_argument(
        "--interval",
        type=_positive_mm,
        metavar="MM",
        help="distance between thick slices in mm (proposed, gaussian_z); not with --match",
    )
    p.add_argument(
        "--method",
        default="proposed",
        choices=METHODS,
        help="proposed (default: Algorithms 1 and 2 of the paper), gaussian_z (Gaussian along z, FWHM = thickness), "
        "or the index-based baselines direct, average, gaussian (groups of round(thickness / thin SliceThickness) "
        "slices)",
    )
    p.add_argument(
        "--match",
        metavar="REAL_THICK_DIR",
        help="a real thick series of the same patient: simulate exactly at its slice positions",
    )
    p.add_argument("--series-uid", metavar="UID", help="SeriesInstanceUID to read when IN_DIR holds several series")
    p.add_argument("--match-series-uid", metavar="UID", help="SeriesInstanceUID to read from REAL_THICK_DIR")
    p.add_argument(
        "--sigma", type=float, default=1.0, metavar="PIXELS", help="in-plane blur of --method gaussian (default 1)"
    )
    p.add_argument("--overwrite", action="store_true", help="replace OUT_DIR if it is not empty")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=_run_simulate)


def _match_positions(thin, real, real_dir: str):
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
    return real.ipp @ thin.normal


def _run_simulate(args) -> int:
    import numpy as np

    from t2tcore.dicomio import check_output_dir, read_series, write_series
    from t2tcore.simulate import simulate_thick

    method = args.method
    if args.match is None and args.thickness is None:
        raise T2TError("--thickness is required (or --match REAL_THICK_DIR to take it from a real thick series)")
    if args.match is not None and args.interval is not None:
        raise T2TError("give --interval or --match, not both: with --match the slices are placed at the real positions")
    if args.match is not None and method in _INDEX_METHODS:
        raise T2TError(f"--match needs a position-based method (proposed, gaussian_z); {method} places slices by index")
    if args.match is None and args.interval is None and method not in _INDEX_METHODS:
        raise T2TError(f"--interval is required for --method {method} (or --match REAL_THICK_DIR)")
    if args.interval is not None and method in _INDEX_METHODS:
        raise T2TError(f"--method {method} places slices by groups of thin slices and takes no --interval")
    progress = not args.no_progress
    inputs = [args.in_dir] + ([args.match] if args.match else [])
    out = check_output_dir(args.out_dir, args.overwrite, inputs=inputs)

    thin = read_series(args.in_dir, args.series_uid, progress=progress)
    thickness, target, how = args.thickness, None, ""
    if args.match is not None:
        real = read_series(args.match, args.match_series_uid, progress=progress)
        target = _match_positions(thin, real, args.match)
        if thickness is None:
            if real.thickness is None:
                raise T2TError(f"{args.match}: no SliceThickness in the header; give --thickness")
            thickness = real.thickness
        how = f"at the {target.size} positions of series {real.series_uid}"
    thin_thickness = thin.thickness if method in _INDEX_METHODS else None
    try:
        volume, positions = simulate_thick(
            thin.volume,
            thin.positions,
            thickness,
            interval=args.interval,
            method=method,
            target_positions=target,
            thin_thickness=thin_thickness,
            sigma=args.sigma,
        )
    except ValueError as exc:
        raise T2TError(f"cannot simulate: {exc}") from None
    positions = np.asarray(positions, dtype=np.float64)
    if positions.size == 0:
        raise T2TError("cannot simulate: no thick slice fits in the thin series")
    steps = np.diff(np.sort(positions))
    interval = args.interval if args.interval is not None else (round(float(np.median(steps)), 6) if steps.size else None)
    if method in _INDEX_METHODS:
        k = round(thickness / (thin_thickness or thin.spacing or thickness))
        how = f"groups of {k} thin slices"
    step = f"{interval:g} mm" if interval is not None else "-"
    description = f"t2t {method} {thickness:g}mm/{step.replace(' ', '')}" + (" matched" if args.match else "")
    if thin.description:
        description = f"{description} from {thin.description}"[:64]
    derivation = (
        f"t2t {__version__} simulate: method {method}, thickness {thickness:g} mm, interval {step}"
        + (f", {how}" if how else "")
        + f"; from series {thin.series_uid} ({thin.description or 'no description'})"
    )
    thick = thin.derive(
        volume, positions, thickness=thickness, interval=interval, description=description, derivation=derivation
    )
    out = write_series(thick, out, overwrite=args.overwrite, progress=progress)
    thin_desc = f"{thin.thickness:g} mm" if thin.thickness is not None else "? mm"
    thin_step = f", {thin.spacing:g} mm apart" if thin.spacing else ""
    print(
        f"{thin.volume.shape[0]} slices ({thin_desc}{thin_step}) -> {thick.volume.shape[0]} slices "
        f"({thickness:g} mm, {step} apart), positions {thick.positions[0]:.2f} to {thick.positions[-1]:.2f} mm, "
        f"method {method}: {out}"
    )
    return 0


_SUBCOMMANDS.append(_add_simulate)


# --------------------------------------------------------------------------- t2t info
def _add_info(subparsers) -> None:
    p = subparsers.add_parser(
        "info",
        help="what a DICOM folder holds: series, slices, thickness, spacing, irregularities, tilt",
        description="List the image series in a folder (searched recursively) from their headers: UID, "
        "description, modality, slice count, thickness, spacing, position range, irregular spacing, gantry tilt, "
        "and the files that are not series images (not DICOM, truncated, reports...).",
    )
    p.add_argument("path", metavar="DIR", help="folder (or file) to inspect")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_run_info)


def _format_scan(scan) -> str:
    n_ct = sum(1 for s in scan.series if s.is_ct and not s.localizer)
    lines = [f"{scan.path}: {scan.n_files} file(s), {len(scan.series)} image series ({n_ct} CT)"]
    if scan.skipped:
        parts = [f"{n} {why} (e.g. {scan.examples[why]})" for why, n in scan.skipped.items()]
        lines.append("  not series images: " + "; ".join(parts))
    for i, s in enumerate(scan.series, 1):
        lines.append(f"series {i}: {s.uid}" + (f"  \"{s.description}\"" if s.description else ""))
        number = f", number {s.series_number}" if s.series_number is not None else ""
        loc = f", {s.n_localizers} localizer(s)" if s.n_localizers else ""
        ps = f" at {s.pixel_spacing[0]:g} x {s.pixel_spacing[1]:g} mm" if s.pixel_spacing else ""
        lines.append(
            f"  {s.modality or '?'}{number}, {s.n_slices} slice(s) of {s.rows} x {s.columns} px{ps} "
            f"({s.n_files} file(s){loc}), {s.transfer_syntax}"
        )
        if s.localizer:
            lines.append("  localizer/scout series (not a volume)")
            continue
        thick = f"{s.thickness:g} mm" if s.thickness is not None else "?"
        spacing = f"{s.spacing:.4g} mm" if s.spacing is not None else "-"
        rng = f"{s.position_range[0]:.2f} to {s.position_range[1]:.2f} mm" if s.position_range else "-"
        kernel = f", kernel {s.kernel}" if s.kernel else ""
        lines.append(f"  thickness {thick}, spacing {spacing}, positions {rng}{kernel}")
        tilt = f"gantry tilt {s.tilt:.3g} deg" if s.tilt else "no gantry tilt"
        if s.header_tilt:
            tilt += f" (header GantryDetectorTilt {s.header_tilt:g} deg)"
        lines.append(f"  {'IRREGULAR spacing' if s.irregular else 'regular spacing'}, {tilt}")
        lines.extend(f"  note: {note}" for note in s.notes)
    return "\n".join(lines)


def _run_info(args) -> int:
    from t2tcore.dicomio import scan_folder

    scan = scan_folder(args.path, progress=not args.no_progress)
    if args.json:
        import dataclasses
        import json

        data = dataclasses.asdict(scan)
        data["path"] = str(scan.path)
        print(json.dumps(data, indent=2))
    else:
        print(_format_scan(scan))
    return 0


_SUBCOMMANDS.append(_add_info)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``t2t`` command; returns the process exit status."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    warnings.formatwarning = _format_warning
    try:
        return int(args.func(args) or 0)
    except T2TError as exc:
        print(f"t2t {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    except KeyboardInterrupt:
        print(f"t2t {args.command}: interrupted, nothing written", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
