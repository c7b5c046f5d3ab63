"""The CNN experiments of the original work, configurable, seeded, returning tidy tables.

* :func:`run_lensed_vs_unlensed` — task A (spec §2.7): is the source lensed?
* :func:`run_subhalo_detection` — task B: smooth macro lens vs macro lens + subhalo, per channel
  mode (``flux``, ``vel``, ``both``).
* :func:`run_kinematics_control` — option A of the work log: identical flux and mask in both
  classes, the subhalo only changes the velocity field (see :mod:`glens_sim.datasets`).
* :func:`run_sweep` — any of the three over a grid of subhalo strength × PSF × noise.

Every runner takes ``sources`` = ``{galaxy id: (2, N, N) source tensor}`` (as made by
:mod:`glens_sim.sources`) and an :class:`ExperimentConfig`, and returns :class:`ExperimentRuns`:
a tidy table (one row per trained model), the per-epoch histories and a checkpoint dict
``{"state_dict", "meta"}`` per run. Data sets depend only on the simulation settings, so the
channel modes of one runner share the same rendered sets. Seeds: galaxy split and model
initialisation ``seed``; training/validation/test sets ``seed``, ``seed + 1``, ``seed + 2``;
mini-batch order ``seed`` and augmentation ``seed + 1`` (see :mod:`glens_sim.training`).
"""

from __future__ import annotations

import argparse
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from .config import LensSimConfig
from .datasets import (
    CHANNEL_MODES,
    GalaxySplit,
    LabelledSet,
    as_source_stack,
    make_labelled_set,
    n_input_channels,
    split_galaxies,
)
from .models import build_cnn
from .training import (
    TrainConfig, evaluate, fit, make_checkpoint, model_from_checkpoint, predict_scores, roc_auc,
)

__all__ = [
    "EXPERIMENTS",
    "RESULT_COLUMNS",
    "ExperimentConfig",
    "ExperimentData",
    "ExperimentRuns",
    "build_experiment_data",
    "train_on",
    "per_galaxy_metrics",
    "run_lensed_vs_unlensed",
    "run_subhalo_detection",
    "run_kinematics_control",
    "run_sweep",
    "register",
]

#: experiment name → data-set task of :func:`glens_sim.datasets.make_labelled_set`.
EXPERIMENTS: dict[str, str] = {
    "lensed_vs_unlensed": "lensed",
    "subhalo_detection": "subhalo",
    "kinematics_control": "kinematic",
}

#: Columns of the tidy result table, in order.
RESULT_COLUMNS: tuple[str, ...] = (
    "run_id", "experiment", "channel_mode", "factor", "psf", "flux_noise", "vel_noise",
    "accuracy", "auc", "test_loss", "val_accuracy", "train_accuracy", "best_epoch", "epochs_run",
    "n_train", "n_val", "n_test", "seed", "train_galaxies", "val_galaxies", "test_galaxies",
)


