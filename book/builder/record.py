"""The build record: per notebook of a profile, when it ran, how long, with which parameters and sources.

``_build/results/<profile>/build_record.json``; the Reproducing page shows its times, and the golden
test (``tests/golden``) reads whether the chapters it pins ran on the current sources.
"""

from __future__ import annotations

import datetime
import json
import os
import sys
from pathlib import Path

from builder import paths
from builder.paths import rel
from builder.stamp import source_hash

def record_path(profile: str) -> Path:
    return paths.RESULTS / profile / paths.RECORD_NAME


def read_record(profile: str) -> dict:
    """The build record of ``profile`` (empty if none or unreadable)."""
    try:
        rec = json.loads(record_path(profile).read_text(encoding="utf8"))
    except (OSError, ValueError):
        return {}
    return rec if isinstance(rec, dict) and rec.get("profile") == profile else {}


def results_are_current(profile: str, stems: list[str]) -> bool:
    """True when the last run of every notebook in ``stems`` (file stems, e.g. ``02_simulation_fidelity``)
    with ``profile`` succeeded on the current sources (:func:`source_hash` recorded in the build record),
    so its ``_build/results/<profile>/<stem>/`` files are what the code makes now."""
    entries = {e.get("stem"): e for e in read_record(profile).get("notebooks", {}).values()}
    digest = source_hash()
    return all(entries.get(s, {}).get("status") == "run" and entries[s].get("source_sha256") == digest
               for s in stems)


def _machine() -> dict:
    gpu = None
    try:  # torch is a dependency of the package; the record just says what this machine had
        import torch

        if torch.cuda.is_available():
            gpu = torch.cuda.get_device_name(0)
    except Exception:  # noqa: BLE001 (no torch, or a broken CUDA: no GPU as far as the record goes)
        gpu = None
    return {"cpus": os.cpu_count(), "gpu": gpu, "python": sys.version.split()[0]}


def update_record(profile: str, docname: str, nb_path: Path, **fields) -> None:
    """Record one notebook's run (seconds, status, parameters, ...) in the build record.

    The record keeps the entries of notebooks not run in this build (``--only``), so the
    Reproducing page always shows the last time measured for every chapter. Written whole
    (a temporary file renamed), after every notebook.
    """
    rec = read_record(profile) or {"profile": profile, "notebooks": {}}
    rec["profile"] = profile
    rec["about"] = paths.PROFILES[profile]["about"]
    rec["machine"] = _machine()
    rec["updated"] = datetime.datetime.now().isoformat(timespec="seconds")
    entry = rec["notebooks"].get(docname, {})
    entry.update({"source": rel(nb_path), "stem": nb_path.stem, **fields})
    rec["notebooks"][docname] = entry
    path = record_path(profile)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(rec, indent=1, sort_keys=True) + "\n", encoding="utf8")
    tmp.replace(path)
