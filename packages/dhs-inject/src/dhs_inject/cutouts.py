"""Cutouts around galaxies: from coadd bricks, from the Legacy Surveys cutout service, from npz.

Geometry (spec §2.1): the galaxy's WCS pixel position ``(x, y)`` is 0-based (``astropy``
``world_to_pixel``); the cutout of side ``N`` starts at ``x0 = floor(x + 0.5) - N//2``,
``y0 = floor(y + 0.5) - N//2`` so the galaxy lands at array index ``(N//2, N//2)`` (row, col) within
±0.5 px — the stamp-centre convention shared with the renderer, masks and gates. Arrays are
``(B, C, N, N)`` float32 in nanomaggies with bands in g, r, z order.

``cutout_ok`` is True only if, for every band, the image *and* invvar cutouts lie fully inside the
brick **and** the invvar at the galaxy's pixel is > 0 (a host without data in a band is unusable).
Pixels outside the brick are zero (image and invvar) and such a cutout has ``cutout_ok = False``;
zero-invvar pixels inside the brick are data ("no coverage") and reported in ``zero_invvar_frac``.
A galaxy whose own pixel lies outside the brick is an error (wrong brick), not a flagged row.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from astropy.io import fits
from astropy.wcs import WCS
from numpy.typing import ArrayLike

from dhs_inject.bands import BANDS, PIXEL_SCALE_ARCSEC, parse_bands
from dhs_inject.bricks import Brick, read_brick

__all__ = ["Cutouts", "cutout_origin", "cut_cutouts", "iter_brick_cutouts", "read_cutout_fits",
           "write_cutout_fits", "tan_header", "read_cutout_npz", "center_crop", "SUPPORTED_SIZES"]

SUPPORTED_SIZES: tuple[int, ...] = (64, 101)
"""Stamp sides used by the pipeline (any positive size works)."""


@dataclass(frozen=True)
class Cutouts:
    """A batch of cutouts.

    Attributes
    ----------
    image : float32 (B, C, N, N), nanomaggies.
    invvar : float32 (B, C, N, N), nMgy^-2, or None (cutout-service images without invvar).
    maskbits : int32 (B, N, N), or None.
    cutout_ok : bool (B,)
    zero_invvar_frac : float32 (B, C), fraction of in-brick pixels with invvar 0 (NaN without invvar).
    x0, y0 : int64 (B,), brick pixel of the cutout's [0, 0] (0-based; 0 for service/npz cutouts).
    bands : tuple of str
    """

    image: np.ndarray
    invvar: np.ndarray | None
    maskbits: np.ndarray | None
    cutout_ok: np.ndarray
    zero_invvar_frac: np.ndarray
    x0: np.ndarray
    y0: np.ndarray
    bands: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.image.shape[0])


def cutout_origin(x_pix: ArrayLike, y_pix: ArrayLike, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Cutout origin ``(x0, y0) = floor(pos + 0.5) - size//2`` from 0-based pixel positions."""
    x0 = np.floor(np.asarray(x_pix, dtype=np.float64) + 0.5).astype(np.int64) - size // 2
    y0 = np.floor(np.asarray(y_pix, dtype=np.float64) + 0.5).astype(np.int64) - size // 2
    return x0, y0


def cut_cutouts(brick: Brick, ra_deg: ArrayLike, dec_deg: ArrayLike, size: int = 64) -> Cutouts:
    """Cut ``size × size`` cutouts of every band around each (ra, dec) from one brick (vectorised).

    Parameters
    ----------
    brick : Brick
    ra_deg, dec_deg : array_like, shape (B,)
        ICRS degrees.
    size : int
        Side N in pixels (64 default, 101 supported).

    Returns
    -------
    Cutouts
        ``image``/``invvar`` (B, C, N, N), ``maskbits`` (B, N, N); see the module notes.

    Raises
    ------
    ValueError
        If ``size < 1`` or a position's own pixel lies off the brick (the message names the
        object index, its coordinates and the brick).
    """
    if size < 1:
        raise ValueError(f"cutout size {size}: must be >= 1")
    ra = np.atleast_1d(np.asarray(ra_deg, dtype=np.float64))
    dec = np.atleast_1d(np.asarray(dec_deg, dtype=np.float64))
    h, w = brick.shape
    x, y = brick.wcs.all_world2pix(ra, dec, 0)
    xi, yi = np.floor(x + 0.5).astype(np.int64), np.floor(y + 0.5).astype(np.int64)
    off = (xi < 0) | (xi >= w) | (yi < 0) | (yi >= h) | ~np.isfinite(x) | ~np.isfinite(y)
    if off.any():
        i = int(np.flatnonzero(off)[0])
        raise ValueError(f"object {i} (ra={ra[i]:.6f}, dec={dec[i]:.6f}) is off brick {brick.brickname!r}: "
                         f"pixel ({x[i]:.1f}, {y[i]:.1f}) outside {w}x{h}")
    x0, y0 = cutout_origin(x, y, size)
    k = np.arange(size)
    rows, cols = y0[:, None] + k, x0[:, None] + k                       # (B, N)
    rin, cin = (rows >= 0) & (rows < h), (cols >= 0) & (cols < w)
    inside = rin[:, :, None] & cin[:, None, :]                           # (B, N, N)
    rr, cc = np.clip(rows, 0, h - 1)[:, :, None], np.clip(cols, 0, w - 1)[:, None, :]
    image = np.where(inside[:, None], brick.image[:, rr, cc].transpose(1, 0, 2, 3), 0).astype(np.float32)
    invvar = np.where(inside[:, None], brick.invvar[:, rr, cc].transpose(1, 0, 2, 3), 0).astype(np.float32)
    maskbits = np.where(inside, brick.maskbits[rr, cc], 0).astype(np.int32)
    n_in = inside.sum(axis=(1, 2))
    zero = ((invvar == 0) & inside[:, None]).sum(axis=(2, 3)) / np.maximum(n_in, 1)[:, None]
    centre_ok = (brick.invvar[:, yi, xi] > 0).all(axis=0)
    ok = inside.all(axis=(1, 2)) & centre_ok
    return Cutouts(image=image, invvar=invvar, maskbits=maskbits, cutout_ok=ok,
                   zero_invvar_frac=zero.astype(np.float32), x0=x0, y0=y0, bands=brick.bands)


