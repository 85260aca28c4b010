"""Where the build reads and writes, the build profiles, and the two helpers every step uses.

Every folder is a module attribute read at call time (``paths.HTML``, never ``from ... import HTML``),
so that a test can move the whole build into a temporary folder by setting them.
"""

from __future__ import annotations

from pathlib import Path

from t2tcore.effort import EFFORTS

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "_build"
SRC = BUILD / "src"  # the folder jupyter-book builds
HTML = BUILD / "html"  # jupyter-book writes <path-output>/_build/html, path-output = ROOT
LOGS = BUILD / "logs"
RESULTS = BUILD / "results"  # chapters' out_dir: RESULTS / <profile> / <stem>
VENDOR = BUILD / "vendor"  # cache of downloaded third-party files (survives rebuilds)
STAMP = HTML / ".t2t-build.json"  # what the HTML in _build/html was built from
RECORD_NAME = "build_record.json"  # per-notebook times etc., in RESULTS / <profile>

# Parameters per profile, from t2tcore.effort (every knob of every profile is there). A notebook
# receives only the parameters it declares (its cell tagged `parameters`; see
# execute.notebook_parameters). `data_root`, `out_dir` and `results_root` are relative to the
# repository root, which is the notebooks' working directory during the build. Build parameters of
# a profile beyond those go into its Effort's "extra" (e.g. {"n_epochs": 2}).
PROFILES = {name: {"about": e.about, "cell_timeout_s": e.cell_timeout_s, "extra": dict(e.extra)}
            for name, e in EFFORTS.items()}


class BuildError(Exception):
    """A build step failed; the message is one line for the user."""


def say(msg: str) -> None:
    print(msg, flush=True)


def rel(path: Path) -> str:
    """``path`` relative to the repository root where it lies inside it, else as given."""
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)
