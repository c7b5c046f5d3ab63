"""Figures of a training run (matplotlib, object API: no global pyplot state)."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

__all__ = ["training_curves"]


def training_curves(history: pd.DataFrame) -> Figure:
    """Loss (train, val) and validation AUROC per epoch, from :func:`dhs_train.training.fit`'s history."""
    fig = Figure(figsize=(8, 3.2))
    ax_loss, ax_auc = fig.subplots(1, 2)
    ax_loss.plot(history["epoch"], history["train_loss"], "o-", label="train")
    ax_loss.plot(history["epoch"], history["val_loss"], "s-", label="validation")
    ax_loss.set(xlabel="epoch", ylabel="loss", title="loss")
    ax_loss.legend()
    ax_auc.plot(history["epoch"], history["val_auroc"], "o-", color="C2")
    ax_auc.set(xlabel="epoch", ylabel="AUROC", title="validation AUROC", ylim=(0.4, 1.01))
    fig.tight_layout()
    return fig
