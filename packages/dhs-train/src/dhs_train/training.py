"""Training on Lightning: AdamW + cosine, BCE or focal loss, clipping, AMP on CUDA, early stopping, resume, DDP.

:func:`fit` trains a :func:`dhs_train.build_model` network on two :class:`dhs_train.data.StampDataset` splits with
``lightning.pytorch.Trainer`` and returns a :class:`TrainResult` (per-epoch history, checkpoint paths, and an
exported ``{"state_dict", "meta"}`` checkpoint of the best epoch for scoring).

Checkpoints (Lightning ``.ckpt`` in ``checkpoint_dir``): ``best.ckpt`` (highest validation AUROC), ``last.ckpt``
and ``epoch=NNN.ckpt`` every ``checkpoint_every`` epochs, all written at the end of a training epoch and holding
model, optimiser, scheduler, AMP scaler and loop states (Lightning), plus the Python/NumPy/torch RNG states, the
per-epoch history, the architecture and the store's manifest hash (``dhs`` key). ``fit(..., resume=True)``
continues from ``last.ckpt``; if that file does not load, a loud warning is issued and the newest
``epoch=NNN.ckpt`` that loads is used instead. Data order and augmentation are functions of ``(seed, epoch)``
(:mod:`dhs_train.data`), so a resumed run reaches the same final metrics as an uninterrupted one.

Losses: BCE with logits, or the focal loss of Lin et al. 2017 (``alpha``, ``gamma``; the phase-5 trainer's
α 0.25, γ 2). Validation AUROC is ``torchmetrics``' binary AUROC; the extended metrics of
:func:`dhs_train.metrics.extended_metrics` are added every epoch. A gate hook ``gates(score_fn, epoch) -> dict``
(dhs-gates supplies it; this module does not import dhs-gates) runs every ``gate_every`` epochs and after the last
one (``gate_every = 0``: never); ``score_fn`` maps raw ``(N, C, H, W)`` stamps to probabilities with the model's own
preprocessing. Its numeric values join that epoch's history row as ``gate_<key>``, before the epoch's checkpoints
are written and before any user callback's ``on_train_epoch_end`` (e.g. a tracker logging the row).
"""

from __future__ import annotations

import logging
import os
import random
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import lightning.pytorch as lp
import numpy as np
import pandas as pd
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch.nn import functional as F
from torch.utils.data import DataLoader
from torchmetrics.functional.classification import binary_auroc

from dhs_train.data import STRATA_COLUMNS, StampDataset, store_fingerprint
from dhs_train.metrics import extended_metrics
from dhs_train.models import build_model
from dhs_train.preprocess import preprocess

__all__ = ["GateFn", "LensModule", "TrainConfig", "TrainResult", "fit", "focal_loss", "resume_checkpoint"]

log = logging.getLogger(__name__)
GateFn = Callable[[Callable[[np.ndarray], np.ndarray], int], Mapping[str, Any]]


