"""Result tables as a reader sees them: styled HTML tables and CSV downloads.

The book's pages are static HTML. A Markdown ``**bold**`` inside an HTML table does not
render, so tables are styled with CSS through :class:`pandas.io.formats.style.Styler`
(which every notebook front end and Jupyter Book render as HTML):

* :func:`style_table` — any table of cells, with chosen cells in bold and a caption (the
  caption says what data made the table);
* :func:`summary_cells` and :func:`style_summary` — the paper's "mean ± std†" cells from the
  long-form statistics of :func:`t2tcore.evaluation.stats.summary_stats`, the best value of
  each metric in bold;
* :func:`csv_download` — write a full table as CSV into a chapter's ``out_dir`` and get the
  HTML link a page shows for it (the book build copies ``_build/results/<profile>/<stem>/*.csv``
  to ``_build/html/results/<stem>/``, and pages live in ``_build/html/notebooks/``, so the
  link is ``../results/<stem>/<file>.csv``).

Nothing here computes a result: the functions only format what the study functions made.
"""

from __future__ import annotations

import hashlib
import html
import math
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "DAGGER",
    "HtmlText",
    "csv_download",
    "download_links",
    "mean_std",
    "style_summary",
    "style_table",
    "summary_cells",
]

#: Mark of a significant difference against the reference method (p < alpha), as in the paper.
DAGGER = "†"

# Cell text of a missing value.
_NA = "—"


class HtmlText(str):
    """A string of HTML that Jupyter (and so the book) displays as HTML, not as text."""

    def _repr_html_(self) -> str:
        return str(self)


def _uuid(*parts: Any) -> str:
    # Styler gives its cells CSS ids "T_<uuid>_row<i>_col<j>": two tables on one page with
    # the same uuid would share their bold cells. A hash of the content is unique per table
    # and the same on every run (no random ids in the executed notebooks).
    h = hashlib.sha1()
    for p in parts:
        h.update(repr(p).encode("utf8"))
    return h.hexdigest()[:10]


def _label(v: Any) -> str:
    """A row label as text: floats as ``{:g}``."""
    return f"{v:g}" if isinstance(v, (float, np.floating)) else str(v)


def _cell_formatter(precision: int):
    # A long "mean ± std" cell may break only before its "±" (a no-break space follows it),
    # so that wide tables wrap into two-line cells instead of overflowing the text column.
    def fmt(v: Any) -> str:
        if isinstance(v, (float, np.floating)):
            return _NA if not math.isfinite(v) else f"{v:.{precision}f}"
        if v is None or v is pd.NA:
            return _NA
        if isinstance(v, str):
            return v.replace(" ± ", " ±\u00a0")
        return str(v)

    return fmt


