"""``t2t sr``: train an SR model on simulated pairs (``t2t sr train``), apply it to a thick series (``t2t sr apply``)."""

from __future__ import annotations

import warnings

from t2tcore.cli._common import (
    LazyChoices,
    add_slice_profile,
    check_cuda,
    check_distinct,
    check_thinner,
    check_uids_used,
    claim_file_output,
    claim_series_output,
    positive_int,
    positive_mm,
    read_input,
    slice_profile_path,
    show_progress,
)
from t2tcore.errors import T2TError

_MODELS = ("vdsr", "unet", "esrresnet", "esrgan")
_INDEX_METHODS = ("direct", "average", "gaussian")


def _mm_spec(text: str):
    """``3`` (mm), ``1.5:3`` (a range, one draw per series) or ``2,3,2.5`` (one per series)."""
    import argparse

    if ":" in text:
        lo, _, hi = text.partition(":")
        values = [positive_mm(lo), positive_mm(hi)]
        if values[1] < values[0]:
            raise argparse.ArgumentTypeError(f"range {text}: low end above high end")
        return {"range": values}
    if "," in text:
        return [positive_mm(v) for v in text.split(",")]
    return positive_mm(text)


def _add_sr(subparsers) -> None:
    # the method names live in t2tcore.sr.config (numpy, the simulation package): read on first use only
    SR_METHODS = LazyChoices("t2tcore.sr.config", "SR_METHODS")
    p = subparsers.add_parser(
        "sr",
        help="train super-resolution models on simulated thick/thin pairs, and apply them",
        description="Super-resolution of thick-slice CT. `t2t sr train` simulates thick slices from thin series and "
        "trains a 3-D SR model (VDSR, U-Net, ESRResNet, ESRGAN) to turn them back into thin slices; `t2t sr apply` "
        "turns a real thick series into a thin DICOM series with such a model.",
    )
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True

    t = sub.add_parser(
        "train",
        help="train an SR model on pairs simulated from thin series",
        description="Read thin series, simulate thick slices from them (--method, --thickness, --interval), bring "
        "them back onto the thin grid by linear interpolation along z (as real thick series are at test time) and "
        "train a 3-D SR model on (input, thin) patches: Adam, L2 loss (ESRGAN: + relativistic adversarial loss). "
        "Data-parallel: run it under torchrun (torchrun --nproc_per_node=N $(which t2t) sr train ...). "
        "Example: t2t sr train p1/thin p2/thin --out vdsr.pt --model vdsr --method proposed --thickness 3 --interval 2",
    )
    t.add_argument("thin", nargs="+", metavar="THIN_DIR", help="thin series (DICOM folders or NIfTI files), one per patient")
    t.add_argument("--out", required=True, metavar="CKPT", help="checkpoint file to write")
    t.add_argument("--model", required=True, choices=_MODELS, help="SR network")
    t.add_argument("--method", choices=SR_METHODS, metavar="METHOD",
                   help="how the training thick slices are made: %(choices)s (required unless --slice-profile)")
    t.add_argument("--thickness", type=_mm_spec, metavar="MM",
                   help="simulated slice thickness: 3, a range 1.5:3 (one draw per series) or one value per series 2,3")
    t.add_argument("--interval", type=_mm_spec, metavar="MM",
                   help="simulated slice interval (same forms); not used by the index methods direct, average, gaussian")
    add_slice_profile(t, "a slice profile from `t2t calibrate`: selects --method calibrated")
    t.add_argument("--preset", choices=("small", "paper"), default="small", help="model size (default small, for CPU)")
    t.add_argument("--steps", type=positive_int, default=200, metavar="N", help="optimiser steps (default 200)")
    t.add_argument("--batch", type=positive_int, default=4, metavar="N", help="patches per step (default 4)")
    t.add_argument("--patch", type=positive_int, nargs=3, default=(16, 48, 48), metavar=("Z", "Y", "X"),
                   help="patch size in thin voxels (default 16 48 48)")
    t.add_argument("--lr", type=float, default=1e-4, help="Adam learning rate (default 1e-4, as the paper)")
    t.add_argument("--adv-weight", type=float, default=1e-3, help="ESRGAN: weight of the adversarial loss (1e-3)")
    t.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the weights and patches (default 0)")
    t.add_argument("--device", choices=("cpu", "cuda"), help="default: cuda when available")
    t.add_argument("--resume", metavar="CKPT", help="continue a run from its checkpoint (same settings and data)")
    t.add_argument("--checkpoint-every", type=positive_int, metavar="N", help="also write the checkpoint every N steps")
    t.add_argument("--series-uid", action="append", metavar="UID",
                   help="SeriesInstanceUID of the thin series to read from a folder that holds several (repeat it: "
                   "each folder reads the one it holds)")
    t.add_argument("--overwrite", action="store_true", help="replace an existing --out file (never an input)")
    t.add_argument("--no-progress", action="store_true", help="no progress bars")
    t.set_defaults(func=_run_train)

    a = sub.add_parser(
        "apply",
        help="super-resolve a thick series into a thin DICOM series",
        description="Bring a thick series onto a thin grid (linear interpolation along z, as in training), run the "
        "model over it in blended overlapping windows and write a thin series of the same patient, study and frame "
        "of reference. Example: t2t sr apply vdsr.pt p9/thick3mm p9/sr_thin",
    )
    a.add_argument("ckpt", metavar="CKPT", help="checkpoint written by `t2t sr train`")
    a.add_argument("thick", metavar="THICK_DIR", help="thick series (DICOM folder or NIfTI file)")
    a.add_argument("out_dir", metavar="OUT_DIR", help="folder (or .nii.gz file) to create for the thin series")
    a.add_argument("--interval", type=positive_mm, metavar="MM",
                   help="thin slices every MM across the thick series (default and, without --force, only: the "
                   "training data's thin spacing)")
    a.add_argument("--match", metavar="REAL_THIN_DIR", help="make exactly the slices of this real thin series (evaluation)")
    a.add_argument("--device", choices=("cpu", "cuda"), help="default: cuda when available")
    a.add_argument("--series-uid", metavar="UID", help="SeriesInstanceUID to read when THICK_DIR holds several series")
    a.add_argument("--match-series-uid", metavar="UID", help="SeriesInstanceUID to read from REAL_THIN_DIR")
    a.add_argument("--force", action="store_true",
                   help="apply the model to a series thicker than, or spaced unlike, the slices it was trained on, "
                   "or make thin slices at another --interval than its training data's")
    a.add_argument("--overwrite", action="store_true",
                   help="replace OUT_DIR if t2t wrote it, or OUT if it is an existing file (never a folder holding "
                   "other files, never an input)")
    a.add_argument("--no-progress", action="store_true", help="no progress bars")
    a.set_defaults(func=_run_apply)


