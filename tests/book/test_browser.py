"""Every page of the smoke book, opened in headless Chromium as a reader would see it.

The book in ``_build/html`` is reused when it is a complete ``smoke`` build of the current
sources (``book/build.py`` writes ``_build/html/.t2t-build.json``; CI runs ``make book
PROFILE=smoke`` before ``make test``); otherwise it is built first (minutes). Set
``T2T_BOOK_HTML`` to test an HTML folder built elsewhere as it is. A screenshot of every page
goes to ``_build/screenshots/`` for a person to look at; the assertions are in
:func:`browser.inspect_page`. The checks themselves are tested on a page broken on purpose.

Skipped, with the reason, only when Chromium or chromedriver is missing on a developer's
machine; in CI (``CI=true``) that is a failure (tests/conftest.py, ``missing``).
"""

from __future__ import annotations

import base64
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.book import browser
from tests.conftest import missing as missing_program

ROOT = Path(__file__).resolve().parents[2]
PROFILE = "smoke"
SCREENSHOTS = ROOT / "_build" / "screenshots"

_spec = importlib.util.spec_from_file_location("t2t_book_build", ROOT / "book" / "build.py")
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)

WHY_NOT = browser.missing_browser()
pytestmark = [pytest.mark.slow]


@pytest.fixture(autouse=True)
def _browser_installed():
    if WHY_NOT is not None:
        missing_program(WHY_NOT)


def _pages() -> list[tuple[str, bool]]:
    """(docname, is a results chapter) for every document of ``_toc.yml``."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf8"))
    results = set()
    for part in toc.get("parts", []):
        if str(part.get("caption", "")).lower().startswith("results"):
            results |= {c["file"] for c in part.get("chapters", [])}
    return [(d, d in results) for d, _ in build.toc_entries()]


@pytest.fixture(scope="session")
def book_html() -> Path:
    given = os.environ.get("T2T_BOOK_HTML")
    if given:
        return Path(given)
    if not build.is_up_to_date(PROFILE):
        proc = subprocess.run([sys.executable, str(ROOT / "book" / "build.py"), "--profile", PROFILE],
                              cwd=ROOT, capture_output=True, text=True, timeout=3 * 3600)
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
            pytest.fail(f"the {PROFILE} book did not build:\n{tail}")
    return build.HTML


@pytest.fixture(scope="session")
def chromium(tmp_path_factory):
    driver = browser.start_chromium(tmp_path_factory.mktemp("chromium-profile"))
    yield driver
    driver.quit()


@pytest.fixture(scope="session")
def served_book(book_html):
    server = browser.Server(book_html)
    yield server.url, book_html
    server.close()


@pytest.mark.parametrize(("docname", "results_chapter"), _pages(), ids=[d for d, _ in _pages()])
def test_page_reads_well(docname, results_chapter, served_book, chromium):
    url, html = served_book
    page = f"{docname}.html"
    assert (html / page).is_file(), f"{page} was not built"
    problems = browser.inspect_page(chromium, url, html, page, results_chapter=results_chapter,
                                    screenshot=SCREENSHOTS / f"{docname}.png")
    assert not problems, f"{page}:\n  " + "\n  ".join(problems)


#: Pages that must carry a linked slice viewer (issue 18): the smoke book has them too.
VIEWER_PAGES = ["notebooks/00_simulation_walkthrough", "notebooks/02_simulation_fidelity", "notebooks/05_sr_training",
                "notebooks/teaching/06_look_along_z"]


@pytest.mark.parametrize("docname", VIEWER_PAGES)
def test_slice_viewer_draws_and_follows(docname, served_book, chromium):
    """The viewer drew every view of every row, PageUp moves every row, no console error."""
    url, html = served_book
    page = f"{docname}.html"
    assert 'class="t2t-viewer"' in (html / page).read_text(encoding="utf8"), f"{page} has no slice viewer"
    browser.console_errors(chromium)  # empty the log
    chromium.get(url + page)
    problems, seen = browser.inspect_viewers(chromium, SCREENSHOTS / "viewers")
    assert seen["before"]["n"] >= 1 and seen["before"]["viewers"], f"{page}: no viewer started"
    assert not problems, f"{page}:\n  " + "\n  ".join(problems)


def test_slice_viewer_works_from_disk(book_html, chromium):
    """Opened from file:// (no server: ES modules and fetch of local files are blocked) the viewer still runs."""
    browser.console_errors(chromium)
    chromium.get((book_html / f"{VIEWER_PAGES[0]}.html").resolve().as_uri())
    problems, seen = browser.inspect_viewers(chromium)
    assert seen["before"]["viewers"] and not problems, problems


