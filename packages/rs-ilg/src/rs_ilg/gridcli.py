"""``rs-ilg run2d`` and ``rs-ilg run3d``: the 2D/3D grid runners on the command line.

Options follow ``sparc_2d_proxy_runner.py`` / ``sparc_3d_proxy_runner.py`` (spec §6.3, §7.5); both
``--out-dir`` and ``--out_dir`` spellings work. Outputs in ``--out-dir``: ``summary.csv`` (galaxy, N,
chi2_over_N), ``baselines.csv`` (ILG beside Newtonian K = 1 and MOND on the same points),
``<Galaxy>_2d_proxy.csv`` / ``<Galaxy>_3d_proxy.csv``, ``skipped.csv`` and ``run.json``.

Example: ``rs-ilg run3d --rotmod-dir D --table T --mode compat --limit 24 --anisotropic --nx 64 --ny 64
--nz 64 --out-dir O``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from .cli import CLIError, _opt, add_input_arguments, load_inputs, read_name_csv, write_run
from .runners import GridRunConfig, GridRunResult, run_grid

__all__ = ["register", "cmd_run2d", "cmd_run3d"]

_BASE_COLS = ["galaxy", "N", "chi2_over_N", "chi2_over_N_newton", "chi2_over_N_mond"]


def _add_shared(p: argparse.ArgumentParser) -> None:
    p.add_argument("--limit", dest="grid_limit", type=int, default=None,
                   help="stop after N galaxies completed (0 = all; run3d default 20, run2d all)")
    p.add_argument(*_opt("--ml-disk"), dest="ml_disk", type=float, default=1.0, help="Upsilon_disk")
    p.add_argument(*_opt("--gext-ratio"), dest="gext_ratio", type=float, default=0.0,
                   help="external field in units of a0 (no real effect in compat mode, spec 12.10)")
    p.add_argument(*_opt("--ablate-D-identity"), dest="ablate_D_identity", action="store_true", help="D -> I")
    p.add_argument(*_opt("--ablate-K1"), dest="ablate_K1", action="store_true", help="K = 1 (Newtonian null)")
    p.add_argument(*_opt("--ablate-gext0"), dest="ablate_gext0", action="store_true", help="drop g_ext (f_ext = 1)")
    p.add_argument(*_opt("--ablate-const-sigma"), dest="ablate_const_sigma", action="store_true",
                   help="sigma_eff = 10 km/s everywhere")
    p.add_argument(*_opt("--ablate-no-inner-mask"), dest="ablate_no_inner_mask", action="store_true",
                   help="b = 0 (no inner mask, no beam term)")
    p.add_argument(*_opt("--dtype"), dest="dtype", choices=["float64", "float32"], default="float64",
                   help="CG arithmetic (float32 only sensible with converged solves, i.e. --mode corrected)")
    p.add_argument(*_opt("--batch-size"), dest="batch_size", type=int, default=1,
                   help="3D galaxies solved together in one batched CG")
    p.add_argument(*_opt("--jobs"), dest="jobs", type=int, default=1, help="worker processes")
    p.add_argument(*_opt("--skip-existing"), dest="skip_existing", action="store_true",
                   help="do not overwrite existing per-galaxy CSVs (everything is still computed, as the original)")
    p.add_argument(*_opt("--exclude-csv"), dest="exclude_csv", default="",
                   help="galaxies to leave out (name/galaxy column); the original ignored it: so does compat mode")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``run2d`` and ``run3d`` subcommands to the ``rs-ilg`` parser."""
    p = subparsers.add_parser("run2d", help="2D ILG kernel runner (128^2 Sigma_b proxy, anisotropic)")
    add_input_arguments(p, limit=False)
    _add_shared(p)
    p.add_argument("--nx", type=int, default=128, help="grid size (nx = ny)")
    p.add_argument(*_opt("--box-factor"), dest="box_factor", type=float, default=8.0, help="half-box in R_d")
    p.add_argument(*_opt("--smooth-sigma-rel"), dest="smooth_sigma_rel", type=float, default=0.2,
                   help="structure-tensor smoothing in R_d (floored at 0.5 px)")
    p.set_defaults(func=cmd_run2d)

    p = subparsers.add_parser("run3d", help="3D ILG kernel runner (rho_b proxy box)")
    add_input_arguments(p, limit=False)
    _add_shared(p)
    for ax in ("--nx", "--ny", "--nz"):
        p.add_argument(ax, type=int, default=32)
    p.add_argument(*_opt("--box-factor-xy"), dest="box_factor_xy", type=float, default=8.0, help="half-box in R_d")
    p.add_argument(*_opt("--box-factor-z"), dest="box_factor_z", type=float, default=2.0, help="half-box in h_z")
    p.add_argument(*_opt("--smooth-sigma-vox"), dest="smooth_sigma_vox", type=float, default=1.0,
                   help="structure-tensor smoothing in voxels (voxel units, compat)")
    p.add_argument(*_opt("--lambda-rec-kpc"), dest="lambda_rec_kpc", type=float, default=0.5,
                   help="recognition length in kpc (physical units, corrected)")
    p.add_argument("--anisotropic", action="store_true", help="anisotropic diffusion tensor")
    p.add_argument(*_opt("--features-root"), dest="features_root", default="",
                   help="precomputed features (rs-ilg features output); dead in compat, as in the original")
    p.add_argument(*_opt("--permute-features"), dest="permute_features", action="store_true")
    p.add_argument(*_opt("--permute-seed"), dest="permute_seed", type=int, default=42)
    p.set_defaults(func=cmd_run3d)


