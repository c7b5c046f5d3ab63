"""Legacy Surveys DR10 photometric conventions: band order, pixel scale, AB zero point.

Every stamp, cutout and brick array in dhs-inject has its band axis in the order of :data:`BANDS`
(``g, r, z``). Fluxes are in nanomaggies (nMgy) on the AB system with zero point 22.5:
``f = 10**(-0.4 (m - 22.5))`` (Legacy Surveys DR10 documentation, "Photometry"; Dey et al. 2019,
AJ 157, 168).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["BANDS", "PIXEL_SCALE_ARCSEC", "AB_ZERO_POINT", "mag_to_nmgy", "nmgy_to_mag",
           "band_index", "parse_bands"]

BANDS: tuple[str, ...] = ("g", "r", "z")
"""Band order of every ``(C, H, W)`` array."""

PIXEL_SCALE_ARCSEC: float = 0.262
"""DR10 coadd pixel scale (arcsec / pixel)."""

AB_ZERO_POINT: float = 22.5
"""Magnitude of a 1 nMgy source."""


def mag_to_nmgy(mag: ArrayLike) -> np.ndarray:
    """AB magnitude → flux in nanomaggies, ``10**(-0.4 (m - 22.5))``. NaN stays NaN."""
    return np.power(10.0, -0.4 * (np.asarray(mag, dtype=np.float64) - AB_ZERO_POINT))


def nmgy_to_mag(flux_nmgy: ArrayLike) -> np.ndarray:
    """Flux in nanomaggies → AB magnitude ``22.5 - 2.5 log10(f)``; NaN where ``f <= 0``."""
    f = np.asarray(flux_nmgy, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(f > 0, AB_ZERO_POINT - 2.5 * np.log10(np.where(f > 0, f, 1.0)), np.nan)


def parse_bands(bands: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Normalise a band set (``"grz"`` or ``("g", "r")``) to a tuple in :data:`BANDS` order.

    Raises
    ------
    ValueError
        If a band is not one of g, r, z or is repeated.
    """
    seq = tuple(bands)
    bad = [b for b in seq if b not in BANDS]
    if bad or len(set(seq)) != len(seq) or not seq:
        raise ValueError(f"bands {bands!r}: unknown {bad} or repeated; expected distinct letters from {''.join(BANDS)!r}")
    return tuple(b for b in BANDS if b in seq)


def band_index(band: str) -> int:
    """Index of ``band`` along the band axis (``g`` → 0, ``r`` → 1, ``z`` → 2)."""
    if band not in BANDS:
        raise ValueError(f"band {band!r}: expected one of {BANDS}")
    return BANDS.index(band)