@dataclass(frozen=True)
class ExperimentConfig:
    """Settings of one experiment (sizes, optimisation, simulation knobs).

    n_train, n_val, n_test: samples rendered **per galaxy** of the train / val / test split.
    n_val_galaxies, n_test_galaxies: galaxies held out for validation / test (rest: training).
    epochs, batch_size, lr, patience, monitor, augment, num_threads: see :class:`TrainConfig`.
    seed: master seed (see the module docstring for the derived seeds).
    channel_mode: ``"flux"``, ``"vel"`` or ``"both"`` (default channel set of a runner).
    subhalo_factor: subhalo Einstein radius / main Einstein radius (``theta_E_sub_factor``).
    psf_sigma: PSF sigma in image pixels (0 = no PSF).
    flux_noise, vel_noise: Gaussian noise sigma added to the normalised flux / velocity.
    lens: every other simulation setting. The four knobs above **replace** the corresponding
        fields of ``lens`` (``theta_E_sub_factor``, ``psf_sigma``, ``flux_noise_sigma``,
        ``vel_noise_sigma``); :meth:`sim_config` gives the effective config.
    Defaults: the original's "easy" regime (factor 0.3, no PSF, no noise), batch 32, Adam lr 1e-3;
    20 epochs (patience 5) of 300 samples per training galaxy — about the original's number of
    optimiser steps (10 epochs × 4,000 samples) for five training galaxies, and about one minute
    per headline experiment on one CPU core for ~8 galaxies of 64×64.
    """

    n_train: int = 300
    n_val: int = 100
    n_test: int = 200
    n_val_galaxies: int = 1
    n_test_galaxies: int = 2
    epochs: int = 20
    batch_size: int = 32
    lr: float = 1e-3
    patience: int | None = 5
    monitor: str = "accuracy"
    augment: bool = True
    seed: int = 42
    channel_mode: str = "both"
    subhalo_factor: float = 0.3
    psf_sigma: float = 0.0
    flux_noise: float = 0.0
    vel_noise: float = 0.0
    num_threads: int | None = 1
    lens: LensSimConfig = field(default_factory=LensSimConfig)

    def __post_init__(self) -> None:
        for name in ("n_train", "n_val", "n_test"):
            if getattr(self, name) < 2:
                raise ValueError(f"ExperimentConfig.{name} must be >= 2 (samples per galaxy), got {getattr(self, name)}")
        n_input_channels(self.channel_mode)
        self.sim_config()  # validates the simulation knobs
        self.train_config()  # validates the optimisation settings

    def sim_config(self) -> LensSimConfig:
        """The effective :class:`LensSimConfig` (``lens`` with the four knobs applied)."""
        return self.lens.replace(
            theta_E_sub_factor=float(self.subhalo_factor),
            psf_sigma=float(self.psf_sigma),
            flux_noise_sigma=float(self.flux_noise),
            vel_noise_sigma=float(self.vel_noise),
        )

    def train_config(self) -> TrainConfig:
        """The :class:`TrainConfig` of this experiment."""
        return TrainConfig(
            epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, seed=self.seed,
            patience=self.patience, monitor=self.monitor, augment=self.augment,
            num_threads=self.num_threads,
        )

    def to_dict(self) -> dict[str, object]:
        """Flat, JSON-safe parameters (``lens.*`` prefixed), e.g. for MLflow or checkpoint meta."""
        d = {k: v for k, v in asdict(self).items() if k != "lens"}
        d.update({f"lens.{k}": v for k, v in self.lens.to_dict().items()})
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}


@dataclass
class ExperimentData:
    """Rendered train / val / test sets of one experiment and the galaxy split behind them."""

    experiment: str
    split: GalaxySplit
    train: LabelledSet
    val: LabelledSet
    test: LabelledSet
    cfg: ExperimentConfig


@dataclass
class ExperimentRuns:
    """Results of one or more trained models.

    table: one row per run, columns :data:`RESULT_COLUMNS`.
    histories: per-epoch training history, ``run_id`` + the columns of ``TrainResult.history``.
    checkpoints: ``run_id → {"state_dict", "meta"}``; ``meta`` holds ``in_channels``, the
        result row and the flat experiment config.
    """

    table: pd.DataFrame
    histories: pd.DataFrame
    checkpoints: dict[str, dict]

    @staticmethod
    def concat(runs: Iterable[ExperimentRuns]) -> ExperimentRuns:
        """Join several results into one (run ids must be unique)."""
        runs = list(runs)
        if not runs:
            return ExperimentRuns(pd.DataFrame(columns=list(RESULT_COLUMNS)), pd.DataFrame(), {})
        ckpts: dict[str, dict] = {}
        for r in runs:
            dup = set(ckpts) & set(r.checkpoints)
            if dup:
                raise ValueError(f"duplicate run ids: {sorted(dup)}")
            ckpts.update(r.checkpoints)
        return ExperimentRuns(
            table=pd.concat([r.table for r in runs], ignore_index=True),
            histories=pd.concat([r.histories for r in runs], ignore_index=True),
            checkpoints=ckpts,
        )