def iter_brick_cutouts(root: str | Path, frame: pd.DataFrame, size: int = 64, bands: str = "grz", *,
                       ra_col: str = "ra_deg", dec_col: str = "dec_deg",
                       brick_col: str = "brickname") -> Iterator[tuple[np.ndarray, Cutouts]]:
    """Yield ``(positions, cutouts)`` per brick for the rows of ``frame``, reading each brick once.

    ``positions`` are the integer positions (``iloc``) of ``frame`` rows in the batch, in the
    order of ``cutouts``. Raises as :func:`dhs_inject.bricks.read_brick` and :func:`cut_cutouts`.
    """
    for col in (ra_col, dec_col, brick_col):
        if col not in frame.columns:
            raise ValueError(f"cutout request frame: missing column {col!r}")
    codes, names = pd.factorize(frame[brick_col], sort=True)
    for j, name in enumerate(names):
        pos = np.flatnonzero(codes == j)
        brick = read_brick(root, str(name), bands)
        yield pos, cut_cutouts(brick, frame[ra_col].to_numpy()[pos], frame[dec_col].to_numpy()[pos], size)


def _single(image: np.ndarray, bands: tuple[str, ...], invvar: np.ndarray | None) -> Cutouts:
    finite = bool(np.isfinite(image).all()) and (invvar is None or bool(np.isfinite(invvar).all()))
    zero = (np.full((1, len(bands)), np.nan, np.float32) if invvar is None
            else (invvar == 0).mean(axis=(1, 2))[None].astype(np.float32))
    return Cutouts(image=image[None].astype(np.float32), invvar=None if invvar is None else invvar[None].astype(np.float32),
                   maskbits=None, cutout_ok=np.array([finite]), zero_invvar_frac=zero,
                   x0=np.zeros(1, np.int64), y0=np.zeros(1, np.int64), bands=bands)


def _order(image: np.ndarray, bands: tuple[str, ...], source: str) -> tuple[np.ndarray, tuple[str, ...]]:
    if len(bands) != image.shape[0]:
        raise ValueError(f"{source}: {len(bands)} band name(s) {bands} for {image.shape[0]} image plane(s)")
    try:
        wanted = parse_bands(bands)
    except ValueError as exc:
        raise ValueError(f"{source}: {exc}") from exc
    return image[[bands.index(b) for b in wanted]], wanted


def read_cutout_fits(path: str | Path) -> tuple[Cutouts, WCS]:
    """Read a cutout as delivered by the Legacy Surveys cutout service (``/fits-cutout``).

    The primary HDU holds ``(band, y, x)`` float32 nanomaggies with a ``BANDS`` header card
    (e.g. ``'grz'``); an extension whose EXTNAME contains ``IVAR``/``INVVAR``, if present, is
    read as the inverse variance. ``cutout_ok`` is False if any value is non-finite (the service
    writes NaN where there is no coverage): flagged, not an error.

    Returns
    -------
    (Cutouts with B = 1, astropy.wcs.WCS (celestial part of the header))

    Raises
    ------
    ValueError
        If the file is not a readable FITS file (message naming it), ``BANDS`` is missing or does not
        match the number of planes.
    """
    path = Path(path)
    try:
        with fits.open(path, memmap=False) as hdul:
            hdr = hdul[0].header
            data = None if hdul[0].data is None else np.asarray(hdul[0].data, dtype=np.float32)
            ivar = None
            for hdu in hdul[1:]:
                if any(t in str(hdu.header.get("EXTNAME", "")).upper() for t in ("IVAR", "INVVAR")):
                    ivar = np.asarray(hdu.data, dtype=np.float32)
            has_bands = "BANDS" in hdr
            bands = tuple(str(hdr["BANDS"]).strip()) if has_bands else ()
            wcs = WCS(hdr).celestial
    except FileNotFoundError:
        raise
    except Exception as exc:  # corrupt bytes: astropy raises OSError, VerifyError, KeyError, AttributeError, ...
        raise ValueError(f"{path}: not a readable FITS cutout ({type(exc).__name__}: {exc})") from exc
    if data is None:
        raise ValueError(f"{path}: primary HDU has no image data")
    if not has_bands:
        raise ValueError(f"{path}: no BANDS header card (expected e.g. BANDS = 'grz')")
    if data.ndim == 2:
        data = data[None]
    if data.ndim != 3 or (ivar is not None and ivar.size != data.size):
        shapes = f"image {data.shape}" + ("" if ivar is None else f", invvar {ivar.shape}")
        raise ValueError(f"{path}: expected (band, y, x) planes with an invvar of the same size, got {shapes}")
    image, order = _order(data, bands, str(path))
    if ivar is not None:
        ivar = _order(ivar.reshape(data.shape), bands, str(path))[0]
    return _single(image, order, ivar), wcs