class TrainConfig(BaseModel):
    """Model and optimisation settings (validated; unknown fields refused)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    architecture: Literal["resnet18", "convnext_tiny"] = "resnet18"
    width: int | None = Field(default=None, ge=1)
    stem: Literal["imagenet", "stamp"] | None = None
    dropout: float = Field(default=0.1, ge=0.0, lt=1.0)
    drop_path: float = Field(default=0.1, ge=0.0, lt=1.0)
    epochs: int = Field(default=8, ge=1)
    batch_size: int = Field(default=128, ge=1)
    lr: float = Field(default=1e-4, gt=0.0)
    weight_decay: float = Field(default=1e-4, ge=0.0)
    eta_min: float = Field(default=1e-6, ge=0.0)
    loss: Literal["bce", "focal"] = "bce"
    focal_alpha: float = Field(default=0.25, ge=0.0, le=1.0)
    focal_gamma: float = Field(default=2.0, ge=0.0)
    grad_clip: float | None = Field(default=1.0, gt=0.0)
    amp: bool = True
    patience: int = Field(default=15, ge=1)
    checkpoint_every: int = Field(default=5, ge=1)
    gate_every: int = Field(default=5, ge=0)  # epochs between gate evaluations; 0: never
    num_workers: int = Field(default=0, ge=0)
    accelerator: str = "auto"
    devices: int | str = "auto"
    strategy: str = "auto"
    sync_batchnorm: bool = False
    seed: int = 42
    progress_bar: bool = True


def focal_loss(logits: torch.Tensor, targets: torch.Tensor, alpha: float = 0.25, gamma: float = 2.0) -> torch.Tensor:
    """Mean sigmoid focal loss (Lin et al. 2017, eq. 5): ``-α_t (1 - p_t)^γ log p_t``."""
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p = torch.sigmoid(logits)
    p_t = p * targets + (1 - p) * (1 - targets)
    alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
    return (alpha_t * (1 - p_t) ** gamma * ce).mean()


def _rng_state() -> dict[str, Any]:
    np_state = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]],
        "python": [list(random.getstate()[1]), random.getstate()[0], random.getstate()[2]],
    }


def _set_rng_state(state: Mapping[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np_s = state["numpy"]
    np.random.set_state((np_s[0], np_s[1].numpy().astype(np.uint32), *np_s[2:]))
    py = state["python"]
    random.setstate((py[1], tuple(py[0]), py[2]))


class LensModule(lp.LightningModule):
    """The Lightning wrapper: loss, optimiser, schedule, validation metrics, history and checkpoint extras."""

    def __init__(self, train: dict[str, Any], data: dict[str, Any], meta_mean: list[float], meta_std: list[float],
                 store_hash: str, image_shape: tuple[int, int, int] = (3, 64, 64)) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.cfg = TrainConfig(**train)
        self.meta_columns = tuple(data.get("meta_columns", ()))
        self.model = build_model(
            self.cfg.architecture, int(image_shape[0]), len(self.meta_columns), meta_columns=self.meta_columns or None,
            width=self.cfg.width, stem=self.cfg.stem, dropout=self.cfg.dropout, drop_path=self.cfg.drop_path,
        )
        if self.meta_columns:
            self.model.head.set_standardisation(meta_mean, meta_std)
        self.history: list[dict[str, float]] = []
        self._train_loss = [0.0, 0]
        self._epoch_lr = float("nan")
        self._val: list[tuple[torch.Tensor, ...]] = []

    def forward(self, x: torch.Tensor, meta: torch.Tensor | None = None) -> torch.Tensor:
        return self.model(x, meta if self.meta_columns else None)

    def _loss(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.cfg.loss == "focal":
            return focal_loss(logits.float(), y, self.cfg.focal_alpha, self.cfg.focal_gamma)
        return F.binary_cross_entropy_with_logits(logits.float(), y)

    def training_step(self, batch: tuple[torch.Tensor, ...], batch_idx: int) -> torch.Tensor:
        x, y, meta, _ = batch
        if batch_idx == 0:
            self._epoch_lr = float(self.optimizers().param_groups[0]["lr"])
        loss = self._loss(self(x, meta), y)
        self._train_loss[0] += float(loss.detach()) * len(y)
        self._train_loss[1] += len(y)
        self.log("train_loss", loss, prog_bar=True, batch_size=len(y))
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, ...], batch_idx: int) -> None:
        x, y, meta, strata = batch
        logits = self(x, meta).float()
        self._val.append((torch.sigmoid(logits), y, strata, F.binary_cross_entropy_with_logits(logits, y, reduction="sum")))

    def on_validation_epoch_end(self) -> None:
        if not self._val:
            return
        probs, labels, strata, losses = self._gather_val()
        self._val.clear()
        if self.trainer.sanity_checking:
            return
        auroc = float(binary_auroc(probs, labels.long()))
        ext = extended_metrics(probs.cpu().numpy(), labels.cpu().numpy(),
                               {c: strata[:, i].cpu().numpy() for i, c in enumerate(STRATA_COLUMNS)})
        n_train = self.trainer.strategy.reduce(torch.tensor(float(self._train_loss[1]), device=self.device), reduce_op="sum")
        sum_train = self.trainer.strategy.reduce(torch.tensor(self._train_loss[0], device=self.device), reduce_op="sum")
        row = {"epoch": self.current_epoch, "train_loss": float(sum_train / n_train.clamp(min=1)),
               "val_loss": float(losses.sum() / len(labels)), "val_auroc": auroc,
               "lr": self._epoch_lr,
               **{f"val_{k}": v for k, v in ext.items() if k != "auroc"}}
        self._train_loss = [0.0, 0]
        self.history.append(row)
        self.log("val_auroc", auroc, prog_bar=True, sync_dist=True)  # identical on every rank (gathered)
        self.log("val_loss", row["val_loss"], sync_dist=True)

    def _gather_val(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        probs = torch.cat([v[0] for v in self._val])
        labels = torch.cat([v[1] for v in self._val])
        strata = torch.cat([v[2] for v in self._val])
        losses = torch.stack([v[3] for v in self._val])
        if self.trainer.world_size > 1:  # every rank sees the whole validation split (equal shards)
            probs, labels, strata = (self.all_gather(t).reshape(-1, *t.shape[1:]) for t in (probs, labels, strata))
            losses = self.all_gather(losses).reshape(-1)
        return probs, labels, strata, losses

    def configure_optimizers(self) -> dict[str, Any]:
        opt = torch.optim.AdamW(self.parameters(), lr=self.cfg.lr, weight_decay=self.cfg.weight_decay)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=self.cfg.epochs, eta_min=self.cfg.eta_min)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "epoch"}}

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["dhs"] = {"history": list(self.history), "rng": _rng_state(), "export_meta": export_meta(self)}

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        extra = checkpoint.get("dhs", {})
        self.history = list(extra.get("history", []))
        if "rng" in extra:
            _set_rng_state(extra["rng"])


def export_meta(module: LensModule) -> dict[str, Any]:
    """Plain-JSON description stored with every exported checkpoint: how to rebuild and feed the model."""
    hp = module.hparams
    cfg = TrainConfig(**hp["train"])
    return {
        "format": "dhs_train.checkpoint/1",
        "architecture": cfg.architecture,
        "image_shape": [int(v) for v in hp["image_shape"]],
        "model_kwargs": {"in_channels": int(hp["image_shape"][0]), "meta_columns": list(module.meta_columns),
                         "width": cfg.width, "stem": cfg.stem, "dropout": cfg.dropout, "drop_path": cfg.drop_path},
        "preprocess": hp["data"]["preprocess"],
        "preprocess_options": dict(hp["data"].get("preprocess_options", {})),
        "meta_columns": list(module.meta_columns),
        "store_fingerprint": hp["store_hash"],
        "train": dict(hp["train"]),
        "data": dict(hp["data"]),
    }


class AtomicCheckpointIO(lp.plugins.TorchCheckpointIO):
    """``torch.save`` to a temporary sibling, then ``os.replace``: a checkpoint appears whole or not at all.

    Plain files rather than Lightning's fsspec transaction, so a host application's fsspec ``file`` override
    (the Kedro project installs an atomic one) cannot interfere.
    """

    def save_checkpoint(self, checkpoint: dict[str, Any], path: str | os.PathLike, storage_options: Any = None) -> None:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            torch.save(checkpoint, temp)
            os.replace(temp, target)
        finally:
            temp.unlink(missing_ok=True)


class _EpochSetter(lp.Callback):
    def __init__(self, dataset: StampDataset) -> None:
        self.dataset = dataset

    def on_train_epoch_start(self, trainer: lp.Trainer, pl_module: lp.LightningModule) -> None:
        self.dataset.set_epoch(trainer.current_epoch)


class _Gates(lp.Callback):
    """Runs ``gates(score_fn, epoch)`` every ``every`` epochs and at the last one; results go into the history."""

    def __init__(self, gates: GateFn, every: int) -> None:
        self.gates, self.every = gates, every

    def on_train_epoch_end(self, trainer: lp.Trainer, module: LensModule) -> None:
        epoch = trainer.current_epoch
        last = epoch + 1 >= trainer.max_epochs or trainer.should_stop
        if ((epoch + 1) % self.every and not last) or not module.history:
            return
        result = self.gates(make_score_fn(module.model, export_meta(module), module.device), epoch)
        for key, value in result.items():
            if isinstance(value, bool | int | float | np.floating | np.integer):
                module.history[-1][f"gate_{key}"] = float(value)


def make_score_fn(model: torch.nn.Module, meta: Mapping[str, Any], device: torch.device | str = "cpu",
                  batch_size: int = 256) -> Callable[..., np.ndarray]:
    """``score_fn(stamps (N, C, H, W) raw nMgy, meta_values (N, M) or None) -> probabilities (N,)``."""

    def score(stamps: np.ndarray, meta_values: np.ndarray | None = None) -> np.ndarray:
        if meta["meta_columns"] and meta_values is None:
            raise ValueError(f"this model reads the meta columns {meta['meta_columns']}: pass meta_values (N, M)")
        was_training = model.training
        model.eval()
        out = []
        with torch.no_grad():
            for i in range(0, len(stamps), batch_size):
                x = torch.from_numpy(np.ascontiguousarray(preprocess(np.asarray(stamps[i:i + batch_size], np.float32),
                                                                     meta["preprocess"], **meta["preprocess_options"])))
                m = None if not meta["meta_columns"] else torch.as_tensor(
                    meta_values[i:i + batch_size], dtype=torch.float32, device=device)
                out.append(torch.sigmoid(model(x.to(device), m).float()).cpu().numpy())
        model.train(was_training)
        return np.concatenate(out) if out else np.zeros(0, np.float32)

    return score


@dataclass
class TrainResult:
    """What :func:`fit` returns."""

    history: pd.DataFrame
    checkpoint: dict[str, Any]
    best_path: Path | None
    last_path: Path | None
    resumed_from: Path | None = None
    extras: dict[str, Any] = field(default_factory=dict)


def _epoch_of(path: Path) -> int:
    m = re.search(r"epoch=(\d+)", path.name)
    return int(m.group(1)) if m else -1


def resume_checkpoint(checkpoint_dir: str | Path) -> Path | None:
    """The checkpoint to resume from: ``last.ckpt`` if it loads, else (loudly) the newest loadable ``epoch=N``."""
    folder = Path(checkpoint_dir)
    last = folder / "last.ckpt"
    candidates = ([last] if last.exists() else []) + sorted(folder.glob("epoch=*.ckpt"), key=_epoch_of, reverse=True)
    for path in candidates:
        try:
            torch.load(path, map_location="cpu", weights_only=False)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is skipped, loudly
            msg = f"checkpoint '{path}' is corrupt or unreadable ({type(exc).__name__}: {exc}); trying an older one"
            warnings.warn(msg, RuntimeWarning, stacklevel=2)
            log.error(msg)
            continue
        if path != last and last.exists():
            log.error("resuming from the previous good checkpoint '%s' instead of '%s'", path, last)
        return path
    return None


def fit(
    train_data: StampDataset,
    val_data: StampDataset,
    cfg: TrainConfig,
    checkpoint_dir: str | Path,
    *,
    resume: bool = True,
    gates: GateFn | None = None,
    max_epochs_this_call: int | None = None,
    callbacks: list[lp.Callback] | None = None,
) -> TrainResult:
    """Train, checkpoint and return the history and the best model's exported checkpoint.

    Parameters
    ----------
    train_data, val_data : datasets of the training and validation splits (``val_data`` should use
        ``DataConfig.evaluation()``).
    cfg : :class:`TrainConfig`.
    checkpoint_dir : folder of the Lightning checkpoints (created).
    resume : continue from ``checkpoint_dir`` when it holds a checkpoint (see :func:`resume_checkpoint`).
    gates : optional gate hook ``gates(score_fn, epoch) -> {name: number}``, see the module docstring.
    max_epochs_this_call : stop after this many epochs in this call (the schedule still spans ``cfg.epochs``).
    callbacks : extra Lightning callbacks.

    Raises
    ------
    ValueError : a checkpoint in ``checkpoint_dir`` that belongs to another architecture or store.
    """
    lp.seed_everything(cfg.seed, workers=True, verbose=False)
    folder = Path(checkpoint_dir)
    folder.mkdir(parents=True, exist_ok=True)
    mean, std = train_data.meta_statistics() if train_data.cfg.meta_columns else ([], [])
    store_hash = store_fingerprint(train_data.root)
    module = LensModule(cfg.model_dump(), train_data.cfg.model_dump(mode="json"), mean, std, store_hash,
                        train_data.image_shape())
    ckpt_path = resume_checkpoint(folder) if resume else None
    if ckpt_path is not None:
        old = torch.load(ckpt_path, map_location="cpu", weights_only=False).get("dhs", {}).get("export_meta", {})
        if old.get("architecture") != cfg.architecture or old.get("store_fingerprint") != store_hash:
            raise ValueError(
                f"checkpoint '{ckpt_path}' was trained as {old.get('architecture')!r} on store {old.get('store_fingerprint')!r}; "
                f"this run is {cfg.architecture!r} on store {store_hash!r}: use another checkpoint_dir or resume=False"
            )
    cuda = torch.cuda.is_available() and cfg.accelerator in ("auto", "gpu", "cuda")
    precision = ("bf16-mixed" if torch.cuda.is_bf16_supported() else "16-mixed") if (cuda and cfg.amp) else "32-true"
    best = lp.callbacks.ModelCheckpoint(folder, filename="best", monitor="val_auroc", mode="max", save_top_k=1,
                                        save_last=True, save_on_train_epoch_end=True, enable_version_counter=False)
    every = lp.callbacks.ModelCheckpoint(folder, filename="epoch={epoch:03d}", auto_insert_metric_name=False,
                                         every_n_epochs=cfg.checkpoint_every, save_top_k=-1, save_on_train_epoch_end=True)
    stop = lp.callbacks.EarlyStopping("val_auroc", mode="max", patience=cfg.patience, check_on_train_epoch_end=True)
    cbs: list[lp.Callback] = [_EpochSetter(train_data), best, every, stop, *(callbacks or [])]
    if gates is not None and cfg.gate_every > 0:
        cbs.insert(1, _Gates(gates, cfg.gate_every))
    # Lightning creates the first epoch's iterator before `on_train_epoch_start`: set the data epoch now
    done = torch.load(ckpt_path, map_location="cpu", weights_only=False)["epoch"] + 1 if ckpt_path else 0
    train_data.set_epoch(done)
    epochs = cfg.epochs if max_epochs_this_call is None else min(cfg.epochs, done + max_epochs_this_call)
    trainer = lp.Trainer(
        max_epochs=epochs, accelerator=cfg.accelerator, devices=cfg.devices, strategy=cfg.strategy,
        precision=precision, gradient_clip_val=cfg.grad_clip, callbacks=cbs, logger=False,
        enable_progress_bar=cfg.progress_bar, enable_model_summary=False, num_sanity_val_steps=0,
        deterministic=not cuda, sync_batchnorm=cfg.sync_batchnorm, default_root_dir=folder,
        use_distributed_sampler=False, plugins=[AtomicCheckpointIO()],
    )
    loader = dict(batch_size=cfg.batch_size, num_workers=cfg.num_workers, persistent_workers=False)
    trainer.fit(module, DataLoader(train_data, **loader), DataLoader(val_data, **loader), ckpt_path=ckpt_path)
    best_path = Path(best.best_model_path) if best.best_model_path else None
    final = LensModule.load_from_checkpoint(best_path, map_location="cpu", weights_only=False) if best_path else module
    exported = {"state_dict": {k: v.detach().cpu() for k, v in final.model.state_dict().items()}, "meta": export_meta(final)}
    history = pd.DataFrame(module.history)
    return TrainResult(history=history, checkpoint=exported, best_path=best_path,
                       last_path=folder / "last.ckpt" if (folder / "last.ckpt").exists() else None, resumed_from=ckpt_path,
                       extras={"stopped_epoch": int(trainer.current_epoch), "world_size": trainer.world_size,
                               "precision": precision})
