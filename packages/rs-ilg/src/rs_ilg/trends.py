"""Trend checks (original ``compute_trends.py``): median |standardised residual| of a rotation-curve run by
threads bin xi_bin and by radius bin r/R_d, with the Newtonian (v = v_bar) and MOND baselines on exactly
the same points.

Residual of a point: (Vobs - v_model)/sigma_eff with error model A (spec 4). Radius bins of r/R_d:
[0.3, 1), [1, 2), [2, 3), [3, inf).

Which points, and which R_d (spec 12.23):

- ``point_set="features_rd"`` (compat, what the original did): R_d is the *feature builder's derived*
  R_d' (``Rd_kpc`` of features.json). The mask is r >= 0.3 R_d' with a finite v_model, sigma_eff is
  recomputed with b = 0.3 R_d' and R_d', the dwarf flag from the last 3 of those points, and r/R_d uses
  R_d'. This is a different point set from the one the runner scored.
- ``point_set="runner"`` (corrected): the runner's own point set and errors. When the points carry
  ``evaluated`` and ``sigma``/``sigma_eff`` columns they are used as they are; otherwise they are rebuilt
  with the runner's R_d (``rd_kpc``, the master table's R_d): b = 0.3 R_d, finite v_model, dwarf flag from
  the last 3 evaluated points. r/R_d uses the same R_d.

Inputs are in-memory: a points frame (columns galaxy, r_kpc, v_obs, v_err or e_v, v_baryon, v_model,
optionally v_mond, evaluated, sigma/sigma_eff; :func:`read_run_points` builds one from a runner's
folder), a features table (galaxy, Rd_kpc, xi_bin; :func:`rs_ilg.features.load_feature_table` or
``FeatureSet.to_frame()``) and, for the runner point set, the runner's R_d per galaxy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd

from pydantic import Field

from . import atomicio
from .config import config_dataclass
from .constants import MASK_RD_FRACTION
from .error_model import outer_vobs_dwarf, sigma_eff
from .kernels1d import mond_velocity
from .modes import ModeConfig

__all__ = ["R_BINS", "TrendConfig", "TrendResult", "read_run_points", "trend_points", "compute_trends",
           "write_trends"]

#: r/R_d bin edges of the original: [0.3, 1), [1, 2), [2, 3), [3, inf).
R_BINS: tuple[float, ...] = (0.3, 1.0, 2.0, 3.0, math.inf)
#: Model columns summarised: ILG model, Newtonian (K = 1: v = v_bar), MOND.
MODEL_COLUMNS: tuple[tuple[str, str], ...] = (("model", "v_model"), ("newton", "v_baryon"), ("mond", "v_mond"))


@config_dataclass
class TrendConfig:
    """point_set: ``"features_rd"`` (compat) or ``"runner"`` (corrected), see the module docstring;
    r_bins: increasing r/R_d bin edges; mask_fraction: b = mask_fraction R_d when points are rebuilt."""

    point_set: Literal["features_rd", "runner"] = "features_rd"
    r_bins: tuple[float, ...] = R_BINS
    mask_fraction: Annotated[float, Field(ge=0)] = MASK_RD_FRACTION

    @classmethod
    def from_mode(cls, mode: ModeConfig, **overrides: Any) -> TrendConfig:
        """The trend of ``mode``: its ``trend_point_set`` unless ``overrides`` say otherwise."""
        return cls(**{"point_set": mode.trend_point_set, **overrides})

    def __post_init__(self) -> None:
        if len(self.r_bins) < 2 or any(b <= a for a, b in zip(self.r_bins, self.r_bins[1:])):
            raise ValueError(f"r_bins must be increasing, got {self.r_bins}")


@dataclass
class TrendResult:
    """``points``: one row per evaluated point (galaxy, r_kpc, R_d_kpc, r_over_Rd, r_bin, xi_bin,
    abs_resid_model, abs_resid_newton, abs_resid_mond); ``by_xi`` and ``by_radius``: per bin n_points,
    n_galaxies and the median |resid| of each model; ``per_galaxy``: N and chi2/N of each model on the
    trend's point set; ``checks``: whether the model's medians decrease with xi_bin and increase with
    radius (the original's claims)."""

    points: pd.DataFrame
    by_xi: pd.DataFrame
    by_radius: pd.DataFrame
    per_galaxy: pd.DataFrame
    checks: dict[str, bool]


def read_run_points(run_dir: str | Path, suffix: str | None = None) -> pd.DataFrame:
    """Concatenate a runner's per-galaxy CSVs (``<Galaxy>_3d_proxy.csv`` / ``_2d_proxy.csv``) listed in
    its ``summary.csv``, adding a ``galaxy`` column. ``suffix`` defaults to whichever of the two exists."""
    run_dir = Path(run_dir)
    summ = run_dir / "summary.csv"
    if not summ.is_file():
        raise FileNotFoundError(f"{summ}: runner summary not found")
    names = pd.read_csv(summ)["galaxy"].astype(str).tolist()
    frames = []
    for n in names:
        sfx = suffix
        if sfx is None:
            sfx = next((s for s in ("_3d_proxy.csv", "_2d_proxy.csv") if (run_dir / f"{n}{s}").is_file()), None)
            if sfx is None:
                raise FileNotFoundError(f"{run_dir}: no per-galaxy CSV for {n!r} (listed in {summ})")
        p = run_dir / f"{n}{sfx}"
        if not p.is_file():
            raise FileNotFoundError(f"{p}: per-galaxy CSV listed in {summ} is missing")
        df = pd.read_csv(p)
        need = {"r_kpc", "v_obs", "v_baryon", "v_model"} - set(df.columns)
        if need or not ({"v_err", "e_v"} & set(df.columns)):
            raise ValueError(f"{p}: missing column(s) {sorted(need) or ['v_err']}")
        df.insert(0, "galaxy", n)
        frames.append(df)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["galaxy"])


