"""Smoke run of the glens-sim headline CNN experiments on synthetic MaNGA galaxies.

Not a test: it trains the seed's CNN on the embedded-default-sized problem and prints the
accuracy table and wall times. Steps: write ``--galaxies`` synthetic DR17 MAPS files
(:func:`glens_sim.synthetic.make_synthetic_sample`) → quality table → lensability score (hard
rejects dropped) → 64×64 source tensors → experiments:

1. lensed vs unlensed (channels: both),
2. smooth vs subhalo, factor 0.3, no PSF, no noise — flux / vel / both,
3. (``--control``) the controlled kinematics experiment (same flux and mask, velocity differs)
   — flux / vel / both.

Usage (from the repository root)::

    .venv/bin/python benchmarks/glens_experiments.py --threads 1 --out /tmp/glens_experiments

``--out`` (optional) receives ``results.csv``, ``histories.csv``, ``per_galaxy.csv`` and the figures (ring,
kinematic horseshoe, debug triplet) as PNG.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

from glens_sim.experiments import (
    ExperimentConfig, ExperimentRuns, build_experiment_data, per_galaxy_metrics, train_on,
)
from glens_sim.figures import debug_triplet_figure, horseshoe_figure, ring_figure
from glens_sim.lensability import SourceSelection, score_table, select_sources
from glens_sim.maps_io import read_maps
from glens_sim.quality import quality_table
from glens_sim.sources import make_source_tensor
from glens_sim.synthetic import make_synthetic_sample


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--galaxies", type=int, default=10)
    ap.add_argument("--n-train", type=int, default=300, help="training samples per galaxy")
    ap.add_argument("--n-val", type=int, default=100, help="validation samples per galaxy")
    ap.add_argument("--n-test", type=int, default=200, help="test samples per galaxy")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--patience", type=int, default=5, help="early-stopping patience; 0 = off")
    ap.add_argument("--monitor", choices=("accuracy", "loss"), default="accuracy",
                    help="validation score selecting the best epoch")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--control", action="store_true", help="also run the kinematics control")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()

    with tempfile.TemporaryDirectory() as tmp:
        paths = make_synthetic_sample(Path(tmp), args.galaxies, seed=args.seed, progress=False)
        scored = score_table(quality_table(paths, progress=False))
        keep = select_sources(scored, SourceSelection(tiers=("elite", "good", "borderline", "reject")))
        sources, scales = {}, {}
        for p in keep["file"]:
            st = make_source_tensor(read_maps(p))
            sources[st.plateifu] = st.tensor
            scales[st.plateifu] = st.meta["arcsec_per_unit"]
    t_data = time.perf_counter() - t0
    print(f"{len(sources)} of {args.galaxies} synthetic galaxies kept after lensability rejects "
          f"({t_data:.1f} s for MAPS + quality + tensors)")

    cfg = ExperimentConfig(
        n_train=args.n_train, n_val=args.n_val, n_test=args.n_test, epochs=args.epochs,
        patience=args.patience or None, monitor=args.monitor, seed=args.seed, num_threads=args.threads,
    )  # lens: the default, the original's "easy" regime (factor 0.3, no PSF, no noise)
    runs, per, times = [], [], {}
    for name, modes in (
        ("lensed_vs_unlensed", ("both",)),
        ("subhalo_detection", ("flux", "vel", "both")),
        *((("kinematics_control", ("flux", "vel", "both")),) if args.control else ()),
    ):
        t = time.perf_counter()
        data = build_experiment_data(sources, cfg, name, progress=False)
        runs.append(train_on(data, modes, progress=False))
        times[name] = time.perf_counter() - t
        per.append(per_galaxy_metrics(data, runs[-1]))
    res = ExperimentRuns.concat(runs)
    per_galaxy = pd.concat(per, ignore_index=True)
    total = time.perf_counter() - t0

    cols = ["experiment", "channel_mode", "factor", "accuracy", "auc", "val_accuracy",
            "train_accuracy", "best_epoch", "epochs_run", "n_train", "n_test"]
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.precision", 3):
        print(res.table[cols].to_string(index=False))
    print("per test galaxy (accuracy / AUC):")
    pg = per_galaxy.assign(v=[f"{a:.2f} / {u:.2f}" for a, u in zip(per_galaxy["accuracy"], per_galaxy["auc"])])
    print(pg.pivot(index="run_id", columns="galaxy", values="v").to_string())
    split = res.table.iloc[0]
    print(f"split: train {split['train_galaxies']} | val {split['val_galaxies']} | test {split['test_galaxies']}")
    print("wall time: " + ", ".join(f"{k} {v:.1f} s" for k, v in times.items())
          + f"; total {total:.1f} s on {args.threads} thread(s)")

    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        res.table.to_csv(args.out / "results.csv", index=False)
        res.histories.to_csv(args.out / "histories.csv", index=False)
        per_galaxy.to_csv(args.out / "per_galaxy.csv", index=False)
        name = sorted(sources)[0]
        lens, kw = cfg.lens, {"title": name, "arcsec_per_unit": scales[name]}
        ring_figure(sources[name], lens, **kw).savefig(args.out / "ring.png", dpi=100)
        horseshoe_figure(sources[name], lens, **kw).savefig(args.out / "horseshoe.png", dpi=100)
        debug_triplet_figure(sources[name], lens.replace(psf_sigma=1.0, flux_noise_sigma=0.08, vel_noise_sigma=0.03),
                             **kw).savefig(args.out / "debug_triplet.png", dpi=100)
        print(f"wrote results.csv, histories.csv, per_galaxy.csv, ring.png, horseshoe.png, debug_triplet.png to {args.out}")


if __name__ == "__main__":
    main()