def build_experiment_data(
    sources: Mapping[str, np.ndarray | torch.Tensor],
    cfg: ExperimentConfig,
    experiment: str,
    *,
    progress: bool = True,
) -> ExperimentData:
    """Split the galaxies and render the three fixed sets of ``experiment`` (see :data:`EXPERIMENTS`)."""
    if experiment not in EXPERIMENTS:
        raise ValueError(f"experiment must be one of {tuple(EXPERIMENTS)}, got {experiment!r}")
    stack = as_source_stack(sources)
    split = split_galaxies(list(stack), n_val=cfg.n_val_galaxies, n_test=cfg.n_test_galaxies, seed=cfg.seed)
    sim = cfg.sim_config()
    task = EXPERIMENTS[experiment]
    sets = [
        make_labelled_set(stack, gals, n, sim, task, seed=cfg.seed + off, progress=progress)
        for gals, n, off in ((split.train, cfg.n_train, 0), (split.val, cfg.n_val, 1), (split.test, cfg.n_test, 2))
    ]
    return ExperimentData(experiment, split, *sets, cfg=cfg)


def _fmt(x: float) -> str:
    return "na" if isinstance(x, float) and math.isnan(x) else f"{x:g}"


def train_on(
    data: ExperimentData, channel_modes: Sequence[str] | None = None, *, progress: bool = True
) -> ExperimentRuns:
    """Train and test one freshly seeded CNN per channel mode on already rendered ``data``."""
    cfg = data.cfg
    modes = tuple(channel_modes) if channel_modes is not None else (cfg.channel_mode,)
    sim = cfg.sim_config()
    factor = float("nan") if data.experiment == "lensed_vs_unlensed" else sim.theta_E_sub_factor
    psf = sim.psf_sigma if sim.psf_type != "none" else 0.0
    rows, hists, ckpts = [], [], {}
    for mode in modes:
        model = build_cnn(n_input_channels(mode), seed=cfg.seed)
        res = fit(model, data.train.xy(mode), data.val.xy(mode), cfg.train_config(), progress=progress)
        old = torch.get_num_threads()
        if cfg.num_threads is not None:
            torch.set_num_threads(cfg.num_threads)
        try:
            test = evaluate(model, *data.test.xy(mode))
        finally:
            torch.set_num_threads(old)
        best = res.history.loc[res.history["epoch"] == res.best_epoch].iloc[0]
        run_id = (f"{data.experiment}__{mode}__f{_fmt(factor)}__psf{_fmt(psf)}"
                  f"__n{_fmt(sim.flux_noise_sigma)}-{_fmt(sim.vel_noise_sigma)}__s{cfg.seed}")
        row = {
            "run_id": run_id, "experiment": data.experiment, "channel_mode": mode,
            "factor": factor, "psf": float(psf), "flux_noise": sim.flux_noise_sigma,
            "vel_noise": sim.vel_noise_sigma, "accuracy": test["accuracy"], "auc": test["auc"],
            "test_loss": test["loss"], "val_accuracy": float(best["val_accuracy"]),
            "train_accuracy": float(best["train_accuracy"]), "best_epoch": int(res.best_epoch),
            "epochs_run": int(len(res.history)), "n_train": len(data.train), "n_val": len(data.val),
            "n_test": len(data.test), "seed": cfg.seed,
            "train_galaxies": ",".join(data.split.train), "val_galaxies": ",".join(data.split.val),
            "test_galaxies": ",".join(data.split.test),
        }
        rows.append(row)
        hists.append(res.history.assign(run_id=run_id))
        meta = {"in_channels": n_input_channels(mode), "result": row, "config": cfg.to_dict(),
                "torch_version": str(torch.__version__)}
        ckpts[run_id] = make_checkpoint(res.state_dict, meta)
    hist = pd.concat(hists, ignore_index=True)
    hist = hist[["run_id"] + [c for c in hist.columns if c != "run_id"]]
    return ExperimentRuns(pd.DataFrame(rows, columns=list(RESULT_COLUMNS)), hist, ckpts)


