"""t2tcore.teaching.views: exercise 6 and its linked 3-D views (against independent truths: literal loops, physics, known models)."""

import numpy as np
import pytest

from t2tcore import teaching as T
from t2tcore.teaching import views


def test_look_along_z_places_real_and_simulated_slices_where_they_belong():
    base = T.look_along_z(3.0, 2.0, 0.0, "average")
    thin_pos = base["series"]["thin"][1]
    np.testing.assert_allclose(np.diff(thin_pos), T.THIN["interval"])
    for off in (0.0, 1.0):
        real = T.look_along_z(3.0, 2.0, off, "proposed")
        real_pos = real["series"]["real thick"][1]
        np.testing.assert_allclose(real_pos, thin_pos[0] + off + 2.0 * np.arange(real_pos.size))
        assert real_pos[-1] <= thin_pos[-1] < real_pos[-1] + 2.0
        # the position-based method is told where the real slices are: no misplacement
        np.testing.assert_allclose(real["series"]["proposed"][1], real_pos)
        assert real["misplacement_mm"] == pytest.approx(0.0, abs=1e-9)
    # average's slice j is the centre of thin slices 3j..3j+2: s + 0.8 + 2.4 j, whatever the offset
    avg = T.look_along_z(3.0, 2.0, 1.0, "average")
    pos = avg["series"]["average"][1]
    np.testing.assert_allclose(pos, thin_pos[0] + 0.8 + 2.4 * np.arange(pos.size))
    n = min(pos.size, avg["series"]["real thick"][1].size)
    assert avg["misplacement_mm"] == pytest.approx(abs(0.8 + 0.4 * (n - 1) - 1.0))
    vol, _, t = base["series"]["real thick"]
    assert vol.shape[1:] == (48, 48) and t == 3.0 and base["pixel_mm"] == pytest.approx(1.0)
    for bad in (dict(thickness=1.0), dict(interval=0.0), dict(offset=-1.0)):
        with pytest.raises(ValueError):
            T.look_along_z(**bad)


def test_real_thick_slices_are_the_scanner_profile_over_the_object():
    res = T.look_along_z(3.0, 2.0, 0.4, "proposed")
    obj, _, _ = views._rods(48, 0)
    vol, pos, _ = res["series"]["real thick"]
    u, w = T.scanner_ssp(3.0)
    j, y, x = 4, 24, 10
    weights = np.interp(obj.z - pos[j], u, w, left=0.0, right=0.0)  # a literal weighted mean
    want = np.sum(weights * obj.values[:, y * 48 + x]) / np.sum(weights)
    assert vol[j, y, x] == pytest.approx(want, rel=1e-5, abs=1e-3)


def test_live_views_follow_the_sliders():
    import gzip

    import nibabel as nib

    live = T.view_along_z(dict(thickness=3.0, interval=2.0, offset=0.0, method="proposed"),
                          {"offset": (0.0, 4.0, 0.2), "method": ["proposed", "average"]})
    assert len(live.views) == 3 and all(len(v.volumes) == 1 for v in live.views)

    def first_z(i):
        img = nib.Nifti1Image.from_bytes(gzip.decompress(live.views[i].volumes[0].data))
        return img.affine[2, 3], img.affine[2, 2], img.shape[2]

    z0_real, dz, _ = first_z(1)
    assert dz == pytest.approx(2.0)
    live.controls["offset"].value = 1.0  # the real slices and proposed's move by 1 mm
    assert first_z(1)[0] == pytest.approx(z0_real + 1.0) and first_z(2)[0] == pytest.approx(z0_real + 1.0)
    live.controls["method"].value = "average"  # average's groups ignore the offset: 2.4 mm apart
    assert first_z(2)[1] == pytest.approx(2.4)
    assert "average" in live.labels[2].value and "2.4 mm" in live.labels[2].value
    html = T.view_along_z(dict(thickness=3.0, interval=2.0, offset=0.0, method="average"), {"offset": (0.0, 4.0, 0.2)},
                          interactive=False)
    assert 'class="t2t-viewer"' in html.data and "real thick" in html.data
