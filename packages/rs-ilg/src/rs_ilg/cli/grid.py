"""``rs-ilg run2d`` and ``rs-ilg run3d``: the 2D/3D grid runners on the command line.

Options follow ``sparc_2d_proxy_runner.py`` / ``sparc_3d_proxy_runner.py`` (spec §6.3, §7.5); both
``--out-dir`` and ``--out_dir`` spellings work. Outputs in ``--out-dir``: ``summary.csv`` (galaxy, N,
chi2_over_N), ``baselines.csv`` (ILG beside Newtonian K = 1 and MOND on the same points),
``<Galaxy>_2d_proxy.csv`` / ``<Galaxy>_3d_proxy.csv``, ``skipped.csv`` and ``run.json``. Each galaxy's
CSV and its ``<Galaxy>_<tag>.json`` (summary row and settings) are written as soon as it finishes, so a
killed run keeps what it did; a rerun with the same settings into the same folder skips those galaxies.

Example: ``rs-ilg run3d --rotmod-dir D --table T --mode compat --limit 24 --anisotropic --nx 64 --ny 64
--nz 64 --out-dir O``.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
from pydantic import ValidationError

from ..atomicio import write_json, write_text
from ..features import read_features
from ..master import Master
from ..runners import SUMMARY_COLUMNS, GalaxyGridResult, GridRunConfig, GridRunResult, run_grid, summary_row
from ._common import (
    CLIError, add_input_arguments, blame, jsonable, load_inputs, opt, options, print_medians, read_name_csv, write_run,
)  # fmt: skip

_BASE_COLS = ["galaxy", "N", "chi2_over_N", "chi2_over_N_newton", "chi2_over_N_mond"]


def _add_shared(p: argparse.ArgumentParser) -> None:
    p.add_argument("--limit", dest="grid_limit", type=int, default=None,
                   help="stop after N galaxies completed (0 = all; run3d default 20, run2d all)")
    p.add_argument(*opt("--ml-disk"), dest="ml_disk", type=float, default=1.0, help="Upsilon_disk")
    p.add_argument(*opt("--gext-ratio"), dest="gext_ratio", type=float, default=0.0,
                   help="external field in units of a0 (no real effect in compat mode, spec 12.10)")
    p.add_argument(*opt("--ablate-D-identity"), dest="ablate_D_identity", action="store_true", help="D -> I")
    p.add_argument(*opt("--ablate-K1"), dest="ablate_K1", action="store_true", help="K = 1 (Newtonian null)")
    p.add_argument(*opt("--ablate-gext0"), dest="ablate_gext0", action="store_true", help="drop g_ext (f_ext = 1)")
    p.add_argument(*opt("--ablate-const-sigma"), dest="ablate_const_sigma", action="store_true",
                   help="sigma_eff = 10 km/s everywhere")
    p.add_argument(*opt("--ablate-no-inner-mask"), dest="ablate_no_inner_mask", action="store_true",
                   help="b = 0 (no inner mask, no beam term)")
    p.add_argument("--solver", choices=["fast", "original"], default="fast",
                   help="fast: FFT-preconditioned CG run to convergence (reproduces the reference results within "
                        "the spec's tolerances); original: the mode's own CG (compat: the original's capped plain "
                        "CG, for exact reproduction of its unconverged 3D runs)")
    p.add_argument(*opt("--dtype"), dest="dtype", choices=["auto", "float64", "float32"], default="auto",
                   help="CG arithmetic; auto: float32 for converged 3D solves with tolerance >= 1e-6 (compat), "
                        "else float64")
    p.add_argument(*opt("--batch-size"), dest="batch_size", type=int, default=1,
                   help="3D galaxies solved together in one batched CG")
    p.add_argument(*opt("--jobs"), dest="jobs", type=int, default=0,
                   help="worker processes (0 = every core; 1 = in this process, as the original)")
    p.add_argument(*opt("--skip-existing"), dest="skip_existing", action="store_true",
                   help="do not overwrite existing per-galaxy CSVs (everything is still computed, as the original)")
    p.add_argument(*opt("--exclude-csv"), dest="exclude_csv", default="",
                   help="galaxies to leave out (name/galaxy column); the original ignored it: so does compat mode")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``run2d`` and ``run3d`` subcommands."""
    p = sub.add_parser("run2d", help="2D ILG kernel runner (128^2 Sigma_b proxy, anisotropic)")
    add_input_arguments(p, limit=False)
    _add_shared(p)
    p.add_argument("--nx", type=int, default=128, help="grid size (nx = ny)")
    p.add_argument(*opt("--box-factor"), dest="box_factor", type=float, default=8.0, help="half-box in R_d")
    p.add_argument(*opt("--smooth-sigma-rel"), dest="smooth_sigma_rel", type=float, default=0.2,
                   help="structure-tensor smoothing in R_d (floored at 0.5 px)")
    p.set_defaults(func=cmd_run2d)

    p = sub.add_parser("run3d", help="3D ILG kernel runner (rho_b proxy box)")
    add_input_arguments(p, limit=False)
    _add_shared(p)
    for ax in ("--nx", "--ny", "--nz"):
        p.add_argument(ax, type=int, default=32)
    p.add_argument(*opt("--box-factor-xy"), dest="box_factor_xy", type=float, default=8.0, help="half-box in R_d")
    p.add_argument(*opt("--box-factor-z"), dest="box_factor_z", type=float, default=2.0, help="half-box in h_z")
    p.add_argument(*opt("--smooth-sigma-vox"), dest="smooth_sigma_vox", type=float, default=1.0,
                   help="structure-tensor smoothing in voxels (voxel units, compat)")
    p.add_argument(*opt("--lambda-rec-kpc"), dest="lambda_rec_kpc", type=float, default=0.5,
                   help="recognition length in kpc (physical units, corrected)")
    p.add_argument("--anisotropic", action="store_true", help="anisotropic diffusion tensor")
    p.add_argument(*opt("--features-root"), dest="features_root", default="",
                   help="precomputed features (rs-ilg features output); dead in compat, as in the original")
    p.add_argument(*opt("--permute-features"), dest="permute_features", action="store_true")
    p.add_argument(*opt("--permute-seed"), dest="permute_seed", type=int, default=42)
    p.set_defaults(func=cmd_run3d)


