"""Tests for t2tcore.scanner.abdomen: tissue classes, lesion sizes, positions and contrast."""

import numpy as np

from t2tcore.scanner.abdomen import abdomen


def test_abdomen_has_tissue_classes(abd):
    x = abd.grid(128)
    h = abd.hu(x, x, np.linspace(0, 16, 5))
    body = h > -900
    for lo, hi in ((-110, -80), (40, 75), (140, 260), (600, 1000)):  # fat, soft/liver, vessels, bone
        assert ((h >= lo) & (h <= hi) & body).mean() > 0.002, (lo, hi)
    # the liver (texture around 60 HU) is the largest soft-tissue region
    assert ((h > 45) & (h < 75)).mean() > 0.03


def test_abdomen_lesions_sizes_positions_and_contrast():
    seen = 0
    kinds = set()
    for seed in (1, 2, 3):
        ph = abdomen(seed, (0, 60))
        assert 1 <= len(ph.lesions) <= 8
        for L in ph.lesions:
            assert 2.0 - 1e-9 <= L.diameter_mm <= 15.0 + 1e-9
            assert np.all(2 * L.axes_mm >= 2.0 - 1e-9) and np.all(2 * L.axes_mm <= 15.0 + 1e-9)
            assert L.organ in ("liver", "spleen", "kidney")
            assert ph.hu_at(*L.center_mm) == np.float32(L.hu)
            kinds.add(L.kind)
            seen += 1
        if seed == 1:
            lc = [L for L in ph.lesions if L.kind == "low-contrast"]
            for L in lc:
                assert 10 - 1e-9 <= abs(L.hu - L.background_hu) <= 20 + 1e-9
    assert seen >= 6 and len(kinds) >= 2
