"""Image features and masks the gates compute on ``(N, C, H, W)`` stamps.

The centre is pixel ``(H // 2, W // 2)`` and radii come from dhs-train's ``radius_image`` (one centre convention
for the store, the preprocessing and the gates; spec ``dhs.md`` §5.2). Everything works in chunks so that
100,000 stamps never need a second full-size copy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from dhs_train.preprocess import preprocess as _preprocess
from dhs_train.preprocess import radius_image

__all__ = [
    "check_stamps",
    "core_box",
    "core_summary_stats",
    "fill_from_outside",
    "model_input",
    "radial_profile",
    "radius_image",
]

CHUNK = 4096


def check_stamps(stamps: Any, name: str = "stamps") -> np.ndarray:
    """Return ``stamps`` as an array of shape ``(N, C, H, W)``; ``ValueError`` naming ``name`` otherwise."""
    arr = np.asarray(stamps)
    if arr.ndim != 4:
        raise ValueError(f"{name} must have shape (N, C, H, W); got shape {arr.shape}")
    return arr


def _chunks(n: int, size: int = CHUNK) -> Iterator[slice]:
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def model_input(stamps: np.ndarray, method: str | None, options: dict[str, Any] | None = None) -> Callable:
    """Return ``f(slice) -> (n, C, H, W) float32``: the model input of ``stamps[slice]``.

    ``method=None`` means ``stamps`` already are the model input; otherwise dhs-train's ``preprocess(…, method,
    **options)`` is applied chunk by chunk (the same function the training and scoring use).
    """
    opts = dict(options or {})

    def get(sl: slice) -> np.ndarray:
        chunk = np.asarray(stamps[sl], dtype=np.float32)
        return chunk if method is None else _preprocess(chunk, method, **opts)

    return get


def _map_chunks(stamps: np.ndarray, fn: Callable[[np.ndarray], np.ndarray], method: str | None,
                options: dict[str, Any] | None) -> np.ndarray:
    get = model_input(stamps, method, options)
    return np.concatenate([fn(get(sl)) for sl in _chunks(len(stamps))], axis=0)


def core_box(stamps: np.ndarray, half: int = 5, *, method: str | None = None,
             options: dict[str, Any] | None = None) -> np.ndarray:
    """Central ``2·half × 2·half`` box of every band, flattened: shape ``(N, C·(2·half)²)``.

    For 64×64 stamps and ``half=5`` this is ``[27:37, 27:37]`` × 3 bands = 300 features (the planb core-LR gate,
    spec ``dhs.md`` §4 "Core LR AUC").
    """
    stamps = check_stamps(stamps)
    h, w = stamps.shape[-2:]
    cy, cx = h // 2, w // 2

    box = (slice(None), slice(None), slice(cy - half, cy + half), slice(cx - half, cx + half))
    if method is None:  # slice first: a memory-mapped store reads only the box's pages
        return np.asarray(stamps[box], dtype=np.float32).reshape(len(stamps), -1)
    return _map_chunks(stamps, lambda x: x[box].reshape(len(x), -1), method, options)


def radial_profile(stamps: np.ndarray, n_rings: int | None = None, *, method: str | None = None,
                   options: dict[str, Any] | None = None) -> np.ndarray:
    """Azimuthal median profile ``P[k] = median{x(p) : k ≤ r(p) < k+1}``, k = 0 … n_rings−1, per band.

    Returns shape ``(N, C·n_rings)`` (3×32 = 96 features for 64×64; spec ``dhs.md`` §4 "Radial-profile AUC").
    ``n_rings`` defaults to ``min(H, W) // 2``.
    """
    stamps = check_stamps(stamps)
    h, w = stamps.shape[-2:]
    n_rings = n_rings or min(h, w) // 2
    ring = np.floor(radius_image(h, w)).astype(np.int64)
    masks = [ring == k for k in range(n_rings)]

    def fn(x: np.ndarray) -> np.ndarray:
        prof = np.stack([np.median(x[:, :, m], axis=-1) for m in masks], axis=-1)  # (n, C, K)
        return prof.reshape(len(x), -1)

    return _map_chunks(stamps, fn, method, options)


def core_summary_stats(stamps: np.ndarray, radius: float = 10.0, *, method: str | None = None,
                       options: dict[str, Any] | None = None) -> np.ndarray:
    """Seven statistics per band of the pixels with ``r < radius``: mean, std, median, max, min, p25, p75.

    Shape ``(N, 7·C)`` (21 for grz) — gate 1.6's features (seed ``004``, spec ``dhs.md`` §4).
    """
    stamps = check_stamps(stamps)
    inside = radius_image(*stamps.shape[-2:]) < radius

    def fn(x: np.ndarray) -> np.ndarray:
        v = x[:, :, inside].astype(np.float64)
        p25, med, p75 = np.percentile(v, [25, 50, 75], axis=-1)
        stats = [v.mean(-1), v.std(-1), med, v.max(-1), v.min(-1), p25, p75]
        return np.concatenate(stats, axis=-1)

    return _map_chunks(stamps, fn, method, options)


def fill_from_outside(stamps: np.ndarray, inner: float, outer: float, source_min: float,
                      rng: np.random.Generator, *, how: str = "resample") -> np.ndarray:
    """Replace pixels with ``inner ≤ r < outer`` per image and band; return a new float32 array.

    ``how="resample"``: values drawn with replacement from the same image/band's pixels at ``r ≥ source_min``
    (the centre-masked diagnostic, ``r < R`` from ``r ≥ 2R``, and gate 1.7, ``10 ≤ r < 25`` from ``r ≥ 25``;
    seed ``004``, spec ``dhs.md`` §4). ``how="median"``: the median of the pixels at ``r ≥ source_min`` (the planb
    core-masked drop: ``r < 5`` ← median of ``r ≥ 5``).

    Raises
    ------
    ValueError
        When no pixel lies in the region or in the source ring.
    """
    stamps = check_stamps(stamps)
    n, c, h, w = stamps.shape
    r = radius_image(h, w)
    region, source = (r >= inner) & (r < outer), r >= source_min
    if not region.any() or not source.any():
        raise ValueError(f"empty region {inner} <= r < {outer} or source r >= {source_min} in a {h}x{w} stamp")
    out = np.array(stamps, dtype=np.float32, copy=True)
    src = out[:, :, source]  # (N, C, S)
    if how == "median":
        out[:, :, region] = np.median(src, axis=-1)[..., None]
    elif how == "resample":
        idx = rng.integers(0, src.shape[-1], size=(n, c, int(region.sum())))
        out[:, :, region] = np.take_along_axis(src, idx, axis=-1)
    else:
        raise ValueError(f"how must be 'resample' or 'median', got {how!r}")
    return out
