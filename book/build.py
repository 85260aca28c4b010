"""Build the t2t book: vendor MathJax, make the data, run the notebooks, build the HTML.

Usage (from anywhere; ``make book`` calls it with the ``.venv`` python)::

    python book/build.py --profile smoke|quick|paper [--only NAME ...] [--strict]

Steps
-----
1. **MathJax 3** and **NiiVue** (the pages' linked 3-D slice viewers) are vendored from the npm
   registry (``npm pack``, or a pinned tarball download, with an integrity check) and cached
   under ``_build/vendor/``, so the book renders math and slices with no network and a rebuild
   downloads nothing. Set ``T2T_MATHJAX_TGZ`` / ``T2T_NIIVUE_TGZ`` to a local tarball (or URL)
   to use that. NiiVue's one-file classic-script build (``dist/niivue.umd.js``) is used, so
   the viewers work when ``_build/html/index.html`` is opened from disk.
2. **Data**: if a notebook to run declares a ``data_root`` parameter, the virtual cohort
   of the profile is made by :func:`ensure_data` (``t2tcore.scanner.cohort.make_cohort``) in
   ``_build/data/virtual-<profile>``, once; a notebook whose metadata says
   ``{"t2t": {"cohort": "fibrosis"}}`` (chapter 07) gets the fibrosis cohort
   (``t2tcore.clinical.cohort.make_fibrosis_cohort``, ``_build/data/virtual-fibrosis-<profile>``).
3. **Notebooks**: exactly the notebooks listed in ``_toc.yml`` are run with papermill into
   ``_build/executed/<profile>/`` (kernel: this interpreter), in toc order except that
   notebooks whose metadata says ``{"t2t": {"run_last": true}}`` (the Discussion and
   Reproducing pages, which read what the chapters wrote) run after all the others. Each
   gets only the parameters it declares from :func:`notebook_parameters`. Source notebooks
   are never modified. A failing notebook stops the build with one line naming it and its
   log. Every progress bar of ``t2tcore`` goes to ``_build/logs/<profile>-<stem>.progress.log``
   (the kernel runs with ``T2T_PROGRESS_FILE`` set, see :mod:`t2tcore.progress`), the
   kernel's own stderr to ``_build/logs/<profile>-<stem>.log``. How long each notebook took
   is recorded in ``_build/results/<profile>/build_record.json`` (read by the Reproducing page).
4. **HTML**: ``_build/src/`` is assembled (``_config.yml``, ``_toc.yml``, ``book/``, the
   executed notebooks, MathJax) and built by ``jupyter-book`` with execution off into
   ``_build/html/``. **No stderr reaches a page**: stderr stream outputs still left in an
   executed notebook (a warning, a bar printed by something else than ``t2tcore.progress``)
   are taken out of the copy that is rendered, written to
   ``_build/logs/<profile>-<stem>.stderr.log`` and listed in the build summary; ``--strict``
   makes them an error. (Stripping rather than failing: a third-party deprecation warning
   should not break the book, but it must not be hidden either, so it is logged and listed
   at the end of every build. A message a reader must see belongs in the page as text.)
   The chapters' CSV tables, ``_build/results/<profile>/<stem>/*.csv``, are copied to
   ``_build/html/results/<stem>/`` where the pages link them (``../results/<stem>/x.csv``).
   Last, ``_build/html/.t2t-build.json`` records the profile and a hash of the sources
   (:func:`source_hash`), so that the browser test can reuse an up-to-date build.

Adding a chapter is one line in ``_toc.yml``: ``- file: notebooks/NN_name``.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import hashlib
import importlib
import importlib.util
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import traceback
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "_build"
SRC = BUILD / "src"  # the folder jupyter-book builds
HTML = BUILD / "html"  # jupyter-book writes <path-output>/_build/html, path-output = ROOT
LOGS = BUILD / "logs"
RESULTS = BUILD / "results"  # chapters' out_dir: RESULTS / <profile> / <stem>
VENDOR = BUILD / "vendor"  # cache of downloaded third-party files (survives rebuilds)
STAMP = HTML / ".t2t-build.json"  # what the HTML in _build/html was built from
RECORD_NAME = "build_record.json"  # per-notebook times etc., in RESULTS / <profile>

# MathJax: pinned so that every build renders the same way; the integrity string is the
# one the npm registry publishes for this tarball (`npm view mathjax@3.2.2 dist.integrity`).
MATHJAX_VERSION = "3.2.2"
MATHJAX_TARBALL = f"https://registry.npmjs.org/mathjax/-/mathjax-{MATHJAX_VERSION}.tgz"
MATHJAX_INTEGRITY = (
    "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw=="
)
# What the page needs from the package's es5/ folder: the combined component that
# Sphinx loads, plus everything it loads lazily (TeX extensions via autoload, CHTML fonts,
# the menu, accessibility and speech). The other combined components are left out.
MATHJAX_PARTS = ("tex-mml-chtml.js", "input", "output", "ui", "a11y", "sre")
# NiiVue (the pages' 3-D slice viewers): pinned, integrity from `npm view @niivue/niivue@0.69.0
# dist.integrity`. Only dist/niivue.umd.js is used: a classic script (UMD, global `niivue`) with its
# dependencies bundled, so no bundler runs at build time and nothing is an ES module.
NIIVUE_VERSION = "0.69.0"
NIIVUE_TARBALL = f"https://registry.npmjs.org/@niivue/niivue/-/niivue-{NIIVUE_VERSION}.tgz"
NIIVUE_INTEGRITY = (
    "sha512-YMjQvJgD1W2b7DuoxkwlC4VxbrgIePRJ5qyQzXKxi2v2MBVg285P/CIQyg46oDDGDIcaNlbd+MhtO/edMbXJkA=="
)
NIIVUE_FILE = "niivue.umd.js"
# In _build/src: a static folder that is NOT named `_static` (jupyter-book would add
# every .js file inside `_static` as a <script> on every page). `_config.yml` lists it
# in html_static_path and points mathjax_path at `mathjax/tex-mml-chtml.js` inside it.
STATIC_DIR = "_vendor"

# Parameters per profile. A notebook receives only the parameters it declares (its cell
# tagged `parameters`; see notebook_parameters). `data_root`, `out_dir` and `results_root`
# are relative to the repository root, which is the notebooks' working directory during the
# build. Per-profile knobs for later chapters go into "extra" (e.g. {"n_epochs": 2}).
PROFILES = {
    "smoke": {"about": "tiny data, minutes (CI)", "cell_timeout_s": 900, "extra": {}},
    "quick": {"about": "small data, the default", "cell_timeout_s": 3600, "extra": {}},
    "paper": {"about": "the paper's sizes, hours", "cell_timeout_s": None, "extra": {}},
}
KERNEL_NAME = "python3"  # registered below to run *this* interpreter
PROGRESS_FILE_ENV = "T2T_PROGRESS_FILE"  # = t2tcore.progress.PROGRESS_FILE_ENV (not imported: no
# t2tcore import in the driver, so that a broken package fails in a notebook's log, not here)


class BuildError(Exception):
    """A build step failed; the message is one line for the user."""


def say(msg: str) -> None:
    print(msg, flush=True)


def rel(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------- toc
def toc_entries(toc_path: Path = ROOT / "_toc.yml") -> list[tuple[str, Path]]:
    """Documents listed in ``_toc.yml``, in reading order, as (docname, source file).

    Raises :class:`BuildError` for a malformed toc, a glob/URL entry that cannot be
    resolved to one file, or a listed document that does not exist.
    """
    from sphinx_external_toc.api import FileItem, GlobItem
    from sphinx_external_toc.parsing import MalformedError, parse_toc_yaml

    try:
        site_map = parse_toc_yaml(toc_path)
    except (MalformedError, OSError) as exc:
        raise BuildError(f"{rel(toc_path)} cannot be read: {exc}") from exc

    names: list[str] = []

    def walk(docname: str) -> None:
        names.append(docname)
        for tree in site_map[docname].subtrees:
            for item in tree.items:
                if isinstance(item, GlobItem):
                    raise BuildError(f"{rel(toc_path)}: glob entries are not supported ({item})")
                if isinstance(item, FileItem):
                    walk(str(item))

    walk(site_map.root.docname)
    entries = []
    for name in names:
        found = [ROOT / f"{name}{ext}" for ext in (".ipynb", ".md") if (ROOT / f"{name}{ext}").is_file()]
        if not found:
            raise BuildError(f"{rel(toc_path)} lists '{name}' but neither {name}.ipynb nor {name}.md exists")
        if len(found) > 1:
            raise BuildError(f"{rel(toc_path)} lists '{name}' and both {name}.ipynb and {name}.md exist")
        entries.append((name, found[0]))
    return entries


# ------------------------------------------------------------- vendored packages
def _check_integrity(path: Path, integrity: str, what: str = f"mathjax {MATHJAX_VERSION}") -> None:
    algo, _, expected = integrity.partition("-")
    digest = base64.b64encode(hashlib.new(algo, path.read_bytes()).digest()).decode()
    if digest != expected:
        raise BuildError(f"{rel(path)} does not match the registry's {algo} integrity for {what}")


def _fetch_npm_tarball(package: str, version: str, url: str, integrity: str, env: str, dest_dir: Path) -> Path:
    """The npm tarball of ``package@version`` in ``dest_dir``: cached, from the environment variable
    ``env`` (a local .tgz or URL), ``npm pack``, or a download of ``url``; integrity-checked."""
    stem = package.lstrip("@").replace("/", "-")  # @niivue/niivue -> niivue-niivue (as npm pack names it)
    tgz = dest_dir / f"{stem}-{version}.tgz"
    if tgz.is_file():
        return tgz
    dest_dir.mkdir(parents=True, exist_ok=True)
    part = tgz.with_suffix(".tgz.part")
    given = os.environ.get(env)
    if given:
        say(f"      using {env}={given}")
        if Path(given).is_file():
            shutil.copyfile(given, part)
        else:
            urllib.request.urlretrieve(given, part)  # noqa: S310 (a URL the user chose)
    elif shutil.which("npm"):
        say(f"      npm pack {package}@{version}")
        tmp = dest_dir / "npm-pack.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        proc = subprocess.run(
            ["npm", "pack", f"{package}@{version}", "--pack-destination", str(tmp), "--silent"],
            capture_output=True, text=True, cwd=tmp,
        )
        packed = list(tmp.glob("*.tgz"))
        if proc.returncode != 0 or len(packed) != 1:
            raise BuildError(f"npm pack {package}@{version} failed: {(proc.stderr or proc.stdout).strip()[-300:]}")
        packed[0].replace(part)
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        say(f"      npm not found; downloading {url}")
        try:
            urllib.request.urlretrieve(url, part)  # noqa: S310 (fixed https URL)
        except OSError as exc:
            raise BuildError(
                f"cannot download {package} ({exc}); install npm, or set {env} to a local {tgz.name}"
            ) from exc
    if not given or Path(given).name in (tgz.name, f"{package.split('/')[-1]}-{version}.tgz"):
        _check_integrity(part, integrity, f"{package} {version}")
    part.replace(tgz)
    return tgz


def _fetch_mathjax_tarball(dest_dir: Path) -> Path:
    """The mathjax tarball in ``dest_dir``: cached, from T2T_MATHJAX_TGZ, npm, or the registry."""
    return _fetch_npm_tarball("mathjax", MATHJAX_VERSION, MATHJAX_TARBALL, MATHJAX_INTEGRITY, "T2T_MATHJAX_TGZ",
                              dest_dir)


def vendor_mathjax() -> Path:
    """Folder holding ``mathjax/tex-mml-chtml.js`` and what it loads; cached in _build/vendor."""
    target = VENDOR / f"mathjax-{MATHJAX_VERSION}"
    if (target / "mathjax" / "tex-mml-chtml.js").is_file():
        say(f"      MathJax {MATHJAX_VERSION}: cached in {rel(target)}")
        return target
    tgz = _fetch_mathjax_tarball(VENDOR / "npm")
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    out = tmp / "mathjax"
    out.mkdir(parents=True)
    with tarfile.open(tgz) as tar:
        for member in tar.getmembers():
            parts = Path(member.name).parts  # package/es5/<part>/...
            if len(parts) < 3 or parts[:2] != ("package", "es5") or parts[2] not in MATHJAX_PARTS:
                if member.name == "package/LICENSE":
                    (out / "LICENSE").write_bytes(tar.extractfile(member).read())
                continue
            if not member.isfile():
                continue
            dest = out.joinpath(*parts[2:])
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(tar.extractfile(member).read())
    if not (out / "tex-mml-chtml.js").is_file() or not (out / "output/chtml/fonts/woff-v2").is_dir():
        raise BuildError(f"{rel(tgz)} does not hold es5/tex-mml-chtml.js and its CHTML fonts")
    shutil.rmtree(target, ignore_errors=True)
    tmp.replace(target)
    say(f"      MathJax {MATHJAX_VERSION}: vendored into {rel(target)}")
    return target


def vendor_niivue() -> Path:
    """Folder holding ``niivue/niivue.umd.js`` (NiiVue's classic-script build, one file, with its
    dependencies and fonts inside) and NiiVue's package.json (version, BSD-2-Clause licence);
    cached in _build/vendor. The pages' slice viewers load it as a classic script
    (``book/static/t2t_viewer.js``), so they work from ``file://`` with no network and no ES modules."""
    target = VENDOR / f"niivue-{NIIVUE_VERSION}"
    if (target / "niivue" / NIIVUE_FILE).is_file():
        say(f"      NiiVue {NIIVUE_VERSION}: cached in {rel(target)}")
        return target
    tgz = _fetch_npm_tarball("@niivue/niivue", NIIVUE_VERSION, NIIVUE_TARBALL, NIIVUE_INTEGRITY, "T2T_NIIVUE_TGZ",
                             VENDOR / "npm")
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    out = tmp / "niivue"
    out.mkdir(parents=True)
    with tarfile.open(tgz) as tar:
        for member, name in ((f"package/dist/{NIIVUE_FILE}", NIIVUE_FILE), ("package/package.json", "package.json")):
            try:
                (out / name).write_bytes(tar.extractfile(member).read())
            except (KeyError, AttributeError) as exc:
                raise BuildError(f"{rel(tgz)} does not hold {member}") from exc
    meta = json.loads((out / "package.json").read_text(encoding="utf8"))
    if meta.get("version") != NIIVUE_VERSION:
        raise BuildError(f"{rel(tgz)} is NiiVue {meta.get('version')}, not {NIIVUE_VERSION}")
    shutil.rmtree(target, ignore_errors=True)
    tmp.replace(target)
    say(f"      NiiVue {NIIVUE_VERSION}: vendored into {rel(target)}")
    return target


