"""The ``params:dhs_train`` sections the package types do not cover, as validated types (run-start check).

``dhs_train.data`` and ``dhs_train.train`` are dhs-train's ``DataConfig`` and ``TrainConfig`` (see ``PARAMETERS``
in this package); ``dhs_train.run`` and ``dhs_train.gates`` belong to the project's train node.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["EpochGates", "RunSettings"]

#: gates the train node can evaluate during training; the first two need no model (measured once)
EPOCH_GATES = ("core_lr_auc", "radial_profile_auc", "core_masked_drop", "hardneg_auroc", "centre_masked_drop")


class RunSettings(BaseModel):
    """``params:dhs_train.run``: where Lightning's checkpoints live, resuming, CPU threads."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    checkpoint_dir: str = Field(min_length=1, description="folder of the resumable Lightning checkpoints")
    resume: bool = True
    torch_threads: int = Field(default=1, ge=1)


class EpochGates(BaseModel):
    """``params:dhs_train.gates``: the dhs-gates evaluated every ``dhs_train.train.gate_every`` epochs.

    Attributes
    ----------
    gates : names of dhs-gates functions; ``core_lr_auc`` and ``radial_profile_auc`` look at the model input only
        (measured once, repeated in each evaluation), the others score the model of that epoch.
    split : store split the samples come from (``max_rows`` store rows drawn at random with ``seed``: a paired row
        gives its stamp and its control).
    max_rows : store rows drawn for the gates (bounded memory and time).
    n_splits : folds of the grouped out-of-fold logistic regressions.
    core_masked_radius : radius (pixels) of ``core_masked_drop``.
    fatal : a failed gate stops training with an error (otherwise it is logged as a warning and recorded).
    seed : seed of the gates' sampling and hard negatives.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    gates: tuple[Literal[EPOCH_GATES], ...] = ("core_lr_auc", "core_masked_drop")  # type: ignore[valid-type]
    split: Literal["train", "val", "test"] = "val"
    max_rows: int = Field(default=200, ge=4)
    n_splits: int = Field(default=5, ge=2)
    core_masked_radius: float = Field(default=5.0, gt=0)
    fatal: bool = False
    seed: int = 42