def per_galaxy_metrics(data: ExperimentData, runs: ExperimentRuns, split: str = "test") -> pd.DataFrame:
    """Accuracy and AUC of every run of ``runs`` on each galaxy of one split of ``data``.

    One row per (run, galaxy): ``run_id, channel_mode, split, galaxy, accuracy, auc, n``. A
    pooled AUC near 1 with a per-galaxy accuracy near 0.5 means the ranking is right but the
    decision threshold does not transfer to that galaxy.
    """
    if split not in ("train", "val", "test"):
        raise ValueError(f"split must be train, val or test, got {split!r}")
    ds: LabelledSet = getattr(data, split)
    rows = []
    for run_id, ckpt in runs.checkpoints.items():
        mode = ckpt["meta"]["result"]["channel_mode"]
        scores = predict_scores(model_from_checkpoint(ckpt), ds.xy(mode)[0]).numpy()
        frame = ds.meta[["galaxy", "label"]].assign(score=scores)
        for galaxy, g in frame.groupby("galaxy", sort=True):
            rows.append({"run_id": run_id, "channel_mode": mode, "split": split, "galaxy": galaxy,
                         "accuracy": float(((g["score"] > 0.5) == (g["label"] == 1)).mean()),
                         "auc": roc_auc(g["score"].to_numpy(), g["label"].to_numpy()), "n": len(g)})
    return pd.DataFrame(rows, columns=["run_id", "channel_mode", "split", "galaxy", "accuracy", "auc", "n"])


def _run(experiment: str, sources, cfg, channel_modes, progress) -> ExperimentRuns:
    data = build_experiment_data(sources, cfg, experiment, progress=progress)
    return train_on(data, channel_modes, progress=progress)


def run_lensed_vs_unlensed(
    sources: Mapping[str, np.ndarray | torch.Tensor],
    cfg: ExperimentConfig = ExperimentConfig(),
    *,
    channel_modes: Sequence[str] | None = None,
    progress: bool = True,
) -> ExperimentRuns:
    """Task A: unlensed (0) vs lensed (1) sources; one run per channel mode (default ``cfg.channel_mode``)."""
    return _run("lensed_vs_unlensed", sources, cfg, channel_modes, progress)


def run_subhalo_detection(
    sources: Mapping[str, np.ndarray | torch.Tensor],
    cfg: ExperimentConfig = ExperimentConfig(),
    *,
    channel_modes: Sequence[str] | None = None,
    progress: bool = True,
) -> ExperimentRuns:
    """Task B: smooth macro lens (0) vs macro lens + subhalo (1), one run per channel mode."""
    return _run("subhalo_detection", sources, cfg, channel_modes, progress)


def run_kinematics_control(
    sources: Mapping[str, np.ndarray | torch.Tensor],
    cfg: ExperimentConfig = ExperimentConfig(),
    *,
    channel_modes: Sequence[str] | None = None,
    progress: bool = True,
) -> ExperimentRuns:
    """Option A: same flux and mask in both classes, the subhalo only alters the velocity field.

    Flux-only models must stay at chance here (a built-in control); a velocity model above chance
    shows the kinematic signal is learnable when morphology is uninformative.
    """
    return _run("kinematics_control", sources, cfg, channel_modes, progress)


def run_sweep(
    sources: Mapping[str, np.ndarray | torch.Tensor],
    cfg: ExperimentConfig = ExperimentConfig(),
    *,
    experiment: str = "subhalo_detection",
    channel_modes: Sequence[str] = CHANNEL_MODES,
    factors: Sequence[float] | None = None,
    psf_sigmas: Sequence[float] | None = None,
    noises: Sequence[tuple[float, float]] | None = None,
    progress: bool = True,
) -> ExperimentRuns:
    """Run ``experiment`` on the grid factors × psf_sigmas × noises (``(flux, vel)`` sigma pairs).

    An axis left ``None`` keeps ``cfg``'s value. Every grid point renders its own data sets
    (same seeds, so points differ only by the swept setting) and trains one model per channel
    mode. Returns all runs in one :class:`ExperimentRuns` (one table row per run).
    """
    if experiment not in EXPERIMENTS:
        raise ValueError(f"experiment must be one of {tuple(EXPERIMENTS)}, got {experiment!r}")
    factors = list(factors) if factors is not None else [cfg.subhalo_factor]
    psf_sigmas = list(psf_sigmas) if psf_sigmas is not None else [cfg.psf_sigma]
    noises = [tuple(n) for n in noises] if noises is not None else [(cfg.flux_noise, cfg.vel_noise)]
    for n in noises:
        if len(n) != 2:
            raise ValueError(f"noises must be (flux_sigma, vel_sigma) pairs, got {n!r}")
    if experiment == "lensed_vs_unlensed" and len(factors) > 1:
        raise ValueError("the subhalo strength does not enter lensed_vs_unlensed: sweep factors only for subhalo experiments")
    grid = list(itertools.product(factors, psf_sigmas, noises))
    out = []
    for factor, psf, (fn, vn) in tqdm(grid, desc=f"sweep {experiment}", disable=not progress):
        point = replace(cfg, subhalo_factor=factor, psf_sigma=psf, flux_noise=fn, vel_noise=vn)
        out.append(_run(experiment, sources, point, channel_modes, progress))
    return ExperimentRuns.concat(out)