# -------------------------------------------------------------------------- data
#: The virtual cohorts a chapter can ask for with notebook metadata {"t2t": {"cohort": NAME}}
#: (default "ldct"): NAME -> (folder name pattern, module, up-to-date check, maker).
COHORTS = {
    "ldct": ("virtual-{profile}", "t2tcore.scanner.cohort", "is_up_to_date", "make_cohort"),
    "fibrosis": ("virtual-fibrosis-{profile}", "t2tcore.clinical.cohort", "is_fibrosis_up_to_date",
                 "make_fibrosis_cohort"),
}


def notebook_cohort(nb_path: Path) -> str:
    """The virtual cohort a notebook's ``data_root`` is: metadata ``{"t2t": {"cohort": ...}}``."""
    meta = json.loads(nb_path.read_text(encoding="utf8")).get("metadata", {}).get("t2t", {})
    name = meta.get("cohort", "ldct")
    if name not in COHORTS:
        raise BuildError(f"{rel(nb_path)}: unknown cohort {name!r} in its metadata (known: {', '.join(COHORTS)})")
    return name


def data_root(profile: str, cohort: str = "ldct") -> Path:
    return BUILD / "data" / COHORTS[cohort][0].format(profile=profile)


def ensure_data(profile: str, cohort: str = "ldct") -> Path | None:
    """Make (or keep) a virtual cohort of ``profile`` in ``_build/data/`` (see :data:`COHORTS`).

    The cohort's maker (``t2tcore.scanner.cohort.make_cohort`` for the Grand Challenge / TCIA
    stand-in, ``t2tcore.clinical.cohort.make_fibrosis_cohort`` for the fibrosis cohort of
    chapter 07) keeps an existing cohort whose manifest matches the profile, the scanner
    parameters and the source code, and regenerates it otherwise. Returns the folder, or None
    when the module does not exist (skipped).
    """
    out = data_root(profile, cohort)
    _, module, up_to_date, maker = COHORTS[cohort]
    if importlib.util.find_spec(module) is None:
        say(f"      {module} does not exist: no '{cohort}' cohort made (skipped)")
        return None
    mod = importlib.import_module(module)
    label = f"virtual {cohort} cohort '{profile}'"
    if out.is_dir() and getattr(mod, up_to_date)(profile, out):
        say(f"      {label}: up to date in {rel(out)}")
        return out
    say(f"      making the {label} in {rel(out)}")
    t0 = time.perf_counter()
    getattr(mod, maker)(profile, out)
    say(f"      {label} made in {time.perf_counter() - t0:.0f} s")
    return out


