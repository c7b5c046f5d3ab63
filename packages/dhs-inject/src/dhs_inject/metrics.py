"""Per-row metrics of an injected arc (pure NumPy on batched arrays).

Shapes: ``arc``, ``invvar`` are ``(N, H, W)`` for one band (r unless stated) or ``(N, C, H, W)`` for all
bands; ``good`` is a boolean ``(N, H, W)``. Fluxes in nanomaggies (AB zero point 22.5), ``invvar`` in
nMgy⁻², angles in arcsec. The stamp centre is pixel ``(H//2, W//2)`` (the LRG; ``../shared/specs/dhs.md`` §2.1).

The names are honest (spec §5 item 8): ``arc_peak_snr`` is the upstream's per-pixel peak SNR, ``arc_snr``
the matched-filter SNR, ``arc_annulus_snr`` the successor engine's annulus SNR (spec §2.8).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "BAD_MASKBITS_R",
    "arc_annulus_snr",
    "arc_flux",
    "arc_peak_snr",
    "arc_snr",
    "bad_pixel_frac",
    "good_pixels",
    "lensed_hlr_arcsec",
    "physics_valid",
    "radius_pix",
    "theta_e_over_psf",
]

#: DR10 maskbits that make an r-band pixel bad (spec §2.5): NPRIMARY, BRIGHT, SATUR_R, ALLMASK_R, BAILOUT, MEDIUM.
BAD_MASKBITS_R: tuple[int, ...] = (0, 1, 3, 6, 10, 11)


def good_pixels(maskbits: np.ndarray, invvar_r: np.ndarray, bits: tuple[int, ...] = BAD_MASKBITS_R) -> np.ndarray:
    """Good r-band pixels: none of ``bits`` set in ``maskbits`` and ``invvar_r > 0`` (finite).

    Parameters
    ----------
    maskbits : (N, H, W) int
        DR10 ``maskbits`` cutouts.
    invvar_r : (N, H, W) float
        r-band inverse variance (nMgy⁻²).
    bits : tuple of int
        Bit numbers that flag a pixel as bad (default :data:`BAD_MASKBITS_R`).
    """
    bad = np.bitwise_and(np.asarray(maskbits, dtype=np.int64), sum(1 << b for b in bits)) != 0
    return ~bad & np.isfinite(invvar_r) & (invvar_r > 0)


def bad_pixel_frac(good: np.ndarray) -> np.ndarray:
    """``1 − mean(good)`` per row, shape ``(N,)`` (spec §2.5)."""
    return 1.0 - good.reshape(good.shape[0], -1).mean(axis=1)


def arc_peak_snr(arc_r: np.ndarray, invvar_r: np.ndarray, good: np.ndarray) -> np.ndarray:
    """Peak per-pixel SNR ``max_{good} A(p)·√invvar(p)`` (the upstream's ``arc_snr``), shape ``(N,)``.

    ``A`` is the noiseless r-band arc (after PSF and core mask). ``nan`` when a row has no good pixel.
    """
    snr = np.where(good, arc_r * np.sqrt(np.where(good, invvar_r, 0.0)), -np.inf).reshape(arc_r.shape[0], -1)
    peak = snr.max(axis=1)
    return np.where(np.isfinite(peak), peak, np.nan)


def arc_snr(arc_r: np.ndarray, invvar_r: np.ndarray, good: np.ndarray) -> np.ndarray:
    """Matched-filter SNR ``√Σ_{good} A(p)²·invvar(p)``, shape ``(N,)``.

    The optimal (known-template) detection SNR of the noiseless arc ``A`` in Gaussian noise of inverse
    variance ``invvar`` (e.g. Kay 1998, *Fundamentals of Statistical Signal Processing* II, §4.3).
    """
    term = np.where(good, arc_r**2 * np.where(good, invvar_r, 0.0), 0.0)
    return np.sqrt(term.reshape(arc_r.shape[0], -1).sum(axis=1))


def radius_pix(shape: tuple[int, int]) -> np.ndarray:
    """Distance (pixels) of every pixel of an ``(H, W)`` stamp from the centre pixel ``(H//2, W//2)``."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    return np.hypot(yy - h // 2, xx - w // 2)


def arc_annulus_snr(
    arc_r: np.ndarray, invvar_r: np.ndarray, good: np.ndarray, r_in_pix: float = 4.0, r_out_pix: float = 16.0
) -> np.ndarray:
    """Annulus SNR ``Σ_a A / √(Σ_a 1/invvar)`` over good pixels ``a`` with ``r_in ≤ r ≤ r_out`` (pixels).

    The successor engine's ``Σ A_r / (√N σ_pix)`` (spec §2.8), with the per-pixel variance ``1/invvar``
    in place of one ``σ_pix`` (identical when the noise is uniform). ``nan`` without a good annulus pixel.
    """
    r = radius_pix(arc_r.shape[-2:])
    sel = good & ((r >= r_in_pix) & (r <= r_out_pix))[None]
    n = arc_r.shape[0]
    signal = np.where(sel, arc_r, 0.0).reshape(n, -1).sum(axis=1)
    var = np.where(sel, 1.0 / np.where(sel, invvar_r, 1.0), 0.0).reshape(n, -1).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(var > 0, signal / np.sqrt(var), np.nan)


def arc_flux(arc: np.ndarray) -> np.ndarray:
    """Total arc flux in the stamp per band, ``(N, C, H, W)`` → ``(N, C)`` nMgy."""
    return arc.reshape(arc.shape[0], arc.shape[1], -1).sum(axis=2)


def lensed_hlr_arcsec(arc_r: np.ndarray, pixel_scale: float) -> np.ndarray:
    """Radius (arcsec) about the stamp centre enclosing half the r-band arc flux in the stamp, ``(N,)``.

    Pixels are sorted by their centre's distance ``r`` from pixel ``(H//2, W//2)``; the cumulative flux
    is interpolated linearly in ``r`` to half the total (spec §2.5 ``lensed_hlr_arcsec``). ``nan`` when
    the total flux is not positive.
    """
    n = arc_r.shape[0]
    r = radius_pix(arc_r.shape[-2:]).reshape(-1)
    order = np.argsort(r, kind="stable")
    r_sorted = r[order]
    flux = arc_r.reshape(n, -1)[:, order]
    cum = np.cumsum(flux, axis=1)
    total = cum[:, -1]
    out = np.full(n, np.nan)
    for i in np.flatnonzero(total > 0):
        k = int(np.searchsorted(cum[i], 0.5 * total[i]))
        if k == 0:
            out[i] = r_sorted[0]
            continue
        c0, c1 = cum[i, k - 1], cum[i, k]
        t = (0.5 * total[i] - c0) / (c1 - c0) if c1 > c0 else 0.0
        out[i] = r_sorted[k - 1] + t * (r_sorted[k] - r_sorted[k - 1])
    return out * pixel_scale


def theta_e_over_psf(theta_e_arcsec: np.ndarray, psf_fwhm_r_arcsec: np.ndarray) -> np.ndarray:
    """``θ_E / FWHM_r`` (both arcsec), the resolvability ratio (spec §2.5 warns below 0.5)."""
    return np.asarray(theta_e_arcsec, dtype=float) / np.asarray(psf_fwhm_r_arcsec, dtype=float)


def physics_valid(magnification: np.ndarray, stamp: np.ndarray, arc: np.ndarray) -> np.ndarray:
    """``True`` where a row is physically usable, shape ``(N,)``.

    False if the measured magnification is non-finite or ``≤ 0``, or any pixel of the stamp ``(N, C, H, W)``
    or of the arc is non-finite (spec §2.5, with the magnification actually measured).
    """
    n = stamp.shape[0]
    mu = np.asarray(magnification, dtype=float)
    finite = np.isfinite(stamp.reshape(n, -1)).all(axis=1) & np.isfinite(arc.reshape(n, -1)).all(axis=1)
    return np.isfinite(mu) & (mu > 0) & finite
