"""The gates evaluated during training sample their validation rows at random (seeded), not the store's first rows."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from dhs_inject import store

from dark_halo_scope.pipelines.dhs_train.callbacks import _sampled_rows


def _store(root: Path, n: int = 40) -> list[str]:
    rng = np.random.default_rng(0)
    ids = [f"{i:04d}" for i in range(n)]
    frame = pd.DataFrame({"task_id": ids, "split": "val", "lrg_id": [f"lrg{i // 2}" for i in range(n)],
                          "label": np.int8(np.arange(n) % 2)})  # fmt: skip
    frame["stamp"] = [rng.normal(size=(3, 4, 4)).astype(np.float32) for _ in range(n)]
    frame["ctrl_stamp"] = [None] * n
    store.write_store(frame, root, part_rows=7)  # several parts: the draw spans them
    return list(store.read_store(root, "val", columns=["task_id"])["task_id"])


def test_rows_are_drawn_across_the_store_reproducibly(tmp_path: Path) -> None:
    order = _store(tmp_path)
    first = _sampled_rows(tmp_path, "val", 10, seed=3)
    assert len(first) == 10 and first["task_id"].is_unique
    assert list(first["task_id"]) == [t for t in order if t in set(first["task_id"])]  # store order kept
    assert list(first["task_id"]) != order[:10]  # not the first rows
    assert max(order.index(t) for t in first["task_id"]) >= 20  # reaches past the first half
    assert list(_sampled_rows(tmp_path, "val", 10, seed=3)["task_id"]) == list(first["task_id"])
    assert list(_sampled_rows(tmp_path, "val", 10, seed=4)["task_id"]) != list(first["task_id"])
    assert len(_sampled_rows(tmp_path, "val", 100, seed=3)) == len(order)  # all rows when asked for more
    assert first["stamp"].iloc[0].shape == (3, 4, 4)


def test_an_empty_split_is_named(tmp_path: Path) -> None:
    _store(tmp_path)
    (tmp_path / "split=test").mkdir()
    with pytest.raises(ValueError, match="split 'test' of the stamp store .* has no rows"):
        _sampled_rows(tmp_path, "test", 10, seed=0)
