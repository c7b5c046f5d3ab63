"""The tensor columns' write encoding (BYTE_STREAM_SPLIT + lz4) and stores written with another encoding."""

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from dhs_inject import store


def _rows(n: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"task_id": [f"{i:04x}" for i in range(n)], "split": "train", "label": np.int8(1)})
    frame["stamp"] = [rng.normal(size=(3, 8, 8)).astype(np.float32) for _ in range(n)]
    return frame


def test_tensor_leaves_are_written_byte_stream_split_lz4(tmp_path: Path) -> None:
    (part,) = store.write_store(_rows(), tmp_path)
    group = pq.ParquetFile(part).metadata.row_group(0)
    columns = [group.column(i) for i in range(group.num_columns)]
    (stamp,) = [c for c in columns if c.path_in_schema.startswith("stamp.")]
    assert stamp.compression.startswith("LZ4") and "BYTE_STREAM_SPLIT" in stamp.encodings


def test_stores_written_with_zstd_read_the_same(tmp_path: Path) -> None:
    """Stores written before the encoding change (zstd tensor leaves) read unchanged through every reader."""
    rows = _rows()
    (part,) = store.write_store(rows, tmp_path / "new")
    old = tmp_path / "old" / part.parent.name / part.name
    old.parent.mkdir(parents=True)
    pq.write_table(pq.read_table(part), old, compression="zstd",
                   column_encoding={"stamp.list.element": "BYTE_STREAM_SPLIT"}, use_dictionary=["task_id"])
    group = pq.ParquetFile(old).metadata.row_group(0)
    assert {group.column(i).compression for i in range(group.num_columns)} == {"ZSTD"}
    expected = np.stack(rows["stamp"].to_list())
    np.testing.assert_array_equal(store.read_stamps(tmp_path / "old"), expected)
    np.testing.assert_array_equal(np.stack(store.read_store(tmp_path / "old")["stamp"].to_list()), expected)
    batches = list(store.iter_store_batches(tmp_path / "old"))
    np.testing.assert_array_equal(np.stack(batches[0]["stamp"].to_list()), expected)
