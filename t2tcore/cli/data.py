"""``t2t data check | virtual``: data manifests and the virtual cohort."""

from __future__ import annotations

from t2tcore.cli._common import show_progress

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


def _manifest_names() -> str:
    from t2tcore.data.manifests import available_manifests

    return ", ".join(available_manifests())


def _add_data_check(actions) -> None:
    from t2tcore.cli._common import deferred_help

    p = actions.add_parser(
        "check",
        formatter_class=deferred_help(manifests=_manifest_names),  # the data package only for --help
        help="verify a data folder against a manifest (series, slice counts, thickness, increment)",
        description="Verify a downloaded or generated data folder against a manifest: series present per "
        "patient, kernel, dose and thickness, slice counts where known, slice thickness and increment from "
        "the DICOM headers; for RPLHR-CT (NIfTI), case pairs present per split, image size, slice spacing and "
        "the 5:1 slice relation from the NIfTI headers (pixel data is never read). Prints one line per problem "
        "and a summary. Exit status: 0 complete, 1 something missing or wrong, 2 bad input.",
    )
    p.add_argument(
        "root",
        metavar="ROOT",
        help="data folder (holding Training_Image_Data and/or LDCT-and-Projection-data, or RPLHR-CT's "
        "train/val/test folders)",
    )
    p.add_argument(
        "--manifest",
        required=True,
        metavar="NAME",
        help="manifest name ({manifests}) or path of a YAML manifest",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_run_data_check)


def _run_data_check(args) -> int:
    from t2tcore.data.manifests import check

    report = check(args.root, args.manifest, progress=show_progress(args))
    print(report)
    return 0 if report.ok else 1





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
                   help="smoke (CI, < 1 min), quick (default, <= 15 min), paper (hours), or a virtual manifest YAML "
                   "(ldct only)")
    p.add_argument("--cohort", choices=("ldct", "fibrosis"), default="ldct",
                   help="ldct (default): the Grand Challenge / TCIA stand-in of chapters 00-04; fibrosis: chest CT of "
                   "patients with a known fibrosis severity, thick and thin series of one scan, the true airway masks and "
                   "a survival table (chapter 07; layout in t2tcore.data.fibrosis)")
    p.add_argument("--force", action="store_true", help="make it again even if an up-to-date cohort is there")
    p.add_argument("--device", default=None, help="torch device, e.g. cpu or cuda (default: CUDA if available)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_run_data_virtual)


def _run_data_virtual(args) -> int:
    import time

    if getattr(args, "cohort", "ldct") == "fibrosis":
        return _run_data_virtual_fibrosis(args)
    from t2tcore.scanner.cohorts.ldct import is_up_to_date, make_cohort, read_manifest

    t0 = time.perf_counter()
    kept = not args.force and is_up_to_date(args.profile, args.out_dir)
    out = make_cohort(args.profile, args.out_dir, force=args.force, progress=show_progress(args), device=args.device)
    s = read_manifest(out)["summary"]
    what = "up to date, kept" if kept else f"made in {time.perf_counter() - t0:.0f} s"
    print(f"virtual cohort '{args.profile}': {s['n_test_patients']} test + {s['n_train_patients']} training patients, "
          f"{s['n_series']} series ({s['n_slices']} slices), {what}: {out}")
    return 0


def _run_data_virtual_fibrosis(args) -> int:
    import json
    import time
    from pathlib import Path

    from t2tcore.scanner.cohorts import MANIFEST_NAME
    from t2tcore.scanner.cohorts.fibrosis import is_fibrosis_up_to_date, make_fibrosis_cohort, resolve_fibrosis_profile

    resolve_fibrosis_profile(args.profile)  # an unknown profile is a one-line error before anything is made
    t0 = time.perf_counter()
    kept = not args.force and is_fibrosis_up_to_date(args.profile, args.out_dir)
    out = make_fibrosis_cohort(args.profile, args.out_dir, force=args.force, progress=show_progress(args),
                               device=args.device)
    s = json.loads((Path(out) / MANIFEST_NAME).read_text(encoding="utf-8"))["summary"]
    what = "up to date, kept" if kept else f"made in {time.perf_counter() - t0:.0f} s"
    print(f"virtual fibrosis cohort '{args.profile}': {s['n_patients']} patients ({s['n_events']} deaths) + "
          f"{s['n_sr_train']} SR training patients, {s['n_series']} series, {what}: {out}")
    return 0


_DATA_SUBCOMMANDS.append(_add_data_check)
_DATA_SUBCOMMANDS.append(_add_data_virtual)


def add_parser(subparsers) -> None:
    _add_data(subparsers)
