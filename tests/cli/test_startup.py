"""What the ``t2t`` command imports before it does any work (behaviour, not timing).

Every command module is imported to build the parser, so a heavy import at module level
(or in an ``add_parser``) is paid by every command, ``t2t --version`` included. Each check
runs in a fresh interpreter and lists the modules it loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

from t2tcore.io import Series, write_series

#: Libraries no start-up and no DICOM ``t2t simulate`` needs.
HEAVY = ("torch", "scipy", "pandas", "matplotlib", "monai", "skimage")


def _loaded(code: str, names: tuple[str, ...]) -> list[str]:
    """Which of ``names`` are in sys.modules after ``code`` ran in a new interpreter."""
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted(m for m in {names!r} if m in sys.modules)))"
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_building_the_parser_imports_no_heavy_library():
    code = "import t2tcore.cli as c; c._build_parser()"
    assert _loaded(code, HEAVY) == []
    # nor the DICOM and NIfTI libraries: `t2t --version` and `--help` read no image
    assert _loaded(code, ("pydicom", "nibabel")) == []


def test_version_and_help_import_no_heavy_library():
    for argv in (["--version"], ["simulate", "--help"], ["pairs", "--help"], ["data", "check", "--help"]):
        code = f"import t2tcore.cli as c\ntry:\n    c.main({argv!r})\nexcept SystemExit:\n    pass"
        assert _loaded(code, HEAVY + ("pydicom", "nibabel")) == [], argv


def test_dicom_simulate_imports_no_heavy_library(tmp_path):
    # The whole command on a tiny DICOM series: pydicom is needed, nothing heavier, and
    # not nibabel either (no NIfTI involved).
    vol = np.random.default_rng(0).normal(0, 100, (6, 8, 8)).astype(np.float32)
    write_series(Series.from_array(vol, np.arange(6) * 1.0, (0.7, 0.7), 1.0), tmp_path / "thin")
    argv = ["simulate", str(tmp_path / "thin"), str(tmp_path / "thick"), "--thickness", "3", "--interval", "2",
            "--no-progress"]
    code = f"import t2tcore.cli as c\nassert c.main({argv!r}) == 0"
    assert _loaded(code, HEAVY + ("nibabel", "pydicom")) == ["pydicom"]
    assert len(list((tmp_path / "thick").iterdir())) == 3