def test_viewer_difference_is_the_packages(tmp_path, book_html, chromium):
    """The JavaScript difference (series minus the reference interpolated along z at the series' positions,
    on the display grid) equals t2tcore.figures.viewer.difference, irregular positions included."""
    import shutil

    import numpy as np

    from t2tcore.figures import viewer

    for part in ("niivue", "t2t_viewer.js"):
        src = book_html / "_static" / part
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / "_static" / part)
    rng = np.random.default_rng(3)
    thin_pos = np.concatenate([np.arange(0, 12, 0.8), 13.6 + np.arange(0, 8, 0.4)])  # a gap, then denser
    y, x = np.mgrid[:24, :20]
    thin = np.stack([300 * np.exp(-((y - 12) ** 2 + (x - 8 - 0.4 * z) ** 2) / 20) for z in thin_pos])
    thin = (thin + rng.normal(0, 5, thin.shape)).astype(np.float32)
    thick_pos = np.arange(1.0, 20.0, 2.0)
    thick = thin[np.abs(thin_pos[None, :] - thick_pos[:, None]).argmin(axis=1)] + 17.0
    series = {"thin": (thin, thin_pos, 1.0), "thick": (thick, thick_pos, 3.0)}
    h = viewer.slice_viewer(series, (0.7, 0.6), out_dir=tmp_path, name="diff")
    (tmp_path / "page.html").write_text('<!DOCTYPE html><html><head><meta charset="utf-8">'
                                        '<script src="_static/t2t_viewer.js"></script></head><body>'
                                        + h.data + "</body></html>", encoding="utf8")
    server = browser.Server(tmp_path)
    try:
        chromium.get(server.url + "page.html")
        got = chromium.execute_async_script("""
            const done = arguments[arguments.length - 1];
            (async () => {
              for (let i = 0; i < 300 && !(T2TViewer.viewers.length && T2TViewer.viewers[0].ready); i++)
                await new Promise(r => setTimeout(r, 100));
              const v = T2TViewer.viewers[0];
              await v.ready;
              const d = await v.differenceOf('thick');
              done({diff: Array.from(d), rows: v.byName['thick'].rows});
            })();""")
    finally:
        server.close()
    rows = np.array(got["rows"])
    js = np.array(got["diff"], dtype=float).reshape(rows.size, 24, 20)
    py = viewer.difference(*(viewer.ViewSeries.make(k, series[k]) for k in ("thick", "thin")))
    want = np.where((rows >= 0)[:, None, None], np.nan_to_num(py[np.maximum(rows, 0)]), 0.0)
    assert np.max(np.abs(js - want)) <= 1.0  # the JavaScript works on int16 (rounded) volumes
    assert np.abs(want).max() > 15 and np.count_nonzero(rows < 0) > 0  # something to find, padded rows too


def test_book_links_the_chapters_csv_tables(served_book):
    """Every CSV a chapter wrote is served where its page links it (../results/<stem>/)."""
    _, html = served_book
    written = sorted((build.RESULTS / PROFILE).glob("*/*.csv"))
    if os.environ.get("T2T_BOOK_HTML") or not written:
        pytest.skip("no results of this build to compare with")
    missing = [f"{p.parent.name}/{p.name}" for p in written if not (html / "results" / p.parent.name / p.name).is_file()]
    assert not missing, f"CSV tables not copied into the HTML: {missing}"


# ------------------------------------------------------------- the checks catch defects
_PNG = base64.b64decode(  # a 1 x 1 PNG
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)

