"""``t2t data check`` on DICOM data: the Grand Challenge test series and the TCIA training series.

:func:`check_test` and :func:`check_train` list what is missing and return the header checks to run;
:func:`judge_series` judges one series folder from its headers (:func:`t2tcore.io.scan_folder`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

from t2tcore.data.check_report import CheckReport, dose_words, fmt, plural, series_name
from t2tcore.data.layout import (
    TCIA_COLLECTION,
    SeriesEntry,
    dicom_files,
    expected_layout_text,
    find_series,
    find_training_series,
    is_virtual_patient,
    series_dir,
)
from t2tcore.data.manifest_schema import VENDORS
from t2tcore.errors import T2TError

__all__ = ["check_test", "check_train", "judge_series", "manufacturer_of"]


def judge_series(name: str, scan, thickness: float, increment: float, n_expected, tol: dict) -> tuple[list, list]:
    """Problems and notes (plain words) of one series folder, from a t2tcore.io.FolderScan."""
    problems, notes = [], []
    for reason, n in scan.skipped.items():
        problems.append(
            f"{name}: {n} of {plural(scan.n_files, 'file')} skipped, {reason} (e.g. {scan.examples.get(reason, '?')})"
        )
    if not scan.series:
        problems.append(f"{name}: no readable image series in {scan.path}")
        return problems, notes
    if len(scan.series) > 1:
        problems.append(f"{name}: the folder mixes {len(scan.series)} series (different SeriesInstanceUID)")
    info = scan.series[0]
    if n_expected is not None and info.n_slices != n_expected:
        problems.append(f"{name}: {plural(info.n_slices, 'slice')}, expected {n_expected}")
    if info.thickness is None:
        problems.append(f"{name}: no SliceThickness in the headers, expected {fmt(thickness)} mm")
    elif abs(info.thickness - thickness) > tol["thickness"]:
        problems.append(f"{name}: slice thickness is {fmt(info.thickness)} mm, expected {fmt(thickness)} mm")
    if info.spacing is None:
        if n_expected != 1:
            problems.append(f"{name}: only {plural(info.n_slices, 'slice')}, so the increment cannot be checked")
    elif abs(info.spacing - increment) > tol["increment"]:
        problems.append(f"{name}: slice increment is {fmt(info.spacing)} mm, expected {fmt(increment)} mm")
    for note in info.notes:
        note = note.replace(" (kept as is, not resampled)", "")
        (notes if note.startswith("gantry tilt") else problems).append(f"{name}: {note}")
    return problems, notes


def manufacturer_of(folder: Path) -> str:
    """Manufacturer from the first DICOM file of ``folder`` (header only), or ''."""
    import pydicom

    for f in dicom_files(folder):
        try:
            ds = pydicom.dcmread(f, stop_before_pixels=True, specific_tags=["Manufacturer"])
        except Exception:  # noqa: BLE001 - unreadable: try the next file
            continue
        return str(ds.get("Manufacturer", "") or "")
    return ""


def check_test(root: Path, t: dict, m: dict, report: CheckReport) -> list:
    want = [(k, d, lab) for lab in t["series"] for k in t["kernels"] for d in t["doses"]]
    n_per_patient = len(want)
    report.expected += n_per_patient * len(t["patients"])
    try:
        entries = find_series(root)
    except T2TError:
        report.problems.append(
            f"no Grand Challenge series found at all (none of the {report.expected} expected); "
            + expected_layout_text()
        )
        return []
    index: dict[tuple, list[SeriesEntry]] = defaultdict(list)
    for e in entries:
        index[e.key].append(e)
    patients_present = {e.patient for e in entries}
    jobs = []
    expected_patients = set(t["patients"])
    missing_patients = [p for p in t["patients"] if p not in patients_present]
    for p in missing_patients:
        report.problems.append(f"missing patient {p}: none of its {n_per_patient} series is there")
    present = [p for p in t["patients"] if p in patients_present]
    # a kernel/dose/thickness missing for every present patient is one line, not one per patient
    missing_for_all = set()
    if len(present) >= 2:
        for k, d, lab in want:
            if all(not index.get((p, k, d, lab)) for p in present):
                missing_for_all.add((k, d, lab))
                leaf = series_dir(root, "X000", k, d, lab)
                report.problems.append(
                    f"missing for every patient: {lab} {k} {dose_words(d)} "
                    f"(folder '{leaf.parents[2].name}/{leaf.parents[1].name}')"
                )
    for p in present:
        for k, d, lab in want:
            found = index.get((p, k, d, lab), [])
            if not found:
                if (k, d, lab) not in missing_for_all:
                    rel = series_dir(root, p, k, d, lab).relative_to(root)
                    report.problems.append(f"missing: {series_name(p, k, d, lab)} (expected in {rel})")
                continue
            report.present += 1
            name = series_name(p, k, d, lab)
            if len(found) > 1:
                report.problems.append(f"{name}: found in {len(found)} folders: " + ", ".join(str(e.path) for e in found))
            thickness, increment = t["series"][lab]
            n_expected = t["slices"].get(p, {}).get(lab)
            jobs.append((name, found[0].path, thickness, increment, n_expected))
    extra_p = sorted(patients_present - expected_patients)
    if extra_p:
        report.notes.append(f"patients not in the manifest, not checked: {', '.join(extra_p)}")
        if m["kind"] == "virtual":
            real_like = [p for p in extra_p if not is_virtual_patient(p)]
            if real_like:
                report.notes.append(f"these look like real patients in a virtual cohort: {', '.join(real_like)}")
    wanted_keys = set(want)
    extra_s = sorted({(e.kernel, e.dose, e.thickness_label) for e in entries} - wanted_keys)
    for k, d, lab in extra_s:
        report.notes.append(f"series not in the manifest, not checked: {lab} {k} {dose_words(d)}")
    return jobs


def check_train(root: Path, t: dict, m: dict, report: CheckReport) -> list:
    try:
        entries = find_training_series(root)
    except T2TError:
        report.expected += len(t["patients"]) * len(t["doses"]) if t["patients"] else 1
        report.problems.append(
            f"no training series found at all; expected {TCIA_COLLECTION}/<patient>/<study>/<series>/*.dcm "
            "as the NBIA Data Retriever writes it"
        )
        return []
    jobs = []
    by_patient: dict[str, list] = defaultdict(list)
    for e in entries:
        by_patient[e.patient].append(e)
    if t["patients"] is not None:
        report.expected += len(t["patients"]) * len(t["doses"])
        for p in t["patients"]:
            got = by_patient.get(p, [])
            for d in t["doses"]:
                hits = [e for e in got if e.dose == d]
                if not hits:
                    report.problems.append(f"missing training series: {p} {dose_words(d)}")
                    continue
                report.present += 1
                name = f"training {p} {dose_words(d)}"
                if len(hits) > 1:
                    report.problems.append(f"{name}: found in {len(hits)} folders: " + ", ".join(str(e.path) for e in hits))
                jobs.append((name, hits[0].path, *t["series"], None))
        extra = sorted(set(by_patient) - set(t["patients"]))
        if extra:
            report.notes.append(f"training patients not in the manifest, not checked: {', '.join(extra)}")
        return jobs
    # real TCIA download: any subset; each image series is checked against Table I by scan type and vendor
    used = [e for e in entries if e.dose in t["doses"]]
    skipped = len(entries) - len(used)
    if skipped:
        report.notes.append(f"{skipped} training series of unknown dose were not checked")
    if not used:
        report.expected += 1
        report.problems.append("no full- or low-dose image series found in the training data")
        return []
    report.expected += len(used)
    n_same = Counter((e.patient, e.dose) for e in used)
    for e in used:
        name = f"training {e.patient} {dose_words(e.dose)}"
        if n_same[(e.patient, e.dose)] > 1:
            name += f" ({e.path.name})"
        vendors = t["scan_types"].get(e.scan_type)
        if vendors is None:
            report.notes.append(f"{name}: scan type '{e.scan_type}' is not in the manifest, not checked")
            report.expected -= 1
            continue
        manufacturer = manufacturer_of(e.path)
        vendor = next((v for k, v in VENDORS.items() if manufacturer.upper().startswith(k)), None)
        report.present += 1
        if vendor is None or vendor not in vendors:
            report.notes.append(f"{name}: manufacturer '{manufacturer}' is not in the manifest, thickness not checked")
            report.correct += 1
            continue
        jobs.append((name, e.path, *vendors[vendor], None))
    counts = Counter(p[:1] for p in by_patient)
    names = t.get("scan_names", {})
    for letter, total in sorted(t.get("collection_counts", {}).items()):
        report.notes.append(
            f"{counts.get(letter, 0)} of the collection's {total} {names.get(letter, letter)} ({letter}) patients present"
        )
    return jobs