def _config(args: argparse.Namespace, ndim: int) -> GridRunConfig:
    common = dict(ml_disk=args.ml_disk, gext_ratio=args.gext_ratio, d_identity=args.ablate_D_identity,
                  k1_null=args.ablate_K1, gext0=args.ablate_gext0, const_sigma=args.ablate_const_sigma,
                  no_inner_mask=args.ablate_no_inner_mask, solver=args.solver, solver_dtype=args.dtype,
                  batch_size=args.batch_size, n_jobs=args.jobs)
    try:
        if ndim == 2:
            return GridRunConfig.run2d(nx=args.nx, box_factor_xy=args.box_factor,
                                       smooth_sigma_rel=args.smooth_sigma_rel, **common)
        return GridRunConfig.run3d(nx=args.nx, ny=args.ny, nz=args.nz, box_factor_xy=args.box_factor_xy,
                                   box_factor_z=args.box_factor_z, smooth_sigma_vox=args.smooth_sigma_vox,
                                   lambda_rec_kpc=args.lambda_rec_kpc, anisotropic=args.anisotropic,
                                   permute_features=args.permute_features, permute_seed=args.permute_seed, **common)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else ""
        raise CLIError(_FIELD_OPTION.get(field, "--" + field.replace("_", "-")), err["msg"]) from None


#: GridRunConfig field -> the option that sets it, where the names differ.
_FIELD_OPTION = {"d_identity": "--ablate-D-identity", "k1_null": "--ablate-K1", "gext0": "--ablate-gext0",
                 "const_sigma": "--ablate-const-sigma", "no_inner_mask": "--ablate-no-inner-mask",
                 "solver_dtype": "--dtype", "n_jobs": "--jobs", "box_factor_xy": "--box-factor-xy"}  # fmt: skip


