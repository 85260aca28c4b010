"""``t2t calibrate``: measure a protocol's slice profile from a paired scan."""

from __future__ import annotations

from t2tcore.cli._common import SERIES_PATH_HELP, match_positions, positive_mm, series_name
from t2tcore.errors import T2TError


def _add_calibrate(subparsers) -> None:
    p = subparsers.add_parser(
        "calibrate",
        help="measure a protocol's thin-to-thick slice profile from paired thin/thick scans",
        usage="t2t calibrate [-h] THIN THICK [THIN THICK ...] --out PROFILE.json [options]",
        description="Fit the z-weighting kernel (symmetric, non-negative, piecewise linear in mm; optionally a small "
        "in-plane blur) that best turns each thin series into the thick series of the same scan, by least squares at "
        "the real thick slice positions, and save it as a small JSON profile for `t2t simulate --profile`. "
        "Each series is a DICOM folder or a NIfTI file. "
        "Example: t2t calibrate p1/thin p1/thick3mm p2/thin p2/thick3mm --out b30_3mm.json",
    )
    p.add_argument(
        "dirs", nargs="+", metavar="SERIES", help=f"THIN THICK pairs, paired scans of one protocol; each {SERIES_PATH_HELP}"
    )
    p.add_argument("--out", required=True, metavar="PROFILE.json", help="profile file to write")
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
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=_run_calibrate)


def _run_calibrate(args) -> int:
    from pathlib import Path

    import numpy as np

    from t2tcore.io import read_series
    from t2tcore.simulation.calibrate import fit_profile

    if len(args.dirs) % 2:
        raise T2TError(f"give THIN THICK pairs; got {len(args.dirs)} series")
    out = Path(args.out)
    if out.exists() and not args.overwrite:
        raise T2TError(f"{out} exists (use --overwrite to replace it)")
    if out.is_dir():
        raise T2TError(f"{out} is a folder; --out names the profile file")
    progress = not args.no_progress
    pairs, facts, thicknesses, kernels = [], [], [], set()
    for thin_dir, thick_dir in zip(args.dirs[::2], args.dirs[1::2]):
        thin = read_series(thin_dir, thickness=args.thin_thickness, progress=progress)
        thick = read_series(thick_dir, thickness=args.thick_thickness, progress=progress)
        if thin.shape[1:] != thick.shape[1:] or not np.allclose(thin.pixel_spacing, thick.pixel_spacing, rtol=1e-3):
            raise T2TError(
                f"{thick_dir}: images of {thick.shape[1]} x {thick.shape[2]} px at {thick.pixel_spacing} mm, the thin "
                f"series has {thin.shape[1]} x {thin.shape[2]} px at {thin.pixel_spacing} mm; they must be on one grid"
            )
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



add_parser = _add_calibrate
