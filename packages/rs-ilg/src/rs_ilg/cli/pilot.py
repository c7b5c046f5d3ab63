"""``rs-ilg pilot``: the imaging Σ_b pilot (options of the original ``imaging_pilot.py``, plus the R_d comparison)."""

from __future__ import annotations

import argparse

from pydantic import ValidationError

from ..master import build_master
from ..modes import ModeConfig
from ..pilot import PilotConfig, rd_comparison, read_pilot_inputs, run_pilot, synthetic_inputs, write_pilot
from ..rotmod import read_rotmod_dir
from ..table import read_sparc_table
from ._common import CLIError, blame, opt


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``pilot`` subcommand."""
    p = sub.add_parser("pilot", help="imaging Sigma_b pilot: FITS maps, fields, R_d comparison")
    p.add_argument(*opt("--input-csv"), dest="input_csv", default="",
                   help="name, image_path, pixscale_arcsec, dist_mpc[, inc_deg, pa_deg, center_x, center_y]")  # fmt: skip
    p.add_argument(*opt("--out-dir"), dest="out_dir", default="results/imaging_pilot")
    p.add_argument("--mode", choices=["compat", "corrected"], default="compat")
    p.add_argument(*opt("--on-unusable"), dest="on_unusable", choices=["placeholder", "skip", "error"], default=None,
                   help="input without a usable image: placeholder (compat default, flagged), skip (corrected "
                        "default, recorded) or error")  # fmt: skip
    p.add_argument(*opt("--bg-clip"), dest="bg_clip", type=float, default=3.0)
    p.add_argument("--deproject", action="store_true")
    p.add_argument(*opt("--dx-kpc"), dest="dx_kpc", type=float, default=None)
    p.add_argument("--nbins", type=int, default=128)
    p.add_argument(*opt("--eta-sigma"), dest="eta_sigma", type=float, default=0.1)
    p.add_argument(*opt("--lambda0-kpc"), dest="lambda0_kpc", type=float, default=1.0)
    p.add_argument(*opt("--kappa-rec"), dest="kappa_rec", type=float, default=1.0)
    p.add_argument("--quicklook", action="store_true")
    p.add_argument(*opt("--rotmod-dir"), dest="rotmod_dir", default="",
                   help="with --table: compare imaging R_d with the master table's R_d of --mode")  # fmt: skip
    p.add_argument("--table", default="")
    p.add_argument(*opt("--synthetic-dir"), dest="synthetic_dir", default="",
                   help="write synthetic disc images for the --rotmod-dir galaxies here and use them as input")  # fmt: skip
    p.add_argument(*opt("--n-resamples"), dest="n_resamples", type=int, default=10000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(*opt("--no-progress"), dest="progress", action="store_false")
    p.set_defaults(func=cmd_pilot)


def cmd_pilot(args: argparse.Namespace) -> None:
    """``rs-ilg pilot``."""
    mode = ModeConfig.from_name(args.mode)
    over = {} if args.on_unusable is None else {"on_unusable": args.on_unusable}
    try:
        cfg = PilotConfig.from_mode(mode, bg_clip=args.bg_clip, deproject=args.deproject, dx_kpc=args.dx_kpc,
                                    nbins=args.nbins, eta_sigma=args.eta_sigma, lambda0_kpc=args.lambda0_kpc,
                                    kappa_rec=args.kappa_rec, **over)  # fmt: skip
    except ValidationError as exc:
        err = exc.errors()[0]
        raise CLIError("--" + str(err["loc"][0]).replace("_", "-"), err["msg"]) from None
    master = None
    if args.rotmod_dir:
        if not args.table and mode.needs_galaxy_table:
            raise CLIError("--table", f"required by --mode {args.mode} with --rotmod-dir")
        with blame("--rotmod-dir"):
            rotmods = read_rotmod_dir(args.rotmod_dir)
        with blame("--table"):
            master = build_master(rotmods, read_sparc_table(args.table) if args.table else None, mode)
    if args.synthetic_dir:
        if master is None:
            raise CLIError("--synthetic-dir", "needs --rotmod-dir (and --table in corrected mode)")
        inputs = synthetic_inputs(master, args.synthetic_dir)
    elif args.input_csv:
        with blame("--input-csv"):
            inputs = read_pilot_inputs(args.input_csv)
    else:
        raise CLIError("--input-csv", "give --input-csv or --synthetic-dir")
    with blame("--input-csv"):
        res = run_pilot(inputs, cfg, mode, progress=args.progress)
    comp = None
    if master is not None and res.galaxies:
        comp = rd_comparison(res.table(), {n: g.R_d_kpc for n, g in master.items()},
                             n_resamples=args.n_resamples, seed=args.seed)  # fmt: skip
    write_pilot(res, args.out_dir, quicklook=args.quicklook, comparison=comp, progress=args.progress)
    n_ph = sum(g.placeholder for g in res.galaxies.values())
    print(f"pilot: {len(res.galaxies)} galaxies ({n_ph} on the PLACEHOLDER image), {len(res.skipped)} skipped "
          f"-> {args.out_dir}")  # fmt: skip
    if n_ph:
        print("pilot: WARNING: placeholder R_d values say nothing about the galaxies (see image_status)")
