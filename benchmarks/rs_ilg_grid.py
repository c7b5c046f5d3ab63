"""Benchmark: rs-ilg 2D (128²) and 3D (64³, anisotropic) grid runs over the SPARC "156", original solver
path against the fast path, timed in one run on this machine.

- baseline ("original"): the original's algorithm as the compat mode runs it — unpreconditioned CG from zero,
  per-step stopping test, 400 iterations (3D y₁: 60), float64, one galaxy at a time, one process.
  In 3D it is timed on an evenly spread subset (``--baseline-limit``, every k-th of the 156) and
  extrapolated to 156 (said so in the output).
- fast: the same physics (compat proxies, R_d, error model) with FFT-preconditioned CG stopped at
  ‖r‖ ≤ tol ‖r₀‖, float32 in 3D, ``--jobs`` worker processes.
- accuracy: both are compared with a tightly converged float64 solve (tol 1e-10) on the baseline subset
  ("same accuracy" = the fast path's chi2/N error against the converged answer is not larger than the
  original's, whose 400-iteration cap leaves 3D solves unconverged, spec §12.13).

Usage: ``.venv/bin/python benchmarks/rs_ilg_grid.py [--limit N] [--baseline-limit M] [--jobs 2]``
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import time  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from rs_ilg.master import build_master, subset_names  # noqa: E402
from rs_ilg.modes import ModeConfig  # noqa: E402
from rs_ilg.rotmod import read_rotmod_dir  # noqa: E402
from rs_ilg.runners import GridRunConfig, run_grid  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DHS_SHARED", REPO / ".." / "shared")).resolve()
ORIGINAL_3D_S_PER_GALAXY = 8.0  # spec §13: original code, 64³, single core
ORIGINAL_2D_S_TOTAL = 60.0  # spec §13: original code, 2D 128² over the 156


def _timed(master, mode, cfg, names):
    t = time.perf_counter()
    res = run_grid(master, mode, cfg, subset=names, progress=False)
    return time.perf_counter() - t, res.summary.set_index("galaxy")


def _max_rel(a, b):
    return float(np.nanmax(np.abs(a / b - 1.0)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=int, default=0, help="galaxies for the fast runs (0 = all 156)")
    ap.add_argument("--baseline-limit", type=int, default=16, help="3D baseline subset size (spread over the 156)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--n3d", type=int, default=64)
    ap.add_argument("--skip-2d", action="store_true")
    args = ap.parse_args()

    compat = ModeConfig.compat()
    master = build_master(read_rotmod_dir(SHARED / "data" / "sparc" / "Rotmod_LTG"), None, compat)
    names = subset_names(master, compat)
    run_names = names[: args.limit] if args.limit else names
    step = max(1, len(names) // max(1, args.baseline_limit))
    base_names = names[::step][: args.baseline_limit]
    fast_mode = replace(compat, cg_stop="relative_initial", cg_max_iter_2d=None, cg_max_iter_3d=None,
                        cg_max_iter_y1_3d=None, cg_tol=1e-6)
    tight_mode = replace(fast_mode, cg_tol=1e-10)
    n = args.n3d
    print(f"machine: {os.cpu_count()} cores; galaxies: {len(run_names)} fast, {len(base_names)} baseline subset "
          f"(every {step}th of the 156)")

    # ---------------------------------------------------------------- 3D
    cfg3 = GridRunConfig.run3d(anisotropic=True, nx=n)
    t_base, s_base = _timed(master, compat, cfg3, base_names)
    _, s_tight = _timed(master, tight_mode, cfg3, base_names)
    cfg_fast = replace(cfg3, solver_dtype="float32", n_jobs=args.jobs)
    t_fast_sub, s_fast_sub = _timed(master, fast_mode, cfg_fast, base_names)
    t_fast, s_fast = _timed(master, fast_mode, cfg_fast, run_names)
    per_base = t_base / len(base_names)
    per_fast = t_fast / len(run_names)
    print(f"\n3D {n}^3 anisotropic")
    print(f"  baseline (original CG, 400 it, float64, 1 proc): {per_base:.3f} s/galaxy on {len(base_names)} -> "
          f"{per_base * len(names):.1f} s extrapolated to {len(names)}")
    print(f"  fast (FFT-PCG tol 1e-6, float32, {args.jobs} procs): {t_fast:.1f} s for {len(run_names)} "
          f"= {per_fast:.3f} s/galaxy; median CG iterations {s_fast.cg_iterations.median():.0f}")
    print(f"  speed-up vs baseline on this machine: {per_base / per_fast:.1f}x; "
          f"vs the original's quoted {ORIGINAL_3D_S_PER_GALAXY:.0f} s/galaxy: {ORIGINAL_3D_S_PER_GALAXY / per_fast:.0f}x")
    print(f"  chi2/N error vs converged (tol 1e-10) on the subset: baseline max {_max_rel(s_base.chi2_over_N, s_tight.chi2_over_N):.2e}, "
          f"fast max {_max_rel(s_fast_sub.chi2_over_N, s_tight.chi2_over_N):.2e}; "
          f"baseline median chi2/N {s_base.chi2_over_N.median():.4f}")
    if len(run_names) == len(names):
        print(f"  fast run over the 156: median chi2/N {s_fast.chi2_over_N.median():.4f}, mean {s_fast.chi2_over_N.mean():.4f} "
              f"(Newtonian {s_fast.chi2_over_N_newton.median():.4f}, MOND {s_fast.chi2_over_N_mond.median():.4f}; "
              f"original reference 2.8763 / 3.9209)")

    # ---------------------------------------------------------------- 2D
    if args.skip_2d:
        return
    cfg2 = GridRunConfig.run2d()
    t2_base, s2_base = _timed(master, compat, cfg2, run_names)
    t2_fast, s2_fast = _timed(master, replace(fast_mode, cg_tol=1e-8), replace(cfg2, n_jobs=args.jobs), run_names)
    print(f"\n2D 128^2 anisotropic over {len(run_names)}")
    print(f"  baseline (original CG, 400 it, float64, 1 proc): {t2_base:.1f} s "
          f"(original code quoted ~{ORIGINAL_2D_S_TOTAL:.0f} s for the 156)")
    print(f"  fast (FFT-PCG tol 1e-8, float64, {args.jobs} procs): {t2_fast:.1f} s; speed-up {t2_base / t2_fast:.1f}x; "
          f"median CG iterations {s2_fast.cg_iterations.median():.0f}")
    print(f"  chi2/N fast vs baseline (converged in 2D): max rel diff {_max_rel(s2_fast.chi2_over_N, s2_base.chi2_over_N):.2e}")


if __name__ == "__main__":
    main()
