"""Seeded, reproducible training and evaluation of the binary CNN classifiers.

Reproducibility contract: with the same data, :class:`TrainConfig` and initial weights, :func:`fit`
returns bit-identical weights and metrics on the same machine and thread count. All randomness
comes from explicit ``torch.Generator`` objects seeded from ``TrainConfig.seed`` (mini-batch
order: ``seed``; augmentation: ``seed + 1``); the global RNG is not used. ``torch`` intra-op
threads are set to ``TrainConfig.num_threads`` for the duration of the call and restored after.

Checkpoints are plain dicts ``{"state_dict": ..., "meta": ...}``. The format is defined here once:
:func:`write_checkpoint` / :func:`read_checkpoint` encode and decode it on any binary file object
(the Kedro ``TorchCheckpointDataset`` calls them), :func:`save_checkpoint` / :func:`load_checkpoint`
do the same for a path (atomic write).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Annotated, Any, Literal

import numpy as np
import pandas as pd
import torch
from pydantic import Field
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from tqdm.auto import tqdm

from .atomic import atomic_write
from .augment import random_dihedral
from .models import GlensCNN
from .validation import config_dataclass

__all__ = [
    "TrainConfig",
    "TrainResult",
    "fit",
    "predict_scores",
    "evaluate",
    "roc_auc",
    "make_checkpoint",
    "write_checkpoint",
    "read_checkpoint",
    "save_checkpoint",
    "load_checkpoint",
    "model_from_checkpoint",
]


@config_dataclass
class TrainConfig:
    """Optimisation settings (defaults = the original: Adam, lr 1e-3, batch 32, 10 epochs).

    monitor: validation score that selects the best epoch: ``"accuracy"`` (the original; ties
        broken by lower loss) or ``"loss"`` (lower cross-entropy).
    patience: stop after this many epochs without a better validation score; ``None`` trains
        all ``epochs``. The weights returned are always those of the best validation epoch (a
        deep copy, not the last epoch).
    augment: apply an independent random 90°-rotation/flip to every training sample each epoch.
    num_threads: torch intra-op threads during training (``None`` leaves the setting alone).
    flush_denormal: flush denormal floats to zero during training (CPU). Tiny activations of
        near-empty images otherwise make CPU training several times slower; the flag is set
        back to PyTorch's default (off) afterwards.
    eval_batch_size: batch size for validation/test forward passes (no effect on results).
    """

    epochs: Annotated[int, Field(ge=1)] = 10
    batch_size: Annotated[int, Field(ge=1)] = 32
    lr: Annotated[float, Field(gt=0)] = 1e-3
    seed: int = 42
    monitor: Literal["accuracy", "loss"] = "accuracy"
    patience: Annotated[int, Field(ge=1)] | None = 3
    augment: bool = True
    num_threads: Annotated[int, Field(ge=1)] | None = 1
    flush_denormal: bool = True
    eval_batch_size: Annotated[int, Field(ge=1)] = 512


@dataclass
class TrainResult:
    """Outcome of :func:`fit`.

    state_dict: best-validation weights (tensors detached and cloned to CPU).
    history: one row per epoch: epoch (1-based), train_loss, train_accuracy, val_loss,
        val_accuracy, val_auc.
    best_epoch: 1-based epoch whose weights are in ``state_dict``.
    """

    state_dict: dict[str, torch.Tensor]
    history: pd.DataFrame
    best_epoch: int


def roc_auc(scores: np.ndarray | torch.Tensor, labels: np.ndarray | torch.Tensor) -> float:
    """Area under the ROC curve of binary ``labels`` (0/1) ranked by ``scores`` (both ``(n,)``).

    :func:`sklearn.metrics.roc_auc_score` (the Mann–Whitney U statistic over ``n₊ n₋``; ties
    between a positive and a negative count 1/2). Returns NaN when one class is absent, where
    scikit-learn raises. Raises ``ValueError`` for labels other than 0/1, non-finite scores or
    lengths that differ.
    """
    s = np.asarray(scores.detach().cpu() if isinstance(scores, torch.Tensor) else scores, float).ravel()
    y = np.asarray(labels.detach().cpu() if isinstance(labels, torch.Tensor) else labels).ravel()
    if s.shape != y.shape:
        raise ValueError(f"scores and labels differ in length: {s.shape[0]} vs {y.shape[0]}")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0 or 1")
    if not np.isfinite(s).all():
        raise ValueError("scores contain NaN or inf")
    if np.unique(y).size < 2:
        return float("nan")
    from sklearn.metrics import roc_auc_score  # imported on use: scikit-learn takes ~1 s to import

    return float(roc_auc_score(y, s))


@torch.no_grad()
def _logits(model: nn.Module, x: torch.Tensor, batch_size: int) -> torch.Tensor:
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    out = [model(x[i : i + batch_size].to(device)).cpu() for i in range(0, x.shape[0], batch_size)]
    model.train(was_training)
    return torch.cat(out) if out else torch.empty(0, 2)


def predict_scores(model: nn.Module, x: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """Probability of class 1 (softmax) for every image of ``x`` ``(B, C, N, N)``."""
    return torch.softmax(_logits(model, x, batch_size), dim=1)[:, 1]


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 512) -> dict[str, float]:
    """Accuracy (argmax), ROC AUC (of the class-1 probability), mean cross-entropy and n."""
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x and y differ in length: {x.shape[0]} vs {y.shape[0]}")
    if x.shape[0] == 0:
        raise ValueError("cannot evaluate on an empty set")
    logits = _logits(model, x, batch_size)
    y = y.cpu().long()
    return {
        "accuracy": float((logits.argmax(1) == y).double().mean()),
        "auc": roc_auc(torch.softmax(logits, 1)[:, 1], y),
        "loss": float(nn.functional.cross_entropy(logits, y)),
        "n": int(y.shape[0]),
    }


def _check_xy(name: str, data: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = data
    if x.ndim != 4:
        raise ValueError(f"{name} images must be (B, C, N, N), got {tuple(x.shape)}")
    if y.ndim != 1 or y.shape[0] != x.shape[0]:
        raise ValueError(f"{name} labels must be (B,) matching images, got {tuple(y.shape)}")
    if x.shape[0] == 0:
        raise ValueError(f"{name} set is empty")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} images contain NaN or inf")
    return x.float(), y.long()


def fit(
    model: nn.Module,
    train: tuple[torch.Tensor, torch.Tensor],
    val: tuple[torch.Tensor, torch.Tensor],
    cfg: TrainConfig = TrainConfig(),
    *,
    progress: bool = True,
) -> TrainResult:
    """Train ``model`` in place with Adam + cross-entropy, select the best validation epoch.

    ``train``/``val`` are ``(images (B, C, N, N), labels (B,) in {0, 1})`` tensors. After the call
    the model holds the best-epoch weights (also returned in :class:`TrainResult`).
    """
    xtr, ytr = _check_xy("train", train)
    xva, yva = _check_xy("val", val)
    device = next(model.parameters()).device
    old_threads = torch.get_num_threads()
    if cfg.num_threads is not None:
        torch.set_num_threads(cfg.num_threads)
    if cfg.flush_denormal:
        torch.set_flush_denormal(True)
    try:
        order_gen = torch.Generator().manual_seed(cfg.seed)
        aug_gen = torch.Generator().manual_seed(cfg.seed + 1)
        loader = DataLoader(
            TensorDataset(xtr, ytr), batch_size=cfg.batch_size, shuffle=True,
            generator=order_gen, num_workers=0,
        )
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
        loss_fn = nn.CrossEntropyLoss()
        best_key: tuple[float, float] | None = None
        best_state: dict[str, torch.Tensor] = {}
        best_epoch, stale, rows = 0, 0, []
        bar = tqdm(range(1, cfg.epochs + 1), desc="train", unit="epoch", disable=not progress, leave=False)
        for epoch in bar:
            model.train()
            tot_loss, tot_correct = 0.0, 0
            for xb, yb in loader:
                if cfg.augment:
                    xb = random_dihedral(xb, aug_gen)
                xb, yb = xb.to(device), yb.to(device)
                opt.zero_grad(set_to_none=True)
                logits = model(xb)
                loss = loss_fn(logits, yb)
                loss.backward()
                opt.step()
                tot_loss += float(loss.detach()) * yb.shape[0]
                tot_correct += int((logits.argmax(1) == yb).sum())
            vm = evaluate(model, xva, yva, cfg.eval_batch_size)
            rows.append({
                "epoch": epoch,
                "train_loss": tot_loss / xtr.shape[0],
                "train_accuracy": tot_correct / xtr.shape[0],
                "val_loss": vm["loss"],
                "val_accuracy": vm["accuracy"],
                "val_auc": vm["auc"],
            })
            bar.set_postfix(val_acc=f"{vm['accuracy']:.3f}")
            key = (vm["accuracy"], -vm["loss"]) if cfg.monitor == "accuracy" else (-vm["loss"], 0.0)
            if best_key is None or key > best_key:
                best_key, best_epoch, stale = key, epoch, 0
                best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
            else:
                stale += 1
                if cfg.patience is not None and stale >= cfg.patience:
                    break
        model.load_state_dict(best_state)
        return TrainResult(state_dict=best_state, history=pd.DataFrame(rows), best_epoch=best_epoch)
    finally:
        torch.set_num_threads(old_threads)
        if cfg.flush_denormal:
            torch.set_flush_denormal(False)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (np.ndarray, tuple, set)):
        return list(np.asarray(value).tolist()) if isinstance(value, np.ndarray) else list(value)
    if isinstance(value, (Path, torch.dtype, torch.device)) or type(value).__name__ == "TorchVersion":
        return str(value)
    raise TypeError(f"checkpoint meta value of type {type(value).__name__} is not JSON-like")


def make_checkpoint(state_dict: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    """Checkpoint dict ``{"state_dict", "meta"}``; ``meta`` must hold ``in_channels``.

    ``meta`` is normalised to plain JSON types (NumPy scalars → Python numbers, tuples → lists),
    so the checkpoint loads with ``torch.load(weights_only=True)`` and the meta can be logged.
    """
    if "in_channels" not in meta:
        raise ValueError("checkpoint meta must contain 'in_channels'")
    plain = json.loads(json.dumps(meta, default=_json_default))
    return {"state_dict": {k: v.detach().cpu().clone() for k, v in state_dict.items()}, "meta": plain}


def write_checkpoint(ckpt: Mapping[str, Any], file: IO[bytes]) -> None:
    """Encode a checkpoint ``{"state_dict", "meta"}`` into a binary file object (``torch.save``).

    Tensors are detached and moved to the CPU; ``meta`` must hold plain Python values so that
    :func:`read_checkpoint` can load it with ``weights_only=True``.
    """
    if not isinstance(ckpt, Mapping) or set(ckpt) != {"state_dict", "meta"}:
        keys = sorted(ckpt) if isinstance(ckpt, Mapping) else type(ckpt).__name__
        raise ValueError(f"checkpoint must have exactly the keys state_dict, meta; got {keys}")
    state = {k: v.detach().cpu() if isinstance(v, torch.Tensor) else v for k, v in ckpt["state_dict"].items()}
    torch.save({"state_dict": state, "meta": dict(ckpt["meta"])}, file)


def read_checkpoint(file: IO[bytes] | str | os.PathLike) -> dict[str, Any]:
    """Decode a checkpoint written by :func:`write_checkpoint` (``torch.load(weights_only=True)``, CPU).

    Raises ``ValueError`` for anything else (an arbitrary pickle, a dict without the two keys).
    """
    try:
        ckpt = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many types; re-raised as one
        raise ValueError(f"not a readable glens-sim checkpoint ({exc})") from exc
    if not isinstance(ckpt, dict) or set(ckpt) != {"state_dict", "meta"}:
        raise ValueError("checkpoint must be a dict with keys state_dict, meta")
    return ckpt


def save_checkpoint(ckpt: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write a checkpoint to ``path`` with :func:`write_checkpoint`, atomically (temp file + rename)."""
    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            write_checkpoint(ckpt, fh)

    return atomic_write(path, write)


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read a checkpoint file with :func:`read_checkpoint`; errors name the file."""
    try:
        return read_checkpoint(Path(path))
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc


def model_from_checkpoint(ckpt: dict[str, Any]) -> GlensCNN:
    """Rebuild the :class:`GlensCNN` of a checkpoint dict and load its weights (eval mode)."""
    model = GlensCNN(int(ckpt["meta"]["in_channels"]))
    model.load_state_dict(ckpt["state_dict"])
    return model.eval()
