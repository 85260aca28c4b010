"""``t2t calibrate``: measure a protocol's slice profile from a paired scan."""

from __future__ import annotations

from t2tcore.cli._common import (
    SERIES_PATH_HELP,
    check_uids_used,
    claim_file_output,
    match_positions,
    positive_mm,
    read_input,
    series_name,
    show_progress,
)
from t2tcore.errors import T2TError


def _add_calibrate(subparsers) -> None:
    p = subparsers.add_parser(
        "calibrate",
        help="measure a protocol's thin-to-thick slice profile from paired thin/thick scans",
        usage="t2t calibrate [-h] THIN THICK [THIN THICK ...] --out SLICE_PROFILE.json [options]",
        description="Fit the z-weighting kernel (symmetric, non-negative, piecewise linear in mm; optionally a small "
        "in-plane blur) that best turns each thin series into the thick series of the same scan, by least squares at "
        "the real thick slice positions, and save it as a small JSON slice profile for `t2t simulate --slice-profile` (and `t2t pairs`, `t2t sr train`). "
        "Each series is a DICOM folder or a NIfTI file. "
        "Example: t2t calibrate p1/thin p1/thick3mm p2/thin p2/thick3mm --out b30_3mm.json",
    )
    p.add_argument(
        "dirs", nargs="+", metavar="SERIES", help=f"THIN THICK pairs, paired scans of one protocol; each {SERIES_PATH_HELP}"
    )
    p.add_argument("--out", required=True, metavar="SLICE_PROFILE.json", help="slice profile file to write")
    p.add_argument("--radius", type=positive_mm, metavar="MM", help="kernel support radius (default: from the data)")
    p.add_argument(
        "--node-spacing", type=positive_mm, default=0.25, metavar="MM", help="distance between kernel nodes (0.25)"
    )
    p.add_argument("--inplane-blur", action="store_true", help="also fit an in-plane Gaussian blur (pixels)")
    p.add_argument(
        "--thin-thickness", type=positive_mm, metavar="MM", help="slice thickness of the thin series (NIfTI has none)"
    )
    p.add_argument(
        "--thick-thickness",
        type=positive_mm,
        metavar="MM",
        help="slice thickness of the thick series, recorded as the profile's nominal thickness (NIfTI has none: "
        "without this option it comes from the JSON sidecar, else the slice spacing is used with a warning)",
    )
    p.add_argument("--series-uid", action="append", metavar="UID",
                   help="SeriesInstanceUID of a THIN series to read from a folder that holds several (repeat it: each "
                   "folder reads the one it holds)")
    p.add_argument("--thick-series-uid", action="append", metavar="UID",
                   help="the same for the THICK series")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file (never an input)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=_run_calibrate)


def _run_calibrate(args) -> int:
    if len(args.dirs) % 2:
        raise T2TError(f"give THIN THICK pairs; got {len(args.dirs)} series")
    with claim_file_output(args.out, args.dirs, args.overwrite, "profile") as claim:
        prof, thickness, n_pairs = _calibrate(args)
        out = prof.to_json(claim.path, overwrite=args.overwrite)
    nominal = f" (nominal {thickness:g} mm)" if thickness is not None else ""
    blur = f", in-plane sigma {prof.inplane_sigma_px:.2f} px" if args.inplane_blur else ""
    print(
        f"{out}: {prof.offsets_mm.size} nodes to {prof.radius_mm:g} mm, FWHM {prof.fwhm_mm:.2f} mm{nominal}{blur}, "
        f"residual RMSE {prof.meta['residual_rmse']:.2f} HU on {prof.meta['n_samples']} voxels of {n_pairs} pair(s)"
    )
    return 0


def _calibrate(args):
    """Read the pairs and fit the profile: (profile, nominal thickness, number of pairs)."""
    import numpy as np

    from t2tcore.simulation.calibrate import fit_profile

    progress = show_progress(args)
    pairs, facts, thicknesses, kernels, read = [], [], [], set(), []
    for thin_dir, thick_dir in zip(args.dirs[::2], args.dirs[1::2]):
        thin = read_input(thin_dir, args.series_uid, "--series-uid", several=True, thickness=args.thin_thickness,
                          progress=progress)
        thick = read_input(thick_dir, args.thick_series_uid, "--thick-series-uid", several=True,
                           thickness=args.thick_thickness, progress=progress)
        read += [thin, thick]
        _check_pair(thin, thick, thin_dir, thick_dir)
        positions = match_positions(thin, thick, thick_dir)
        pairs.append((thin.volume, thin.positions, thick.volume, positions))
        header = thick.header if thick.header is not None else {}
        facts.append(
            {
                "thin_dir": str(thin_dir),
                "thick_dir": str(thick_dir),
                "patient": str(header.get("PatientID", "") or ""),
                "thin_series": thin.series_uid or series_name(thin, thin_dir),
                "thick_series": thick.series_uid or series_name(thick, thick_dir),
            }
        )
        if thick.thickness is not None:
            thicknesses.append(float(thick.thickness))
        if header.get("ConvolutionKernel"):
            kernels.add(str(header.get("ConvolutionKernel")))
    check_uids_used(args.series_uid, read, "--series-uid")
    check_uids_used(args.thick_series_uid, read, "--thick-series-uid")
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
    return prof, thickness, len(pairs)


def _check_pair(thin, thick, thin_dir, thick_dir) -> None:
    """Refuse a pair of one series, on two grids, or given the wrong way round (THICK before THIN)."""
    import numpy as np

    from t2tcore.cli._common import same_series

    if same_series(thin, thick):
        raise T2TError(f"{thick_dir} is the same series as {thin_dir}: THICK must be the scanner's thick series of "
                       "the same scan, not the thin one")

    if thin.shape[1:] != thick.shape[1:] or not np.allclose(thin.pixel_spacing, thick.pixel_spacing, rtol=1e-3):
        raise T2TError(
            f"{thick_dir}: images of {thick.shape[1]} x {thick.shape[2]} px at {thick.pixel_spacing} mm, the thin "
            f"series has {thin.shape[1]} x {thin.shape[2]} px at {thin.pixel_spacing} mm; they must be on one grid"
        )
    thicker = thin.thickness is not None and thick.thickness is not None and thin.thickness > thick.thickness * 1.001
    wider = thin.spacing is not None and thick.spacing is not None and thin.spacing > thick.spacing * 1.001
    if thicker or wider:
        def desc(s):
            t = f"{s.thickness:g} mm slices" if s.thickness is not None else "slices"
            return t + (f" every {s.spacing:.4g} mm" if s.spacing is not None else "")

        raise T2TError(f"{thin_dir} ({desc(thin)}) is thicker or sparser than {thick_dir} ({desc(thick)}): are THIN "
                       "and THICK swapped? Give each pair as THIN THICK")



add_parser = _add_calibrate
