"""Pipeline parity: two cutout sources of the same sky must agree in the central aperture."""

from __future__ import annotations

import numpy as np

from .config import THRESHOLDS
from .images import check_stamps
from .result import GateResult, measured, not_run

__all__ = ["pipeline_parity"]


def pipeline_parity(stamps_a: np.ndarray | None, stamps_b: np.ndarray | None, *, band: int = 1, box: int = 8,
                    ratio_range: tuple[float, float] = THRESHOLDS.parity_ratio_range) -> GateResult:
    """Pipeline parity: central-aperture flux ratio between two cutouts of the same positions.

    Definition (seed ``002`` experiment 1, spec ``dhs.md`` §4): per object, ``ratio = Σ a / Σ b`` over the central
    ``box × box`` pixels of band ``band`` (r); value = mean ratio; pass iff in [0.9, 1.1]. Details: min/max ratio,
    mean Pearson correlation of the full band images. ``stamps_a``/``stamps_b``: ``(N, C, H, W)`` nMgy from two
    sources (e.g. the survey's cutout service and our own brick cutout), row i the same sky position.
    """
    name = "pipeline_parity"
    definition = f"mean over objects of central {box}x{box} band-{band} flux ratio a/b"
    kw = {"threshold": list(ratio_range), "direction": "in", "definition": definition}
    if stamps_a is None or stamps_b is None:
        return not_run(name, "needs stamps of the same positions from two cutout sources", **kw)
    a, b = check_stamps(stamps_a, "stamps_a"), check_stamps(stamps_b, "stamps_b")
    if a.shape != b.shape or len(a) == 0:
        return not_run(name, f"stamps_a {a.shape} and stamps_b {b.shape} must have one equal non-empty shape", **kw)
    h, w = a.shape[-2:]
    sl = (slice(None), band, slice(h // 2 - box // 2, h // 2 + box // 2), slice(w // 2 - box // 2, w // 2 + box // 2))
    fa, fb = a[sl].sum(axis=(-2, -1), dtype=np.float64), b[sl].sum(axis=(-2, -1), dtype=np.float64)
    ok = fb != 0
    if not ok.any():
        return not_run(name, "central flux of source b is 0 everywhere", **kw)
    ratio = fa[ok] / fb[ok]
    xa, xb = a[:, band].reshape(len(a), -1), b[:, band].reshape(len(b), -1)
    xa, xb = xa - xa.mean(1, keepdims=True), xb - xb.mean(1, keepdims=True)
    corr = (xa * xb).sum(1) / np.sqrt((xa**2).sum(1) * (xb**2).sum(1))
    return measured(name, ratio.mean(), list(ratio_range), "in", definition=definition,
                    details={"min_ratio": ratio.min(), "max_ratio": ratio.max(), "mean_correlation": np.nanmean(corr)},
                    sample_sizes={"n_objects": int(ok.sum()), "n_zero_flux_b": int((~ok).sum())})
