"""``glens-sim experiment``: train and test the CNN experiments on a folder of source tensors."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ._common import write_table
from glens_sim.experiments import EXPERIMENTS, ExperimentConfig, run_sweep
from glens_sim.sources import load_source_tensor
from glens_sim.training import save_checkpoint

__all__ = ["register"]


def _floats(text: str | None, flag: str) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"{flag} {text!r}: expected comma-separated numbers") from None


def _load_sources(folder: Path) -> dict[str, np.ndarray]:
    files = sorted(folder.glob("source_tensor_*.npy"))
    if not files:
        raise FileNotFoundError(f"{folder}: no source_tensor_<plateifu>.npy files")
    return {f.stem.removeprefix("source_tensor_"): load_source_tensor(f) for f in files}


def _cmd_experiment(args: argparse.Namespace) -> int:
    d = ExperimentConfig()
    cfg = ExperimentConfig(
        n_train=args.n_train, n_val=args.n_val, n_test=args.n_test,
        n_val_galaxies=args.val_galaxies, n_test_galaxies=args.test_galaxies, epochs=args.epochs,
        batch_size=args.batch_size, lr=args.lr, seed=args.seed, num_threads=args.threads,
        lens=d.lens.replace(theta_E_sub_factor=args.factor, psf_sigma=args.psf,
                            flux_noise_sigma=args.flux_noise, vel_noise_sigma=args.vel_noise),
    )  # fmt: skip
    modes = [m.strip() for m in args.channel_modes.split(",") if m.strip()]
    sources = _load_sources(args.sources)
    noises = None
    if args.noises is not None:
        vals = _floats(args.noises, "--noises")
        if len(vals) % 2:
            raise ValueError("--noises needs flux,vel pairs: f1,v1,f2,v2,...")
        noises = list(zip(vals[::2], vals[1::2]))
    runs = run_sweep(sources, cfg, experiment=args.experiment, channel_modes=modes,
                     factors=_floats(args.factors, "--factors"), psf_sigmas=_floats(args.psfs, "--psfs"),
                     noises=noises, progress=not args.quiet)  # fmt: skip
    write_table(runs.table, args.output)
    if args.checkpoints is not None:
        for run_id, ckpt in runs.checkpoints.items():
            save_checkpoint(ckpt, args.checkpoints / f"{run_id}.pt")
    cols = ["experiment", "channel_mode", "factor", "psf", "flux_noise", "vel_noise", "accuracy", "auc"]
    print(runs.table[cols].to_string(index=False))
    print(f"{len(runs.table)} runs → {args.output}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``experiment`` subcommand to a ``glens-sim`` argument parser."""
    p = subparsers.add_parser(
        "experiment", help="train/test the CNN experiments on source tensors (a folder of .npy)",
        description="Run one experiment (optionally a sweep: comma-separated --factors/--psfs/"
                    "--noises) on the source_tensor_<plateifu>.npy files of a folder; write the "
                    "result table and, with --checkpoints, one checkpoint per run. Cost: one "
                    "training per grid point and channel mode (about a minute each on one core "
                    "with the default sizes).")
    p.add_argument("sources", type=Path, help="folder with source_tensor_<plateifu>.npy files")
    p.add_argument("--experiment", choices=tuple(EXPERIMENTS), default="subhalo_detection")
    p.add_argument("--channel-modes", default="flux,vel,both")
    p.add_argument("-o", "--output", type=Path, required=True, help="result table (.csv or .parquet)")
    p.add_argument("--checkpoints", type=Path, default=None, help="folder for <run_id>.pt files")
    d = ExperimentConfig()
    for flag, typ, default, help_ in (
        ("--n-train", int, d.n_train, "training samples per galaxy"),
        ("--n-val", int, d.n_val, "validation samples per galaxy"),
        ("--n-test", int, d.n_test, "test samples per galaxy"),
        ("--val-galaxies", int, d.n_val_galaxies, "galaxies held out for validation"),
        ("--test-galaxies", int, d.n_test_galaxies, "galaxies held out for testing"),
        ("--epochs", int, d.epochs, None), ("--batch-size", int, d.batch_size, None),
        ("--lr", float, d.lr, None), ("--seed", int, d.seed, None),
        ("--factor", float, d.lens.theta_E_sub_factor, "subhalo theta_E / main theta_E"),
        ("--psf", float, d.lens.psf_sigma, "PSF sigma in pixels"),
        ("--flux-noise", float, d.lens.flux_noise_sigma, None),
        ("--vel-noise", float, d.lens.vel_noise_sigma, None),
        ("--threads", int, d.num_threads, "torch threads"),
    ):
        p.add_argument(flag, type=typ, default=default, help=help_)
    p.add_argument("--factors", default=None, help="sweep: comma-separated subhalo factors")
    p.add_argument("--psfs", default=None, help="sweep: comma-separated PSF sigmas (px)")
    p.add_argument("--noises", default=None, help="sweep: flux,vel sigma pairs f1,v1,f2,v2,...")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=_cmd_experiment)