def style_table(
    cells: pd.DataFrame,
    *,
    bold: pd.DataFrame | None = None,
    caption: str | None = None,
    precision: int = 4,
    hide_index: bool = False,
    index_sep: str | None = None,
):
    """An HTML table with chosen cells in bold (CSS ``font-weight``), ready to display.

    Parameters
    ----------
    cells : DataFrame
        What each cell shows: strings (e.g. ``"40.6623 ± 3.1264†"``; a narrow page breaks
        such a cell before its "±" only) or numbers (floats with ``precision`` decimals,
        integers as they are); missing values show as "—". Any index and columns,
        MultiIndex included. Not modified.
    bold : DataFrame of bool, optional
        True where a cell is bold (e.g. the best value of a column). Aligned to ``cells`` by
        labels; labels it lacks are not bold.
    caption : str, optional
        Shown above the table (plain text, escaped): say what data made it.
    precision : int
        Decimals of numeric cells.
    hide_index : bool
        Leave the row labels out.
    index_sep : str, optional
        Show a MultiIndex of rows as one column, its levels joined with this separator
        (e.g. ``"pitch 0.5 full"``), which keeps wide tables inside the text column. Row
        labels that are floats show as ``{:g}`` (0.5, not 0.500000).

    Returns
    -------
    pandas.io.formats.style.Styler
        Displays as HTML in a notebook; ``.to_html()`` gives the HTML string.

    Raises
    ------
    ValueError
        If ``cells`` is not a DataFrame, or ``bold`` has labels that are not in ``cells``.
    """
    if not isinstance(cells, pd.DataFrame):
        raise ValueError(f"cells must be a pandas DataFrame, got {type(cells).__name__}")
    if bold is not None:
        if not isinstance(bold, pd.DataFrame):
            raise ValueError(f"bold must be a DataFrame of bool, got {type(bold).__name__}")
        extra_rows = bold.index.difference(cells.index)
        extra_cols = bold.columns.difference(cells.columns)
        if len(extra_rows) or len(extra_cols):
            raise ValueError(
                f"bold has labels that the table lacks: rows {list(extra_rows)}, columns {list(extra_cols)}"
            )
        mask = bold.reindex(index=cells.index, columns=cells.columns).eq(True)
    else:
        mask = pd.DataFrame(False, index=cells.index, columns=cells.columns)
    if index_sep is not None and isinstance(cells.index, pd.MultiIndex):
        flat = pd.Index([index_sep.join(_label(v) for v in key) for key in cells.index],
                        name=index_sep.join(str(n) for n in cells.index.names if n is not None) or None)
        cells = cells.set_axis(flat, axis=0)
        mask = mask.set_axis(flat, axis=0)
    styler = cells.style.set_uuid(_uuid(cells.to_dict("split"), mask.to_numpy().tolist(), caption))
    styler = styler.format(_cell_formatter(precision), escape="html")
    styler = styler.format_index(_label, axis=0, escape="html")
    css = np.where(mask.to_numpy(), "font-weight: bold", "")
    styler = styler.apply(lambda _: pd.DataFrame(css, index=cells.index, columns=cells.columns), axis=None)
    styler = styler.set_table_styles(
        [
            {"selector": "", "props": "font-size: 0.85em;"},
            {"selector": "caption", "props": "caption-side: top; text-align: left; padding: 0.3em 0;"},
            {"selector": "td", "props": "text-align: right; padding: 0.15em 0.5em;"},
            {"selector": "th", "props": "padding: 0.15em 0.5em;"},
        ]
    )
    if caption:
        styler = styler.set_caption(html.escape(caption))
    if hide_index:
        styler = styler.hide(axis="index")
    return styler


def mean_std(mean: float, std: float, decimals: int = 4) -> str:
    """``"mean ± std"`` with ``decimals`` decimals; just the mean when std is not finite.

    Parameters
    ----------
    mean, std : float
        A value and its standard deviation (NaN for one sample).
    decimals : int

    Returns
    -------
    str
        ``"40.6623 ± 3.1264"``, ``"40.6623"`` (no std) or "—" (no mean).
    """
    if mean is None or not math.isfinite(float(mean)):
        return _NA
    if std is None or not math.isfinite(float(std)):
        return f"{float(mean):.{decimals}f}"
    return f"{float(mean):.{decimals}f} ± {float(std):.{decimals}f}"


