"""``glens-sim synth | quality | score | rank | tensors``: MaNGA MAPS files to source tensors."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._common import read_table, write_table
from glens_sim.lensability import TIERS, SourceSelection, select_sources
from glens_sim.maps_io import MASK_MODES, ReadOptions, plateifu_from_path
from glens_sim.sample import expand_maps_paths

__all__ = ["register"]


def _add_read_options(p: argparse.ArgumentParser) -> None:
    d = ReadOptions()
    p.add_argument("--line", default=d.line, help=f"emission-line channel name (default {d.line})")
    p.add_argument("--velocity", choices=("gas", "stellar"), default=d.velocity)
    p.add_argument("--mask", choices=tuple(MASK_MODES), default=d.mask,
                   help="MANGA_DAPPIXMASK rule (default unreliable: NOCOV|UNRELIABLE|DONOTUSE, Marvin's)")
    p.add_argument(
        "--legacy-channel-index", type=int, default=None,
        help="read this 0-based EMLINE plane regardless of its name (original work: 24 = NII-6585)",
    )  # fmt: skip


def _read_options(args: argparse.Namespace) -> ReadOptions:
    return ReadOptions(line=args.line, velocity=args.velocity, mask=args.mask,
                       legacy_channel_index=args.legacy_channel_index)


def _cmd_synth(args: argparse.Namespace) -> int:
    from glens_sim.synthetic import make_synthetic_sample

    paths = make_synthetic_sample(args.out_dir, args.n, args.seed, progress=not args.quiet)
    print(f"wrote {len(paths)} MAPS files + dapall/drpall-synthetic.fits to {args.out_dir}")
    return 0


def _cmd_quality(args: argparse.Namespace) -> int:
    from glens_sim.quality import QualityConfig, quality_table

    table = quality_table(
        expand_maps_paths(args.inputs), QualityConfig(re_method=args.re_method),
        progress=not args.quiet, strict=args.strict, **_read_options(args).kwargs(),
    )  # fmt: skip
    write_table(table, args.output)
    for status in table.loc[table["status"] != "OK", "status"]:
        print(status, file=sys.stderr)
    print(f"{len(table)} rows ({int(table['usable'].sum())} usable) → {args.output}")
    return 0


def _cmd_score(args: argparse.Namespace) -> int:
    from glens_sim.lensability import score_table

    scored = score_table(read_table(args.quality))
    write_table(scored, args.output)
    counts = scored["lens_tier"].value_counts().to_dict()
    print(f"{len(scored)} rows scored {counts} → {args.output}")
    return 0


def _cmd_rank(args: argparse.Namespace) -> int:
    from glens_sim.ranking import RankingConfig, rank_candidates, read_dapall, read_drpall

    cfg = RankingConfig(line=args.line, legacy_channel_index=args.legacy_channel_index, top_n=args.top)
    table = rank_candidates(read_dapall(args.dapall, cfg.daptype), read_drpall(args.drpall), cfg)
    write_table(table, args.output)
    print(f"{len(table)} candidates → {args.output}")
    return 0


def _cmd_tensors(args: argparse.Namespace) -> int:
    from glens_sim.sources import SourceConfig, build_source_tensors, save_source_preview, save_source_tensor

    paths = expand_maps_paths(args.inputs)
    if args.scored:
        tiers = tuple(t.strip() for t in args.tiers.split(",") if t.strip())
        chosen = select_sources(read_table(args.scored), SourceSelection(tiers=tiers))
        wanted = set(chosen["plateifu"].astype(str))
        names = {Path(f).name for f in chosen["file"].astype(str)} if "file" in chosen else set()
        paths = [p for p in paths if plateifu_from_path(p) in wanted or p.name in names]
    tensors, table = build_source_tensors(
        paths, SourceConfig(size=args.size), progress=not args.quiet, strict=args.strict,
        **_read_options(args).kwargs(),
    )  # fmt: skip
    out_dir = Path(args.out_dir)
    scales = dict(zip(table["plateifu"], table["arcsec_per_unit"])) if tensors else {}
    for plateifu, tensor in tensors.items():
        save_source_tensor(tensor, out_dir / f"source_tensor_{plateifu}.npy")
        if not args.no_preview:
            save_source_preview(tensor, out_dir / f"source_preview_{plateifu}.png", plateifu,
                                arcsec_per_unit=scales[plateifu])
    write_table(table, out_dir / "sources.csv")
    failed = table[table["status"] != "OK"] if len(table) else table
    for status in failed.get("status", []):
        print(status, file=sys.stderr)
    print(f"{len(tensors)} source tensors ({len(failed)} failed) → {out_dir}")
    return 1 if len(failed) and not tensors else 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``synth``, ``quality``, ``score``, ``rank`` and ``tensors`` to a ``glens-sim`` parser."""
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
    p.add_argument("--line", default=ReadOptions().line)
    p.add_argument("--legacy-channel-index", type=int, default=None)
    p.set_defaults(func=_cmd_rank)

    p = sub.add_parser("tensors", help="normalised (2,N,N) source tensors + preview PNGs")
    p.add_argument("inputs", nargs="+")
    p.add_argument("-o", "--out-dir", type=Path, required=True)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--scored", type=Path, default=None,
                   help="scored table: keep only the galaxies select_sources picks for --tiers")
    p.add_argument("--tiers", default=",".join(SourceSelection().tiers),
                   help=f"comma-separated tiers among {', '.join(TIERS)}")
    p.add_argument("--no-preview", action="store_true")
    p.add_argument("--strict", action="store_true")
    p.add_argument("--quiet", action="store_true")
    _add_read_options(p)
    p.set_defaults(func=_cmd_tensors)
