"""book/builder/vendor.py: NiiVue and MathJax, vendored from their npm tarballs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.book.builder.helpers import build


def test_niivue_is_vendored_from_its_tarball_and_cached(tmp_path, monkeypatch, sandbox):
    """The classic-script build and package.json come out of the npm tarball; a wrong version is refused."""
    import io
    import tarfile

    def tarball(version: str) -> Path:
        path = tmp_path / f"fake-{version}.tgz"
        with tarfile.open(path, "w:gz") as tar:
            for name, text in ((f"package/dist/{build.NIIVUE_FILE}", "var niivue = {};"),
                               ("package/package.json", json.dumps({"name": "@niivue/niivue", "version": version})),
                               ("package/build/niivue/index.js", "export {};")):
                data = text.encode()
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        return path

    monkeypatch.setenv("T2T_NIIVUE_TGZ", str(tarball("0.0.1")))
    with pytest.raises(build.BuildError, match="not 0.69"):
        build.vendor_niivue()
    (sandbox / "vendor" / "npm" / f"niivue-niivue-{build.NIIVUE_VERSION}.tgz").unlink()
    monkeypatch.setenv("T2T_NIIVUE_TGZ", str(tarball(build.NIIVUE_VERSION)))
    out = build.vendor_niivue()
    assert sorted(p.name for p in (out / "niivue").iterdir()) == [build.NIIVUE_FILE, "package.json"]
    monkeypatch.delenv("T2T_NIIVUE_TGZ")
    assert build.vendor_niivue() == out  # cached: nothing fetched again
