"""``rs-ilg`` command line: run the SPARC benchmarks without Kedro. The top layer of the package: it imports
the library and no library module imports it.

Subcommands: ``bench1d``, ``mond``, ``pure-global`` (:mod:`.bench`), ``run2d``, ``run3d`` (:mod:`.grid`),
``features``, ``pilot``, ``trends``. Each module of :data:`COMMAND_MODULES` adds its subcommands with
``register(subparsers)``; that list is the one place a subcommand is registered. Option names follow the
original scripts; both ``--ml-disk`` and ``--ml_disk`` spellings are accepted.

Every run writes into ``--out-dir``: ``summary.csv`` (galaxy, N, chi2_over_N), ``baselines.csv`` (the
model beside Newtonian K = 1 and MOND on the same points), one ``<Galaxy>_<tag>.csv`` per galaxy,
``skipped.csv`` and ``run.json`` (options, mode switches, population quantities). Every mistake on the
command line (a bad value, a missing or unreadable file) is a usage error: exit status 2 and a message
naming the argument.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import bench, features, grid, pilot, trends
from ._common import CLIError

__all__ = ["COMMAND_MODULES", "CLIError", "build_parser", "main"]

#: The modules that add subcommands, in ``--help`` order.
COMMAND_MODULES = (bench, grid, features, pilot, trends)


def build_parser() -> argparse.ArgumentParser:
    """The ``rs-ilg`` argument parser with every subcommand of :data:`COMMAND_MODULES`."""
    parser = argparse.ArgumentParser(prog="rs-ilg", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status: 0 ok, 2 for a usage error (printed to stderr with the
    subcommand's usage and the argument at fault)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except (CLIError, ValueError, OSError) as exc:  # input errors name their file, row and column
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[args.command]
        print(sub.format_usage().rstrip(), file=sys.stderr)
        print(f"rs-ilg {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return 0
