"""CI must not skip what it cannot install (issue 14): ``.ci/run`` with ``CI=true`` stops, in one
line, when dcm2niix, chromium or chromedriver is missing, instead of letting their tests skip."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_run_fails_in_one_line_when_a_program_is_missing(tmp_path):
    # a PATH with the few programs .ci/run uses before installing, but no dcm2niix and no apt-get
    # (and no make: were the check broken, the script could go no further than `make setup`)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("bash", "dirname", "id"):
        os.symlink(shutil.which(name), bin_dir / name)
    env = {"PATH": str(bin_dir), "CI": "true", "HOME": str(tmp_path)}
    proc = subprocess.run([str(bin_dir / "bash"), str(ROOT / ".ci" / "run")], capture_output=True, text=True, env=env,
                          timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ci: error: missing dcm2niix"), proc.stderr


def test_tests_that_need_a_program_fail_in_ci_and_skip_elsewhere(tmp_path):
    test = tmp_path / "test_needs.py"
    test.write_text("from tests.conftest import require_program\n\n"
                    "def test_x():\n    require_program('no-such-program-t2t')\n")
    for ci, word in (("true", "1 failed"), ("", "1 skipped")):
        env = {**os.environ, "CI": ci, "PYTHONPATH": str(ROOT)}
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               str(test)], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
        assert word in proc.stdout, proc.stdout
