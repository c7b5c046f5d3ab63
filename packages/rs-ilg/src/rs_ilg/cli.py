"""``rs-ilg`` command line: run the SPARC benchmarks without Kedro.

Core subcommands: ``bench1d`` (1D ILG kernels), ``mond`` (MOND baseline), ``pure-global`` (the
pure-global evaluation). Other modules add theirs: a module listed in :data:`SUBCOMMAND_MODULES` exposes
``register(subparsers)``, and may use :func:`add_input_arguments`, :func:`load_inputs` and
:func:`write_run` from here. Option names follow the original scripts; both ``--ml-disk`` and
``--ml_disk`` spellings are accepted.

Every run writes into ``--out-dir``: ``summary.csv`` (galaxy, N, chi2_over_N), ``baselines.csv`` (the
model beside Newtonian K = 1 and MOND on the same points), one ``<Galaxy>_<tag>.csv`` per galaxy,
``skipped.csv`` and ``run.json`` (options, mode switches, population quantities). All files are computed
first and written atomically.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .atomicio import write_json, write_text
from .bench1d import Bench1DConfig, BenchResult, baseline_table, run_bench1d, run_mond, run_pure_global, summary_stats
from .master import Master, build_master, subset_names
from .modes import ModeConfig
from .rotmod import read_rotmod_dir
from .table import read_sparc_table

#: Modules that add subcommands through ``register(subparsers)`` (one line per module).
SUBCOMMAND_MODULES: list[str] = [
    "rs_ilg.features",
    "rs_ilg.pilot",
    "rs_ilg.trends",
    "rs_ilg.gridcli",
]


class CLIError(Exception):
    """A user error on the command line (bad option value, unreadable side file)."""


def _opt(*names: str) -> list[str]:
    """Option strings in both spellings: ``--ml-disk`` and ``--ml_disk``."""
    out: list[str] = []
    for n in names:
        for v in (n, n.replace("-", "_") if n.startswith("--") else n):
            v = "--" + v[2:] if v.startswith("__") else v
            if v not in out:
                out.append(v)
    return out


def add_input_arguments(p: argparse.ArgumentParser, *, limit: bool = True, default_subset: str = "q1") -> None:
    """Input options shared by every subcommand: data, mode, cohort, output folder, progress bar."""
    g = p.add_argument_group("inputs")
    g.add_argument(*_opt("--rotmod-dir"), dest="rotmod_dir", help="folder of *_rotmod.dat files, or Rotmod_LTG.zip")
    g.add_argument("--table", help="SPARC galaxy table (.mrt); required by --mode corrected")
    g.add_argument(*_opt("--mock"), dest="mock", type=int, default=0, metavar="N",
                   help="use N mock galaxies (written under OUT_DIR/mock_input) instead of --rotmod-dir")  # fmt: skip
    g.add_argument(*_opt("--mock-seed"), dest="mock_seed", type=int, default=0)
    g.add_argument("--mode", choices=["compat", "corrected"], default="compat")
    g.add_argument(*_opt("--subset"), dest="subset", choices=["q1", "full", "all"], default=default_subset,
                   help="cohort: q1 (the '156' rule in compat), full (>= 5 points) or all galaxies")  # fmt: skip
    g.add_argument(*_opt("--subset-csv"), dest="subset_csv", default="",
                   help="CSV with a 'name' or 'galaxy' column (overrides --subset)")  # fmt: skip
    g.add_argument(*_opt("--bad-rows"), dest="bad_rows", choices=["raise", "drop"], default="raise",
                   help="rows with Rad, Vobs or errV <= 0: stop with an error, or drop and record them")  # fmt: skip
    g.add_argument(*_opt("--on-missing"), dest="on_missing", choices=["raise", "skip"], default="raise",
                   help="galaxy absent from the table (corrected mode): stop, or skip and record")  # fmt: skip
    if limit:
        g.add_argument("--limit", type=int, default=0, help="first N galaxies of the cohort (0 = all)")
    p.add_argument(*_opt("--out-dir"), dest="out_dir", required=True)
    p.add_argument(*_opt("--no-progress"), dest="progress", action="store_false", help="hide progress bars")


def read_name_csv(path: str | Path) -> list[str]:
    """Galaxy names from a CSV with a ``name`` or ``galaxy`` column (the original ``--subset_csv``)."""
    df = pd.read_csv(path)
    for col in ("name", "galaxy", "Galaxy"):
        if col in df.columns:
            return [str(x) for x in df[col].tolist()]
    raise CLIError(f"{path}: needs a 'name' or 'galaxy' column (has {list(df.columns)})")


def read_value_csv(path: str | Path, value_cols: Sequence[str]) -> dict[str, float]:
    """``{galaxy: value}`` from a CSV with a galaxy/name column and the first present of ``value_cols``."""
    df = pd.read_csv(path)
    key = next((c for c in ("galaxy", "name", "Galaxy") if c in df.columns), None)
    val = next((c for c in value_cols if c in df.columns), None)
    if key is None or val is None:
        raise CLIError(f"{path}: needs a galaxy/name column and one of {list(value_cols)} (has {list(df.columns)})")
    out = {}
    for i, (k, v) in enumerate(zip(df[key], df[val], strict=True)):
        try:
            out[str(k)] = float(v)
        except (TypeError, ValueError):
            raise CLIError(f"{path}: row {i + 2}, column {val}: {v!r} is not a number") from None
    return out


def load_inputs(args: argparse.Namespace) -> tuple[Master, list[str], ModeConfig]:
    """(master table, cohort names in master order, mode) from the options of :func:`add_input_arguments`."""
    mode = ModeConfig.from_name(args.mode)
    if args.mock:
        from .mock import write_mock_sparc

        rot_dir, table_path = write_mock_sparc(Path(args.out_dir) / "mock_input", args.mock, args.mock_seed)
        rotmod_dir, table = str(rot_dir), str(table_path)
    else:
        if not args.rotmod_dir:
            raise CLIError("give --rotmod-dir (a folder or Rotmod_LTG.zip) or --mock N")
        rotmod_dir, table = args.rotmod_dir, args.table
    rotmods = read_rotmod_dir(rotmod_dir, bad_rows=args.bad_rows)
    tab = read_sparc_table(table) if table else None
    master = build_master(rotmods, tab, mode, on_missing=args.on_missing)
    master.skipped = pd.concat(
        [master.skipped, rotmods.dropped_rows.assign(reason=lambda d: "row dropped: line " + d["line"].astype(str)
                                                     + ": " + d["reason"])[["galaxy", "reason"]]],
        ignore_index=True,
    ) if len(rotmods.dropped_rows) else master.skipped  # fmt: skip
    if args.subset_csv:
        wanted = set(read_name_csv(args.subset_csv))
        missing = sorted(wanted - set(master))
        if missing:
            raise CLIError(f"{args.subset_csv}: galaxies not in the master table: {missing}")
        names = [n for n in master if n in wanted]
    elif args.subset == "all":
        names = list(master)
    else:
        names = subset_names(master, mode, "Q1" if args.subset == "q1" else "FULL")
    if getattr(args, "limit", 0):
        names = names[: args.limit]
    return master, names, mode


def write_run(
    out_dir: str | Path,
    summary: pd.DataFrame,
    points_by_galaxy: Mapping[str, pd.DataFrame],
    *,
    tag: str,
    baselines: pd.DataFrame | None = None,
    skipped: pd.DataFrame | None = None,
    run_info: Mapping[str, Any] | None = None,
    extra_tables: Mapping[str, pd.DataFrame] | None = None,
) -> Path:
    """Write a run folder: summary.csv (galaxy, N, chi2_over_N), baselines.csv, <Galaxy>_<tag>.csv,
    skipped.csv, run.json and any ``extra_tables`` (file name -> frame). Each file is written atomically."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "summary.csv", summary[["galaxy", "N", "chi2_over_N"]].to_csv(index=False))
    if baselines is not None:
        write_text(out / "baselines.csv", baselines.to_csv(index=False))
        write_text(out / "baselines_stats.csv", summary_stats(baselines).to_csv())
    for name, df in points_by_galaxy.items():
        write_text(out / f"{name}_{tag}.csv", df.to_csv(index=False))
    if skipped is not None:
        write_text(out / "skipped.csv", skipped.to_csv(index=False))
    for fname, df in (extra_tables or {}).items():
        write_text(out / fname, df.to_csv(index=False))
    if run_info is not None:
        write_json(out / "run.json", _jsonable(run_info))
    return out


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, (np.floating, float)):
        return float(obj) if math.isfinite(float(obj)) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def _point_files(points: pd.DataFrame) -> dict[str, pd.DataFrame]:
    cols = {"sigma": "v_err"}
    keep = ["r_kpc", "v_obs", "e_v", "sigma", "v_baryon", "w", "v_model", "v_newton", "v_mond", "evaluated"]
    return {str(n): df[keep].rename(columns=cols) for n, df in points.groupby("galaxy", sort=False)}


