"""Issue 14, items 8-9: inputs that would give a meaningless result are refused in one line
(or, for a model outside what it learnt, unless --force), and every command that reads a
DICOM folder can choose its series."""

from __future__ import annotations

import pytest

from t2tcore.cli import main
from t2tcore.io import read_series, write_series
from tests.reliability.conftest import error_line, make_series

_SR = ["--model", "vdsr", "--method", "proposed", "--thickness", "3", "--interval", "2", "--steps", "2",
       "--batch", "2", "--patch", "8", "16", "16", "--no-progress"]



def _thick(thin, step, thickness, name, folder):
    s = thin.derive(thin.volume[::step], thin.positions[::step], thickness=thickness,
                    interval=round(step * 0.8, 6), description=name)
    return write_series(s, folder / name)


def test_thickness_below_the_thin_slices_and_a_single_slice_are_refused(tmp_path, capsys):
    thin = write_series(make_series(n=20), tmp_path / "thin")  # 1 mm slices
    line = error_line(capsys, main(["simulate", str(thin), str(tmp_path / "o"), "--thickness", "0.5", "--interval", "0.5",
                               "--no-progress"]))
    assert "0.5 mm is thinner than the thin series' slices (1 mm)" in line and not (tmp_path / "o").exists()
    one = write_series(make_series(n=1), tmp_path / "one")
    line = error_line(capsys, main(["simulate", str(one), str(tmp_path / "o"), "--thickness", "3", "--interval", "2",
                               "--no-progress"]))
    assert "holds one slice" in line
    line = error_line(capsys, main(["sr", "train", str(thin), "--out", str(tmp_path / "m.pt"), *_SR[:5], "0.5",
                               *_SR[6:]]))
    assert "thinner than the thin series' slices" in line and not (tmp_path / "m.pt").exists()


@pytest.mark.slow
def test_sr_apply_refuses_a_series_the_model_was_not_trained_for_unless_forced(tmp_path, capsys):
    thins = [write_series(make_series(n=30, size=24, seed=s), tmp_path / f"t{s}") for s in range(2)]
    ckpt = tmp_path / "m3.pt"
    assert main(["sr", "train", *map(str, thins), "--out", str(ckpt), *_SR]) == 0
    other = make_series(n=60, size=24, seed=9)
    five = _thick(other, 6, 5.0, "five", tmp_path)  # 5 mm every 4.8 mm
    capsys.readouterr()
    line = error_line(capsys, main(["sr", "apply", str(ckpt), str(five), str(tmp_path / "sr"), "--no-progress"]))
    assert "5 mm slices every 4.8 mm" in line and "trained for 3 mm slices every 2 mm" in line and "--force" in line
    assert not (tmp_path / "sr").exists()
    assert main(["sr", "apply", str(ckpt), str(five), str(tmp_path / "sr"), "--force", "--no-progress"]) == 0
    # the right thickness but another interval is refused too
    three_wide = _thick(other, 5, 3.0, "three_wide", tmp_path)  # 3 mm every 4 mm
    line = error_line(capsys, main(["sr", "apply", str(ckpt), str(three_wide), str(tmp_path / "sr2"), "--no-progress"]))
    assert "every 4 mm" in line and "trained for 3 mm slices every 2 mm" in line


def test_calibrate_with_thin_and_thick_swapped_is_refused(tmp_path, capsys):
    thin_s = make_series(n=20)
    thin = write_series(thin_s, tmp_path / "thin")
    thick = _thick(thin_s, 3, 3.0, "thick", tmp_path)
    line = error_line(capsys, main(["calibrate", str(thick), str(thin), "--out", str(tmp_path / "p.json"), "--no-progress"]))
    assert "swapped" in line and not (tmp_path / "p.json").exists()


