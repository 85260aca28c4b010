"""The chest phantom's airway primitives as attributes (``airway_wall``, ``airway_lumen``).

That additive change (for :mod:`t2tcore.clinical.cohort`, which swaps in a disease-modified
airway tree) must leave the default output unchanged (bit-identical on the machine that saved
the reference; last-bit differences from another CPU's SIMD paths are allowed). ``data/chest_reference.npz`` was
saved from the code BEFORE the change (the script is in the module docstring below); these
tests compare the sampled phantom, the airway geometry and a tiny scan with it.

Script that made the reference (run on the unmodified chest module)::

    for seed, fib, off in ((3, 0.0, 0.0), (11, 0.4, 12.0)):
        ph = chest(seed, z_extent=(-30.0, 30.0), fibrosis=fib, anatomy_offset_mm=off)
        g = ph.grid(32); z = np.linspace(-28.0, 28.0, 7)
        arrays[f"hu_{seed}"] = ph.hu(g, g, z)
        s = ph.airway_segments
        arrays[f"airways_{seed}"] = np.c_[s.a, s.b, s.ra, s.rb, ph.airway_generation]
    ph = chest(3, z_extent=(-20.0, 20.0))
    res = scan(ph, ScannerConfig(image_size=32), [ReconConfig(1.0, 0.8, "D45", z_range=(-2.0, 2.0))],
               doses={"full": 200.0}, seed=5, z_range=(-2.0, 2.0), progress=False, keep_raw=False, device="cpu")
    arrays["scan_3"] = next(iter(res.volumes.values()))
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from t2tcore.scanner import ReconConfig, ScannerConfig, TubeSet, chest, scan

REF = np.load(Path(__file__).parent / "data" / "chest_reference.npz")
CASES = ((3, 0.0, 0.0), (11, 0.4, 12.0))


@pytest.mark.parametrize("seed,fib,off", CASES)
def test_sampled_phantom_and_airways_are_bit_identical_to_before(seed, fib, off):
    ph = chest(seed, z_extent=(-30.0, 30.0), fibrosis=fib, anatomy_offset_mm=off)
    g = ph.grid(32)
    # bit-identical on the machine that saved the reference; another CPU (AVX2 against AVX-512
    # SIMD paths of numpy's transcendental functions) differs in the last bits only
    np.testing.assert_allclose(ph.hu(g, g, np.linspace(-28.0, 28.0, 7)), REF[f"hu_{seed}"], rtol=0, atol=1e-3)
    s = ph.airway_segments
    np.testing.assert_allclose(np.c_[s.a, s.b, s.ra, s.rb, ph.airway_generation], REF[f"airways_{seed}"],
                               rtol=1e-12, atol=1e-12)


def test_tiny_scan_matches_before():
    ph = chest(3, z_extent=(-20.0, 20.0))
    res = scan(ph, ScannerConfig(image_size=32), [ReconConfig(1.0, 0.8, "D45", z_range=(-2.0, 2.0))],
               doses={"full": 200.0}, seed=5, z_range=(-2.0, 2.0), progress=False, keep_raw=False, device="cpu")
    vol = next(iter(res.volumes.values()))
    # bit-identical on the machine that saved the reference; the tolerance only allows for
    # another CPU's floating-point summation order in torch and numpy (measured: 0.006 HU on an
    # AVX2-only AMD EPYC against the AVX-512 machine that saved it; the image noise is ~10 HU)
    np.testing.assert_allclose(vol, REF["scan_3"], rtol=0, atol=0.05)


def test_airway_attributes_are_the_painted_primitives():
    ph = chest(11, z_extent=(-30.0, 30.0), fibrosis=0.4, anatomy_offset_mm=12.0)
    wall, lumen = ph.airway_wall, ph.airway_lumen
    assert isinstance(wall, TubeSet) and isinstance(lumen, TubeSet)
    ids = [id(p) for p in ph.primitives]
    i = ids.index(id(wall))
    assert ids[i + 1] == id(lumen)  # the lumen is painted right over the wall
    assert np.all(wall.values == 50.0) and np.all(lumen.values == -1000.0)
    # every wall segment is one of the airway tree's segments (the painted ones: those near the z
    # extent), and every lumen segment lies inside a wall segment with the same axis
    key = lambda a, b: tuple(np.round(np.r_[a, b], 9))
    tree = {key(a, b) for a, b in zip(ph.airway_segments.a, ph.airway_segments.b)}
    walls = {key(a, b): (ra, rb) for a, b, ra, rb in zip(wall.a, wall.b, wall.ra, wall.rb)}
    assert set(walls) <= tree and len(lumen) <= len(wall)
    for a, b, ra, rb in zip(lumen.a, lumen.b, lumen.ra, lumen.rb):
        wa, wb = walls[key(a, b)]
        assert ra < wa and rb < wb
    # the same objects in a copy with another fibrosis extent
    other = ph.with_fibrosis(0.1)
    assert other.airway_wall is wall and any(p is wall for p in other.primitives)