def _skipped(master: Master, res: BenchResult) -> pd.DataFrame:
    return pd.concat([master.skipped, res.skipped], ignore_index=True)


def _assert_n(n_expected: int, got: int, what: str) -> None:
    if n_expected and got != n_expected:
        raise CLIError(f"--assert-n {n_expected}: {what} evaluated {got} galaxies")


def _parity_manifest(res: BenchResult) -> dict[str, dict[str, float]]:
    from .constants import ALPHA_BEAM, F_FRAC, K_TURB, P_TURB, SIGMA0_KMS

    return {r.galaxy: {"galaxy": r.galaxy, "b_kpc": float(r.b_kpc), "SIGMA0": SIGMA0_KMS, "F_FRAC": F_FRAC,
                       "ALPHA_BEAM": ALPHA_BEAM, "K_TURB": K_TURB, "P_TURB": P_TURB}
            for r in res.per_galaxy.itertuples()}  # fmt: skip


def _finish(args: argparse.Namespace, res: BenchResult, master: Master, mode: ModeConfig, tag: str,
            info: dict[str, Any]) -> None:  # fmt: skip
    base = baseline_table(res.points)
    info = {**info, "mode": mode.to_dict(), "globals": res.globals, "n_galaxies": len(res.per_galaxy)}
    write_run(args.out_dir, res.per_galaxy, _point_files(res.points), tag=tag, baselines=base,
              skipped=_skipped(master, res), run_info=info)  # fmt: skip
    if getattr(args, "out", ""):
        write_text(args.out, res.per_galaxy[["galaxy", "N", "chi2_over_N"]].to_csv(index=False))
    if getattr(args, "parity_manifest", ""):
        write_json(args.parity_manifest, _parity_manifest(res))
    st = summary_stats(base)
    print(f"{tag}: {len(res.per_galaxy)} galaxies; median chi2/N = {st.loc['median', 'chi2_over_N']:.4f}, "
          f"mean = {st.loc['mean', 'chi2_over_N']:.4f} (Newtonian {st.loc['median', 'chi2_over_N_newton']:.4f}, "
          f"MOND {st.loc['median', 'chi2_over_N_mond']:.4f} on the same points) -> {args.out_dir}")  # fmt: skip


