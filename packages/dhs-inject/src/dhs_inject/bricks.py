"""Legacy Surveys DR10 coadd bricks: the survey-bricks table, brick lookup and brick files.

Layout read (the survey's own, ``<root>/coadd/<ddd>/<brick>/`` with ``ddd`` the first three
characters of the brick name)::

    legacysurvey-<brick>-image-<b>.fits.fz    image, nanomaggies per pixel (b in g, r, z)
    legacysurvey-<brick>-invvar-<b>.fits.fz   inverse variance, nMgy^-2 (0 = no data)
    legacysurvey-<brick>-maskbits.fits.fz     DR10 maskbits (int)

Each file holds one 2-D image in its first HDU with data (fpack ``CompImageHDU`` in the real
survey) and a TAN WCS in that HDU's header. The survey-bricks table (``survey-bricks-dr10-south``
plus the ``ra1, ra2, dec1, dec2`` edges of ``survey-bricks``) gives each brick's unique area; a
position belongs to the brick with ``ra1 <= ra < ra2`` and ``dec1 <= dec < dec2`` — looked up in
the table, never computed from (ra, dec) by a formula (spec §5.19).

Error policy: a missing file or band, an unknown brick, images of different shapes, and
non-finite image/invvar values or negative invvar (a corrupt file — DR10 coadds mark missing
data with ``invvar = 0``, never NaN) raise ``ValueError``/``FileNotFoundError`` naming the file.
Zero invvar is valid data ("no coverage") and is flagged per cutout (:mod:`dhs_inject.cutouts`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS
from numpy.typing import ArrayLike

from dhs_inject.bands import parse_bands

__all__ = ["BRICK_TABLE_REQUIRED", "BRICK_CONDITION_COLUMNS", "Brick", "brick_dir", "brick_file",
           "read_bricks_table", "validate_bricks_table", "lookup_bricks", "brick_rows", "read_brick"]

BRICK_TABLE_REQUIRED: tuple[str, ...] = ("brickname", "ra", "dec", "ra1", "ra2", "dec1", "dec2")
"""Columns every survey-bricks table must have (degrees)."""

BRICK_CONDITION_COLUMNS: tuple[str, ...] = ("psfsize_g", "psfsize_r", "psfsize_z",
                                           "psfdepth_g", "psfdepth_r", "psfdepth_z", "ebv")
"""Per-brick observing conditions: PSF FWHM (arcsec), point-source depth (nMgy^-2), E(B-V) (mag)."""


def brick_dir(root: str | Path, brickname: str) -> Path:
    """``<root>/coadd/<ddd>/<brick>`` (the survey's layout)."""
    return Path(root) / "coadd" / brickname[:3] / brickname


def brick_file(root: str | Path, brickname: str, kind: str, band: str | None = None) -> Path:
    """Path of one brick file; ``kind`` in {"image", "invvar", "maskbits"} (maskbits has no band)."""
    if kind == "maskbits":
        name = f"legacysurvey-{brickname}-maskbits.fits.fz"
    elif kind in ("image", "invvar"):
        if band is None:
            raise ValueError(f"brick file kind {kind!r} needs a band")
        name = f"legacysurvey-{brickname}-{kind}-{band}.fits.fz"
    else:
        raise ValueError(f"brick file kind {kind!r}: expected image, invvar or maskbits")
    return brick_dir(root, brickname) / name


def read_bricks_table(path: str | Path) -> pd.DataFrame:
    """Read a survey-bricks table (FITS, ``.fits.gz``, parquet or CSV) with lower-case column names.

    Returns
    -------
    pandas.DataFrame
        One row per brick, index 0..n-1, ``brickname`` as str; all other columns as stored.
        Missing ``psfsize_g``/``psfsize_z`` values (0 or NaN, as in bricks without that band) are
        *not* filled here; :func:`dhs_inject.manifest.brick_conditions` applies the fallback.

    Raises
    ------
    ValueError
        If a required column (:data:`BRICK_TABLE_REQUIRED`) is missing or a brick name repeats.
    """
    path = Path(path)
    name = path.name.lower()
    if name.endswith(".parquet"):
        frame = pd.read_parquet(path)
    elif name.endswith(".csv"):
        frame = pd.read_csv(path)
    else:
        frame = Table.read(path).to_pandas()
    frame.columns = [str(c).lower() for c in frame.columns]
    return validate_bricks_table(frame, source=str(path))


def validate_bricks_table(frame: pd.DataFrame, source: str = "bricks table") -> pd.DataFrame:
    """Check the required columns and unique brick names; decode byte strings. Returns a copy."""
    missing = [c for c in BRICK_TABLE_REQUIRED if c not in frame.columns]
    if missing:
        raise ValueError(f"{source}: missing column(s) {missing}; have {list(frame.columns)}")
    out = frame.reset_index(drop=True).copy()
    out["brickname"] = [b.decode() if isinstance(b, bytes) else str(b).strip() for b in out["brickname"]]
    dup = out["brickname"][out["brickname"].duplicated()]
    if len(dup):
        raise ValueError(f"{source}: brickname {dup.iloc[0]!r} appears more than once")
    return out


def lookup_bricks(table: pd.DataFrame, ra_deg: ArrayLike, dec_deg: ArrayLike) -> np.ndarray:
    """Brick name of each position from the table's unique areas (vectorised).

    A position belongs to the brick with ``ra1 <= ra < ra2`` and ``dec1 <= dec < dec2`` (degrees,
    ``ra`` taken modulo 360). Bricks are grouped in rows of equal ``(dec1, dec2)`` as in the survey.

    Returns
    -------
    numpy.ndarray of str, shape (N,)

    Raises
    ------
    ValueError
        Naming the first position (index, ra, dec) that lies in no brick of the table.
    """
    ra = np.mod(np.atleast_1d(np.asarray(ra_deg, dtype=np.float64)), 360.0)
    dec = np.atleast_1d(np.asarray(dec_deg, dtype=np.float64))
    if ra.shape != dec.shape:
        raise ValueError(f"ra_deg {ra.shape} and dec_deg {dec.shape} differ in shape")
    t = table.sort_values(["dec1", "ra1"], kind="stable")
    out = np.full(ra.shape, None, dtype=object)
    rows = t.groupby(["dec1", "dec2"], sort=True)
    for (d1, d2), grp in rows:
        sel = np.flatnonzero((dec >= d1) & (dec < d2))
        if not len(sel):
            continue
        ra1 = grp["ra1"].to_numpy(np.float64)
        ra2 = grp["ra2"].to_numpy(np.float64)
        j = np.searchsorted(ra1, ra[sel], side="right") - 1
        ok = (j >= 0) & (ra[sel] < ra2[np.clip(j, 0, None)])
        names = grp["brickname"].to_numpy()
        out[sel[ok]] = names[j[ok]]
    bad = np.flatnonzero(pd.isna(out))
    if len(bad):
        i = int(bad[0])
        raise ValueError(f"position {i} (ra={ra[i]:.6f}, dec={dec[i]:.6f}) lies in no brick of the "
                         f"survey-bricks table ({len(bad)} of {len(ra)} positions unmatched)")
    return out.astype(str)


def brick_rows(table: pd.DataFrame, bricknames: ArrayLike) -> pd.DataFrame:
    """Rows of ``table`` for ``bricknames`` (in that order, repeats allowed).

    Raises
    ------
    ValueError
        Naming the first brick that is not in the table (unknown brick).
    """
    names = pd.Index(table["brickname"])
    wanted = np.asarray(bricknames, dtype=object).astype(str)
    pos = names.get_indexer(wanted)
    if (pos < 0).any():
        missing = pd.unique(wanted[pos < 0])
        raise ValueError(f"unknown brick {str(missing[0])!r}: not in the survey-bricks table "
                         f"({len(missing)} unknown brick name(s))")
    return table.iloc[pos].reset_index(drop=True)


@dataclass(frozen=True)
class Brick:
    """One coadd brick in memory.

    Attributes
    ----------
    brickname : str
    bands : tuple of str
        Band order of the first axis of ``image``/``invvar``.
    image : numpy.ndarray, float32, shape (C, H, W)
        Nanomaggies per pixel.
    invvar : numpy.ndarray, float32, shape (C, H, W)
        Inverse variance (nMgy^-2); 0 where there is no data.
    maskbits : numpy.ndarray, int32, shape (H, W)
        DR10 maskbits.
    wcs : astropy.wcs.WCS
        Celestial TAN WCS shared by every band (0-based pixel convention via ``world_to_pixel``).
    """

    brickname: str
    bands: tuple[str, ...]
    image: np.ndarray
    invvar: np.ndarray
    maskbits: np.ndarray
    wcs: WCS

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W) in pixels."""
        return self.maskbits.shape


def _read_2d(path: Path) -> tuple[np.ndarray, fits.Header]:
    if not path.is_file():
        raise FileNotFoundError(f"brick file missing: {path}")
    with fits.open(path, memmap=False) as hdul:
        for hdu in hdul:
            if hdu.data is not None:
                data = np.asarray(hdu.data)
                if data.ndim != 2:
                    raise ValueError(f"{path}: expected a 2-D image, got shape {data.shape}")
                return data, hdu.header.copy()
    raise ValueError(f"{path}: no HDU holds image data")


def read_brick(root: str | Path, brickname: str, bands: str | tuple[str, ...] = "grz") -> Brick:
    """Read a brick's images, inverse variances and maskbits from ``<root>/coadd/<ddd>/<brick>/``.

    Parameters
    ----------
    root : path
        Survey root (holding ``coadd/``).
    brickname : str
        E.g. ``"0347m150"``.
    bands : str or tuple
        Bands to read, returned in g, r, z order.

    Returns
    -------
    Brick

    Raises
    ------
    FileNotFoundError
        A band's image or invvar file, or the maskbits file, is missing (the message names it).
    ValueError
        Shapes differ between files, or a file holds non-finite values or negative invvar.
    """
    bands = parse_bands(bands)
    d = brick_dir(root, brickname)
    if not d.is_dir():
        raise FileNotFoundError(f"brick {brickname!r}: no folder {d}")
    images, invvars, wcs, shape = [], [], None, None
    for b in bands:
        for kind, store in (("image", images), ("invvar", invvars)):
            path = brick_file(root, brickname, kind, b)
            if not path.is_file():
                raise FileNotFoundError(f"brick {brickname!r} is missing band {b!r}: no {path.name} in {d}")
            data, header = _read_2d(path)
            if shape is None:
                shape, wcs = data.shape, WCS(header).celestial
            elif data.shape != shape:
                raise ValueError(f"{path}: shape {data.shape} differs from the brick's {shape}")
            data = data.astype(np.float32, copy=False)
            bad = ~np.isfinite(data)
            if bad.any():
                raise ValueError(f"{path}: {int(bad.sum())} non-finite pixel(s) (band {b!r}, brick {brickname!r})")
            if kind == "invvar" and (data < 0).any():
                raise ValueError(f"{path}: {int((data < 0).sum())} negative invvar pixel(s) (band {b!r})")
            store.append(data)
    mpath = brick_file(root, brickname, "maskbits")
    maskbits, _ = _read_2d(mpath)
    if maskbits.shape != shape:
        raise ValueError(f"{mpath}: shape {maskbits.shape} differs from the brick's {shape}")
    return Brick(brickname=brickname, bands=bands, image=np.stack(images), invvar=np.stack(invvars),
                 maskbits=maskbits.astype(np.int32, copy=False), wcs=wcs)
