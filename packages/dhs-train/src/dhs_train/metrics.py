"""Classifier metrics beyond AUROC (scikit-learn's ROC / PR curves; spec ``dhs.md`` §3.4 and §5.14).

Stratified AUROC compares the positives of one stratum with **all** negatives (the original's bins excluded
every negative, spec §5.14). TPR at a false-positive rate is the largest TPR whose FPR does not exceed it; it is
NaN when the negatives cannot resolve that rate (fewer than ``1 / fpr`` negatives).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.metrics import precision_recall_curve, roc_auc_score, roc_curve

__all__ = ["DEFAULT_STRATA", "extended_metrics"]

#: Bin edges of the stratified AUROC (θ_E / PSF FWHM, matched-filter arc SNR).
DEFAULT_STRATA: dict[str, tuple[float, ...]] = {
    "theta_e_over_psf": (0.0, 0.5, 0.75, 1.0, 1.5, np.inf),
    "arc_snr": (0.0, 2.0, 5.0, 10.0, 20.0, np.inf),
}


def _auroc(labels: np.ndarray, scores: np.ndarray) -> float:
    return float(roc_auc_score(labels, scores)) if 0 < labels.sum() < len(labels) else float("nan")


def extended_metrics(
    scores: np.ndarray,
    labels: np.ndarray,
    strata: Mapping[str, np.ndarray] | None = None,
    *,
    thresholds: Sequence[float] = (0.5, 0.9),
    fprs: Sequence[float] = (1e-3, 1e-4),
    min_precision: float = 0.95,
    edges: Mapping[str, Sequence[float]] = DEFAULT_STRATA,
) -> dict[str, float]:
    """AUROC, precision at score thresholds, recall at ``min_precision``, TPR at FPRs, stratified AUROC.

    Parameters
    ----------
    scores : (N,) probabilities of the lens class.
    labels : (N,) 0/1.
    strata : {column: (N,) values}, NaN for negatives (positives' θ_E/psf, arc SNR).

    Returns
    -------
    dict with keys ``auroc``, ``precision_at_<t>``, ``recall_at_precision_<p>``, ``tpr_at_fpr_<f>``,
    ``auroc_<column>_<lo>_<hi>``, ``n_pos``, ``n_neg``.
    """
    scores = np.asarray(scores, float)
    labels = np.asarray(labels).astype(int)
    n_pos, n_neg = int(labels.sum()), int((labels == 0).sum())
    out: dict[str, float] = {"auroc": _auroc(labels, scores), "n_pos": float(n_pos), "n_neg": float(n_neg)}
    for t in thresholds:
        flagged = scores >= t
        out[f"precision_at_{t:g}"] = float(labels[flagged].mean()) if flagged.any() else float("nan")
    if n_pos and n_neg:
        precision, recall, _ = precision_recall_curve(labels, scores)
        ok = precision >= min_precision
        out[f"recall_at_precision_{min_precision:g}"] = float(recall[ok].max()) if ok.any() else 0.0
        fpr, tpr, _ = roc_curve(labels, scores)
        for f in fprs:
            out[f"tpr_at_fpr_{f:g}"] = float(tpr[fpr <= f].max()) if n_neg * f >= 1 else float("nan")
    else:
        out[f"recall_at_precision_{min_precision:g}"] = float("nan")
        out.update({f"tpr_at_fpr_{f:g}": float("nan") for f in fprs})
    neg = labels == 0
    for col, values in (strata or {}).items():
        values = np.asarray(values, float)
        e = edges.get(col)
        if e is None:
            continue
        for lo, hi in zip(e[:-1], e[1:], strict=True):
            pos = (labels == 1) & (values >= lo) & (values < hi)
            sel = pos | neg
            out[f"auroc_{col}_{lo:g}_{hi:g}"] = _auroc(labels[sel], scores[sel]) if pos.any() else float("nan")
    return out