# ----------------------------------------------------------------------------------------------- bench1d


def _add_common_1d(p: argparse.ArgumentParser) -> None:
    p.add_argument(*_opt("--ml-disk"), dest="ml_disk", type=float, default=1.0, help="Upsilon_disk")
    p.add_argument(*_opt("--beam-csv"), dest="beam_csv", default="", help="CSV galaxy, beam_kpc|FWHM_kpc")
    p.add_argument(*_opt("--mask-mode"), dest="mask_mode", choices=["beam", "RdFWHM"], default="beam")
    p.add_argument(*_opt("--assert-n"), dest="assert_n", type=int, default=0)
    p.add_argument("--out", default="", help="also write the original single CSV (galaxy, N, chi2_over_N)")
    p.add_argument(*_opt("--parity-manifest"), dest="parity_manifest", default="",
                   help="JSON of b and the error constants per galaxy")  # fmt: skip
    p.add_argument(*_opt("--commit-sha"), dest="commit_sha", default="", help="recorded in run.json")


def _beam(args: argparse.Namespace) -> dict[str, float] | None:
    return read_value_csv(args.beam_csv, ("beam_kpc", "FWHM_kpc")) if args.beam_csv else None


def _read_thresholds(path: str) -> tuple[float, ...]:
    p = Path(path)
    if p.suffix == ".json":
        data = json.loads(p.read_text())
        if "thresholds" not in data:
            raise CLIError(f"{path}: JSON needs a 'thresholds' list")
        return tuple(float(x) for x in data["thresholds"])
    df = pd.read_csv(p)
    if "threshold" not in df.columns:
        raise CLIError(f"{path}: CSV needs a 'threshold' column")
    return tuple(float(x) for x in df["threshold"])