def _run(args: argparse.Namespace, ndim: int) -> None:
    cfg = _config(args, ndim)
    features_root = getattr(args, "features_root", "")
    if features_root and not Path(features_root).is_dir():
        raise CLIError("--features-root", f"{features_root}: not a folder")
    master, names, mode = load_inputs(args)
    features = None
    if features_root and mode.features_loader == "working":
        with blame("--features-root"):
            features = read_features(features_root, names)
    if args.exclude_csv:
        if not mode.honour_exclude_csv:
            print("note: --exclude-csv is ignored in compat mode, as in the original (spec 12.18)")
        else:
            drop = set(read_name_csv(args.exclude_csv, "--exclude-csv"))
            names = [n for n in names if n not in drop]
    limit = args.grid_limit if args.grid_limit is not None else (20 if ndim == 3 else 0)
    out, tag = Path(args.out_dir), f"{ndim}d_proxy"
    key = {"config": jsonable(cfg.to_dict()), "mode": jsonable(mode.to_dict()), "features_root": features_root}
    previous = _completed(out, tag, key, names)
    if previous:
        print(f"run{ndim}d: {len(previous)} galaxies already complete in {out} (same settings): not run again")
    want = max(limit - len(previous), 0) if limit else 0
    if limit and want == 0:
        res = GridRunResult(summary=pd.DataFrame(columns=SUMMARY_COLUMNS), galaxies={},
                            skipped=pd.DataFrame(columns=["galaxy", "reason"]), config=cfg, mode=mode)
    else:
        res = run_grid(master, mode, cfg, subset=names, limit=want, progress=args.progress, features=features,
                       exclude=set(previous), on_result=lambda r: _write_galaxy(out, tag, key, r, args.skip_existing))
    rows = pd.concat([pd.DataFrame(list(previous.values()), columns=SUMMARY_COLUMNS), res.summary], ignore_index=True)
    order = {n: i for i, n in enumerate(names)}
    summary = rows.sort_values("galaxy", key=lambda c: c.map(order), kind="stable").reset_index(drop=True)
    _write(args, replace(res, summary=summary), master, ndim)


def _completed(out: Path, tag: str, key: dict, names: list[str]) -> dict[str, dict]:
    """Summary rows of galaxies a previous run with the same settings finished in ``out`` (``<name>_<tag>.json``
    beside ``<name>_<tag>.csv``), in cohort order."""
    done = {}
    for name in names:
        meta, csv = out / f"{name}_{tag}.json", out / f"{name}_{tag}.csv"
        if meta.is_file() and csv.is_file():
            with blame("--out-dir"):
                saved = json.loads(meta.read_text())
            if {k: saved.get(k) for k in key} == key:
                done[name] = saved["row"]
    return done


def _write_galaxy(out: Path, tag: str, key: dict, r: GalaxyGridResult, skip_existing: bool) -> None:
    """Write one galaxy's points and summary row as soon as it is done (the CSV first, then the JSON that
    marks it complete)."""
    csv = out / f"{r.galaxy}_{tag}.csv"
    if not (skip_existing and csv.exists()):
        write_text(csv, r.points.to_csv(index=False))
    write_json(out / f"{r.galaxy}_{tag}.json", jsonable({**key, "row": summary_row(r)}))


def _write(args: argparse.Namespace, res: GridRunResult, master: Master, ndim: int) -> None:
    out = Path(args.out_dir)
    skipped = pd.concat([master.skipped, res.skipped], ignore_index=True)
    info = {"command": f"run{ndim}d", "options": options(args), "config": res.config.to_dict(),
            "mode": res.mode.to_dict(), "n_galaxies": len(res.summary)}
    write_run(out, res.summary, {}, tag=f"{ndim}d_proxy", baselines=res.summary[_BASE_COLS], skipped=skipped,
              run_info=info, extra_tables={"run_details.csv": res.summary})
    print_medians(f"run{ndim}d", res.summary[_BASE_COLS], out)


def cmd_run2d(args: argparse.Namespace) -> None:
    """``rs-ilg run2d``."""
    _run(args, 2)


def cmd_run3d(args: argparse.Namespace) -> None:
    """``rs-ilg run3d``."""
    _run(args, 3)