def _labels(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def summary_cells(
    stats: pd.DataFrame,
    *,
    index: str | Sequence[str] = "method",
    columns: str | Sequence[str] = "metric",
    decimals: int = 4,
    dagger: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The paper's "mean ± std†" cells, and where the best values are.

    Parameters
    ----------
    stats : DataFrame
        Long form with columns ``mean``, ``std``, ``significant``, ``best`` and the label
        columns named by ``index`` and ``columns``, one row per cell:
        :func:`t2tcore.evaluation.stats.summary_stats` (select one group first, or put the
        group columns into ``index``).
    index, columns : str or sequence of str
        Columns of ``stats`` that label the rows and the columns of the table (in order of
        first appearance).
    decimals : int
        Decimals of mean and std.
    dagger : bool
        Append :data:`DAGGER` where ``significant`` is True.

    Returns
    -------
    cells : DataFrame of str
    bold : DataFrame of bool
        ``best`` of each cell; pass both to :func:`style_table`.

    Raises
    ------
    ValueError
        If columns are missing or two rows of ``stats`` fall on one cell.
    """
    rows, cols = _labels(index), _labels(columns)
    need = [*rows, *cols, "mean", "std", "significant", "best"]
    missing = [c for c in need if c not in stats.columns]
    if missing:
        raise ValueError(f"columns missing from the statistics: {missing}")
    dup = stats.duplicated([*rows, *cols])
    if dup.any():
        raise ValueError(f"more than one row per cell, e.g. {stats.loc[dup, [*rows, *cols]].iloc[0].to_dict()}")
    text = [
        mean_std(m, s, decimals) + (DAGGER if dagger and bool(sig) else "")
        for m, s, sig in zip(stats["mean"], stats["std"], stats["significant"])
    ]
    long = stats[[*rows, *cols]].assign(_cell=text, _best=stats["best"].astype(bool).to_numpy())
    cells = long.pivot(index=rows, columns=cols, values="_cell")
    bold = long.pivot(index=rows, columns=cols, values="_best")
    row_order = long[rows].drop_duplicates()
    col_order = long[cols].drop_duplicates()
    ri = pd.MultiIndex.from_frame(row_order) if len(rows) > 1 else pd.Index(row_order[rows[0]], name=rows[0])
    ci = pd.MultiIndex.from_frame(col_order) if len(cols) > 1 else pd.Index(col_order[cols[0]], name=cols[0])
    cells = cells.reindex(index=ri, columns=ci)
    bold = bold.reindex(index=ri, columns=ci).eq(True)
    return cells, bold


def style_summary(
    stats: pd.DataFrame,
    *,
    index: str | Sequence[str] = "method",
    columns: str | Sequence[str] = "metric",
    decimals: int = 4,
    caption: str | None = None,
):
    """:func:`summary_cells` shown with :func:`style_table`: "mean ± std†", best in bold.

    Parameters
    ----------
    stats, index, columns, decimals
        As in :func:`summary_cells`.
    caption : str, optional
        As in :func:`style_table`.

    Returns
    -------
    pandas.io.formats.style.Styler
    """
    cells, bold = summary_cells(stats, index=index, columns=columns, decimals=decimals)
    return style_table(cells, bold=bold, caption=caption)


def csv_download(
    table: pd.DataFrame,
    out_dir: str | os.PathLike,
    name: str,
    *,
    text: str | None = None,
    index: bool = False,
) -> HtmlText:
    """Write a table as CSV into a chapter's ``out_dir`` and return the page's link to it.

    The file is written whole or not at all (a temporary file in ``out_dir``, renamed at
    the end). The link follows the book's convention: ``out_dir`` is
    ``_build/results/<profile>/<stem>``, the build copies its CSV files to
    ``_build/html/results/<stem>/``, and pages are in ``_build/html/notebooks/``, so the
    link is ``../results/<stem>/<name>``.

    Parameters
    ----------
    table : DataFrame
        Not modified.
    out_dir : str or os.PathLike
        The chapter's output folder (created if missing); its last part is ``<stem>``.
    name : str
        File name; ``.csv`` is added when missing. A plain name, no folders.
    text : str, optional
        Link text (default the file name).
    index : bool
        Write the index as well (for tables whose row labels are data).

    Returns
    -------
    HtmlText
        ``<a href="../results/<stem>/<name>" download>text</a>``, displayed as a link.

    Raises
    ------
    ValueError
        If ``name`` names a folder or is empty, or ``table`` is not a DataFrame.
    """
    if not isinstance(table, pd.DataFrame):
        raise ValueError(f"table must be a pandas DataFrame, got {type(table).__name__}")
    if not name or Path(name).name != name or name in (".", ".."):
        raise ValueError(f"name must be a plain file name, got {name!r}")
    if not name.endswith(".csv"):
        name += ".csv"
    from t2tcore.io import staging_file

    out = Path(out_dir)
    tmp = staging_file(out / name)
    try:
        table.to_csv(tmp, index=index)
        os.replace(tmp, out / name)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    href = f"../results/{out.resolve().name}/{name}"
    return HtmlText(
        f'<a href="{html.escape(href, quote=True)}" download>{html.escape(text or name)}</a>'
    )


def download_links(links: Sequence[str], label: str = "Download (CSV):") -> HtmlText:
    """Several :func:`csv_download` links on one line after ``label``.

    Parameters
    ----------
    links : sequence of str
        HTML links (from :func:`csv_download`).
    label : str
        Plain text before them (escaped).

    Returns
    -------
    HtmlText
    """
    return HtmlText(f"<p>{html.escape(label)} " + " · ".join(str(x) for x in links) + "</p>")
