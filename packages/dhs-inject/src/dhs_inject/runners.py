"""Runners: the kernel over a whole manifest, into a stamp store, locally (processes), on Dask, or on Spark.

The unit of work is a **part**: the manifest is sorted by ``(split, brickname, task_id)`` and cut into chunks of
``part_rows`` rows per split (:func:`plan_parts`); each part is rendered by
:func:`dhs_inject.kernel.inject_frame` in one call and written atomically as
``split=<s>/part-<sha256(task ids, rendering options, content of the manifest rows)>.parquet``
(:func:`dhs_inject.store.write_part`). Hence:

* **resume**: a part whose file exists is skipped, so a killed run rerun finishes with no duplicate
  and no gap; parts of the store that the plan does not name (an older manifest), and temporary part files
  left by killed writers, are removed at the end;
* **identical rows**: every runner gives the kernel the same chunks, and the kernel is pure, so the local,
  Dask and Spark runners write the same rows (torch runs single-threaded inside a part; the kernel's rows do
  not depend on how the manifest is cut into batches).

Spark (optional extra ``dhs-inject[spark]``, in the workspace's dev group; needs ``java`` on PATH)::

    from dhs_inject.runners import spark_inject
    rows = spark_inject(manifest_sdf.repartition(256), cfg=InjectConfig(), bricks="/data/bricks")
    rows.write.partitionBy("split").parquet("/data/store_spark")

:func:`spark_inject` runs :func:`spark_udf` with ``mapInPandas``, which passes an iterator of pandas
DataFrames and expects one back — :func:`~dhs_inject.kernel.inject_batches`, with the ``(C, H, W)`` tensor
cells encoded as the original's npz blobs (binary ``stamp_npz`` / ``ctrl_stamp_npz`` / ``invvar_npz``,
:func:`dhs_inject.store.to_npz_blobs`, lossless float32; :func:`dhs_inject.store.from_npz_blob` decodes
them), because Spark's Arrow bridge has no fixed-shape tensor type. The schema is that of the kernel's
rows for one manifest row rendered on the driver (:func:`spark_schema`). Spark names its part files itself
(``part-00000-<uuid>…parquet``): the folder it writes is a hive-partitioned parquet dataset for pyarrow /
pandas / Spark, but not a store :func:`dhs_inject.store.read_store` lists (it reads the part names of
:func:`run_local` / :func:`run_dask`, which give resume by part); a Spark job retries failed tasks itself.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pandas as pd
import pyarrow as pa
import torch
from pydantic import BaseModel, ConfigDict, Field
from tqdm.auto import tqdm

from dhs_inject import store
from dhs_inject.kernel import InjectConfig, KernelError, inject_batches, inject_frame

if TYPE_CHECKING:
    from pyspark.sql import DataFrame as SparkDataFrame
    from pyspark.sql.types import StructType

__all__ = ["InjectionJob", "Part", "RunSummary", "RunnerConfig", "plan_parts", "process_part", "run_dask",
           "run_local", "spark_inject", "spark_schema", "spark_udf"]


@dataclass(frozen=True, eq=False)
class Part:
    """One unit of work: the rows of one split that go into one part file."""

    split: str
    name: str
    rows: pd.DataFrame = field(repr=False)


@dataclass
class RunSummary:
    """What a run did: parts written now, parts found done (resume), stale parts removed, rows written."""

    written: list[str]
    skipped: list[str]
    removed: list[str]
    rows: int

    def as_dict(self) -> dict[str, int]:
        return {"parts_written": len(self.written), "parts_skipped": len(self.skipped),
                "parts_removed": len(self.removed), "rows_written": self.rows}  # fmt: skip


def plan_parts(manifest: pd.DataFrame, cfg: InjectConfig, part_rows: int = 256) -> list[Part]:
    """Cut ``manifest`` into parts of ≤ ``part_rows`` rows per split, sorted by ``(split, brickname, task_id)``.

    Raises :class:`KernelError` on a duplicate ``task_id`` or an unknown split (naming it).
    """
    if part_rows < 1:
        raise KernelError(f"part_rows={part_rows}: must be ≥ 1")
    for col in ("task_id", "split"):
        if col not in manifest:
            raise KernelError(f"manifest lacks the '{col}' column")
    dup = manifest["task_id"][manifest["task_id"].duplicated()]
    if len(dup):
        raise KernelError(f"manifest has duplicate task_id {dup.iloc[0]!r} ({len(dup)} duplicate rows)")
    unknown = sorted(set(manifest["split"]) - set(store.SPLITS))
    if unknown:
        raise KernelError(f"manifest column 'split' has unknown value(s) {unknown}; expected {store.SPLITS}")
    keys = ["split", "brickname", "task_id"] if "brickname" in manifest else ["split", "task_id"]
    ordered = manifest.sort_values(keys, kind="stable").reset_index(drop=True)  # a part touches few bricks
    parts = []
    for split, rows in ordered.groupby("split", sort=True):
        for start in range(0, len(rows), part_rows):
            chunk = rows.iloc[start : start + part_rows].reset_index(drop=True)
            digest = hashlib.sha256(pd.util.hash_pandas_object(chunk, index=False).to_numpy().tobytes()).hexdigest()
            parts.append(Part(str(split), store.part_name(chunk["task_id"], cfg.fingerprint() + digest), chunk))
    return parts


@contextmanager
def _one_torch_thread() -> Iterator[None]:
    """torch on one thread inside (the runners parallelise over parts; multi-threaded reductions would also
    make a row's last bits depend on the thread count)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def process_part(part: Part, root: str | os.PathLike, cfg: InjectConfig, bricks: str | os.PathLike) -> int:
    """Render one part and write it atomically; returns its row count. torch runs on one thread here."""
    with _one_torch_thread():
        rows = inject_frame(part.rows, cfg=cfg, bricks=bricks)
    store.write_part(rows, root, name=part.name)
    return len(rows)


def _todo(parts: Sequence[Part], root: Path) -> tuple[list[Part], list[str]]:
    todo, done = [], []
    for part in parts:
        if (root / f"split={part.split}" / part.name).is_file():
            done.append(part.name)
        else:
            todo.append(part)
    return todo, done


def _finish(parts: Sequence[Part], root: Path, written: list[str], skipped: list[str], rows: int) -> RunSummary:
    wanted = {(p.split, p.name) for p in parts}
    removed = [tmp.name for tmp in store.remove_stale_temps(root)]
    for path in store.part_paths(root):
        if (path.parent.name.removeprefix("split="), path.name) not in wanted:
            path.unlink()
            removed.append(path.name)
    return RunSummary(written, skipped, removed, rows)


def run_local(
    manifest: pd.DataFrame, root: str | os.PathLike, *, cfg: InjectConfig, bricks: str | os.PathLike, workers: int | None = None,
    part_rows: int = 256, progress: bool = True, on_part: Callable[[str], None] | None = None,
) -> RunSummary:
    """Inject ``manifest`` into the store at ``root`` on this machine.

    ``workers``: processes (default: every core, ``os.cpu_count()``); ``1`` runs in this process.
    ``on_part(name)`` is called after each part is written (progress hooks, tests). Parts already present
    are skipped (resume); a tqdm bar counts parts.
    """
    root = Path(root)
    parts = plan_parts(manifest, cfg, part_rows)
    todo, skipped = _todo(parts, root)
    workers = (os.cpu_count() or 1) if workers is None else workers
    written: list[str] = []
    rows = 0
    with tqdm(total=len(parts), initial=len(skipped), desc="inject parts", unit="part", disable=not progress) as bar:
        if workers <= 1 or len(todo) <= 1:
            for part in todo:
                rows += process_part(part, root, cfg, bricks)
                written.append(part.name)
                bar.update()
                if on_part:
                    on_part(part.name)
        else:
            with ProcessPoolExecutor(max_workers=min(workers, len(todo))) as pool:
                futures = {pool.submit(process_part, part, root, cfg, bricks): part for part in todo}
                for future in as_completed(futures):
                    rows += future.result()
                    written.append(futures[future].name)
                    bar.update()
                    if on_part:
                        on_part(futures[future].name)
    return _finish(parts, root, written, skipped, rows)


def run_dask(
    manifest: pd.DataFrame, root: str | os.PathLike, *, cfg: InjectConfig, bricks: str | os.PathLike,
    scheduler_address: str | None = None, n_workers: int = 2, processes: bool = True, part_rows: int = 256,
    progress: bool = True,
) -> RunSummary:
    """Inject ``manifest`` with ``dask.distributed``: one task per part (same parts as :func:`run_local`).

    ``scheduler_address`` (e.g. ``tcp://scheduler:8786``) connects to a running cluster whose workers see
    ``root`` and ``bricks`` (a shared file system); without it a ``LocalCluster`` of ``n_workers`` single-
    threaded workers (``processes=False``: threads, for tests) is started and closed.
    """
    from dask.distributed import Client, LocalCluster, as_completed as dask_completed

    root = Path(root)
    parts = plan_parts(manifest, cfg, part_rows)
    todo, skipped = _todo(parts, root)
    cluster = None
    if scheduler_address is None:
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=processes, dashboard_address=None)
    client = Client(scheduler_address or cluster)
    written: list[str] = []
    rows = 0
    try:
        futures = {client.submit(process_part, part, str(root), cfg, bricks, pure=False): part for part in todo}
        with tqdm(total=len(parts), initial=len(skipped), desc="inject parts (dask)", unit="part", disable=not progress) as bar:
            for future in dask_completed(futures):
                rows += future.result()
                written.append(futures[future].name)
                bar.update()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return _finish(parts, root, written, skipped, rows)


