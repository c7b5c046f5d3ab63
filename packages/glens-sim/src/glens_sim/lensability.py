"""Lensability score of a galaxy from its quality metrics (spec §2.4).

Score ∈ [0, 100] with tiers ``elite`` (≥ 80), ``good`` (≥ 60), ``borderline`` (≥ 40), ``reject``
(inclusive lower bounds). Hard rejects (score 0, tier ``reject``): status ≠ ``"OK"``; upstream
``usable`` False; any quality flag; ``flux_max < 50``; ``frac_valid_in_1.5Re < 0.60``;
``vel_grad < 2.5`` km/s/spaxel; ``vel_std < 50`` km/s. A missing (NaN) metric used by a hard
rule is a hard reject too (the original crashed instead). Otherwise points are added per metric
band and clipped to [0, 100]; the maximum attainable is 98:

=====================  ==================================================
vel_grad               ≥ 5 → 30; [3, 5) → 22; [2.5, 3) → 12
frac_valid_in_1.5Re    ≥ 0.9 → 30; [0.8, 0.9) → 24; [0.6, 0.8) → 16
vel_std                ≥ 120 → 20; [70, 120) → 14; [50, 70) → 8
mask_fraction          ≤ 0.4 → 10; (0.4, 0.6] → 6; (0.6, 0.7] → 2; else 0
flux_max               ≥ 200 → 5; [100, 200) → 3; [50, 100) → 1
|flux_vel_corr|        ≤ 0.2 → +3; (0.2, 0.4] → 0; > 0.4 → −5 (NaN → 0)
=====================  ==================================================

The point system is arbitrary; the hard cuts carry the science.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import pandas as pd
from pydantic import field_validator

from .validation import config_dataclass

__all__ = [
    "TIERS",
    "LensabilityConfig",
    "LensabilityResult",
    "SourceSelection",
    "lensability_score",
    "score_table",
    "select_sources",
    "tier_of",
]

Tier = Literal["elite", "good", "borderline", "reject"]
#: Tier names, best first.
TIERS: tuple[str, ...] = ("elite", "good", "borderline", "reject")


@config_dataclass
class LensabilityConfig:
    """Hard-reject thresholds and tier bounds (defaults = the original work's).

    min_flux_max (1e-17 erg/s/cm²/spaxel), min_frac_valid_1p5re, min_vel_grad (km/s per spaxel),
    min_vel_std (km/s): hard rejects below these. tier_elite, tier_good, tier_borderline:
    inclusive lower score bounds of the tiers (descending).
    """

    min_flux_max: float = 50.0
    min_frac_valid_1p5re: float = 0.60
    min_vel_grad: float = 2.5
    min_vel_std: float = 50.0
    tier_elite: float = 80.0
    tier_good: float = 60.0
    tier_borderline: float = 40.0


@config_dataclass
class SourceSelection:
    """Which scored galaxies become lensed sources: those of ``tiers`` (never a hard reject)."""

    tiers: tuple[Tier, ...] = ("elite", "good")

    @field_validator("tiers")
    @classmethod
    def _some(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("name at least one tier")
        return value


@dataclass(frozen=True)
class LensabilityResult:
    score: float
    tier: str
    hard_reject: bool
    notes: tuple[str, ...]


def _num(row: Mapping, key: str) -> float:
    value = row.get(key, math.nan)
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _truthy(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value) and not (isinstance(value, float) and math.isnan(value))


def tier_of(score: float, config: LensabilityConfig = LensabilityConfig()) -> str:
    """Tier name of a score (inclusive lower bounds)."""
    if score >= config.tier_elite:
        return "elite"
    if score >= config.tier_good:
        return "good"
    if score >= config.tier_borderline:
        return "borderline"
    return "reject"


def _band_points(value: float, bands: list[tuple[float, float]]) -> float:
    """Points of the first ``(lower_bound, points)`` band with ``value >= lower_bound``."""
    for lower, points in bands:
        if value >= lower:
            return points
    return 0.0


def lensability_score(row: Mapping, config: LensabilityConfig = LensabilityConfig()) -> LensabilityResult:
    """Score one quality-table row (a dict or a pandas Series)."""
    status = str(row.get("status", "OK"))
    if status != "OK":
        return LensabilityResult(0.0, "reject", True, (f"status: {status}",))

    vel_grad = _num(row, "vel_grad")
    frac = _num(row, "frac_valid_in_1.5Re")
    vel_std = _num(row, "vel_std")
    mask_fraction = _num(row, "mask_fraction")
    flux_max = _num(row, "flux_max")
    corr = _num(row, "flux_vel_corr")

    reasons = []
    if "usable" in row and not _truthy(row["usable"]):
        reasons.append("not usable (quality flags)")
    for flag in ("flag_low_rotation", "flag_heavily_masked", "flag_low_flux"):
        if flag in row and _truthy(row[flag]):
            reasons.append(flag)
    for name, value, lo in (
        ("flux_max", flux_max, config.min_flux_max),
        ("frac_valid_in_1.5Re", frac, config.min_frac_valid_1p5re),
        ("vel_grad", vel_grad, config.min_vel_grad),
        ("vel_std", vel_std, config.min_vel_std),
    ):
        if math.isnan(value):
            reasons.append(f"{name} missing")
        elif value < lo:
            reasons.append(f"{name}={value:.3g} < {lo:g}")
    if reasons:
        return LensabilityResult(0.0, "reject", True, tuple(f"hard reject: {r}" for r in reasons))

    notes = []
    score = 0.0
    pts = _band_points(vel_grad, [(5.0, 30), (3.0, 22), (2.5, 12)])
    score += pts
    notes.append(f"vel_grad {vel_grad:.2f} → +{pts:g}")
    pts = _band_points(frac, [(0.9, 30), (0.8, 24), (0.6, 16)])
    score += pts
    notes.append(f"frac_valid_in_1.5Re {frac:.2f} → +{pts:g}")
    pts = _band_points(vel_std, [(120.0, 20), (70.0, 14), (50.0, 8)])
    score += pts
    notes.append(f"vel_std {vel_std:.1f} → +{pts:g}")
    if math.isnan(mask_fraction):
        pts = 0.0
    else:
        pts = 10 if mask_fraction <= 0.4 else 6 if mask_fraction <= 0.6 else 2 if mask_fraction <= 0.7 else 0
    score += pts
    notes.append(f"mask_fraction {mask_fraction:.2f} → +{pts:g}")
    pts = _band_points(flux_max, [(200.0, 5), (100.0, 3), (50.0, 1)])
    score += pts
    notes.append(f"flux_max {flux_max:.1f} → +{pts:g}")
    if not math.isnan(corr):
        pts = 3 if abs(corr) <= 0.2 else 0 if abs(corr) <= 0.4 else -5
        score += pts
        notes.append(f"|flux_vel_corr| {abs(corr):.2f} → {pts:+g}")
    score = min(max(score, 0.0), 100.0)
    return LensabilityResult(score, tier_of(score, config), False, tuple(notes))


def score_table(quality: pd.DataFrame, config: LensabilityConfig = LensabilityConfig()) -> pd.DataFrame:
    """Copy of a quality table with ``lens_score`` (2 decimals), ``lens_tier``,
    ``lens_hard_reject`` and ``lens_notes`` ("; "-joined), sorted by score (stable)."""
    results = [lensability_score(row, config) for row in quality.to_dict(orient="records")]
    out = quality.copy()
    out["lens_score"] = [round(r.score, 2) for r in results]
    out["lens_tier"] = [r.tier for r in results]
    out["lens_hard_reject"] = [r.hard_reject for r in results]
    out["lens_notes"] = ["; ".join(r.notes) for r in results]
    return out.sort_values("lens_score", ascending=False, kind="stable").reset_index(drop=True)


def select_sources(scored: pd.DataFrame, selection: SourceSelection = SourceSelection()) -> pd.DataFrame:
    """Rows of a scored table (:func:`score_table`) that become lensed sources, in table order.

    A row is kept when its ``lens_tier`` is one of ``selection.tiers`` and it is not a hard
    reject. The one rule used by the Kedro pipeline and ``glens-sim tensors``.

    Raises
    ------
    ValueError
        When the table lacks ``lens_tier`` / ``lens_hard_reject`` (not a scored table).
    """
    missing = [c for c in ("lens_tier", "lens_hard_reject") if c not in scored.columns]
    if missing:
        raise ValueError(f"not a scored table: no column(s) {missing}")
    keep = scored["lens_tier"].isin(selection.tiers) & ~scored["lens_hard_reject"].astype(bool)
    return scored[keep]
