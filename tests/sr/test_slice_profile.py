"""Tests of t2tcore.sr.slice_profile: a Gaussian profile of known FWHM, the virtual scanner's own thin and
thick slices (1 and 3 mm by construction), and a 'model' that shifts its input by one slice."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from t2tcore.sr import evaluate as ev
from t2tcore.sr import slice_profile as SP
from t2tcore.sr.config import Scaling
from t2tcore.sr.models import build_model


def test_profile_of_a_gaussian_blurred_disk_has_the_gaussian_fwhm():
    sigma, step, inner = 0.9, 0.8, np.ones((4, 4), bool)
    vols, pos = [], []
    for off in np.arange(8) * step / 8:  # eight grid shifts: samples every 0.1 mm
        p = np.arange(-12, 13) * step + off
        v = 50.0 + 400.0 * np.exp(-0.5 * ((p - 0.3) / sigma) ** 2)  # centred at +0.3 mm, on 50 HU
        vols.append(np.repeat(v[:, None, None], 4, 1).repeat(4, 2))
        pos.append(p)
    u, s = SP.profile_of(vols, pos, inner)
    assert np.all(np.diff(u) >= 0) and np.abs(u).max() <= 6.0
    st = SP._stats(u, s)
    assert st["fwhm_mm"] == pytest.approx(2 * math.sqrt(2 * math.log(2)) * sigma, rel=0.01)
    assert st["peak_hu"] == pytest.approx(400.0, rel=0.01)  # the 50 HU background is removed
    assert st["centroid_mm"] == pytest.approx(0.3, abs=0.02)


class ShiftOneSlice(torch.nn.Module):
    """A 'model' whose output is its input moved one slice towards +z."""

    def __init__(self):
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return torch.roll(x, shifts=1, dims=2)


@pytest.mark.slow
def test_the_virtual_scanners_slices_and_known_models_on_a_thin_disk():
    scans = SP.scan_disk(n_offsets=5)
    ident = build_model("vdsr", "small").eval()  # zero head: the identity, i.e. linear interpolation
    models = [ev.LoadedModel("vdsr/proposed", "vdsr", "proposed", ident, Scaling(), (64, 256, 256), 0),
              ev.LoadedModel("shift/proposed", "shift", "proposed", ShiftOneSlice(), Scaling(), (64, 256, 256), 0)]
    t, prof = SP.measure_profiles(models, scans)
    t = t.set_index("label")
    assert t.loc["thin", "fwhm_mm"] == pytest.approx(1.0, abs=0.06)  # the scanner's 1 mm slices (chapter 01)
    assert t.loc["thick", "fwhm_mm"] == pytest.approx(3.0, abs=0.1)
    assert t.loc["linear", "fwhm_mm"] > t.loc["thick", "fwhm_mm"]  # interpolation widens a little more
    assert t.loc["vdsr/proposed", "fwhm_mm"] == pytest.approx(t.loc["linear", "fwhm_mm"], rel=1e-4)
    assert t.loc["thin", "fwhm_vs_thin"] == 1.0 and abs(t.loc["thin", "centroid_mm"]) < 0.02
    # moved one thin slice (0.8 mm) along +z: the profile's centroid moves by that much
    assert t.loc["shift/proposed", "centroid_mm"] - t.loc["linear", "centroid_mm"] == pytest.approx(0.8, abs=0.05)
    assert set(prof) == set(t.index)
