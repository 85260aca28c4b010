"""``t2t info``: what a DICOM folder or NIfTI file holds (series, slices, thickness, spacing, gaps, tilt)."""

from __future__ import annotations

from t2tcore.cli._common import show_progress


def _add_info(subparsers) -> None:
    p = subparsers.add_parser(
        "info",
        help="what a DICOM folder or NIfTI file holds: series, slices, thickness, spacing, irregularities, tilt",
        description="List the image series in a folder (searched recursively) from their headers: UID, "
        "description, modality, slice count, thickness, spacing, position range, irregular spacing, gantry tilt, "
        "and the files that are not series images (not DICOM, truncated, reports...). A NIfTI file (.nii, .nii.gz) "
        "is described from its header and JSON sidecar.",
    )
    p.add_argument("path", metavar="PATH", help="DICOM folder or file, or NIfTI file, to inspect")
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
    from t2tcore.io import scan_folder

    scan = scan_folder(args.path, progress=show_progress(args))
    if args.json:
        import dataclasses
        import json

        data = dataclasses.asdict(scan)
        data["path"] = str(scan.path)
        print(json.dumps(data, indent=2))
    else:
        print(_format_scan(scan))
    return 0


add_parser = _add_info
