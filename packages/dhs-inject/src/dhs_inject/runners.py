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
  Dask and Spark runners write the same rows (torch runs single-threaded inside a part).

Spark (optional extra ``dhs-inject[spark]``; not a test dependency)::

    from functools import partial
    from dhs_inject.kernel import InjectConfig, inject_batches
    fn = partial(inject_batches, cfg=InjectConfig(), bricks="/data/bricks")
    store_rows = manifest_sdf.repartition(256).mapInPandas(fn, schema=...)  # then write partitioned by split

``mapInPandas`` passes an iterator of pandas DataFrames and expects one back — exactly
:func:`~dhs_inject.kernel.inject_batches`. Stamps come back as ``(C, H, W)`` arrays; give Spark a schema
with ``array<array<array<float>>>`` (or convert them with :func:`dhs_inject.store.to_npz_blobs` first and
use ``binary``), and write with ``partitionBy("split")``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from typing import Literal

import pandas as pd
import torch
from pydantic import BaseModel, ConfigDict, Field
from tqdm.auto import tqdm

from dhs_inject import store
from dhs_inject.kernel import InjectConfig, KernelError, inject_frame

__all__ = ["InjectionJob", "Part", "RunSummary", "RunnerConfig", "plan_parts", "process_part", "run_dask",
           "run_local", "spark_udf"]


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


def process_part(part: Part, root: str | os.PathLike, cfg: InjectConfig, bricks: str | os.PathLike) -> int:
    """Render one part and write it atomically; returns its row count. torch runs on one thread here."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        rows = inject_frame(part.rows, cfg=cfg, bricks=bricks)
    finally:
        torch.set_num_threads(threads)
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


def spark_udf(cfg: InjectConfig, bricks: str | os.PathLike) -> Callable:
    """The kernel for Spark's ``DataFrame.mapInPandas`` (see the module docstring for the schema)."""
    from functools import partial

    from dhs_inject.kernel import inject_batches

    return partial(inject_batches, cfg=cfg, bricks=bricks)


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
