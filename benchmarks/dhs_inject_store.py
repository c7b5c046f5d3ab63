"""dhs-inject: stamp-store read throughput (tensor vs npz-blob layout) and runner throughput (Dask vs local).

1. Store read: the same rows (real injected stamps of the embedded default, tiled to ``--rows``) written as the
   ``fixed_shape_tensor`` layout and as the legacy ``stamp_npz`` blob layout; timed: the stamp column into one
   ``(N, 3, 64, 64)`` float32 NumPy batch (median of ``--repeats``, and the shortest read), stamps/s, with
   ``read_stamps`` (the batch reader; tensor parts decoded on every core, and with ``threads=1``; npz blobs are
   always decoded in one thread, their fastest: threads slow ``numpy.load``) and with ``read_store`` +
   ``np.stack`` (the row reader).
   With ``--encodings``, the tensor store is also rewritten with other Parquet encodings of the tensor leaves
   (compression none / lz4 / snappy / zstd levels, with and without BYTE_STREAM_SPLIT, smaller row groups) and each
   read through ``read_stamps``, interleaved with a read of the npz layout (ratios from the same moment; the
   shortest of ``--repeats`` reads each, the least disturbed by other load), plus the
   default files read with other ``pyarrow.parquet.read_table`` options (buffered, no pre-buffer, one thread).
2. Runners: the same manifest rendered into a fresh store by ``run_local(workers=2)`` and by ``run_dask`` on a
   ``LocalCluster`` of 2 single-threaded worker processes (cluster start included, then also excluding it),
   rows/s; the two stores are checked identical.

Run: ``.venv/bin/python benchmarks/dhs_inject_store.py`` (uses ``data/01_raw/dhs_survey_synthetic``, written by
``kedro run --pipeline dhs_inject`` or generated here). Prints a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from dhs_inject import store  # noqa: E402
from dhs_inject.kernel import InjectConfig  # noqa: E402
from dhs_inject.manifest import ManifestConfig, build_manifest  # noqa: E402
from dhs_inject.runners import run_dask, run_local  # noqa: E402
from dhs_inject.survey import read_survey, write_embedded_survey  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DHS_SHARED", ROOT.parent / "shared"))
PARENT = SHARED / "data/dhs_upstream/lrg_parent/phase3_lrg_parent_catalog_total_lrg_v3.parquet"


def survey_and_manifest(tmp: Path) -> tuple[object, pd.DataFrame]:
    root = ROOT / "data/01_raw/dhs_survey_synthetic"
    if not root.is_dir():
        root = tmp / "survey"
        write_embedded_survey(root, lrg_catalogue=PARENT, n_bricks=8, lrgs_per_brick=40, seed=0)
    survey = read_survey(root)
    cfg = ManifestConfig(tier="train", grid="prior", replicates=3, control_fraction=0.3,
                         splits={"seed": 29, "guard_deg": 0.25}, arc_noise=True)  # the pipeline's defaults
    return survey, build_manifest(survey.lrgs, survey.bricks, cfg)


def time_read(path: Path, repeats: int, how: str, best: bool = False) -> float:
    """Median (or, with ``best``, the shortest) seconds of ``repeats`` reads of the stamp column into one batch."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        if how == "read_stamps":  # the batch reader (parts decoded on every core)
            batch = store.read_stamps(path)
        elif how == "read_stamps_serial":  # the batch reader on one thread
            batch = store.read_stamps(path, threads=1)
        else:  # the row reader, cells stacked
            batch = np.stack(store.read_store(path, columns=["stamp"])["stamp"].to_list())
        times.append(time.perf_counter() - t)
    assert batch.dtype == np.float32 and batch.ndim == 4
    return min(times) if best else statistics.median(times)


