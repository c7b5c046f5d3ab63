"""Thin nodes of the ``ablations`` pipeline: one rs_ilg 3D run per (variant, mode), then the study table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ..rs_ilg.nodes import grid3d


def run_variant(master, cohort: list[str], features_root: Path, mode: dict[str, Any], run: dict[str, Any],
                study: dict[str, Any], overrides: dict[str, Any]) -> pd.DataFrame:
    """The study's 3D run (``run.grid3d`` updated by ``study.grid3d`` and the variant's ``overrides.grid3d``)."""
    settings = {**run["grid3d"], **study.get("grid3d", {}), **overrides.get("grid3d", {})}
    galaxies, _, _ = grid3d(master, cohort, features_root, mode, {**run, "grid3d": settings})
    return galaxies.assign(mode=mode["name"])


def variant_metrics(compat: pd.DataFrame, corrected: pd.DataFrame, overrides: dict[str, Any]) -> dict[str, Any]:
    """Medians of ILG and the baselines per mode, with the variant's overrides as its MLflow params."""
    metrics = {}
    for df in (compat, corrected):
        mode = str(df["mode"].iloc[0]) if len(df) else "empty"
        for col, label in (("chi2_over_N", "ilg"), ("chi2_over_N_newton", "newton"), ("chi2_over_N_mond", "mond")):
            metrics[f"{mode}.median_{label}"] = float(df[col].median()) if len(df) else float("nan")
    return {"metrics": metrics, "params": overrides}


def study_table(**variants: pd.DataFrame):
    """One table for the study (see :func:`rs_ilg.report.ablation_table`) and its figure."""
    from rs_ilg.report import ablation_table

    frames = [df.assign(variant=name.split(".")[0]) for name, df in variants.items()]
    table = ablation_table(pd.concat(frames, ignore_index=True))
    return table, _figure(table)


def _figure(table: pd.DataFrame):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 4), layout="constrained")
    ax = fig.add_subplot()
    modes = list(dict.fromkeys(table["mode"]))
    variants = list(dict.fromkeys(table["variant"]))
    width = 0.8 / max(len(modes), 1)
    for i, mode in enumerate(modes):
        sub = table[table["mode"] == mode].set_index("variant").reindex(variants)
        x = [j + i * width for j in range(len(variants))]
        ax.bar(x, sub["median_ilg"], width, label=f"{mode}: ILG 3D")
        ax.scatter(x, sub["median_newton"], marker="_", s=200, color="k", zorder=3,
                   label="Newtonian (K=1), same points" if i == 0 else None)
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(variants))], variants, rotation=30, ha="right")
    ax.set_ylabel("median chi2/N")
    ax.set_title("rs_ilg 3D ablations")
    ax.legend(fontsize="small")
    return fig
