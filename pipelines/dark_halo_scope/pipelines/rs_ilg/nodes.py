"""Thin nodes of the ``rs_ilg`` pipeline: parameters in, package calls, tables/arrays/figures out.

Every node of the per-mode template takes ``mode`` (``{"name": "compat"|"corrected", <ModeConfig field>: value}``)
and ``run`` (the shared settings of ``conf/base/parameters_rs_ilg.yml``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from rs_ilg import ModeConfig
from rs_ilg.release import SparcRelease


def mode_config(mode: dict[str, Any]) -> ModeConfig:
    """``{"name": "corrected", "signed_v2": false}`` → ``ModeConfig.corrected(signed_v2=False)``."""
    params = dict(mode)
    return ModeConfig.from_name(params.pop("name"), **params)


def build_master(release: SparcRelease, mode: dict[str, Any], run: dict[str, Any]):
    """Master table (in-memory and its scalars), the cohort's names, and every galaxy left out with why."""
    from rs_ilg import build_master as build, master_to_frame, subset_names

    cfg = mode_config(mode)
    master = build(release.rotmods, release.table, cfg, on_missing=run.get("on_missing", "skip"))
    cohort = subset_names(master, cfg, cohort=run["cohort"])
    if run.get("limit"):
        cohort = cohort[: int(run["limit"])]
    skipped = pd.concat(
        [release.rotmods.skipped.assign(stage="read"), master.skipped.assign(stage="master")], ignore_index=True
    )
    table = master_to_frame(master)
    table["in_cohort"] = table["galaxy"].isin(cohort)
    return master, table, list(cohort), skipped.astype(str)


def bench1d(master, cohort: list[str], mode: dict[str, Any], run: dict[str, Any]):
    """1D ILG kernels beside Newtonian and MOND: per-galaxy table, points, skipped galaxies."""
    from rs_ilg.bench1d import Bench1DConfig, run_kernels

    cfg = Bench1DConfig(**run.get("bench1d", {}))
    galaxies, points, skipped = run_kernels(master, mode_config(mode), run["kernels"], cfg, cohort, progress=False)
    return galaxies, points, skipped.astype(str)


def _grid(master, cohort, mode, settings: dict[str, Any], ndim: int, features_root: Path | None = None):
    from rs_ilg.runners import GridRunConfig, run_grid

    extra = {"features_root": str(features_root)} if features_root is not None else {}
    cfg = GridRunConfig(ndim=ndim, **{**settings, **extra})
    res = run_grid(master, mode_config(mode), cfg, subset=cohort, progress=True)
    points = pd.concat([r.points.assign(galaxy=n) for n, r in res.galaxies.items()], ignore_index=True)
    return res.summary, points, res.skipped.astype(str)


def grid2d(master, cohort: list[str], mode: dict[str, Any], run: dict[str, Any]):
    """2D non-separable kernel runs (spec §6): per-galaxy summary with baselines, points, skipped."""
    return _grid(master, cohort, mode, run["grid2d"], 2)


def grid3d(master, cohort: list[str], features_root: Path, mode: dict[str, Any], run: dict[str, Any]):
    """3D runs (spec §7) reading the precomputed features (ignored in compat, as in the original)."""
    return _grid(master, cohort, mode, run["grid3d"], 3, features_root)


def features(master, cohort: list[str], mode: dict[str, Any], run: dict[str, Any]):
    """RS features (spec §8); saved by the catalog with ``rs_ilg.features.write_features``."""
    from rs_ilg.features import FeaturesConfig, build_features

    return build_features(master, cohort, FeaturesConfig(**run.get("features", {})), mode_config(mode), progress=False)


def trends(points: pd.DataFrame, features_root: Path, master, mode: dict[str, Any]):
    """Median |residual| by xi bin and by r/R_d bin for ILG, Newtonian and MOND on the same points."""
    from rs_ilg.features import load_feature_table
    from rs_ilg.trends import TrendConfig, compute_trends

    cfg = TrendConfig.compat() if mode["name"] == "compat" else TrendConfig.corrected()
    rd = {name: g.R_d_kpc for name, g in master.items()}
    res = compute_trends(points, load_feature_table(features_root), cfg, rd_kpc=rd)
    return res.by_xi, res.by_radius


def pilot(inputs: pd.DataFrame, master, mode: dict[str, Any]):
    """Imaging Σ_b pilot: FITS maps, fields, features, quicklooks, and imaging R_d against the mode's R_d."""
    from rs_ilg.features import feature_dir_name
    from rs_ilg.pilot import PilotConfig, fits_products, rd_comparison, run_pilot
    from rs_ilg.plots import pilot_quicklook

    cfg = PilotConfig.compat() if mode["name"] == "compat" else PilotConfig.corrected()
    res = run_pilot(inputs, cfg, mode_config(mode), progress=False)
    maps, fields, feats, looks = {}, {}, {}, {}
    for g in res.galaxies.values():
        key = feature_dir_name(g.name)
        maps.update({f"{key}/{nm}": hdu for nm, hdu in fits_products(g).items()})
        fields[f"{key}/fields"] = g.fields_npz()
        feats[f"{key}/features"] = g.features_json()
        looks[f"{key}/quicklook"] = pilot_quicklook(g.sigmab, g.trace, g.name, placeholder=g.placeholder)
    per_galaxy, summary = rd_comparison(res.table(), {n: g.R_d_kpc for n, g in master.items()})
    return maps, fields, feats, looks, per_galaxy, summary


def collect_runs(bench: pd.DataFrame, grid2: pd.DataFrame, grid3: pd.DataFrame, mode: dict[str, Any]) -> pd.DataFrame:
    """One long table: mode, run (1d_<kernel>, 2d, 3d), galaxy, N, chi2/N of ILG, Newtonian, MOND."""
    cols = ["galaxy", "N", "chi2_over_N", "chi2_over_N_newton", "chi2_over_N_mond"]
    parts = [df[cols].assign(run=f"1d_{k}") for k, df in bench.groupby("kernel", sort=False)]
    parts += [grid2[cols].assign(run="2d"), grid3[cols].assign(run="3d")]
    return pd.concat(parts, ignore_index=True).assign(mode=mode["name"])


def report(*runs: pd.DataFrame):
    """Summary (ILG beside Newtonian and MOND per mode and run), its MLflow metrics, the chi2/N figure."""
    from rs_ilg.plots import chi2_distribution_figure
    from rs_ilg.report import summarise_runs

    table = pd.concat(runs, ignore_index=True)
    summary = summarise_runs(table)
    metrics = {
        f"{r['mode']}.{r['run']}.median_{m}": r[f"median_{m}"] for _, r in summary.iterrows() for m in ("ilg", "newton", "mond")
    }
    dist = {}
    for (mode, run), df in table[table["run"] == "3d"].groupby(["mode", "run"]):
        dist.update({f"{mode} ILG 3D": df["chi2_over_N"], f"{mode} Newtonian": df["chi2_over_N_newton"], f"{mode} MOND": df["chi2_over_N_mond"]})
    figure = chi2_distribution_figure(dist, title="chi2/N per galaxy, same points for every model")
    return summary, {"metrics": metrics}, figure


def rotation_curves(points: pd.DataFrame):
    """Rotation curves of the cohort (3D run, corrected mode): observed, ILG, Newtonian, MOND."""
    from rs_ilg.plots import rotation_curves_grid

    return rotation_curves_grid(points, max_panels=12)
