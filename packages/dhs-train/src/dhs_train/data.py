"""Torch datasets over the stamp store (``docs/stamp_store.md``), streamed, filtered, paired or unpaired.

Reading goes through dhs-inject's store module: :func:`dhs_inject.store.read_store` for the small scalar
*index* (filter, pairing, matching, meta and strata columns of one split) and one Parquet row group at a time
for the stamps, so a store larger than memory trains. A row group of a part file is the *unit* of streaming and
of sharding: every epoch the units are permuted with ``(seed, epoch)`` and dealt round-robin to the
``world_size × num_workers`` shards (rank × DataLoader worker). Under DDP every shard yields the same number of
entries (the smallest shard's count, computed from the index, so all ranks agree without communicating).
All per-sample randomness (hard negatives, core dropout, symmetries, within-unit order) is drawn from a
generator seeded by ``(seed, epoch, unit)``: a sample does not depend on which worker or rank produced it.

Modes (spec §3.3):

``paired``
    every selected injected row yields its stamp (label 1) and its control ``ctrl_stamp`` (label 0), or, with
    probability ``hard_negative_prob``, the hard negative ``ctrl + shuffle(stamp - ctrl)`` (label 0).
``unpaired``
    LRG-disjoint: the split's unique ``lrg_id`` are shuffled with the seed and halved; injected rows of the
    first half are the positives, host images (``label 0`` rows' stamps and ``ctrl_stamp`` of paired rows) of
    the second half the negatives, resampled per cell of the ``match_columns`` quantile bins (edges at the
    positives' quantiles 0, 1/n, …, 1) to the positives' count (with replacement when short). With
    ``hard_negative_prob`` a positive additionally yields ``M + shuffle(x_n - M)`` (label 0), where
    ``x_n - M`` is its residual image (``residual_radial_profile``) and ``M`` the radial model.

Filters: ``cutout_ok``, ``bandset``, and on positives ``theta_e_over_psf >= min_theta_e_over_psf`` and
``arc_snr >= min_arc_snr``.

Each item is ``(image (C, H, W) float32, label float32 scalar, meta (M,) float32, strata (2,) float32)`` with
``strata = (theta_e_over_psf, arc_snr)`` of positives (NaN for negatives), preprocessed by
:func:`dhs_train.preprocess`.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import torch
from dhs_inject import store as dstore
from pydantic import BaseModel, ConfigDict, Field
from torch.utils.data import IterableDataset, get_worker_info

from dhs_train.augment import azimuthal_shuffle, core_dropout, hard_negative, random_dihedral
from dhs_train.preprocess import METHODS, preprocess

__all__ = ["DataConfig", "StampDataset", "Unit", "decode_stamps", "plan_entries", "store_fingerprint", "store_index"]

STRATA_COLUMNS = ("theta_e_over_psf", "arc_snr")


class DataConfig(BaseModel):
    """What a :class:`StampDataset` yields (validated; unknown fields refused)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["paired", "unpaired"] = "paired"
    preprocess: Literal["raw_robust", "residual_radial_profile"] = "raw_robust"
    preprocess_options: dict[str, Any] = Field(default_factory=dict)
    require_cutout_ok: bool = True
    bandset: str | None = "grz"
    min_theta_e_over_psf: float | None = Field(default=None, ge=0.0)
    min_arc_snr: float | None = None
    hard_negative_prob: float = Field(default=0.0, ge=0.0, le=1.0)
    shuffle_r_max: float | None = Field(default=None, gt=0.0)
    core_dropout_prob: float = Field(default=0.0, ge=0.0, le=1.0)
    core_dropout_radius: float = Field(default=5.0, gt=0.0)
    core_dropout_fill: Literal["zero", "outer_median"] = "zero"
    dihedral: bool = True
    shuffle: bool = True
    meta_columns: tuple[str, ...] = ()
    match_columns: tuple[str, ...] = ("psfsize_r", "psfdepth_r")
    match_bins: int = Field(default=5, ge=1)
    nan_policy: Literal["raise", "zero"] = "raise"
    seed: int = 42

    def model_post_init(self, __context: Any) -> None:
        METHODS[self.preprocess](**self.preprocess_options)  # validate the options now, naming the bad one

    def evaluation(self) -> DataConfig:
        """The same data without randomness: no augmentation, no hard negatives, no shuffling."""
        return self.model_copy(update={"hard_negative_prob": 0.0, "core_dropout_prob": 0.0, "dihedral": False, "shuffle": False})


@dataclass(frozen=True)
class Unit:
    """One Parquet row group of one part file: the unit of streaming and sharding."""

    part: str
    row_group: int
    n_rows: int


