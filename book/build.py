"""Build the t2t book: vendor MathJax, make the data, run the notebooks, build the HTML.

Usage (from anywhere; ``make book`` calls it with the ``.venv`` python)::

    python book/build.py --profile smoke|quick|paper [--only NAME ...] [--strict]

Steps
-----
1. **MathJax 3** is vendored from the npm registry (``npm pack``, or a pinned tarball
   download with an integrity check where npm is missing) and cached under
   ``_build/vendor/``, so the book renders math with no network and a rebuild downloads
   nothing. Set ``T2T_MATHJAX_TGZ`` to a local ``mathjax-*.tgz`` (or URL) to use that.
2. **Data**: if a notebook to run declares a ``data_root`` parameter, the virtual cohort
   of the profile is made by :func:`ensure_data` (``t2tcore.scanner.cohort.make_cohort``) in
   ``_build/data/virtual-<profile>``, once.
3. **Notebooks**: exactly the notebooks listed in ``_toc.yml`` are run with papermill, in
   toc order, into ``_build/executed/<profile>/`` (kernel: this interpreter), getting
   only the parameters they declare from :data:`PROFILES`. Source notebooks are never
   modified. A failing notebook stops the build with one line naming it and its log.
4. **HTML**: ``_build/src/`` is assembled (``_config.yml``, ``_toc.yml``, ``book/``, the
   executed notebooks, MathJax) and built by ``jupyter-book`` with execution off into
   ``_build/html/``.

Adding a chapter is one line in ``_toc.yml``: ``- file: notebooks/NN_name``.
"""

from __future__ import annotations

import argparse
import base64
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "_build"
SRC = BUILD / "src"  # the folder jupyter-book builds
HTML = BUILD / "html"  # jupyter-book writes <path-output>/_build/html, path-output = ROOT
LOGS = BUILD / "logs"
VENDOR = BUILD / "vendor"  # cache of downloaded third-party files (survives rebuilds)

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
# In _build/src: a static folder that is NOT named `_static` (jupyter-book would add
# every .js file inside `_static` as a <script> on every page). `_config.yml` lists it
# in html_static_path and points mathjax_path at `mathjax/tex-mml-chtml.js` inside it.
STATIC_DIR = "_vendor"

# Parameters per profile. A notebook receives only the parameters it declares (its cell
# tagged `parameters`). `data_root` and `out_dir` are relative to the repository root,
# which is the notebooks' working directory during the build. Per-profile knobs for later
# chapters go into "extra" (e.g. {"n_epochs": 2}).
PROFILES = {
    "smoke": {"about": "tiny data, minutes (CI)", "cell_timeout_s": 900, "extra": {}},
    "quick": {"about": "small data, the default", "cell_timeout_s": 3600, "extra": {}},
    "paper": {"about": "the paper's sizes, hours", "cell_timeout_s": None, "extra": {}},
}
KERNEL_NAME = "python3"  # registered below to run *this* interpreter


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


# ----------------------------------------------------------------------- mathjax
def _check_integrity(path: Path, integrity: str) -> None:
    algo, _, expected = integrity.partition("-")
    digest = base64.b64encode(hashlib.new(algo, path.read_bytes()).digest()).decode()
    if digest != expected:
        raise BuildError(f"{rel(path)} does not match the registry's {algo} integrity for mathjax {MATHJAX_VERSION}")


def _fetch_mathjax_tarball(dest_dir: Path) -> Path:
    """The mathjax tarball in ``dest_dir``: cached, from T2T_MATHJAX_TGZ, npm, or the registry."""
    tgz = dest_dir / f"mathjax-{MATHJAX_VERSION}.tgz"
    if tgz.is_file():
        return tgz
    dest_dir.mkdir(parents=True, exist_ok=True)
    part = tgz.with_suffix(".tgz.part")
    given = os.environ.get("T2T_MATHJAX_TGZ")
    if given:
        say(f"      using T2T_MATHJAX_TGZ={given}")
        if Path(given).is_file():
            shutil.copyfile(given, part)
        else:
            urllib.request.urlretrieve(given, part)  # noqa: S310 (a URL the user chose)
    elif shutil.which("npm"):
        say(f"      npm pack mathjax@{MATHJAX_VERSION}")
        tmp = dest_dir / "npm-pack.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        proc = subprocess.run(
            ["npm", "pack", f"mathjax@{MATHJAX_VERSION}", "--pack-destination", str(tmp), "--silent"],
            capture_output=True, text=True, cwd=tmp,
        )
        packed = list(tmp.glob("mathjax-*.tgz"))
        if proc.returncode != 0 or len(packed) != 1:
            raise BuildError(f"npm pack mathjax@{MATHJAX_VERSION} failed: {(proc.stderr or proc.stdout).strip()[-300:]}")
        packed[0].replace(part)
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        say(f"      npm not found; downloading {MATHJAX_TARBALL}")
        try:
            urllib.request.urlretrieve(MATHJAX_TARBALL, part)  # noqa: S310 (fixed https URL)
        except OSError as exc:
            raise BuildError(
                f"cannot download MathJax ({exc}); install npm, or set T2T_MATHJAX_TGZ to a "
                f"local mathjax-{MATHJAX_VERSION}.tgz"
            ) from exc
    if not given or Path(given).name == tgz.name:
        _check_integrity(part, MATHJAX_INTEGRITY)
    part.replace(tgz)
    return tgz


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


# -------------------------------------------------------------------------- data
def data_root(profile: str) -> Path:
    return BUILD / "data" / f"virtual-{profile}"


