"""Training: resume reaches the uninterrupted run's metrics; corrupt checkpoints fall back loudly; DDP ≡ 1 process."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import lightning.pytorch as lp
import numpy as np
import pytest
import torch

from dhs_train.data import DataConfig, StampDataset
from dhs_train.training import TrainConfig, fit, focal_loss, resume_checkpoint

CFG = DataConfig(hard_negative_prob=0.3, core_dropout_prob=0.3, meta_columns=("psfsize_r", "psfdepth_r"))
TRAIN = TrainConfig(width=4, epochs=3, batch_size=8, lr=3e-3, progress_bar=False, checkpoint_every=1, accelerator="cpu")


class _Kill(lp.Callback):
    def on_train_epoch_start(self, trainer: lp.Trainer, pl_module: lp.LightningModule) -> None:
        if trainer.current_epoch == 2:
            raise RuntimeError("simulated kill")


def test_focal_loss_matches_its_formula() -> None:
    logits, y = torch.tensor([2.0, -1.0, 0.3]), torch.tensor([1.0, 0.0, 0.0])
    p = torch.sigmoid(logits)
    pt = torch.where(y == 1, p, 1 - p)
    at = torch.where(y == 1, 0.25, 0.75)
    assert focal_loss(logits, y) == pytest.approx(float((-at * (1 - pt) ** 2 * torch.log(pt)).mean()), rel=1e-6)


def test_resume_after_kill_matches_uninterrupted_run(make_store, tmp_path: Path) -> None:
    torch.set_num_threads(1)
    store = make_store(n_lrg=16, size=32)
    train, val = StampDataset(store, "train", CFG), StampDataset(store, "val", CFG.evaluation())
    full = fit(train, val, TRAIN, tmp_path / "full", resume=False)
    with pytest.raises(RuntimeError, match="simulated kill"):
        fit(train, val, TRAIN, tmp_path / "killed", resume=False, callbacks=[_Kill()])
    assert (tmp_path / "killed" / "last.ckpt").exists()

    # a corrupt last checkpoint falls back, loudly, to the newest good epoch checkpoint
    broken = tmp_path / "broken"
    shutil.copytree(tmp_path / "killed", broken)
    (broken / "last.ckpt").write_bytes(b"not a checkpoint")
    with pytest.warns(RuntimeWarning, match="last.ckpt' is corrupt"):
        assert resume_checkpoint(broken) == broken / "epoch=001.ckpt"

    # a checkpoint of another architecture is refused
    with pytest.raises(ValueError, match="trained as 'resnet18'"):
        fit(train, val, TRAIN.model_copy(update={"architecture": "convnext_tiny"}), tmp_path / "killed")

    resumed = fit(train, val, TRAIN, tmp_path / "killed", resume=True)
    assert resumed.resumed_from == tmp_path / "killed" / "last.ckpt"
    assert list(resumed.history["epoch"]) == [0, 1, 2]
    for col in ("train_loss", "val_loss", "val_auroc"):
        np.testing.assert_allclose(resumed.history[col], full.history[col], rtol=1e-5, err_msg=col)
    for k, v in full.checkpoint["state_dict"].items():
        torch.testing.assert_close(resumed.checkpoint["state_dict"][k], v, rtol=1e-5, atol=1e-6, msg=k)
    assert full.checkpoint["meta"]["architecture"] == "resnet18"
    assert full.checkpoint["meta"]["meta_columns"] == ["psfsize_r", "psfdepth_r"]
    assert len(full.checkpoint["meta"]["store_fingerprint"]) == 64


def test_ddp_two_processes_match_one_process(make_store, tmp_path: Path) -> None:
    store = make_store(n_lrg=32, size=32, part_rows=4)  # 16 train rows = 4 units of 4 pairs
    script = Path(__file__).with_name("ddp_run.py")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    # the same global batch of 16 images (8 pairs): 2 processes x 8 (Lightning DDP, gloo) vs 1 process x 16
    subprocess.run([sys.executable, str(script), str(store), str(tmp_path / "w2.json"), "2", "8"], check=True,
                   env=env, cwd=tmp_path, timeout=300, capture_output=True)
    spec = importlib.util.spec_from_file_location("ddp_run", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.run(str(store), str(tmp_path / "w1.json"), 1, 16)
    out = {w: json.loads((tmp_path / f"w{w}.json").read_text()) for w in (1, 2)}
    for col in ("train_loss", "val_loss", "val_auroc"):
        np.testing.assert_allclose(out[2]["history"][col], out[1]["history"][col], rtol=1e-4, err_msg=col)
    for k, v in out[1]["params"].items():
        assert out[2]["params"][k] == pytest.approx(v, rel=1e-4, abs=1e-5), k


def test_gate_hook_runs_every_n_epochs_and_at_the_last_into_the_history(make_store, tmp_path: Path) -> None:
    from dhs_inject.store import read_store

    torch.set_num_threads(1)
    store = make_store(n_lrg=8, size=32)
    cfg = DataConfig()
    train, val = StampDataset(store, "train", cfg), StampDataset(store, "val", cfg.evaluation())
    stamps = np.stack(read_store(store, "val", ["stamp"])["stamp"])
    calls: list[int] = []

    def gates(score_fn, epoch: int) -> dict:
        p = score_fn(stamps)
        calls.append(epoch)
        return {"mean_score": float(p.mean()), "passed": True, "reason": "text is not a metric"}

    tcfg = TRAIN.model_copy(update={"epochs": 3, "gate_every": 2, "checkpoint_every": 5})
    history = fit(train, val, tcfg, tmp_path / "every2", resume=False, gates=gates).history.set_index("epoch")
    assert calls == [1, 2]  # every 2nd epoch, and the last
    assert np.isnan(history.loc[0, "gate_mean_score"])
    assert history.loc[[1, 2], "gate_mean_score"].between(0, 1).all() and (history.loc[[1, 2], "gate_passed"] == 1.0).all()
    assert "gate_reason" not in history
    fit(train, val, tcfg.model_copy(update={"epochs": 1, "gate_every": 0}), tmp_path / "off", resume=False, gates=gates)
    assert calls == [1, 2]  # gate_every = 0 disables the hook
