"""The injection manifest: one row per stamp to render (spec §2.3 with the fixes of §5).

:func:`build_manifest` turns an LRG catalogue and a survey-bricks table into a table whose rows
carry everything the renderer needs under the stamp store's column names (``docs/stamp_store.md``,
section "Manifest"):

1. hosts: LRG selection (v1–v4) and, by default, the clean-up of :func:`dhs_inject.lrg.clean_lrgs`;
   ``lrg_id`` per galaxy (the group id replicates share);
2. observing conditions of each host's brick (``psfsize_g/r/z`` FWHM ″ with g and z falling back to
   r where missing, ``psfdepth_g/r/z`` nMgy⁻², ``ebv``), and quartile bins ``psf_bin``, ``depth_bin``
   (edges: the 25/50/75 % quantiles of ``psfsize_r``/``psfdepth_r`` over the bricks of the table)
   giving 16 cells ``cell = 4 psf_bin + depth_bin``;
3. HEALPix splits with the brick rule and guard band (:mod:`dhs_inject.splits`); guard-band hosts
   are dropped (count in ``frame.attrs["n_guard_dropped"]``);
4. the tier's design: ``debug`` (``lrgs_per_config`` hosts per config and split), ``grid`` (every
   host × every config), ``train`` (one config per host, ``position mod n_configs``, at most
   ``max_lrgs_per_split`` hosts per split taken round-robin over the 16 cells), each repeated for
   ``replicates`` (different frozen randomness, same ``lrg_id``);
5. controls: **paired** — every injected row is paired by construction (its renderer also stores
   the same cutout without the arc, ``pairing = "paired"``); **unpaired** — a fraction
   ``control_fraction`` of each split's hosts (by a hash of ``lrg_id`` and the seed) is set aside as
   control hosts, never injected, and label-0 rows on them are drawn to match the injected rows'
   count per (split, cell, replicate) in the ratio ``control_fraction / (1 − control_fraction)``
   (``pairing = "unpaired"``, ``config_id = −1 − k`` for the k-th use of a control host). Cells
   with no control host are reported in ``frame.attrs["control_shortfall"]``;
6. ``task_id`` (sha256 of the task fields) and the per-row parameters drawn from uniforms keyed by
   it (:mod:`dhs_inject.sampling`, :mod:`dhs_inject.priors`); a duplicate ``task_id`` is an error.
"""

from __future__ import annotations

import hashlib
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from dhs_inject.bands import parse_bands
from dhs_inject.bricks import BRICK_CONDITION_COLUMNS, brick_rows
from dhs_inject.grids import build_grid
from dhs_inject.lrg import clean_lrgs, lrg_ids, select_lrgs
from dhs_inject.priors import N_UNIFORMS, PARAMETER_COLUMNS, UNIFORM_SLOTS, PriorConfig, draw_parameters, \
    read_cosmos_parametric
from dhs_inject.sampling import check_unique_task_ids, row_uniforms, task_ids, task_seeds
from dhs_inject.splits import SPLITS, SplitConfig, assign_splits

__all__ = ["ManifestConfig", "TIER_DEFAULTS", "MANIFEST_COLUMNS", "brick_conditions", "quartile_edges",
           "build_manifest"]

TIER_DEFAULTS: dict[str, dict] = {
    "debug": {"grid": "grid_small", "control_fraction": 0.1},
    "grid": {"grid": "grid_medium", "control_fraction": 0.1},
    "train": {"grid": "grid_small", "control_fraction": 0.5},
}
"""Per tier: the grid (``"prior"`` = no grid) and the fraction of control rows when not given."""

_CONTROL_HASH_OFFSET = 7003


