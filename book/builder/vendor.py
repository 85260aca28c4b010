"""MathJax 3 and NiiVue, vendored from the npm registry and cached, so the book renders math and slice
viewers with no network and a rebuild downloads nothing.

Each comes from ``npm pack``, a pinned tarball download, or a local tarball or URL given in
``T2T_MATHJAX_TGZ`` / ``T2T_NIIVUE_TGZ``, and is checked against the registry's integrity string;
it is cached under ``_build/vendor/``. NiiVue's one-file classic-script build (``dist/niivue.umd.js``)
is used, so the viewers work when ``_build/html/index.html`` is opened from disk.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import urllib.request
from pathlib import Path

from builder import paths
from builder.paths import BuildError, rel, say


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
    target = paths.VENDOR / f"mathjax-{MATHJAX_VERSION}"
    if (target / "mathjax" / "tex-mml-chtml.js").is_file():
        say(f"      MathJax {MATHJAX_VERSION}: cached in {rel(target)}")
        return target
    tgz = _fetch_mathjax_tarball(paths.VENDOR / "npm")
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
    target = paths.VENDOR / f"niivue-{NIIVUE_VERSION}"
    if (target / "niivue" / NIIVUE_FILE).is_file():
        say(f"      NiiVue {NIIVUE_VERSION}: cached in {rel(target)}")
        return target
    tgz = _fetch_npm_tarball("@niivue/niivue", NIIVUE_VERSION, NIIVUE_TARBALL, NIIVUE_INTEGRITY, "T2T_NIIVUE_TGZ",
                             paths.VENDOR / "npm")
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