def _spark_batches(batches: Iterator[pd.DataFrame], *, cfg: InjectConfig, bricks: str,
                   bands: str) -> Iterator[pd.DataFrame]:
    with _one_torch_thread():  # as process_part: Spark parallelises over tasks, one per core
        for rows in inject_batches(batches, cfg=cfg, bricks=bricks):
            yield store.to_npz_blobs(rows, bands)


def spark_udf(cfg: InjectConfig, bricks: str | os.PathLike,
              bands: str = "grz") -> Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]:
    """The kernel for Spark's ``DataFrame.mapInPandas``: manifest batches in, store rows out.

    The rows are :func:`~dhs_inject.kernel.inject_batches`' with each tensor column ``<c>`` (``stamp``,
    ``ctrl_stamp``, ``invvar``; ``(C, H, W)`` float32) replaced by a binary ``<c>_npz`` column
    (:func:`dhs_inject.store.to_npz_blobs`; null where the cell is missing). A picklable callable, shipped
    to the Python workers; ``bricks`` must be readable there (a shared file system).
    """
    return partial(_spark_batches, cfg=cfg, bricks=str(bricks), bands=bands)


def spark_schema(sample: pd.DataFrame, *, cfg: InjectConfig, bricks: str | os.PathLike,
                 bands: str = "grz") -> StructType:
    """Spark schema of :func:`spark_udf`'s rows: the kernel run here on ``sample`` (manifest rows; one
    injected row suffices) and its Arrow schema converted by pyspark's ``from_arrow_schema``.

    Raises :class:`KernelError` naming a column that is null in every sample row (its type is unknown),
    other than an ``<c>_npz`` column (binary).
    """
    from pyspark.sql.pandas.types import from_arrow_schema

    rows = next(spark_udf(cfg, bricks, bands)(iter([sample])))
    fields = []
    for f in pa.Table.from_pandas(rows, preserve_index=False).schema:
        if pa.types.is_null(f.type):
            if not f.name.endswith("_npz"):
                raise KernelError(f"spark_schema: column '{f.name}' is null in every sample row; "
                                  f"sample an injected row")
            f = f.with_type(pa.binary())
        fields.append(f)
    return from_arrow_schema(pa.schema(fields))