class ManifestConfig(BaseModel):
    """Manifest configuration (validated; unknown fields are errors).

    Attributes
    ----------
    experiment : str, first task-hash field.
    selection : LRG selection v1–v4 (also the task hash's ``selection_set``).
    clean_hosts : drop PSF-type and ``z_mag < 16`` hosts first.
    tier : "debug" | "grid" | "train".
    grid : a grid name (:func:`dhs_inject.grids.grid_names`), "prior" (θ_E, R_e, q, shear all
        from the priors), or None for the tier's default.
    lrgs_per_config : hosts per configuration and split (debug tier).
    max_lrgs_per_split : cap on hosts per split (train tier; None = all).
    replicates : ≥ 1.
    controls : "paired", "unpaired" or "both".
    control_fraction : in [0, 1); None = the tier's default. Used by unpaired controls.
    priors, splits : nested configurations.
    stamp_size : cutout side (pixels). bandset : e.g. "grz".
    psf_model, psf_beta, oversampling, arc_noise, core_mask_radius_pix : rendering options stored per row.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    experiment: str = "dhs"
    selection: Literal["v1", "v2", "v3", "v4"] = "v3"
    clean_hosts: bool = True
    tier: Literal["debug", "grid", "train"] = "debug"
    grid: str | None = None
    lrgs_per_config: int = Field(5, ge=1)
    max_lrgs_per_split: int | None = Field(None, ge=1)
    replicates: int = Field(2, ge=1, le=1000)
    controls: Literal["paired", "unpaired", "both"] = "both"
    control_fraction: float | None = Field(None, ge=0.0, lt=1.0)
    priors: PriorConfig = PriorConfig()
    splits: SplitConfig = SplitConfig()
    stamp_size: int = Field(64, ge=8, le=512)
    bandset: str = "grz"
    psf_model: Literal["moffat", "gaussian"] = "moffat"
    psf_beta: float = Field(3.5, gt=1.0)
    oversampling: int = Field(4, ge=1, le=16)
    arc_noise: bool = False
    core_mask_radius_pix: float = Field(0.0, ge=0.0)

    @model_validator(mode="after")
    def _check(self) -> "ManifestConfig":
        parse_bands(self.bandset)
        if self.grid not in (None, "prior"):
            build_grid(self.grid)          # raises listing the valid names
        if self.priors.source_mag == "host_dmag" and self.grid_name == "prior":
            raise ValueError("priors.source_mag='host_dmag' needs a grid (src_dmag); grid='prior' has none")
        return self

    @property
    def grid_name(self) -> str:
        """The grid used (the tier's default when ``grid`` is None)."""
        return self.grid or TIER_DEFAULTS[self.tier]["grid"]

    @property
    def fraction(self) -> float:
        """Control fraction used (the tier's default when ``control_fraction`` is None)."""
        return TIER_DEFAULTS[self.tier]["control_fraction"] if self.control_fraction is None else self.control_fraction


MANIFEST_COLUMNS: tuple[str, ...] = (
    "task_id", "lrg_id", "brickname", "ra_deg", "dec_deg", "healpix", "split", "label", "pairing",
    "replicate", "tier", "grid", "config_id", "experiment", "selection_set",
    "psfsize_g", "psfsize_r", "psfsize_z", "psfdepth_g", "psfdepth_r", "psfdepth_z", "ebv",
    "psf_bin", "depth_bin", "cell", "host_mag_r", "src_dmag",
    *PARAMETER_COLUMNS,
    "psf_model", "psf_fwhm_g", "psf_fwhm_r", "psf_fwhm_z", "psf_beta", "oversampling", "arc_noise",
    "core_mask_radius_pix", "stamp_size", "bandset", "u_accept")
"""Columns of a manifest, in order (units in ``docs/stamp_store.md``, section "Manifest")."""


def brick_conditions(bricks_table: pd.DataFrame, bricknames: np.ndarray) -> pd.DataFrame:
    """Observing conditions of each brick name (rows aligned with ``bricknames``).

    ``psfsize_g``/``psfsize_z`` fall back to ``psfsize_r`` where missing, NaN or ≤ 0 (spec §2.3);
    ``psfdepth_g``/``psfdepth_z``/``ebv`` are NaN when the table lacks them.

    Raises
    ------
    ValueError
        Unknown brick (names it); table without ``psfsize_r`` or ``psfdepth_r``; a host brick
        with ``psfsize_r``/``psfdepth_r`` not finite and > 0 (names the brick).
    """
    for col in ("psfsize_r", "psfdepth_r"):
        if col not in bricks_table.columns:
            raise ValueError(f"survey-bricks table: missing column {col!r} (needed for PSF and depth bins)")
    rows = brick_rows(bricks_table, bricknames)
    out = pd.DataFrame(index=rows.index)
    for col in BRICK_CONDITION_COLUMNS:
        out[col] = rows[col].to_numpy(np.float64) if col in rows.columns else np.nan
    for col in ("psfsize_r", "psfdepth_r"):
        bad = ~(np.isfinite(out[col]) & (out[col] > 0))
        if bad.any():
            raise ValueError(f"brick {rows['brickname'][bad].iloc[0]!r}: {col} = {out[col][bad].iloc[0]} is not > 0")
    for b in ("g", "z"):
        v = out[f"psfsize_{b}"]
        out[f"psfsize_{b}"] = np.where(np.isfinite(v) & (v > 0), v, out["psfsize_r"])
    out["brick_ra"], out["brick_dec"] = rows["ra"].to_numpy(np.float64), rows["dec"].to_numpy(np.float64)
    return out


def quartile_edges(bricks_table: pd.DataFrame) -> dict[str, np.ndarray]:
    """25/50/75 % quantiles of ``psfsize_r`` and ``psfdepth_r`` over the table's bricks (finite, > 0)."""
    edges = {}
    for col in ("psfsize_r", "psfdepth_r"):
        v = bricks_table[col].to_numpy(np.float64)
        edges[col] = np.quantile(v[np.isfinite(v) & (v > 0)], [0.25, 0.5, 0.75])
    return edges


def _hash_u(keys: np.ndarray, salt: str) -> np.ndarray:
    return np.array([int(hashlib.sha256(f"{k}|{salt}".encode()).hexdigest()[:13], 16) / 16.0**13 for k in keys])


def _hosts(lrgs: pd.DataFrame, bricks_table: pd.DataFrame, cfg: ManifestConfig) -> tuple[pd.DataFrame, dict]:
    for col in ("RA", "DEC", "BRICKNAME"):
        if col not in lrgs.columns:
            raise ValueError(f"LRG catalogue: missing column {col!r}")
    cat = select_lrgs(lrgs, cfg.selection)
    if cfg.clean_hosts:
        cat = clean_lrgs(cat)
    if cfg.priors.source_mag == "host_dmag" and "r_mag" not in cat.columns:
        raise ValueError("LRG catalogue: missing column 'r_mag' (needed by priors.source_mag='host_dmag')")
    hosts = pd.DataFrame({"lrg_id": lrg_ids(cat), "brickname": cat["BRICKNAME"].astype(str).to_numpy(),
                          "ra_deg": cat["RA"].to_numpy(np.float64), "dec_deg": cat["DEC"].to_numpy(np.float64),
                          "host_mag_r": cat["r_mag"].to_numpy(np.float64) if "r_mag" in cat else np.nan})
    dup = hosts["lrg_id"].duplicated()
    if dup.any():
        raise ValueError(f"LRG catalogue: lrg_id {hosts['lrg_id'][dup].iloc[0]!r} appears twice")
    cond = brick_conditions(bricks_table, hosts["brickname"].to_numpy())
    hosts = pd.concat([hosts, cond], axis=1)
    edges = quartile_edges(bricks_table)
    hosts["psf_bin"] = np.searchsorted(edges["psfsize_r"], hosts["psfsize_r"], side="right").astype(np.int8)
    hosts["depth_bin"] = np.searchsorted(edges["psfdepth_r"], hosts["psfdepth_r"], side="right").astype(np.int8)
    hosts["cell"] = (4 * hosts["psf_bin"] + hosts["depth_bin"]).astype(np.int8)
    sp = assign_splits(hosts["ra_deg"], hosts["dec_deg"], cfg.splits,
                       brick_ra_deg=hosts["brick_ra"], brick_dec_deg=hosts["brick_dec"])
    hosts["healpix"], hosts["split"] = sp["healpix"].to_numpy(), sp["split"].to_numpy()
    n_drop = int((~sp["guard_ok"]).sum())
    hosts = hosts.loc[sp["guard_ok"].to_numpy()].drop(columns=["brick_ra", "brick_dec"]).reset_index(drop=True)
    hosts["u_order"] = _hash_u(hosts["lrg_id"].to_numpy(), f"order|{cfg.splits.seed}")
    if cfg.controls != "paired":
        u_ctrl = _hash_u(hosts["lrg_id"].to_numpy(), f"control|{cfg.splits.seed + _CONTROL_HASH_OFFSET}")
        hosts["is_control_host"] = u_ctrl < cfg.fraction
    else:
        hosts["is_control_host"] = False
    return hosts, {"quartile_edges": {k: v.tolist() for k, v in edges.items()}, "n_guard_dropped": n_drop,
                   "n_hosts": len(hosts)}


def _design(hosts: pd.DataFrame, grid: pd.DataFrame, cfg: ManifestConfig) -> tuple[np.ndarray, np.ndarray]:
    """(host positions, grid positions) of the injected rows of one replicate."""
    n_cfg = len(grid)
    h_idx, g_idx = [], []
    for split in SPLITS:
        pool = hosts.index[(hosts["split"] == split) & ~hosts["is_control_host"]]
        if not len(pool):
            continue
        sub = hosts.loc[pool]
        if cfg.tier == "train" and cfg.max_lrgs_per_split is not None:
            rank = sub.groupby("cell")["u_order"].rank(method="first")
            sub = sub.assign(_r=rank).sort_values(["_r", "u_order"]).head(cfg.max_lrgs_per_split)
        order = sub.sort_values("u_order").index.to_numpy()
        n = len(order)
        if cfg.tier == "grid":
            h_idx.append(np.repeat(order, n_cfg))
            g_idx.append(np.tile(np.arange(n_cfg), n))
        elif cfg.tier == "debug":
            per = min(cfg.lrgs_per_config, n)
            k = np.arange(n_cfg)[:, None] * per + np.arange(per)[None, :]
            h_idx.append(order[k.ravel() % n])
            g_idx.append(np.repeat(np.arange(n_cfg), per))
        else:
            h_idx.append(order)
            g_idx.append(np.arange(n) % n_cfg)
    if not h_idx:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(h_idx), np.concatenate(g_idx)


def _controls(hosts: pd.DataFrame, inj: pd.DataFrame, cfg: ManifestConfig) -> tuple[pd.DataFrame, dict]:
    ratio = cfg.fraction / (1.0 - cfg.fraction)
    ctrl_hosts = hosts.loc[hosts["is_control_host"]].sort_values("u_order")
    pools = {key: grp.index.to_numpy() for key, grp in ctrl_hosts.groupby(["split", "cell"])}
    need = inj.groupby(["split", "cell", "replicate"]).size()
    rows, shortfall = [], {}
    for (split, cell, rep), n_inj in need.items():
        n = int(round(n_inj * ratio))
        if n == 0:
            continue
        pool = pools.get((split, cell))
        if pool is None:
            shortfall[f"{split}/cell{cell}/rep{rep}"] = n
            continue
        k = np.arange(n)
        rows.append(pd.DataFrame({"host": pool[k % len(pool)], "replicate": rep,
                                  "config_id": (-1 - k // len(pool)).astype(np.int32)}))
    if not rows:
        return pd.DataFrame(columns=["host", "replicate", "config_id"]), shortfall
    return pd.concat(rows, ignore_index=True), shortfall


_HOST_COLUMNS = ("lrg_id", "brickname", "ra_deg", "dec_deg", "healpix", "split", "psfsize_g", "psfsize_r",
                 "psfsize_z", "psfdepth_g", "psfdepth_r", "psfdepth_z", "ebv", "psf_bin", "depth_bin", "cell",
                 "host_mag_r")


def _control_parameters(n: int) -> pd.DataFrame:
    out = {}
    for col in PARAMETER_COLUMNS:
        out[col] = np.zeros(n)
    out["lens_model"], out["source_model"] = "CONTROL", "NONE"
    out["src_mag_r"] = np.full(n, np.nan)
    out["lens_q"] = out["src_q"] = np.ones(n)
    out["cosmos_index"] = np.full(n, -1, np.int64)
    return pd.DataFrame(out)


def build_manifest(lrgs: pd.DataFrame, bricks_table: pd.DataFrame, cfg: ManifestConfig = ManifestConfig()) -> pd.DataFrame:
    """Build the manifest (see the module notes).

    Parameters
    ----------
    lrgs : pandas.DataFrame
        Parent catalogue with the upstream columns (``RA``, ``DEC``, ``BRICKNAME``, ``z_mag``,
        ``r_minus_z``, ``z_minus_w1``, ``TYPE``; ``r_mag`` for ``host_dmag``).
    bricks_table : pandas.DataFrame
        Survey-bricks table (:func:`dhs_inject.bricks.read_bricks_table`) holding every host brick.
    cfg : ManifestConfig

    Returns
    -------
    pandas.DataFrame
        Columns :data:`MANIFEST_COLUMNS`, sorted by (split, label desc, task_id). ``attrs`` holds
        ``quartile_edges``, ``n_hosts``, ``n_guard_dropped``, ``control_shortfall``, ``config``.

    Raises
    ------
    ValueError
        Missing catalogue/table column, unknown brick, unknown grid, duplicate ``task_id``.
    """
    hosts, info = _hosts(lrgs, bricks_table, cfg)
    grid_name = cfg.grid_name
    grid = (pd.DataFrame({"config_id": [0], "theta_E": [np.nan], "src_dmag": [np.nan], "src_reff": [np.nan],
                          "src_e": [np.nan], "shear": [np.nan]}) if grid_name == "prior" else build_grid(grid_name))
    h_idx, g_idx = _design(hosts, grid, cfg)
    reps = np.arange(cfg.replicates)
    h_all, g_all = np.tile(h_idx, cfg.replicates), np.tile(g_idx, cfg.replicates)
    inj = hosts.loc[h_all, list(_HOST_COLUMNS)].reset_index(drop=True)
    inj["replicate"] = np.repeat(reps, len(h_idx)).astype(np.int32)
    inj["config_id"] = grid["config_id"].to_numpy()[g_all].astype(np.int32)
    inj["label"] = np.int8(1)
    inj["pairing"] = "paired" if cfg.controls in ("paired", "both") else "unpaired"
    frames = [inj]
    shortfall: dict = {}
    if cfg.controls in ("unpaired", "both") and cfg.fraction > 0 and len(inj):
        picks, shortfall = _controls(hosts, inj, cfg)
        ctrl = hosts.loc[picks["host"].to_numpy(np.int64), list(_HOST_COLUMNS)].reset_index(drop=True)
        ctrl["replicate"] = picks["replicate"].to_numpy(np.int32)
        ctrl["config_id"] = picks["config_id"].to_numpy(np.int32)
        ctrl["label"] = np.int8(0)
        ctrl["pairing"] = "unpaired"
        frames.append(ctrl)
    frame = pd.concat(frames, ignore_index=True)
    frame["experiment"], frame["selection_set"] = cfg.experiment, cfg.selection
    frame["tier"], frame["grid"] = cfg.tier, grid_name
    frame["task_id"] = task_ids(frame)
    check_unique_task_ids(frame)
    u = row_uniforms(task_seeds(frame["task_id"]), N_UNIFORMS)
    is_inj = (frame["label"] == 1).to_numpy()
    gpos = np.where(is_inj, np.maximum(frame["config_id"].to_numpy(), 0), 0)
    gvals = {c: np.where(is_inj, grid[c].to_numpy()[gpos], np.nan) for c in ("theta_E", "src_dmag", "src_reff",
                                                                            "src_e", "shear")}
    cosmos = read_cosmos_parametric(cfg.priors.cosmos_path) if cfg.priors.source_prior == "cosmos" else None
    params = _control_parameters(len(frame))
    if is_inj.any():
        drawn = draw_parameters(u[is_inj], cfg.priors, theta_E=gvals["theta_E"][is_inj],
                                src_reff=gvals["src_reff"][is_inj], src_e=gvals["src_e"][is_inj],
                                shear=gvals["shear"][is_inj], src_dmag=gvals["src_dmag"][is_inj],
                                host_r_mag=frame["host_mag_r"].to_numpy()[is_inj], cosmos=cosmos)
        idx = np.flatnonzero(is_inj)
        for col in drawn.columns:
            values = drawn[col].to_numpy()
            arr = params[col].to_numpy().astype(values.dtype, copy=True)
            arr[idx] = values
            params[col] = arr
    frame = pd.concat([frame, params], axis=1)
    frame["src_dmag"] = gvals["src_dmag"]
    frame["psf_model"], frame["psf_beta"] = cfg.psf_model, cfg.psf_beta
    for b in ("g", "r", "z"):
        frame[f"psf_fwhm_{b}"] = frame[f"psfsize_{b}"]
    frame["oversampling"] = np.int16(cfg.oversampling)
    frame["arc_noise"] = cfg.arc_noise
    frame["core_mask_radius_pix"] = np.float32(cfg.core_mask_radius_pix)
    frame["stamp_size"] = np.int32(cfg.stamp_size)
    frame["bandset"] = "".join(parse_bands(cfg.bandset))
    frame["u_accept"] = u[:, UNIFORM_SLOTS["accept"]]
    frame = frame[list(MANIFEST_COLUMNS)]
    frame = frame.sort_values(["split", "label", "task_id"], ascending=[True, False, True], kind="stable")
    frame = frame.reset_index(drop=True)
    frame.attrs.update(info)
    frame.attrs["control_shortfall"] = shortfall
    frame.attrs["config"] = cfg.model_dump(mode="json")
    return frame