def cmd_bench1d(args: argparse.Namespace) -> None:
    master, names, mode = load_inputs(args)
    w_mult = read_value_csv(args.env_csv, ("w_mult",)) if args.env_csv else None
    cfg = Bench1DConfig(
        kernel=args.kernel, ml_disk=args.ml_disk, bins=args.bins, gext_ratio=args.gext_ratio, zeta_off=args.zeta_off,
        graph_tau=args.graph_tau, graph_sigma_kpc=args.graph_sigma_kpc, graph_sigma_rel=args.graph_sigma_rel,
        graph_norm=args.graph_norm,
        xi_thresholds=_read_thresholds(args.xi_thresholds_in) if args.xi_thresholds_in else None,
        calibration_names=tuple(read_name_csv(args.calibration_csv)) if args.calibration_csv else None,
        beam_kpc=_beam(args), mask_mode=args.mask_mode, swap_gas_star=args.swap_gas_star,
        permute_xi=args.permute_xi, permute_seed=args.permute_seed, w_mult=w_mult,
    )  # fmt: skip
    res = run_bench1d(master, mode, cfg, names=names, progress=args.progress)
    _assert_n(args.assert_n, len(res.per_galaxy), "bench1d")
    if args.xi_thresholds_out:
        write_json(args.xi_thresholds_out, {"B": args.bins, "thresholds": res.globals["xi_thresholds"]})
    if args.outliers_csv:
        top = res.per_galaxy.sort_values("chi2_over_N", ascending=False).head(10)
        write_text(args.outliers_csv, top[["galaxy", "N", "chi2_over_N"]].to_csv(index=False))
    info = {"command": "bench1d", "config": {k: v for k, v in vars(args).items() if k != "func"}}
    _finish(args, res, master, mode, f"1d_{args.kernel}", info)


def cmd_mond(args: argparse.Namespace) -> None:
    master, names, mode = load_inputs(args)
    res = run_mond(master, mode, names, ml_disk=args.ml_disk, nu=args.nu, beam_kpc=_beam(args),
                   mask_mode=args.mask_mode, progress=args.progress)  # fmt: skip
    _assert_n(args.assert_n, len(res.per_galaxy), "mond")
    if args.assert_parity_from:
        ref = json.loads(Path(args.assert_parity_from).read_text())
        mine = _parity_manifest(res)
        bad = [g for g, v in mine.items() if g in ref and any(
            not math.isclose(float(ref[g][k]), float(v[k]), rel_tol=1e-12) for k in v if k != "galaxy")]  # fmt: skip
        if bad:
            raise CLIError(f"parity check against {args.assert_parity_from} failed for {bad[:10]}")
    info = {"command": "mond", "config": {k: v for k, v in vars(args).items() if k != "func"}}
    _finish(args, res, master, mode, "mond", info)


def cmd_pure_global(args: argparse.Namespace) -> None:
    master, _, mode = load_inputs(args)
    res = run_pure_global(master, mode, variant=args.variant, anchor_kernel=args.anchor_kernel, t_ref_s=args.tref,
                          progress=args.progress)  # fmt: skip
    summary = res.bench_rs.rename(columns={"name": "galaxy", "chi2N": "chi2_over_N"})
    extra = {
        "bench_rs_per_galaxy.csv": res.bench_rs,
        "bench_mond_per_galaxy.csv": res.bench_mond,
        "bench_global_summary.csv": res.global_summary,
        **{f"class_summary_{c}.csv": df for c, df in res.class_summary.items()},
    }
    base = baseline_table(res.points)
    write_run(args.out_dir, summary, _point_files(res.points), tag="pure_global", baselines=base,
              skipped=master.skipped, extra_tables=extra,
              run_info={"command": "pure-global", "variant": args.variant, "mode": mode.to_dict(),
                        "globals": res.globals})  # fmt: skip
    print(res.global_summary.to_string(index=False))