def spark_inject(manifest: SparkDataFrame, *, cfg: InjectConfig, bricks: str | os.PathLike,
                 bands: str = "grz") -> SparkDataFrame:
    """Lazy Spark DataFrame of store rows (:func:`spark_udf`) of a Spark DataFrame of manifest rows.

    The schema comes from one row of ``manifest`` (an injected one if any: ``label = 1``) rendered on
    the driver (:func:`spark_schema`); the work is done per Spark partition by ``mapInPandas``.
    """
    from pyspark.sql import functions as sf

    sample = manifest.orderBy(sf.col("label").desc()).limit(1).toPandas()
    return manifest.mapInPandas(spark_udf(cfg, bricks, bands),
                                schema=spark_schema(sample, cfg=cfg, bricks=bricks, bands=bands))


class RunnerConfig(BaseModel):
    """Which runner writes the store and how it splits the work (validated when built).

    ``runner``: ``local`` (processes on this machine, ``workers`` of them, default every core) or ``dask``
    (``scheduler_address`` of a running cluster, else a ``LocalCluster`` of ``n_workers``).
    ``part_rows``: rows per part file (the unit of work, of atomic writes and of resume).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    runner: Literal["local", "dask"] = "local"
    workers: int | None = Field(None, ge=1)
    n_workers: int = Field(2, ge=1)
    scheduler_address: str | None = None
    part_rows: int = Field(256, ge=1)
    progress: bool = True


@dataclass(eq=False)
class InjectionJob:
    """A manifest, the rendering options and the imaging, to be written as a store by :meth:`write`.

    What the ``dhs_inject`` pipeline node returns: the catalog's store dataset calls ``write(root)``, so
    the parts land directly (atomically, resumably) in the catalogued folder.
    """

    manifest: pd.DataFrame = field(repr=False)
    cfg: InjectConfig
    bricks: str | os.PathLike
    runner: RunnerConfig = field(default_factory=RunnerConfig)
    summary: RunSummary | None = None

    def write(self, root: str | os.PathLike) -> RunSummary:
        r = self.runner
        if r.runner == "dask":
            self.summary = run_dask(self.manifest, root, cfg=self.cfg, bricks=self.bricks,
                                    scheduler_address=r.scheduler_address, n_workers=r.n_workers,
                                    part_rows=r.part_rows, progress=r.progress)  # fmt: skip
        else:
            self.summary = run_local(self.manifest, root, cfg=self.cfg, bricks=self.bricks, workers=r.workers,
                                     part_rows=r.part_rows, progress=r.progress)  # fmt: skip
        return self.summary
