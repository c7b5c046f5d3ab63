"""Thin nodes of the ``ablations`` pipeline: one rs_ilg 3D run per (variant, mode), then the study table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd


def run_variant(master: pd.DataFrame, cohort: list[str], features_root: Path, mode: dict[str, Any],
                grid3d: dict[str, Any], study: dict[str, Any], overrides: dict[str, Any]) -> pd.DataFrame:
    """The study's 3D run: ``rs_ilg.run.grid3d`` updated by ``study.grid3d`` and the variant's ``overrides.grid3d``."""
    from rs_ilg import ModeConfig
    from rs_ilg.features import read_features
    from rs_ilg.master import Master
    from rs_ilg.runners import GridRunConfig, run_grid

    settings = {**grid3d, **study.get("grid3d", {}), **overrides.get("grid3d", {})}
    name, switches = mode["name"], {k: v for k, v in mode.items() if k != "name"}
    res = run_grid(Master.from_table(master), ModeConfig.from_name(name, **switches), GridRunConfig(ndim=3, **settings),
                   subset=cohort, progress=False, features=read_features(features_root, cohort))  # fmt: skip
    return res.summary.assign(mode=name)


def variant_metrics(compat: pd.DataFrame, corrected: pd.DataFrame, overrides: dict[str, Any]) -> dict[str, Any]:
    """Medians of ILG and the baselines per mode, with the variant's overrides as its MLflow params."""
    from rs_ilg.report import variant_metrics as metrics

    return {"metrics": metrics({"compat": compat, "corrected": corrected}), "params": overrides}


def study_table(**variants: pd.DataFrame):
    """One table for the study (see :func:`rs_ilg.report.ablation_table`) and its figure."""
    from rs_ilg.plots import ablation_figure
    from rs_ilg.report import ablation_table

    frames = [df.assign(variant=name.split(".")[0]) for name, df in variants.items()]
    table = ablation_table(pd.concat(frames, ignore_index=True))
    return table, ablation_figure(table)
