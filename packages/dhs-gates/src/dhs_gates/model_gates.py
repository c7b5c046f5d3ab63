"""Gates that need a model, through a scoring callable ``scorer(stamps (N, C, H, W) float32 nMgy) -> (N,)``.

The scorer applies the model's own preprocessing (dhs-train's scoring); these gates modify the *sky* (nMgy
stamps) and look at how the scores move. No scorer (no checkpoint) → "not run": a model gate never reports a
verdict it did not measure (spec ``dhs.md`` §5.15).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .config import THRESHOLDS
from .images import check_stamps, fill_from_outside
from .result import GateResult, measured, not_run
from .stats import GateInputError, auc, check_labels, roc_points

Scorer = Callable[[np.ndarray], np.ndarray]

__all__ = [
    "Scorer",
    "arc_suppressed",
    "centre_masked_drop",
    "core_masked_drop",
    "hardneg_auroc",
    "null_injection",
    "score",
    "synthetic_auroc",
]


def score(scorer: Scorer, stamps: np.ndarray, batch: int = 512) -> np.ndarray:
    """Call ``scorer`` on ``stamps`` in batches; check the result is ``(N,)`` finite probabilities in [0, 1]."""
    x = check_stamps(stamps)
    out = np.concatenate([np.asarray(scorer(np.ascontiguousarray(x[s:s + batch], np.float32)), float).reshape(-1)
                          for s in range(0, len(x), batch)]) if len(x) else np.empty(0)
    if out.shape != (len(x),):
        raise GateInputError(f"scorer returned {out.shape[0]} scores for {len(x)} stamps")
    if not np.isfinite(out).all():
        raise GateInputError(f"scorer returned {int((~np.isfinite(out)).sum())} NaN/Inf scores")
    return out


def _subsample(x: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    return x if len(x) <= n else x[np.sort(rng.choice(len(x), size=n, replace=False))]


def _positive_sample(positives: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """At most ``n`` random positive stamps (checked); :class:`GateInputError` if there are none."""
    x = _subsample(check_stamps(positives), n, rng)
    if len(x) == 0:
        raise GateInputError("no positive stamps")
    return x


def synthetic_auroc(scores: np.ndarray | None, labels: np.ndarray,
                    threshold: float = THRESHOLDS.synthetic_auroc_min) -> GateResult:
    """Synthetic AUROC: ROC AUC of the model on the held-out (test) injections vs controls; pass iff > 0.85.

    Definition: seed ``003`` appendix, spec ``dhs.md`` §4.
    """
    name, definition = "synthetic_auroc", "ROC AUC of model scores, test positives vs test controls"
    if scores is None:
        return not_run(name, "no model scores (no checkpoint/scorer)", threshold=threshold, direction=">",
                       definition=definition)
    try:
        y = check_labels(labels, len(np.asarray(scores)))
        value = auc(y, scores)
    except GateInputError as err:
        return not_run(name, str(err), threshold=threshold, direction=">", definition=definition)
    return measured(name, value, threshold, ">", definition=definition, details={"roc": roc_points(y, scores)},
                    sample_sizes={"n_pos": int(y.sum()), "n_neg": int((y == 0).sum())})


def null_injection(scores: np.ndarray | None, *, max_rows: int = 1000, seed: int = 42,
                   mean_max: float = THRESHOLDS.null_mean_max,
                   frac_max: float = THRESHOLDS.null_frac_above_half_max) -> GateResult:
    """Gate 1.3 null injection: scores of ≤ ``max_rows`` random test controls (no arc) must stay low.

    Definition (seed ``004``, spec ``dhs.md`` §4): value = mean score; pass iff mean < 0.2 **and**
    frac(score > 0.5) < 0.1. ``scores`` are the model's scores of control stamps.
    """
    name, definition = "null_injection", f"mean score of ≤{max_rows} controls (<{mean_max}) and frac>0.5 (<{frac_max})"
    if scores is None or len(scores) == 0:
        return not_run(name, "no model scores of controls", threshold=mean_max, direction="<", definition=definition)
    s = _subsample(np.asarray(scores, float), max_rows, np.random.default_rng(seed))
    mean, frac = float(s.mean()), float((s > 0.5).mean())
    return measured(name, mean, mean_max, "<", definition=definition, passed=mean < mean_max and frac < frac_max,
                    details={"frac_above_0.5": frac, "frac_above_0.9": float((s > 0.9).mean()), "frac_max": frac_max,
                             "std": float(s.std())},
                    sample_sizes={"n_controls": len(s)})


def arc_suppressed(scorer: Scorer | None, positives: np.ndarray, *, inner: float = 10.0, outer: float = 25.0,
                   max_rows: int = 1000, seed: int = 42,
                   threshold: float = THRESHOLDS.arc_suppressed_mean_max) -> GateResult:
    """Gate 1.7 arc-suppressed: with the arc annulus replaced by outer sky the model must stop saying "lens".

    Definition (seed ``004``, spec ``dhs.md`` §4): in ≤ ``max_rows`` random positives, pixels ``inner ≤ r < outer``
    are replaced per image and band by values resampled with replacement from ``r ≥ outer``; value = mean score of
    the suppressed stamps; pass iff < 0.5.
    """
    name = "arc_suppressed"
    definition = f"mean score of positives with {inner:g}<=r<{outer:g} px resampled from r>={outer:g} (gate 1.7)"
    kw = {"threshold": threshold, "direction": "<", "definition": definition}
    if scorer is None:
        return not_run(name, "no model (no checkpoint/scorer)", **kw)
    rng = np.random.default_rng(seed)
    try:
        x = _positive_sample(positives, max_rows, rng)
        s = score(scorer, fill_from_outside(x, inner, outer, outer, rng))
        orig = score(scorer, x)
    except (GateInputError, ValueError) as err:
        return not_run(name, str(err), **kw)
    return measured(name, s.mean(), threshold, "<", definition=definition,
                    details={"mean_score_original": orig.mean(), "frac_above_0.5": (s > 0.5).mean()},
                    sample_sizes={"n_pos": len(x)})


def centre_masked_drop(scorer: Scorer | None, positives: np.ndarray, *, radii: Sequence[float] = (8.0, 10.0, 12.0),
                       max_rows: int = 500, seed: int = 42, threshold: float = THRESHOLDS.centre_masked_drop_max,
                       moderate: float = THRESHOLDS.centre_masked_moderate) -> GateResult:
    """Centre-masked diagnostic: relative drop of the mean score when the centre ``r < R`` is replaced by sky.

    Definition (seed ``004`` phase 2, spec ``dhs.md`` §4): for each R, pixels ``r < R`` of ≤ ``max_rows`` random
    positives are resampled (with replacement, per image and band) from ``r ≥ 2R``;
    ``drop(R) = (p̄_orig − p̄_masked)/p̄_orig``. Value = max over R; > 0.30 "high reliance" (fail),
    > 0.15 "moderate" (noted), else "low".
    """
    name = "centre_masked_drop"
    definition = "max over R of (mean p - mean p with r<R resampled from r>=2R)/mean p"
    kw = {"threshold": threshold, "direction": "<=", "definition": definition}
    if scorer is None:
        return not_run(name, "no model (no checkpoint/scorer)", **kw)
    rng = np.random.default_rng(seed)
    try:
        x = _positive_sample(positives, max_rows, rng)
        base = score(scorer, x).mean()
        if base <= 0:
            raise GateInputError("mean score of the unmasked positives is 0; relative drop undefined")
        per_r = []
        for radius in radii:
            masked = score(scorer, fill_from_outside(x, 0.0, radius, 2 * radius, rng)).mean()
            per_r.append({"radius_pix": radius, "mean_score": masked, "drop": (base - masked) / base})
    except (GateInputError, ValueError) as err:
        return not_run(name, str(err), **kw)
    worst = max(p["drop"] for p in per_r)
    reliance = "high" if worst > threshold else "moderate" if worst > moderate else "low"
    return measured(name, worst, threshold, "<=", definition=definition, reason=f"{reliance} reliance on the centre",
                    details={"by_radius": per_r, "mean_score_original": base, "reliance": reliance},
                    sample_sizes={"n_pos": len(x)})


def core_masked_drop(scorer: Scorer | None, stamps: np.ndarray, labels: np.ndarray, *, radius: float = 5.0,
                     max_rows: int = 1000, seed: int = 42,
                     threshold: float = THRESHOLDS.core_masked_drop_max) -> GateResult:
    """Core-masked drop: relative AUROC loss when ``r < radius`` is set to the image's own outer median.

    Definition (planb trainer, spec ``dhs.md`` §4, fill policy of §5.13 fixed to the planb one): pixels
    ``r < radius`` per image and band ← the median of that image/band's ``r ≥ radius`` (in nMgy, before the
    model's preprocessing); ``drop = (AUROC − AUROC_masked)/AUROC`` on ≤ ``max_rows`` random stamps; pass iff < 0.10.
    """
    name = "core_masked_drop"
    definition = f"(AUROC - AUROC with r<{radius:g} px set to median of r>={radius:g})/AUROC"
    kw = {"threshold": threshold, "direction": "<", "definition": definition}
    if scorer is None:
        return not_run(name, "no model (no checkpoint/scorer)", **kw)
    rng = np.random.default_rng(seed)
    try:
        x = check_stamps(stamps)
        y = check_labels(labels, len(x))
        keep = np.sort(rng.choice(len(x), size=min(max_rows, len(x)), replace=False))
        x, y = x[keep], check_labels(y[keep])
        a = auc(y, score(scorer, x))
        a_masked = auc(y, score(scorer, fill_from_outside(x, 0.0, radius, radius, rng, how="median")))
    except (GateInputError, ValueError) as err:
        return not_run(name, str(err), **kw)
    return measured(name, (a - a_masked) / a, threshold, "<", definition=definition,
                    details={"auroc": a, "auroc_masked": a_masked},
                    sample_sizes={"n_pos": int(y.sum()), "n_neg": int((y == 0).sum())})


def hardneg_auroc(scorer: Scorer | None, positives: np.ndarray, hard_negatives: np.ndarray | None, *,
                  max_rows: int = 1000, seed: int = 42,
                  threshold: float = THRESHOLDS.hardneg_auroc_min) -> GateResult:
    """Hard-negative AUROC: positives against real azimuthally shuffled negatives (label 0).

    Definition (spec ``dhs.md`` §4, §3.3, fixing §0.8 — upstream computed it on the ordinary test set):
    ``hard_negatives`` = ``ctrl + azimuthal_shuffle(stamp − ctrl)`` from dhs-train's ``hard_negative`` (the arc's
    flux kept, its morphology destroyed); ROC AUC of the scores of ≤ ``max_rows`` positives vs ≤ ``max_rows``
    hard negatives; pass iff > 0.70.
    """
    name, definition = "hardneg_auroc", "ROC AUC, positives vs azimuthally shuffled hard negatives"
    kw = {"threshold": threshold, "direction": ">", "definition": definition}
    if scorer is None:
        return not_run(name, "no model (no checkpoint/scorer)", **kw)
    if hard_negatives is None or len(hard_negatives) == 0:
        return not_run(name, "no hard negatives (needs paired rows: ctrl + shuffled arc residual)", **kw)
    rng = np.random.default_rng(seed)
    try:
        pos = _subsample(check_stamps(positives), max_rows, rng)
        neg = _subsample(check_stamps(hard_negatives, "hard_negatives"), max_rows, rng)
        y = np.r_[np.ones(len(pos), int), np.zeros(len(neg), int)]
        s = np.r_[score(scorer, pos), score(scorer, neg)]
        value = auc(y, s)
    except (GateInputError, ValueError) as err:
        return not_run(name, str(err), **kw)
    return measured(name, value, threshold, ">", definition=definition, details={"roc": roc_points(y, s)},
                    sample_sizes={"n_pos": len(pos), "n_neg": len(neg)})
