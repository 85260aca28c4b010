"""Tests of t2tcore.evaluation.alignment: resampling along z in mm, resizing by index, count positions, align."""

from __future__ import annotations

import numpy as np
import pytest

from t2tcore.evaluation import alignment as fd
from tests.evaluation.stacks import linear_stack


# ----------------------------------------------------------------------------- resample_z


def test_resample_z_is_exact_on_linear_data_and_at_sample_positions():
    pos = np.array([0.0, 0.8, 1.6, 2.4, 3.2, 4.0])
    vol = linear_stack(pos)
    targets = np.array([0.0, 0.3, 1.7, 3.99, 4.0, 2.4])
    out = fd.resample_z(vol, pos, targets)
    np.testing.assert_allclose(out, linear_stack(targets), rtol=0, atol=1e-4)
    # at a sample position the slice comes back bit for bit
    np.testing.assert_array_equal(fd.resample_z(vol, pos, pos[[3, 1]]), vol[[3, 1]])
    assert out.dtype == np.float32 and out.shape == (6, 4, 5)


def test_resample_z_against_literal_loop_with_unsorted_positions():
    rng = np.random.default_rng(1)
    pos = np.sort(rng.uniform(0, 10, 9))
    vol = rng.normal(size=(9, 3, 3)).astype(np.float32)
    perm = rng.permutation(9)
    targets = rng.uniform(pos[0], pos[-1], 7)
    got = fd.resample_z(vol[perm], pos[perm], targets)
    for j, t in enumerate(targets):
        b = int(np.searchsorted(pos, t))
        a = b - 1
        w = (t - pos[a]) / (pos[b] - pos[a])
        np.testing.assert_allclose(got[j], (1 - w) * vol[a] + w * vol[b], atol=1e-5)


def test_resample_z_refuses_or_clamps_outside_and_never_extrapolates():
    pos = np.array([1.0, 2.0, 3.0])
    vol = linear_stack(pos)
    with pytest.raises(ValueError, match="outside the covered range"):
        fd.resample_z(vol, pos, [0.5, 2.0])
    out = fd.resample_z(vol, pos, [0.5, 3.5], outside="clamp")
    np.testing.assert_array_equal(out[0], vol[0])
    np.testing.assert_array_equal(out[1], vol[2])
    np.testing.assert_array_equal(fd.covered(pos, [0.5, 1.0, 3.0, 3.0000001, 3.1]), [False, True, True, True, False])


def test_resample_z_bad_input():
    vol = np.zeros((3, 2, 2), np.float32)
    with pytest.raises(ValueError, match="distinct"):
        fd.resample_z(vol, [0, 1, 1], [0.5])
    with pytest.raises(ValueError, match="3 slices"):
        fd.resample_z(vol, [0, 1], [0.5])
    with pytest.raises(ValueError, match="outside must be"):
        fd.resample_z(vol, [0, 1, 2], [0.5], outside="extrapolate")
    before = vol.copy()
    fd.resample_z(vol, [0, 1, 2], [0.5])
    np.testing.assert_array_equal(vol, before)


# ----------------------------------------------------------------------------- resize_slices


@pytest.mark.parametrize("z, n", [(7, 16), (17, 16), (16, 16), (48, 16), (5, 1), (3, 11), (1, 4)])
def test_resize_slices_matches_torch_trilinear(z, n):
    import torch
    rng = np.random.default_rng(z * 100 + n)
    vol = rng.normal(size=(z, 6, 5)).astype(np.float32)
    want = torch.nn.functional.interpolate(
        torch.from_numpy(vol)[None, None], size=(n, 6, 5), mode="trilinear", align_corners=False
    )[0, 0].numpy()
    np.testing.assert_allclose(fd.resize_slices(vol, n), want, rtol=0, atol=1e-5)


def test_resize_slices_literal_formula_and_identity():
    vol = linear_stack(np.arange(6.0))
    got = fd.resize_slices(vol, 4)  # scale 1.5: sources 0.25, 1.75, 3.25, 4.75
    for i, s in enumerate([0.25, 1.75, 3.25, 4.75]):
        np.testing.assert_allclose(got[i], linear_stack([s])[0], atol=1e-4)
    same = fd.resize_slices(vol, 6)
    np.testing.assert_array_equal(same, vol)
    assert same is not vol
    with pytest.raises(ValueError, match="positive integer"):
        fd.resize_slices(vol, 0)


def test_count_positions_follow_the_slices():
    pos = np.array([0.8, 3.2, 5.6, 8.0])
    got = fd.count_positions(pos, 6)
    # a stack whose value is its position: resizing it gives the represented positions
    vol = np.broadcast_to(pos[:, None, None], (4, 2, 2)).astype(np.float64)
    np.testing.assert_allclose(got, fd.resize_slices(vol, 6)[:, 0, 0])
    np.testing.assert_allclose(got[[0, -1]], [0.8, 8.0])
    np.testing.assert_allclose(fd.count_positions(pos, 4), pos)


def test_align_modes_differ_when_positions_are_not_where_the_count_says():
    # a simulated stack at 1, 3, 5, ... vs real slices at 0, 2, 4, ...: counting slices
    # pairs slice i with slice i (1 mm off), physical resampling does not
    sim_pos = np.arange(1.0, 20.0, 2.0)
    sim = linear_stack(sim_pos)
    ref_pos = np.arange(2.0, 19.0, 2.0)
    phys = fd.align(sim, sim_pos, ref_pos, "physical")
    np.testing.assert_allclose(phys, linear_stack(ref_pos), atol=1e-4)
    cnt = fd.align(sim, sim_pos, ref_pos, "count")
    np.testing.assert_allclose(cnt, fd.resize_slices(sim, ref_pos.size))
    assert np.abs(cnt - linear_stack(ref_pos)).max() > 0.5
    with pytest.raises(ValueError, match="mode must be"):
        fd.align(sim, sim_pos, ref_pos, "nearest")
