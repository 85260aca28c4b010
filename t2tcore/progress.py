"""Progress bars for long work: on the terminal, or in a log file, never in a book page.

Every long-running function of t2tcore takes ``progress=`` and makes its bar with :func:`bar`.
The bar goes to standard error, as tqdm's do, except when the environment variable
``T2T_PROGRESS_FILE`` names a file: then it is appended there as plain text lines (a line every
few seconds). ``book/build.py`` sets that variable for every notebook it runs, so a chapter's
progress lands in its build log (``_build/logs/``) and the rendered page shows none of it.

tqdm is used as it is: this module only chooses where a bar writes, so that the choice is made
in one place for the whole package.
"""

from __future__ import annotations

import atexit
import os
import sys
from typing import Any, Iterable

__all__ = ["PROGRESS_FILE_ENV", "bar"]

#: Environment variable naming a file that receives every progress bar instead of stderr.
PROGRESS_FILE_ENV = "T2T_PROGRESS_FILE"

_files: dict[str, Any] = {}


def _log_file(path: str):
    f = _files.get(path)
    if f is None or f.closed:
        f = open(path, "a", encoding="utf8", buffering=1)  # noqa: SIM115 (kept open for later bars)
        _files[path] = f
        atexit.register(f.close)
    return f


def bar(
    iterable: Iterable | None = None,
    *,
    total: int | float | None = None,
    desc: str | None = None,
    unit: str = "it",
    enabled: bool | None = True,
    leave: bool = False,
    **kwargs: Any,
):
    """A ``tqdm`` progress bar that writes where :mod:`t2tcore.progress` says.

    Parameters
    ----------
    iterable : iterable, optional
        What to iterate over (as ``tqdm(iterable)``).
    total : int or float, optional
        Number of steps (default: ``len(iterable)`` where it has one).
    desc, unit : str
        Label and unit of the bar.
    enabled : bool or None
        False gives a silent bar (``disable=True``): callers pass their ``progress=`` argument.
        None: shown only when standard error is a terminal (or a progress file is set).
    leave : bool
        Keep the finished bar on the terminal.
    **kwargs
        Passed to ``tqdm`` (e.g. ``postfix``, ``mininterval``).

    Returns
    -------
    tqdm.tqdm
        Use it as tqdm: iterate, ``update()``, ``set_postfix()``, ``close()`` or ``with``.
    """
    from tqdm import tqdm

    path = os.environ.get(PROGRESS_FILE_ENV)
    if path and enabled is not False:
        kwargs.setdefault("mininterval", 5.0)
        kwargs.update(file=_log_file(path), ascii=True, dynamic_ncols=False, ncols=100)
        leave = True  # a log keeps every bar's last line
    else:
        kwargs.setdefault("file", sys.stderr)
        kwargs.setdefault("dynamic_ncols", True)
        if enabled is None and not kwargs["file"].isatty():
            enabled = False
    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=enabled is False, leave=leave, **kwargs)
