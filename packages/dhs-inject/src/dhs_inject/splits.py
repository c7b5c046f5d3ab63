"""HEALPix region-disjoint train/val/test splits with a guard band (spec §2.2).

Conventions
-----------
- HEALPix **RING** ordering, NSIDE 32 by default (12,288 pixels of ≈1.83°), pixel of a position
  from ``healpy.ang2pix(nside, ra, dec, lonlat=True)`` (ICRS degrees).
- A pixel's split depends only on ``(pixel, seed)``: ``u = int(sha256(f"{pix}_{seed}")[:8], 16) / 2**32``;
  ``u < f_train`` → train, ``< f_train + f_val`` → val, else test. Adding or removing objects never
  changes another object's split.
- **Brick integrity** (``assign_by="brick"``, default): an object takes the split of its brick
  *centre's* pixel, so a brick never straddles splits (the upstream "no brick overlap" rule).
  ``assign_by="object"`` uses the object's own pixel.
- **Guard band**: an object is kept only if no pixel of another split lies within ``guard_deg`` of it
  — pixels found with ``healpy.query_disc(..., inclusive=True)``, which returns every pixel that
  may overlap the disc (a superset), so the rule is conservative: a kept object is at least
  ``guard_deg`` from every pixel of another split. Under the brick rule an object lying in a pixel
  of another split than its brick is therefore dropped whenever ``guard_deg > 0``.
"""

from __future__ import annotations

import hashlib

import healpy as hp
import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["SPLITS", "SplitConfig", "healpix_index", "pixel_split_u", "pixel_split", "guard_band_keep",
           "assign_splits"]

SPLITS: tuple[str, ...] = ("train", "val", "test")


class SplitConfig(BaseModel):
    """Split configuration (validated).

    Attributes
    ----------
    nside : power of two, HEALPix NSIDE (RING ordering).
    seed : int, the split hash seed.
    fractions : (train, val, test) fractions of *pixels*, each ≥ 0, summing to 1.
    guard_deg : float ≥ 0, guard band in degrees (0 disables it).
    assign_by : "brick" (brick centre's pixel) or "object" (the object's own pixel).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    nside: int = Field(32, ge=1, le=2**29)
    seed: int = 13
    fractions: tuple[float, float, float] = (0.70, 0.15, 0.15)
    guard_deg: float = Field(0.5, ge=0.0, le=30.0)
    assign_by: str = Field("brick", pattern="^(brick|object)$")

    @field_validator("nside")
    @classmethod
    def _pow2(cls, v: int) -> int:
        if not hp.isnsideok(v, nest=True):
            raise ValueError(f"nside={v}: must be a power of two")
        return v

    @model_validator(mode="after")
    def _fractions(self) -> "SplitConfig":
        if min(self.fractions) < 0 or abs(sum(self.fractions) - 1.0) > 1e-9:
            raise ValueError(f"fractions={self.fractions}: must be >= 0 and sum to 1")
        return self


def healpix_index(ra_deg: ArrayLike, dec_deg: ArrayLike, nside: int = 32) -> np.ndarray:
    """RING pixel index (int64) of ICRS positions in degrees (``healpy.ang2pix(..., lonlat=True)``)."""
    return np.asarray(hp.ang2pix(nside, np.asarray(ra_deg, np.float64), np.asarray(dec_deg, np.float64),
                                 lonlat=True), dtype=np.int64)


def pixel_split_u(pix: ArrayLike, seed: int) -> np.ndarray:
    """The pixel's uniform ``int(sha256(f"{pix}_{seed}").hexdigest()[:8], 16) / 2**32`` in [0, 1)."""
    pix = np.asarray(pix, dtype=np.int64)
    uniq, inv = np.unique(pix, return_inverse=True)
    u = np.array([int(hashlib.sha256(f"{int(p)}_{seed}".encode()).hexdigest()[:8], 16) / 2**32 for p in uniq])
    return u[inv].reshape(pix.shape)


def pixel_split(pix: ArrayLike, seed: int, fractions: tuple[float, float, float] = (0.70, 0.15, 0.15)) -> np.ndarray:
    """Split name (``train``/``val``/``test``) of each HEALPix pixel; see the module notes."""
    u = pixel_split_u(pix, seed)
    code = np.searchsorted(np.cumsum(fractions[:2]), u, side="right")
    return np.asarray(SPLITS, dtype=object)[code]


