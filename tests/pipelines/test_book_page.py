"""The code the book's page "Using t2t in your pipeline" shows runs as shown (on tiny data, one epoch)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from t2tcore.pipelines import make_pairs, simulations

from .conftest import write_thin

PAGE = Path(__file__).resolve().parents[2] / "book" / "pipelines.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf8"), flags=re.S)


def test_the_page_shows_three_python_examples():
    assert len(_python_blocks()) == 3


def test_the_training_loop_trains_on_the_datalist_of_t2t_pairs(tmp_path, capsys):
    for i in range(3):
        write_thin(tmp_path / "archive" / f"P{i}.nii.gz", n=24, patient=f"P{i}", seed=i)
    make_pairs(tmp_path / "archive", tmp_path / "pairs", simulations([3.0], [2.0]), workers=1)
    code = _python_blocks()[0]
    line = 'PAIRS, EPOCHS, PATCH = "PAIRS/datalist.json", 100, (64, 64, 16)'
    assert line in code
    code = code.replace(line, f'PAIRS, EPOCHS, PATCH = "{tmp_path / "pairs" / "datalist.json"}", 1, (8, 8, 4)')
    exec(compile(code, str(PAGE), "exec"), {})
    printed = capsys.readouterr().out.split()
    assert printed[0] == "0" and float(printed[1]) > 0


@pytest.mark.parametrize("block", [1, 2])
def test_the_transform_examples_run(tmp_path, block):
    if block == 2:
        pytest.importorskip("torchio")
    write_thin(tmp_path / "thin.nii.gz", n=24)
    code = _python_blocks()[block].replace('"thin.nii.gz"', repr(str(tmp_path / "thin.nii.gz")))
    scope: dict = {}
    exec(compile(code, str(PAGE), "exec"), scope)
    sample = scope["sample"] if block == 1 else scope["dataset"][0]
    assert sample["image"].shape == sample["label"].shape == (1, 16, 14, 24)
