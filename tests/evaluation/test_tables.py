"""Tests of t2tcore.evaluation.tables: bold cells in HTML, the paper's cells, CSV downloads."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from t2tcore.evaluation import stats, tables


class _Cells(HTMLParser):
    """Reads a Styler's HTML: the text of each <td> and the CSS rules of the <style> block."""

    def __init__(self):
        super().__init__()
        self.cells, self.ids, self.css = [], [], ""
        self._in_td = self._in_style = False

    def handle_starttag(self, tag, attrs):
        if tag == "td":
            self._in_td = True
            self.cells.append("")
            self.ids.append(dict(attrs).get("id"))
        elif tag == "style":
            self._in_style = True

    def handle_endtag(self, tag):
        if tag == "td":
            self._in_td = False
        elif tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_td:
            self.cells[-1] += data
        elif self._in_style:
            self.css += data


def _bold_cells(html: str) -> list[str]:
    """Texts of the <td> cells whose id a CSS rule with font-weight: bold names."""
    p = _Cells()
    p.feed(html)
    bold_ids = set()
    for selectors, body in re.findall(r"([^{}]+)\{([^}]*)\}", p.css):
        if "font-weight: bold" in body:
            bold_ids.update(re.findall(r"#(T_[\w-]+)", selectors))
    return [c.strip().replace("\xa0", " ") for c, i in zip(p.cells, p.ids) if i in bold_ids]


def _all_cells(html: str) -> list[str]:
    p = _Cells()
    p.feed(html)
    return [c.strip().replace("\xa0", " ") for c in p.cells]


def test_style_table_makes_exactly_the_chosen_cells_bold():
    cells = pd.DataFrame({"psnr": ["40.1 ± 1.0", "45.2 ± 0.5"], "rmse": ["0.02", "0.01"]}, index=["a", "b"])
    bold = pd.DataFrame({"psnr": [False, True], "rmse": [False, True]}, index=["a", "b"])
    html = tables.style_table(cells, bold=bold).to_html()
    assert _bold_cells(html) == ["45.2 ± 0.5", "0.01"]
    assert "**" not in html
    # a narrow page may break a "mean ± std" cell before the "±" only (no-break space after it)
    assert "45.2 ±\xa00.5" in html and "45.2 ± 0.5" not in html
    # the input is not modified, and a table without bold cells has none
    assert cells.loc["a", "psnr"] == "40.1 ± 1.0"
    assert _bold_cells(tables.style_table(cells).to_html()) == []


def test_style_table_two_tables_on_one_page_do_not_share_their_bold_cells():
    a = pd.DataFrame({"x": ["1", "2"]})
    b = pd.DataFrame({"x": ["3", "4"]})
    ha = tables.style_table(a, bold=pd.DataFrame({"x": [True, False]})).to_html()
    hb = tables.style_table(b, bold=pd.DataFrame({"x": [False, False]})).to_html()
    # the CSS ids of the first table's bold cell must not name any cell of the second
    ids_a = set(re.findall(r'id="(T_[\w-]+)"', ha))
    ids_b = set(re.findall(r'id="(T_[\w-]+)"', hb))
    assert ids_a and not (ids_a & ids_b)
    # and the same table gives the same HTML twice (no random ids in executed notebooks)
    assert tables.style_table(a).to_html() == tables.style_table(a).to_html()


def test_style_table_formats_numbers_escapes_text_and_captions():
    cells = pd.DataFrame({"v": [1.23456, np.nan], "name": ["<b>x</b>", "y"], "n": [3, 12]})
    html = tables.style_table(cells, precision=2, caption="data: <virtual>").to_html()
    got = _all_cells(html)
    assert got == ["1.23", "<b>x</b>", "3", "—", "y", "12"]  # parsed text: the tag is shown, not applied
    assert "&lt;b&gt;" in html and "data: &lt;virtual&gt;" in html


def test_style_table_rejects_bold_labels_the_table_lacks():
    cells = pd.DataFrame({"x": [1.0]}, index=["a"])
    with pytest.raises(ValueError, match="labels that the table lacks"):
        tables.style_table(cells, bold=pd.DataFrame({"y": [True]}, index=["a"]))
    with pytest.raises(ValueError, match="DataFrame"):
        tables.style_table([[1, 2]])


