"""``t2t pairs``: a paired training set (thin, simulated thick NIfTI) and its MONAI datalist from many series."""

from __future__ import annotations

import sys

from t2tcore.cli._common import (
    LazyChoices,
    add_slice_profile,
    positive_int,
    positive_mm,
    show_progress,
    slice_profile_path,
    whole_number,
)
from t2tcore.errors import T2TError


def _count(text: str) -> int:
    """An argparse type: a whole number >= 0."""
    return whole_number(text, 0)


def _add_pairs(subparsers) -> None:
    p = subparsers.add_parser(
        "pairs",
        help="a paired SR training set from many thin series: thin and simulated thick NIfTI, a MONAI datalist",
        description="Find the thin series of DATA (a folder tree of DICOM folders and NIfTI files, found as `t2t "
        "info` finds them; a data set's root with --dataset; or a CSV list with a 'path' column), simulate thick "
        "series from each one (as `t2t simulate` does), and write OUT/thin/<id>.nii.gz and OUT/thick/<id>.nii.gz "
        "(with JSON sidecars; OUT/thick_<T>mm/ for several thicknesses), then the index OUT/datalist.json (a MONAI "
        "datalist: image = thick, label = thin, whole patients in validation) and OUT/pairs.csv. Runs the series in "
        "parallel (--workers, or a Dask cluster with --scheduler); a rerun makes only what is missing or out of "
        "date; a bad series is reported and skipped. Example: t2t pairs archive/ pairs/ --thickness 3 5",
    )
    p.add_argument("data", metavar="DATA", help="a folder tree, a DICOM or NIfTI file, a CSV list (.csv), or with "
                   "--dataset a data set's root")
    p.add_argument("out", metavar="OUT", help="output folder: new, empty, or an earlier t2t pairs output (updated)")
    p.add_argument("--dataset", choices=("ldct_gc", "rplhr_ct"), help="read DATA as this data set's layout: its "
                   "thin training series (ldct_gc: full-dose TCIA series; rplhr_ct: the 1 mm train split)")
    p.add_argument("--thickness", type=positive_mm, nargs="+", metavar="MM",
                   help="thick slice thickness(es) in mm, e.g. 3 5 (default with a slice profile: its thickness)")
    p.add_argument("--interval", type=positive_mm, nargs="+", metavar="MM",
                   help="distance between thick slices in mm: one for all thicknesses or one per thickness "
                   "(default: each thickness, i.e. contiguous slices; a slice profile's own interval)")
    p.add_argument("--method", default=None, metavar="METHOD",  # None: proposed, or calibrated with a profile
                   choices=LazyChoices("t2tcore.simulation.simulate", "METHODS", "PROFILE_METHODS"),
                   help="one of %(choices)s (default proposed: Algorithms 1 and 2 of the paper)")
    add_slice_profile(p, "a slice profile measured by `t2t calibrate`: selects --method calibrated")
    p.add_argument("--sigma", type=float, default=1.0, metavar="PIXELS", help="in-plane blur of --method gaussian")
    p.add_argument("--thin-thickness", type=positive_mm, metavar="MM",
                   help="thin slice thickness in mm for series that store none (NIfTI without a JSON sidecar)")
    p.add_argument("--val-patients", type=_count, metavar="N",
                   help="patients held out for validation in the datalist (default: 1 in 8; 0: none)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the patient split (default 0)")
    p.add_argument("--workers", type=positive_int, metavar="N",
                   help="local worker processes, one series each (default: the machine's cores)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="run the series on this Dask scheduler's workers instead (they must see DATA and OUT "
                   "under the same paths and have t2t installed)")
    p.add_argument("--strict", action="store_true", help="stop at the first bad series (default: report and skip)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=_run_pairs)


def _run_pairs(args) -> int:
    from t2tcore.pipelines.pairs import make_pairs
    from t2tcore.pipelines.settings import simulations

    profile = slice_profile_path(args, "pairs")
    if profile is not None and args.method not in (None, "calibrated"):
        raise T2TError(f"--slice-profile selects --method calibrated (its measured kernel); it cannot be combined "
                       f"with --method {args.method}: give one of them")
    sims = simulations(args.thickness, args.interval, args.method or "proposed", sigma=args.sigma, profile=profile)
    try:
        summary = make_pairs(
            args.data, args.out, sims, dataset=args.dataset, thin_thickness=args.thin_thickness,
            workers=args.workers, scheduler=args.scheduler, val_patients=args.val_patients, seed=args.seed,
            strict=args.strict, progress=show_progress(args),
        )
    except KeyboardInterrupt as exc:  # Ctrl-C: 130; SIGTERM: 143, as every t2t command
        from t2tcore.cli import Terminated

        how = "terminated" if isinstance(exc, Terminated) else "interrupted"
        print(f"t2t pairs: {how}; the series finished so far are kept in {args.out} (not yet in its index): "
              "run the same command again to go on", file=sys.stderr)
        return 143 if isinstance(exc, Terminated) else 130
    print("\n".join(summary.lines()))
    if summary.n_training + summary.n_validation == 0:  # a training set without a pair is no result
        n = len(summary.failed) + len(summary.skipped)
        raise T2TError(f"no pairs: {n} series skipped and none made (reasons above); no training pair in {args.out}")
    return 0


add_parser = _add_pairs
