"""What the train node hands to ``dhs_train.training.fit``: a per-epoch MLflow logger and the gate hook.

Imported by the node when it runs (it loads lightning, mlflow and dhs-gates), so listing pipelines stays fast.

:class:`MlflowEpochMetrics`
    a Lightning callback logging each epoch's history row (train loss, val loss, val AUROC, the extended
    validation metrics, the learning rate and the gate values) to the active MLflow run as
    ``dhs_train.epoch.<column>`` with ``step = epoch``; nothing without an active run (kedro-mlflow opens it).
    The ``.epoch.`` infix keeps these keys apart from the report node's final ``dhs_train.*`` metrics.
:func:`epoch_gates`
    the ``gates(score_fn, epoch)`` hook of ``fit``, built from dhs-gates' public functions on a few store rows.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import lightning.pytorch as lp
import numpy as np

from .params import EpochGates

log = logging.getLogger(__name__)

__all__ = ["EpochGateFailure", "MlflowEpochMetrics", "epoch_gates"]

PREFIX = "dhs_train.epoch"


class EpochGateFailure(RuntimeError):
    """A gate evaluated during training failed and ``dhs_train.gates.fatal`` is true."""


class MlflowEpochMetrics(lp.Callback):
    """Log each epoch's history row to the active MLflow run, ``step = epoch`` (rank 0 only).

    A row is logged when its epoch ends; rows restored from a checkpoint (a resumed run) are logged when
    training ends, so every run that trained holds the whole curve.
    """

    def __init__(self, prefix: str = PREFIX) -> None:
        self.prefix = prefix
        self.logged: set[int] = set()

    def _log(self, trainer: lp.Trainer, history: list[dict[str, float]] | None, epochs: set[int]) -> None:
        import mlflow

        if mlflow.active_run() is None or trainer.global_rank != 0:
            return
        for row in history or []:
            epoch = int(row["epoch"])
            if epoch in epochs and epoch not in self.logged:
                mlflow.log_metrics({f"{self.prefix}.{k}": float(v) for k, v in row.items()
                                    if k != "epoch" and isinstance(v, int | float) and math.isfinite(v)}, step=epoch)
                self.logged.add(epoch)

    def on_train_epoch_end(self, trainer: lp.Trainer, pl_module: lp.LightningModule) -> None:
        self._log(trainer, getattr(pl_module, "history", None), {trainer.current_epoch})

    def on_fit_end(self, trainer: lp.Trainer, pl_module: lp.LightningModule) -> None:
        history = getattr(pl_module, "history", None) or []
        self._log(trainer, history, {int(row["epoch"]) for row in history})


def _sampled_rows(store: Path, split: str, max_rows: int, seed: int) -> Any:
    """``max_rows`` rows of ``split`` drawn uniformly without replacement (seeded), in store order.

    The store is sorted by brick, so its first rows would come from a few sky patches. The rows are counted from the
    ``task_id`` column, then the stamps streamed and only the drawn rows kept (bounded memory for any store size).
    """
    import pandas as pd
    from dhs_inject.store import iter_store_batches, read_store

    n_rows = len(read_store(store, split, columns=["task_id"]))
    if n_rows == 0:
        raise ValueError(f"dhs_train.gates: split '{split}' of the stamp store '{store}' has no rows")
    drawn = np.sort(np.random.default_rng(seed).choice(n_rows, size=min(max_rows, n_rows), replace=False))
    columns = ["task_id", "lrg_id", "label", "stamp", "ctrl_stamp"]
    frames, start = [], 0
    for batch in iter_store_batches(store, split, columns, batch_rows=max(max_rows, 256)):
        inside = drawn[(drawn >= start) & (drawn < start + len(batch))] - start
        if len(inside):
            frames.append(batch.iloc[inside])
        start += len(batch)
    return pd.concat(frames, ignore_index=True)


def epoch_gates(store: str | Path, preprocess: str, preprocess_options: Mapping[str, Any],
                settings: EpochGates) -> Callable[[Callable[..., np.ndarray], int], dict[str, float]]:
    """The gate hook: ``gates(score_fn, epoch) -> {"<gate>": value, "<gate>_passed": 0/1}``.

    Samples: :func:`dhs_gates.gate_inputs` of ``settings.max_rows`` rows of ``settings.split`` drawn at random
    (:func:`_sampled_rows`, seeded by ``settings.seed``).
    The model-free gates (``core_lr_auc``, ``radial_profile_auc``: the run's preprocessing of the stamps) are
    measured here, once; the model gates are measured at each call with that epoch's ``score_fn``. A failed gate
    is logged as a warning, or raises :class:`EpochGateFailure` when ``settings.fatal``; a gate that cannot run
    is logged with its reason and left out.
    """
    import dhs_gates
    from dhs_train.augment import hard_negative

    data = dhs_gates.gate_inputs(_sampled_rows(Path(store), settings.split, settings.max_rows, settings.seed),
                                 seed=settings.seed)
    cv = {"groups": data.groups, "n_splits": settings.n_splits, "seed": settings.seed,
          "preprocess": preprocess, "preprocess_options": dict(preprocess_options)}
    fixed = [getattr(dhs_gates, name)(data.stamps, data.labels, **cv)
             for name in settings.gates if name in ("core_lr_auc", "radial_profile_auc")]
    rng = np.random.default_rng(settings.seed)
    hard = hard_negative(data.pair_stamps, data.pair_ctrls, rng) if "hardneg_auroc" in settings.gates else None
    n, seed = len(data.stamps), settings.seed
    model_gates = {
        "core_masked_drop": lambda s: dhs_gates.core_masked_drop(s, data.stamps, data.labels, max_rows=n, seed=seed,
                                                                 radius=settings.core_masked_radius),
        "hardneg_auroc": lambda s: dhs_gates.hardneg_auroc(s, data.pair_stamps, hard, max_rows=n, seed=seed),
        "centre_masked_drop": lambda s: dhs_gates.centre_masked_drop(s, data.positives, max_rows=n, seed=seed),
    }

    def gates(score_fn: Callable[..., np.ndarray], epoch: int) -> dict[str, float]:
        results = fixed + [model_gates[name](score_fn) for name in settings.gates if name in model_gates]
        out: dict[str, float] = {}
        for r in results:
            if r.status == "not run":
                log.warning("epoch %d: gate %s not run: %s", epoch, r.name, r.reason)
                continue
            out[r.name], out[f"{r.name}_passed"] = float(r.value), float(bool(r.passed))
        failed = [f"{r.name} = {r.value:.3f} (pass: {r.direction} {r.threshold})" for r in results if r.status == "failed"]
        if failed:
            message = f"epoch {epoch}: gate(s) failed: {'; '.join(failed)}"
            if settings.fatal:
                raise EpochGateFailure(message + " (dhs_train.gates.fatal is true)")
            log.warning(message)
        return out

    return gates