# ---------------------------------------------------------------------------------------------
# CLI: ``glens-sim experiment``
# ---------------------------------------------------------------------------------------------
def _floats(text: str | None) -> list[float] | None:
    return None if text is None else [float(v) for v in text.split(",") if v.strip()]


def _load_sources(folder: Path) -> dict[str, np.ndarray]:
    from .sources import load_source_tensor

    files = sorted(folder.glob("source_tensor_*.npy"))
    if not files:
        raise FileNotFoundError(f"{folder}: no source_tensor_<plateifu>.npy files")
    return {f.stem.removeprefix("source_tensor_"): load_source_tensor(f) for f in files}


def _cli_experiment(args: argparse.Namespace) -> int:
    from .cli import write_table
    from .training import save_checkpoint

    cfg = ExperimentConfig(
        n_train=args.n_train, n_val=args.n_val, n_test=args.n_test,
        n_val_galaxies=args.val_galaxies, n_test_galaxies=args.test_galaxies, epochs=args.epochs,
        batch_size=args.batch_size, lr=args.lr, seed=args.seed, subhalo_factor=args.factor,
        psf_sigma=args.psf, flux_noise=args.flux_noise, vel_noise=args.vel_noise,
        num_threads=args.threads,
    )
    modes = [m.strip() for m in args.channel_modes.split(",") if m.strip()]
    sources = _load_sources(args.sources)
    noises = None
    if args.noises is not None:
        vals = _floats(args.noises)
        if len(vals) % 2:
            raise ValueError("--noises needs flux,vel pairs: f1,v1,f2,v2,...")
        noises = list(zip(vals[::2], vals[1::2]))
    runs = run_sweep(sources, cfg, experiment=args.experiment, channel_modes=modes,
                     factors=_floats(args.factors), psf_sigmas=_floats(args.psfs), noises=noises,
                     progress=not args.quiet)
    write_table(runs.table, args.output)
    if args.checkpoints is not None:
        for run_id, ckpt in runs.checkpoints.items():
            save_checkpoint(ckpt, args.checkpoints / f"{run_id}.pt")
    cols = ["experiment", "channel_mode", "factor", "psf", "flux_noise", "vel_noise", "accuracy", "auc"]
    print(runs.table[cols].to_string(index=False))
    print(f"{len(runs.table)} runs → {args.output}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``experiment`` subcommand to a ``glens-sim`` argument parser."""
    p = subparsers.add_parser(
        "experiment", help="train/test the CNN experiments on source tensors (a folder of .npy)",
        description="Run one experiment (optionally a sweep: comma-separated --factors/--psfs/"
                    "--noises) on the source_tensor_<plateifu>.npy files of a folder; write the "
                    "result table and, with --checkpoints, one checkpoint per run.")
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
        ("--factor", float, d.subhalo_factor, "subhalo theta_E / main theta_E"),
        ("--psf", float, d.psf_sigma, "PSF sigma in pixels"),
        ("--flux-noise", float, d.flux_noise, None), ("--vel-noise", float, d.vel_noise, None),
        ("--threads", int, d.num_threads, "torch threads"),
    ):
        p.add_argument(flag, type=typ, default=default, help=help_)
    p.add_argument("--factors", default=None, help="sweep: comma-separated subhalo factors")
    p.add_argument("--psfs", default=None, help="sweep: comma-separated PSF sigmas (px)")
    p.add_argument("--noises", default=None, help="sweep: flux,vel sigma pairs f1,v1,f2,v2,...")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=_cli_experiment)
    return p
