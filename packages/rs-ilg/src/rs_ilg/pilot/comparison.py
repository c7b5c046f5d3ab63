"""Imaging R_d against the proxy R_d, with bootstrap confidence intervals (spec section 9)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats


def bootstrap_ci(
    x: Sequence[float], statistic: Literal["median", "mean"] = "median", *, confidence: float = 0.95,
    n_resamples: int = 10000, seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the median or mean of ``x`` (NaNs dropped):
    ``scipy.stats.bootstrap(method="percentile", rng=numpy.random.default_rng(seed))``. Fewer than 2
    values give (NaN, NaN)."""
    v = np.asarray(x, dtype=float)
    v = v[np.isfinite(v)]
    if v.size < 2:
        return math.nan, math.nan
    fn = {"median": np.median, "mean": np.mean}[statistic]
    ci = stats.bootstrap((v,), fn, confidence_level=confidence, n_resamples=n_resamples, method="percentile",
                         rng=np.random.default_rng(seed)).confidence_interval  # fmt: skip
    return float(ci.low), float(ci.high)


def rd_comparison(
    pilot_table: pd.DataFrame, proxy_rd_kpc: Mapping[str, float], *, confidence: float = 0.95,
    n_resamples: int = 10000, seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Imaging R_d against proxy R_d (e.g. the master table's R_d for the mode).

    Returns (per-galaxy table: galaxy, R_d_imaging_kpc, R_d_proxy_kpc, ratio = imaging/proxy,
    diff_kpc = imaging - proxy, placeholder; summary: one row per quantity with n, median, its bootstrap
    CI, mean, its bootstrap CI, and n_placeholder, the number of rows whose imaging R_d came from the
    placeholder image and so says nothing about the galaxy). Galaxies without a proxy R_d are left out
    of the statistics but kept in the table with NaN.
    """
    t = pilot_table[["galaxy", "R_d_kpc", "placeholder"]].rename(columns={"R_d_kpc": "R_d_imaging_kpc"}).copy()
    t["R_d_proxy_kpc"] = [float(proxy_rd_kpc.get(g, math.nan)) for g in t["galaxy"]]
    t["ratio"] = t["R_d_imaging_kpc"] / t["R_d_proxy_kpc"]
    t["diff_kpc"] = t["R_d_imaging_kpc"] - t["R_d_proxy_kpc"]
    t = t[["galaxy", "R_d_imaging_kpc", "R_d_proxy_kpc", "ratio", "diff_kpc", "placeholder"]]
    ok = np.isfinite(t["ratio"].to_numpy())
    rows = []
    for q in ("R_d_imaging_kpc", "R_d_proxy_kpc", "ratio", "diff_kpc"):
        v = t.loc[ok, q].to_numpy(dtype=float)
        kw = dict(confidence=confidence, n_resamples=n_resamples, seed=seed)
        mlo, mhi = bootstrap_ci(v, "median", **kw)
        alo, ahi = bootstrap_ci(v, "mean", **kw)
        rows.append({"quantity": q, "n": int(v.size),
                     "median": float(np.median(v)) if v.size else math.nan, "median_ci_low": mlo, "median_ci_high": mhi,
                     "mean": float(np.mean(v)) if v.size else math.nan, "mean_ci_low": alo, "mean_ci_high": ahi,
                     "confidence": confidence, "n_placeholder": int(t.loc[ok, "placeholder"].sum())})  # fmt: skip
    return t.reset_index(drop=True), pd.DataFrame(rows)