def ensure_data(profile: str) -> Path | None:
    """Make (or keep) the virtual cohort of ``profile`` in ``_build/data/virtual-<profile>``.

    Calls ``t2tcore.scanner.cohort.make_cohort(profile, out_dir)``, which keeps an existing cohort
    whose manifest matches the profile, the scanner parameters and the source code, and
    regenerates it otherwise. Returns the folder, or None when ``t2tcore.scanner.cohort`` does not
    exist (skipped).
    """
    out = data_root(profile)
    if importlib.util.find_spec("t2tcore.scanner.cohort") is None:
        say("      t2tcore.scanner.cohort does not exist: no virtual cohort made (skipped)")
        return None
    cohort = importlib.import_module("t2tcore.scanner.cohort")
    if out.is_dir() and cohort.is_up_to_date(profile, out):
        say(f"      virtual cohort '{profile}': up to date in {rel(out)}")
        return out
    say(f"      making the virtual cohort '{profile}' in {rel(out)}")
    t0 = time.perf_counter()
    cohort.make_cohort(profile, out)
    say(f"      virtual cohort '{profile}' made in {time.perf_counter() - t0:.0f} s")
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
    """The parameters of :data:`PROFILES` that ``nb_path`` declares, for ``profile``."""
    import papermill

    declared = papermill.inspect_notebook(str(nb_path))
    table = {
        "profile": profile,
        "data_root": rel(data_root(profile)),
        "out_dir": rel(BUILD / "results" / profile / nb_path.stem),
        **PROFILES[profile]["extra"],
    }
    return {k: v for k, v in table.items() if k in declared}


def run_notebook(nb_path: Path, out_path: Path, profile: str) -> float:
    """Execute ``nb_path`` with papermill into ``out_path``; returns seconds taken."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    params = notebook_parameters(nb_path, profile)
    LOGS.mkdir(parents=True, exist_ok=True)
    log_path = LOGS / f"{profile}-{nb_path.stem}.log"
    failed_copy = LOGS / f"{profile}-{nb_path.stem}.failed.ipynb"
    tmp_out = out_path.with_name(out_path.stem + ".part.ipynb")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    failed_copy.unlink(missing_ok=True)

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
    tmp_out.replace(out_path)
    return time.perf_counter() - t0


def _only_matches(stem: str, only: list[str]) -> bool:
    return any(stem == o or stem.startswith(o) or Path(o).stem == stem for o in only)


# -------------------------------------------------------------------------- html
def assemble_source(entries: list[tuple[str, Path]], executed: dict[str, Path], mathjax_dir: Path) -> None:
    """Write ``_build/src`` from scratch: config, toc, markdown, executed notebooks, MathJax."""
    tmp = SRC.with_name(SRC.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(ROOT / name, tmp / name)
    # everything in book/ except this script (intro, bibliography, figures, ...)
    shutil.copytree(ROOT / "book", tmp / "book", ignore=shutil.ignore_patterns("build.py", "__pycache__", "*.pyc"))
    for docname, src in entries:
        dest = tmp / f"{docname}{src.suffix}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(executed.get(docname, src), dest)
    shutil.copytree(mathjax_dir, tmp / STATIC_DIR)
    shutil.rmtree(SRC, ignore_errors=True)
    tmp.replace(SRC)


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
    parser.add_argument("--strict", action="store_true", help="turn Sphinx warnings into errors")
    args = parser.parse_args(argv)
    profile = args.profile
    t_start = time.perf_counter()
    try:
        say(f"t2t book, profile '{profile}' ({PROFILES[profile]['about']})")
        entries = toc_entries()
        notebooks = [(d, p) for d, p in entries if p.suffix == ".ipynb"]
        if args.only:
            unknown = [o for o in args.only if not any(_only_matches(p.stem, [o]) for _, p in notebooks)]
            if unknown:
                raise BuildError(f"--only {' '.join(unknown)}: not in _toc.yml (notebooks: "
                                 f"{', '.join(p.stem for _, p in notebooks) or 'none'})")
        to_run = [(d, p) for d, p in notebooks if not args.only or _only_matches(p.stem, args.only)]

        say("[1/4] MathJax (offline math)")
        mathjax_dir = vendor_mathjax()

        say("[2/4] data")
        import papermill

        if any("data_root" in papermill.inspect_notebook(str(p)) for _, p in to_run):
            ensure_data(profile)
        else:
            say("      no notebook to run declares data_root: nothing to make")

        say(f"[3/4] notebooks: {len(to_run)} to run of {len(notebooks)} in _toc.yml")
        register_kernel()
        executed_dir = BUILD / "executed" / profile
        executed: dict[str, Path] = {}
        for i, (docname, nb) in enumerate(notebooks, 1):
            out = executed_dir / f"{docname}.ipynb"
            if (docname, nb) in to_run:
                say(f"      ({i}/{len(notebooks)}) {rel(nb)} ...")
                seconds = run_notebook(nb, out, profile)
                say(f"      ({i}/{len(notebooks)}) {rel(nb)}: done in {seconds:.0f} s")
                executed[docname] = out
            elif out.is_file():
                stale = " (older than its source)" if out.stat().st_mtime < nb.stat().st_mtime else ""
                say(f"      ({i}/{len(notebooks)}) {rel(nb)}: reusing the last '{profile}' run{stale}")
                executed[docname] = out
            else:
                say(f"      ({i}/{len(notebooks)}) {rel(nb)}: not run (--only), shown without outputs")

        say("[4/4] HTML (jupyter-book, execution off)")
        assemble_source(entries, executed, mathjax_dir)
        index = build_html(args.strict)
    except BuildError as exc:
        print(f"book/build.py: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("book/build.py: interrupted", file=sys.stderr)
        return 130
    say(f"Book built in {time.perf_counter() - t_start:.0f} s. Open {rel(index)}")
    say(f"  (file://{index})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
