"""Run the smoke chapters the golden test pins (or reuse their current results) and read their numbers.

``make update-golden`` runs ``python -m tests.golden.update``: it makes sure the chapters of
:data:`tests.golden.producers.PRODUCERS` have run on the current sources with the ``smoke`` profile
(``book/build.py --profile smoke --only <stems>`` when they have not), reads their result CSVs and
writes :data:`FIXTURE`. The diff of that file is what a reviewer reads.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from tests.golden.producers import PRODUCERS, Entry, produce

ROOT = Path(__file__).resolve().parents[2]
PROFILE = "smoke"
FIXTURE = Path(__file__).resolve().parent / f"{PROFILE}.csv"
RESULTS_ENV = "T2T_GOLDEN_RESULTS"  # a results folder (…/results/smoke) made elsewhere, used as it is


def _build_module():
    spec = importlib.util.spec_from_file_location("t2t_book_build_golden", ROOT / "book" / "build.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def results_folder(run: bool = True) -> Path:
    """The smoke results of the pinned chapters, as the current sources make them.

    ``$T2T_GOLDEN_RESULTS`` if set; else ``_build/results/smoke`` when the build record says every
    pinned chapter ran there on the current sources (CI builds the smoke book before the tests);
    else, with ``run``, those chapters are run first (``book/build.py --only``: minutes).
    """
    given = os.environ.get(RESULTS_ENV)
    if given:
        return Path(given)
    build = _build_module()
    stems = list(PRODUCERS)
    if not build.results_are_current(PROFILE, stems):
        if not run:
            raise RuntimeError(f"the {PROFILE} results of {', '.join(stems)} are not from the current sources")
        cmd = [sys.executable, str(ROOT / "book" / "build.py"), "--profile", PROFILE, "--only", *stems]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=3 * 3600)
        if proc.returncode != 0 or not build.results_are_current(PROFILE, stems):
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
            raise RuntimeError(f"the {PROFILE} chapters did not run:\n{tail}")
    return build.RESULTS / PROFILE


def write_fixture(entries: list[Entry], path: Path = FIXTURE) -> None:
    with open(path, "w", newline="", encoding="utf8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["key", "kind", "value"])
        for e in entries:
            w.writerow([e.key, e.kind, repr(float(e.value))])


def read_fixture(path: Path = FIXTURE) -> dict[str, Entry]:
    with open(path, newline="", encoding="utf8") as f:
        return {r["key"]: Entry(r["key"], float(r["value"]), r["kind"]) for r in csv.DictReader(f)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.golden.update", description=__doc__.splitlines()[0])
    ap.add_argument("--results", type=Path, help=f"read this results folder as it is (default: ${RESULTS_ENV}, or "
                                                 "the smoke build's, run first when stale)")
    args = ap.parse_args(argv)
    folder = args.results or results_folder()
    entries = produce(folder)
    old = read_fixture() if FIXTURE.is_file() else {}
    write_fixture(entries)
    new = {e.key for e in entries}
    print(f"{FIXTURE.relative_to(ROOT)}: {len(entries)} numbers from {folder} "
          f"({len(new - set(old))} new, {len(set(old) - new)} gone)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
