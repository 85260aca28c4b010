"""Opening book pages in headless Chromium and listing what a reader would see wrong.

Used by ``test_browser.py``. Selenium drives Debian's ``chromium`` through Debian's
``chromedriver`` (same package version, so the WebDriver and the browser always match;
Selenium's own driver download is never used). Pages are served over HTTP from a thread on
localhost, as a reader's browser gets them from a web server: MathJax loads its lazily
imported components and fonts by URL, which ``file://`` pages may not be allowed to do.

:func:`inspect_page` returns one line per problem; an empty list means the page is fine.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
import warnings
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

CHROMIUM = os.environ.get("T2T_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("T2T_CHROMEDRIVER", "/usr/bin/chromedriver")
# flags that keep Chromium from reaching for the (closed) network and stalling; WebGL2 (the slice
# viewers) runs on SwiftShader, Chromium's software renderer, which it asks to be opted in to
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--window-size=1280,900", "--enable-unsafe-swiftshader")
#: Where MathJax must come from: the copy book/build.py vendors into the HTML.
MATHJAX_LOCAL = "_static/mathjax/tex-mml-chtml.js"


def missing_browser() -> str | None:
    """Why the browser test cannot run here (no Chromium or chromedriver), or None when it can.

    A missing ``selenium`` is not a reason to skip: it is a dependency of the ``dev`` extra,
    and :func:`start_chromium` fails with a clear message without it.
    """
    for path, what in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromedriver")):
        if not (Path(path).is_file() or shutil.which(path)):
            return f"{what} not found at {path} (Debian: apt-get install chromium chromium-driver)"
    return None


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # no request log on the test's stderr
        pass


class Server:
    """``root`` served over HTTP on 127.0.0.1 (a free port) from a daemon thread."""

    def __init__(self, root: Path):
        handler = functools.partial(_QuietHandler, directory=str(root))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def start_chromium(user_data_dir: Path):
    """A headless Chromium WebDriver with a fresh profile in ``user_data_dir``."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as exc:
        raise RuntimeError("selenium is not installed: pip install -e '.[dev]' (or pip install selenium)") from exc

    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which(CHROMIUM) or CHROMIUM
    for flag in CHROMIUM_FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={user_data_dir}")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # console messages, for console_errors()
    driver = webdriver.Chrome(service=Service(shutil.which(CHROMEDRIVER) or CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(180)  # a loaded 2-core CI machine can be slow
    # selenium's own HTTP wait for chromedriver is 120 s: shorter than the page-load limit, it timed
    # out first on a loaded 2-core machine (urllib3 ReadTimeoutError on the first page)
    driver.command_executor.client_config.timeout = 400
    driver.set_script_timeout(180)  # a page waits for MathJax (90 s at most) and its viewers; slow on a loaded machine
    return driver


# What the page reports about itself (run in the page after it has loaded). Text checks skip
# code (inputs and printed outputs, where `**` and `\n` are legitimate), MathJax's output and
# the source of the math it typesets.
_PAGE_JS = r"""
const done = arguments[arguments.length - 1];
(async () => {
  const r = {};
  const wants_math = document.querySelector('.math, script[src*="mathjax"]') !== null;
  // a deferred MathJax may still be starting on a busy machine: give it up to 30 s
  for (let i = 0; wants_math && i < 300 && !(window.MathJax && window.MathJax.startup); i++) {
    await new Promise(res => setTimeout(res, 100));
  }
  const mj = window.MathJax;
  r.mathjax_present = !!(mj && mj.startup);
  if (r.mathjax_present) {
    // bounded: a typesetting that never ends is reported as a problem, not as a script timeout
    const limit = arguments[0];
    const late = new Promise(res => setTimeout(() => res('timeout'), limit * 1000));
    const state = await Promise.race([mj.startup.promise.then(() => 'ok', e => 'error: ' + e), late]);
    r.mathjax_ok = state === 'ok';
    r.mathjax_timeout = state === 'timeout';
    if (!r.mathjax_ok) r.mathjax_error = state === 'timeout' ? `did not finish typesetting within ${limit} s` : state;
  }
  r.mathjax_scripts = [...document.querySelectorAll('script[src]')].map(s => s.src)
      .filter(s => /mathjax|tex-mml|tex-chtml|tex-svg/i.test(s));
  r.math_elements = document.querySelectorAll('.math, span.math, div.math').length;
  r.mjx = document.querySelectorAll('mjx-container').length;
  r.images = [...document.images].map(i => ({src: i.currentSrc || i.src, ok: i.complete && i.naturalWidth > 0}));
  const main = document.querySelector('main') || document.body;
  r.tables = main.querySelectorAll('table').length;
  r.stderr = [...document.querySelectorAll('.stderr, .output_stderr, [data-mime-type="application/vnd.jupyter.stderr"]')]
      .map(e => e.innerText.slice(0, 120));
  r.tracebacks = [...document.querySelectorAll('.traceback, .output_error')]
      .map(e => e.innerText.slice(0, 120));
  const skip = 'pre, code, script, style, textarea, mjx-container, .math, .cell_input, .highlight, .MathJax';
  const walker = document.createTreeWalker(main, NodeFilter.SHOW_TEXT);
  r.texts = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const p = n.parentElement;
    if (!p || p.closest(skip)) continue;
    const t = n.nodeValue;
    if (t && /\*|\$|\\[A-Za-z]{2,}/.test(t)) r.texts.push(t.slice(0, 160));
  }
  r.links = [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'));
  r.ids = [...document.querySelectorAll('[id]')].map(e => e.id);
  r.page_overflow = document.documentElement.scrollWidth - window.innerWidth;
  r.cut_code = [...document.querySelectorAll('div.cell_input pre, div.highlight pre')]
      .filter(p => p.scrollWidth > p.clientWidth + 2).map(p => p.innerText.slice(0, 60));
  r.has_traceback_text = /Traceback \(most recent call last\)/.test(main.innerText);
  done(r);
})();
"""

_ANCHOR_RE = re.compile(r"""\s(?:id|name)\s*=\s*["']([^"']+)["']""")


@functools.lru_cache(maxsize=256)
def _anchors(path: Path) -> frozenset[str]:
    return frozenset(_ANCHOR_RE.findall(path.read_text(encoding="utf8", errors="replace")))


def _link_problems(page_url: str, root_url: str, root: Path, links: list[str], ids: set[str]) -> list[str]:
    bad = []
    for href in dict.fromkeys(links):
        if href.startswith(("mailto:", "javascript:", "data:", "tel:")):
            continue
        url = urljoin(page_url, href)
        if not url.startswith(root_url):
            continue  # another site: not this book's business offline
        parts = urlsplit(url)
        rel_path = unquote(parts.path[len(urlsplit(root_url).path):])
        target = root / rel_path
        if rel_path == "" or rel_path.endswith("/"):
            target = target / "index.html"
        if not target.is_file():
            bad.append(f"broken link {href!r}: {rel_path or 'index.html'} does not exist")
            continue
        frag = unquote(parts.fragment)
        if frag and target.suffix == ".html":
            same = url.split("#")[0] == page_url.split("#")[0]
            found = frag in ids if same else frag in _anchors(target)
            if not found:
                bad.append(f"broken anchor {href!r}: no id {frag!r} in {target.relative_to(root)}")
    return bad


def _report(driver, page_url: str, mathjax_limit_s: float) -> dict:
    """What :data:`_PAGE_JS` reports about ``page_url``, loaded afresh.

    Loaded a second time (from a blank page) when the first load's report did not come back
    within the script limit or MathJax did not finish typesetting: once in a while, on a loaded
    2-core machine, headless Chromium stalls on a page that renders in 3 s otherwise (CI,
    2026-12-07: 01_virtual_scanner, which passes on every other run). A page that stalls twice
    is reported; the first stall is a warning with the console's errors, so it is not lost.
    """
    from selenium.common.exceptions import TimeoutException

    for attempt in (1, 2):
        try:
            driver.get(page_url)
            r = driver.execute_async_script(_PAGE_JS, mathjax_limit_s)
        except TimeoutException as exc:
            if attempt == 2:
                raise AssertionError(f"{page_url}: the page did not report within the script limit twice "
                                     f"(console errors: {console_errors(driver)})") from exc
        else:
            if attempt == 2 or not r.get("mathjax_timeout"):
                return r
        warnings.warn(f"{page_url}: stalled on the first load (console errors: {console_errors(driver)}); "
                      "loading it again", stacklevel=2)
        driver.get("about:blank")
    raise AssertionError("unreachable")


def inspect_page(driver, root_url: str, root: Path, rel_page: str, *, results_chapter: bool = False,
                 screenshot: Path | None = None, mathjax_limit_s: float = 90) -> list[str]:
    """Load ``rel_page`` (a path under ``root``, served at ``root_url``) and list its problems.

    Checks: every image loaded (natural width > 0); a results chapter has a table; no stderr
    or traceback output; no literal ``**``, ``$`` or raw LaTeX commands in the rendered text;
    every local link resolves to a file and every anchor exists; where there is math, MathJax
    comes from the vendored copy and has typeset it; no MathJax from elsewhere; nothing wider
    than the window and no code cell cut off on the right. Saves a screenshot when asked (it
    asserts nothing by itself).
    """
    page_url = urljoin(root_url, rel_page)
    r = _report(driver, page_url, mathjax_limit_s)
    problems = []
    for img in r["images"]:
        if not img["ok"]:
            problems.append(f"image not loaded: {img['src']}")
    if results_chapter and r["tables"] == 0:
        problems.append("results chapter without a table")
    for text in r["stderr"]:
        problems.append(f"stderr output in the page: {text!r}")
    for text in r["tracebacks"]:
        problems.append(f"traceback/error output in the page: {text!r}")
    if r["has_traceback_text"]:
        problems.append("the text 'Traceback (most recent call last)' is in the page")
    for text in r["texts"]:
        if "**" in text:
            problems.append(f"literal ** in the rendered text: {text!r}")
        elif re.search(r"(?:^|[.:;!?)]\s+)\*(?:\s+[A-Za-z]|\s*$)", text):  # "...: * " then bold text
            problems.append(f"literal '* ' list marker in the rendered text (a Markdown list needs a blank line "
                            f"before it): {text!r}")
        if "$$" in text or re.search(r"\$[^$\s][^$]*\$", text):
            problems.append(f"literal $...$ math in the rendered text: {text!r}")
        cmd = re.search(r"\\[A-Za-z]{2,}", text)
        if cmd:
            problems.append(f"raw LaTeX {cmd.group(0)!r} left unrendered: {text!r}")
    foreign = [s for s in r["mathjax_scripts"] if not s.split("?")[0].endswith(MATHJAX_LOCAL)
               or not s.startswith(root_url)]
    for src in foreign:
        problems.append(f"MathJax not from the vendored copy: {src}")
    if r["math_elements"]:
        if not r["mathjax_scripts"]:
            problems.append("the page has math but loads no MathJax")
        elif not r["mathjax_present"]:
            problems.append("the page has math but window.MathJax did not start (vendored copy missing?)")
        elif not r.get("mathjax_ok"):
            problems.append(f"MathJax failed to typeset: {r.get('mathjax_error')}")
        elif r["mjx"] == 0:
            problems.append("MathJax ran but typeset nothing")
    problems += _link_problems(page_url, root_url, root, r["links"], set(r["ids"]))
    if r["page_overflow"] > 2:
        problems.append(f"the page is {r['page_overflow']} px wider than the window (something overflows)")
    for text in r["cut_code"]:
        problems.append(f"code cut off on the right: {text!r}")
    if screenshot is not None:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1280, max(900, min(int(height), 12000)))
        driver.save_screenshot(str(screenshot))
        driver.set_window_size(1280, 900)
    return problems


#: Console errors that every page of the book has, from Jupyter Book's theme, not from this project:
#: sphinx-thebe declares THEBE_JS_URL in two <script> tags (thebe is off in _config.yml), and the
#: pydata theme logs an unset theme mode (a fresh browser profile) before it picks "auto".
THEME_CONSOLE_ERRORS = ("Identifier 'THEBE_JS_URL' has already been declared", "Got invalid theme mode")


def console_errors(driver) -> list[str]:
    """Console errors since the last call (the log is read and emptied); a missing favicon and
    :data:`THEME_CONSOLE_ERRORS` are not counted."""
    return [e["message"] for e in driver.get_log("browser")
            if e.get("level") == "SEVERE" and "favicon.ico" not in e.get("message", "")
            and not any(t in e.get("message", "") for t in THEME_CONSOLE_ERRORS)]


# Every slice viewer of a page, driven as a reader would: wait until it has drawn, read back the
# pixels of every tile (axial, coronal, sagittal) of every row right after a redraw (WebGL's
# buffer is still there within the same task), then press PageUp or PageDown on the viewer enough
# times to move past a slice of its coarsest series and read them again.
_VIEWER_JS = r"""
const done = arguments[arguments.length - 1];
const phase = arguments[0];
(async () => {
  let roots = document.querySelectorAll('.t2t-viewer');
  for (let i = 0; i < 300 && !roots.length; i++) {  // a loaded machine may still be parsing the page
    await new Promise(r => setTimeout(r, 100));
    roots = document.querySelectorAll('.t2t-viewer');
  }
  for (let i = 0; i < 600 && roots.length && !(window.T2TViewer && T2TViewer.viewers.length === roots.length
       && T2TViewer.viewers.every(v => v.ready)); i++) await new Promise(r => setTimeout(r, 100));
  const out = {n: roots.length, viewers: []};
  if (!roots.length) return done(out);
  if (!window.T2TViewer) { out.error = 'T2TViewer never loaded: ' + roots[0].innerText.slice(0, 200); return done(out); }
  for (const v of T2TViewer.viewers) {
    const r = {id: v.data.id, rows: []};
    try { await v.ready; } catch (e) { r.error = String(e); out.viewers.push(r); continue; }
    if (phase === 'before') {
      const top = v.byName[v.rows[0].name];
      const dz = s => { const p = s.positions, n = p.length; return n > 1 ? (p[n - 1] - p[0]) / (n - 1) : 1; };
      const coarse = Math.max(...v.rows.map(row => dz(v.byName[row.name])));
      r.presses = Math.ceil(coarse / dz(top) + 1e-6) + 1;
      r.up = v.slice(0)[0] < top.positions.length / 2;  // towards the middle: room to move
    }
    for (const row of v.rows) {
      const nv = row.nv, gl = nv.gl;
      nv.drawScene();
      const W = gl.drawingBufferWidth, H = gl.drawingBufferHeight, px = new Uint8Array(W * H * 4);
      gl.readPixels(0, 0, W, H, gl.RGBA, gl.UNSIGNED_BYTE, px);
      const tiles = [];
      for (const t of nv.screenSlices) {
        const [l, tp, w, h] = t.leftTopWidthHeight.map(Math.round);
        let hash = 0, lit = 0, n = 0;
        const levels = new Set();
        for (let y = Math.max(0, tp); y < Math.min(H, tp + h); y++) {
          const yy = H - 1 - y;
          for (let x = Math.max(0, l); x < Math.min(W, l + w); x++) {
            const k = (yy * W + x) * 4;
            hash = (hash * 31 + px[k] * 7 + px[k + 1] * 3 + px[k + 2]) >>> 0;
            lit += (px[k] + px[k + 1] + px[k + 2]) > 30;
            levels.add(px[k] << 16 | px[k + 1] << 8 | px[k + 2]);
            n++;
          }
        }
        tiles.push({view: t.axCorSag, hash, lit: n ? lit / n : 0, levels: levels.size});
      }
      r.rows.push({name: row.name, slice: v.slice(v.rows.indexOf(row))[0], status: row.status.textContent, tiles});
    }
    out.viewers.push(r);
  }
  done(out);
})();
"""


def inspect_viewers(driver, screenshot_dir: Path | None = None) -> tuple[list[str], dict]:
    """Check every slice viewer of the loaded page; returns (problems, what was measured).

    Each row of each viewer must draw its three views with something on them (at least 2 % of
    the pixels lit, at least 8 colours); pressing PageUp (or PageDown, towards the middle of the
    series) on the viewer must change the slice of
    every row and what every view of every row shows (the axial image, the crosshair in the
    coronal and sagittal views); no console error. Saves a screenshot of each viewer when asked.
    """
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    problems = []
    before = driver.execute_async_script(_VIEWER_JS, "before")
    if before.get("error"):
        return [before["error"]], before
    for i, v in enumerate(before["viewers"]):
        if v.get("error"):
            problems.append(f"viewer {v['id']} failed: {v['error']}")
            continue
        for row in v["rows"]:
            views = sorted(t["view"] for t in row["tiles"])
            if views != [0, 1, 2]:
                problems.append(f"viewer {v['id']}, {row['name']}: views {views}, not axial, coronal and sagittal")
            for t in row["tiles"]:
                if t["lit"] < 0.02 or t["levels"] < 8:
                    problems.append(f"viewer {v['id']}, {row['name']}: view {t['view']} is blank "
                                    f"({t['lit']:.1%} lit, {t['levels']} colours)")
        el = driver.find_elements(By.CSS_SELECTOR, ".t2t-viewer")[i]
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].focus();", el)
        for _ in range(v["presses"]):
            el.send_keys(Keys.PAGE_UP if v["up"] else Keys.PAGE_DOWN)
    after = driver.execute_async_script(_VIEWER_JS, "after")
    for v0, v1 in zip(before["viewers"], after["viewers"]):
        if v0.get("error") or v1.get("error"):
            continue
        for r0, r1 in zip(v0["rows"], v1["rows"]):
            if r1["slice"] == r0["slice"]:
                problems.append(f"viewer {v0['id']}, {r0['name']}: PageUp/PageDown did not change its slice "
                                f"({r0['status']!r})")
            for t0, t1 in zip(r0["tiles"], r1["tiles"]):
                if t0["hash"] == t1["hash"]:
                    problems.append(f"viewer {v0['id']}, {r0['name']}: view {t0['view']} did not change after "
                                    "PageUp/PageDown")
    problems += [f"console error: {m}" for m in console_errors(driver)]
    if screenshot_dir is not None:
        screenshot_dir.mkdir(parents=True, exist_ok=True)
        for v, el in zip(after["viewers"], driver.find_elements(By.CSS_SELECTOR, ".t2t-viewer")):
            driver.execute_script("arguments[0].scrollIntoView({block: 'start'});", el)
            el.screenshot(str(screenshot_dir / f"{v['id']}.png"))
    return problems, {"before": before, "after": after}