def test_series_uid_options_choose_in_folders_holding_several_series(tmp_path, capsys):
    a, b = make_series(n=20, seed=1), make_series(n=20, seed=2)
    both = tmp_path / "both"
    write_series(a, both / "a")
    write_series(b, both / "b")
    uids = {p.name: read_series(both / p.name).series_uid for p in both.iterdir()}
    thick_dir = _thick(read_series(both / "a"), 3, 3.0, "thick", tmp_path)
    # calibrate: the hint names the option that exists, and the option chooses
    line = error_line(capsys, main(["calibrate", str(both), str(thick_dir), "--out", str(tmp_path / "p.json"),
                               "--no-progress"]))
    assert "holds 2 CT image series" in line and "choose one with --series-uid" in line
    assert main(["calibrate", str(both), str(thick_dir), "--out", str(tmp_path / "p.json"), "--series-uid", uids["a"],
                 "--no-progress"]) == 0
    line = error_line(capsys, main(["calibrate", str(thick_dir), str(both), "--out", str(tmp_path / "q.json"),
                               "--no-progress"]))
    assert "choose one with --thick-series-uid" in line
    line = error_line(capsys, main(["calibrate", str(both), str(thick_dir), "--out", str(tmp_path / "q.json"),
                               "--series-uid", uids["a"], "--series-uid", "1.2.3.4", "--no-progress"]))
    assert "--series-uid 1.2.3.4: none of the series read" in line
    # sr train reads one series per folder, chosen by --series-uid (repeatable)
    other = write_series(make_series(n=20, seed=3), tmp_path / "other")
    assert main(["sr", "train", str(both), str(other), "--out", str(tmp_path / "m.pt"), "--series-uid", uids["b"],
                 *_SR[:-7], "--patch", "4", "8", "8", "--steps", "1", "--batch", "1", "--no-progress"]) == 0
    # sr apply: --series-uid for THICK, --match-series-uid for --match
    capsys.readouterr()
    line = error_line(capsys, main(["sr", "apply", str(tmp_path / "m.pt"), str(both), str(tmp_path / "sr"), "--no-progress"]))
    assert "choose one with --series-uid" in line
    line = error_line(capsys, main(["sr", "apply", str(tmp_path / "m.pt"), str(thick_dir), str(tmp_path / "sr"),
                               "--match", str(both), "--no-progress"]))
    assert "choose one with --match-series-uid" in line


def test_a_thickness_wider_than_the_series_and_one_series_given_twice_are_refused(tmp_path, capsys):
    """Hostile report item 19: --thickness 1e9 made 21 identical slices; calibrate THIN THIN made a
    'nominal 1 mm' profile; sr train THIN THIN trained on one series twice."""
    thin = write_series(make_series(n=20), tmp_path / "thin")  # 20 slices 0.8 mm apart, 1 mm thick: 16.2 mm
    line = error_line(capsys, main(["simulate", str(thin), str(tmp_path / "o"), "--thickness", "1e9", "--interval",
                                    "2", "--no-progress"]))
    assert "1e+09 mm is wider than the whole thin series (20 slices cover 16.2 mm)" in line
    assert not (tmp_path / "o").exists()
    assert main(["simulate", str(thin), str(tmp_path / "o"), "--thickness", "16", "--interval", "2",
                 "--no-progress"]) == 0  # within the series: still made
    line = error_line(capsys, main(["calibrate", str(thin), str(thin), "--out", str(tmp_path / "p.json"),
                                    "--no-progress"]))
    assert "is the same series as" in line and not (tmp_path / "p.json").exists()
    link = tmp_path / "again"
    link.symlink_to(thin)
    line = error_line(capsys, main(["sr", "train", str(thin), str(link), "--out", str(tmp_path / "m.pt"), *_SR]))
    assert f"{link} is the same series as {thin}" in line and not (tmp_path / "m.pt").exists()


def test_a_blur_wider_than_the_images_is_refused_before_any_memory_is_asked(tmp_path, capsys):
    """Hostile report item 8: --sigma 1e9 asked numpy for 59.6 GiB (traceback; "out of memory" in pairs)."""
    thin = write_series(make_series(n=20), tmp_path / "thin")  # 16 x 16 px
    line = error_line(capsys, main(["simulate", str(thin), str(tmp_path / "o"), "--thickness", "3", "--method",
                                    "gaussian", "--sigma", "1e9", "--no-progress"]))
    assert "sigma 1e+09 pixels is wider than the images (16 x 16 px)" in line and not (tmp_path / "o").exists()
    assert main(["simulate", str(thin), str(tmp_path / "o"), "--thickness", "3", "--method", "gaussian", "--sigma",
                 "16", "--no-progress"]) == 0


@pytest.mark.slow
def test_sr_apply_match_keeps_the_training_spacing_guard(tmp_path, capsys):
    """Hostile report item 4: --interval 0.4 was refused, --match of a 0.4 mm series was not."""
    thins = [write_series(make_series(n=30, size=24, seed=s), tmp_path / f"t{s}") for s in range(2)]
    ckpt = tmp_path / "m.pt"
    assert main(["sr", "train", *map(str, thins), "--out", str(ckpt), *_SR]) == 0  # thin every 0.8 mm
    src = make_series(n=60, size=24, seed=9, spacing=0.4)
    thick = _thick(src, 5, 3.0, "thick", tmp_path)  # 3 mm every 2 mm
    fine = write_series(src, tmp_path / "fine04")  # the real thin series, 0.4 mm apart
    capsys.readouterr()
    line = error_line(capsys, main(["sr", "apply", str(ckpt), str(thick), str(tmp_path / "sr"), "--match", str(fine),
                                    "--no-progress"]))
    assert "0.4 mm apart" in line and "every 0.8 mm" in line and "--force" in line and "force=True" not in line
    assert not (tmp_path / "sr").exists()
    assert main(["sr", "apply", str(ckpt), str(thick), str(tmp_path / "sr"), "--match", str(fine), "--force",
                 "--no-progress"]) == 0
