"""Public names of a package that load on first use (``import t2tcore`` stays light).

A package lists ``name -> submodule`` in a dict and sets
``__getattr__, __dir__ = lazy_exports(__name__, EXPORTS)``: ``t2tcore.io.read_series`` then
imports ``t2tcore.io.dispatch`` the first time it is asked for, and keeps the value in the
package's namespace (PEP 562). Submodules themselves are found by the import system as usual.
"""

from __future__ import annotations

import importlib
import sys
from typing import Callable, Mapping


def lazy_exports(package: str, exports: Mapping[str, str]) -> tuple[Callable[[str], object], Callable[[], list]]:
    """``(__getattr__, __dir__)`` for ``package`` whose names ``exports`` maps to submodules."""

    def __getattr__(name: str):
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list:
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__


def moved_names(module: str, moved: Mapping[str, str]) -> tuple[Callable[[str], object], Callable[[], list]]:
    """``(__getattr__, __dir__)`` for an old ``module`` whose names ``moved`` maps to their new modules.

    Each name is looked up in its new module on first use, with a DeprecationWarning that names the
    new place; the import is by name, so a library module can keep the old names of what moved up
    into :mod:`t2tcore.studies` without importing the studies (``tests/test_architecture.py``).
    """

    def __getattr__(name: str):
        new = moved.get(name)
        if new is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        import warnings

        warnings.warn(f"{module}.{name} is deprecated; use {new}.{name}", DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module(new), name)

    def __dir__() -> list:
        return sorted(set(vars(sys.modules[module])) | set(moved))

    return __getattr__, __dir__