# --------------------------------------------------------------------- notebooks
def register_kernel() -> None:
    """Make kernel ``python3`` mean this interpreter, whatever else is installed.

    A kernelspec in ``_build/jupyter/kernels/python3`` is put first on JUPYTER_PATH for
    this process (papermill runs in-process), so a user-level ``python3`` kernel that
    points at another Python cannot be picked up on a fresh clone.
    """
    spec_dir = BUILD / "jupyter" / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "metadata": {"debugger": True},
        # figures must reach the notebook even where MPLBACKEND=Agg is set (as in CI):
        # ipykernel only installs its inline backend when MPLBACKEND is unset
        "env": {"MPLBACKEND": "module://matplotlib_inline.backend_inline"},
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1) + "\n")
    paths = [str(BUILD / "jupyter")] + [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    os.environ["JUPYTER_PATH"] = os.pathsep.join(paths)


def notebook_parameters(nb_path: Path, profile: str) -> dict:
    """The build's parameters that ``nb_path`` declares, for ``profile``.

    ``profile``; ``data_root`` (the virtual cohort); ``out_dir`` (``_build/results/<profile>/
    <stem>``, where a chapter writes its CSV tables and figures); ``results_root``
    (``_build/results/<profile>``, read by the pages that summarise the chapters);
    ``interactive`` (False: the teaching notebooks draw static figures instead of sliders);
    and the profile's ``extra`` knobs. Parameters named in the notebook's metadata
    ``{"t2t": {"skip_parameters": [...]}}`` are not passed.
    """
    import papermill

    declared = papermill.inspect_notebook(str(nb_path))
    # a notebook can refuse a build parameter it declares (e.g. a chapter whose data_root is
    # another kind of data set than the virtual Grand Challenge cohort): metadata
    # {"t2t": {"skip_parameters": ["data_root"]}}
    meta = json.loads(nb_path.read_text(encoding="utf8")).get("metadata", {}).get("t2t", {})
    declared = {k: v for k, v in declared.items() if k not in set(meta.get("skip_parameters", []))}
    table = {
        "profile": profile,
        "data_root": rel(data_root(profile, notebook_cohort(nb_path))),
        "out_dir": rel(RESULTS / profile / nb_path.stem),
        "results_root": rel(RESULTS / profile),
        "interactive": False,
        **PROFILES[profile]["extra"],
    }
    return {k: v for k, v in table.items() if k in declared}


def runs_last(nb_path: Path) -> bool:
    """True for a notebook whose metadata says ``{"t2t": {"run_last": true}}``."""
    meta = json.loads(nb_path.read_text(encoding="utf8")).get("metadata", {})
    return bool(meta.get("t2t", {}).get("run_last", False))


def run_order(notebooks: list[tuple[str, Path]]) -> list[tuple[str, Path]]:
    """Toc order, with the ``run_last`` notebooks (pages that read the others' results) last."""
    return [e for e in notebooks if not runs_last(e[1])] + [e for e in notebooks if runs_last(e[1])]


def progress_log(profile: str, stem: str) -> Path:
    """Where the progress bars of a notebook's kernel go (``T2T_PROGRESS_FILE``)."""
    return LOGS / f"{profile}-{stem}.progress.log"


def run_notebook(nb_path: Path, out_path: Path, profile: str) -> float:
    """Execute ``nb_path`` with papermill into ``out_path``; returns seconds taken.

    The kernel runs with ``T2T_PROGRESS_FILE`` pointing at :func:`progress_log`, so the
    package's progress bars land in the build log and never in the page.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    params = notebook_parameters(nb_path, profile)
    LOGS.mkdir(parents=True, exist_ok=True)
    log_path = LOGS / f"{profile}-{nb_path.stem}.log"
    failed_copy = LOGS / f"{profile}-{nb_path.stem}.failed.ipynb"
    tmp_out = out_path.with_name(out_path.stem + ".part.ipynb")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    failed_copy.unlink(missing_ok=True)
    bars = progress_log(profile, nb_path.stem)
    bars.unlink(missing_ok=True)
    saved_env = os.environ.get(PROGRESS_FILE_ENV)
    os.environ[PROGRESS_FILE_ENV] = str(bars)  # inherited by the kernel process

    pm_log = logging.getLogger("papermill")
    t0 = time.perf_counter()
    with open(log_path, "w", encoding="utf8") as log:
        log.write(f"# papermill {rel(nb_path)} -> {rel(out_path)}  profile={profile}  parameters={params}\n")
        log.flush()
        handler = logging.StreamHandler(log)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        pm_log.addHandler(handler)
        old_level = pm_log.level
        pm_log.setLevel(logging.INFO)
        # The kernel process inherits file descriptor 2: point it at the log while the
        # notebook runs, so kernel chatter lands there; the progress bar (on a terminal only)
        # keeps writing to the real stderr.
        sys.stderr.flush()
        saved_fd = os.dup(2)
        term = os.fdopen(os.dup(saved_fd), "w")
        progress = {"file": term, "desc": nb_path.stem, "leave": False} if term.isatty() else False
        os.dup2(log.fileno(), 2)
        try:
            papermill.execute_notebook(
                str(nb_path),
                str(tmp_out),
                parameters=params,
                kernel_name=KERNEL_NAME,
                cwd=str(ROOT),
                progress_bar=progress,
                log_output=False,
                stdout_file=log,
                stderr_file=log,
                execution_timeout=PROFILES[profile]["cell_timeout_s"],
            )
        except Exception as exc:  # noqa: BLE001 (any failure of a chapter stops the build)
            log.write("\n" + "".join(traceback.format_exception(exc)))
            if tmp_out.is_file():
                tmp_out.replace(failed_copy)
            if isinstance(exc, PapermillExecutionError):
                why = f"cell {exc.exec_count}: {exc.ename}: {str(exc.evalue).splitlines()[0] if exc.evalue else ''}"
            else:
                why = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
            where = f"log {rel(log_path)}" + (f", executed copy {rel(failed_copy)}" if failed_copy.is_file() else "")
            raise BuildError(f"notebook {rel(nb_path)} failed ({why}); {where}") from exc
        finally:
            sys.stderr.flush()
            os.dup2(saved_fd, 2)
            os.close(saved_fd)
            term.close()
            pm_log.removeHandler(handler)
            pm_log.setLevel(old_level)
            if saved_env is None:
                os.environ.pop(PROGRESS_FILE_ENV, None)
            else:
                os.environ[PROGRESS_FILE_ENV] = saved_env
    tmp_out.replace(out_path)
    return time.perf_counter() - t0


def _only_matches(stem: str, only: list[str]) -> bool:
    return any(stem == o or stem.startswith(o) or Path(o).stem == stem for o in only)


# ------------------------------------------------------------------ build record
def record_path(profile: str) -> Path:
    return RESULTS / profile / RECORD_NAME


def read_record(profile: str) -> dict:
    """The build record of ``profile`` (empty if none or unreadable)."""
    try:
        rec = json.loads(record_path(profile).read_text(encoding="utf8"))
    except (OSError, ValueError):
        return {}
    return rec if isinstance(rec, dict) and rec.get("profile") == profile else {}


def results_are_current(profile: str, stems: list[str]) -> bool:
    """True when the last run of every notebook in ``stems`` (file stems, e.g. ``02_simulation_fidelity``)
    with ``profile`` succeeded on the current sources (:func:`source_hash` recorded in the build record),
    so its ``_build/results/<profile>/<stem>/`` files are what the code makes now."""
    entries = {e.get("stem"): e for e in read_record(profile).get("notebooks", {}).values()}
    digest = source_hash()
    return all(entries.get(s, {}).get("status") == "run" and entries[s].get("source_sha256") == digest
               for s in stems)


def _machine() -> dict:
    gpu = None
    try:  # torch is a dependency of the package; the record just says what this machine had
        import torch

        if torch.cuda.is_available():
            gpu = torch.cuda.get_device_name(0)
    except Exception:  # noqa: BLE001 (no torch, or a broken CUDA: no GPU as far as the record goes)
        gpu = None
    return {"cpus": os.cpu_count(), "gpu": gpu, "python": sys.version.split()[0]}


def update_record(profile: str, docname: str, nb_path: Path, **fields) -> None:
    """Record one notebook's run (seconds, status, parameters, ...) in the build record.

    The record keeps the entries of notebooks not run in this build (``--only``), so the
    Reproducing page always shows the last time measured for every chapter. Written whole
    (a temporary file renamed), after every notebook.
    """
    rec = read_record(profile) or {"profile": profile, "notebooks": {}}
    rec["profile"] = profile
    rec["about"] = PROFILES[profile]["about"]
    rec["machine"] = _machine()
    rec["updated"] = datetime.datetime.now().isoformat(timespec="seconds")
    entry = rec["notebooks"].get(docname, {})
    entry.update({"source": rel(nb_path), "stem": nb_path.stem, **fields})
    rec["notebooks"][docname] = entry
    path = record_path(profile)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(rec, indent=1, sort_keys=True) + "\n", encoding="utf8")
    tmp.replace(path)


# -------------------------------------------------------------------------- html
def strip_stderr(nb: dict) -> list[str]:
    """Remove every stderr stream output from a notebook (a dict, modified in place).

    Returns the texts removed, in order. Other outputs (stdout, figures, tables, errors
    shown on purpose as text) are kept.
    """
    removed = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        keep = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                text = out.get("text", "")
                removed.append("".join(text) if isinstance(text, list) else str(text))
            else:
                keep.append(out)
        cell["outputs"] = keep
    return removed


def _strip_into_log(src: Path, dest: Path, log_path: Path) -> int:
    """Copy an executed notebook to ``dest`` without its stderr outputs; log what was removed."""
    nb = json.loads(src.read_text(encoding="utf8"))
    removed = strip_stderr(nb)
    dest.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf8")
    if removed:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "w", encoding="utf8") as log:
            log.write(f"# stderr outputs of {rel(src)}, removed from the rendered page\n")
            for i, text in enumerate(removed, 1):
                log.write(f"\n## block {i}\n{text.rstrip()}\n")
    else:
        log_path.unlink(missing_ok=True)
    return len(removed)


def assemble_source(entries: list[tuple[str, Path]], executed: dict[str, Path], vendor_dirs: list[Path],
                    profile: str) -> dict[str, int]:
    """Write ``_build/src`` from scratch: config, toc, markdown, executed notebooks, and the vendored
    packages (``vendor_dirs``: MathJax, NiiVue), merged into ``_build/src/_vendor`` (``_static/`` in the HTML).

    Executed notebooks go in without their stderr outputs (:func:`strip_stderr`), which are
    written to ``_build/logs/<profile>-<stem>.stderr.log``. Returns, per docname, how many
    stderr blocks were moved (only docnames with at least one).
    """
    tmp = SRC.with_name(SRC.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(ROOT / name, tmp / name)
    # everything in book/ except this script (intro, bibliography, figures, ...)
    shutil.copytree(ROOT / "book", tmp / "book", ignore=shutil.ignore_patterns("build.py", "__pycache__", "*.pyc"))
    moved = {}
    for docname, src in entries:
        dest = tmp / f"{docname}{src.suffix}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        if docname in executed:
            n = _strip_into_log(executed[docname], dest, LOGS / f"{profile}-{src.stem}.stderr.log")
            if n:
                moved[docname] = n
        else:
            shutil.copy2(src, dest)
    for folder in vendor_dirs:
        shutil.copytree(folder, tmp / STATIC_DIR, dirs_exist_ok=True)
    shutil.rmtree(SRC, ignore_errors=True)
    tmp.replace(SRC)
    return moved


def build_html(strict: bool) -> Path:
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb) if jb.exists() else (shutil.which("jupyter-book") or "jupyter-book")]
    cmd += ["build", str(SRC), "--path-output", str(ROOT), "--all", "--quiet"]
    if strict:
        cmd += ["-W", "--keep-going"]
    LOGS.mkdir(parents=True, exist_ok=True)
    log_path = LOGS / "jupyter-book.log"
    with open(log_path, "w", encoding="utf8") as log:
        proc = subprocess.run(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True)
    text = re.sub(r"\x1b\[[0-9;]*m", "", log_path.read_text(encoding="utf8"))  # no colour codes
    warnings = list(dict.fromkeys(ln for ln in text.splitlines() if "WARNING" in ln or "ERROR" in ln))
    for ln in warnings[:20]:
        say(f"      {ln.replace(str(SRC) + os.sep, '')}")
    if len(warnings) > 20:
        say(f"      ... {len(warnings) - 20} more in {rel(log_path)}")
    if proc.returncode != 0 or not (HTML / "index.html").is_file():
        raise BuildError(f"jupyter-book build failed (exit {proc.returncode}); log {rel(log_path)}")
    return HTML / "index.html"


class _Text(HTMLParser):
    """The visible text of an HTML snippet (no style or script)."""

    def __init__(self):
        super().__init__()
        self.parts, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("style", "script")

    def handle_endtag(self, tag):
        self._skip -= tag in ("style", "script") and self._skip > 0

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


class _Tables(HTMLParser):
    """The cells of the first ``<table>`` of an HTML snippet (rows of (text, is header)) and its caption."""

    def __init__(self):
        super().__init__()
        self.rows, self.caption, self._cell, self._in, self._depth = [], "", None, None, 0

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._depth += 1
        elif self._depth == 1 and tag == "tr":
            self.rows.append([])
        elif self._depth == 1 and tag in ("td", "th") and self.rows:
            self._cell = [tag == "th", ""]
        elif self._depth == 1 and tag == "caption":
            self._in = "caption"

    def handle_endtag(self, tag):
        if tag == "table":
            self._depth -= 1
        elif tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append((" ".join(self._cell[1].split()), self._cell[0]))
            self._cell = None
        elif tag == "caption":
            self._in = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[1] += data
        elif self._in == "caption":
            self.caption += data


def _md_escape(text: str) -> str:
    """Backslash-escape what Markdown (and MyST's $math$) would read as markup."""
    return re.sub(r"([\\`*_{}\[\]<>#|$~^])", r"\\\1", text)


def markdown_twin(html: str) -> str | None:
    """What an HTML output says, as Markdown: its first table (:func:`markdown_table`), else its
    visible text (links and notes, e.g. a chapter's CSV downloads); None when it has no text."""
    table = markdown_table(html)
    if table is not None:
        return table
    parser = _Text()
    parser.feed(html)
    text = " ".join("".join(parser.parts).split())
    return _md_escape(text) if text else None


def markdown_table(html: str) -> str | None:
    """A Markdown table (GFM) of the first table in ``html``, with its caption above; or None.

    For the PDF only: the pages' tables are HTML (pandas Styler), which the LaTeX writer
    cannot show; as Markdown they become ordinary LaTeX tables. Their text and header are
    kept; bold, colours and merged cells are not.
    """
    parser = _Tables()
    parser.feed(html)
    rows = [r for r in parser.rows if r]
    if not rows:
        return None
    n = max(len(r) for r in rows)

    def md(text: str) -> str:
        return _md_escape(text) or " "

    cells = [[md(t) for t, _ in r] + [" "] * (n - len(r)) for r in rows]
    n_head = 0
    while n_head < len(rows) - 1 and all(h for _, h in rows[n_head]):
        n_head += 1
    n_head = max(n_head, 1)
    header = [" ".join(c for c in col if c.strip()) or " " for col in zip(*cells[:n_head])]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * n]
    lines += ["| " + " | ".join(r) + " |" for r in cells[n_head:]]
    cap = " ".join(parser.caption.split())
    return (f"*{md(cap)}*\n\n" if cap else "") + "\n".join(lines) + "\n"


def viewer_twin(html: str) -> str | None:
    """For the PDF, a slice viewer's output (``t2tcore.figures.viewer``) is its one-line note (the
    static figure above it stays); None for any other HTML."""
    m = re.search(r'<div class="t2t-viewer-note">(.*?)</div>', html, flags=re.S)
    if 'class="t2t-viewer"' not in html or m is None:
        return None
    parser = _Text()
    parser.feed(m.group(1))
    return "*" + _md_escape(" ".join("".join(parser.parts).split())) + "*\n"


def prepare_pdf_source(src: Path = SRC) -> int:
    """Make ``_build/src`` read as a printed book: HTML outputs get a Markdown twin (:func:`markdown_twin`,
    which the LaTeX writer prefers to the HTML it cannot show; a slice viewer's is its one-line note,
    :func:`viewer_twin`),
    and cells tagged ``hide-input`` lose their code (``remove-input``): on paper there is no
    "show code" toggle. Returns the number of tables converted."""
    n = 0
    for path in src.rglob("*.ipynb"):
        nb = json.loads(path.read_text(encoding="utf8"))
        for cell in nb.get("cells", []):
            tags = cell.get("metadata", {}).get("tags", [])
            if "hide-input" in tags:
                cell["metadata"]["tags"] = [t for t in tags if t != "hide-input"] + ["remove-input"]
            for out in cell.get("outputs", []):
                data = out.get("data", {})
                html = data.get("text/html")
                if html and "text/markdown" not in data:
                    html = "".join(html) if isinstance(html, list) else html
                    twin = viewer_twin(html) or markdown_twin(html)
                    if twin:
                        data["text/markdown"] = twin
                        n += "|---" in twin
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf8")
    # Markdown outputs are read as GitHub-flavoured Markdown here (tables), not CommonMark
    import yaml

    cfg_path = src / "_config.yml"
    cfg = yaml.safe_load(cfg_path.read_text(encoding="utf8"))
    cfg.setdefault("sphinx", {}).setdefault("config", {})["nb_render_markdown_format"] = "gfm"
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True), encoding="utf8")
    return n


