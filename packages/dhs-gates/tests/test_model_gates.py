"""Model gates with a model that looks for arcs (built to pass) and one that only looks at the core (to fail)."""

from __future__ import annotations

import numpy as np
import pytest

from dhs_gates import (
    arc_suppressed,
    centre_masked_drop,
    core_masked_drop,
    gate_inputs,
    hardneg_auroc,
    null_injection,
    synthetic_auroc,
)
from dhs_gates.images import fill_from_outside, radius_image

from .conftest import arc_scorer, core_scorer


def _shuffle_arc(stamp: np.ndarray, ctrl: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    from dhs_train.augment import hard_negative  # dhs-train's definition (imports torch: test side only)

    return hard_negative(stamp, ctrl, rng)


def test_an_arc_model_passes_every_model_gate(clean_store) -> None:
    d = gate_inputs(clean_store)
    scores = arc_scorer(d.stamps)
    assert synthetic_auroc(scores, d.labels).status == "passed"
    assert null_injection(scores[d.labels == 0]).status == "passed"
    assert arc_suppressed(arc_scorer, d.positives).status == "passed"
    centre = centre_masked_drop(arc_scorer, d.positives)
    assert centre.status == "passed" and centre.details["reliance"] == "low"
    assert [r["radius_pix"] for r in centre.details["by_radius"]] == [8.0, 10.0, 12.0]
    assert core_masked_drop(arc_scorer, d.stamps, d.labels).status == "passed"
    hard = _shuffle_arc(d.pair_stamps, d.pair_ctrls, np.random.default_rng(0))
    assert hardneg_auroc(arc_scorer, d.pair_stamps, hard).status == "passed"


def test_a_core_only_model_fails_them(clean_store, shortcut_store) -> None:
    s = gate_inputs(shortcut_store)
    assert synthetic_auroc(core_scorer(s.stamps), s.labels).status == "passed"  # it does separate this data...
    assert arc_suppressed(core_scorer, s.positives).status == "failed"  # ...but not by the arc
    centre = centre_masked_drop(core_scorer, s.positives)
    assert centre.status == "failed" and centre.details["reliance"] == "high"
    assert core_masked_drop(core_scorer, s.stamps, s.labels).status == "failed"
    hard = _shuffle_arc(s.pair_stamps, s.pair_ctrls, np.random.default_rng(0))
    assert hardneg_auroc(core_scorer, s.pair_stamps, hard).status == "failed"
    c = gate_inputs(clean_store)
    assert null_injection(core_scorer(c.negatives)).status == "failed"


def test_no_model_is_not_run_never_a_pass(clean_store) -> None:
    d = gate_inputs(clean_store)
    for res in (synthetic_auroc(None, d.labels), null_injection(None), arc_suppressed(None, d.positives),
                centre_masked_drop(None, d.positives), core_masked_drop(None, d.stamps, d.labels),
                hardneg_auroc(None, d.positives, d.negatives), hardneg_auroc(arc_scorer, d.positives, None)):
        assert res.status == "not run" and res.passed is None and res.reason


def test_a_broken_scorer_is_reported(clean_store) -> None:
    d = gate_inputs(clean_store)
    res = arc_suppressed(lambda x: np.full(len(x), np.nan), d.positives)
    assert res.status == "not run" and "NaN" in res.reason
    assert "scores for" in centre_masked_drop(lambda x: np.zeros(3), d.positives).reason


def test_fill_from_outside_draws_only_from_the_source_ring() -> None:
    rng = np.random.default_rng(0)
    r = radius_image(64, 64)
    x = np.where(r >= 16, 5.0, -1.0)[None, None].repeat(2, 0).repeat(3, 1).astype(np.float32)
    out = fill_from_outside(x, 0.0, 8.0, 16.0, rng)
    assert (out[:, :, r < 8] == 5.0).all() and (out[:, :, (r >= 8) & (r < 16)] == -1.0).all()
    med = fill_from_outside(x, 0.0, 5.0, 5.0, rng, how="median")
    assert med[0, 0, 32, 32] == pytest.approx(np.median(x[0, 0][r >= 5]))
