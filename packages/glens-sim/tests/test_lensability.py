"""Lensability score: the original run's published scores (spec §2.8), hard rejects, tiers."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from glens_sim.lensability import LensabilityConfig, lensability_score, score_table, tier_of

# plateifu, flux_max, vel_std, vel_grad, mask_fraction, frac_1.5Re, corr, published score, tier
REFERENCE = [
    ("8593-12705", 203.25, 166.37, 8.846, 0.522, 0.985, -0.052, 94, "elite"),
    ("8993-12705", 242.33, 118.71, 7.592, 0.476, 0.987, 0.055, 88, "elite"),
    ("11982-9102", 142.81, 75.03, 5.514, 0.500, 0.970, -0.060, 86, "elite"),
    ("10500-12703", 182.25, 89.75, 5.131, 0.511, 1.000, -0.043, 86, "elite"),
    ("11013-6101", 267.18, 84.37, 3.943, 0.567, 1.000, -0.187, 80, "elite"),
    ("9487-9102", 225.16, 67.02, 3.952, 0.517, 0.993, -0.087, 74, "good"),
    ("8652-12703", 159.06, 114.07, 7.073, 0.476, 0.760, -0.002, 72, "good"),
    ("12071-12702", 315.04, 100.81, 5.218, 0.491, 0.533, 0.053, 0, "reject"),
    ("7443-12703", 164.29, 47.33, 1.810, 0.487, 1.000, -0.067, 0, "reject"),
    ("12685-9101", 163.47, 79.11, 1.996, 0.514, 1.000, -0.351, 0, "reject"),
]


def _row(flux_max, vel_std, vel_grad, mask_fraction, frac, corr, **extra) -> dict:
    row = {
        "flux_max": flux_max, "vel_std": vel_std, "vel_grad": vel_grad,
        "mask_fraction": mask_fraction, "frac_valid_in_1.5Re": frac, "flux_vel_corr": corr,
        "flag_low_rotation": not vel_grad >= 2.0, "flag_heavily_masked": mask_fraction > 0.7,
        "flag_low_flux": not flux_max >= 5.0, "status": "OK",
    }  # fmt: skip
    row["usable"] = not (row["flag_low_rotation"] or row["flag_heavily_masked"] or row["flag_low_flux"])
    return row | extra


@pytest.mark.parametrize("ref", REFERENCE, ids=[r[0] for r in REFERENCE])
def test_reproduces_published_scores(ref):
    _, *metrics, score, tier = ref
    res = lensability_score(_row(*metrics))
    assert res.score == score and res.tier == tier
    assert res.hard_reject == (tier == "reject")


def test_reject_reasons():
    by_name = {r[0]: r for r in REFERENCE}
    notes = lambda name: " ".join(lensability_score(_row(*by_name[name][1:7])).notes)  # noqa: E731
    assert "frac_valid_in_1.5Re" in notes("12071-12702")
    assert "vel_std" in notes("7443-12703") and "vel_grad" in notes("7443-12703")
    assert "flag_low_rotation" in notes("12685-9101")


@pytest.mark.parametrize(
    "change",
    [{"vel_std": 49.9}, {"flux_max": 49.0}, {"frac_valid_in_1.5Re": 0.59}, {"vel_grad": 2.49},
     {"flag_heavily_masked": True}, {"usable": False}, {"vel_std": math.nan},
     {"frac_valid_in_1.5Re": None}, {"status": "ERROR: x.fits: truncated"}],
)  # fmt: skip
def test_each_hard_reject(change):
    best = _row(300.0, 150.0, 9.0, 0.3, 1.0, 0.0)
    assert lensability_score(best).score == 98  # maximum attainable
    res = lensability_score(best | change)
    assert (res.score, res.tier, res.hard_reject) == (0.0, "reject", True)


def test_flag_strings_from_csv_are_understood():
    row = _row(300.0, 150.0, 9.0, 0.3, 1.0, 0.0) | {"usable": "False"}
    assert lensability_score(row).hard_reject
    row = _row(300.0, 150.0, 9.0, 0.3, 1.0, 0.0) | {"usable": "True", "flag_low_flux": "False"}
    assert not lensability_score(row).hard_reject


def test_corr_penalty_and_clip():
    base = _row(60.0, 55.0, 2.6, 0.69, 0.61, 0.9)  # 12 + 16 + 8 + 2 + 1 - 5 = 34
    res = lensability_score(base)
    assert res.score == 34 and res.tier == "reject" and not res.hard_reject


def test_tiers_inclusive():
    cfg = LensabilityConfig()
    assert [tier_of(s, cfg) for s in (80, 79.99, 60, 59.99, 40, 39.99)] == [
        "elite", "good", "good", "borderline", "borderline", "reject",
    ]  # fmt: skip


def test_score_table_columns_and_order():
    q = pd.DataFrame([_row(*r[1:7]) | {"plateifu": r[0]} for r in REFERENCE[::-1]])
    scored = score_table(q)
    assert list(scored["plateifu"][:2]) == ["8593-12705", "8993-12705"]
    assert scored["lens_score"].is_monotonic_decreasing
    assert {"lens_score", "lens_tier", "lens_hard_reject", "lens_notes"} <= set(scored.columns)
    assert len(q) == len(scored) and "lens_score" not in q.columns


def test_select_sources_is_one_rule():
    import pandas as pd

    from glens_sim.lensability import SourceSelection, select_sources

    scored = pd.DataFrame({"plateifu": list("abcde"), "file": [f"{c}.fits" for c in "abcde"],
                           "lens_tier": ["elite", "good", "borderline", "reject", "reject"],
                           "lens_hard_reject": [False, False, False, False, True]})
    assert list(select_sources(scored)["plateifu"]) == ["a", "b"]
    assert list(select_sources(scored, SourceSelection(tiers=("borderline", "reject")))["plateifu"]) == ["c", "d"]
    with pytest.raises(ValueError, match="tiers"):
        SourceSelection(tiers=("great",))
    with pytest.raises(ValueError, match="tier"):
        SourceSelection(tiers=())
    with pytest.raises(ValueError, match="lens_tier"):
        select_sources(scored.drop(columns="lens_tier"))
