"""Chapter 06's study (t2tcore.studies.sr_benchmark): Table VI measured on a tiny volume, laid out beside the
paper's, and said in words."""

import numpy as np
import pandas as pd
import pytest

from t2tcore.sr.evaluate import paper_table6
from t2tcore.studies import sr_benchmark


@pytest.fixture(scope="module")
def table():
    return sr_benchmark.table6((8, 24, 24), presets=("small",), models=("vdsr", "unet"), crop={"small": (4, 24, 24)})


def test_table6_measures_estimates_and_lays_out(table):
    t = table
    assert list(t.model) == ["vdsr", "unet"] and t.estimated.all()
    np.testing.assert_allclose(t.inference_s, t.seconds_per_mvoxel * 8 * 24 * 24 / 1e6)
    np.testing.assert_allclose(t.seconds_per_mvoxel, t.seconds_timed / (4 * 24 * 24 / 1e6))

    rank = pd.DataFrame({"model": ["unet", "vdsr"], "rank": [1, 2]})
    cells = sr_benchmark.table6_cells(t, rank, paper_table6())
    assert cells.loc["vdsr", ("rank", "ours")] == "2" and cells.loc["vdsr", ("rank", "paper")] == "4"
    assert cells.loc["vdsr", ("inference (s / volume)", "ours small")].startswith("≈")
    assert cells.loc["unet", ("parameters (MB)", "paper")] == "4"
    assert sr_benchmark.table6_cells(t, None, paper_table6()).loc["unet", ("rank", "ours")] == "—"


def test_findings_name_the_fastest_and_slowest_model_and_both_ranks():
    bench = pd.DataFrame({"model": ["vdsr", "unet", "vdsr"], "preset": ["small", "small", "paper"],
                          "inference_s": [2.0, 0.5, 40.0], "peak_mb": [100.0, 250.4, 900.0]})
    rank = pd.DataFrame({"model": ["unet", "vdsr"], "rank": [1, 2]})
    text = sr_benchmark.findings(bench, rank, paper_table6(), (10, 20, 30), "cpu")
    # the first preset only: the paper preset's 40 s and 900 MB are not its numbers
    assert "a whole 10×20×30 volume takes 0.5 s (unet) to 2 s (vdsr) with the `small` presets" in text
    assert "at most 250 MB of extra memory" in text and "900" not in text
    paper = paper_table6().sort_values("rank")
    assert "Ranked by mean PSNR in chapter 05: unet 1, vdsr 2 (paper: " + ", ".join(
        f"{m} {r}" for m, r in zip(paper.model, paper["rank"])) + ")." in text
    none = sr_benchmark.findings(bench, None, paper_table6(), (10, 20, 30), "cpu")
    assert none.endswith("The performance rank needs chapter 05's results, which were not found.")
