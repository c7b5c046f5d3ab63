"""Pilot images: reading a galaxy image from FITS (never substituting anything), the built-in placeholder,
and the synthetic exponential-disc images of the embedded default (spec section 9 items 1-2)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits

__all__ = ["ARCSEC_KPC_PER_MPC", "MIN_IMAGE_SIDE", "LoadedImage", "PilotImageError", "gaussian_placeholder",
           "load_image", "no_data_hdu", "synthetic_disc_hdu"]

#: kpc subtended by one arcsec at 1 Mpc (= 1 arcsec in radians x 1e3).
ARCSEC_KPC_PER_MPC: float = math.radians(1.0 / 3600.0) * 1e3
#: Smallest image side accepted as a real image [pixels].
MIN_IMAGE_SIDE: int = 8


class PilotImageError(ValueError):
    """An input image that cannot be used (``path``, ``reason``)."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


def gaussian_placeholder(size: int = 512, sigma_frac: float = 0.15) -> np.ndarray:
    """The original's placeholder image: a unit-peak circular Gaussian of sigma = sigma_frac x size pixels,
    centred at ((size-1)/2, (size-1)/2)."""
    c = (size - 1) / 2.0
    i = np.arange(size) - c
    s = sigma_frac * size
    return np.exp(-(i[:, None] ** 2 + i[None, :] ** 2) / (2.0 * s * s))


def synthetic_disc_hdu(
    *, size: int = 256, rd_kpc: float = 3.0, pixscale_arcsec: float = 1.5, dist_mpc: float = 10.0,
    inc_deg: float = 0.0, pa_deg: float = 0.0, peak: float = 100.0, background: float = 1.0,
    noise: float = 0.0, seed: int = 0, name: str = "MOCK",
) -> fits.PrimaryHDU:
    """An exponential-disc image in a FITS primary HDU (the embedded default's imaging input).

    I = background + peak exp(-R/R_d) (+ Gaussian noise of rms ``noise``), with R the in-plane radius of a
    disc of inclination ``inc_deg`` and position angle ``pa_deg`` (east of north; north = +row, east =
    -col). The header carries a simple TAN WCS with CDELT = pixscale, ``PIXSCALE`` [arcsec], ``DIST_MPC``,
    ``RD_KPC`` (true), ``INC_DEG``, ``PA_DEG``, ``OBJECT`` and ``BUNIT``.
    """
    dx_kpc = pixscale_arcsec * ARCSEC_KPC_PER_MPC * dist_mpc
    c = (size - 1) / 2.0
    row = (np.arange(size) - c)[:, None] * dx_kpc
    col = (np.arange(size) - c)[None, :] * dx_kpc
    pa, inc = math.radians(pa_deg), math.radians(inc_deg)
    u = row * math.cos(pa) - col * math.sin(pa)  # along the major axis
    v = row * math.sin(pa) + col * math.cos(pa)  # along the minor axis (projected)
    r = np.hypot(u, v / max(math.cos(inc), 1e-3))
    img = background + peak * np.exp(-r / rd_kpc)
    if noise > 0:
        img = img + np.random.default_rng(seed).normal(0.0, noise, img.shape)
    hdu = fits.PrimaryHDU(img.astype(np.float32))
    h = hdu.header
    h["OBJECT"] = name
    h["BUNIT"] = ("arbitrary", "synthetic surface brightness")
    h["CTYPE1"], h["CTYPE2"] = "RA---TAN", "DEC--TAN"
    h["CRPIX1"], h["CRPIX2"] = c + 1.0, c + 1.0
    h["CRVAL1"], h["CRVAL2"] = 0.0, 0.0
    h["CDELT1"], h["CDELT2"] = -pixscale_arcsec / 3600.0, pixscale_arcsec / 3600.0
    h["CUNIT1"], h["CUNIT2"] = "deg", "deg"
    h["PIXSCALE"] = (pixscale_arcsec, "arcsec per pixel")
    h["DIST_MPC"] = (dist_mpc, "distance [Mpc]")
    h["RD_KPC"] = (rd_kpc, "true exponential scale length [kpc]")
    h["INC_DEG"] = (inc_deg, "inclination [deg]")
    h["PA_DEG"] = (pa_deg, "position angle east of north [deg]")
    return hdu


def no_data_hdu() -> fits.PrimaryHDU:
    """A 1-element FITS like the SkyView "No data found" answers the original pilot received."""
    hdu = fits.PrimaryHDU(np.zeros(1, dtype=np.float32))
    hdu.header["COMMENT"] = "No data found"
    return hdu


@dataclass
class LoadedImage:
    """An image read from FITS: ``data`` (float64 2D, NaN -> 0) or None when unusable, the primary
    ``header``, and ``status`` ("ok: HDU k ..." or the reason it is unusable)."""

    data: np.ndarray | None
    header: fits.Header
    status: str


def _usable(arr: np.ndarray) -> str | None:
    """None if ``arr`` (2D) can serve as an image, else the reason."""
    if min(arr.shape) < MIN_IMAGE_SIDE:
        return f"image of shape {arr.shape} is smaller than {MIN_IMAGE_SIDE}x{MIN_IMAGE_SIDE}"
    fin = arr[np.isfinite(arr)]
    if fin.size == 0:
        return "image has no finite pixel"
    if fin.max() == fin.min():
        return "image is constant"
    return None


def load_image(path: str | Path) -> LoadedImage:
    """Read the pilot image from a FITS file (spec 9 item 2); never substitutes anything.

    A missing file raises ``FileNotFoundError``. A file that is not FITS, or holds no usable 2D image or 3D
    cube (e.g. SkyView's 1-element "No data found" answer), gives ``data=None`` and the reason in
    ``status``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: image file not found")
    try:
        with fits.open(path, memmap=False) as hdul:
            header = hdul[0].header.copy()
            arrays = [(k, np.asarray(h.data, dtype=float)) for k, h in enumerate(hdul)
                      if getattr(h, "data", None) is not None and getattr(h, "is_image", False)]  # fmt: skip
    except (OSError, ValueError) as exc:
        return LoadedImage(None, fits.Header(), f"unreadable FITS ({exc})")
    reasons = []
    for k, arr in arrays:
        if arr.ndim == 2:
            why = _usable(arr)
            if why is None:
                return LoadedImage(np.nan_to_num(arr, nan=0.0), header, f"ok: HDU {k} 2D {arr.shape}")
            reasons.append(f"HDU {k}: {why}")
    for k, arr in arrays:
        if arr.ndim == 3:
            plane = arr[0] if arr.shape[0] <= 4 else np.nanmean(arr, axis=0)
            why = _usable(plane)
            if why is None:
                how = "first plane" if arr.shape[0] <= 4 else "mean"
                return LoadedImage(np.nan_to_num(plane, nan=0.0), header, f"ok: HDU {k} cube {arr.shape} ({how})")
            reasons.append(f"HDU {k}: {why}")
    shapes = ", ".join(f"HDU {k}: {a.shape}" for k, a in arrays) or "no image data"
    detail = "; ".join(reasons) if reasons else shapes
    return LoadedImage(None, header, f"no usable 2D image or 3D cube ({detail}); a SkyView 'No data found' answer looks like this")
