"""The paper's numbers live in ``t2tcore/paper.py`` only (issue 16, item 3).

The test collects the *distinctive* numbers of ``t2tcore/paper.py`` (a float with three or more
significant digits, such as 36.4722 or 2.27; an integer of three or more digits that is not a
round hundred, such as 525) and fails when one of them appears as a literal anywhere else: a number
in the code (``ast`` constants) or inside a string (an f-string's text included) of any other module
of the package, or of a notebook's code cells. Docstrings and comments may quote the paper.

Numbers of one or two significant digits (the concordance 0.85, the 36 patients), and the few longer
ones in :data:`GENERIC`, cannot be told from ordinary constants (a kernel cut-off of 0.85, a grey
level "0.85", a factor 1.15); they are read from ``t2tcore.paper`` all the same, which review
checks, not this test.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from t2tcore import paper

ROOT = Path(__file__).resolve().parents[1]
PAPER = ROOT / "t2tcore" / "paper.py"

#: Literals elsewhere that equal a paper number by coincidence: (file, value) -> why they are not the paper's.
COINCIDENCES = {
    ("t2tcore/scanner/chest.py", 175): "the upper bound of a drawn aorta position (pixels), not a slice count",
}
#: Paper numbers too common to be told from other constants anywhere: value -> why (not checked).
GENERIC = {
    1.15: "15 % more: a factor of the phantoms, the disease model and the figures' layout (Table V's 1.15 is one "
          "upper 95 % bound of a hazard ratio)",
}

_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])")


def significant_digits(value: float | int) -> int:
    """Significant digits of a literal as written by ``repr`` (36.4722 -> 6, 0.0198 -> 3, 2.52e11 -> 3)."""
    if isinstance(value, int):
        return len(str(abs(value)).rstrip("0")) if value % 100 == 0 else len(str(abs(value)))
    mantissa = repr(abs(float(value))).lower().split("e")[0]
    return len(mantissa.replace(".", "").lstrip("0").rstrip("0") or "0")


def _distinctive(value) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return significant_digits(value) >= 3


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the docstring nodes of a module, its classes and functions."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                out.add(id(first.value))
    return out


def literals(source: str) -> list[tuple[int, float]]:
    """(line, number) of every numeric literal, and of every number written inside a string, but docstrings."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or id(node) in skip:
            continue
        v = node.value
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            found.append((node.lineno, v))
        elif isinstance(v, str):
            for m in _NUMBER.finditer(v):
                text = m.group()
                found.append((node.lineno, float(text) if any(c in text for c in ".eE") else int(text)))
    return found


def paper_numbers() -> set[float]:
    """The distinctive numbers of ``t2tcore/paper.py``, read from its source (code and strings)."""
    return {v for _, v in literals(PAPER.read_text(encoding="utf8")) if _distinctive(v) and v not in GENERIC}


def _notebook_code(path: Path) -> str:
    nb = json.loads(path.read_text(encoding="utf8"))
    lines = []
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            # IPython magics and shell lines are not Python
            lines += [("" if ln.lstrip().startswith(("%", "!")) else ln) for ln in "".join(cell["source"]).splitlines()]
    return "\n".join(lines)


def _sources():
    for path in sorted((ROOT / "t2tcore").rglob("*.py")):
        if path != PAPER and "__pycache__" not in path.parts:
            yield path, path.read_text(encoding="utf8")
    for folder in ("notebooks", "book"):
        for path in sorted((ROOT / folder).rglob("*.ipynb")):
            if ".ipynb_checkpoints" not in path.parts and "_build" not in path.parts:
                yield path, _notebook_code(path)


def test_the_detection_sees_what_it_must():
    """The test can fail: a table cell typed as a float, a count as an int, a number inside an f-string."""
    numbers = paper_numbers()
    assert {36.4722, 0.0198, 2.27, 72.09, 525, 210, 175, 298, 22.15, 3.57e6, 2.52e11} <= numbers
    assert not {0.85, 36, 0.2, 1, 0, 4, *GENERIC} & numbers  # too common to tell apart
    src = 'X = 36.4722\nn = 525\ns = f"the paper: {x} of 2.27 mm"\ndef f():\n    """Table III: 49.7369."""\n'
    hits = {v for _, v in literals(src) if v in numbers}
    assert hits == {36.4722, 525, 2.27}


def test_every_constant_says_where_in_the_paper_it_comes_from():
    public = {n for n in vars(paper) if n.isupper() and n != "WHERE"}
    assert public == set(paper.WHERE), f"WHERE misses {sorted(public - set(paper.WHERE))}"
    assert set(paper.__all__) == public | {"WHERE"}
    assert all(w.startswith(("Table", "Section", "Fig")) for w in paper.WHERE.values())


def test_no_paper_number_is_typed_anywhere_else():
    numbers = paper_numbers()
    bad = []
    for path, source in _sources():
        rel = path.relative_to(ROOT).as_posix()
        for line, v in literals(source):
            if v in numbers and (rel, v) not in COINCIDENCES:
                bad.append(f"{rel}:{line}: {v!r}")
    assert not bad, ("numbers of the paper typed outside t2tcore/paper.py (read them from t2tcore.paper, or add a "
                     "real coincidence to COINCIDENCES with the reason):\n  " + "\n  ".join(bad))


@pytest.mark.parametrize("key", sorted(COINCIDENCES, key=str))
def test_every_coincidence_is_still_there(key):
    """An allowance that no longer matches anything is removed, so the list does not hide a future copy."""
    rel, v = key
    assert any(x == v for _, x in literals((ROOT / rel).read_text(encoding="utf8"))), f"{rel} has no {v!r}: drop it"


def test_the_consumers_read_the_paper():
    from t2tcore.clinical import survival
    from t2tcore.studies import clinical_report as report
    from t2tcore.evaluation.stats import paper_table3
    from t2tcore.sr.evaluate import paper_table4, paper_table6

    t3 = paper_table3().set_index(["kernel", "method", "metric"])
    assert t3.loc[("D45", "proposed", "psnr"), "mean"] == paper.TABLE3["D45"]["proposed"]["psnr"][0]
    t4 = paper_table4().set_index(["kernel", "model", "method", "metric"])
    assert t4.loc[("B30", "esrgan", "proposed", "psnr"), "std"] == paper.TABLE4["B30"]["esrgan"]["proposed"]["psnr"][1]
    assert paper_table6().set_index("model").loc["vdsr", "parameter_mb"] == paper.TABLE6["vdsr"][1]
    assert survival.PAPER_CONCORDANCE == paper.CONCORDANCE
    assert len(survival.paper_table5()) == sum(len(v) for v in paper.TABLE5.values())
    assert report.PAPER_COHORT["patients"] == paper.CLINICAL_COHORT["patients"]
