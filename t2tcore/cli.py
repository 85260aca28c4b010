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


def _add_data_virtual(actions) -> None:
    p = actions.add_parser(
        "virtual",
        help="make the virtual helical-CT cohort of a profile (test + training DICOM series)",
        description="Scan seeded phantoms with the virtual helical CT scanner and write DICOM series in the "
        "Grand Challenge layout (test cohort: thin 1/0.8 mm and real thick 3/2 mm from the same raw data, "
        "kernels B30 and D45, full and quarter dose) and the TCIA layout (training cohort: thin only, another "
        "scanner configuration), with cohort_manifest.json. An up-to-date cohort in OUT_DIR is kept. "
        "Example: t2t data virtual --profile smoke out/virtual-smoke",
    )
    p.add_argument("out_dir", metavar="OUT_DIR", help="cohort folder to create (or an older cohort to replace)")
    p.add_argument("--profile", default="quick", metavar="NAME",
                   help="smoke (CI, < 1 min), quick (default, <= 15 min), paper (hours), or a virtual manifest YAML")
    p.add_argument("--force", action="store_true", help="make it again even if an up-to-date cohort is there")
    p.add_argument("--device", default=None, help="torch device, e.g. cpu or cuda (default: CUDA if available)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_run_data_virtual)


def _run_data_virtual(args) -> int:
    import time

    from t2tcore.cohort import is_up_to_date, make_cohort, read_manifest

    t0 = time.perf_counter()
    kept = not args.force and is_up_to_date(args.profile, args.out_dir)
    out = make_cohort(args.profile, args.out_dir, force=args.force, progress=not args.no_progress, device=args.device)
    s = read_manifest(out)["summary"]
    what = "up to date, kept" if kept else f"made in {time.perf_counter() - t0:.0f} s"
    print(f"virtual cohort '{args.profile}': {s['n_test_patients']} test + {s['n_train_patients']} training patients, "
          f"{s['n_series']} series ({s['n_slices']} slices), {what}: {out}")
    return 0


_DATA_SUBCOMMANDS.append(_add_data_virtual)


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
    from t2tcore.simulate import METHODS, PROFILE_METHODS

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
        choices=METHODS + PROFILE_METHODS,
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
    p.add_argument(
        "--profile",
        metavar="PROFILE.json",
        help="a slice profile measured by `t2t calibrate`: selects --method calibrated (its kernel instead of the "
        "triangle); thickness and interval default to the profile's",
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
    from t2tcore.errors import SeriesWarning
    from t2tcore.simulate import simulate_thick

    method = args.method
    profile = _simulate_profile(args) if args.profile is not None or method == "calibrated" else None
    if profile is not None:
        method = "calibrated"
    if args.match is None and args.thickness is None:
        raise T2TError("--thickness is required (or --match REAL_THICK_DIR to take it from a real thick series)")
    if args.match is not None and args.interval is not None:
        raise T2TError("give --interval or --match, not both: with --match the slices are placed at the real positions")
    if args.match is not None and method in _INDEX_METHODS:
        raise T2TError(f"--match needs a position-based method (proposed, gaussian_z); {method} places slices by index")
    if args.match is None and args.interval is None and method not in _INDEX_METHODS:
        raise T2TError(f"--interval is required for --method {method} (or --match REAL_THICK_DIR)")
    if args.interval is not None and method in _INDEX_METHODS:
        warnings.warn(f"--method {method} places slices by groups of thin slices (index-based, as the paper's "
                      f"baselines do); --interval {args.interval:g} is ignored", SeriesWarning)
        args.interval = None
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
            profile=profile,
        )
    except ValueError as exc:
        raise T2TError(f"cannot simulate: {exc}") from None
    if profile is not None:
        how = (f"{how}, " if how else "") + f"profile {args.profile} (FWHM {profile.fwhm_mm:.3g} mm)"
    positions = np.asarray(positions, dtype=np.float64)
    if positions.size == 0:
        raise T2TError("cannot simulate: no thick slice fits in the thin series")
    steps = np.diff(np.sort(positions))
    interval = args.interval if args.interval is not None else (round(float(np.median(steps)), 6) if steps.size else None)
    if method in _INDEX_METHODS:
        k = max(1, int(np.floor(thickness / (thin_thickness or thin.spacing or thickness) + 0.5)))
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


def _simulate_profile(args):
    """``--profile`` of ``t2t simulate``: the profile; its thickness and interval fill in
    ``--thickness`` and ``--interval`` when they are not given (and there is no --match)."""
    from t2tcore.calibrate import ZProfile

    if args.profile is None:
        raise T2TError("--method calibrated needs --profile PROFILE.json (made by `t2t calibrate`)")
    if args.method not in ("proposed", "calibrated"):
        raise T2TError(f"--profile selects the calibrated method; it cannot be combined with --method {args.method}")
    profile = ZProfile.from_json(args.profile)  # ProfileError is a T2TError
    if args.match is None:
        if args.thickness is None:
            args.thickness = profile.thickness
        if args.interval is None:
            args.interval = profile.interval
    return profile


_SUBCOMMANDS.append(_add_simulate)


# --------------------------------------------------------------------------- t2t calibrate
def _add_calibrate(subparsers) -> None:
    p = subparsers.add_parser(
        "calibrate",
        help="measure a protocol's thin-to-thick slice profile from paired thin/thick scans",
        usage="t2t calibrate [-h] THIN_DIR THICK_DIR [THIN_DIR THICK_DIR ...] --out PROFILE.json [options]",
        description="Fit the z-weighting kernel (symmetric, non-negative, piecewise linear in mm; optionally a small "
        "in-plane blur) that best turns each thin series into the thick series of the same scan, by least squares at "
        "the real thick slice positions, and save it as a small JSON profile for `t2t simulate --profile`. "
        "Example: t2t calibrate p1/thin p1/thick3mm p2/thin p2/thick3mm --out b30_3mm.json",
    )
    p.add_argument("dirs", nargs="+", metavar="DIR", help="THIN_DIR THICK_DIR pairs: paired scans of one protocol")
    p.add_argument("--out", required=True, metavar="PROFILE.json", help="profile file to write")
    p.add_argument("--radius", type=_positive_mm, metavar="MM", help="kernel support radius (default: from the data)")
    p.add_argument(
        "--node-spacing", type=_positive_mm, default=0.25, metavar="MM", help="distance between kernel nodes (0.25)"
    )
    p.add_argument("--inplane-blur", action="store_true", help="also fit an in-plane Gaussian blur (pixels)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=_run_calibrate)


def _run_calibrate(args) -> int:
    from pathlib import Path

    import numpy as np

    from t2tcore.calibrate import fit_profile
    from t2tcore.dicomio import read_series

    if len(args.dirs) % 2:
        raise T2TError(f"give THIN_DIR THICK_DIR pairs; got {len(args.dirs)} folder(s)")
    out = Path(args.out)
    if out.exists() and not args.overwrite:
        raise T2TError(f"{out} exists (use --overwrite to replace it)")
    if out.is_dir():
        raise T2TError(f"{out} is a folder; --out names the profile file")
    progress = not args.no_progress
    pairs, facts, thicknesses, kernels = [], [], [], set()
    for thin_dir, thick_dir in zip(args.dirs[::2], args.dirs[1::2]):
        thin = read_series(thin_dir, progress=progress)
        thick = read_series(thick_dir, progress=progress)
        if thin.shape[1:] != thick.shape[1:] or not np.allclose(thin.pixel_spacing, thick.pixel_spacing, rtol=1e-3):
            raise T2TError(
                f"{thick_dir}: images of {thick.shape[1]} x {thick.shape[2]} px at {thick.pixel_spacing} mm, the thin "
                f"series has {thin.shape[1]} x {thin.shape[2]} px at {thin.pixel_spacing} mm; they must be on one grid"
            )
        positions = _match_positions(thin, thick, thick_dir)
        pairs.append((thin.volume, thin.positions, thick.volume, positions))
        header = thick.header if thick.header is not None else {}
        facts.append(
            {
                "thin_dir": str(thin_dir),
                "thick_dir": str(thick_dir),
                "patient": str(header.get("PatientID", "") or ""),
                "thin_series": thin.series_uid,
                "thick_series": thick.series_uid,
            }
        )
        if thick.thickness is not None:
            thicknesses.append(float(thick.thickness))
        if header.get("ConvolutionKernel"):
            kernels.add(str(header.get("ConvolutionKernel")))
    thickness = float(np.median(thicknesses)) if thicknesses else None
    if thicknesses and np.ptp(thicknesses) > 0.01 * thickness:
        raise T2TError(f"the thick series have different SliceThickness ({sorted(set(thicknesses))} mm): one protocol only")
    meta = {"pairs": facts, "kernel": ", ".join(sorted(kernels)) or None}
    try:
        prof = fit_profile(
            pairs,
            radius_mm=args.radius,
            node_spacing_mm=args.node_spacing,
            fit_inplane_blur=args.inplane_blur,
            progress=progress,
            thickness=thickness,
            meta=meta,
        )
    except ValueError as exc:
        raise T2TError(f"cannot calibrate: {exc}") from None
    prof.to_json(out)
    nominal = f" (nominal {thickness:g} mm)" if thickness is not None else ""
    blur = f", in-plane sigma {prof.inplane_sigma_px:.2f} px" if args.inplane_blur else ""
    print(
        f"{out}: {prof.offsets_mm.size} nodes to {prof.radius_mm:g} mm, FWHM {prof.fwhm_mm:.2f} mm{nominal}{blur}, "
        f"residual RMSE {prof.meta['residual_rmse']:.2f} HU on {prof.meta['n_samples']} voxels of {len(pairs)} pair(s)"
    )
    return 0


_SUBCOMMANDS.append(_add_calibrate)


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