def build_pdf() -> Path:
    """The book as one PDF: jupyter-book's LaTeX builder (XeLaTeX via latexmk) on ``_build/src``.

    Needs a TeX installation; on Debian: ``apt-get install --no-install-recommends texlive-xetex
    texlive-latex-extra texlive-fonts-recommended texlive-latex-recommended latexmk
    fonts-freefont-otf`` (about 350 MB). Pages are rendered from the same executed notebooks as
    the HTML (:func:`prepare_pdf_source`): tables as plain LaTeX tables, collapsed code left
    out, the sliders of the teaching lab as their static figures.
    """
    missing = [t for t in ("latexmk", "xelatex") if shutil.which(t) is None]
    if missing:
        raise BuildError(f"--pdf needs {' and '.join(missing)}: apt-get install --no-install-recommends "
                         "texlive-xetex texlive-latex-extra texlive-fonts-recommended texlive-latex-recommended "
                         "latexmk fonts-freefont-otf")
    n_tables = prepare_pdf_source()
    say(f"      {n_tables} HTML table(s) given a Markdown twin; hidden code left out")
    shutil.rmtree(BUILD / "latex", ignore_errors=True)  # its Makefile builds every .tex it finds
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb) if jb.exists() else (shutil.which("jupyter-book") or "jupyter-book")]
    cmd += ["build", str(SRC), "--path-output", str(ROOT), "--builder", "pdflatex", "--all", "--quiet"]
    log_path = LOGS / "jupyter-book-pdf.log"
    with open(log_path, "w", encoding="utf8") as log:
        proc = subprocess.run(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True)
    pdfs = sorted((BUILD / "latex").glob("*.pdf"), key=lambda p: p.stat().st_mtime)
    if proc.returncode != 0 or not pdfs:
        raise BuildError(f"the PDF build failed (exit {proc.returncode}); log {rel(log_path)}")
    return pdfs[-1]