def _config(args: argparse.Namespace, ndim: int) -> GridRunConfig:
    common = dict(ml_disk=args.ml_disk, gext_ratio=args.gext_ratio, d_identity=args.ablate_D_identity,
                  k1_null=args.ablate_K1, gext0=args.ablate_gext0, const_sigma=args.ablate_const_sigma,
                  no_inner_mask=args.ablate_no_inner_mask, solver_dtype=args.dtype, batch_size=args.batch_size,
                  n_jobs=args.jobs)
    try:
        if ndim == 2:
            return GridRunConfig.run2d(nx=args.nx, box_factor_xy=args.box_factor,
                                       smooth_sigma_rel=args.smooth_sigma_rel, **common)
        return GridRunConfig.run3d(nx=args.nx, ny=args.ny, nz=args.nz, box_factor_xy=args.box_factor_xy,
                                   box_factor_z=args.box_factor_z, smooth_sigma_vox=args.smooth_sigma_vox,
                                   lambda_rec_kpc=args.lambda_rec_kpc, anisotropic=args.anisotropic,
                                   features_root=args.features_root or None,
                                   permute_features=args.permute_features, permute_seed=args.permute_seed, **common)
    except ValueError as exc:
        raise CLIError(str(exc)) from None


def _run(args: argparse.Namespace, ndim: int) -> None:
    cfg = _config(args, ndim)
    if cfg.features_root and not Path(cfg.features_root).is_dir():
        raise CLIError(f"--features-root {cfg.features_root}: not a folder")
    master, names, mode = load_inputs(args)
    if args.exclude_csv:
        if mode.mode == "compat":
            print("note: --exclude-csv is ignored in compat mode, as in the original (spec 12.18)")
        else:
            drop = set(read_name_csv(args.exclude_csv))
            names = [n for n in names if n not in drop]
    limit = args.grid_limit if args.grid_limit is not None else (20 if ndim == 3 else 0)
    res = run_grid(master, mode, cfg, subset=names, limit=limit, progress=args.progress)
    _write(args, res, master, ndim)


def _write(args: argparse.Namespace, res: GridRunResult, master, ndim: int) -> None:
    tag = f"{ndim}d_proxy"
    out = Path(args.out_dir)
    points = {}
    for name, r in res.galaxies.items():
        if args.skip_existing and (out / f"{name}_{tag}.csv").exists():
            continue
        points[name] = r.points
    skipped = pd.concat([master.skipped, res.skipped], ignore_index=True)
    info = {"command": f"run{ndim}d", "options": {k: v for k, v in vars(args).items() if k != "func"},
            "config": res.config.to_dict(), "mode": res.mode.to_dict(), "n_galaxies": len(res.summary)}
    extra = {"run_details.csv": res.summary}
    write_run(out, res.summary, points, tag=tag, baselines=res.summary[_BASE_COLS], skipped=skipped,
              run_info=info, extra_tables=extra)
    s = res.summary
    print(f"run{ndim}d: {len(s)} galaxies; median chi2/N = {s.chi2_over_N.median():.4f}, mean = "
          f"{s.chi2_over_N.mean():.4f} (Newtonian {s.chi2_over_N_newton.median():.4f}, MOND "
          f"{s.chi2_over_N_mond.median():.4f} on the same points) -> {out}")


def cmd_run2d(args: argparse.Namespace) -> None:
    """``rs-ilg run2d``."""
    _run(args, 2)


def cmd_run3d(args: argparse.Namespace) -> None:
    """``rs-ilg run3d``."""
    _run(args, 3)