def bench_store(rows: pd.DataFrame, n: int, repeats: int, tmp: Path) -> dict:
    reps = -(-n // len(rows))
    frame = pd.concat([rows] * reps, ignore_index=True).head(n)
    frame["task_id"] = [f"{i:08d}" for i in range(len(frame))]
    frame["split"] = "train"
    out = {"rows": len(frame)}
    for layout in ("tensor", "npz"):
        path = tmp / f"store_{layout}"
        t = time.perf_counter()
        store.write_store(frame, path, part_rows=1024, layout=layout)
        out[f"{layout}_write_s"] = round(time.perf_counter() - t, 3)
        out[f"{layout}_bytes"] = sum(p.stat().st_size for p in store.part_paths(path))
        for how in ("read_stamps", "read_stamps_serial", "read_store"):
            seconds = time_read(path, repeats, how)
            out[f"{layout}_{how}_s"] = round(seconds, 4)
            out[f"{layout}_{how}_stamps_per_s"] = round(len(frame) / seconds)
            out[f"{layout}_{how}_best_stamps_per_s"] = round(len(frame) / time_read(path, repeats, how, best=True))
    for how in ("read_stamps", "read_stamps_serial", "read_store"):
        out[f"speedup_{how}"] = round(out[f"tensor_{how}_stamps_per_s"] / out[f"npz_{how}_stamps_per_s"], 1)
        out[f"speedup_{how}_best"] = round(
            out[f"tensor_{how}_best_stamps_per_s"] / out[f"npz_{how}_best_stamps_per_s"], 1)
    return out


#: tensor-leaf encodings compared by ``--encodings``: (compression, level, byte-stream-split, row-group rows)
ENCODINGS = {
    "lz4 + BSS (default)": ("lz4", None, True, None), "none": ("none", None, False, None),
    "none + BSS": ("none", None, True, None), "lz4": ("lz4", None, False, None),
    "snappy + BSS": ("snappy", None, True, None), "zstd-1 + BSS": ("zstd", 1, True, None),
    "zstd-3 + BSS": ("zstd", 3, True, None), "zstd-9 + BSS": ("zstd", 9, True, None),
    "lz4 + BSS, 256-row groups": ("lz4", None, True, 256),
}


def bench_encodings(tmp: Path, repeats: int) -> list[dict]:
    """Rewrite the tensor store of :func:`bench_store` with each of :data:`ENCODINGS`; read through ``read_stamps``."""
    src, npz = tmp / "store_tensor", tmp / "store_npz"
    parts = store.part_paths(src)
    n = sum(pq.ParquetFile(p).metadata.num_rows for p in parts)
    out = []
    for name, (codec, level, bss, group_rows) in ENCODINGS.items():
        root = tmp / f"enc_{len(out)}"
        for part in parts:
            table = pq.read_table(part)
            leaves = [f"{c}.list.element" for c in store.TENSOR_COLUMNS if c in table.column_names]
            folder = root / part.parent.name
            folder.mkdir(parents=True, exist_ok=True)
            codecs = dict.fromkeys(table.column_names, "zstd") | dict.fromkeys(leaves, codec)
            pq.write_table(table, folder / part.name, compression=codecs,
                           compression_level=dict.fromkeys(leaves, level) if level else None, use_dictionary=False,
                           write_statistics=False, data_page_size=1 << 20, row_group_size=group_rows,
                           column_encoding=dict.fromkeys(leaves, "BYTE_STREAM_SPLIT") if bss else None)
        tensor_s, npz_s = [], []
        for _ in range(repeats):  # interleaved; the shortest read of each (least disturbed by other load)
            tensor_s.append(time_read(root, 1, "read_stamps"))
            npz_s.append(time_read(npz, 1, "read_stamps"))
        rate, npz_rate = n / min(tensor_s), n / min(npz_s)
        out.append({"encoding": name, "MB": round(sum(p.stat().st_size for p in store.part_paths(root)) / 1e6),
                    "read_stamps_per_s": round(rate), "npz_per_s": round(npz_rate), "ratio": round(rate / npz_rate, 1)})
        shutil.rmtree(root)
    for name, options in {"read_table, buffered (no memory map)": {}, "read_table, memory map, no pre-buffer":
                          {"memory_map": True, "pre_buffer": False}, "read_table, memory map, 1 thread":
                          {"memory_map": True, "use_threads": False}}.items():
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            for part in parts:
                pq.read_table(part, columns=["stamp"], **options)["stamp"].chunks[0].to_numpy_ndarray()
            times.append(time.perf_counter() - t)
        out.append({"encoding": f"default files, {name}", "read_stamps_per_s": round(n / min(times))})
    return out


def bench_runners(survey, manifest: pd.DataFrame, tmp: Path, part_rows: int) -> dict:
    cfg = InjectConfig()
    t = time.perf_counter()
    run_local(manifest, tmp / "local", cfg=cfg, bricks=survey.root, workers=2, part_rows=part_rows, progress=False)
    local_s = time.perf_counter() - t
    from dask.distributed import Client, LocalCluster

    t = time.perf_counter()
    run_dask(manifest, tmp / "dask", cfg=cfg, bricks=survey.root, n_workers=2, part_rows=part_rows, progress=False)
    dask_s = time.perf_counter() - t
    t = time.perf_counter()
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    start_s = time.perf_counter() - t
    cluster.close()
    a = store.read_store(tmp / "local").sort_values("task_id").reset_index(drop=True)
    b = store.read_store(tmp / "dask").sort_values("task_id").reset_index(drop=True)
    same = all(np.array_equal(x, y) for x, y in zip(a["stamp"], b["stamp"], strict=True))
    n = len(manifest)
    return {"rows": n, "part_rows": part_rows, "local_s": round(local_s, 2), "dask_s": round(dask_s, 2),
            "local_rows_per_s": round(n / local_s, 1), "dask_rows_per_s": round(n / dask_s, 1),
            "dask_cluster_start_s": round(start_s, 2),
            "dask_rows_per_s_excl_start": round(n / max(dask_s - start_s, 1e-9), 1),
            "dask_over_local": round(local_s / dask_s, 2), "identical_stamps": same}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=4000, help="rows of the read benchmark")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--part-rows", type=int, default=64, help="rows per part in the runner benchmark")
    parser.add_argument("--only", choices=["store", "runners"], help="run one of the two benchmarks")
    parser.add_argument("--encodings", action="store_true", help="also compare tensor-leaf encodings")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="dhs_inject_bench_"))
    try:
        survey, manifest = survey_and_manifest(tmp)
        run_local(manifest.head(256), tmp / "sample", cfg=InjectConfig(), bricks=survey.root, workers=2,
                  part_rows=64, progress=False)  # real stamps for the read benchmark
        rows = store.read_store(tmp / "sample").drop(columns="split")
        result = {"load_average_start": os.getloadavg()}
        if args.only in (None, "store"):
            result["store_read"] = bench_store(rows, args.rows, args.repeats, tmp)
            if args.encodings:
                result["encodings"] = bench_encodings(tmp, args.repeats)
        if args.only in (None, "runners"):
            result["runners"] = bench_runners(survey, manifest, tmp, args.part_rows)
        result["load_average_end"] = os.getloadavg()
        print(json.dumps(result, indent=2))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
