"""Statistics shared by the gates: checked inputs, ROC AUC, grouped out-of-fold logistic-regression AUC, Cohen's d.

Each check raises :class:`GateInputError` with a message naming what is wrong; gates turn it into ``"not run"``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

__all__ = ["GateInputError", "auc", "check_labels", "cohens_d", "oof_lr_scores", "roc_points"]


class GateInputError(ValueError):
    """The input cannot support the measurement (one class only, wrong lengths, too few groups, ...)."""


def check_labels(labels: Any, n: int | None = None, *, name: str = "labels") -> np.ndarray:
    """Return ``labels`` as an int array of 0/1; raise naming the problem (length, values, one class only)."""
    y = np.asarray(labels)
    if y.ndim != 1:
        raise GateInputError(f"{name} must be one-dimensional; got shape {y.shape}")
    if n is not None and len(y) != n:
        raise GateInputError(f"{name} has {len(y)} entries but there are {n} stamps/scores")
    values = set(np.unique(y).tolist())
    if not values <= {0, 1, True, False}:
        raise GateInputError(f"{name} must be 0/1; found values {sorted(values)[:5]}")
    y = y.astype(np.int64)
    if len(set(y.tolist())) < 2:
        raise GateInputError(f"{name} hold one class only ({int(y[0]) if len(y) else 'empty'}); AUC undefined")
    return y


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC (``sklearn.metrics.roc_auc_score``) after checking labels and the score length."""
    y = check_labels(labels)
    s = np.asarray(scores, dtype=np.float64)
    if s.shape != y.shape:
        raise GateInputError(f"scores have shape {s.shape}, labels {y.shape}")
    if not np.isfinite(s).all():
        raise GateInputError(f"{int((~np.isfinite(s)).sum())} scores are NaN/Inf")
    return float(roc_auc_score(y, s))


def roc_points(labels: np.ndarray, scores: np.ndarray, max_points: int = 200) -> dict[str, list[float]]:
    """ROC curve (``sklearn.metrics.roc_curve``) thinned to ≤ ``max_points`` points, for the report's plots."""
    fpr, tpr, _ = roc_curve(np.asarray(labels), np.asarray(scores))
    keep = np.unique(np.linspace(0, len(fpr) - 1, min(len(fpr), max_points)).astype(int))
    return {"fpr": fpr[keep].tolist(), "tpr": tpr[keep].tolist()}


def oof_lr_scores(features: np.ndarray, labels: np.ndarray, groups: Any, *, n_splits: int = 5,
                  seed: int = 42, max_iter: int = 500) -> np.ndarray:
    """Out-of-fold logistic-regression probabilities, folds grouped so that one group never sits in two folds.

    Folds: ``sklearn.model_selection.StratifiedGroupKFold(n_splits, shuffle=True, random_state=seed)`` over
    ``groups`` (the host LRG id: replicates and a positive with its paired control share one). Model:
    ``StandardScaler`` + ``LogisticRegression(solver="lbfgs", C=1, max_iter)`` (the upstream gate used unscaled
    ``liblinear``; standardising makes lbfgs converge in tens of iterations on 100,000 × 300 features, see
    ``benchmarks/dhs_gates_core_lr.md``). Every probability comes from a model that did not see its group.

    Raises
    ------
    GateInputError
        Labels of one class, ``groups`` of the wrong length, or fewer groups per class than folds.
    """
    x = np.asarray(features, dtype=np.float64)
    y = check_labels(labels, len(x))
    g = np.asarray(groups)
    if g.ndim != 1 or len(g) != len(y):
        raise GateInputError(f"groups has {g.size} entries (shape {g.shape}) but there are {len(y)} samples")
    for cls in (0, 1):
        n_groups = len(np.unique(g[y == cls]))
        if n_groups < n_splits:
            raise GateInputError(f"class {cls} spans {n_groups} groups, fewer than the {n_splits} CV folds")
    oof = np.full(len(y), np.nan)
    cv = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    for train, test in cv.split(x, y, g):
        if len(np.unique(y[train])) < 2:
            raise GateInputError("a CV training fold holds one class only; add groups of both classes")
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=max_iter, random_state=seed))
        model.fit(x[train], y[train])
        oof[test] = model.predict_proba(x[test])[:, 1]
    return oof


def cohens_d(a: np.ndarray, b: np.ndarray) -> float:
    """Cohen's d ``(mean(a) − mean(b)) / s_pooled`` with ``s_pooled² = ((n_a−1)s_a² + (n_b−1)s_b²)/(n_a+n_b−2)``.

    Identical constant samples give 0; different constants give ±inf (a perfect separation).
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    diff = a.mean() - b.mean()
    pooled = np.sqrt(((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / (len(a) + len(b) - 2))
    if pooled == 0:
        return 0.0 if diff == 0 else float(np.sign(diff) * np.inf)
    return float(diff / pooled)
