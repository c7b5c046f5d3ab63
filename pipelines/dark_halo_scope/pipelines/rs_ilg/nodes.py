"""Thin nodes of the ``rs_ilg`` pipeline: parameters in, package calls, tables/arrays/figures out.

Every node of the per-mode template takes ``mode`` (``{"name": "compat"|"corrected", <ModeConfig field>: value}``)
and only the settings it uses (``params:rs_ilg.run.<key>`` of ``conf/base/parameters_rs_ilg.yml``). The master
table travels as its one-table form (:meth:`rs_ilg.master.Master.to_table`, a parquet catalog entry).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from rs_ilg import ModeConfig
from rs_ilg.master import Master
from rs_ilg.release import SparcRelease


def mode_config(mode: dict[str, Any]) -> ModeConfig:
    """``{"name": "corrected", "signed_v2": false}`` → ``ModeConfig.corrected(signed_v2=False)``."""
    params = dict(mode)
    return ModeConfig.from_name(params.pop("name"), **params)


def build_master(release: SparcRelease, mode: dict[str, Any], cohort: str, limit: int, on_missing: str):
    """Master table (its table form and its scalars), the cohort's names, and every galaxy left out with why."""
    from rs_ilg import build_master as build, master_to_frame, subset_names

    cfg = mode_config(mode)
    master = build(release.rotmods, release.table, cfg, on_missing=on_missing)
    names = subset_names(master, cfg, cohort=cohort)
    if limit:
        names = names[:limit]
    skipped = pd.concat(
        [release.rotmods.skipped.assign(stage="read"), master.skipped.assign(stage="master")], ignore_index=True
    )
    table = master_to_frame(master)
    table["in_cohort"] = table["galaxy"].isin(names)
    return master.to_table(), table, list(names), skipped.astype(str)


def bench1d(master: pd.DataFrame, cohort: list[str], mode: dict[str, Any], kernels: list[str], settings: dict[str, Any]):
    """1D ILG kernels beside Newtonian and MOND: per-galaxy table, points, skipped galaxies."""
    from rs_ilg.bench1d import Bench1DConfig, run_kernels

    galaxies, points, skipped = run_kernels(Master.from_table(master), mode_config(mode), kernels,
                                            Bench1DConfig(**settings), cohort, progress=False)  # fmt: skip
    return galaxies, points, skipped.astype(str)


def _grid(master: pd.DataFrame, cohort, mode, settings: dict[str, Any], ndim: int, features=None):
    from rs_ilg.runners import GridRunConfig, run_grid

    res = run_grid(Master.from_table(master), mode_config(mode), GridRunConfig(ndim=ndim, **settings), subset=cohort,
                   progress=True, features=features)  # fmt: skip
    return res.summary, res.points_frame(), res.skipped.astype(str)


def grid2d(master: pd.DataFrame, cohort: list[str], mode: dict[str, Any], settings: dict[str, Any]):
    """2D non-separable kernel runs (spec §6): per-galaxy summary with baselines, points, skipped."""
    return _grid(master, cohort, mode, settings, 2)


def grid3d(master: pd.DataFrame, cohort: list[str], features_root: Path, mode: dict[str, Any], settings: dict[str, Any]):
    """3D runs (spec §7) with the precomputed features, read once (ignored in compat, as in the original)."""
    from rs_ilg.features import read_features

    return _grid(master, cohort, mode, settings, 3, read_features(features_root, cohort))


def features(master: pd.DataFrame, cohort: list[str], mode: dict[str, Any], settings: dict[str, Any]):
    """RS features (spec §8): the feature set (saved with ``rs_ilg.features.write_features``) and its table."""
    from rs_ilg.features import FeaturesConfig, build_features

    fs = build_features(Master.from_table(master), cohort, FeaturesConfig(**settings), mode_config(mode), progress=False)
    return fs, fs.to_frame()


def trends(points: pd.DataFrame, feature_table: pd.DataFrame, master: pd.DataFrame, mode: dict[str, Any]):
    """Median |residual| by xi bin and by r/R_d bin for ILG, Newtonian and MOND on the same points."""
    from rs_ilg.trends import TrendConfig, compute_trends

    cfg = mode_config(mode)
    rd = {name: g.R_d_kpc for name, g in Master.from_table(master).items()}
    res = compute_trends(points, feature_table, TrendConfig.from_mode(cfg), rd_kpc=rd)
    return res.by_xi, res.by_radius


def pilot(inputs: pd.DataFrame, master: pd.DataFrame, mode: dict[str, Any]):
    """Imaging Σ_b pilot: FITS maps, fields, features, quicklooks, and imaging R_d against the mode's R_d."""
    from rs_ilg.pilot import PilotConfig, pilot_products, rd_comparison, run_pilot

    cfg = mode_config(mode)
    res = run_pilot(inputs, PilotConfig.from_mode(cfg), cfg, progress=False)
    maps, fields, feats, looks = pilot_products(res)
    rd = {n: g.R_d_kpc for n, g in Master.from_table(master).items()}
    per_galaxy, summary = rd_comparison(res.table(), rd)
    return maps, fields, feats, looks, per_galaxy, summary


def collect_runs(bench: pd.DataFrame, grid2: pd.DataFrame, grid3: pd.DataFrame, mode: dict[str, Any]) -> pd.DataFrame:
    """One long table: mode, run (1d_<kernel>, 2d, 3d), galaxy, N, chi2/N of ILG, Newtonian, MOND."""
    from rs_ilg.report import collect_runs as collect

    return collect({**{f"1d_{k}": df for k, df in bench.groupby("kernel", sort=False)}, "2d": grid2, "3d": grid3},
                   mode=mode["name"])


def report(*runs: pd.DataFrame):
    """Summary (ILG beside Newtonian and MOND per mode and run), its MLflow metrics, the chi2/N figure."""
    from rs_ilg.plots import runs_chi2_figure
    from rs_ilg.report import run_metrics, summarise_runs

    table = pd.concat(runs, ignore_index=True)
    summary = summarise_runs(table)
    return summary, {"metrics": run_metrics(summary)}, runs_chi2_figure(table)


def rotation_curves(points: pd.DataFrame):
    """Rotation curves of the cohort (3D run, corrected mode): observed, ILG, Newtonian, MOND."""
    from rs_ilg.plots import rotation_curves_grid

    return rotation_curves_grid(points, title="3D ILG kernel, corrected mode")
