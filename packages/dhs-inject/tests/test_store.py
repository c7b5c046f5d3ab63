"""The stamp store: tensor and legacy npz layouts, streaming, atomic parts, errors naming the culprit."""

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from dhs_inject import store


def _rows(n: int = 7, shape: tuple[int, int, int] = (3, 6, 6)) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({
        "task_id": [f"{i:04x}" for i in range(n)],
        "split": (["train", "val", "test"] * n)[:n],
        "label": np.int8(np.arange(n) % 2),
        "lens_theta_E": rng.uniform(0.5, 2, n),
    })  # fmt: skip
    frame["stamp"] = [rng.normal(size=shape).astype(np.float32) for _ in range(n)]
    frame["ctrl_stamp"] = [rng.normal(size=shape).astype(np.float32) if i % 2 else None for i in range(n)]
    frame["invvar"] = [rng.uniform(1, 2, shape).astype(np.float32) for _ in range(n)]
    return frame


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    b = b.set_index("task_id").loc[a["task_id"]].reset_index()
    assert list(b["split"].astype(str)) == list(a["split"])
    assert np.allclose(b["lens_theta_E"], a["lens_theta_E"])
    for col in store.TENSOR_COLUMNS:
        for x, y in zip(a[col], b[col], strict=True):
            assert (x is None and y is None) or (y.dtype == np.float32 and np.array_equal(x, y))


@pytest.mark.parametrize("layout", ["tensor", "npz"])
def test_round_trip_both_layouts(tmp_path: Path, layout: str) -> None:
    rows = _rows()
    paths = store.write_store(rows, tmp_path, part_rows=2, layout=layout)
    assert sorted(p.parent.name for p in paths) == ["split=test", "split=train", "split=train", "split=val"]
    assert not list(tmp_path.rglob(".*"))  # no temp files left
    _same(rows, store.read_store(tmp_path))
    _same(rows[rows.split == "val"].reset_index(drop=True), store.read_store(tmp_path, split="val"))
    streamed = pd.concat(list(store.iter_store_batches(tmp_path, batch_rows=1)), ignore_index=True)
    _same(rows, streamed)
    frame = store.read_store(tmp_path)
    for col in store.TENSOR_COLUMNS:  # the batch reader: same rows, same order, missing cells all-NaN
        batch = store.read_stamps(tmp_path, column=col)
        assert batch.shape == (len(rows), 3, 6, 6) and batch.dtype == np.float32
        for cell, got in zip(frame[col], batch, strict=True):
            assert np.isnan(got).all() if cell is None else np.array_equal(cell, got)
    narrow = store.read_store(tmp_path, columns=["task_id", "stamp"])
    assert list(narrow.columns) == ["split", "task_id", "stamp"] and narrow["stamp"][0].shape == (3, 6, 6)


def test_parallel_reads_equal_serial_reads_in_order(tmp_path: Path) -> None:
    """Parts decoded on threads land in read_store order; a store mixing layouts is read row by row."""
    rows = _rows(n=11)
    store.write_store(rows, tmp_path / "t", part_rows=2)
    for col in store.TENSOR_COLUMNS:
        serial = store.read_stamps(tmp_path / "t", column=col, threads=1)
        np.testing.assert_array_equal(store.read_stamps(tmp_path / "t", column=col, threads=4), serial)
        assert serial.flags.writeable  # assembled from several parts into one batch
    for a, b in zip(store.read_store(tmp_path / "t", threads=1)["stamp"], store.read_store(tmp_path / "t")["stamp"],
                    strict=True):  # fmt: skip
        np.testing.assert_array_equal(a, b)
    mixed = tmp_path / "mixed"
    store.write_store(rows.iloc[:5], mixed, part_rows=2)
    store.write_store(rows.iloc[5:], mixed, part_rows=2, layout="npz")
    expected = np.stack(store.read_store(mixed)["stamp"].to_list())
    np.testing.assert_array_equal(store.read_stamps(mixed), expected)


def test_parts_of_different_stamp_shapes_are_refused_by_name(tmp_path: Path) -> None:
    store.write_store(_rows(n=3), tmp_path, part_rows=3)
    other = _rows(n=3, shape=(3, 8, 8))
    other["task_id"] = ["x1", "x2", "x3"]
    store.write_store(other, tmp_path, part_rows=3)
    with pytest.raises(store.StoreError, match=r"part-[0-9a-f]+\.parquet' column 'stamp': cells of shape"):
        store.read_stamps(tmp_path, split="train")


def test_tensor_layout_is_canonical_zero_copy_and_documented(tmp_path: Path) -> None:
    rows = _rows()
    store.write_store(rows, tmp_path)
    schema = pq.read_schema(store.part_paths(tmp_path)[0])
    assert schema.field("stamp").type == pa.fixed_shape_tensor(pa.float32(), (3, 6, 6))
    assert schema.field("stamp").metadata[b"unit"] == b"nanomaggy/pixel"
    assert schema.field("invvar").metadata[b"unit"] == b"nanomaggy^-2"
    assert schema.field("lens_theta_E").metadata[b"unit"] == b"arcsec"
    assert "split" not in schema.names  # hive partition key
    table = ds.dataset(tmp_path, format="parquet", partitioning="hive").to_table()  # any Arrow tool reads it
    assert table.num_rows == len(rows) and set(table["split"].to_pylist()) == {"train", "val", "test"}
    cell = store.read_store(tmp_path)["stamp"][0]
    assert not cell.flags.writeable and not cell.flags.owndata  # a view of the Arrow buffer


def test_part_names_hash_the_rows_not_their_order() -> None:
    assert store.part_name(["b", "a"]) == store.part_name(["a", "b"])
    assert store.part_name(["a", "b"]) != store.part_name(["a", "b"], salt="cfg2")
    assert store.part_name(["a", "b"]) != store.part_name(["a", "c"])


def test_corrupt_part_error_names_the_file(tmp_path: Path) -> None:
    store.write_store(_rows(), tmp_path)
    victim = store.part_paths(tmp_path, "val")[0]
    victim.write_bytes(victim.read_bytes()[:100])
    with pytest.raises(store.StoreError, match=victim.name):
        store.read_store(tmp_path)
    with pytest.raises(store.StoreError, match=victim.name):
        list(store.iter_store_batches(tmp_path, split="val"))
    assert len(store.read_store(tmp_path, split="train")) == 3  # the others still read


def test_bad_input_errors(tmp_path: Path) -> None:
    rows = _rows()
    dup = pd.concat([rows, rows.iloc[[2]]], ignore_index=True)
    with pytest.raises(store.StoreError, match="duplicate task_id: 0002"):
        store.write_store(dup, tmp_path)
    with pytest.raises(store.StoreError, match="unknown"):
        store.read_store(tmp_path.parent, split="holdout")
    with pytest.raises(store.StoreError, match="does not exist"):
        store.read_store(tmp_path / "nowhere")
    store.write_store(rows, tmp_path)
    with pytest.raises(store.StoreError, match="column 'nope'"):
        store.read_store(tmp_path, columns=["nope"])
