"""Benchmark: cross-validated core-LR AUC (dhs_gates.core_lr_auc) on 100,000 stamps, target < 60 s on 2 cores.

Synthetic model-input stamps (N, 3, 64, 64) float32 — a faint planted core signal in half of them, 5 replicates
per host (groups) — are written to a memory-mapped .npy file, then ``core_lr_auc(stamps, labels, groups=...)`` is
timed end to end: central-box feature extraction, ``StratifiedGroupKFold(5)`` out-of-fold logistic regression and
the ROC AUC. For the solver choice, one fold of the upstream's ``liblinear`` (unscaled) is timed on the same
features against our ``StandardScaler + lbfgs``; dhs-train's ``preprocess`` (not part of the gate's own cost:
the stamps a gate receives may already be the model input) is timed on 10,000 stamps and extrapolated.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/dhs_gates_core_lr.py [--n 100000] [--workdir /tmp]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np


def make_stamps(path: Path, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    stamps = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, 3, 64, 64))
    n_hosts = n // 5
    groups = np.repeat(np.arange(n_hosts), 5)[:n]
    labels = (rng.random(n_hosts) < 0.5).astype(np.int64)[groups]
    yy, xx = np.indices((64, 64)) - 32
    core = np.exp(-0.5 * (yy**2 + xx**2) / 2.0**2).astype(np.float32)
    for s in range(0, n, 4096):
        e = min(s + 4096, n)
        chunk = rng.standard_normal((e - s, 3, 64, 64), dtype=np.float32)
        chunk += 0.15 * labels[s:e, None, None, None] * core  # a faint core shortcut
        stamps[s:e] = chunk
    stamps.flush()
    return stamps, labels, groups


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--workdir", default=tempfile.gettempdir())
    args = ap.parse_args()
    from dhs_gates import core_lr_auc
    from dhs_gates.images import core_box
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedGroupKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    path = Path(args.workdir) / f"dhs_gates_bench_{os.getpid()}.npy"
    try:
        t0 = time.perf_counter()
        stamps, labels, groups = make_stamps(path, args.n)
        print(f"made {args.n} stamps ({stamps.nbytes / 2**30:.1f} GiB memmap) in {time.perf_counter() - t0:.1f} s")
        print(f"load average before: {os.getloadavg()}")

        t0 = time.perf_counter()
        res = core_lr_auc(stamps, labels, groups=groups)
        wall = time.perf_counter() - t0
        print(f"core_lr_auc on {args.n} stamps: {wall:.1f} s, AUC {res.value:.4f} ({res.status}), "
              f"n_groups {res.sample_sizes['n_groups']}")

        feats = core_box(stamps)
        train, test = next(StratifiedGroupKFold(5, shuffle=True, random_state=42).split(feats, labels, groups))
        for name, model in (("lbfgs+scaler", make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))),
                            ("liblinear", LogisticRegression(solver="liblinear", max_iter=500, random_state=42))):
            t0 = time.perf_counter()
            model.fit(feats[train], labels[train])
            print(f"one fold, {name}: {time.perf_counter() - t0:.1f} s")

        from dhs_train.preprocess import preprocess

        sub = np.asarray(stamps[:10_000])
        for method in ("raw_robust", "residual_radial_profile"):
            t0 = time.perf_counter()
            for s in range(0, len(sub), 4096):
                preprocess(sub[s:s + 4096], method)
            dt = time.perf_counter() - t0
            print(f"dhs_train.preprocess {method}: {dt:.1f} s / 10,000 stamps -> {dt * args.n / 1e4:.0f} s for {args.n}")
        print(f"load average after: {os.getloadavg()}")
    finally:
        path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