def copy_results(profile: str, html: Path = HTML) -> int:
    """Copy ``_build/results/<profile>/<stem>/*.csv`` to ``<html>/results/<stem>/``.

    The pages (in ``_build/html/notebooks/``) link their full tables as
    ``../results/<stem>/<file>.csv``. The folder is made afresh, so a table a chapter no
    longer writes is not served. Returns the number of files copied.
    """
    dest_root = html / "results"
    shutil.rmtree(dest_root, ignore_errors=True)
    n = 0
    for csv in sorted((RESULTS / profile).glob("*/*.csv")):
        dest = dest_root / csv.parent.name / csv.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(csv, dest)
        n += 1
    return n


def source_hash(entries: list[tuple[str, Path]] | None = None) -> str:
    """SHA-256 over what the HTML is made from: config, toc, ``book/``, the toc's documents and
    the package's Python sources (paths and contents, in a fixed order)."""
    if entries is None:
        entries = toc_entries()
    files = {ROOT / "_config.yml", ROOT / "_toc.yml"}
    files |= {p for p in (ROOT / "book").rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    files |= {p for _, p in entries}
    files |= {p for p in (ROOT / "t2tcore").rglob("*.py") if "__pycache__" not in p.parts}
    h = hashlib.sha256()
    for p in sorted(files):
        h.update(rel(p).encode() + b"\0")
        h.update(hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


def write_stamp(profile: str, digest: str, complete: bool, moved: dict[str, int]) -> None:
    STAMP.write_text(json.dumps({
        "profile": profile,
        "source_sha256": digest,
        "complete": complete,
        "stderr_blocks_moved": moved,
        "built": datetime.datetime.now().isoformat(timespec="seconds"),
    }, indent=1) + "\n", encoding="utf8")


def read_stamp(html: Path = HTML) -> dict:
    """What ``_build/html`` was built from (empty when there is no complete, readable stamp)."""
    try:
        stamp = json.loads((html / STAMP.name).read_text(encoding="utf8"))
    except (OSError, ValueError):
        return {}
    return stamp if isinstance(stamp, dict) else {}


def is_up_to_date(profile: str, html: Path = HTML) -> bool:
    """True when ``_build/html`` is a complete build of ``profile`` from the current sources."""
    stamp = read_stamp(html)
    return (stamp.get("profile") == profile and bool(stamp.get("complete"))
            and stamp.get("source_sha256") == source_hash() and (html / "index.html").is_file())


# -------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="book/build.py",
        description="Run the notebooks listed in _toc.yml with papermill and build the HTML book.",
    )
    parser.add_argument("--profile", choices=sorted(PROFILES), default="quick",
                        help="data and compute size: " + "; ".join(f"{k}: {v['about']}" for k, v in PROFILES.items()))
    parser.add_argument("--only", nargs="+", metavar="NAME", default=None,
                        help="run only these notebooks (stem or prefix, e.g. 00); the others reuse their last "
                             "run with this profile, or appear without outputs")
    parser.add_argument("--strict", action="store_true",
                        help="turn Sphinx warnings, and stderr output left in a notebook, into errors")
    parser.add_argument("--pdf", action="store_true",
                        help="also build the book as one PDF (_build/latex/); runs only the notebooks whose "
                             "last run is missing or older than their source, unless --only says otherwise")
    args = parser.parse_args(argv)
    profile = args.profile
    t_start = time.perf_counter()
    try:
        say(f"t2t book, profile '{profile}' ({PROFILES[profile]['about']})")
        STAMP.unlink(missing_ok=True)  # a build that stops half-way is not an up-to-date build
        entries = toc_entries()
        digest = source_hash(entries)
        notebooks = [(d, p) for d, p in entries if p.suffix == ".ipynb"]
        if args.only:
            unknown = [o for o in args.only if not any(_only_matches(p.stem, [o]) for _, p in notebooks)]
            if unknown:
                raise BuildError(f"--only {' '.join(unknown)}: not in _toc.yml (notebooks: "
                                 f"{', '.join(p.stem for _, p in notebooks) or 'none'})")
        to_run = [(d, p) for d, p in notebooks if not args.only or _only_matches(p.stem, args.only)]
        if args.pdf and not args.only:  # make pdf after make book: reuse what is up to date
            done = BUILD / "executed" / profile
            to_run = [(d, p) for d, p in to_run if not (done / f"{d}.ipynb").is_file()
                      or (done / f"{d}.ipynb").stat().st_mtime < p.stat().st_mtime]
            if any(not runs_last(p) for _, p in to_run):  # the summary pages read what the others wrote
                to_run += [(d, p) for d, p in notebooks if runs_last(p) and (d, p) not in to_run]

        say("[1/4] MathJax (offline math) and NiiVue (slice viewers)")
        vendor_dirs = [vendor_mathjax(), vendor_niivue()]

        say("[2/4] data")
        cohorts = [notebook_cohort(p) for _, p in to_run if "data_root" in notebook_parameters(p, profile)]
        for cohort in dict.fromkeys(cohorts):  # each cohort once, in chapter order
            ensure_data(profile, cohort)
        if not cohorts:
            say("      no notebook to run declares data_root: nothing to make")

        say(f"[3/4] notebooks: {len(to_run)} to run of {len(notebooks)} in _toc.yml")
        register_kernel()
        executed_dir = BUILD / "executed" / profile
        executed: dict[str, Path] = {}
        complete = True
        ordered = run_order(notebooks)
        for i, (docname, nb) in enumerate(ordered, 1):
            out = executed_dir / f"{docname}.ipynb"
            tag = f"({i}/{len(ordered)}) {rel(nb)}"
            if (docname, nb) in to_run:
                say(f"      {tag} ...")
                update_record(profile, docname, nb, status="running",
                              parameters=notebook_parameters(nb, profile))
                try:
                    seconds = run_notebook(nb, out, profile)
                except BuildError:
                    update_record(profile, docname, nb, status="failed")
                    raise
                update_record(profile, docname, nb, status="run", seconds=round(seconds, 1),
                              finished=datetime.datetime.now().isoformat(timespec="seconds"), source_sha256=digest)
                say(f"      {tag}: done in {seconds:.0f} s")
                executed[docname] = out
            elif out.is_file():
                stale = out.stat().st_mtime < nb.stat().st_mtime
                complete &= not stale
                say(f"      {tag}: reusing the last '{profile}' run" + (" (older than its source)" if stale else ""))
                executed[docname] = out
            else:
                complete = False
                say(f"      {tag}: not run (--only), shown without outputs")

        say("[4/4] HTML (jupyter-book, execution off)")
        moved = assemble_source(entries, executed, vendor_dirs, profile)
        for docname, n in moved.items():
            stem = Path(docname).name
            say(f"      stderr: {n} block(s) of {docname} kept out of the page; they are in "
                f"{rel(LOGS / f'{profile}-{stem}.stderr.log')}")
        if moved and args.strict:
            raise BuildError(f"--strict: stderr output in {', '.join(moved)} (see the logs above)")
        index = build_html(args.strict)
        n_csv = copy_results(profile)
        say(f"      {n_csv} CSV table(s) of the chapters copied to {rel(HTML / 'results')}")
        write_stamp(profile, digest, complete, moved)
        if args.pdf:
            say("[+] PDF (jupyter-book, LaTeX builder)")
            pdf = build_pdf()
            say(f"      {rel(pdf)}")
    except BuildError as exc:
        print(f"book/build.py: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("book/build.py: interrupted", file=sys.stderr)
        return 130
    say(f"Book built in {time.perf_counter() - t_start:.0f} s. Open {rel(index)}")
    say(f"  (file://{index})")
    rec = read_record(profile).get("notebooks", {})
    times = [(d, e.get("seconds")) for d, e in rec.items() if e.get("seconds") is not None]
    if times:
        say("  last measured time per notebook: "
            + ", ".join(f"{Path(d).name} {s:.0f} s" for d, s in times))
    if moved:
        say(f"  warning: stderr output kept out of {len(moved)} page(s): "
            + ", ".join(f"{d} ({n})" for d, n in moved.items()) + f"; see {rel(LOGS)}/*.stderr.log")
    return 0


if __name__ == "__main__":
    sys.exit(main())
