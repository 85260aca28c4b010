"""``t2t data check`` on RPLHR-CT: cases present and paired per split, and every pair's NIfTI headers."""

from __future__ import annotations

from pathlib import Path

from t2tcore.data import rplhr
from t2tcore.data.check_report import CheckReport, fmt, plural
from t2tcore.errors import T2TError
from t2tcore.io import DicomReadError, NiftiReadError, scan_folder

__all__ = ["check_rplhr", "judge_pair"]


def judge_pair(case: rplhr.RplhrCase, spec: dict, tol: dict) -> tuple[list, list]:
    """Problems and notes of one thin/thick pair, from the NIfTI headers (no voxel data)."""
    name = f"{case.split}/{case.case}"
    try:
        thin, thick = scan_folder(case.thin).series[0], scan_folder(case.thick).series[0]
    except (NiftiReadError, DicomReadError) as exc:
        return [f"{name}: {exc}"], []
    problems, notes = [], []
    rows, cols = spec["in_plane"]
    for (label, thickness, increment), info in ((spec["thin"], thin), (spec["thick"], thick)):
        if (info.rows, info.columns) != (rows, cols):
            problems.append(f"{name}: {label} images are {info.rows} x {info.columns} px, expected {rows} x {cols}")
        if info.spacing is None:
            problems.append(f"{name}: {label} has {plural(info.n_slices, 'slice')}; its spacing cannot be checked")
        elif abs(info.spacing - increment) > tol["increment"]:
            problems.append(f"{name}: {label} slice spacing is {fmt(info.spacing)} mm, expected {fmt(increment)} mm")
        if info.thickness is not None and abs(info.thickness - thickness) > tol["thickness"]:
            problems.append(
                f"{name}: {label} slice thickness (JSON sidecar) is {fmt(info.thickness)} mm, expected {fmt(thickness)} mm"
            )
        for note in info.notes:
            note = note.replace(" (kept as is, not resampled)", "")
            if note.startswith("irregular slice spacing"):
                problems.append(f"{name}: {label} {note}")
            elif not note.startswith("no slice thickness"):  # NIfTI has none; not a fault of the download
                notes.append(f"{name}: {label} {note}")
    if thin.pixel_spacing and thick.pixel_spacing:
        if any(abs(a - b) > 1e-3 * max(a, b) for a, b in zip(thin.pixel_spacing, thick.pixel_spacing)):
            problems.append(
                f"{name}: pixel spacing differs, {spec['thin'][0]} {thin.pixel_spacing} mm vs "
                f"{spec['thick'][0]} {thick.pixel_spacing} mm"
            )
    k = spec["ratio"]
    if thin.n_slices != k * thick.n_slices:
        problems.append(
            f"{name}: {thin.n_slices} thin and {thick.n_slices} thick slices; the {k}:1 relation (thick slice z covers "
            f"thin slices {k}z to {k}z+{k - 1} in the authors' loader) needs {k * thick.n_slices} thin slices"
        )
    elif thin.spacing and thin.position_range and thick.position_range:
        off = thick.position_range[0] - (thin.position_range[0] + (k - 1) / 2 * thin.spacing)
        if abs(off) > tol["increment"]:
            notes.append(
                f"{name}: in world coordinates (the affines) thick slice z lies {off:+.3g} mm from the centre of thin "
                f"slices {k}z to {k}z+{k - 1} (the authors' loader pairs them by index)"
            )
    return problems, notes


def check_rplhr(root: Path, exp: dict, tol: dict, report: CheckReport, progress: bool) -> None:
    """Cases present and paired per split, then every pair's headers (see :func:`judge_pair`)."""
    parts = [exp[p] for p in ("train", "test") if exp[p] is not None]
    full = {s: n for p in parts for s, n in p["splits"].items()}
    subset = {s: n for p in parts for s, n in p["subset_splits"].items()}
    spec = parts[0]
    report.unit = "case pairs"
    try:
        base = rplhr.find_root(root)
    except T2TError as exc:
        report.expected = sum(full.values())
        report.problems.append(f"{exc} (none of the {report.expected} expected case pairs)")
        return
    if base != root:
        report.notes.append(f"the RPLHR-CT tree is {base}")
    found = {s: rplhr.cases(base, s) for s in full}
    paired = {s: [c for c in cs if c.paired] for s, cs in found.items()}
    for s, cs in found.items():
        for c in cs:
            if not c.paired:
                have, missing = (c.thin, spec["thick"][0]) if c.thin is not None else (c.thick, spec["thin"][0])
                report.problems.append(f"{s}/{c.case}: {have.relative_to(base)} has no {missing} partner")
    counts = {s: len(v) for s, v in paired.items()}
    as_subset = bool(subset) and counts != full and all(counts[s] == subset[s] for s in full)
    target = subset if as_subset else full
    report.expected = sum(target.values())
    order = [s for s in rplhr.SPLITS if s in full]
    if as_subset:
        numbers = "/".join(str(subset[s]) for s in order)
        report.variant = f"the authors' {numbers} subset"
        report.notes.append(
            f"only the authors' small subset is present ({numbers} {'/'.join(order)} cases, the tiny set their "
            f"GitHub README links), not the full data set ({'/'.join(str(full[s]) for s in order)}): every pair is "
            "checked, but results on it are not comparable with results on the full test set"
        )
    for s in order:
        if counts[s] < target[s]:
            report.problems.append(f"{s}: {counts[s]} of {target[s]} case pairs present")
        elif counts[s] > target[s]:
            report.notes.append(f"{s}: {counts[s]} case pairs, more than the manifest's {target[s]}; all are checked")
        report.present += min(counts[s], target[s])
    jobs = [c for s in order for c in paired[s]]
    bar = None
    if progress and jobs:
        from t2tcore.progress import bar as progress_bar

        bar = progress_bar(total=len(jobs), desc="checking pairs", unit="pair", enabled=None)
    correct = {s: 0 for s in order}
    try:
        for c in jobs:
            problems, notes = judge_pair(c, spec, tol)
            report.problems += problems
            report.notes += notes
            correct[c.split] += not problems
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    report.correct = sum(min(correct[s], target[s]) for s in order)