def test_mean_std_formats_like_the_paper():
    assert tables.mean_std(40.66234, 3.12641) == "40.6623 ± 3.1264"
    assert tables.mean_std(0.5, float("nan"), 2) == "0.50"
    assert tables.mean_std(float("nan"), 1.0) == "—"


def _per_patient():
    # 6 patients: "proposed" beats "average" on every patient (p = 2 / 2**6 = 0.03125 < 0.05)
    rows = []
    for i in range(6):
        rows.append({"patient": f"P{i}", "method": "proposed", "psnr": 50.0 + i, "rmse": 0.01})
        rows.append({"patient": f"P{i}", "method": "average", "psnr": 45.0 + i, "rmse": 0.02 + 0.001 * i})
    return pd.DataFrame(rows)


def test_summary_cells_against_hand_computed_values():
    df = _per_patient()
    st = stats.summary_stats(df, ["psnr", "rmse"], group_cols=())
    cells, bold = tables.summary_cells(st)
    psnr_p = np.arange(6) + 50.0
    rmse_a = 0.02 + 0.001 * np.arange(6)
    assert cells.loc["proposed", "psnr"] == f"{psnr_p.mean():.4f} ± {psnr_p.std(ddof=1):.4f}"
    # every difference has one sign with 6 patients: p = 0.03125, so the baseline gets a dagger
    assert cells.loc["average", "rmse"] == f"{rmse_a.mean():.4f} ± {rmse_a.std(ddof=1):.4f}†"
    assert not cells.loc["proposed", "psnr"].endswith("†")
    assert bold.loc["proposed"].all() and not bold.loc["average"].any()
    assert list(cells.index) == ["proposed", "average"] and list(cells.columns) == ["psnr", "rmse"]
    html = tables.style_summary(st).to_html()
    assert sorted(_bold_cells(html)) == sorted(cells.loc["proposed"].tolist())


def test_summary_cells_rejects_two_rows_per_cell_and_missing_columns():
    st = pd.DataFrame({"method": ["a", "a"], "metric": ["psnr", "psnr"], "mean": [1.0, 2.0], "std": [0.1, 0.1],
                       "significant": [False, False], "best": [True, False]})
    with pytest.raises(ValueError, match="more than one row"):
        tables.summary_cells(st)
    with pytest.raises(ValueError, match="missing"):
        tables.summary_cells(st.drop(columns="best"))


def test_csv_download_writes_the_table_and_links_it_by_the_book_convention(tmp_path):
    out = tmp_path / "results" / "quick" / "02_simulation_fidelity"
    df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    link = tables.csv_download(df, out, "per_patient", text="all rows")
    assert (out / "per_patient.csv").is_file()
    pd.testing.assert_frame_equal(pd.read_csv(out / "per_patient.csv"), df)
    assert str(link) == '<a href="../results/02_simulation_fidelity/per_patient.csv" download>all rows</a>'
    assert link._repr_html_() == str(link)
    # no temporary file is left behind
    assert sorted(p.name for p in out.iterdir()) == ["per_patient.csv"]
    bar = tables.download_links([link, tables.csv_download(df, out, "b.csv")], "CSV:")
    assert bar.startswith("<p>CSV: ") and bar.count("<a ") == 2 and "b.csv" in bar


@pytest.mark.parametrize("name", ["", "../x", "sub/x.csv"])
def test_csv_download_rejects_names_with_folders(tmp_path, name):
    with pytest.raises(ValueError, match="plain file name"):
        tables.csv_download(pd.DataFrame({"a": [1]}), tmp_path, name)


def test_style_table_index_sep_flattens_row_labels_and_keeps_bold_cells():
    idx = pd.MultiIndex.from_tuples([("pitch", 0.5, "full"), ("pitch", 1.5, "full")], names=["axis", "value", "dose"])
    cells = pd.DataFrame({"rmse": [4.0, 5.0]}, index=idx)
    html = tables.style_table(cells, bold=cells.eq(cells.min()), index_sep=" ").to_html()
    assert "pitch 0.5 full" in html and "pitch 1.5 full" in html and "0.500000" not in html
    assert _bold_cells(html) == ["4.0000"]
    # without index_sep the levels stay separate, floats still as {:g}
    plain = tables.style_table(cells).to_html()
    assert "pitch 0.5 full" not in plain and ">0.5<" in plain
