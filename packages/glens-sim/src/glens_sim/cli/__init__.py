"""``glens-sim`` command line: the top layer of the package (no library module imports it).

Subcommands: ``synth``, ``quality``, ``score``, ``rank``, ``tensors`` (:mod:`.maps`), ``simulate``
(:mod:`.simulate`), ``experiment`` (:mod:`.experiment`). Each module of :data:`COMMAND_MODULES` adds
its subcommands with ``register(subparsers)`` (setting ``func(args) -> int`` as a default); that
list is the one place a subcommand is registered (the same pattern as ``rs_ilg.cli``).

A user mistake (a bad option value, a missing or unreadable file, an invalid setting) is a usage
error: the subcommand's usage and one line ``glens-sim <command>: error: <message naming the
argument or file>`` on stderr, exit status 2, as argparse does for its own errors. Tables are
written as CSV (``.csv``) or parquet (``.parquet``), atomically.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import experiment, maps, simulate
from ._common import read_table, write_table

__all__ = ["COMMAND_MODULES", "build_parser", "main", "read_table", "write_table"]

#: The modules that add subcommands, in ``--help`` order.
COMMAND_MODULES = (maps, simulate, experiment)


def build_parser() -> argparse.ArgumentParser:
    """The ``glens-sim`` argument parser with every subcommand of :data:`COMMAND_MODULES`."""
    parser = argparse.ArgumentParser(
        prog="glens-sim", description="MaNGA maps as lensed sources (glens-sim command line)."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status: 0 ok (1 when ``tensors`` made none), 2 for a usage
    error (printed to stderr with the subcommand's usage and the argument or file at fault)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (OSError, ValueError, KeyError) as exc:  # input errors name their file, extension or field
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[args.command]
        print(sub.format_usage().rstrip(), file=sys.stderr)
        message = str(exc).strip().replace("\n", "; ")
        print(f"glens-sim {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
