"""The CNN experiments of the original work, configurable, seeded, returning tidy tables.

* :func:`run_lensed_vs_unlensed` — task A (spec §2.7): is the source lensed?
* :func:`run_subhalo_detection` — task B: smooth macro lens vs macro lens + subhalo, per channel
  mode (``flux``, ``vel``, ``both``).
* :func:`run_kinematics_control` — option A of the work log: identical flux and mask in both
  classes, the subhalo only changes the velocity field (see :mod:`glens_sim.labelled_sets`).
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

import hashlib
import itertools
import json
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Annotated, Literal

import numpy as np
import pandas as pd
import torch
from pydantic import Field
from tqdm.auto import tqdm

from .config import LensSimConfig
from .labelled_sets import (
    CHANNEL_MODES,
    ChannelMode,
    GalaxySplit,
    LabelledSet,
    as_source_stack,
    make_labelled_set,
    n_input_channels,
    split_galaxies,
)
from .models import build_cnn
from .validation import config_dataclass
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
    "SweepConfig",
    "accuracy_table",
    "run_metrics",
]

_log = logging.getLogger(__name__)

#: The original's "easy" regime: strong subhalo, no PSF, no noise (the default ``ExperimentConfig.lens``).
EASY_LENS = LensSimConfig(theta_E_sub_factor=0.3, psf_sigma=0.0, flux_noise_sigma=0.0, vel_noise_sigma=0.0)

#: experiment name → data-set task of :func:`glens_sim.labelled_sets.make_labelled_set`.
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


@config_dataclass
class ExperimentConfig:
    """Settings of one experiment: sizes, optimisation and the simulation (``lens``).

    n_train, n_val, n_test: samples rendered **per galaxy** of the train / val / test split (>= 2).
    n_val_galaxies, n_test_galaxies: galaxies held out for validation / test (rest: training).
    epochs, batch_size, lr, patience, monitor, augment, num_threads: see :class:`TrainConfig`.
    seed: master seed (see the module docstring for the derived seeds).
    channel_mode: ``"flux"``, ``"vel"`` or ``"both"`` (default channel set of a runner).
    lens: every simulation setting (:class:`~glens_sim.config.LensSimConfig`), the only place the
        subhalo strength (``theta_E_sub_factor``), PSF (``psf_sigma``) and noise
        (``flux_noise_sigma``, ``vel_noise_sigma``) are set. Default :data:`EASY_LENS`, the
        original's "easy" regime (factor 0.3, no PSF, no noise); a ``lens`` given explicitly
        starts from :class:`LensSimConfig`'s own defaults for the fields it leaves out.

    Defaults: batch 32, Adam lr 1e-3; 20 epochs (patience 5) of 300 samples per training galaxy —
    about the original's number of optimiser steps (10 epochs × 4,000 samples) for five training
    galaxies, and about one minute per headline experiment on one CPU core for ~8 galaxies of 64×64.
    Unknown keywords and out-of-range values raise ``ValueError`` (pydantic ``ValidationError``).
    """

    n_train: Annotated[int, Field(ge=2)] = 300
    n_val: Annotated[int, Field(ge=2)] = 100
    n_test: Annotated[int, Field(ge=2)] = 200
    n_val_galaxies: Annotated[int, Field(ge=1)] = 1
    n_test_galaxies: Annotated[int, Field(ge=1)] = 2
    epochs: Annotated[int, Field(ge=1)] = 20
    batch_size: Annotated[int, Field(ge=1)] = 32
    lr: Annotated[float, Field(gt=0)] = 1e-3
    patience: Annotated[int, Field(ge=1)] | None = 5
    monitor: Literal["accuracy", "loss"] = "accuracy"
    augment: bool = True
    seed: int = 42
    channel_mode: ChannelMode = "both"
    num_threads: Annotated[int, Field(ge=1)] | None = 1
    lens: LensSimConfig = field(default_factory=lambda: EASY_LENS)

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
    sim = cfg.lens
    task = EXPERIMENTS[experiment]
    sets = [
        make_labelled_set(stack, gals, n, sim, task, seed=cfg.seed + off, progress=progress)
        for gals, n, off in ((split.train, cfg.n_train, 0), (split.val, cfg.n_val, 1), (split.test, cfg.n_test, 2))
    ]
    return ExperimentData(experiment, split, *sets, cfg=cfg)


def _digest(cfg: ExperimentConfig, experiment: str, mode: str) -> str:
    """8 hex digits of SHA-1 over every setting of a run, so runs that differ in any setting
    (sizes, epochs, lens fields) never share a ``run_id``."""
    text = json.dumps({"experiment": experiment, "mode": mode, **cfg.to_dict()}, sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:8]


def _fmt(x: float) -> str:
    return "na" if isinstance(x, float) and math.isnan(x) else f"{x:g}"


def train_on(
    data: ExperimentData, channel_modes: Sequence[str] | None = None, *, progress: bool = True
) -> ExperimentRuns:
    """Train and test one freshly seeded CNN per channel mode on already rendered ``data``."""
    cfg = data.cfg
    modes = tuple(channel_modes) if channel_modes is not None else (cfg.channel_mode,)
    sim = cfg.lens
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
                  f"__n{_fmt(sim.flux_noise_sigma)}-{_fmt(sim.vel_noise_sigma)}__s{cfg.seed}"
                  f"__{_digest(cfg, data.experiment, mode)}")
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


ExperimentName = Literal["lensed_vs_unlensed", "subhalo_detection", "kinematics_control"]


@config_dataclass
class SweepConfig:
    """A sweep for :func:`run_sweep`: which experiment, channel modes and grid, and its own sizes.

    experiment: one of :data:`EXPERIMENTS`.
    channel_modes: a model is trained per mode at every grid point.
    factors, psf_sigmas: subhalo strengths (``theta_E_sub_factor``) and PSF sigmas (image pixels);
        ``None`` keeps the experiment's value.
    noises: ``(flux, vel)`` noise sigma pairs; ``None`` keeps the experiment's.
    settings: :class:`ExperimentConfig` fields that differ from the headline experiment's (e.g.
        fewer epochs for a cheaper sweep); see :meth:`experiment_config`.
    """

    experiment: ExperimentName = "subhalo_detection"
    channel_modes: tuple[ChannelMode, ...] = CHANNEL_MODES
    factors: tuple[Annotated[float, Field(ge=0)], ...] | None = None
    psf_sigmas: tuple[Annotated[float, Field(ge=0)], ...] | None = None
    noises: tuple[tuple[Annotated[float, Field(ge=0)], Annotated[float, Field(ge=0)]], ...] | None = None
    settings: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.experiment_config(ExperimentConfig())  # unknown or invalid settings fail here

    def experiment_config(self, base: ExperimentConfig) -> ExperimentConfig:
        """``base`` with :attr:`settings` applied (validated; a ``lens`` given replaces ``base.lens``)."""
        try:
            return replace(base, **self.settings)
        except TypeError as exc:
            raise ValueError(f"SweepConfig.settings: {exc}") from None

    def run(self, sources: Mapping[str, np.ndarray | torch.Tensor], base: ExperimentConfig, *,
            progress: bool = True) -> ExperimentRuns:
        """:func:`run_sweep` of this sweep around the headline experiment ``base``."""
        return run_sweep(sources, self.experiment_config(base), experiment=self.experiment,
                         channel_modes=self.channel_modes, factors=self.factors,
                         psf_sigmas=self.psf_sigmas, noises=self.noises, progress=progress)


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

    An axis left ``None`` keeps ``cfg.lens``'s value. Every grid point renders its own data sets
    (same seeds, so points differ only by the swept setting) and trains one model per channel
    mode. Returns all runs in one :class:`ExperimentRuns` (one table row per run).

    Cost: one training per grid point and channel mode, each about as long as a headline
    experiment (about a minute per run with the defaults on one CPU core; the original 3 × 2 × 2
    grid with three modes is 36 runs). The plan is logged (``logging`` warning) before the first
    run and a progress bar counts the grid points unless ``progress=False``.
    """
    if experiment not in EXPERIMENTS:
        raise ValueError(f"experiment must be one of {tuple(EXPERIMENTS)}, got {experiment!r}")
    lens = cfg.lens
    factors = list(factors) if factors is not None else [lens.theta_E_sub_factor]
    psf_sigmas = list(psf_sigmas) if psf_sigmas is not None else [lens.psf_sigma]
    noises = ([tuple(n) for n in noises] if noises is not None
              else [(lens.flux_noise_sigma, lens.vel_noise_sigma)])
    for n in noises:
        if len(n) != 2:
            raise ValueError(f"noises must be (flux_sigma, vel_sigma) pairs, got {n!r}")
    if experiment == "lensed_vs_unlensed" and len(factors) > 1:
        raise ValueError("the subhalo strength does not enter lensed_vs_unlensed: sweep factors only for subhalo experiments")
    grid = list(itertools.product(factors, psf_sigmas, noises))
    n_runs = len(grid) * len(channel_modes)
    _log.warning(
        "run_sweep %s: %d grid points x %d channel modes = %d trainings of up to %d epochs "
        "(%d training samples per galaxy each); about a minute per training on one CPU core "
        "with the default sizes", experiment, len(grid), len(channel_modes), n_runs, cfg.epochs,
        cfg.n_train)
    out = []
    for factor, psf, (fn, vn) in tqdm(grid, desc=f"sweep {experiment}", disable=not progress):
        point = replace(cfg, lens=lens.replace(theta_E_sub_factor=factor, psf_sigma=psf,
                                               flux_noise_sigma=fn, vel_noise_sigma=vn))
        out.append(_run(experiment, sources, point, channel_modes, progress))
    return ExperimentRuns.concat(out)


