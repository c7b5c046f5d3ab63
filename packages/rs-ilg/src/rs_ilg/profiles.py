"""Labelled statistics of images: medians over rings or radial bins (``scipy.ndimage`` labelled statistics)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["labelled_medians", "pixel_radius"]


def pixel_radius(shape: tuple[int, int]) -> np.ndarray:
    """Distance of each pixel from the array centre ((ny-1)/2, (nx-1)/2), in pixels; shape ``shape``."""
    ny, nx = shape
    return np.hypot(np.arange(ny)[:, None] - (ny - 1) / 2.0, np.arange(nx)[None, :] - (nx - 1) / 2.0)


def labelled_medians(values: np.ndarray, labels: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Median of ``values`` over each label of ``index`` (``scipy.ndimage.median``), NaN for empty labels."""
    present = np.isin(index, labels)
    out = np.full(len(index), np.nan)
    if present.any():
        out[present] = ndimage.median(np.asarray(values, dtype=float), labels, index[present])
    return out
