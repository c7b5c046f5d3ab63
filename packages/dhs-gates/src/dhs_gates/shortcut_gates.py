"""Shortcut gates on images without a model: can a simple model separate the classes from the core alone?

Every gate that looks at the model input calls dhs-train's ``preprocess(stamps, method, **options)`` with the
run's settings (``method=None``: the stamps already are the model input). Logistic-regression gates are always
out-of-fold and grouped by host LRG (:func:`dhs_gates.stats.oof_lr_scores`): a galaxy never sits in both folds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from dhs_train.preprocess import METHODS

from .config import THRESHOLDS
from .images import check_stamps, core_box, core_summary_stats, model_input, radial_profile, radius_image
from .result import GateResult, measured, not_run
from .stats import GateInputError, auc, check_labels, cohens_d, oof_lr_scores, roc_points

__all__ = [
    "core_brightness_matching",
    "core_lr_auc",
    "core_only_baseline",
    "normalisation_effect_size",
    "radial_profile_auc",
]


def _lr_gate(name: str, definition: str, features_fn: Callable[[], np.ndarray], stamps: Any, labels: Any,
             groups: Any, threshold: float, n_splits: int, seed: int) -> GateResult:
    kw = {"threshold": threshold, "direction": "<", "definition": definition}
    try:
        x = check_stamps(stamps)
        y = check_labels(labels, len(x))
        if groups is None:
            raise GateInputError("groups (the host LRG id per stamp) are required for grouped CV")
        g = np.asarray(groups)
        if g.ndim != 1 or len(g) != len(y):
            raise GateInputError(f"groups has {g.size} entries (shape {g.shape}) but there are {len(y)} stamps")
        oof = oof_lr_scores(features_fn(), y, g, n_splits=n_splits, seed=seed)
    except (GateInputError, ValueError) as err:
        return not_run(name, str(err), **kw)
    value = auc(y, oof)
    return measured(name, value, threshold, "<", definition=definition,
                    details={"roc": roc_points(y, oof), "n_splits": n_splits, "seed": seed},
                    sample_sizes={"n_pos": int(y.sum()), "n_neg": int((y == 0).sum()),
                                  "n_groups": len(np.unique(g))})


def core_lr_auc(stamps: np.ndarray, labels: np.ndarray, *, groups: np.ndarray | None, preprocess: str | None = None,
                preprocess_options: dict[str, Any] | None = None, half: int = 5, n_splits: int = 5, seed: int = 42,
                threshold: float = THRESHOLDS.core_lr_auc_max) -> GateResult:
    """Core logistic-regression AUC: how well the central box of the model input alone separates the classes.

    Definition (planb trainer / unpaired gates, spec ``dhs.md`` §4 "Core LR AUC", fixing §5.13): features = the
    central ``2·half × 2·half`` box (``[27:37, 27:37]`` for 64×64) × C bands of ``preprocess(stamps)``; logistic
    regression; out-of-fold probabilities over ``StratifiedGroupKFold(n_splits)`` grouped by ``groups``; value =
    ROC AUC of those; pass iff < 0.65.

    Parameters
    ----------
    stamps : ndarray, shape (N, C, H, W)
        Stamps in nMgy (or the model input if ``preprocess`` is None).
    labels : ndarray of 0/1, shape (N,)
    groups : ndarray, shape (N,)
        Host LRG id per stamp (a positive and its paired control share one).
    """
    definition = f"AUC of out-of-fold LR on the central {2 * half}x{2 * half} box, grouped {n_splits}-fold CV"
    return _lr_gate("core_lr_auc", definition,
                    lambda: core_box(stamps, half, method=preprocess, options=preprocess_options),
                    stamps, labels, groups, threshold, n_splits, seed)


def radial_profile_auc(stamps: np.ndarray, labels: np.ndarray, *, groups: np.ndarray | None,
                       preprocess: str | None = None, preprocess_options: dict[str, Any] | None = None,
                       n_splits: int = 5, seed: int = 42,
                       threshold: float = THRESHOLDS.radial_profile_auc_max) -> GateResult:
    """Radial-profile LR AUC: the same protocol as :func:`core_lr_auc` on the C×32 azimuthal-median profile.

    Definition: spec ``dhs.md`` §4 "Radial-profile AUC" (features from :func:`dhs_gates.images.radial_profile` of
    the model input); pass iff < 0.65.
    """
    definition = f"AUC of out-of-fold LR on the Cx(H//2) azimuthal median profile, grouped {n_splits}-fold CV"
    return _lr_gate("radial_profile_auc", definition,
                    lambda: radial_profile(stamps, method=preprocess, options=preprocess_options),
                    stamps, labels, groups, threshold, n_splits, seed)


def core_only_baseline(stamps: np.ndarray, labels: np.ndarray, *, groups: np.ndarray | None,
                       preprocess: str | None = None, preprocess_options: dict[str, Any] | None = None,
                       radius: float = 10.0, n_splits: int = 5, seed: int = 42,
                       threshold: float = THRESHOLDS.core_only_baseline_max) -> GateResult:
    """Gate 1.6 core-only baseline: LR on 7 summary statistics per band of ``r < radius`` px of the model input.

    Definition (seed ``004``, spec ``dhs.md`` §4): mean, std, median, max, min, p25, p75 per band (21 features);
    upstream fitted on train and scored val; we use the grouped out-of-fold protocol of :func:`core_lr_auc`
    (every score out of sample, no host in two folds). Pass iff AUC < 0.60.
    """
    definition = f"AUC of out-of-fold LR on 7 stats/band of r<{radius:g} px, grouped {n_splits}-fold CV (gate 1.6)"
    return _lr_gate("core_only_baseline", definition,
                    lambda: core_summary_stats(stamps, radius, method=preprocess, options=preprocess_options),
                    stamps, labels, groups, threshold, n_splits, seed)


def _split_classes(stamps: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    x = check_stamps(stamps)
    y = check_labels(labels, len(x))
    if min(y.sum(), (y == 0).sum()) < 2:
        raise GateInputError(f"needs ≥ 2 stamps per class; got {int(y.sum())} positives, {int((y == 0).sum())} negatives")
    return x, y


def normalisation_effect_size(stamps: np.ndarray, labels: np.ndarray, *, preprocess: str = "raw_robust",
                              preprocess_options: dict[str, Any] | None = None,
                              threshold: float = THRESHOLDS.normalisation_d_max) -> GateResult:
    """Gate 1.5: do the normalisation's own statistics differ between positives and controls?

    Definition (seed ``004``, spec ``dhs.md`` §4): per band, Cohen's d (positives vs controls) of (a) the median and
    (b) the MAD of the raw stamp over the run's normalisation annulus (dhs-train's ``RawRobustOptions.annulus``) and
    (c) the fraction of pixels of the model input with ``|x| ≥ clip`` (clip of the run, 10 if none).
    Value = max |d|; pass iff < 0.1.
    """
    name = "normalisation_effect_size"
    definition = "max |Cohen's d| (pos vs ctrl) of annulus median, annulus MAD, frac |x_norm|>=clip per band"
    kw = {"threshold": threshold, "direction": "<", "definition": definition}
    if preprocess not in METHODS:
        return not_run(name, f"unknown preprocessing method {preprocess!r}; choose one of {sorted(METHODS)}", **kw)
    try:
        x, y = _split_classes(stamps, labels)
        opts = METHODS[preprocess](**(preprocess_options or {}))
    except (GateInputError, ValueError) as err:
        return not_run(name, str(err), **kw)
    h, w = x.shape[-2:]
    r_in, r_out = opts.annulus(h, w)
    r = radius_image(h, w)
    ring = (r >= r_in) & (r < r_out)
    clip = opts.clip if opts.clip is not None else 10.0
    get = model_input(x, preprocess, preprocess_options)
    stats: dict[str, list[np.ndarray]] = {"median": [], "mad": [], "frac_clipped": []}
    for start in range(0, len(x), 4096):
        sl = slice(start, min(start + 4096, len(x)))
        a = np.asarray(x[sl], dtype=np.float64)[:, :, ring]
        med = np.nanmedian(a, axis=-1)
        stats["median"].append(med)
        stats["mad"].append(np.nanmedian(np.abs(a - med[..., None]), axis=-1))
        stats["frac_clipped"].append((np.abs(get(sl)) >= clip * (1 - 1e-6)).mean(axis=(-2, -1)))
    d: dict[str, float] = {}
    for key, parts in stats.items():
        v = np.concatenate(parts)  # (N, C)
        for band in range(v.shape[1]):
            d[f"{key}_band{band}"] = cohens_d(v[y == 1, band], v[y == 0, band])
    worst = max(abs(v) for v in d.values())
    return measured(name, worst, threshold, "<", definition=definition,
                    details={"cohens_d": d, "annulus_pix": [r_in, r_out], "clip": clip},
                    sample_sizes={"n_pos": int(y.sum()), "n_neg": int((y == 0).sum())})


def core_brightness_matching(stamps: np.ndarray, labels: np.ndarray, *, radius: float = 8.0, band: int = 1,
                             ratio_range: tuple[float, float] = THRESHOLDS.brightness_ratio_range,
                             d_max: float = THRESHOLDS.brightness_d_max) -> GateResult:
    """Gate 1.8 core brightness matching: is the core of positives as bright as that of controls?

    Definition (seed ``004``, spec ``dhs.md`` §4): per stamp the mean flux (nMgy, raw stamps: a brightness, not a
    model input) of band ``band`` (1 = r) over ``r < radius`` px; ratio = mean(positives)/mean(controls) and
    Cohen's d. Value = ratio; pass iff ratio ∈ [0.95, 1.05] **and** |d| < 0.1.
    """
    name = "core_brightness_matching"
    definition = f"ratio of mean band-{band} flux in r<{radius:g} px, positives/controls, and Cohen's d (gate 1.8)"
    kw = {"threshold": list(ratio_range), "direction": "in", "definition": definition}
    try:
        x, y = _split_classes(stamps, labels)
    except GateInputError as err:
        return not_run(name, str(err), **kw)
    inside = radius_image(*x.shape[-2:]) < radius
    flux = np.concatenate([np.asarray(x[s:s + 4096, band], np.float64)[:, inside].mean(-1)
                           for s in range(0, len(x), 4096)])
    pos, neg = flux[y == 1], flux[y == 0]
    ratio = pos.mean() / neg.mean() if neg.mean() != 0 else np.inf
    d = cohens_d(pos, neg)
    ok = bool(ratio_range[0] <= ratio <= ratio_range[1] and abs(d) < d_max)
    return measured(name, ratio, list(ratio_range), "in", definition=definition, passed=ok,
                    details={"cohens_d": d, "d_max": d_max, "pos_mean_nmgy": pos.mean(), "neg_mean_nmgy": neg.mean()},
                    sample_sizes={"n_pos": len(pos), "n_neg": len(neg)})
