"""The slice viewer's data: display grids, differences, crops and the NIfTI files it embeds.

The browser side (NiiVue drawing, linked rows, the JavaScript difference against
:func:`viewer.difference`) is checked in ``tests/book/test_browser.py``.
"""

import base64
import gzip
import json
import re

import nibabel as nib
import numpy as np
import pytest

from t2tcore.figures import viewer
from t2tcore.io import read_series


def _irregular():
    return np.concatenate([np.arange(0, 4, 0.8), 5.2 + np.arange(0, 2, 0.4)])  # a gap, then denser


def test_display_grid_keeps_regular_positions_and_pads_to_the_span():
    pos = 1.0 + 2.0 * np.arange(5)  # 1 ... 9 mm
    z, rows, regular = viewer.display_grid(pos)
    assert regular and np.array_equal(z, pos) and np.array_equal(rows, np.arange(5))
    z, rows, regular = viewer.display_grid(pos, span=(-3.2, 12.0))
    assert regular
    np.testing.assert_allclose(z, [-3.0, -1.0, *pos, 11.0])  # whole steps of 2 mm, phase kept
    assert rows.tolist() == [-1, -1, 0, 1, 2, 3, 4, -1]


def test_display_grid_of_irregular_positions_is_nearest_neighbour():
    pos = _irregular()
    z, rows, regular = viewer.display_grid(pos)
    assert not regular
    np.testing.assert_allclose(np.diff(z), 0.2)  # half the smallest spacing
    for zi, r in zip(z, rows):  # literal nearest slice
        assert abs(pos[r] - zi) == pytest.approx(np.min(np.abs(pos - zi)))
    z, rows, _ = viewer.display_grid(pos, span=(-1.0, pos[-1]))
    assert np.all(rows[z < pos[0] - 0.1 - 1e-9] == -1) and rows[-1] == pos.size - 1


def test_difference_is_linear_interpolation_along_z_of_the_reference():
    rng = np.random.default_rng(0)
    ref_pos = _irregular()
    ref = rng.normal(size=(ref_pos.size, 3, 4)).astype(np.float32)
    pos = np.array([-0.5, 0.3, 2.9, 4.6, 6.0, 6.9])
    vol = rng.normal(size=(pos.size, 3, 4)).astype(np.float32)
    got = viewer.difference(viewer.ViewSeries("s", vol, pos), viewer.ViewSeries("r", ref, ref_pos))
    for k, p in enumerate(pos):
        if p < ref_pos[0] or p > ref_pos[-1]:
            assert np.all(np.isnan(got[k]))
            continue
        for y in range(3):
            for x in range(4):
                assert got[k, y, x] == pytest.approx(vol[k, y, x] - np.interp(p, ref_pos, ref[:, y, x]), abs=1e-5)
    with pytest.raises(ValueError, match="in-plane"):
        viewer.difference(viewer.ViewSeries("s", vol[:, :2], pos), viewer.ViewSeries("r", ref, ref_pos))


def test_crop_box_holds_most_of_the_weight():
    w = np.zeros((40, 50))
    w[30:36, 2:8] = 1.0
    ys, xs = viewer.crop_box(w.shape, (10, 12), w)
    assert ys.stop - ys.start == 10 and xs.stop - xs.start == 12
    assert w[ys, xs].sum() == w.sum()
    ys, xs = viewer.crop_box(w.shape, (100, 12), None)  # clipped to the image, centred
    assert (ys.start, ys.stop) == (0, 40) and (xs.start, xs.stop) == (19, 31)


def _series():
    rng = np.random.default_rng(1)
    y, x = np.mgrid[:40, :32]
    thin_pos = np.arange(0, 16, 0.8)
    body = np.where(np.hypot(y - 20, x - 16) < 14, 40.0, -1000.0)
    thin = np.stack([body + 200 * (np.hypot(y - 20, x - 10 - 0.5 * z) < 3) for z in thin_pos])
    thin = (thin + rng.normal(0, 8, thin.shape)).astype(np.float32)
    thick_pos = np.arange(1.0, 15.0, 2.0)
    thick = np.stack([body + 200 * (np.hypot(y - 20, x - 10 - 0.5 * z) < 3) for z in thick_pos]).astype(np.float32)
    return {"thin": (thin, thin_pos, 1.0), "thick": (thick, thick_pos, 3.0)}


