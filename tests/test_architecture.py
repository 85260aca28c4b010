"""The shape of the package (CONTRIBUTING.md, "Architecture") and of the book's notebooks.

The package follows the paper's pipeline; a stage may import the stages below it, never
those above: the library (io ... evaluation, sr, clinical) below the studies of the book's
chapters, the studies below the figures and the command line. Inside the scanner stage the
virtual cohorts (``scanner/cohorts``) sit on top of the scanner they use. Modules stay
readable (about 600 lines at most; the few longer ones are named below, with the reason),
and notebooks only orchestrate: no function or class definitions, and little code.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "t2tcore"

#: The layers, lowest first: a module may import t2tcore modules of its own layer or lower ones.
LAYERS = ["_lazy", "errors", "limits", "masks", "progress", "device", "paper",  # bottom
          "io", "data", "effort", "simulation", "scanner",  # files, layouts, profiles, thin -> thick, scanner, cohorts
          "datasets",  # what a study reads
          "evaluation", "sr", "pipelines", "clinical",  # the library of the later stages
          "studies",  # the book's chapters: run(Settings) -> Result
          "figures", "teaching", "cli"]

#: The library: what any user imports. The studies of the book use it; it never uses them.
LIBRARY = LAYERS[: LAYERS.index("studies")]

MAX_MODULE_LINES = 650
#: Modules allowed past MAX_MODULE_LINES, and why.
LONG_MODULES = {
    "t2tcore/io/outdir.py": "one concept, an output's life: checked, claimed, staged, committed (issue 14)",
}
MAX_NOTEBOOK_CODE_LINES = 130


def _layer(module: str) -> str:
    """'t2tcore.io.nifti' -> 'io'; 't2tcore' (the package itself) -> ''."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """t2tcore modules imported anywhere in a file (top level or inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf8"))
    me = _module_name(path)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("t2tcore"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import
                base = me.split(".")[: len(me.split(".")) - node.level + (1 if path.name == "__init__.py" else 0)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.startswith("t2tcore"):
                found.add(mod)
                found.update(f"{mod}.{a.name}" for a in node.names)
    return found


def _modules() -> list[Path]:
    return sorted(p for p in PKG.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_top_level_name_has_a_layer():
    names = {p.stem if p.is_file() else p.name for p in PKG.iterdir()
             if (p.suffix == ".py" or (p.is_dir() and (p / "__init__.py").exists())) and p.name != "__init__.py"}
    assert names <= set(LAYERS), f"add {sorted(names - set(LAYERS))} to LAYERS (and to CONTRIBUTING.md)"


def test_no_stage_imports_a_later_stage():
    rank = {name: i for i, name in enumerate(LAYERS)}
    bad = []
    for path in _modules():
        me = _layer(_module_name(path))
        if me not in rank:
            continue
        for mod in _imports(path):
            other = _layer(mod)
            if other in rank and rank[other] > rank[me]:
                bad.append(f"{path.relative_to(ROOT)} imports {mod}")
    assert not bad, "imports against the pipeline order:\n" + "\n".join(sorted(bad))


def test_no_import_cycles_between_modules():
    graph: dict[str, set[str]] = {}
    names = {_module_name(p) for p in _modules()}
    for path in _modules():
        me = _module_name(path)
        # an import of a package's name from its own __init__ re-exports is not a dependency edge
        graph[me] = {m for m in _imports(path) if m in names and m != me and not me.startswith(m + ".")}
    # packages depend on what their __init__ imports; drop edges into a package's own __init__
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state:
                cyc = visit(m)
                if cyc:
                    return cyc
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state:
            cyc = visit(n)
            assert cyc is None, "import cycle: " + " -> ".join(cyc)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_modules_stay_readable(path):
    n = len(path.read_text(encoding="utf8").splitlines())
    name = path.relative_to(ROOT).as_posix()
    limit = 1050 if name in LONG_MODULES else MAX_MODULE_LINES
    assert n <= limit, f"{name} has {n} lines: split it by concept"


def test_the_library_never_imports_the_studies_and_the_studies_never_draw():
    """evaluation, sr, clinical, ... (the library) import nothing of t2tcore.studies, and the studies import
    nothing of figures, teaching or cli: a study's Result is data; a page draws it."""
    bad = []
    for path in _modules():
        me = _layer(_module_name(path))
        others = {_layer(m) for m in _imports(path)}
        if me in LIBRARY and "studies" in others:
            bad.append(f"{path.relative_to(ROOT)} (library) imports the studies")
        if me == "studies" and others & {"figures", "teaching", "cli"}:
            bad.append(f"{path.relative_to(ROOT)} (a study) imports {sorted(others & {'figures', 'teaching', 'cli'})}")
    assert not bad, "\n".join(bad)


def test_every_chapter_study_has_settings_a_result_and_run():
    """A study module of the book runs from typed settings to a typed result."""
    import dataclasses
    import importlib

    for name in ("walkthrough", "scanner_qa", "table3", "similarity", "robustness"):
        mod = importlib.import_module(f"t2tcore.studies.{name}")
        assert dataclasses.is_dataclass(mod.Settings) and dataclasses.is_dataclass(mod.Result), name
        assert callable(mod.run), name


#: Each page of results -> the study it calls (``t2tcore.studies.<name>``; CONTRIBUTING.md, "studies/").
CHAPTER_STUDIES = {
    "notebooks/00_simulation_walkthrough.ipynb": "walkthrough",
    "notebooks/01_virtual_scanner.ipynb": "scanner_qa",
    "notebooks/02_simulation_fidelity.ipynb": "table3",
    "notebooks/03_slice_similarity.ipynb": "similarity",
    "notebooks/04_robustness.ipynb": "robustness",
    "notebooks/05_sr_training.ipynb": "sr_training",
    "notebooks/06_model_benchmark.ipynb": "sr_benchmark",
    "notebooks/07_clinical_relevance.ipynb": "clinical",
    "book/discussion.ipynb": "discussion",
}
#: The library's old names of studies that moved up (issue 16): modules that only resolve names of a study,
#: by name and with a DeprecationWarning (``t2tcore._lazy.moved_names``), for one release.
MOVED_UP = ["t2tcore/sr/study.py", "t2tcore/clinical/analysis.py", "t2tcore/clinical/report.py"]


def _notebook_imports(path: Path) -> set[str]:
    """t2tcore modules a notebook's code cells import (``from t2tcore.studies import x`` gives ``t2tcore.studies.x``)."""
    nb = json.loads(path.read_text(encoding="utf8"))
    found: set[str] = set()
    for c in nb["cells"]:
        if c["cell_type"] != "code":
            continue
        src = "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        body = "\n".join(ln for ln in src.splitlines() if not ln.lstrip().startswith(("%", "!")))
        for node in ast.walk(ast.parse(body)):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
                found.update(f"{node.module}.{a.name}" for a in node.names)
    return found


@pytest.mark.parametrize("page", sorted(CHAPTER_STUDIES))
def test_every_chapter_calls_its_study_and_no_moved_name(page):
    """A chapter's numbers come from its study in ``t2tcore.studies``, never through an old, deprecated name."""
    found = _notebook_imports(ROOT / page)
    assert f"t2tcore.studies.{CHAPTER_STUDIES[page]}" in found, f"{page} does not import its study"
    old = {_module_name(ROOT / m) for m in MOVED_UP} | {"t2tcore.evaluation.datasets", "t2tcore.figures.discussion"}
    assert not found & old, f"{page} imports old names: {sorted(found & old)}"


def test_the_old_names_of_moved_studies_import_no_study():
    """What moved up keeps its old module, which resolves names by name: it imports nothing but the helper."""
    for m in MOVED_UP:
        assert _imports(ROOT / m) == {"t2tcore._lazy", "t2tcore._lazy.moved_names"}, m


def test_the_virtual_cohorts_sit_on_top_of_the_scanner():
    """Nothing of the scanner imports its cohorts, except its package's re-exports and the old module name;
    the one cohort writer is the only module that writes a cohort's manifest (no duplicated tails)."""
    bad, writers = [], []
    allowed = {"t2tcore.scanner", "t2tcore.scanner.cohort"}
    for path in _modules():
        me = _module_name(path)
        if me.startswith("t2tcore.scanner") and not me.startswith("t2tcore.scanner.cohorts") and me not in allowed:
            if any(m.startswith("t2tcore.scanner.cohorts") for m in _imports(path)):
                bad.append(str(path.relative_to(ROOT)))
        text = path.read_text(encoding="utf8")
        if "finish_with_manifest(" in text and me != "t2tcore.io.outdir":
            writers.append(me)
    assert not bad, "scanner modules importing the cohorts: " + ", ".join(bad)
    assert writers == ["t2tcore.scanner.cohorts.writer"], f"modules committing a cohort themselves: {writers}"


def _notebooks() -> list[Path]:
    return sorted(p for p in (ROOT / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: str(p.relative_to(ROOT)))
def test_notebooks_only_orchestrate(path):
    nb = json.loads(path.read_text(encoding="utf8"))
    code = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in nb["cells"] if c["cell_type"] == "code"]
    for src in code:
        body = "\n".join(ln for ln in src.splitlines() if not ln.lstrip().startswith(("%", "!")))
        for node in ast.walk(ast.parse(body)):
            assert not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)), (
                f"{path.name} defines {getattr(node, 'name', 'a lambda')}: move it into t2tcore"
            )
    lines = sum(1 for src in code for ln in src.splitlines() if ln.strip() and not ln.strip().startswith("#"))
    assert lines <= MAX_NOTEBOOK_CODE_LINES, f"{path.name} has {lines} lines of code: move logic into t2tcore"


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: str(p.relative_to(ROOT)))
def test_source_notebooks_have_no_outputs(path):
    nb = json.loads(path.read_text(encoding="utf8"))
    dirty = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))]
    assert not dirty, f"{path.name}: cells {dirty} have outputs (commit notebooks without outputs)"