def tan_header(ra_deg: float, dec_deg: float, crpix1: float, crpix2: float,
               pixel_scale: float = PIXEL_SCALE_ARCSEC) -> fits.Header:
    """FITS TAN WCS header (CD matrix, north up, east left) with reference pixel ``crpix`` (1-based)."""
    hdr = fits.Header()
    hdr["CTYPE1"], hdr["CTYPE2"] = "RA---TAN", "DEC--TAN"
    hdr["CRVAL1"], hdr["CRVAL2"] = float(ra_deg), float(dec_deg)
    hdr["CRPIX1"], hdr["CRPIX2"] = float(crpix1), float(crpix2)
    hdr["CD1_1"], hdr["CD1_2"], hdr["CD2_1"], hdr["CD2_2"] = -pixel_scale / 3600, 0.0, 0.0, pixel_scale / 3600
    return hdr


def write_cutout_fits(path: str | Path, image: np.ndarray, bands: str | tuple[str, ...], ra_deg: float,
                      dec_deg: float, pixel_scale: float = PIXEL_SCALE_ARCSEC) -> Path:
    """Write ``image`` (C, H, W) nMgy in the cutout service's format (TAN WCS centred on (ra, dec))."""
    bands = tuple(bands)
    c, h, w = image.shape
    hdr = tan_header(ra_deg, dec_deg, w // 2 + 1.0, h // 2 + 1.0, pixel_scale)
    hdr["BANDS"] = "".join(bands)
    for i, b in enumerate(bands):
        hdr[f"BAND{i}"] = b
    path = Path(path)
    fits.PrimaryHDU(np.asarray(image, np.float32), header=hdr).writeto(path, overwrite=True)
    return path


def read_cutout_npz(path: str | Path) -> tuple[Cutouts, dict]:
    """Read an upstream ``(H, W, band)`` npz cutout (key ``cutout``; ``meta_*`` scalars).

    Bands are ``meta_bands_requested`` if present, else g, r, z. No pickle is loaded.

    Returns
    -------
    (Cutouts with B = 1 and image (1, C, H, W), dict of metadata without the ``meta_`` prefix)

    Raises
    ------
    ValueError
        If the file is not a readable npz archive (message naming it), or the ``cutout`` key is
        missing or not 3-D.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            files = z.files
            cube = np.asarray(z["cutout"]) if "cutout" in files else None
            meta = {k[5:]: z[k].item() for k in files if k.startswith("meta_")}
    except FileNotFoundError:
        raise
    except Exception as exc:  # corrupt archive: zipfile/numpy raise BadZipFile, EOFError, NotImplementedError, ...
        raise ValueError(f"{path}: not a readable npz cutout ({type(exc).__name__}: {exc})") from exc
    if cube is None:
        raise ValueError(f"{path}: no 'cutout' array (keys {files})")
    if cube.ndim != 3:
        raise ValueError(f"{path}: cutout has shape {cube.shape}, expected (H, W, band)")
    bands = tuple(str(meta.get("bands_requested", "".join(BANDS))))
    image, order = _order(np.moveaxis(cube, -1, 0), bands, str(path))
    return _single(image, order, None), meta


def center_crop(image: np.ndarray, size: int) -> np.ndarray:
    """Central ``size × size`` crop of ``(..., H, W)`` keeping pixel ``(H//2, W//2)`` at ``(size//2, size//2)``.

    E.g. 101 → 64 takes rows/cols 18..81 (the upstream ``[18:82, 18:82]``).
    """
    h, w = image.shape[-2:]
    if size > min(h, w):
        raise ValueError(f"crop size {size} larger than the image {h}x{w}")
    r0, c0 = h // 2 - size // 2, w // 2 - size // 2
    return image[..., r0:r0 + size, c0:c0 + size]
