"""The book's numbers, pinned: the smoke profile's key results of the chapters in
:data:`tests.golden.producers.PRODUCERS`, against ``tests/golden/smoke.csv``.

A refactor that moves Table III by 0.05 dB, a slice count by one or an FID by a few percent fails
here, with the keys that moved. The tolerances, and why they absorb another CPU's rounding, are in
:data:`tests.golden.producers.TOLERANCES`. When a change of the numbers is intended, run
``make update-golden`` and commit the fixture: its diff shows what moved.

The chapters' CSVs come from the smoke book in ``_build/results/smoke`` when the build record says
they were made from the current sources (CI builds the smoke book before ``make test``); otherwise
the pinned chapters are run first (a few minutes). ``T2T_GOLDEN_RESULTS`` points at a results folder
made elsewhere.
"""

from __future__ import annotations

import pytest

from tests.golden.producers import PRODUCERS, TOLERANCES, Entry, produce, within
from tests.golden.update import FIXTURE, read_fixture, results_folder

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def current() -> dict[str, Entry]:
    return {e.key: e for e in produce(results_folder())}


@pytest.fixture(scope="module")
def stored() -> dict[str, Entry]:
    assert FIXTURE.is_file(), f"{FIXTURE.name} is missing: run make update-golden"
    return read_fixture()


@pytest.mark.parametrize("chapter", [s[:2] for s in PRODUCERS])
def test_chapter_numbers_are_pinned(chapter, current, stored):
    mine = {k: e for k, e in stored.items() if k.startswith(chapter + "/")}
    now = {k: e for k, e in current.items() if k.startswith(chapter + "/")}
    assert mine, f"no pinned number of chapter {chapter}: run make update-golden"
    missing, extra = sorted(set(mine) - set(now)), sorted(set(now) - set(mine))
    assert not missing and not extra, (f"chapter {chapter}: {len(missing)} pinned number(s) no longer made "
                                       f"{missing[:5]}, {len(extra)} new {extra[:5]}: run make update-golden")
    moved = [f"{k}: {mine[k].value!r} -> {now[k].value!r} ({mine[k].kind}, tolerance {TOLERANCES[mine[k].kind]})"
             for k in sorted(mine) if not within(now[k].value, mine[k].value, mine[k].kind)]
    assert not moved, f"chapter {chapter}: {len(moved)} of {len(mine)} numbers moved:\n  " + "\n  ".join(moved[:20])


def test_the_tolerances_catch_a_small_shift():
    """The test can fail: 0.05 dB, 0.5 % of an RMSE, 0.005 of an SSIM, one slice, 3 % of an FID are caught;
    rounding of the size another CPU makes is not."""
    assert not within(40.05, 40.0, "dB") and within(40.0 + 1e-4, 40.0, "dB")
    assert not within(5.025, 5.0, "HU") and within(5.0 + 1e-4, 5.0, "HU")
    assert not within(0.005025, 0.005, "unit") and within(0.005 * (1 + 1e-5), 0.005, "unit")
    assert not within(0.9935, 0.9985, "ssim") and within(0.99851, 0.9985, "ssim")
    assert not within(21.0, 22.0, "count") and within(22.0, 22.0, "count")
    assert not within(4.12, 4.0, "fid") and within(4.0 * (1 + 1e-3), 4.0, "fid")
    assert not within(2.91, 2.90, "mm") and within(2.9001, 2.90, "mm")
    assert not within(2.2e5 * 1.002, 2.2e5, "volume") and within(2.2e5 + 1.0, 2.2e5, "volume")