def _bin_labels(edges: tuple[float, ...]) -> list[str]:
    return [f"[{a:g},{b:g})" if math.isfinite(b) else f">={a:g}" for a, b in zip(edges, edges[1:])]


def trend_points(
    points: pd.DataFrame, features: pd.DataFrame, config: TrendConfig, *,
    rd_kpc: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """The evaluated points of the trend with their |standardised residuals| (see :class:`TrendResult`).

    Galaxies absent from ``features`` are left out (the original joins on name); with
    ``point_set="runner"`` and no ``evaluated``/``sigma`` columns, ``rd_kpc`` must cover every galaxy.
    """
    feat = features.set_index("galaxy")
    missing_cols = {"galaxy", "r_kpc", "v_obs", "v_baryon", "v_model"} - set(points.columns)
    if missing_cols:
        raise ValueError(f"points frame lacks column(s) {sorted(missing_cols)}")
    err_col = "v_err" if "v_err" in points.columns else "e_v"
    sig_col = next((c for c in ("sigma_eff", "sigma") if c in points.columns), None)
    have_runner = config.point_set == "runner" and "evaluated" in points.columns and sig_col is not None
    out = []
    for name, df in points.groupby("galaxy", sort=False):
        if name not in feat.index:
            continue
        r = df["r_kpc"].to_numpy(float)
        vo = df["v_obs"].to_numpy(float)
        vm = df["v_model"].to_numpy(float)
        vb = df["v_baryon"].to_numpy(float)
        vmond = df["v_mond"].to_numpy(float) if "v_mond" in df.columns else mond_velocity(r, vb)
        if config.point_set == "features_rd":
            rd = float(feat.at[name, "Rd_kpc"])
        else:
            if rd_kpc is None or name not in rd_kpc:
                if not have_runner:
                    raise KeyError(f"runner R_d missing for galaxy {name!r} (pass rd_kpc)")
                rd = math.nan
            else:
                rd = float(rd_kpc[name])
        if have_runner:
            ev = df["evaluated"].to_numpy(bool) & np.isfinite(vm)
            sig = df[sig_col].to_numpy(float)
        else:
            b = config.mask_fraction * rd
            ev = np.isfinite(vm) & (r >= b)
            sig = sigma_eff(r, vo, df[err_col].to_numpy(float), b_kpc=b, R_d_kpc=rd, dwarf=outer_vobs_dwarf(vo[ev]))
        out.append(pd.DataFrame({
            "galaxy": name, "r_kpc": r[ev], "R_d_kpc": rd, "r_over_Rd": r[ev] / rd if rd > 0 else np.nan,
            "xi_bin": int(feat.at[name, "xi_bin"]), "v_obs": vo[ev], "sigma": sig[ev],
            "abs_resid_model": np.abs(vo[ev] - vm[ev]) / sig[ev],
            "abs_resid_newton": np.abs(vo[ev] - vb[ev]) / sig[ev],
            "abs_resid_mond": np.abs(vo[ev] - vmond[ev]) / sig[ev],
        }))  # fmt: skip
    cols = ["galaxy", "r_kpc", "R_d_kpc", "r_over_Rd", "xi_bin", "v_obs", "sigma", "abs_resid_model",
            "abs_resid_newton", "abs_resid_mond"]  # fmt: skip
    pts = pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=cols)
    labels = _bin_labels(config.r_bins)
    idx = np.searchsorted(np.asarray(config.r_bins), pts["r_over_Rd"].to_numpy(float), side="right") - 1
    pts["r_bin"] = [labels[i] if 0 <= i < len(labels) else None for i in idx]
    return pts


