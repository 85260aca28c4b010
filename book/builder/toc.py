"""Which documents the book has: the entries of ``_toc.yml`` in reading order."""

from __future__ import annotations

from pathlib import Path

from builder import paths
from builder.paths import BuildError, rel


def toc_entries(toc_path: Path | None = None) -> list[tuple[str, Path]]:
    """Documents listed in ``_toc.yml``, in reading order, as (docname, source file).

    Raises :class:`BuildError` for a malformed toc, a glob/URL entry that cannot be
    resolved to one file, or a listed document that does not exist.
    """
    toc_path = paths.ROOT / "_toc.yml" if toc_path is None else toc_path
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
        found = [paths.ROOT / f"{name}{ext}" for ext in (".ipynb", ".md") if (paths.ROOT / f"{name}{ext}").is_file()]
        if not found:
            raise BuildError(f"{rel(toc_path)} lists '{name}' but neither {name}.ipynb nor {name}.md exists")
        if len(found) > 1:
            raise BuildError(f"{rel(toc_path)} lists '{name}' and both {name}.ipynb and {name}.md exist")
        entries.append((name, found[0]))
    return entries
