"""The index of a ``t2t pairs`` data set: a MONAI datalist and a CSV, written last.

``datalist.json`` is the Medical Segmentation Decathlon datalist that MONAI reads as it is
(:func:`monai.data.load_decathlon_datalist`)::

    {"training":   [{"image": "thick/V001.nii.gz", "label": "thin/V001.nii.gz", ...}, ...],
     "validation": [...]}

``image`` is the simulated thick series (a model's input), ``label`` the thin one (its
target); paths are relative to the file, as MONAI resolves them. Whole patients go to
validation (:func:`t2tcore.sr.pairs.split_patients`, seeded), so no patient is on both
sides. ``pairs.csv`` has one row per pair: the same files and split, with the geometry, the
settings and where each series came from. Both files are written through a staging file
and renamed, after every pair is finished.
"""

from __future__ import annotations

import csv
import io
import json

from t2tcore.pipelines.store import PairsFolder

__all__ = ["COLUMNS", "write_index"]

#: Columns of ``pairs.csv``.
COLUMNS = (
    "id", "patient", "split", "image", "label", "method", "thickness_mm", "interval_mm", "profile",
    "thick_slices", "thick_first_mm", "thick_last_mm", "thin_slices", "thin_thickness_mm", "thin_spacing_mm",
    "rows", "columns", "pixel_spacing_mm", "source", "series_uid", "key", "t2t_version", "notes",
)


def _num(v) -> str:
    return "" if v is None else f"{v:.6g}" if isinstance(v, float) else str(v)


def write_index(
    folder: PairsFolder,
    records: list[dict],
    *,
    val_patients: int | None = None,
    seed: int = 0,
    settings: list[dict] | None = None,
) -> tuple[int, int]:
    """Write ``pairs.csv`` and ``datalist.json`` for the finished series' records.

    Parameters
    ----------
    folder : PairsFolder
    records : list of dict
        One per series (:func:`t2tcore.pipelines.task.run_pair`), any order.
    val_patients : int, optional
        Patients held out for validation; default 1 in 8 (none with a single patient).
    seed : int
        Seeds which patients are held out.
    settings : list of dict, optional
        The simulation settings, stored in the datalist's ``t2t`` entry.

    Returns
    -------
    (n_training, n_validation) : pairs on each side.

    Raises
    ------
    SRInputError
        ``val_patients`` leaves no patient to train on.
    """
    from t2tcore.sr.pairs import split_patients

    records = sorted(records, key=lambda r: r["id"])
    train, val = split_patients([r["patient"] for r in records], val_patients, seed)
    side = {i: "training" for i in train} | {i: "validation" for i in val}
    lists: dict[str, list] = {"training": [], "validation": []}
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for i, rec in enumerate(records):
        thin = rec["thin"]
        for thick in rec["thick"]:
            lists[side[i]].append({
                "image": thick["file"], "label": thin["file"], "id": rec["id"], "patient": rec["patient"],
                "method": thick["method"], "thickness": thick["thickness"], "interval": thick["interval"],
            })
            writer.writerow({
                "id": rec["id"], "patient": rec["patient"], "split": side[i], "image": thick["file"],
                "label": thin["file"], "method": thick["method"], "thickness_mm": _num(thick["thickness"]),
                "interval_mm": _num(thick["interval"]), "profile": thick.get("profile") or "",
                "thick_slices": thick["slices"], "thick_first_mm": _num(thick["first"]),
                "thick_last_mm": _num(thick["last"]), "thin_slices": thin["slices"],
                "thin_thickness_mm": _num(thin["thickness"]), "thin_spacing_mm": _num(thin["spacing"]),
                "rows": thin["rows"], "columns": thin["columns"],
                "pixel_spacing_mm": " ".join(_num(float(v)) for v in thin["pixel_spacing"]),
                "source": rec["source"], "series_uid": rec.get("series_uid") or "", "key": rec["key"],
                "t2t_version": rec.get("t2t", ""), "notes": "; ".join(rec.get("notes", [])),
            })
    datalist = {
        "name": "t2t pairs",
        "description": "thick-slice CT simulated from thin-slice CT (image: thick input, label: thin target)",
        "t2t": {"settings": settings or [], "seed": int(seed), "validation_patients": sorted(
            {records[i]["patient"] for i in val})},
        **lists,
    }
    folder.write_text(folder.root / "pairs.csv", buf.getvalue())
    folder.write_text(folder.root / "datalist.json", json.dumps(datalist, indent=1) + "\n")
    return len(lists["training"]), len(lists["validation"])