def _medians(pts: pd.DataFrame, key: str, order: list) -> pd.DataFrame:
    rows = []
    for k in order:
        sub = pts[pts[key] == k]
        row = {key: k, "n_points": len(sub), "n_galaxies": sub["galaxy"].nunique()}
        for tag, _ in MODEL_COLUMNS:
            row[f"median_abs_resid_{tag}"] = float(sub[f"abs_resid_{tag}"].median()) if len(sub) else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


def compute_trends(
    points: pd.DataFrame, features: pd.DataFrame, config: TrendConfig, *,
    rd_kpc: Mapping[str, float] | None = None, bins: int = 5,
) -> TrendResult:
    """Trend tables of a run (see :class:`TrendResult` and the module docstring)."""
    pts = trend_points(points, features, config, rd_kpc=rd_kpc)
    by_xi = _medians(pts, "xi_bin", list(range(bins)))
    labels = _bin_labels(config.r_bins)
    by_r = _medians(pts, "r_bin", labels)
    by_r.insert(1, "lo", list(config.r_bins[:-1]))
    by_r.insert(2, "hi", list(config.r_bins[1:]))
    per = []
    for name, df in pts.groupby("galaxy", sort=False):
        row = {"galaxy": name, "N": len(df)}
        for tag, _ in MODEL_COLUMNS:
            z = df[f"abs_resid_{tag}"].to_numpy(float)
            row["chi2_over_N" if tag == "model" else f"chi2_over_N_{tag}"] = float(np.mean(z * z))
        per.append(row)
    per_galaxy = pd.DataFrame(per, columns=["galaxy", "N", "chi2_over_N", "chi2_over_N_newton", "chi2_over_N_mond"])
    mx = by_xi["median_abs_resid_model"].dropna().to_numpy()
    mr = by_r["median_abs_resid_model"].dropna().to_numpy()
    checks = {"decreasing_with_xi": bool(mx.size > 1 and np.all(np.diff(mx) < 0)),
              "increasing_with_radius": bool(mr.size > 1 and np.all(np.diff(mr) > 0))}  # fmt: skip
    return TrendResult(points=pts, by_xi=by_xi, by_radius=by_r, per_galaxy=per_galaxy, checks=checks)


def write_trends(result: TrendResult, out_dir: str | Path) -> Path:
    """Write ``trend_by_xi.csv``, ``trend_by_radius.csv``, ``trend_per_galaxy.csv``, ``trend_points.csv`` and
    ``trend_checks.json`` (atomically)."""
    root = Path(out_dir)
    atomicio.write_text(root / "trend_by_xi.csv", result.by_xi.to_csv(index=False))
    atomicio.write_text(root / "trend_by_radius.csv", result.by_radius.to_csv(index=False))
    atomicio.write_text(root / "trend_per_galaxy.csv", result.per_galaxy.to_csv(index=False))
    atomicio.write_text(root / "trend_points.csv", result.points.to_csv(index=False))
    atomicio.write_json(root / "trend_checks.json", result.checks)
    return root