def _register_core(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench1d", help="1D ILG benchmark (time/accel/blend/graph kernels)")
    add_input_arguments(p)
    _add_common_1d(p)
    p.add_argument("--kernel", choices=["time", "accel", "blend", "graph"], default="time")
    p.add_argument("--bins", type=int, default=5, help="B for the threads factor xi")
    p.add_argument(*_opt("--gext-ratio"), dest="gext_ratio", type=float, default=0.0, help="g_ext in units of a0")
    p.add_argument(*_opt("--zeta-off"), dest="zeta_off", action="store_true",
                   help="zeta = 1 (ignored in compat mode, as in the original)")  # fmt: skip
    p.add_argument(*_opt("--graph-tau"), dest="graph_tau", type=float, default=1.0)
    p.add_argument(*_opt("--graph-sigma-kpc"), dest="graph_sigma_kpc", type=float, default=2.0)
    p.add_argument(*_opt("--graph-sigma-rel"), dest="graph_sigma_rel", type=float, default=0.0)
    p.add_argument(*_opt("--graph-norm"), dest="graph_norm", action="store_true")
    p.add_argument(*_opt("--xi-thresholds-in"), dest="xi_thresholds_in", default="")
    p.add_argument(*_opt("--xi-thresholds-out"), dest="xi_thresholds_out", default="")
    p.add_argument(*_opt("--calibration-csv"), dest="calibration_csv", default="")
    p.add_argument(*_opt("--env-csv"), dest="env_csv", default="", help="CSV galaxy, w_mult")
    p.add_argument(*_opt("--swap-gas-star"), dest="swap_gas_star", action="store_true")
    p.add_argument(*_opt("--permute-xi"), dest="permute_xi", action="store_true")
    p.add_argument(*_opt("--permute-seed"), dest="permute_seed", type=int, default=42)
    p.add_argument(*_opt("--outliers-csv"), dest="outliers_csv", default="")
    p.set_defaults(func=cmd_bench1d)

    p = sub.add_parser("mond", help="MOND (simple nu) baseline benchmark")
    add_input_arguments(p)
    _add_common_1d(p)
    p.add_argument("--nu", choices=["simple", "standard", "fb"], default="simple")
    p.add_argument(*_opt("--assert-parity-from"), dest="assert_parity_from", default="")
    p.set_defaults(func=cmd_mond)

    p = sub.add_parser("pure-global", help="pure-global evaluation (both cohorts, w_t/w_g, MOND)")
    add_input_arguments(p, limit=False, default_subset="all")
    p.add_argument("--variant", choices=["head", "no_parameters"], default="head")
    p.add_argument(*_opt("--anchor-kernel"), dest="anchor_kernel", choices=["w_g", "w_t"], default="w_g",
                   help="kernel when the mode does not pick by chi2 (ILG_ANCHOR_KERNEL)")  # fmt: skip
    p.add_argument("--tref", type=float, default=None, help="override T_ref [s] (ILG_TREF)")
    p.set_defaults(func=cmd_pure_global)


def build_parser() -> argparse.ArgumentParser:
    """The ``rs-ilg`` argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(prog="rs-ilg", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    _register_core(sub)
    for modname in SUBCOMMAND_MODULES:
        importlib.import_module(modname).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (0 ok, 2 for input errors, which are printed to stderr)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    from .master import MissingGalaxyError
    from .rotmod import RotmodFormatError
    from .table import TableFormatError

    try:
        args.func(args)
    except (CLIError, RotmodFormatError, TableFormatError, MissingGalaxyError, FileNotFoundError) as exc:
        print(f"rs-ilg {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