def _run_train(args) -> int:
    import contextlib
    import os
    from pathlib import Path

    from t2tcore.errors import SeriesWarning
    from t2tcore.io.outdir import check_output
    from t2tcore.sr.config import TrainConfig

    method, profile = args.method, None
    if slice_profile_path(args, "sr train") is not None:
        from t2tcore.simulation import SliceProfile

        if method not in (None, "calibrated"):
            raise T2TError(f"--slice-profile selects the calibrated method; it cannot be combined with --method {method}")
        method = "calibrated"
        prof = SliceProfile.from_json(args.slice_profile)  # SliceProfileError is a T2TError
        profile = prof.to_dict()
        args.thickness = args.thickness if args.thickness is not None else prof.thickness
        args.interval = args.interval if args.interval is not None else prof.interval
    if method is None:
        raise T2TError("--method is required (or --slice-profile SLICE_PROFILE.json for the calibrated method)")
    if method == "calibrated" and profile is None:
        raise T2TError("--method calibrated needs --slice-profile SLICE_PROFILE.json (made by `t2t calibrate`)")
    if args.thickness is None:
        raise T2TError("--thickness is required")
    if method in _INDEX_METHODS:
        if args.interval is not None:
            warnings.warn(f"--method {method} places slices by groups of thin slices; --interval is ignored", SeriesWarning)
        args.interval = None
    elif args.interval is None:
        raise T2TError(f"--interval is required for --method {method}")
    out = Path(args.out)
    same = args.resume is not None and _same_file(args.resume, out)  # continuing a checkpoint in place
    if out.is_file() and not args.overwrite and not same:
        raise T2TError(f"{out} exists (use --overwrite to replace it, or --resume {out} to continue it)")
    try:
        config = TrainConfig(
            model=args.model, preset=args.preset, method=method, thickness=args.thickness, interval=args.interval,
            profile=profile, patch=tuple(args.patch), batch=args.batch, steps=args.steps, lr=args.lr, seed=args.seed,
            adv_weight=args.adv_weight,
        )
    except ValueError as exc:
        raise T2TError(str(exc)) from None
    check_cuda(args.device)
    inputs = list(args.thin) + [args.slice_profile] + ([] if same else [args.resume])
    overwrite = args.overwrite or same
    main_process = int(os.environ.get("RANK", "0")) == 0  # under torchrun, process 0 writes
    if main_process:
        guard = claim_file_output(out, inputs, overwrite, "checkpoint")
    else:
        check_output(out, inputs=inputs, overwrite=True, kind="file")
        guard = contextlib.nullcontext()
    with guard as claim:
        ck = _train(args, config, claim.path if claim is not None else out, overwrite, main_process)
    if not main_process:
        return 0
    last = ck["history"][-1] if ck["history"] else {}
    val = last.get("val_loss")
    val_txt = f", validation L2 {val:.4g}" if val is not None and val == val else ", no validation patients"
    print(
        f"trained {config.describe()} on {ck['data']['n_train']} thin series ({ck['data']['n_val']} held out): "
        f"{ck['step']} steps in {ck['seconds']:.0f} s on {ck['device']}, training L2 {last.get('loss', float('nan')):.4g}"
        f"{val_txt}: {out}"
    )
    return 0