def guard_band_keep(ra_deg: ArrayLike, dec_deg: ArrayLike, split: ArrayLike, cfg: SplitConfig) -> np.ndarray:
    """True where no pixel of another split lies within ``cfg.guard_deg`` of the object.

    Per object the test is ``healpy.query_disc(nside, vec, radians(guard_deg), inclusive=True)``
    containing no pixel of another split. Two exact shortcuts avoid most queries: objects whose
    neighbourhood (guard + twice the circumscribed pixel radius, which holds every pixel the
    inclusive query can return) holds only their own split are kept, and
    objects with a foreign pixel *centre* inside the disc are dropped (that pixel overlaps it).
    """
    ra = np.asarray(ra_deg, np.float64)
    dec = np.asarray(dec_deg, np.float64)
    split = np.asarray(split, dtype=object)
    keep = np.ones(ra.shape, bool)
    if cfg.guard_deg <= 0 or not len(ra):
        return keep
    radius = np.radians(cfg.guard_deg)
    own = healpix_index(ra, dec, cfg.nside)
    vec = hp.ang2vec(ra, dec, lonlat=True)
    # circumscribed radius of a pixel: largest centre-to-vertex distance (max over the pixels used)
    uniq = np.unique(own)
    centres = np.stack(hp.pix2vec(cfg.nside, uniq), axis=-1)
    corners = hp.boundaries(cfg.nside, uniq, step=1)                     # (P, 3, 4)
    pix_r = float(np.arccos(np.clip(np.einsum("pk,pkv->pv", centres, corners), -1, 1)).max())
    for p, c in zip(uniq, centres):
        members = np.flatnonzero(own == p)
        hood = hp.query_disc(cfg.nside, c, 2 * pix_r + radius, inclusive=True)
        hood_split = pixel_split(hood, cfg.seed, cfg.fractions)
        for s in pd.unique(split[members]):
            m = members[split[members] == s]
            if (hood_split == s).all():
                continue
            if pixel_split(np.array([p]), cfg.seed, cfg.fractions)[0] != s:
                keep[m] = False                                          # sits inside another split's pixel
                continue
            foreign = hood[hood_split != s]
            fvec = np.stack(hp.pix2vec(cfg.nside, foreign), axis=-1)
            dist = np.arccos(np.clip(vec[m] @ fvec.T, -1.0, 1.0)).min(axis=1)   # to foreign centres
            keep[m[dist < radius]] = False                # a foreign centre inside the disc
            ambiguous = m[(dist >= radius) & (dist <= 2 * pix_r + radius)]
            foreign_set = set(foreign.tolist())
            for i in ambiguous:
                near = hp.query_disc(cfg.nside, vec[i], radius, inclusive=True)
                keep[i] = foreign_set.isdisjoint(near.tolist())
    return keep


def assign_splits(ra_deg: ArrayLike, dec_deg: ArrayLike, cfg: SplitConfig = SplitConfig(), *,
                  brick_ra_deg: ArrayLike | None = None, brick_dec_deg: ArrayLike | None = None) -> pd.DataFrame:
    """HEALPix pixel, split and guard-band flag of each object.

    Parameters
    ----------
    ra_deg, dec_deg : array_like (N,)
        Object positions (ICRS degrees).
    cfg : SplitConfig
    brick_ra_deg, brick_dec_deg : array_like (N,), optional
        Centre of each object's brick; required when ``cfg.assign_by == "brick"``.

    Returns
    -------
    pandas.DataFrame with columns ``healpix`` (int64, the object's RING pixel), ``split_healpix``
    (the pixel that decided the split), ``split`` (str) and ``guard_ok`` (bool), one row per object.
    """
    ra = np.asarray(ra_deg, np.float64)
    dec = np.asarray(dec_deg, np.float64)
    own = healpix_index(ra, dec, cfg.nside)
    if cfg.assign_by == "brick":
        if brick_ra_deg is None or brick_dec_deg is None:
            raise ValueError("assign_by='brick' needs brick_ra_deg and brick_dec_deg (brick centres)")
        deciding = healpix_index(brick_ra_deg, brick_dec_deg, cfg.nside)
    else:
        deciding = own
    split = pixel_split(deciding, cfg.seed, cfg.fractions)
    return pd.DataFrame({"healpix": own, "split_healpix": deciding, "split": split.astype(str),
                         "guard_ok": guard_band_keep(ra, dec, split, cfg)})
