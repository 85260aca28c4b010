"""The ``t2t`` command.

Each sub-command is a pair of functions: ``_add_<name>(subparsers)`` declares its
arguments and ``_run_<name>(args) -> int`` does the work by calling ``t2tcore``
functions. Errors caused by bad input (:class:`~t2tcore.errors.T2TError`) are printed as
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
    for add in _SUBCOMMANDS:
        add(sub)
    return parser


# Sub-commands register themselves here (see the _add_* functions below).
_SUBCOMMANDS: list = []


def _format_warning(message, category, filename, lineno, line=None):  # noqa: ARG001
    return f"warning: {message}\n"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``t2t`` command; returns the process exit status."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    warnings.formatwarning = _format_warning
    try:
        return int(args.func(args) or 0)
    except T2TError as exc:
        print(f"t2t {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    except KeyboardInterrupt:
        print(f"t2t {args.command}: interrupted, nothing written", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
