"""``rs-ilg trends``: trend tables of a 2D/3D run folder joined with a features root."""

from __future__ import annotations

import argparse

from ..features import load_feature_table
from ..trends import TrendConfig, compute_trends, read_run_points, write_trends
from ._common import CLIError, add_input_arguments, blame, load_master, opt
from ..modes import ModeConfig


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``trends`` subcommand."""
    p = sub.add_parser("trends", help="median |resid| by xi bin and by r/R_d bin for a runner's output folder")
    p.add_argument(*opt("--run-dir"), dest="run_dir", required=True, help="runner folder (summary.csv + per-galaxy CSVs)")
    p.add_argument(*opt("--features-root"), dest="features_root", required=True, help="features builder output")
    p.add_argument(*opt("--point-set"), dest="point_set", choices=["features_rd", "runner"], default=None,
                   help="default: the mode's (features_rd in compat, as the original; runner in corrected)")  # fmt: skip
    add_input_arguments(p, limit=False, default_subset="all")
    p.set_defaults(func=cmd_trends)


def cmd_trends(args: argparse.Namespace) -> None:
    """``rs-ilg trends``."""
    mode = ModeConfig.from_name(args.mode)
    cfg = TrendConfig(point_set=args.point_set or mode.trend_point_set)
    with blame("--run-dir"):
        pts = read_run_points(args.run_dir)
    with blame("--features-root"):
        feat = load_feature_table(args.features_root)
    rd = None
    has_errors = "evaluated" in pts.columns and bool({"sigma", "sigma_eff"} & set(pts.columns))
    if cfg.point_set == "runner" and not has_errors:
        if not (args.rotmod_dir or args.mock):
            raise CLIError("--rotmod-dir", "the runner point set needs the runner's R_d: give --rotmod-dir "
                                           "(and --table) or --mock")  # fmt: skip
        rd = {n: g.R_d_kpc for n, g in load_master(args, mode).items()}
    with blame("--run-dir"):
        res = compute_trends(pts, feat, cfg, rd_kpc=rd)
    write_trends(res, args.out_dir)
    print(res.by_xi.to_string(index=False))
    print(res.by_radius.to_string(index=False))
    print(f"trends ({cfg.point_set}): {res.checks} -> {args.out_dir}")
