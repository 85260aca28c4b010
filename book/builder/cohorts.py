"""The virtual cohorts the chapters run on: which one a notebook asks for, where it lives, made once.

A notebook whose parameters include ``data_root`` gets a virtual cohort of the build's profile in
``_build/data/``; its metadata ``{"t2t": {"cohort": NAME}}`` names the kind (default ``ldct``, the Grand
Challenge / TCIA stand-in; chapter 07 asks for ``fibrosis``).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import time
from pathlib import Path

from builder import paths
from builder.paths import BuildError, rel, say

#: The virtual cohorts a chapter can ask for with notebook metadata {"t2t": {"cohort": NAME}}
#: (default "ldct"): NAME -> (folder name pattern, module, up-to-date check, maker).
COHORTS = {
    "ldct": ("virtual-{profile}", "t2tcore.scanner.cohort", "is_up_to_date", "make_cohort"),
    "fibrosis": ("virtual-fibrosis-{profile}", "t2tcore.clinical.cohort", "is_fibrosis_up_to_date",
                 "make_fibrosis_cohort"),
}


def notebook_cohort(nb_path: Path) -> str:
    """The virtual cohort a notebook's ``data_root`` is: metadata ``{"t2t": {"cohort": ...}}``."""
    meta = json.loads(nb_path.read_text(encoding="utf8")).get("metadata", {}).get("t2t", {})
    name = meta.get("cohort", "ldct")
    if name not in COHORTS:
        raise BuildError(f"{rel(nb_path)}: unknown cohort {name!r} in its metadata (known: {', '.join(COHORTS)})")
    return name


def data_root(profile: str, cohort: str = "ldct") -> Path:
    return paths.BUILD / "data" / COHORTS[cohort][0].format(profile=profile)


def ensure_data(profile: str, cohort: str = "ldct") -> Path | None:
    """Make (or keep) a virtual cohort of ``profile`` in ``_build/data/`` (see :data:`COHORTS`).

    The cohort's maker (``t2tcore.scanner.cohort.make_cohort`` for the Grand Challenge / TCIA
    stand-in, ``t2tcore.clinical.cohort.make_fibrosis_cohort`` for the fibrosis cohort of
    chapter 07) keeps an existing cohort whose manifest matches the profile, the scanner
    parameters and the source code, and regenerates it otherwise. Returns the folder, or None
    when the module does not exist (skipped).
    """
    out = data_root(profile, cohort)
    _, module, up_to_date, maker = COHORTS[cohort]
    if importlib.util.find_spec(module) is None:
        say(f"      {module} does not exist: no '{cohort}' cohort made (skipped)")
        return None
    mod = importlib.import_module(module)
    label = f"virtual {cohort} cohort '{profile}'"
    if out.is_dir() and getattr(mod, up_to_date)(profile, out):
        say(f"      {label}: up to date in {rel(out)}")
        return out
    say(f"      making the {label} in {rel(out)}")
    t0 = time.perf_counter()
    getattr(mod, maker)(profile, out)
    say(f"      {label} made in {time.perf_counter() - t0:.0f} s")
    return out
