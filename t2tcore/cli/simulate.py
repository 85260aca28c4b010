"""``t2t simulate``: a thick series from a thin one (every method)."""

from __future__ import annotations

import warnings

from t2tcore import __version__
from t2tcore.cli._common import (
    LazyChoices,
    SERIES_PATH_HELP,
    add_slice_profile,
    check_covered,
    check_thinner,
    claim_series_output,
    match_positions,
    positive_mm,
    read_input,
    series_name,
    show_progress,
    slice_profile_path,
)
from t2tcore.errors import T2TError

# Index-based baselines of t2tcore.simulation.simulate: they take the thin SliceThickness and place
# their slices by groups of thin slices (no --interval, no --match).
_INDEX_METHODS = ("direct", "average", "gaussian")


def _add_simulate(subparsers) -> None:
    p = subparsers.add_parser(
        "simulate",
        help="simulate a thick-slice series (DICOM or NIfTI) from a thin-slice one",
        description="Read a thin-slice CT series, simulate thick slices (default: the paper's method, position "
        "correction + triangular weighting) and write them as a new DICOM series of the same patient, study and "
        "frame of reference, or as a NIfTI file: the output format follows OUT (a folder, or a name ending in .nii "
        "or .nii.gz). Examples: t2t simulate thin/ thick3mm/ --thickness 3 --interval 2; "
        "t2t simulate thin.nii.gz thick.nii.gz --thickness 5 --interval 5",
    )
    p.add_argument("in_dir", metavar="IN", help=f"the thin-slice series: {SERIES_PATH_HELP}")
    p.add_argument(
        "out_dir",
        metavar="OUT",
        help="a DICOM folder to create (must be empty) or a NIfTI file to write (.nii.gz or .nii, with a JSON sidecar)",
    )
    p.add_argument(
        "--thickness",
        type=positive_mm,
        metavar="MM",
        help="thick slice thickness in mm (with --match: default the real series' SliceThickness)",
    )
    p.add_argument(
        "--interval",
        type=positive_mm,
        metavar="MM",
        help="distance between thick slices in mm (proposed, gaussian_z); not with --match",
    )
    p.add_argument(
        "--method",
        default=None,  # None: proposed, or calibrated with --profile (an explicit other method is refused)
        # without a metavar argparse lists the choices (importing the simulation package) as it builds the parser
        metavar="METHOD",
        choices=LazyChoices("t2tcore.simulation.simulate", "METHODS", "PROFILE_METHODS"),
        help="one of %(choices)s: proposed (default: Algorithms 1 and 2 of the paper), gaussian_z (Gaussian along z, "
        "FWHM = thickness), the index-based baselines direct, average, gaussian (groups of round(thickness / thin "
        "SliceThickness) slices), or calibrated (a measured profile, see --profile)",
    )
    p.add_argument(
        "--match",
        metavar="REAL_THICK",
        help=f"a real thick series of the same patient ({SERIES_PATH_HELP}): simulate exactly at its slice positions",
    )
    p.add_argument(
        "--thin-thickness",
        type=positive_mm,
        metavar="MM",
        help="slice thickness of the thin series, replacing its header's (NIfTI has none: without this option it "
        "comes from the JSON sidecar, else the slice spacing is used with a warning)",
    )
    p.add_argument("--series-uid", metavar="UID", help="SeriesInstanceUID to read when IN_DIR holds several series")
    p.add_argument("--match-series-uid", metavar="UID", help="SeriesInstanceUID to read from REAL_THICK")
    p.add_argument(
        "--sigma", type=float, default=1.0, metavar="PIXELS", help="in-plane blur of --method gaussian (default 1)"
    )
    add_slice_profile(p, "a slice profile measured by `t2t calibrate`: selects --method calibrated (its kernel "
                      "instead of the triangle); thickness and interval default to the profile's")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it is an existing file, or a folder of DICOM files that t2t "
                   "wrote (never a folder holding other files, never an input, never while another t2t run writes it)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=_run_simulate)




