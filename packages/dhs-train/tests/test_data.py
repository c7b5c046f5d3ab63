"""Datasets over the store: pairing, LRG-disjoint matching, filters, sharding, layouts, and named bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import torch
from dhs_inject.store import StoreError, part_paths, read_row_group, read_store
from torch.utils.data import DataLoader

from dhs_train import data as dmod
from dhs_train import preprocess
from dhs_train.data import DataConfig, StampDataset

PLAIN = DataConfig(dihedral=False, shuffle=False)


def _items(ds, **loader) -> list[tuple[torch.Tensor, ...]]:
    return [tuple(t for t in b) for b in DataLoader(ds, batch_size=1000, **loader)]


def test_paired_rows_yield_stamp_then_control_preprocessed(synthetic, make_store) -> None:
    rows = synthetic(n_lrg=8, size=32)
    store = make_store(frame=rows)
    ds = StampDataset(store, "train", PLAIN)
    x, y, meta, strata = _items(ds)[0]
    assert y.tolist() == [1.0, 0.0] * 4 and meta.shape == (8, 0)
    first = ds.entries.iloc[0]
    row = rows.set_index("task_id").loc[first["task_id"]]
    both = preprocess(np.stack([row["stamp"], row["ctrl_stamp"]]), "raw_robust")
    np.testing.assert_allclose(x[:2].numpy(), both, rtol=1e-6)
    assert strata[0, 0] == pytest.approx(row["theta_e_over_psf"]) and torch.isnan(strata[1]).all()


def test_filters_and_layouts(synthetic, make_store) -> None:
    rows = synthetic(n_lrg=16, size=32)
    rows.loc[0, "cutout_ok"] = False
    tensor, npz = make_store("t", frame=rows), make_store("n", frame=rows, layout="npz")
    a, b = StampDataset(tensor, "train", PLAIN), StampDataset(npz, "train", PLAIN)
    assert len(a.entries) == 7  # 8 train rows, one with cutout_ok False
    torch.testing.assert_close(_items(a)[0][0], _items(b)[0][0])
    cut = StampDataset(tensor, "train", PLAIN.model_copy(update={"min_theta_e_over_psf": 1.5}))
    assert (cut.entries["theta_e_over_psf"] >= 1.5).all() and len(cut.entries) < 7


def test_shards_partition_the_entries_with_equal_counts(synthetic, make_store, monkeypatch: pytest.MonkeyPatch) -> None:
    store = make_store(n_lrg=32, size=16, part_rows=2)
    ds = StampDataset(store, "train", DataConfig(hard_negative_prob=0.5))
    ds.set_epoch(3)
    seen = {}
    for rank in (0, 1):
        monkeypatch.setattr(dmod, "_shard", lambda r=rank: (r, 2, 0, 1))
        seen[rank] = [tuple(np.round(x.numpy().ravel()[:6], 4)) for x, *_ in ds]
    monkeypatch.undo()
    single = [tuple(np.round(x.numpy().ravel()[:6], 4)) for x, *_ in ds]
    assert len(seen[0]) == len(seen[1]) == len(single) // 2
    assert sorted(seen[0] + seen[1]) == sorted(single)
    # DataLoader workers shard the same way and draw the same augmentations
    workers = [tuple(np.round(x.ravel()[:6], 4)) for b in DataLoader(ds, batch_size=4, num_workers=2) for x in b[0].numpy()]
    assert sorted(workers) == sorted(single)


def test_unpaired_is_lrg_disjoint_and_cell_matched(synthetic, make_store) -> None:
    rows = synthetic(n_lrg=48, size=16, replicates=2)
    store = make_store(frame=rows)
    cfg = DataConfig(mode="unpaired", match_bins=2, hard_negative_prob=0.5, preprocess="residual_radial_profile")
    ds = StampDataset(store, "train", cfg)
    e = ds.entries
    pos, neg = e[e["label"] == 1], e[e["label"] == 0]
    assert set(pos["lrg_id"]).isdisjoint(neg["lrg_id"]) and (neg["kind"] == "ctrl_stamp").all()
    cells = dmod._quantile_cells(e[list(cfg.match_columns)], pos[list(cfg.match_columns)], 2)
    matched = cells[neg.index].value_counts()
    assert (matched == cells[pos.index].value_counts()[matched.index]).all()
    x, y, _, _ = _items(ds)[0]
    assert len(y) > len(e) and (y == 1).sum() == len(pos)  # hard negatives added as label 0


def test_bad_input_names_the_culprit(synthetic, make_store, tmp_path) -> None:
    rows = synthetic(n_lrg=8, size=16)
    rows.loc[rows["split"] == "val", "label"] = np.int8(0)
    rows.loc[rows["split"] == "val", "pairing"] = "unpaired"
    store = make_store("nopos", frame=rows)
    with pytest.raises(ValueError, match="split 'val': no positives"):
        StampDataset(store, "val", PLAIN)
    with pytest.raises(ValueError, match="split 'val': no positives in the positive-LRG half"):
        StampDataset(store, "val", PLAIN.model_copy(update={"mode": "unpaired"}))
    ok = synthetic(n_lrg=8, size=16)
    with pytest.raises(ValueError, match="no negatives"):
        StampDataset(make_store("noneg", frame=ok.drop(columns="ctrl_stamp").assign(pairing="unpaired")), "train",
                     PLAIN.model_copy(update={"mode": "unpaired"}))

    nan = synthetic(n_lrg=8, size=16)
    bad_id = nan.loc[nan["split"] == "train", "task_id"].iloc[1]
    nan.loc[nan["task_id"] == bad_id, "stamp"].iloc[0][1, 3, 3] = np.nan
    with pytest.raises(ValueError, match=rf"task_id {bad_id}\) column 'stamp': non-finite"):
        _items(StampDataset(make_store("nan", frame=nan), "train", PLAIN))

    store = make_store("corrupt", frame=synthetic(n_lrg=8, size=16), layout="npz", part_rows=8)
    part = part_paths(store, "train")[0]
    table = pq.read_table(part)
    blobs = table["stamp_npz"].to_pylist()
    blobs[2] = b"PK\x03\x04 definitely not a zip"
    import pyarrow as pa

    pq.write_table(table.set_column(table.schema.get_field_index("stamp_npz"), "stamp_npz", pa.array(blobs, pa.binary())), part)
    with pytest.raises(StoreError, match=r"row group 0 column 'stamp_npz' row 2"):
        _items(StampDataset(store, "train", PLAIN))
    with pytest.raises(ValueError, match="clip"):
        DataConfig(preprocess_options={"clip": -1})
    assert pd.api.types.is_float_dtype(StampDataset(store, "val", PLAIN).entries["theta_e_over_psf"])


@pytest.mark.parametrize("layout", ["tensor", "npz"])
def test_row_groups_read_back_the_split_in_store_order(make_store, layout: str) -> None:
    store = make_store(f"rg_{layout}", n_lrg=8, size=16, part_rows=2, layout=layout)
    whole = read_store(store, "train", ["task_id", "stamp"])
    parts = part_paths(store, "train")
    groups = [read_row_group(p, g, ["task_id", "stamp"]) for p in parts for g in range(pq.ParquetFile(p).num_row_groups)]
    got = pd.concat(groups, ignore_index=True)
    assert len(groups) >= 2 and got["task_id"].tolist() == whole["task_id"].tolist() and set(got["split"]) == {"train"}
    np.testing.assert_array_equal(np.stack(got["stamp"]), np.stack(whole["stamp"]))
    with pytest.raises(StoreError, match=rf"'{parts[0]}' has 1 row group\(s\); no row group 1"):
        read_row_group(parts[0], 1)
    with pytest.raises(StoreError, match="column 'nope' not in"):
        read_row_group(parts[0], 0, ["nope"])
