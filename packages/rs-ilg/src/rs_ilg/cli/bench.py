"""``rs-ilg bench1d``, ``rs-ilg mond`` and ``rs-ilg pure-global``: the 1D benchmarks (spec section 5)."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from ..atomicio import write_json, write_text
from ..bench1d import Bench1DConfig, BenchResult, baseline_table, run_bench1d, run_mond, run_pure_global
from ..constants import ALPHA_BEAM, F_FRAC, K_TURB, P_TURB, SIGMA0_KMS
from ..master import Master
from ..modes import ModeConfig
from ._common import (
    CLIError, add_input_arguments, blame, load_inputs, opt, options, print_medians, read_name_csv, read_value_csv,
    write_run,
)  # fmt: skip


def _point_files(points: pd.DataFrame) -> dict[str, pd.DataFrame]:
    keep = ["r_kpc", "v_obs", "e_v", "sigma", "v_baryon", "w", "v_model", "v_newton", "v_mond", "evaluated"]
    return {str(n): df[keep].rename(columns={"sigma": "v_err"}) for n, df in points.groupby("galaxy", sort=False)}


def _assert_n(n_expected: int, got: int, what: str) -> None:
    if n_expected and got != n_expected:
        raise CLIError("--assert-n", f"expected {n_expected} galaxies, {what} evaluated {got}")


def _parity_manifest(res: BenchResult) -> dict[str, dict[str, float]]:
    return {r.galaxy: {"galaxy": r.galaxy, "b_kpc": float(r.b_kpc), "SIGMA0": SIGMA0_KMS, "F_FRAC": F_FRAC,
                       "ALPHA_BEAM": ALPHA_BEAM, "K_TURB": K_TURB, "P_TURB": P_TURB}
            for r in res.per_galaxy.itertuples()}  # fmt: skip


def _finish(args: argparse.Namespace, res: BenchResult, master: Master, mode: ModeConfig, tag: str,
            info: dict[str, Any]) -> None:  # fmt: skip
    base = baseline_table(res.points)
    info = {**info, "mode": mode.to_dict(), "globals": res.globals, "n_galaxies": len(res.per_galaxy)}
    write_run(args.out_dir, res.per_galaxy, _point_files(res.points), tag=tag, baselines=base,
              skipped=pd.concat([master.skipped, res.skipped], ignore_index=True), run_info=info)  # fmt: skip
    if args.out:
        write_text(args.out, res.per_galaxy[["galaxy", "N", "chi2_over_N"]].to_csv(index=False))
    if args.parity_manifest:
        write_json(args.parity_manifest, _parity_manifest(res))
    print_medians(tag, base, args.out_dir)


def _add_common_1d(p: argparse.ArgumentParser) -> None:
    p.add_argument(*opt("--ml-disk"), dest="ml_disk", type=float, default=1.0, help="Upsilon_disk")
    p.add_argument(*opt("--beam-csv"), dest="beam_csv", default="", help="CSV galaxy, beam_kpc|FWHM_kpc")
    p.add_argument(*opt("--mask-mode"), dest="mask_mode", choices=["beam", "RdFWHM"], default="beam")
    p.add_argument(*opt("--assert-n"), dest="assert_n", type=int, default=0)
    p.add_argument("--out", default="", help="also write the original single CSV (galaxy, N, chi2_over_N)")
    p.add_argument(*opt("--parity-manifest"), dest="parity_manifest", default="",
                   help="JSON of b and the error constants per galaxy")  # fmt: skip
    p.add_argument(*opt("--commit-sha"), dest="commit_sha", default="", help="recorded in run.json")


def _beam(args: argparse.Namespace) -> dict[str, float] | None:
    return read_value_csv(args.beam_csv, ("beam_kpc", "FWHM_kpc"), "--beam-csv") if args.beam_csv else None


def _read_thresholds(path: str) -> tuple[float, ...]:
    p = Path(path)
    with blame("--xi-thresholds-in"):
        if p.suffix == ".json":
            data = json.loads(p.read_text())
            if "thresholds" not in data:
                raise ValueError(f"{path}: JSON needs a 'thresholds' list")
            return tuple(float(x) for x in data["thresholds"])
        df = pd.read_csv(p)
        if "threshold" not in df.columns:
            raise ValueError(f"{path}: CSV needs a 'threshold' column")
        return tuple(float(x) for x in df["threshold"])


def cmd_bench1d(args: argparse.Namespace) -> None:
    """``rs-ilg bench1d``."""
    master, names, mode = load_inputs(args)
    w_mult = read_value_csv(args.env_csv, ("w_mult",), "--env-csv") if args.env_csv else None
    cfg = Bench1DConfig(
        kernel=args.kernel, ml_disk=args.ml_disk, bins=args.bins, gext_ratio=args.gext_ratio, zeta_off=args.zeta_off,
        graph_tau=args.graph_tau, graph_sigma_kpc=args.graph_sigma_kpc, graph_sigma_rel=args.graph_sigma_rel,
        graph_norm=args.graph_norm,
        xi_thresholds=_read_thresholds(args.xi_thresholds_in) if args.xi_thresholds_in else None,
        calibration_names=tuple(read_name_csv(args.calibration_csv, "--calibration-csv"))
        if args.calibration_csv else None,
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
    _finish(args, res, master, mode, f"1d_{args.kernel}", {"command": "bench1d", "config": options(args)})


def cmd_mond(args: argparse.Namespace) -> None:
    """``rs-ilg mond``."""
    master, names, mode = load_inputs(args)
    res = run_mond(master, mode, names, ml_disk=args.ml_disk, nu=args.nu, beam_kpc=_beam(args),
                   mask_mode=args.mask_mode, progress=args.progress)  # fmt: skip
    _assert_n(args.assert_n, len(res.per_galaxy), "mond")
    if args.assert_parity_from:
        with blame("--assert-parity-from"):
            ref = json.loads(Path(args.assert_parity_from).read_text())
        mine = _parity_manifest(res)
        bad = [g for g, v in mine.items() if g in ref and any(
            not math.isclose(float(ref[g][k]), float(v[k]), rel_tol=1e-12) for k in v if k != "galaxy")]  # fmt: skip
        if bad:
            raise CLIError("--assert-parity-from", f"parity check against {args.assert_parity_from} failed for {bad[:10]}")
    _finish(args, res, master, mode, "mond", {"command": "mond", "config": options(args)})


def cmd_pure_global(args: argparse.Namespace) -> None:
    """``rs-ilg pure-global``."""
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
    write_run(args.out_dir, summary, _point_files(res.points), tag="pure_global", baselines=baseline_table(res.points),
              skipped=master.skipped, extra_tables=extra,
              run_info={"command": "pure-global", "variant": args.variant, "mode": mode.to_dict(),
                        "globals": res.globals})  # fmt: skip
    print(res.global_summary.to_string(index=False))


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``bench1d``, ``mond`` and ``pure-global``."""
    p = sub.add_parser("bench1d", help="1D ILG benchmark (time/accel/blend/graph kernels)")
    add_input_arguments(p)
    _add_common_1d(p)
    p.add_argument("--kernel", choices=["time", "accel", "blend", "graph"], default="time")
    p.add_argument("--bins", type=int, default=5, help="B for the threads factor xi")
    p.add_argument(*opt("--gext-ratio"), dest="gext_ratio", type=float, default=0.0, help="g_ext in units of a0")
    p.add_argument(*opt("--zeta-off"), dest="zeta_off", action="store_true",
                   help="zeta = 1 (ignored in compat mode, as in the original)")  # fmt: skip
    p.add_argument(*opt("--graph-tau"), dest="graph_tau", type=float, default=1.0)
    p.add_argument(*opt("--graph-sigma-kpc"), dest="graph_sigma_kpc", type=float, default=2.0)
    p.add_argument(*opt("--graph-sigma-rel"), dest="graph_sigma_rel", type=float, default=0.0)
    p.add_argument(*opt("--graph-norm"), dest="graph_norm", action="store_true")
    p.add_argument(*opt("--xi-thresholds-in"), dest="xi_thresholds_in", default="")
    p.add_argument(*opt("--xi-thresholds-out"), dest="xi_thresholds_out", default="")
    p.add_argument(*opt("--calibration-csv"), dest="calibration_csv", default="")
    p.add_argument(*opt("--env-csv"), dest="env_csv", default="", help="CSV galaxy, w_mult")
    p.add_argument(*opt("--swap-gas-star"), dest="swap_gas_star", action="store_true")
    p.add_argument(*opt("--permute-xi"), dest="permute_xi", action="store_true")
    p.add_argument(*opt("--permute-seed"), dest="permute_seed", type=int, default=42)
    p.add_argument(*opt("--outliers-csv"), dest="outliers_csv", default="")
    p.set_defaults(func=cmd_bench1d)

    p = sub.add_parser("mond", help="MOND (simple nu) baseline benchmark")
    add_input_arguments(p)
    _add_common_1d(p)
    p.add_argument("--nu", choices=["simple", "standard", "fb"], default="simple")
    p.add_argument(*opt("--assert-parity-from"), dest="assert_parity_from", default="")
    p.set_defaults(func=cmd_mond)

    p = sub.add_parser("pure-global", help="pure-global evaluation (both cohorts, w_t/w_g, MOND)")
    add_input_arguments(p, limit=False, default_subset="all")
    p.add_argument("--variant", choices=["head", "no_parameters"], default="head")
    p.add_argument(*opt("--anchor-kernel"), dest="anchor_kernel", choices=["w_g", "w_t"], default="w_g",
                   help="kernel when the mode does not pick by chi2 (ILG_ANCHOR_KERNEL)")  # fmt: skip
    p.add_argument("--tref", type=float, default=None, help="override T_ref [s] (ILG_TREF)")
    p.set_defaults(func=cmd_pure_global)