def _run_simulate(args) -> int:
    from t2tcore.errors import SeriesWarning

    method = args.method or "proposed"
    profile = (_simulate_profile(args) if slice_profile_path(args, "simulate") is not None or method == "calibrated"
               else None)
    if profile is not None:
        method = "calibrated"
    if args.match is None and args.thickness is None:
        raise T2TError("--thickness is required (or --match REAL_THICK to take it from a real thick series)")
    if args.match is not None and args.interval is not None:
        raise T2TError("give --interval or --match, not both: with --match the slices are placed at the real positions")
    if args.match is not None and method in _INDEX_METHODS:
        raise T2TError(f"--match needs a position-based method (proposed, gaussian_z); {method} places slices by index")
    if args.match is None and args.interval is None and method not in _INDEX_METHODS:
        raise T2TError(f"--interval is required for --method {method} (or --match REAL_THICK)")
    if args.interval is not None and method in _INDEX_METHODS:
        warnings.warn(f"--method {method} places slices by groups of thin slices (index-based, as the paper's "
                      f"baselines do); --interval {args.interval:g} is ignored", SeriesWarning)
        args.interval = None
    progress = show_progress(args)
    inputs = [args.in_dir, args.match, args.slice_profile]
    with claim_series_output(args.out_dir, inputs, args.overwrite) as claim:
        return _simulate(args, method, profile, claim.path, progress)


def _simulate(args, method: str, profile, out, progress: bool) -> int:
    from t2tcore.io import write_series
    from t2tcore.simulation.series import simulate_series

    thin = read_input(args.in_dir, args.series_uid, "--series-uid", thickness=args.thin_thickness, progress=progress)
    if thin.volume.shape[0] < 2:
        raise T2TError(f"{args.in_dir}: holds one slice; thick slices are simulated from a stack of thin slices")
    thickness, target, how = args.thickness, None, ""
    if args.match is not None:
        real = read_input(args.match, args.match_series_uid, "--match-series-uid", progress=progress)
        target = match_positions(thin, real, args.match)
        if thickness is None:
            if real.thickness is None:
                raise T2TError(f"{args.match}: no SliceThickness in the header; give --thickness")
            thickness = real.thickness
        how = f"at the {target.size} positions of {series_name(real, args.match)}"
    what = "--thickness" if args.thickness is not None else f"{args.match}: SliceThickness"
    check_thinner(thin, thickness, what)
    check_covered(thin, thickness, what)
    try:
        thick = simulate_series(
            thin,
            thickness,
            args.interval,
            method,
            target_positions=target,
            sigma=args.sigma,
            profile=profile,
            profile_name=args.slice_profile,
            how=how,
            matched=args.match is not None,
            source=series_name(thin, args.in_dir),
            version=__version__,
        )
    except ValueError as exc:
        raise T2TError(f"cannot simulate: {exc}") from None
    step = f"{thick.interval:g} mm" if thick.interval is not None else "-"
    if args.match is not None and real.nifti_layout is not None:
        thick.nifti_layout = real.nifti_layout  # a NIfTI output in the real file's voxel order: arrays comparable
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
    """``--slice-profile`` of ``t2t simulate``: the slice profile; its thickness and interval fill in
    ``--thickness`` and ``--interval`` when they are not given (and there is no --match)."""
    from t2tcore.simulation import SliceProfile

    if args.slice_profile is None:
        raise T2TError("--method calibrated needs --slice-profile SLICE_PROFILE.json (made by `t2t calibrate`)")
    if args.method not in (None, "calibrated"):
        raise T2TError(f"--slice-profile selects --method calibrated (its measured kernel); it cannot be combined with "
                       f"--method {args.method}: give one of them")
    profile = SliceProfile.from_json(args.slice_profile)  # SliceProfileError is a T2TError
    if args.match is None:
        if args.thickness is None:
            args.thickness = profile.thickness
        if args.interval is None:
            args.interval = profile.interval
    return profile



add_parser = _add_simulate
