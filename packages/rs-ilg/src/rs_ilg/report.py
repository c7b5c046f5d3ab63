"""Summary tables that put every ILG run beside the Newtonian (K = 1) and MOND baselines on the same points."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

CHI2_COLUMNS = ["chi2_over_N", "chi2_over_N_newton", "chi2_over_N_mond"]


def summarise_runs(per_galaxy: pd.DataFrame, by: Sequence[str] = ("mode", "run")) -> pd.DataFrame:
    """One row per group of ``by``: galaxies, points, median and mean chi2/N of ILG, Newtonian and MOND on the
    same points, and the fraction of galaxies where ILG beats each baseline (lower chi2/N).

    ``per_galaxy`` needs the ``by`` columns, ``N`` and :data:`CHI2_COLUMNS` (as produced by
    :func:`rs_ilg.bench1d.baseline_table` and :func:`rs_ilg.runners.run_grid`).
    """
    missing = [c for c in [*by, "N", *CHI2_COLUMNS] if c not in per_galaxy.columns]
    if missing:
        raise KeyError(f"summarise_runs: missing columns {missing}")
    rows = []
    for key, df in per_galaxy.groupby(list(by), sort=False):
        key = key if isinstance(key, tuple) else (key,)
        ilg, newton, mond = (df[c].to_numpy(float) for c in CHI2_COLUMNS)
        rows.append({
            **dict(zip(by, key)), "n_galaxies": len(df), "n_points": int(df["N"].sum()),
            "median_ilg": float(np.median(ilg)), "median_newton": float(np.median(newton)),
            "median_mond": float(np.median(mond)), "mean_ilg": float(np.mean(ilg)),
            "mean_newton": float(np.mean(newton)), "mean_mond": float(np.mean(mond)),
            "frac_ilg_beats_newton": float(np.mean(ilg < newton)), "frac_ilg_beats_mond": float(np.mean(ilg < mond)),
        })  # fmt: skip
    return pd.DataFrame(rows)


def ablation_table(per_galaxy: pd.DataFrame, baseline: str = "baseline") -> pd.DataFrame:
    """What each ablation changes, per mode: :func:`summarise_runs` by (mode, variant) plus the change of the
    ILG median against ``baseline`` and the largest per-galaxy |Δ chi2/N| on the galaxies both scored
    (0 means the switch did nothing, as several of the original's did; spec §10).

    ``per_galaxy`` needs ``mode``, ``variant``, ``galaxy``, ``N`` and :data:`CHI2_COLUMNS`.
    """
    out = summarise_runs(per_galaxy, by=("mode", "variant"))
    base = per_galaxy[per_galaxy["variant"] == baseline].set_index(["mode", "galaxy"])["chi2_over_N"]
    if base.empty:
        raise ValueError(f"ablation_table: no rows for the baseline variant {baseline!r}")
    deltas = []
    for (mode, _variant), df in per_galaxy.groupby(["mode", "variant"], sort=False):
        joined = df.set_index(["mode", "galaxy"])["chi2_over_N"].to_frame("v").join(base.rename("b"), how="inner")
        deltas.append(float(np.max(np.abs(joined["v"] - joined["b"]))) if len(joined) else float("nan"))
    out["max_abs_delta_vs_baseline"] = deltas
    medians = out[out["variant"] == baseline].set_index("mode")["median_ilg"]
    out["delta_median_vs_baseline"] = out["median_ilg"] - out["mode"].map(medians)
    return out