def test_viewer_data_embeds_int16_nifti_at_each_series_own_positions(tmp_path):
    series = _series()
    data = viewer.viewer_data(series, (0.7, 0.6), out_dir=tmp_path, name="My viewer")
    assert data["id"] == "t2t-viewer-my_viewer" and data["reference"] == "thin" and data["show"] == ["thin", "thick"]
    assert set(data["windows"]) >= {"lung", "soft tissue", "bone"} and data["windows"]["lung"] == [-600.0, 1500.0]
    span = (0.0, series["thin"][1][-1])
    for desc in data["series"]:
        vol, pos, thick = series[desc["name"]]
        raw = base64.b64decode(desc["nii"])
        assert (tmp_path / "my_viewer" / desc["file"]).read_bytes() == raw  # what was written is what is embedded
        img = nib.Nifti1Image.from_bytes(gzip.decompress(raw))
        assert img.get_data_dtype() == np.int16
        z, rows, _ = viewer.display_grid(pos, span=span)
        assert img.affine[2, 2] == pytest.approx(z[1] - z[0]) and img.affine[2, 3] == pytest.approx(z[0])
        # the package reads the file back on the same positions, with the slices it was given
        s = read_series(tmp_path / "my_viewer" / desc["file"])
        np.testing.assert_allclose(s.positions, z, atol=1e-4)
        keep = rows >= 0
        np.testing.assert_allclose(s.volume[keep], np.rint(vol[rows[keep]]), atol=0.5)
        assert np.all(s.volume[~keep] == viewer.NO_SLICE_HU)
        assert desc["slice_rows"] == [int(np.argmin(np.abs(z - p))) for p in pos]
    assert "3 mm, every 2 mm, on their own positions" in data["series"][1]["info"]


def test_viewer_data_shrinks_the_crop_to_the_budget_and_starts_where_the_focus_differs(tmp_path):
    series = _series()
    full = viewer.viewer_data(series, 0.7, out_dir=tmp_path, name="a")
    small = viewer.viewer_data(series, 0.7, out_dir=tmp_path, name="b", max_mb=full["bytes"] * 4 / 3 / 1e6 / 3)
    assert small["bytes"] * 4 / 3 <= full["bytes"] * 4 / 3 / 3 * 1.05
    y0, y1, x0, x1 = small["crop"]
    assert (y1 - y0) * (x1 - x0) < 40 * 32
    thin, pos, _ = series["thin"]
    other = thin.copy()
    other[9, 14:18, 20:24] += 500.0  # the two series differ in one place inside the body
    other[3, 0:3, 0:3] += 900.0  # and more, outside it (the field's edge): not where to look
    data = viewer.viewer_data({"thin": series["thin"], "other": (other, pos)}, 0.7, focus=("thin", "other"),
                              out_dir=tmp_path, name="c")
    x, y, z = data["start"]
    y0, _, x0, _ = data["crop"]
    assert z == pytest.approx(pos[9]) and 14 <= y + y0 <= 17 and 20 <= x + x0 <= 23


def test_viewer_data_rejects_what_it_cannot_show(tmp_path):
    series = _series()
    with pytest.raises(ValueError, match="reference"):
        viewer.viewer_data(series, 0.7, reference="nope", out_dir=tmp_path)
    with pytest.raises(ValueError, match="in-plane"):
        viewer.viewer_data({**series, "bad": (np.zeros((3, 5, 5)), [0, 1, 2])}, 0.7, out_dir=tmp_path)
    with pytest.raises(ValueError, match="increasing"):
        viewer.viewer_data({"x": (np.zeros((3, 5, 5)), [0, 2, 1])}, 0.7, out_dir=tmp_path)
    with pytest.raises(ValueError, match="window"):
        viewer.viewer_data(series, 0.7, window="brain", out_dir=tmp_path)
    with pytest.raises(ValueError, match="slice_mm"):
        viewer.viewer_data({"x": np.zeros((3, 5, 5))}, 0.7, out_dir=tmp_path)


def test_slice_viewer_html_has_the_note_the_caption_and_its_data(tmp_path):
    h = viewer.slice_viewer(_series(), 0.7, caption="Look at the rod.", out_dir=tmp_path, name="v")
    text = h.data
    assert 'class="t2t-viewer"' in text and viewer.VIEWER_NOTE in text and "Look at the rod." in text
    payload = re.search(r'<script type="application/json" id="t2t-viewer-v-data">(.*?)</script>', text, re.S)
    data = json.loads(payload.group(1))
    assert [s["name"] for s in data["series"]] == ["thin", "thick"] and "files" not in data
    assert "niivue/niivue.umd.js" in text and "t2t_viewer.js" in text  # loaded as classic scripts
    assert "type=\"module\"" not in text and "fetch(" not in text
