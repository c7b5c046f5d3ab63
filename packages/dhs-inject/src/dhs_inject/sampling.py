"""Frozen per-task randomness and arc-SNR rejection sampling (spec §2.3, §2.6).

Task identity: ``task_id = sha256("|".join([experiment, selection_set, split, brickname,
f"{ra:.6f}", f"{dec:.6f}", str(config_id), str(replicate)]))`` (hex), the upstream definition.

Every random draw of a row comes from a counter-based generator keyed by its task hash: the
row's seed is the first 64 bits of ``task_id`` and draw ``k`` is SplitMix64 (Steele, Lea & Flood
2014, "Fast splittable pseudorandom number generators", OOPSLA) of ``seed + (k + 1)·0x9E3779B97F4A7C15``,
i.e. the ``(k+1)``-th output of a SplitMix64 stream seeded with ``seed``. A row's parameters are
therefore a pure function of its task fields — independent of batch, order and runner — and the
whole manifest's draws are computed at once in NumPy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

__all__ = ["TASK_FIELDS", "task_ids", "task_seeds", "row_uniforms", "check_unique_task_ids",
           "RejectionResult", "arc_snr_rejection", "rejection_sample"]

TASK_FIELDS: tuple[str, ...] = ("experiment", "selection_set", "split", "brickname", "ra_deg", "dec_deg",
                                "config_id", "replicate")

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def task_ids(frame: pd.DataFrame) -> np.ndarray:
    """sha256 hex ``task_id`` of each row from the columns :data:`TASK_FIELDS`.

    Raises ``ValueError`` naming a missing column.
    """
    missing = [c for c in TASK_FIELDS if c not in frame.columns]
    if missing:
        raise ValueError(f"task_ids: missing column(s) {missing}")
    cols = [frame[c].astype(str).to_numpy() for c in ("experiment", "selection_set", "split", "brickname")]
    ra = frame["ra_deg"].to_numpy(np.float64)
    dec = frame["dec_deg"].to_numpy(np.float64)
    cfg = frame["config_id"].to_numpy(np.int64)
    rep = frame["replicate"].to_numpy(np.int64)
    return np.array([hashlib.sha256(f"{e}|{s}|{sp}|{b}|{r:.6f}|{d:.6f}|{c}|{p}".encode()).hexdigest()
                     for e, s, sp, b, r, d, c, p in zip(*cols, ra, dec, cfg, rep)], dtype=object)


def task_seeds(ids: ArrayLike) -> np.ndarray:
    """uint64 seed of each task: the first 16 hex digits of its ``task_id``."""
    return np.array([int(str(t)[:16], 16) for t in np.asarray(ids, dtype=object)], dtype=np.uint64)


def _splitmix64(z: np.ndarray) -> np.ndarray:
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def row_uniforms(seeds: ArrayLike, n_draws: int) -> np.ndarray:
    """Uniforms in the open interval (0, 1), shape (N, n_draws), draw ``k`` of row ``i`` keyed by ``seeds[i]``.

    ``u = ((splitmix64(seed + (k+1)·golden) >> 11) + 0.5) / 2**53``.
    """
    s = np.asarray(seeds, dtype=np.uint64)[:, None]
    k = np.arange(1, n_draws + 1, dtype=np.uint64)[None, :]
    with np.errstate(over="ignore"):
        z = _splitmix64(s + k * _GOLDEN)
    return ((z >> np.uint64(11)).astype(np.float64) + 0.5) / 2.0**53


def check_unique_task_ids(frame: pd.DataFrame) -> None:
    """Raise ``ValueError`` naming the first duplicated ``task_id`` (and how many rows share it)."""
    if "task_id" not in frame.columns:
        raise ValueError("manifest has no task_id column")
    dup = frame["task_id"].duplicated(keep=False)
    if dup.any():
        first = frame.loc[dup, "task_id"].iloc[0]
        n = int((frame["task_id"] == first).sum())
        raise ValueError(f"duplicate task_id {first!r} ({n} rows; {int(dup.sum())} rows in duplicated groups)")


@dataclass(frozen=True)
class RejectionResult:
    """Outcome of :func:`arc_snr_rejection`.

    Attributes
    ----------
    accepted : bool (N,)
    acceptance_rate : float, accepted / N (all proposals, including those outside the range).
    c : float, the scale making the largest acceptance probability 1.
    bin_edges : float (n_bins + 1,), log-spaced over ``snr_range``.
    proposal_density : float (n_bins,), the histogram estimate p̂(s) (per unit s) of the first pass.
    target_coverage : float, target probability mass in bins where the proposal has support
        (< 1 means the proposal cannot reach the target there).
    """

    accepted: np.ndarray
    acceptance_rate: float
    c: float
    bin_edges: np.ndarray
    proposal_density: np.ndarray
    target_coverage: float


def _loguniform_pdf(lo: float, hi: float) -> Callable[[np.ndarray], np.ndarray]:
    return lambda s: 1.0 / (s * np.log(hi / lo))


def arc_snr_rejection(arc_snr: ArrayLike, uniforms: ArrayLike, *, snr_range: tuple[float, float] = (2.0, 50.0),
                      target: str | Callable[[np.ndarray], np.ndarray] = "loguniform",
                      n_bins: int = 20) -> RejectionResult:
    """Two-pass rejection sampling of proposals toward a target arc-SNR distribution.

    Pass 1 histograms the proposal's SNR on ``n_bins`` log-spaced bins over ``snr_range`` (p̂, a
    density per unit SNR); pass 2 accepts row i if ``u_i < c · p_target(s_i) / p̂(s_i)`` with
    ``c = 1 / max_i p_target(s_i)/p̂(s_i)``. Valid for any proposal whose density is smooth on
    the bin scale (standard rejection sampling, e.g. Robert & Casella 2004 §2.3); unlike the
    upstream sketch nothing is kept "anyway". Rows outside the range or with non-finite SNR are
    rejected.

    Parameters
    ----------
    arc_snr : (N,) proposal SNRs.
    uniforms : (N,) uniforms in [0, 1) — pass the rows' frozen per-task uniforms for reproducibility.
    snr_range : (lo, hi), lo > 0.
    target : "loguniform" (p ∝ 1/s on the range) or a callable pdf on the range (need not be normalised).
    n_bins : int ≥ 1.

    Raises
    ------
    ValueError
        On shape mismatch, a bad range, or no proposal inside the range.
    """
    s = np.asarray(arc_snr, np.float64)
    u = np.asarray(uniforms, np.float64)
    lo, hi = map(float, snr_range)
    if s.shape != u.shape or s.ndim != 1:
        raise ValueError(f"arc_snr {s.shape} and uniforms {u.shape} must be equal 1-D shapes")
    if not (0 < lo < hi) or n_bins < 1:
        raise ValueError(f"snr_range={snr_range} must satisfy 0 < lo < hi; n_bins={n_bins} must be >= 1")
    pdf = _loguniform_pdf(lo, hi) if target == "loguniform" else target
    if not callable(pdf):
        raise ValueError(f"target {target!r}: 'loguniform' or a callable pdf")
    inside = np.isfinite(s) & (s >= lo) & (s <= hi)
    if not inside.any():
        raise ValueError(f"no proposal has arc SNR inside {snr_range}")
    edges = np.geomspace(lo, hi, n_bins + 1)
    counts, _ = np.histogram(s[inside], bins=edges)
    density = counts / (len(s) * np.diff(edges))
    idx = np.clip(np.searchsorted(edges, s[inside], side="right") - 1, 0, n_bins - 1)
    ratio = pdf(s[inside]) / density[idx]
    c = 1.0 / ratio.max()
    accepted = np.zeros(s.shape, bool)
    accepted[inside] = u[inside] < c * ratio
    grid = np.geomspace(lo, hi, 64 * n_bins + 1)
    mid = 0.5 * (grid[1:] + grid[:-1])
    mass = pdf(mid) * np.diff(grid)
    gbin = np.clip(np.searchsorted(edges, mid, side="right") - 1, 0, n_bins - 1)
    coverage = float(mass[counts[gbin] > 0].sum() / mass.sum())
    return RejectionResult(accepted=accepted, acceptance_rate=float(accepted.mean()), c=float(c),
                           bin_edges=edges, proposal_density=density, target_coverage=coverage)


def rejection_sample(rows: pd.DataFrame, *, column: str = "arc_snr", uniform_column: str | None = None,
                     seed: int = 0, **kwargs) -> tuple[pd.DataFrame, float]:
    """Accepted rows of ``rows`` and the acceptance rate (see :func:`arc_snr_rejection`).

    Uniforms come from ``rows[uniform_column]`` when given (e.g. a frozen per-task uniform), else
    from ``numpy.random.default_rng(seed)``. Raises ``ValueError`` naming a missing column.
    """
    for col in (column, uniform_column):
        if col is not None and col not in rows.columns:
            raise ValueError(f"rejection_sample: no column {col!r}")
    u = (rows[uniform_column].to_numpy(np.float64) if uniform_column
         else np.random.default_rng(seed).random(len(rows)))
    res = arc_snr_rejection(rows[column].to_numpy(np.float64), u, **kwargs)
    return rows.loc[res.accepted], res.acceptance_rate
