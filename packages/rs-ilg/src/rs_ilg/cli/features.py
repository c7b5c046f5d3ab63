"""``rs-ilg features``: the RS features builder (options of the original ``build_sparc_features.py``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import ValidationError

from .. import atomicio
from ..constants import N_PROFILE_A, N_PROFILE_P
from ..features import FeaturesConfig, build_features, g_ext_from_neighbours, write_features
from ._common import CLIError, add_input_arguments, blame, load_inputs, opt


def read_env_csv(path: str) -> dict[str, float]:
    """``{galaxy: g_ext [m/s^2]}`` from a CSV of neighbours (galaxy, M_Msun, D_kpc; several rows per galaxy)."""
    with blame("--env-csv"):
        df = pd.read_csv(path)
    need = {"galaxy", "M_Msun", "D_kpc"} - set(df.columns)
    if need:
        raise CLIError("--env-csv", f"{path}: missing column(s) {sorted(need)} (need galaxy, M_Msun, D_kpc)")
    out = {}
    for name, sub in df.groupby("galaxy", sort=False):
        with blame("--env-csv"):
            try:
                out[str(name)] = g_ext_from_neighbours(sub["M_Msun"], sub["D_kpc"])
            except ValueError as exc:
                raise ValueError(f"{path}: galaxy {name!r}: {exc}") from None
    return out


def _thresholds(path: str) -> list[float]:
    with blame("--thresholds-in"):
        th = json.loads(Path(path).read_text()).get("thresholds")
    if th is None:
        raise CLIError("--thresholds-in", f"{path}: no 'thresholds' list")
    return th


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``features`` subcommand."""
    p = sub.add_parser("features", help="RS features builder: thresholds.json, fields.npz, features.json")
    add_input_arguments(p)
    out_action = next(a for a in p._actions if a.dest == "out_dir")
    for alias in ("--out-root", "--out_root"):  # the original's option name
        out_action.option_strings.append(alias)
        p._option_string_actions[alias] = out_action
    p.add_argument("--nx", type=int, default=96)
    p.add_argument("--ny", type=int, default=96)
    p.add_argument(*opt("--box-factor-xy"), dest="box_factor_xy", type=float, default=8.0, help="half-box in R_d")
    p.add_argument(*opt("--lambda-rec-kpc"), dest="lambda_rec_kpc", type=float, default=0.5)
    p.add_argument("--A", type=float, default=N_PROFILE_A, help="n(r) amplitude")
    p.add_argument("--p", type=float, default=N_PROFILE_P, help="n(r) exponent")
    p.add_argument(*opt("--ml-disk"), dest="ml_disk", type=float, default=1.0, help="disc M/L of the proxy weights")
    p.add_argument(*opt("--thresholds-in"), dest="thresholds_in", default="",
                   help="thresholds.json to reuse instead of computing them over the population")  # fmt: skip
    p.add_argument(*opt("--env-csv"), dest="env_csv", default="", help="neighbours: galaxy, M_Msun, D_kpc -> g_ext")
    p.set_defaults(func=cmd_features)


def cmd_features(args: argparse.Namespace) -> None:
    """``rs-ilg features``."""
    master, names, mode = load_inputs(args)
    try:
        cfg = FeaturesConfig(nx=args.nx, ny=args.ny, box_factor_xy=args.box_factor_xy,
                             lambda_rec_kpc=args.lambda_rec_kpc, A=args.A, p=args.p, ml_disk=args.ml_disk)  # fmt: skip
    except ValidationError as exc:
        err = exc.errors()[0]
        raise CLIError("--" + str(err["loc"][0]).replace("_", "-"), err["msg"]) from None
    th = _thresholds(args.thresholds_in) if args.thresholds_in else None
    gext = read_env_csv(args.env_csv) if args.env_csv else None
    with blame("--thresholds-in" if th is not None else "--subset"):
        fs = build_features(master, names, cfg, mode, thresholds=th, g_ext_si=gext, progress=args.progress)
    fs.skipped = pd.concat([master.skipped, fs.skipped], ignore_index=True)
    write_features(fs, args.out_dir, provenance={"subset_csv": args.subset_csv, "subset": args.subset},
                   progress=args.progress)  # fmt: skip
    atomicio.write_text(Path(args.out_dir) / "features_summary.csv", fs.to_frame().to_csv(index=False))
    print(f"features: {len(fs.galaxies)} galaxies, thresholds {np.round(fs.thresholds, 6).tolist()} -> {args.out_dir}")
