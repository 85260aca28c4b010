"""Whether ``_build/html`` is an up-to-date build: a hash of the sources, and the stamp that records it."""

from __future__ import annotations

import datetime
import hashlib
import json
from pathlib import Path

from builder import paths
from builder.paths import rel
from builder.toc import toc_entries

def source_hash(entries: list[tuple[str, Path]] | None = None) -> str:
    """SHA-256 over what the HTML is made from: config, toc, ``book/``, the toc's documents and
    the package's Python sources (paths and contents, in a fixed order)."""
    if entries is None:
        entries = toc_entries()
    files = {paths.ROOT / "_config.yml", paths.ROOT / "_toc.yml"}
    files |= {p for p in (paths.ROOT / "book").rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    files |= {p for _, p in entries}
    files |= {p for p in (paths.ROOT / "t2tcore").rglob("*.py") if "__pycache__" not in p.parts}
    h = hashlib.sha256()
    for p in sorted(files):
        h.update(rel(p).encode() + b"\0")
        h.update(hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


def write_stamp(profile: str, digest: str, complete: bool, moved: dict[str, int]) -> None:
    paths.STAMP.write_text(json.dumps({
        "profile": profile,
        "source_sha256": digest,
        "complete": complete,
        "stderr_blocks_moved": moved,
        "built": datetime.datetime.now().isoformat(timespec="seconds"),
    }, indent=1) + "\n", encoding="utf8")


def read_stamp(html: Path | None = None) -> dict:
    """What ``_build/html`` was built from (empty when there is no complete, readable stamp)."""
    try:
        html = paths.HTML if html is None else html
        stamp = json.loads((html / paths.STAMP.name).read_text(encoding="utf8"))
    except (OSError, ValueError):
        return {}
    return stamp if isinstance(stamp, dict) else {}


def is_up_to_date(profile: str, html: Path | None = None) -> bool:
    """True when ``_build/html`` is a complete build of ``profile`` from the current sources."""
    html = paths.HTML if html is None else html
    stamp = read_stamp(html)
    return (stamp.get("profile") == profile and bool(stamp.get("complete"))
            and stamp.get("source_sha256") == source_hash() and (html / "index.html").is_file())