_BROKEN = """<!DOCTYPE html><html><head><meta charset="utf-8">
<script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"></script></head>
<body><main>
<h1 id="top">A chapter with every defect the test must catch</h1>
<img src="../figures/missing.png" alt="a figure that is not there">
<div class="cell_output docutils container"><div class="output stderr highlight-myst-ansi notranslate">
<div class="highlight"><pre><span></span>B30 full:   0%|          | 0/2 [00:00&lt;?, ?it/s]</pre></div></div></div>
<div class="output traceback highlight-ipythontb notranslate"><pre>ValueError: boom</pre></div>
<p>Best value: <span>**51.4744 ± 0.7177**</span></p>
<p>What we found (from the tables): * <strong>SR against no network.</strong> Of 20 trained models none wins.</p>
<p>Display math left as text: $$g(p,l,t) = \\max(0, 1 - |p - l| / t)$$</p>
<p>Inline math left as text: the weight is $\\frac{1}{t}$ at most.</p>
<p>A raw command in text: \\lfloor x \\rfloor</p>
<span class="math notranslate nohighlight">\\(x\\)</span>
<a href="missing_page.html">a missing page</a> <a href="#nowhere">a missing anchor</a>
<a href="../good.html#no-such-id">a missing anchor on another page</a>
<div class="cell_input"><div class="highlight"><pre style="white-space: pre; overflow-x: auto; width: 200px">x = 1  # ____________________________________________________________________________________________</pre></div></div>
<div style="width: 3000px">a block wider than the window</div>
</main></body></html>
"""

_GOOD = """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body><main>
<h1 id="a-good-page">A page that reads well</h1>
<img src="pixel.png" alt="one pixel">
<table><tr><th>method</th><th>PSNR</th></tr><tr><td>proposed</td><td><b>51.4744</b> ± 0.7177†</td></tr></table>
<div class="cell_input"><div class="highlight"><pre>y = x**2  # code may say ** and $$ and \\frac</pre></div></div>
<p><a href="notebooks/09_broken.html#top">a link with an anchor</a> and <a href="https://example.org/">elsewhere</a></p>
<p>Volumes are 2 * 3 * 4 voxels; a footnote mark* is fine.</p>
</main></body></html>
"""


def test_the_checks_catch_a_broken_page(tmp_path, chromium):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "09_broken.html").write_text(_BROKEN, encoding="utf8")
    (tmp_path / "good.html").write_text(_GOOD, encoding="utf8")
    (tmp_path / "pixel.png").write_bytes(_PNG)
    server = browser.Server(tmp_path)
    try:
        problems = browser.inspect_page(chromium, server.url, tmp_path, "notebooks/09_broken.html",
                                        results_chapter=True)
        good = browser.inspect_page(chromium, server.url, tmp_path, "good.html", results_chapter=True)
    finally:
        server.close()
    text = "\n".join(problems)
    expected = [
        "image not loaded: ",
        "results chapter without a table",
        "stderr output in the page: 'B30 full:",
        "traceback/error output in the page",
        "literal ** in the rendered text: '**51.4744 ± 0.7177**'",
        "literal '* ' list marker",
        "literal $...$ math",
        "raw LaTeX '\\\\max'",
        "raw LaTeX '\\\\frac'",
        "raw LaTeX '\\\\lfloor'",
        "MathJax not from the vendored copy: https://cdn.jsdelivr.net",
        "broken link 'missing_page.html'",
        "broken anchor '#nowhere'",
        "broken anchor '../good.html#no-such-id'",
        "code cut off on the right",
        "wider than the window",
    ]
    missed = [e for e in expected if e not in text]
    assert not missed, f"the checks missed {missed}; they reported:\n{text}"
    assert good == [], f"false alarms on a good page: {good}"


_STALLED = """<!DOCTYPE html><html><head><meta charset="utf-8">
<script>window.MathJax = {startup: {promise: new Promise(() => {})}};  // a typesetting that never ends</script>
<script src="_static/mathjax/tex-mml-chtml.js"></script></head>
<body><main><h1 id="t">Math that never typesets</h1><span class="math notranslate nohighlight">\\(x\\)</span></main></body></html>
"""


def test_a_page_whose_mathjax_never_finishes_is_reported(tmp_path, chromium):
    """MathJax that never settles is a problem line after a second load, not a script timeout."""
    (tmp_path / "_static" / "mathjax").mkdir(parents=True)
    (tmp_path / "_static" / "mathjax" / "tex-mml-chtml.js").write_text("// stands in for MathJax\n")
    (tmp_path / "stalled.html").write_text(_STALLED, encoding="utf8")
    server = browser.Server(tmp_path)
    try:
        with pytest.warns(UserWarning, match="stalled on the first load"):
            problems = browser.inspect_page(chromium, server.url, tmp_path, "stalled.html", mathjax_limit_s=2)
    finally:
        server.close()
    assert problems == ["MathJax failed to typeset: did not finish typesetting within 2 s"], problems