def store_fingerprint(root: str | os.PathLike) -> str:
    """SHA-256 over the store's part paths (``split=<s>/part-<hash of its task ids>.parquet``): the manifest hash.

    Part names are hashes of the manifest rows they hold, so this identifies the manifest content without
    reading the parts.
    """
    digest = hashlib.sha256()
    for part in dstore.part_paths(root):
        digest.update(f"{part.parent.name}/{part.name}\n".encode())
    return digest.hexdigest()


def _index_columns(cfg: DataConfig) -> list[str]:
    cols = ["task_id", "lrg_id", "label", "pairing", "cutout_ok", "bandset", *STRATA_COLUMNS, *cfg.meta_columns]
    if cfg.mode == "unpaired":
        cols += list(cfg.match_columns)
    return list(dict.fromkeys(cols))


def store_index(root: str | os.PathLike, split: str, columns: list[str]) -> tuple[pd.DataFrame, list[Unit]]:
    """Scalar ``columns`` of one split with each row's location (``_unit``, ``_row``), and the units.

    Raises
    ------
    dhs_inject.store.StoreError
        Missing store/split/column or a corrupt part (named).
    """
    parts = dstore.part_paths(root, split)
    if not parts:
        raise dstore.StoreError(f"stamp store '{root}' has no part in split '{split}'")
    frame = dstore.read_store(root, split, columns)
    units: list[Unit] = []
    unit_of, row_of = [], []
    for part in parts:
        meta = pq.ParquetFile(part).metadata
        for rg in range(meta.num_row_groups):
            n = meta.row_group(rg).num_rows
            unit_of.append(np.full(n, len(units)))
            row_of.append(np.arange(n))
            units.append(Unit(str(part), rg, n))
    frame["_unit"] = np.concatenate(unit_of)
    frame["_row"] = np.concatenate(row_of)
    return frame, units


def _quantile_cells(values: pd.DataFrame, reference: pd.DataFrame, bins: int) -> pd.Series:
    """Cell label per row: bin index of each column at the reference (positives') quantiles, joined."""
    keys = []
    for col in values.columns:
        edges = np.unique(np.nanquantile(reference[col].to_numpy(float), np.linspace(0, 1, bins + 1)))
        keys.append(np.clip(np.searchsorted(edges, values[col].to_numpy(float), side="right") - 1, 0, max(len(edges) - 2, 0)))
    return pd.Series(["/".join(map(str, k)) for k in zip(*keys, strict=True)], index=values.index)


