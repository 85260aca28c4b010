"""The virtual cohorts the chapters run on: which one a notebook asks for, where it lives, made once.

A notebook whose parameters include ``data_root`` gets a virtual cohort of the build's profile in
``_build/data/``; its metadata ``{"t2t": {"cohort": NAME}}`` names the kind (default ``ldct``, the Grand
Challenge / TCIA stand-in; chapter 07 asks for ``fibrosis``). Where a kind's cohort lives and how it is
made are the package's (:mod:`t2tcore.scanner.cohorts`: ``KINDS``, ``cohort_dir``, ``ensure_cohort``),
imported only when a cohort is needed, so a broken package fails in this step's message.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from builder import paths
from builder.paths import BuildError, rel, say

#: The kinds of virtual cohort a notebook can ask for (the keys of ``t2tcore.scanner.cohorts.KINDS``).
COHORTS = ("ldct", "fibrosis")


def notebook_cohort(nb_path: Path) -> str:
    """The virtual cohort a notebook's ``data_root`` is: metadata ``{"t2t": {"cohort": ...}}``."""
    meta = json.loads(nb_path.read_text(encoding="utf8")).get("metadata", {}).get("t2t", {})
    name = meta.get("cohort", "ldct")
    if name not in COHORTS:
        raise BuildError(f"{rel(nb_path)}: unknown cohort {name!r} in its metadata (known: {', '.join(COHORTS)})")
    return name


def data_root(profile: str, cohort: str = "ldct") -> Path:
    """Where the cohort of ``profile`` lives in this build (``t2tcore.scanner.cohorts.cohort_dir``)."""
    from t2tcore.scanner.cohorts import cohort_dir

    return cohort_dir(cohort, profile, paths.BUILD / "data")


def ensure_data(profile: str, cohort: str = "ldct") -> Path:
    """Make (or keep) the virtual cohort of ``cohort`` and ``profile`` in ``_build/data/``.

    The cohort's maker keeps an existing cohort whose manifest matches the profile, the scanner
    parameters and the source code, and makes it again otherwise. Returns the folder.
    """
    from t2tcore.scanner.cohorts import ensure_cohort, is_cohort_up_to_date

    out = data_root(profile, cohort)
    label = f"virtual {cohort} cohort '{profile}'"
    if is_cohort_up_to_date(cohort, profile, out):
        say(f"      {label}: up to date in {rel(out)}")
        return out
    say(f"      making the {label} in {rel(out)}")
    t0 = time.perf_counter()
    ensure_cohort(cohort, profile, out)
    say(f"      {label} made in {time.perf_counter() - t0:.0f} s")
    return out
