"""Scoring: store, pandas batches (also under Dask), real cutouts; a mismatched architecture is refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from dhs_inject.store import iter_store_batches

from dhs_train.data import DataConfig, StampDataset
from dhs_train.models import build_model
from dhs_train.scoring import load_classifier, read_cutout_folder, score_batches, score_cutouts, score_store
from dhs_train.training import TrainConfig, fit

CUTOUTS = Path(__file__).resolve().parents[4] / "shared" / "data" / "dhs_upstream" / "cutouts"


def test_scoring_paths_agree_and_refuse_other_architectures(make_store, tmp_path: Path) -> None:
    torch.set_num_threads(1)
    store = make_store(n_lrg=16, size=32)
    cfg = DataConfig()
    res = fit(StampDataset(store, "train", cfg), StampDataset(store, "val", cfg.evaluation()),
              TrainConfig(width=2, epochs=1, batch_size=8, progress_bar=False, accelerator="cpu"), tmp_path / "ck")
    ckpt = res.checkpoint
    assert ckpt["meta"]["image_shape"] == [3, 32, 32]

    scores = score_store(ckpt, store, "test", out_path=tmp_path / "s.parquet")
    assert len(scores) == 2 * 4 and set(scores["image"]) == {"stamp", "ctrl_stamp"}
    assert scores.equals(pd.read_parquet(tmp_path / "s.parquet"))
    assert (scores["label"] == (scores["image"] == "stamp")).all() and scores["score"].between(0, 1).all()

    # the same kernel over pandas batches, and under Dask (as dhs-inject's runner / Spark mapInPandas use it)
    batches = list(iter_store_batches(store, "test", ["task_id", "stamp", "ctrl_stamp"], batch_rows=3))
    direct = pd.concat(score_batches(batches, ckpt, images=("stamp", "ctrl_stamp")))
    import dask

    parts = dask.compute(*[dask.delayed(lambda b: pd.concat(score_batches([b], ckpt, images=("stamp", "ctrl_stamp"))))(b)
                           for b in batches], scheduler="threads")
    pd.testing.assert_frame_equal(pd.concat(parts).reset_index(drop=True), direct.reset_index(drop=True))
    by_id = scores.set_index(["task_id", "image"])["score"]
    np.testing.assert_allclose(direct.set_index(["task_id", "image"])["score"].loc[by_id.index], by_id, rtol=1e-6)

    with pytest.raises(ValueError, match="holds a 'resnet18' model; refusing to score it as 'convnext_tiny'"):
        load_classifier(ckpt, "convnext_tiny")
    foreign = {"state_dict": build_model("convnext_tiny", width=2).state_dict(), "meta": ckpt["meta"]}
    with pytest.raises(ValueError, match="weights do not fit a 'resnet18' model"):
        score_store(foreign, store, "test")
    with pytest.raises(ValueError, match="not a dhs-train checkpoint"):
        load_classifier({"state_dict": {}, "meta": {}})

    if CUTOUTS.is_dir():  # the six real DR10 cutouts (101x101 -> centre 32x32 for this model)
        cut = score_cutouts(ckpt, read_cutout_folder(CUTOUTS))
        assert len(cut) == 6 and cut["score"].between(0, 1).all() and "image" not in cut
    bad = pd.DataFrame({"file": ["tiny.npz"], "image": [np.zeros((3, 16, 16), np.float32)]})
    with pytest.raises(ValueError, match="cutout 'tiny.npz'"):
        score_cutouts(ckpt, bad)