def plan_entries(index: pd.DataFrame, cfg: DataConfig, split: str) -> pd.DataFrame:
    """Choose what a split yields: one row per *entry* with ``_unit``, ``_row``, ``kind`` and ``label``.

    ``kind`` is ``"pair"`` (stamp → 1 and ctrl/hard negative → 0), ``"stamp"`` or ``"ctrl_stamp"`` (one
    image of that column with ``label``). Raises ``ValueError`` naming the split when it has no positives or no
    negatives after filtering.
    """
    keep = pd.Series(True, index=index.index)
    if cfg.require_cutout_ok:
        keep &= index["cutout_ok"].astype(bool)
    if cfg.bandset is not None:
        keep &= index["bandset"] == cfg.bandset
    pos = keep & (index["label"] == 1)
    if cfg.min_theta_e_over_psf is not None:
        pos &= index["theta_e_over_psf"] >= cfg.min_theta_e_over_psf
    if cfg.min_arc_snr is not None:
        pos &= index["arc_snr"] >= cfg.min_arc_snr
    paired_pos = pos & (index["pairing"] == "paired")
    if cfg.mode == "paired":
        if not paired_pos.any():
            raise ValueError(f"split '{split}': no positives (paired injected rows passing the filters) in {len(index)} rows")
        entries = index[paired_pos].assign(kind="pair", label=1)
    else:
        lrgs = np.sort(index.loc[keep, "lrg_id"].unique())
        rng = np.random.default_rng([cfg.seed, 7])
        rng.shuffle(lrgs)
        pos_lrgs = set(lrgs[: len(lrgs) // 2])
        in_pos = index["lrg_id"].isin(pos_lrgs)
        positives = index[pos & in_pos].assign(kind="stamp", label=1)
        negatives = pd.concat(
            [
                index[keep & ~in_pos & (index["label"] == 0)].assign(kind="stamp", label=0),
                index[keep & ~in_pos & (index["label"] == 1) & (index["pairing"] == "paired")].assign(kind="ctrl_stamp", label=0),
            ]
        )
        if positives.empty:
            raise ValueError(f"split '{split}': no positives in the positive-LRG half ({len(pos_lrgs)} LRGs)")
        if negatives.empty:
            raise ValueError(f"split '{split}': no negatives (controls) in the negative-LRG half")
        cols = list(cfg.match_columns)
        pos_cell = _quantile_cells(positives[cols], positives[cols], cfg.match_bins)
        neg_cell = _quantile_cells(negatives[cols], positives[cols], cfg.match_bins)
        chosen = []
        for cell, n_pos in pos_cell.value_counts().sort_index().items():
            pool = np.flatnonzero((neg_cell == cell).to_numpy())
            if pool.size:
                chosen.append(rng.choice(pool, size=n_pos, replace=pool.size < n_pos))
        if not chosen:
            raise ValueError(f"split '{split}': no negative shares a {cols} cell with the positives")
        entries = pd.concat([positives, negatives.iloc[np.sort(np.concatenate(chosen))]])
    strata = entries[list(STRATA_COLUMNS)].astype(float).where(entries["label"] == 1)
    return entries.assign(**{c: strata[c] for c in STRATA_COLUMNS}).reset_index(drop=True)


def _read_unit(unit: Unit, columns: list[str]) -> pd.DataFrame:
    """The unit's row group (:func:`dhs_inject.store.read_row_group`; errors name part, row group, column and row)."""
    return dstore.read_row_group(unit.part, unit.row_group, columns)


def decode_stamps(frame: pd.DataFrame, column: str, rows: np.ndarray, where: str, nan_policy: str = "raise") -> np.ndarray:
    """Stack ``frame[column]`` cells at ``rows`` into ``(K, C, H, W)`` float32, refusing missing or NaN stamps.

    ``where`` names the source (file, row group) in errors; ``nan_policy="zero"`` replaces non-finite pixels by 0.
    """
    cells = frame[column].to_numpy()[rows]
    for r, cell in zip(rows, cells, strict=True):
        if cell is None:
            raise ValueError(f"{where} row {r} (task_id {frame['task_id'].iat[r]}) column '{column}': stamp is missing")
    out = np.stack(cells).astype(np.float32, copy=False) if len(cells) else np.empty((0, 0, 0, 0), np.float32)
    bad = ~np.isfinite(out).reshape(len(out), -1).all(axis=1)
    if bad.any():
        if nan_policy == "raise":
            r = rows[np.flatnonzero(bad)[0]]
            raise ValueError(
                f"{where} row {r} (task_id {frame['task_id'].iat[r]}) column '{column}': non-finite pixels "
                f"({int(bad.sum())} stamp(s) affected; nan_policy='zero' replaces them by 0)"
            )
        out = np.where(np.isfinite(out), out, np.float32(0.0))
    return out


def _shard() -> tuple[int, int, int, int]:
    """``(rank, world_size, worker_id, num_workers)`` of the calling process / DataLoader worker."""
    rank, world = 0, 1
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()
    info = get_worker_info()
    return rank, world, (info.id if info else 0), (info.num_workers if info else 1)


class StampDataset(IterableDataset):
    """Stream preprocessed, augmented ``(image, label, meta, strata)`` items of one split of a stamp store.

    Parameters
    ----------
    root : path of the store (``split=<s>/part-*.parquet``).
    split : "train", "val" or "test".
    cfg : :class:`DataConfig`.

    Call :meth:`set_epoch` before each epoch (the training loop does) to change the shuffling and augmentation.
    """

    def __init__(self, root: str | os.PathLike, split: str, cfg: DataConfig) -> None:
        super().__init__()
        self.root, self.split, self.cfg = str(root), split, cfg
        index, self.units = store_index(root, split, _index_columns(cfg))
        self.entries = plan_entries(index, cfg, split)
        for col in cfg.meta_columns:
            bad = self.entries[col].isna()
            if bad.any():
                raise ValueError(f"split '{split}': meta column '{col}' is null on task_id {self.entries.loc[bad, 'task_id'].iat[0]}")
        self.epoch = 0

    def image_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of the stamps (decoded from the first entry's row)."""
        first = self.entries.iloc[0]
        kind = "stamp" if first["kind"] in ("pair", "stamp") else "ctrl_stamp"
        frame = _read_unit(self.units[int(first["_unit"])], ["task_id", kind])
        cell = frame[kind].iat[int(first["_row"])]
        if cell is None:
            raise ValueError(f"split '{self.split}': task_id {first['task_id']} has no '{kind}'")
        return tuple(int(v) for v in cell.shape)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def samples_per_entry(self) -> float:
        """Images per entry on average (2 for pairs; unpaired hard negatives add their probability)."""
        if self.cfg.mode == "paired":
            return 2.0
        return 1.0 + self.cfg.hard_negative_prob * float((self.entries["label"] == 1).mean())

    def meta_statistics(self) -> tuple[list[float], list[float]]:
        """Mean and standard deviation of each meta column over the entries (for the model's standardisation)."""
        m = self.entries[list(self.cfg.meta_columns)].astype(float)
        return m.mean().tolist(), m.std(ddof=0).tolist()

    def _shard_plan(self, rank: int, world: int, wid: int, nw: int) -> tuple[list[int], int | None]:
        units = np.unique(self.entries["_unit"].to_numpy())
        if self.cfg.shuffle:
            units = np.random.default_rng([self.cfg.seed, self.epoch]).permutation(units)
        n_shards = world * nw
        counts = self.entries["_unit"].value_counts()
        per_shard = [int(counts.loc[units[s::n_shards]].sum()) for s in range(n_shards)]
        quota = min(per_shard) if world > 1 else None
        return [int(u) for u in units[rank * nw + wid :: n_shards]], quota

    def __iter__(self):
        rank, world, wid, nw = _shard()
        my_units, quota = self._shard_plan(rank, world, wid, nw)
        left = quota
        for u in my_units:
            if left is not None and left <= 0:
                return
            rng = np.random.default_rng([self.cfg.seed, self.epoch, u])
            entries = self.entries[self.entries["_unit"] == u]
            if self.cfg.shuffle:
                entries = entries.iloc[rng.permutation(len(entries))]
            if left is not None:
                entries = entries.iloc[:left]
                left -= len(entries)
            yield from self._unit_items(self.units[u], entries, rng)

    def _unit_items(self, unit: Unit, entries: pd.DataFrame, rng: np.random.Generator):
        cfg = self.cfg
        kinds = set(entries["kind"])
        columns = ["task_id"] + (["stamp"] if kinds & {"pair", "stamp"} else []) + (["ctrl_stamp"] if kinds & {"pair", "ctrl_stamp"} else [])
        frame = _read_unit(unit, columns)
        where = f"stamp-store part '{unit.part}' row group {unit.row_group}"
        rows = entries["_row"].to_numpy()
        images, labels, picks = [], [], []
        if cfg.mode == "paired":
            stamp = decode_stamps(frame, "stamp", rows, where, cfg.nan_policy)
            ctrl = decode_stamps(frame, "ctrl_stamp", rows, where, cfg.nan_policy)
            neg = ctrl.copy()
            hn = rng.random(len(rows)) < cfg.hard_negative_prob
            if hn.any():
                neg[hn] = hard_negative(stamp[hn], ctrl[hn], rng, cfg.shuffle_r_max)
            images = [preprocess(np.concatenate([stamp, neg]), cfg.preprocess, **cfg.preprocess_options)]
            k = len(rows)
            order = np.stack([np.arange(k), np.arange(k) + k], axis=1).reshape(-1)  # pos_i, neg_i interleaved
            labels = np.tile([1.0, 0.0], k).astype(np.float32)
            picks = np.repeat(np.arange(k), 2)
            x = images[0][order]
            shared = np.repeat(rng.random(k) < cfg.core_dropout_prob, 2)  # one decision per pair (planb)
        else:
            parts = []
            for kind in ("stamp", "ctrl_stamp"):
                sel = np.flatnonzero((entries["kind"] == kind).to_numpy())
                if sel.size:
                    parts.append((sel, decode_stamps(frame, kind, rows[sel], where, cfg.nan_policy)))
            sel = np.concatenate([s for s, _ in parts])
            raw = np.concatenate([a for _, a in parts])
            x = preprocess(raw, cfg.preprocess, **cfg.preprocess_options)
            labels = entries["label"].to_numpy(np.float32)[sel]
            picks = sel
            hn = (labels == 1) & (rng.random(len(sel)) < cfg.hard_negative_prob)
            if hn.any():
                resid = preprocess(raw[hn], "residual_radial_profile", **cfg.preprocess_options)
                model = x[hn] - resid if cfg.preprocess == "raw_robust" else 0.0
                x = np.concatenate([x, model + azimuthal_shuffle(resid, rng, cfg.shuffle_r_max)])
                labels = np.concatenate([labels, np.zeros(int(hn.sum()), np.float32)])
                picks = np.concatenate([picks, sel[hn]])
            shared = rng.random(len(x)) < cfg.core_dropout_prob
        if cfg.core_dropout_prob > 0:
            x = core_dropout(x, None, radius=cfg.core_dropout_radius, fill=cfg.core_dropout_fill, apply=shared)
        if cfg.dihedral:
            x = random_dihedral(x, rng)
        meta = entries[list(cfg.meta_columns)].to_numpy(np.float32)[picks] if cfg.meta_columns else np.zeros((len(x), 0), np.float32)
        strata = entries[list(STRATA_COLUMNS)].to_numpy(np.float32)[picks]
        strata[labels == 0] = np.nan
        order = rng.permutation(len(x)) if (cfg.shuffle and cfg.mode == "unpaired") else np.arange(len(x))
        xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        for i in order:
            yield xt[i], torch.tensor(labels[i]), torch.from_numpy(meta[i]), torch.from_numpy(strata[i])
