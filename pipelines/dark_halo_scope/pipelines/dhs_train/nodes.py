"""Glue between the catalog and dhs-train: train, score, summarise. torch/dhs_train are imported inside nodes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

# torch, lightning and the packages are imported when a node runs. Kedro resolves every node's type hints when it
# validates parameters, so each hint names a type importable here.


def train(store: Path, data: dict[str, Any], train: dict[str, Any], run: dict[str, Any],
          gates: dict[str, Any]) -> tuple[dict[str, Any], pd.DataFrame]:
    """Train on the store's train split, validate on val; return the best epoch's checkpoint and the history.

    Lightning checkpoints go to ``run.checkpoint_dir/<key>`` where ``key`` hashes the store's manifest and the
    configuration, so a killed ``kedro run`` rerun resumes (``run.resume``) and a changed store or config
    starts afresh. Every ``train.gate_every`` epochs the dhs-gates of ``gates`` are evaluated
    (:func:`.callbacks.epoch_gates`); each epoch's history row, gate values included, is logged to the active
    MLflow run as ``dhs_train.epoch.*`` with ``step = epoch`` (:class:`.callbacks.MlflowEpochMetrics`).
    """
    import torch

    from dhs_train.data import DataConfig, StampDataset, store_fingerprint
    from dhs_train.training import TrainConfig, fit

    from .callbacks import MlflowEpochMetrics, epoch_gates
    from .params import EpochGates, RunSettings

    dcfg, tcfg, rcfg = DataConfig(**data), TrainConfig(**train), RunSettings(**run)
    torch.set_num_threads(rcfg.torch_threads)
    blob = json.dumps([store_fingerprint(store), dcfg.model_dump(mode="json"), tcfg.model_dump(mode="json")], sort_keys=True)
    folder = Path(rcfg.checkpoint_dir) / hashlib.sha256(blob.encode()).hexdigest()[:16]
    hook = epoch_gates(store, dcfg.preprocess, dcfg.preprocess_options, EpochGates(**gates)) if tcfg.gate_every else None
    result = fit(StampDataset(store, "train", dcfg), StampDataset(store, "val", dcfg.evaluation()), tcfg, folder,
                 resume=rcfg.resume, gates=hook, callbacks=[MlflowEpochMetrics()])
    return result.checkpoint, result.history


def score(checkpoint: dict[str, Any], store: Path, split: str) -> pd.DataFrame:
    """Scores of every stamp and control of one split (``dhs_train.scoring.score_store``)."""
    from dhs_train.scoring import score_store

    return score_store(checkpoint, store, split)


def score_cutouts(checkpoint: dict[str, Any], cutouts: pd.DataFrame) -> pd.DataFrame:
    """Scores of a folder of real cutouts (read by ``dhs_train.scoring.read_cutout_folder``)."""
    from dhs_train.scoring import score_cutouts as run

    return run(checkpoint, cutouts)


def report(history: pd.DataFrame, val_scores: pd.DataFrame, test_scores: pd.DataFrame, cutouts: pd.DataFrame,
           checkpoint: dict[str, Any]) -> tuple[dict[str, Any], Figure]:
    """Final metrics (best epoch, val/test extended metrics, real-cutout scores) and the training-curve figure."""
    from dhs_train.metrics import extended_metrics
    from dhs_train.plots import training_curves

    metrics: dict[str, float] = {}
    for name, frame in (("val", val_scores), ("test", test_scores)):
        strata = {c: frame[c].where(frame["label"] == 1).to_numpy(float) for c in ("theta_e_over_psf", "arc_snr")}
        metrics.update({f"{name}.{k}": v for k, v in extended_metrics(frame["score"], frame["label"], strata).items()})
    best = history.loc[history["val_auroc"].idxmax()]
    metrics.update({"best_epoch": float(best["epoch"]), "best_val_auroc": float(best["val_auroc"]),
                    "epochs_run": float(len(history))})
    metrics.update({f"cutout.{g}": float(s) for g, s in zip(cutouts["galaxy_id"], cutouts["score"], strict=True)})
    meta = checkpoint["meta"]
    params = {"architecture": meta["architecture"], "preprocess": meta["preprocess"],
              "store_fingerprint": meta["store_fingerprint"]}
    return {"metrics": metrics, "params": params}, training_curves(history)
