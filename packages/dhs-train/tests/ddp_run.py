"""Run by test_training.py as a script (Lightning's DDP launcher re-executes it per rank).

Usage: python ddp_run.py STORE OUT_JSON WORLD BATCH
"""

import json
import os
import sys

import torch

from dhs_train.data import DataConfig, StampDataset
from dhs_train.training import TrainConfig, fit


def run(store: str, out: str, world: int, batch: int) -> None:
    torch.set_num_threads(1)
    cfg = DataConfig(hard_negative_prob=0.5, core_dropout_prob=0.5)
    ddp = dict(strategy="ddp", devices=world) if world > 1 else {}
    # ConvNeXt (LayerNorm, no BatchNorm: SyncBatchNorm is GPU-only), no dropout / stochastic depth, so that
    # the only difference between the runs is how the global batch is spread over processes
    train = TrainConfig(architecture="convnext_tiny", stem="stamp", width=4, dropout=0.0, drop_path=0.0, epochs=2, batch_size=batch, lr=3e-3, progress_bar=False,
                        accelerator="cpu", **ddp)
    res = fit(StampDataset(store, "train", cfg), StampDataset(store, "val", cfg.evaluation()), train, out + ".ckpt",
              resume=False)
    if int(os.environ.get("LOCAL_RANK", "0")) == 0:
        params = {k: v.double().sum().item() for k, v in res.checkpoint["state_dict"].items() if v.is_floating_point()}
        json.dump({"history": res.history.to_dict("list"), "params": params}, open(out, "w"))


if __name__ == "__main__":
    run(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
