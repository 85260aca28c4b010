"""t2tcore._lazy: public names load on first use and then stay in the package."""

import subprocess
import sys

import pytest

import t2tcore


def test_a_public_name_loads_its_module_once_and_is_kept():
    code = ("import sys, t2tcore.io as io; assert 't2tcore.io.dispatch' not in sys.modules; "
            "f = io.read_series; assert 't2tcore.io.dispatch' in sys.modules; "
            "assert vars(io)['read_series'] is f; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_unknown_names_raise_attribute_error_and_dir_lists_the_exports():
    with pytest.raises(AttributeError, match="has no attribute 'no_such_thing'"):
        t2tcore.no_such_thing  # noqa: B018
    assert {"read_series", "simulate_thick", "scan"} <= set(dir(t2tcore))