def _same_file(a, b) -> bool:
    from pathlib import Path

    return Path(a).expanduser().resolve() == Path(b).expanduser().resolve()


def _train(args, config, out, overwrite: bool, main_process: bool) -> dict:
    """Read the thin series, train, write the checkpoint (process 0); the checkpoint dict."""
    from t2tcore.sr.checkpoint import save_checkpoint
    from t2tcore.sr.train import train_model

    progress = show_progress(args)
    thin = [read_input(p, args.series_uid, "--series-uid", several=True, progress=progress) for p in args.thin]
    check_uids_used(args.series_uid, thin, "--series-uid")
    check_distinct(thin, args.thin, "the thin series to train on")
    from t2tcore.sr.config import spec_min

    for path, s in zip(args.thin, thin):
        check_thinner(s, spec_min(config.thickness), f"{path}: --thickness")
    in_run = args.checkpoint_every is not None  # checkpoints during the run: train_model writes them all
    try:
        result = train_model(config, thin, out=out if in_run else None, resume=args.resume, device=args.device,
                             progress=progress, checkpoint_every=args.checkpoint_every)
    except ValueError as exc:
        raise T2TError(f"cannot train: {exc}") from None
    ck = result.checkpoint
    if main_process and not in_run:
        save_checkpoint(ck, out, overwrite=overwrite)
        ck["path"] = str(out)
    return ck


def _run_apply(args) -> int:
    if args.match is not None and args.interval is not None:
        raise T2TError("give --interval or --match, not both: with --match the slices are those of the real thin series")
    check_cuda(args.device)
    inputs = [args.thick, args.ckpt, args.match]
    with claim_series_output(args.out_dir, inputs, args.overwrite) as claim:
        return _apply(args, claim.path)


def _apply(args, out) -> int:
    from t2tcore.cli._common import match_positions
    from t2tcore.io import write_series
    from t2tcore.sr.checkpoint import load_checkpoint
    from t2tcore.sr.infer import apply_model

    progress = show_progress(args)
    ckpt = load_checkpoint(args.ckpt)
    thick = read_input(args.thick, args.series_uid, "--series-uid", progress=progress)
    targets, real = None, None
    if args.match is not None:
        real = read_input(args.match, args.match_series_uid, "--match-series-uid", progress=progress)
        targets = match_positions(thick, real, args.match)
    series = apply_model(ckpt, thick, targets, interval=args.interval, device=args.device, progress=progress,
                         force=args.force)
    if real is not None and real.nifti_layout is not None:
        series.nifti_layout = real.nifti_layout  # a NIfTI output in the real thin file's voxel order
    out = write_series(series, out, overwrite=args.overwrite, progress=progress)
    print(
        f"{thick.volume.shape[0]} thick slices ({thick.thickness or thick.spacing:g} mm) -> {series.volume.shape[0]} thin "
        f"slices ({series.thickness:g} mm), positions {series.positions[0]:.2f} to {series.positions[-1]:.2f} mm, "
        f"model {ckpt['model']['name']}/{ckpt['model']['preset']} ({ckpt['simulation']['method']}): {out}"
    )
    return 0


add_parser = _add_sr