def accuracy_table(*tables: pd.DataFrame) -> pd.DataFrame:
    """Result tables (:data:`RESULT_COLUMNS`) joined into one; a ``run_id`` that appears twice is an error.

    Raises
    ------
    ValueError
        Naming every repeated ``run_id``: two runs must never be reported under one key.
    """
    table = pd.concat(tables, ignore_index=True)
    repeated = sorted(table.loc[table["run_id"].duplicated(), "run_id"].unique())
    if repeated:
        raise ValueError(f"run_id appears in more than one row: {repeated}")
    return table


def run_metrics(table: pd.DataFrame, prefix: str = "", *, by_setting: bool = False) -> dict[str, float]:
    """Accuracy and AUC of every run of a result table as flat metric names.

    Keys are ``"<prefix><experiment>.<channel_mode>.<accuracy|auc>"``; with ``by_setting`` the
    swept settings are added, ``"<prefix><experiment>.<channel_mode>.f<factor>.psf<psf>.n<flux>-<vel>.<metric>"``
    (for a sweep's table).

    Raises
    ------
    ValueError
        When two rows would give the same key (e.g. a sweep's short runs and the headline run of
        the same experiment and mode): a metric is never silently overwritten by another run's.
    """
    out: dict[str, float] = {}
    first: dict[str, str] = {}
    for r in table.itertuples(index=False):
        key = f"{prefix}{r.experiment}.{r.channel_mode}"
        if by_setting:
            key += f".f{_fmt(r.factor)}.psf{_fmt(r.psf)}.n{_fmt(r.flux_noise)}-{_fmt(r.vel_noise)}"
        if key in first:
            raise ValueError(f"metric key {key!r} names two runs: {first[key]!r} and {r.run_id!r}")
        first[key] = r.run_id
        out[f"{key}.accuracy"] = float(r.accuracy)
        out[f"{key}.auc"] = float(r.auc)
    return out
