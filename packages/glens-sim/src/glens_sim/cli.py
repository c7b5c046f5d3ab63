"""``glens-sim`` command line: synthetic MAPS, quality table, lensability score, ranking, tensors.

Subcommands of other modules plug in through :data:`PLUGINS`: each listed module defines
``register(subparsers)`` that adds its parsers (``subparsers.add_parser(...)``) and sets a
``func(args) -> int`` default. Adding a module is one line in :data:`PLUGINS`.

Tables are written as CSV (``.csv``) or parquet (``.parquet``), atomically.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from .atomic import atomic_write
from .sample import expand_maps_paths

__all__ = ["PLUGINS", "build_parser", "expand_maps_paths", "main", "write_table"]

#: Modules contributing subcommands (each defines ``register(subparsers)``); one line per module.
PLUGINS: tuple[str, ...] = (
    "glens_sim.experiments",
    "glens_sim.simulate",
)

def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a table atomically as CSV or parquet (by suffix)."""
    path = Path(path)
    if path.suffix == ".parquet":
        return atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False))
    return atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False))


def _read_table(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such table")
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)


def _add_read_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--line", default="Ha-6564", help="emission-line channel name (default Ha-6564)")
    p.add_argument("--velocity", choices=("gas", "stellar"), default="gas")
    p.add_argument("--mask", choices=("donotuse", "unreliable", "any"), default="donotuse")
    p.add_argument(
        "--legacy-channel-index", type=int, default=None,
        help="read this 0-based EMLINE plane regardless of its name (original work: 24 = NII-6585)",
    )  # fmt: skip


def _read_kwargs(args: argparse.Namespace) -> dict:
    return dict(
        line=args.line, velocity=args.velocity, mask=args.mask,
        legacy_channel_index=args.legacy_channel_index,
    )  # fmt: skip


def _cmd_synth(args: argparse.Namespace) -> int:
    from .synthetic import make_synthetic_sample

    paths = make_synthetic_sample(args.out_dir, args.n, args.seed, progress=not args.quiet)
    print(f"wrote {len(paths)} MAPS files + dapall/drpall-synthetic.fits to {args.out_dir}")
    return 0


def _cmd_quality(args: argparse.Namespace) -> int:
    from .quality import QualityConfig, quality_table

    table = quality_table(
        expand_maps_paths(args.inputs), QualityConfig(re_method=args.re_method),
        progress=not args.quiet, strict=args.strict, **_read_kwargs(args),
    )  # fmt: skip
    write_table(table, args.output)
    bad = table[table["status"] != "OK"]
    for _, row in bad.iterrows():
        print(row["status"], file=sys.stderr)
    print(f"{len(table)} rows ({int(table['usable'].sum())} usable) → {args.output}")
    return 0


def _cmd_score(args: argparse.Namespace) -> int:
    from .lensability import score_table

    scored = score_table(_read_table(args.quality))
    write_table(scored, args.output)
    counts = scored["lens_tier"].value_counts().to_dict()
    print(f"{len(scored)} rows scored {counts} → {args.output}")
    return 0


def _cmd_rank(args: argparse.Namespace) -> int:
    from .ranking import RankingConfig, rank_candidates, read_dapall, read_drpall

    cfg = RankingConfig(line=args.line, legacy_channel_index=args.legacy_channel_index, top_n=args.top)
    table = rank_candidates(read_dapall(args.dapall, cfg.daptype), read_drpall(args.drpall), cfg)
    write_table(table, args.output)
    print(f"{len(table)} candidates → {args.output}")
    return 0


def _cmd_tensors(args: argparse.Namespace) -> int:
    from .maps_io import plateifu_from_path
    from .sources import SourceConfig, build_source_tensors, save_source_preview, save_source_tensor

    paths = expand_maps_paths(args.inputs)
    if args.scored:
        scored = _read_table(args.scored)
        tiers = {t.strip() for t in args.tiers.split(",")}
        chosen = scored[scored["lens_tier"].isin(tiers)]
        wanted = set(chosen["plateifu"].astype(str))
        files = {Path(f).name for f in chosen.get("file", pd.Series(dtype=str)).astype(str)}
        paths = [p for p in paths if plateifu_from_path(p) in wanted or p.name in files]
    tensors, table = build_source_tensors(
        paths, SourceConfig(size=args.size), progress=not args.quiet, strict=args.strict,
        **_read_kwargs(args),
    )  # fmt: skip
    out_dir = Path(args.out_dir)
    for plateifu, tensor in tensors.items():
        save_source_tensor(tensor, out_dir / f"source_tensor_{plateifu}.npy")
        if not args.no_preview:
            save_source_preview(tensor, out_dir / f"source_preview_{plateifu}.png", plateifu)
    write_table(table, out_dir / "sources.csv")
    failed = table[table["status"] != "OK"] if len(table) else table
    for status in failed.get("status", []):
        print(status, file=sys.stderr)
    print(f"{len(tensors)} source tensors ({len(failed)} failed) → {out_dir}")
    return 1 if len(failed) and not tensors else 0


def build_parser() -> argparse.ArgumentParser:
    """The ``glens-sim`` argument parser, plug-in subcommands included."""
    parser = argparse.ArgumentParser(
        prog="glens-sim", description="MaNGA maps as lensed sources (glens-sim command line)."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("synth", help="write a synthetic sample of DR17-format MAPS files + DAPall/DRPall")
    p.add_argument("out_dir", type=Path)
    p.add_argument("-n", type=int, default=10, help="number of galaxies (default 10)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=_cmd_synth)

    p = sub.add_parser("quality", help="quality table of MAPS files (files or folders)")
    p.add_argument("inputs", nargs="+")
    p.add_argument("-o", "--output", type=Path, required=True, help="table (.csv or .parquet)")
    _add_read_options(p)
    p.add_argument("--re-method", choices=("circle", "ellipse", "legacy"), default="circle")
    p.add_argument("--strict", action="store_true", help="stop at the first unreadable file")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=_cmd_quality)

    p = sub.add_parser("score", help="lensability score and tiers of a quality table")
    p.add_argument("quality", type=Path)
    p.add_argument("-o", "--output", type=Path, required=True)
    p.set_defaults(func=_cmd_score)

    p = sub.add_parser("rank", help="rank disc candidates from DAPall + DRPall (FITS or CSV)")
    p.add_argument("--dapall", type=Path, required=True)
    p.add_argument("--drpall", type=Path, required=True)
    p.add_argument("-o", "--output", type=Path, required=True)
    p.add_argument("--top", type=int, default=None)
    p.add_argument("--line", default="Ha-6564")
    p.add_argument("--legacy-channel-index", type=int, default=None)
    p.set_defaults(func=_cmd_rank)

    p = sub.add_parser("tensors", help="normalised (2,N,N) source tensors + preview PNGs")
    p.add_argument("inputs", nargs="+")
    p.add_argument("-o", "--out-dir", type=Path, required=True)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--scored", type=Path, default=None, help="scored table: keep only --tiers")
    p.add_argument("--tiers", default="elite,good")
    p.add_argument("--no-preview", action="store_true")
    p.add_argument("--strict", action="store_true")
    p.add_argument("--quiet", action="store_true")
    _add_read_options(p)
    p.set_defaults(func=_cmd_tensors)

    for module in PLUGINS:
        importlib.import_module(module).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status. Errors are printed as one line, exit status 2."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (OSError, ValueError, KeyError) as exc:
        print(f"glens-sim {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
