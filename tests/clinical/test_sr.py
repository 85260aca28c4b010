"""The SR models of chapter 07 (t2tcore.clinical.sr): training set, lung box, inference on a box."""

from __future__ import annotations

import numpy as np
import pytest

def test_training_set_repeats_every_series_for_every_offered_thickness(tiny_cohort):
    from t2tcore.clinical.sr import training_set
    from t2tcore.io import read_series

    thin = read_series(tiny_cohort["root"] / "sr_train" / "F501" / "thin")
    series, ts, ds = training_set([thin, thin], thicknesses=(1.5, 3.0))
    assert len(series) == 4 and ts == [1.5, 3.0, 1.5, 3.0] and ds == ts
    assert series[0] is series[1]  # one ThinSeries object per thin series (body masks computed once)
    with pytest.raises(ValueError):
        training_set([])


def test_lung_box_covers_the_dark_body_with_a_margin():
    from t2tcore.clinical.sr import lung_box

    v = np.full((4, 50, 60), -1000.0, np.float32)
    v[:, 5:45, 5:55] = 40.0  # body
    v[1:3, 15:30, 20:26] = -850.0  # a lung
    assert lung_box(v, margin_px=3) == (12, 33, 17, 29)
    assert lung_box(v, margin_px=30) == (0, 50, 0, 56)
    assert lung_box(np.full((2, 8, 8), 40.0)) == (0, 8, 0, 8)


def test_super_resolving_a_box_equals_the_whole_image_inside_it(clinical_study, tiny_cohort):
    from t2tcore.clinical.sr import super_resolve
    from t2tcore.evaluation import resample_z
    from t2tcore.io import read_series

    res, _ = clinical_study
    folder = tiny_cohort["root"] / "images" / "F001"
    thick, thin = read_series(folder / "thick"), read_series(folder / "thin")
    before = thick.volume.copy()
    whole = super_resolve(res.models["SR proposed"], thick, thin.positions)
    base = resample_z(thick.volume, thick.positions, thin.positions, outside="clamp")
    box = (4, 44, 6, 42)
    part = super_resolve(res.models["SR proposed"], thick, thin.positions, box, base=base)
    np.testing.assert_array_equal(thick.volume, before)
    outside = np.ones(base.shape[1:], bool)
    outside[4:44, 6:42] = False
    np.testing.assert_array_equal(part[:, outside], base[:, outside])
    # away from the box's edges (the models' receptive field) the two agree
    np.testing.assert_allclose(part[:, 14:34, 16:32], whole[:, 14:34, 16:32], atol=1e-2)
