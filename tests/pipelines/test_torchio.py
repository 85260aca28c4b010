"""The TorchIO transforms inside a TorchIO loader, against ``t2t simulate`` of the same files."""

from __future__ import annotations

import numpy as np
import pytest
import torch

tio = pytest.importorskip("torchio")  # an optional extra: t2t[pipelines]

from t2tcore.pipelines.torchio import RandomSimulateThick, SimulateThick  # noqa: E402

from .conftest import reoriented  # noqa: E402


def test_simulate_thick_in_a_subjects_loader_equals_t2t_simulate(tmp_path, make_thin, t2t_simulate):
    files = [make_thin(tmp_path / f"p{i}.nii.gz", n=22 + 2 * i, seed=i) for i in range(2)]
    refs = [t2t_simulate(f, tmp_path / f"ref{i}.nii.gz", "--thickness", 3, "--interval", 2)
            for i, f in enumerate(files)]
    subjects = [tio.Subject(image=tio.ScalarImage(f), label=tio.ScalarImage(f), mask=tio.LabelMap(f))
                for f in files]
    ds = tio.SubjectsDataset(subjects, transform=SimulateThick(3.0, 2.0, include=["image", "mask"]))
    loader = tio.SubjectsLoader(ds, batch_size=1, num_workers=2)
    n = 0
    for batch, ref in zip(loader, refs):
        data, affine = batch["image"][tio.DATA][0], batch["image"][tio.AFFINE][0]
        got, got_aff = reoriented(data[0].numpy(), np.asarray(affine))
        want, want_aff = reoriented(np.asarray(ref.dataobj), ref.affine)
        np.testing.assert_allclose(got_aff, want_aff, atol=1e-4)
        assert np.max(np.abs(got - want)) <= 0.5 + 1e-3
        assert batch["label"][tio.DATA].shape[-1] == batch["mask"][tio.DATA].shape[-1] > data.shape[-1]
        n += 1
    assert n == 2


def test_the_output_is_a_scalar_image_and_the_history_says_how(tmp_path, make_thin):
    f = make_thin(tmp_path / "thin.nii.gz", n=23)
    subject = tio.Subject(image=tio.ScalarImage(f))
    out = SimulateThick(3.0, 2.0)(subject)
    assert isinstance(out["image"], tio.ScalarImage) and out["image"].shape == (1, 16, 14, 9)
    assert out["image"].spacing[2] == pytest.approx(2.0)
    assert subject["image"].shape == (1, 16, 14, 23)  # the input subject is not modified
    assert out.history[-1].name == "SimulateThick"


def test_random_simulate_thick_is_seeded_and_applies_the_transform_it_records(tmp_path, make_thin):
    f = make_thin(tmp_path / "thin.nii.gz", n=30)
    subject = tio.Subject(image=tio.ScalarImage(f))
    rand = RandomSimulateThick(thickness=(2.0, 4.0), interval=(1.5, 3.0))
    torch.manual_seed(3)
    first = rand(subject)
    torch.manual_seed(3)
    again = rand(subject)
    assert torch.equal(first["image"].data, again["image"].data)
    applied = first.history[-1]
    assert applied.name == "SimulateThick"
    assert 2.0 <= applied.thickness <= 4.0 and 1.5 <= applied.interval <= 3.0 and 0 <= applied.offset < 3.0
    replay = SimulateThick(applied.thickness, applied.interval, offset=applied.offset)(subject)
    assert torch.equal(replay["image"].data, first["image"].data)
    np.testing.assert_allclose(replay["image"].affine, first["image"].affine)
