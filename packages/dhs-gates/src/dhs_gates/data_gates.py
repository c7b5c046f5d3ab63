"""Gates on the store's table: leakage, splits, pairs, bandset, invvar, class-conditional quality, shift, strata.

Each function takes a ``pandas.DataFrame`` with the store's columns (``docs/stamp_store.md``) and returns a
:class:`~dhs_gates.result.GateResult`; a missing column makes the gate "not run" with the column named.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

from .config import THRESHOLDS
from .leakage import classify_columns
from .result import GateResult, measured, not_run
from .stats import GateInputError, auc

__all__ = [
    "THETA_PSF_BINS",
    "SNR_BINS",
    "bandset",
    "class_conditional_quality",
    "distribution_shift",
    "invvar_availability",
    "leakage_audit",
    "paired_integrity",
    "split_integrity",
    "stratified_auc",
]

#: θ_E/psfsize_r bin edges of the stratified AUC (spec dhs.md §4).
THETA_PSF_BINS: tuple[float, ...] = (0.5, 0.75, 1.0, 1.5, 2.5, np.inf)
#: arc SNR bin edges of the stratified AUC (spec dhs.md §4).
SNR_BINS: tuple[float, ...] = (0.0, 2.0, 5.0, 10.0, 20.0, np.inf)


def _missing(frame: pd.DataFrame, columns: Iterable[str]) -> list[str]:
    return [c for c in columns if c not in frame.columns]


def leakage_audit(meta_columns: Sequence[str], store_columns: Sequence[str] | None = None) -> GateResult:
    """Column leakage audit: the meta columns a model reads must all be safe observing conditions.

    Definition (seed ``002`` Appendix A, spec ``dhs.md`` §4): every column in ``meta_columns`` is classified by
    :func:`dhs_gates.leakage.classify_columns`; value = number of dangerous + unknown columns; pass iff 0.
    ``store_columns`` (optional) are classified too and listed in the details (they are not a failure: a store must
    hold its injection parameters; only what the model reads matters).
    """
    name, definition = "leakage_audit", "count of model meta columns not in SAFE_META_COLUMNS (dangerous or unknown)"
    found = classify_columns(meta_columns)
    details: dict[str, Any] = {"meta_columns": list(meta_columns), **found}
    if store_columns is not None:
        details["store_columns"] = classify_columns(store_columns)
    n_bad = len(found["dangerous"]) + len(found["unknown"])
    reason = (
        f"model reads dangerous {found['dangerous']} / unverified {found['unknown']}" if n_bad
        else "model reads only observing conditions" if meta_columns else "model reads no meta columns"
    )
    return measured(name, n_bad, 0, "==", definition=definition, details=details,
                    sample_sizes={"n_meta_columns": len(meta_columns)}, reason=reason)


def split_integrity(frame: pd.DataFrame, keys: Sequence[str] = ("healpix", "brickname", "lrg_id")) -> GateResult:
    """Split integrity: no HEALPix pixel, brick or LRG appears in two splits.

    Definition (spec ``dhs.md`` §4, §2.2): for each key, the number of distinct key values present in more than one
    ``split``; value = the sum over keys; pass iff 0. Details list up to 20 offending values per key.
    """
    name, definition = "split_integrity", "Σ over keys (healpix, brickname, lrg_id) of values in >1 split"
    missing = _missing(frame, ["split", *keys])
    if missing:
        return not_run(name, f"store lacks column(s) {missing}", threshold=0, direction="==", definition=definition)
    details: dict[str, Any] = {}
    total = 0
    for key in keys:
        n_splits = frame.groupby(key, observed=True)["split"].nunique()
        shared = n_splits[n_splits > 1]
        total += len(shared)
        details[key] = {"n_values": int(len(n_splits)), "n_shared": int(len(shared)),
                        "examples": [str(v) for v in shared.index[:20]]}
    return measured(name, total, 0, "==", definition=definition, details=details,
                    sample_sizes={"n_rows": len(frame), **{f"n_{s}": int(n) for s, n in
                                                            frame["split"].value_counts().items()}})


PAIRED_CHECKS = ("shape_match", "not_identical", "no_nan_inf", "value_range", "expected_shape")


def paired_integrity(frame: pd.DataFrame, *, n_rows: int = 100, seed: int = 42,
                     expected_shape: tuple[int, int, int] = (3, 64, 64), min_abs_diff: float = 0.1,
                     max_abs_value: float = 1e6) -> GateResult:
    """Paired integrity: the five checks of spec ``dhs.md`` §2.7 on ``n_rows`` random paired rows.

    Checks per row (planb_2 ``verify_paired_data.py``): ``shape_match`` (stamp.shape == ctrl.shape),
    ``not_identical`` (Σ|stamp − ctrl| > ``min_abs_diff`` nMgy), ``no_nan_inf`` (both finite),
    ``value_range`` (all |values| < ``max_abs_value``), ``expected_shape`` (== ``expected_shape``).
    Value = number of checks with at least one failing row; pass iff 0.
    """
    name, definition = "paired_integrity", "number of the 5 §2.7 checks failed by any of ≤100 random paired rows"
    missing = _missing(frame, ["stamp", "ctrl_stamp"])
    if missing:
        return not_run(name, f"store lacks column(s) {missing}", threshold=0, direction="==", definition=definition)
    paired = frame[frame["ctrl_stamp"].map(lambda v: v is not None and not (np.isscalar(v) and pd.isna(v)))]
    if "label" in paired:
        paired = paired[paired["label"] == 1]
    if paired.empty:
        return not_run(name, "no paired rows (ctrl_stamp is null everywhere)", threshold=0, direction="==",
                       definition=definition)
    rows = paired.sample(n=min(n_rows, len(paired)), random_state=seed)
    fails = dict.fromkeys(PAIRED_CHECKS, 0)
    examples: dict[str, list[str]] = {k: [] for k in PAIRED_CHECKS}
    for idx, stamp, ctrl in zip(rows.index, rows["stamp"], rows["ctrl_stamp"], strict=True):
        s, c = np.asarray(stamp), np.asarray(ctrl)
        same = s.shape == c.shape
        finite = bool(np.isfinite(s).all() and np.isfinite(c).all())
        result = {
            "shape_match": same,
            "not_identical": same and float(np.nansum(np.abs(s - c))) > min_abs_diff,
            "no_nan_inf": finite,
            "value_range": bool((np.abs(s[np.isfinite(s)]) < max_abs_value).all()
                                and (np.abs(c[np.isfinite(c)]) < max_abs_value).all()),
            "expected_shape": s.shape == tuple(expected_shape) and c.shape == tuple(expected_shape),
        }
        for check, ok in result.items():
            if not ok:
                fails[check] += 1
                if len(examples[check]) < 5:
                    examples[check].append(str(idx))
    n_failed = sum(v > 0 for v in fails.values())
    return measured(name, n_failed, 0, "==", definition=definition,
                    details={"failing_rows": fails, "examples": examples},
                    sample_sizes={"n_checked": len(rows), "n_paired": len(paired)})


def bandset(frame: pd.DataFrame, expected: str = "grz") -> GateResult:
    """Gate 1.2 bandset: every row has ``bandset == expected``; value = number of other rows; pass iff 0."""
    name, definition = "bandset", f"count of rows with bandset != '{expected}' (gate 1.2, seed 004)"
    if "bandset" not in frame:
        return not_run(name, "store lacks column 'bandset'", threshold=0, direction="==", definition=definition)
    counts = frame["bandset"].astype(str).value_counts()
    n_other = int(len(frame) - counts.get(expected, 0))
    return measured(name, n_other, 0, "==", definition=definition, details={"bandset_counts": counts.to_dict()},
                    sample_sizes={"n_rows": len(frame)})


INVVAR_COLUMNS = ("invvar", "invvar_npz", "stamp_invvar")


def invvar_availability(frame: pd.DataFrame) -> GateResult:
    """Gate 1.4 invvar availability: fraction of rows with a non-null inverse-variance stamp; pass iff 1.

    Looks for ``invvar`` (our store) or the upstream names ``invvar_npz`` / ``stamp_invvar``. No such column →
    "not run" ("deferred", as upstream): per-pixel SNR inputs cannot be built.
    """
    name, definition = "invvar_availability", "fraction of rows with a non-null invvar stamp (gate 1.4)"
    column = next((c for c in INVVAR_COLUMNS if c in frame), None)
    if column is None:
        return not_run(name, f"deferred: no inverse-variance column ({', '.join(INVVAR_COLUMNS)}) in the store",
                       threshold=1.0, direction=">=", definition=definition)
    present = frame[column].map(lambda v: v is not None and not (np.isscalar(v) and pd.isna(v)))
    return measured(name, float(present.mean()) if len(frame) else np.nan, 1.0, ">=", definition=definition,
                    details={"column": column}, sample_sizes={"n_rows": len(frame), "n_with": int(present.sum())})


def class_conditional_quality(frame: pd.DataFrame, columns: Sequence[str] = ("bad_pixel_frac",),
                              *, split: str | None = "train", threshold: float = THRESHOLDS.class_quality_p_min
                              ) -> GateResult:
    """Gate 1.1 class-conditional quality: KS, controls vs positives, of each quality column; every p > 0.01.

    Rows: ``split`` (all rows if ``None`` or no ``split`` column) with ``cutout_ok`` true where present. A column
    constant and equal in both classes carries no information (``cutout_ok`` after its own filter) and is listed
    under ``skipped``, as is a column with no finite value in a class (``physics_valid`` of controls) — the spec
    calls both ill-posed. Value = min p over the tested columns.
    """
    name, definition = "class_conditional_quality", "min over quality columns of KS p (controls vs positives)"
    kw = {"threshold": threshold, "direction": ">", "definition": definition}
    missing = _missing(frame, ["label", *columns])
    if missing:
        return not_run(name, f"store lacks column(s) {missing}", **kw)
    rows = frame
    if split is not None and "split" in frame:
        rows = rows[rows["split"] == split]
    if "cutout_ok" in rows:
        rows = rows[rows["cutout_ok"].astype(bool)]
    pos, neg = rows[rows["label"] == 1], rows[rows["label"] == 0]
    if pos.empty or neg.empty:
        return not_run(name, f"needs control and positive rows; found {len(neg)} controls, {len(pos)} positives"
                       f" (paired controls share their positive's row, so their quality is not a separate sample)",
                       sample_sizes={"n_pos": len(pos), "n_neg": len(neg)}, **kw)
    tests, skipped = {}, {}
    for col in columns:
        a = pd.to_numeric(pos[col], errors="coerce").dropna().to_numpy(float)
        b = pd.to_numeric(neg[col], errors="coerce").dropna().to_numpy(float)
        if a.size == 0 or b.size == 0:
            skipped[col] = "no finite value in one class"
        elif np.ptp(np.r_[a, b]) == 0:
            skipped[col] = "constant in both classes"
        else:
            res = ks_2samp(a, b)
            tests[col] = {"ks": float(res.statistic), "p": float(res.pvalue), "pos_mean": a.mean(), "neg_mean": b.mean()}
    if not tests:
        return not_run(name, f"no testable column: {skipped}", details={"skipped": skipped}, **kw)
    return measured(name, min(t["p"] for t in tests.values()), threshold, ">", definition=definition,
                    details={"tests": tests, "skipped": skipped}, sample_sizes={"n_pos": len(pos), "n_neg": len(neg)})


SHIFT_COLUMNS = ("arc_snr", "lens_theta_E", "psfsize_r", "psfdepth_r", "bad_pixel_frac", "theta_e_over_psf")


def distribution_shift(frame: pd.DataFrame, a: str = "val", b: str = "test",
                       columns: Sequence[str] = SHIFT_COLUMNS, *, max_rows: int = 10_000, seed: int = 42,
                       threshold: float = THRESHOLDS.distribution_shift_p_min) -> GateResult:
    """KS comparison of two splits on random samples (spec ``dhs.md`` §4 "KS val vs test", §5.14).

    ``min(max_rows, n)`` rows drawn at random without replacement from each split (upstream took the first rows),
    classes mixed; ``scipy.stats.ks_2samp`` per column present; value = min p; pass iff every p > ``threshold``
    (our threshold; the spec only reports).
    """
    name, definition = "distribution_shift", f"min over columns of KS p, random ≤{max_rows} rows of {a} vs {b}"
    kw = {"threshold": threshold, "direction": ">", "definition": definition}
    if "split" not in frame:
        return not_run(name, "store lacks column 'split'", **kw)
    present = [c for c in columns if c in frame]
    if not present:
        return not_run(name, f"store lacks every column of {list(columns)}", **kw)
    rng = np.random.default_rng(seed)
    samples = {}
    for s in (a, b):
        rows = frame[frame["split"] == s]
        if len(rows) < 2:
            return not_run(name, f"split '{s}' has {len(rows)} rows", **kw)
        samples[s] = rows.iloc[rng.choice(len(rows), size=min(max_rows, len(rows)), replace=False)]
    tests = {}
    for col in present:
        x = pd.to_numeric(samples[a][col], errors="coerce").dropna().to_numpy(float)
        y = pd.to_numeric(samples[b][col], errors="coerce").dropna().to_numpy(float)
        if x.size and y.size:
            res = ks_2samp(x, y)
            tests[col] = {"ks": float(res.statistic), "p": float(res.pvalue), f"{a}_mean": x.mean(), f"{b}_mean": y.mean()}
    if not tests:
        return not_run(name, "no column has finite values in both splits", **kw)
    return measured(name, min(t["p"] for t in tests.values()), threshold, ">", definition=definition,
                    details={"tests": tests, "missing_columns": [c for c in columns if c not in frame]},
                    sample_sizes={f"n_{a}": len(samples[a]), f"n_{b}": len(samples[b])})


def stratified_auc(scores: np.ndarray | None, labels: np.ndarray, strata: np.ndarray | pd.Series,
                   bins: Sequence[float] = THETA_PSF_BINS, *, by: str = "theta_e_over_psf", min_per_bin: int = 10,
                   threshold: float = THRESHOLDS.stratified_auc_min) -> GateResult:
    """AUC per bin of a difficulty variable: each bin's positives against **all** negatives.

    Definition (spec ``dhs.md`` §4, fixing §5.14: controls have θ_E = arc_snr = 0, so binning negatives leaves
    bins without any): bins ``[e_i, e_{i+1})`` of ``strata`` over the positives; AUC of those positives vs every
    negative; a bin with fewer than ``min_per_bin`` positives (or fewer negatives overall) is reported but not
    scored. Value = the smallest scored bin AUC; pass iff > ``threshold`` (ours: no bin at chance; the spec only
    reports). ``name`` is ``stratified_auc[<by>]``.
    """
    name = f"stratified_auc[{by}]"
    definition = f"min over {by} bins of AUC(bin positives vs all negatives), ≥{min_per_bin} of each"
    kw = {"threshold": threshold, "direction": ">", "definition": definition}
    if scores is None:
        return not_run(name, "no model scores (no checkpoint/scorer)", **kw)
    s, y = np.asarray(scores, float), np.asarray(labels)
    v = pd.to_numeric(pd.Series(np.asarray(strata)), errors="coerce").to_numpy(float)
    if not (len(s) == len(y) == len(v)):
        return not_run(name, f"lengths differ: scores {len(s)}, labels {len(y)}, {by} {len(v)}", **kw)
    neg = y == 0
    if neg.sum() < min_per_bin:
        return not_run(name, f"{int(neg.sum())} negatives < {min_per_bin}", sample_sizes={"n_neg": int(neg.sum())}, **kw)
    per_bin = []
    for lo, hi in zip(bins[:-1], bins[1:], strict=True):
        pos = (y == 1) & (v >= lo) & (v < hi)
        entry: dict[str, Any] = {"bin": [lo, hi], "n_pos": int(pos.sum()), "n_neg": int(neg.sum()), "auc": None}
        if pos.sum() >= min_per_bin:
            sel = pos | neg
            entry["auc"] = auc(y[sel], s[sel])
        per_bin.append(entry)
    scored = [e["auc"] for e in per_bin if e["auc"] is not None]
    sizes = {"n_pos": int((y == 1).sum()), "n_neg": int(neg.sum()), "n_bins_scored": len(scored)}
    if not scored:
        return not_run(name, f"no {by} bin has ≥{min_per_bin} positives", details={"bins": per_bin},
                       sample_sizes=sizes, **kw)
    try:
        overall = auc(y, s)
    except GateInputError:
        overall = None
    return measured(name, min(scored), threshold, ">", definition=definition,
                    details={"bins": per_bin, "by": by, "overall_auc": overall}, sample_sizes=sizes)
