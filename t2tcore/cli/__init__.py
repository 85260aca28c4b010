"""The ``t2t`` command.

Each sub-command (or group) is one module of this package with ``add_parser(subparsers)``,
which declares its arguments and sets ``func=`` to a ``_run_<name>(args) -> int`` that does
the work by calling ``t2tcore`` functions. Errors caused by bad input (:class:`~t2tcore.errors.T2TError`) are printed as
one line on stderr with a non-zero exit status, never as a traceback.
"""

from __future__ import annotations

import argparse
import sys
import warnings

from t2tcore import __version__
from t2tcore.errors import T2TError

EXIT_INPUT_ERROR = 2


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="t2t",
        description="Simulate thick-slice CT from thin-slice CT (position correction + triangular weighting), "
        "inspect DICOM folders, and make the virtual helical-CT cohort.",
    )
    parser.add_argument("--version", action="version", version=f"t2t {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    _add_all(sub)
    return parser


# The sub-commands, in the order `t2t --help` lists them: each module has add_parser(subparsers),
# which declares its arguments and sets func= to the function doing the work.
_SUBCOMMANDS = ("info", "simulate", "pairs", "calibrate", "data", "sr")


def _add_all(sub) -> None:
    import importlib

    for name in _SUBCOMMANDS:
        importlib.import_module(f"t2tcore.cli.{name}").add_parser(sub)


def _format_warning(message, category, filename, lineno, line=None):  # noqa: ARG001
    return f"warning: {message}\n"


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is (so that outputs are cleaned up like on Ctrl-C)."""


def _on_sigterm(signum, frame):  # noqa: ARG001
    raise Terminated()


def _quiet_stdout() -> None:
    """After a broken pipe: send what is left of stdout nowhere (no second error at exit)."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a file (a test's capture)
        pass


def _cli_wording(text: str) -> str:
    """A library message in the command's words: its options, not the Python API's keywords."""
    import re

    text = text.replace("overwrite=True / --overwrite", "--overwrite").replace("force=True / --force", "--force")
    return re.sub(r"series_uid \(t2t: (--[\w-]+)\)", r"\1", text)


def _name(args) -> str:
    """The command as the user typed it (``t2t sr apply``), as argparse names it in its errors."""
    action = getattr(args, "action", None) or getattr(args, "data_command", None)
    return f"t2t {args.command}" + (f" {action}" if action else "")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``t2t`` command; returns the process exit status.

    Bad input: one line on stderr, status 2. Ctrl-C or SIGTERM: outputs cleaned up, one line,
    status 130 or 143. Output piped into a program that stops reading (``t2t info | head``):
    quiet, status 141, as ``ls | head``.
    """
    import signal
    import threading

    parser = _build_parser()
    args = parser.parse_args(argv)
    warnings.formatwarning = _format_warning
    old = None
    if threading.current_thread() is threading.main_thread():
        old = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()
        return code
    except T2TError as exc:
        print(f"{_name(args)}: error: {_cli_wording(str(exc))}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    except PermissionError as exc:  # a path this user may not read or reach: name it, no traceback
        where = exc.filename or "a file"
        print(f"{_name(args)}: error: {where}: permission denied (this user cannot read it, or a folder on "
              "its path)", file=sys.stderr)
        return EXIT_INPUT_ERROR
    except MemoryError:  # what the size checks did not foresee: one line, the outputs are cleaned up
        print(f"{_name(args)}: error: out of memory (this machine cannot hold the work asked for; nothing written)",
              file=sys.stderr)
        return EXIT_INPUT_ERROR
    except Terminated:
        print(f"{_name(args)}: terminated, nothing written", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print(f"{_name(args)}: interrupted, nothing written", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _quiet_stdout()
        return 141
    finally:
        if old is not None:
            signal.signal(signal.SIGTERM, old)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
