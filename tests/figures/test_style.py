"""Shared figure style: one colour per method, column-wide figures, PNG files."""

import pytest

from t2tcore.figures import TEXT_WIDTH_IN, style


def test_method_style_is_fixed_per_method():
    assert style.method_style("proposed") == {"color": "C0", "marker": "o"}
    assert style.method_style("calibrated")["color"] == "C5"
    assert style.method_style("real")["color"] == "k"
    colours = [style.method_style(m)["color"] for m in style.METHOD_ORDER]
    assert len(set(colours)) == len(colours)


def test_new_figure_fits_the_column_and_save_writes_a_png(tmp_path):
    fig = style.new_figure(2.0)
    assert tuple(fig.get_size_inches()) == pytest.approx((TEXT_WIDTH_IN, 2.0))
    with pytest.raises(ValueError, match="width"):
        style.new_figure(2.0, width=TEXT_WIDTH_IN + 1)
    fig.subplots().plot([0, 1], [0, 1])
    assert style.save(fig, tmp_path / "out", "a") is fig
    data = (tmp_path / "out" / "a.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["a.png"]
    with pytest.raises(ValueError, match="plain file name"):
        style.save(fig, tmp_path, "../a")
