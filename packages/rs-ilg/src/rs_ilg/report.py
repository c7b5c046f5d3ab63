"""Summary tables that put every ILG run beside the Newtonian (K = 1) and MOND baselines on the same points.

:func:`model_statistics` is the one place the per-model medians and means are computed; the run summary
(:func:`summarise_runs`), the run-folder statistics (:func:`summary_stats`), the ablation study
(:func:`ablation_table`) and the per-variant metrics (:func:`variant_metrics`) all call it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

#: Per-galaxy chi2/N columns of every run table, and the short name of each model.
MODELS: dict[str, str] = {"chi2_over_N": "ilg", "chi2_over_N_newton": "newton", "chi2_over_N_mond": "mond"}
CHI2_COLUMNS = list(MODELS)


def model_statistics(per_galaxy: pd.DataFrame) -> dict[str, float]:
    """Galaxies, points (when an ``N`` column is present), median and mean chi2/N of ILG, Newtonian and MOND,
    and the fraction of galaxies where ILG beats each baseline (lower chi2/N).

    ``per_galaxy`` has one row per galaxy and the :data:`CHI2_COLUMNS`. Medians and means are over the
    finite values (pandas' ``skipna``); an empty table gives NaN.
    """
    missing = [c for c in CHI2_COLUMNS if c not in per_galaxy.columns]
    if missing:
        raise KeyError(f"model_statistics: missing columns {missing} (has {list(per_galaxy.columns)})")
    out: dict[str, float] = {"n_galaxies": len(per_galaxy)}
    if "N" in per_galaxy.columns:
        out["n_points"] = int(per_galaxy["N"].sum())
    for col, name in MODELS.items():
        out[f"median_{name}"] = float(per_galaxy[col].median())
    for col, name in MODELS.items():
        out[f"mean_{name}"] = float(per_galaxy[col].mean())
    ilg = per_galaxy["chi2_over_N"].to_numpy(float)
    for base in ("newton", "mond"):
        other = per_galaxy[f"chi2_over_N_{base}"].to_numpy(float)
        out[f"frac_ilg_beats_{base}"] = float(np.mean(ilg < other)) if len(ilg) else float("nan")
    return out


def summarise_runs(per_galaxy: pd.DataFrame, by: Sequence[str] = ("mode", "run")) -> pd.DataFrame:
    """One row per group of ``by``: the ``by`` values and :func:`model_statistics` of the group.

    ``per_galaxy`` needs the ``by`` columns, ``N`` and :data:`CHI2_COLUMNS` (as produced by
    :func:`rs_ilg.bench1d.baseline_table` and :func:`rs_ilg.runners.run_grid`).
    """
    missing = [c for c in [*by, "N"] if c not in per_galaxy.columns]
    if missing:
        raise KeyError(f"summarise_runs: missing columns {missing}")
    rows = []
    for key, df in per_galaxy.groupby(list(by), sort=False):
        key = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(by, key)), **model_statistics(df)})
    return pd.DataFrame(rows)


def summary_stats(table: pd.DataFrame) -> pd.DataFrame:
    """Median and mean of each chi2/N column of a :func:`rs_ilg.bench1d.baseline_table` (rows: median, mean,
    n_galaxies; columns: :data:`CHI2_COLUMNS`)."""
    st = model_statistics(table)
    out = pd.DataFrame({col: [st[f"median_{m}"], st[f"mean_{m}"], int(table[col].notna().sum())]
                        for col, m in MODELS.items()}, index=["median", "mean", "n_galaxies"])  # fmt: skip
    out.index.name = "statistic"
    return out


def ablation_table(per_galaxy: pd.DataFrame, baseline: str = "baseline") -> pd.DataFrame:
    """What each ablation changes, per mode: :func:`summarise_runs` by (mode, variant) plus the change of the
    ILG median against ``baseline`` (absolute and relative) and the largest per-galaxy |Δ chi2/N| on the
    galaxies both scored (0 means the switch did nothing, as several of the original's did; spec §10).

    ``per_galaxy`` needs ``mode``, ``variant``, ``galaxy``, ``N`` and :data:`CHI2_COLUMNS`.
    """
    out = summarise_runs(per_galaxy, by=("mode", "variant"))
    base = per_galaxy[per_galaxy["variant"] == baseline].set_index(["mode", "galaxy"])["chi2_over_N"]
    if base.empty:
        raise ValueError(f"ablation_table: no rows for the baseline variant {baseline!r}")
    deltas = []
    for (_mode, _variant), df in per_galaxy.groupby(["mode", "variant"], sort=False):
        joined = df.set_index(["mode", "galaxy"])["chi2_over_N"].to_frame("v").join(base.rename("b"), how="inner")
        deltas.append(float(np.max(np.abs(joined["v"] - joined["b"]))) if len(joined) else float("nan"))
    out["max_abs_delta_vs_baseline"] = deltas
    medians = out["mode"].map(out[out["variant"] == baseline].set_index("mode")["median_ilg"])
    out["delta_median_vs_baseline"] = out["median_ilg"] - medians
    out["rel_change_median_vs_baseline"] = out["delta_median_vs_baseline"] / medians
    return out


def variant_metrics(per_mode: Mapping[str, pd.DataFrame]) -> dict[str, float]:
    """``{"<mode>.median_<model>": value}`` of one ablation variant (mode -> its per-galaxy table), from
    :func:`model_statistics`."""
    metrics: dict[str, Any] = {}
    for mode, df in per_mode.items():
        st = model_statistics(df)
        metrics.update({f"{mode}.median_{m}": st[f"median_{m}"] for m in MODELS.values()})
    return metrics


def collect_runs(runs: Mapping[str, pd.DataFrame], *, mode: str) -> pd.DataFrame:
    """One long table of per-galaxy results: mode, run (the key of ``runs``, e.g. ``1d_accel``, ``2d``, ``3d``),
    galaxy, N and the :data:`CHI2_COLUMNS`."""
    cols = ["galaxy", "N", *CHI2_COLUMNS]
    parts = [df[cols].assign(run=run) for run, df in runs.items()]
    return pd.concat(parts, ignore_index=True).assign(mode=mode)


def run_metrics(summary: pd.DataFrame) -> dict[str, float]:
    """``{"<mode>.<run>.median_<model>": value}`` from a :func:`summarise_runs` table by (mode, run)."""
    return {f"{r['mode']}.{r['run']}.median_{m}": float(r[f"median_{m}"])
            for _, r in summary.iterrows() for m in MODELS.values()}  # fmt: skip


def best_1d_runs(summary: pd.DataFrame) -> dict[str, str]:
    """Per mode, the 1D run (``run`` starting with ``1d_``) with the lowest median ILG chi2/N."""
    one_d = summary[summary["run"].str.startswith("1d_")]
    return {str(m): str(df.loc[df["median_ilg"].idxmin(), "run"]) for m, df in one_d.groupby("mode", sort=False)}
