import numpy as np
import pytest
import torch

from t2tcore.simulation import group_weights, simulate_thick, thick_positions
from t2tcore.sr.config import Scaling, TrainConfig
from t2tcore.sr.errors import SRInputError
from t2tcore.sr.pairs import (
    PatchDataset,
    ThinSeries,
    box_kernel,
    make_pair,
    make_pairs,
    naive_positions,
    naive_to_thin_grid,
    simulate_input,
    split_patients,
    to_thin_grid,
)

from tests.sr.conftest import phantom


def test_naive_placement_formula_on_a_linear_ramp():
    # thin slice z holds the value z everywhere: group means of k slices are k*i + (k-1)/2,
    # exactly where the naive pipeline places them, so the ramp comes back unchanged in between.
    n, k = 20, 3
    vol = np.broadcast_to(np.arange(n, dtype=np.float32)[:, None, None], (n, 4, 5)).copy()
    pos = 0.8 * np.arange(n)
    inp, cov, info = simulate_input(vol, pos, "average", 3.0, thin_thickness=1.0)
    assert info["k"] == 3 and info["n_thick"] == n // k
    np.testing.assert_allclose(info["thick_indices"], [k * i + (k - 1) / 2 for i in range(n // k)])
    assert (cov.start, cov.stop) == (1, 17)  # centres 1, 4, ..., 16: nothing extrapolated
    np.testing.assert_allclose(inp[:, 0, 0], np.arange(1, 17), atol=1e-5)


def test_naive_to_thin_grid_is_torch_trilinear_interpolation():
    rng = np.random.default_rng(0)
    stack = rng.normal(size=(6, 3, 4)).astype(np.float32)
    for k in (2, 3, 4):
        ours = naive_to_thin_grid(stack, k, k * stack.shape[0])
        ref = torch.nn.functional.interpolate(torch.from_numpy(stack)[None, None], scale_factor=(k, 1, 1),
                                              mode="trilinear", align_corners=False)[0, 0].numpy()
        np.testing.assert_allclose(ours, ref, atol=1e-5)
    np.testing.assert_allclose(naive_positions(3, 3), [1.0, 4.0, 7.0])


def test_to_thin_grid_is_np_interp_along_z():
    rng = np.random.default_rng(1)
    pos = np.cumsum(rng.uniform(1.5, 2.5, size=8))  # irregular thick positions
    vol = rng.normal(size=(8, 3, 2)).astype(np.float32)
    tgt = np.linspace(pos[0], pos[-1], 23)
    out = to_thin_grid(vol, pos, tgt)
    for y in range(3):
        for x in range(2):
            np.testing.assert_allclose(out[:, y, x], np.interp(tgt, pos, vol[:, y, x]), atol=1e-5)
    with pytest.raises(ValueError):
        to_thin_grid(vol, pos, [pos[0] - 1.0])


def test_box_kernel_literal_weights():
    k = box_kernel(3 * 0.8, 0.8)
    # centred on a thin slice: the 3 nearest slices, equal weights (simple averaging)
    w = k(np.array([-1.6, -0.8, 0.0, 0.8, 1.6]))
    np.testing.assert_allclose(w / w.sum(), [0, 1 / 3, 1 / 3, 1 / 3, 0], atol=1e-12)
    # half-way between slices: 1/2, 1, 1, 1/2
    w = k(np.array([-1.2, -0.4, 0.4, 1.2]))
    np.testing.assert_allclose(w / w.max(), [0.5, 1, 1, 0.5], atol=1e-12)


def test_placed_average_against_a_literal_loop():
    vol, pos = phantom(n=25, size=8, seed=3)
    inp, cov, info = simulate_input(vol, pos, "placed_average", 3.0, 2.0, thin_thickness=1.0)
    tpos = thick_positions(pos[0], pos[-1], 2.0)
    np.testing.assert_allclose(info["thick_positions"], tpos)
    thick = []
    for p in tpos:  # box of 3 x 0.8 mm, each slice weighted by the overlap of its 0.8 mm cell
        w = np.array([max(0.0, min(l + 0.4, p + 1.2) - max(l - 0.4, p - 1.2)) for l in pos])
        thick.append(np.tensordot(w / w.sum(), vol.astype(np.float64), axes=1))
    thick = np.array(thick)
    assert pos[cov][0] >= tpos[0] - 1e-9 and pos[cov][-1] <= tpos[-1] + 1e-9
    for y, x in [(3, 3), (0, 7), (5, 2)]:
        np.testing.assert_allclose(inp[:, y, x], np.interp(pos[cov], tpos, thick[:, y, x]), atol=1e-3)
    # on the thin grid the box is exactly simple averaging of k = 3 slices
    grid = box_kernel(2.4, 0.8)(np.array([-0.8, 0.0, 0.8]))
    np.testing.assert_allclose(grid / grid.sum(), group_weights(3, 3)[0], atol=1e-12)


def test_proposed_input_is_algorithm_2_then_linear_z():
    vol, pos = phantom(n=25, size=8, seed=4)
    inp, cov, info = simulate_input(vol, pos, "proposed", 3.0, 2.0)
    thick, tpos = simulate_thick(vol, pos, 3.0, 2.0)
    np.testing.assert_allclose(info["thick_positions"], tpos)
    np.testing.assert_allclose(inp[:, 4, 4], np.interp(pos[cov], tpos, thick[:, 4, 4]), atol=1e-3)


def _pair(seed=0, method="proposed"):
    vol, pos = phantom(n=30, size=32, seed=seed)
    return make_pair(ThinSeries(vol, pos, 1.0, "P", "u"), method, 3.0, 2.0, patch=(8, 16, 16), seed=seed)


def test_patches_are_seeded_scaled_and_flipped_consistently():
    p = _pair()
    sc = Scaling(-1000.0, 1000.0)
    ds = PatchDataset([p], (8, 16, 16), sc, seed=7, body_fraction=0.9, flip=True)
    x, y = ds[5]
    x2, y2 = ds[5]
    assert x.shape == (1, 8, 16, 16) and torch.equal(x, x2) and torch.equal(y, y2)
    assert not torch.equal(ds[6][0], x)
    assert not torch.equal(PatchDataset([p], (8, 16, 16), sc, seed=8)[5][0], x)
    flips = 0
    for i in range(40):
        j, (z, yy, xx), flipped = ds.window(i)
        a = p.input[z : z + 8, yy : yy + 16, xx : xx + 16]
        b = p.target[z : z + 8, yy : yy + 16, xx : xx + 16]
        if flipped:
            a, b, flips = a[..., ::-1], b[..., ::-1], flips + 1
        xi, yi = ds[i]
        np.testing.assert_allclose(xi[0].numpy(), (a + 0.0) / 1000.0, atol=1e-6)  # scaled: HU / 1000
        np.testing.assert_allclose(yi[0].numpy(), b / 1000.0, atol=1e-6)
    assert 5 < flips < 35


def test_patches_sit_in_the_body():
    # a small body block in a corner of a large air volume
    n, size = 20, 64
    vol = np.full((n, size, size), -1000.0, dtype=np.float32)
    vol[:, 44:60, 40:58] = 40.0
    p = make_pair(ThinSeries(vol, 0.8 * np.arange(n), 1.0, "P", "u"), "proposed", 3.0, 2.0, patch=(8, 8, 8))
    body = p.target > -500
    ds = PatchDataset([p], (8, 8, 8), Scaling(), seed=0, body_fraction=1.0, flip=False)
    for i in range(50):
        _, (z, y, x), _ = ds.window(i)
        assert body[z + 4, y + 4, x + 4]  # the patch centre is a body voxel
    air = PatchDataset([p], (8, 8, 8), Scaling(), seed=0, body_fraction=0.0, flip=False)
    hits = [body[z : z + 8, y : y + 8, x : x + 8].any() for z, y, x in (air.window(i)[1] for i in range(50))]
    assert sum(hits) < 25  # uniform centres: mostly air here


def test_make_pairs_uses_per_series_thicknesses_and_rejects_small_series():
    thin = [ThinSeries(*phantom(n=30, size=32, seed=i), 1.0, f"P{i}", f"u{i}") for i in range(3)]
    cfg = TrainConfig(thickness=[2.0, 3.0, 2.5], interval=2.0, patch=(8, 16, 16))
    pairs = make_pairs(thin, cfg)
    assert [p.thickness for p in pairs] == [2.0, 3.0, 2.5]
    with pytest.raises(SRInputError, match="smaller than one patch"):
        make_pairs(thin[:1], cfg.replace(thickness=3.0, patch=(40, 16, 16)))


def test_split_patients_holds_out_whole_patients():
    pats = ["A", "A", "B", "C", "C", "D"]
    tr, va = split_patients(pats, 1, seed=0)
    held = {pats[i] for i in va}
    assert len(held) == 1 and not held & {pats[i] for i in tr} and sorted(tr + va) == list(range(6))
    assert split_patients(pats, 1, seed=0) == (tr, va)
    assert split_patients(["A"], None, seed=0) == ([0], [])
    with pytest.raises(SRInputError):
        split_patients(["A", "B"], 2, seed=0)
