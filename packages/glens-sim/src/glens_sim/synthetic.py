"""Synthetic MaNGA DR17 DAP ``MAPS`` files and DAPall/DRPall-format catalogues.

The writer produces the real HDU layout (63 extensions in DR17 order, selected by ``EXTNAME``),
header conventions (``C<n>`` channel keywords, ``HDUCLAS*``, ``ERRDATA``/``QUALDATA`` links,
``MANGA_DAPPIXMASK`` bits, WCS with ``CD1_1 < 0``) and physically plausible content:

* a hexagonal IFU footprint centred on the array centre; outside it ``NOCOV|DONOTUSE``, value 0,
  IVAR 0; inside, beyond an on-sky radius of ``analysed_re`` effective radii,
  ``NOVALUE|DONOTUSE`` (not analysed); stellar velocities stop at 0.6·``analysed_re`` (disc plane);
* an inclined exponential Hα disc with star-forming clumps in channel ``Ha-6564``; every other
  emission-line channel holds a *different* map (another amplitude, a shifted centre, another
  scale length, no clumps) so a reader that is one channel off returns the wrong map;
* an arctan rotation curve projected with inclination and PA, identical in all 35
  ``EMLINE_GVEL`` channels (tied kinematics), with per-channel masks;
* a smoother, lower-amplitude ``STELLAR_VEL`` field, piecewise constant over Voronoi-like bins,
  with a consistent ``BINID``;
* a few ``UNRELIABLE``-only spaxels (value kept) and a few ``NOVALUE|DONOTUSE`` spaxels (value 0)
  scattered per channel.

Geometry: on-sky offsets ``x = -(col - cx)·0.5″`` (East positive, decreasing with column),
``y = (row - cy)·0.5″`` about the galaxy centre ``(cx, cy)``; position angle east of north;
``ECOOELL = 1 - b/a`` with b/a of a disc of intrinsic thickness 0.2.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
from astropy.io import fits
from astropy.table import Table
from tqdm.auto import tqdm

from .atomic import atomic_write_bytes
from .maps_io import DONOTUSE, DR17_EMLINE_CHANNELS, NOCOV, NOVALUE, UNRELIABLE

__all__ = [
    "DAPTYPE",
    "SyntheticGalaxy",
    "galaxy_table",
    "make_synthetic_sample",
    "maps_filename",
    "random_galaxy",
    "synthetic_catalogue",
    "synthetic_hdulist",
    "write_catalogue_fits",
    "write_synthetic_maps",
]

DAPTYPE = "HYB10-MILESHC-MASTARHC2"
_SPAXEL = 0.5  # arcsec
_Q0 = 0.2  # intrinsic disc thickness used for b/a
_C_KMS = 299792.458

#: IFU design (fibres) → (map size in spaxels, hexagon circumradius in spaxels).
IFU_GEOMETRY: dict[int, tuple[int, float]] = {
    19: (34, 12.5),
    37: (44, 17.5),
    61: (54, 22.5),
    91: (64, 27.5),
    127: (74, 32.5),
}

#: DR17 MAPS extension names in file order.
MAPS_EXTENSIONS: tuple[str, ...] = (
    "SPX_SKYCOO", "SPX_ELLCOO", "SPX_MFLUX", "SPX_MFLUX_IVAR", "SPX_SNR", "BINID",
    "BIN_LWSKYCOO", "BIN_LWELLCOO", "BIN_AREA", "BIN_FAREA", "BIN_MFLUX", "BIN_MFLUX_IVAR",
    "BIN_MFLUX_MASK", "BIN_SNR", "STELLAR_VEL", "STELLAR_VEL_IVAR", "STELLAR_VEL_MASK",
    "STELLAR_SIGMA", "STELLAR_SIGMA_IVAR", "STELLAR_SIGMA_MASK", "STELLAR_SIGMACORR",
    "STELLAR_FOM", "EMLINE_SFLUX", "EMLINE_SFLUX_IVAR", "EMLINE_SFLUX_MASK", "EMLINE_SEW",
    "EMLINE_SEW_CNT", "EMLINE_SEW_IVAR", "EMLINE_SEW_MASK", "EMLINE_GFLUX",
    "EMLINE_GFLUX_IVAR", "EMLINE_GFLUX_MASK", "EMLINE_GEW", "EMLINE_GEW_CNT",
    "EMLINE_GEW_IVAR", "EMLINE_GEW_MASK", "EMLINE_GVEL", "EMLINE_GVEL_IVAR",
    "EMLINE_GVEL_MASK", "EMLINE_GSIGMA", "EMLINE_GSIGMA_IVAR", "EMLINE_GSIGMA_MASK",
    "EMLINE_INSTSIGMA", "EMLINE_TPLSIGMA", "EMLINE_GA", "EMLINE_GANR", "EMLINE_FOM",
    "EMLINE_LFOM", "SPECINDEX", "SPECINDEX_IVAR", "SPECINDEX_MASK", "SPECINDEX_CORR",
    "SPECINDEX_MODEL", "SPECINDEX_BF", "SPECINDEX_BF_IVAR", "SPECINDEX_BF_MASK",
    "SPECINDEX_BF_CORR", "SPECINDEX_BF_MODEL", "SPECINDEX_WGT", "SPECINDEX_WGT_IVAR",
    "SPECINDEX_WGT_MASK", "SPECINDEX_WGT_CORR", "SPECINDEX_WGT_MODEL",
)  # fmt: skip

# Typical line/Hα flux ratios of a star-forming disc (only used to make channels differ).
_LINE_RATIO = {
    "OII-3727": 0.35, "OII-3729": 0.45, "Hb-4862": 0.33, "OIII-4960": 0.08, "OIII-5008": 0.25,
    "HeI-5877": 0.04, "OI-6302": 0.05, "OI-6365": 0.017, "NII-6549": 0.135, "NII-6585": 0.40,
    "SII-6718": 0.20, "SII-6732": 0.15, "Hgam-4341": 0.16, "Hdel-4102": 0.09, "SIII-9071": 0.06,
    "SIII-9533": 0.14, "ArIII-7137": 0.02,
}  # fmt: skip


@dataclass(frozen=True)
class SyntheticGalaxy:
    """Parameters of one synthetic MaNGA galaxy.

    Units: arcsec for ``reff``/``r_turn``, degrees for ``inclination``/``pa`` (PA east of
    north of the receding major axis), km/s for velocities, 1e-17 erg/s/cm²/spaxel for fluxes,
    spaxels for ``center_offset`` (galaxy centre relative to the array centre, (dx, dy)).
    ``ifu`` is the number of fibres (19, 37, 61, 91, 127); ``n`` overrides the map size.
    """

    plateifu: str = "10001-12701"
    mangaid: str = "1-000001"
    ifu: int = 127
    n: int | None = None
    reff: float = 6.0
    inclination: float = 55.0
    pa: float = 30.0
    v_max: float = 200.0
    r_turn: float = 2.0
    v_sys: float = 12.0
    vel_noise: float = 6.0
    flux_peak: float = 200.0
    flux_noise: float = 1.5
    n_clumps: int = 6
    clump_amp: float = 0.6
    stellar_bins: int = 40
    analysed_re: float = 3.5
    frac_unreliable: float = 0.02
    frac_bad: float = 0.01
    z: float = 0.03
    ra: float = 180.0
    dec: float = 30.0
    rfwhm: float = 2.5
    ebv: float = 0.02
    center_offset: tuple[float, float] = (0.0, 0.0)
    emline_channels: tuple[str, ...] = DR17_EMLINE_CHANNELS

    @property
    def size(self) -> int:
        """Map side in spaxels."""
        return self.n if self.n is not None else IFU_GEOMETRY[self.ifu][0]

    @property
    def r_hex(self) -> float:
        """Hexagon circumradius in spaxels."""
        return IFU_GEOMETRY[self.ifu][1]

    @property
    def ba(self) -> float:
        """Observed axis ratio b/a of a disc of intrinsic thickness 0.2."""
        ci = np.cos(np.radians(self.inclination))
        return float(np.sqrt(ci**2 * (1 - _Q0**2) + _Q0**2))

    @property
    def plate(self) -> int:
        return int(self.plateifu.split("-")[0])

    @property
    def ifudesign(self) -> int:
        return int(self.plateifu.split("-")[1])


def maps_filename(plateifu: str, daptype: str = DAPTYPE) -> str:
    """DR17 file name ``manga-<plateifu>-MAPS-<daptype>.fits.gz``."""
    return f"manga-{plateifu}-MAPS-{daptype}.fits.gz"


def random_galaxy(rng: np.random.Generator, index: int = 0, **overrides) -> SyntheticGalaxy:
    """Draw plausible parameters (ranges of the original's ten DR17 galaxies, spec §2.8)."""
    ifu = int(rng.choice([61, 91, 127, 127]))
    plate = 9000 + index
    ifudesign = ifu * 100 + 1 + int(rng.integers(0, 5))
    r_hex_arcsec = IFU_GEOMETRY[ifu][1] * _SPAXEL
    params = dict(
        plateifu=f"{plate}-{ifudesign}",
        mangaid=f"1-{100000 + 7919 * index % 900000}",
        ifu=ifu,
        reff=float(rng.uniform(0.35, 0.6) * r_hex_arcsec),
        inclination=float(rng.uniform(40, 70)),
        pa=float(rng.uniform(0, 180)),
        v_max=float(rng.uniform(140, 260)),
        r_turn=float(rng.uniform(1.0, 3.0)),
        v_sys=float(rng.normal(0, 15)),
        flux_peak=float(rng.uniform(120, 320)),
        n_clumps=int(rng.integers(3, 10)),
        z=float(rng.uniform(0.015, 0.05)),
        ra=float(rng.uniform(0, 360)),
        dec=float(rng.uniform(-5, 65)),
        center_offset=(float(rng.uniform(-1, 1)), float(rng.uniform(-1, 1))),
    )
    params.update(overrides)
    return SyntheticGalaxy(**params)


# ---------------------------------------------------------------------------------------------
# model maps


def _hexagon(n: int, r_hex: float) -> np.ndarray:
    """Boolean (n, n) hexagonal footprint of circumradius ``r_hex`` about ((n-1)/2, (n-1)/2)."""
    c = (n - 1) / 2.0
    y, x = np.mgrid[0:n, 0:n].astype(np.float64)
    dx, dy = np.abs(x - c), np.abs(y - c)
    s3 = np.sqrt(3.0)
    return (dx <= s3 / 2 * r_hex) & (s3 * dy + dx <= s3 * r_hex)


def _disc_coords(p: SyntheticGalaxy, shift=(0.0, 0.0)):
    """On-sky (x, y) arcsec, disc-plane major/minor coordinates and elliptical radius (arcsec)."""
    n = p.size
    cx = (n - 1) / 2.0 + p.center_offset[0] + shift[0]
    cy = (n - 1) / 2.0 + p.center_offset[1] + shift[1]
    rows, cols = np.mgrid[0:n, 0:n].astype(np.float64)
    x_sky = -(cols - cx) * _SPAXEL
    y_sky = (rows - cy) * _SPAXEL
    pa = np.radians(p.pa)
    major = x_sky * np.sin(pa) + y_sky * np.cos(pa)
    minor = (-x_sky * np.cos(pa) + y_sky * np.sin(pa)) / p.ba
    radius = np.hypot(major, minor)
    return x_sky, y_sky, major, minor, radius


def _model(p: SyntheticGalaxy, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """All arrays the writer needs, noise included (values before masking)."""
    n = p.size
    nch = len(p.emline_channels)
    foot = _hexagon(n, p.r_hex)
    x_sky, y_sky, major, minor, radius = _disc_coords(p)
    h = p.reff / 1.678  # exponential scale length (arcsec)

    # Hα: exponential disc + clumps placed in the disc plane.
    ha = p.flux_peak * np.exp(-radius / h)
    for _ in range(p.n_clumps):
        rc = rng.uniform(0.3, 1.5) * p.reff
        phi = rng.uniform(0, 2 * np.pi)
        sig = rng.uniform(0.6, 1.2)  # arcsec
        amp = p.clump_amp * p.flux_peak * np.exp(-rc / h) * rng.uniform(0.5, 1.5)
        d2 = (major - rc * np.cos(phi)) ** 2 + ((minor - rc * np.sin(phi)) * p.ba) ** 2
        ha += amp * np.exp(-0.5 * d2 / sig**2)

    gflux = np.empty((nch, n, n))
    for k, name in enumerate(p.emline_channels):
        if name == "Ha-6564":
            gflux[k] = ha
            continue
        ratio = _LINE_RATIO.get(name, 0.02 + 0.002 * k)
        shift = ((k % 5) - 2 + 0.5, ((k // 5) % 3) - 1 + 0.7)  # never (0, 0)
        *_, r_k = _disc_coords(p, shift)
        gflux[k] = ratio * p.flux_peak * np.exp(-r_k / (h * (1.0 + 0.15 * ((k % 3) - 1))))
    gflux += rng.normal(0.0, p.flux_noise, gflux.shape)

    # Gas velocity: arctan rotation curve, projected; cos(theta) = major / R in the disc plane.
    with np.errstate(invalid="ignore", divide="ignore"):
        cos_t = np.where(radius > 0, major / radius, 0.0)
    v_rot = p.v_max * (2 / np.pi) * np.arctan(radius / p.r_turn)
    sin_i = np.sin(np.radians(p.inclination))
    gvel = p.v_sys + v_rot * cos_t * sin_i + rng.normal(0.0, p.vel_noise, (n, n))

    # Stellar velocity: slower, smoother, binned on Voronoi-like patches inside the footprint.
    v_star = p.v_sys + 0.7 * p.v_max * (2 / np.pi) * np.arctan(radius / (2 * p.r_turn)) * cos_t * sin_i
    r_sky = np.hypot(x_sky, y_sky)
    analysed = foot & (r_sky <= p.analysed_re * p.reff)
    star_ok = foot & (radius <= 0.6 * p.analysed_re * p.reff)
    rows, cols = np.nonzero(star_ok)
    nb = max(1, min(p.stellar_bins, rows.size))
    pick = rng.choice(rows.size, size=nb, replace=False) if rows.size else np.zeros(0, int)
    seeds = np.stack([rows[pick], cols[pick]], axis=1).astype(np.float64)
    binid = np.full((n, n), -1, dtype=np.int32)
    svel = np.zeros((n, n))
    if rows.size:
        d2 = (rows[:, None] - seeds[None, :, 0]) ** 2 + (cols[:, None] - seeds[None, :, 1]) ** 2
        lab = np.argmin(d2, axis=1)
        binid[rows, cols] = lab
        means = np.bincount(lab, weights=v_star[rows, cols], minlength=nb) / np.maximum(
            np.bincount(lab, minlength=nb), 1
        )
        means += rng.normal(0.0, 4.0, nb)
        svel[rows, cols] = means[lab]

    return dict(
        foot=foot, analysed=analysed, star_ok=star_ok, x_sky=x_sky, y_sky=y_sky,
        radius=radius, major=major, minor=minor, gflux=gflux, gvel=gvel, svel=svel,
        binid=binid, ha_model=ha,
    )  # fmt: skip


def _masks(p: SyntheticGalaxy, m: dict, rng: np.random.Generator, nch: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel MANGA_DAPPIXMASK words for GFLUX and GVEL, each (nch, n, n) int32."""
    n = p.size
    base = np.zeros((n, n), dtype=np.int64)
    base[~m["foot"]] = NOCOV | DONOTUSE
    base[m["foot"] & ~m["analysed"]] = NOVALUE | DONOTUSE
    inside = np.flatnonzero(m["analysed"])

    def channel_masks() -> np.ndarray:
        out = np.repeat(base[None], nch, axis=0)
        for k in range(nch):
            flat = out[k].reshape(-1)
            n_unrel = int(round(p.frac_unreliable * inside.size))
            n_bad = int(round(p.frac_bad * inside.size))
            pix = rng.choice(inside, size=min(inside.size, n_unrel + n_bad), replace=False)
            flat[pix[:n_unrel]] |= UNRELIABLE
            flat[pix[n_unrel:]] |= NOVALUE | DONOTUSE
        return out.astype(np.int32)

    return channel_masks(), channel_masks()


# ---------------------------------------------------------------------------------------------
# FITS assembly


def _wcs_cards(p: SyntheticGalaxy, cube: bool) -> list[tuple]:
    n = p.size
    cards = [
        ("CTYPE1", "RA---TAN"), ("CTYPE2", "DEC--TAN"), ("CUNIT1", "deg"), ("CUNIT2", "deg"),
        ("CRPIX1", n / 2 + 1), ("CRPIX2", n / 2 + 1), ("CRVAL1", p.ra), ("CRVAL2", p.dec),
        ("CD1_1", -_SPAXEL / 3600.0), ("CD2_2", _SPAXEL / 3600.0),
    ]  # fmt: skip
    if cube:
        cards += [("CTYPE3", " "), ("CUNIT3", " "), ("CRPIX3", 1), ("CRVAL3", 1.0), ("CD3_3", 1.0)]
    return cards


def _ext(p, name, data, *, kind="DATA", bunit=None, channels=None, units=None, linked=True):
    """One map extension with the DAP header conventions (None data → empty extension)."""
    hdr = fits.Header()
    if data is None:
        return fits.ImageHDU(name=name, header=hdr)
    cube = data.ndim == 3
    hdr["HDUCLASS"] = "SDSS"
    hdr["HDUCLAS1"] = "CUBE" if cube else "IMAGE"
    hdr["HDUCLAS2"] = kind
    base = name[: -len("_IVAR")] if kind == "ERROR" else name[: -len("_MASK")] if kind == "QUALITY" else name
    if kind == "DATA" and linked:
        hdr["ERRDATA"] = f"{base}_IVAR"
        hdr["QUALDATA"] = f"{base}_MASK"
    elif kind == "ERROR":
        hdr["HDUCLAS3"] = "INVMSE"
        hdr["SCIDATA"] = base
        hdr["QUALDATA"] = f"{base}_MASK"
    elif kind == "QUALITY":
        hdr["HDUCLAS3"] = "FLAG32BIT"
        hdr["SCIDATA"] = base
        hdr["ERRDATA"] = f"{base}_IVAR"
        hdr["MASKNAME"] = "MANGA_DAPPIXMASK"
    if bunit is not None:
        hdr["BUNIT"] = bunit
    if channels is not None:
        width = len(str(len(channels))) if len(channels) >= 10 else 1
        for i, cname in enumerate(channels, start=1):
            hdr[f"C{i:0{width}d}"] = (cname, f"Data in channel {i}")
        for i, u in enumerate(units or [], start=1):
            hdr[f"U{i:0{width}d}"] = (u, f"Units in channel {i}")
    for key, value in _wcs_cards(p, cube):
        hdr[key] = value
    hdr["AUTHOR"] = "glens_sim.synthetic"
    return fits.ImageHDU(data=data, header=hdr, name=name)


def _primary(p: SyntheticGalaxy) -> fits.PrimaryHDU:
    ell = 1.0 - p.ba
    dx_arcsec = -p.center_offset[0] * _SPAXEL  # galaxy East of the IFU centre when > 0
    dy_arcsec = p.center_offset[1] * _SPAXEL
    cosd = np.cos(np.radians(p.dec))
    hdr = fits.Header()
    for key, value in [
        ("PLATEIFU", p.plateifu), ("MANGAID", p.mangaid), ("PLATEID", p.plate),
        ("IFUDSGN", p.ifudesign), ("OBJRA", p.ra + dx_arcsec / 3600 / cosd),
        ("OBJDEC", p.dec + dy_arcsec / 3600), ("IFURA", p.ra), ("IFUDEC", p.dec),
        ("EBVGAL", p.ebv), ("GFWHM", p.rfwhm + 0.1), ("RFWHM", p.rfwhm),
        ("IFWHM", p.rfwhm - 0.05), ("ZFWHM", p.rfwhm - 0.1), ("DRP3QUAL", 0),
        ("VERSDRP3", "v3_1_1"), ("VERSDAP", "3.1.0"), ("DAPTYPE", DAPTYPE), ("DAPFRMT", "MAPS"),
        ("DAPQUAL", 0), ("BINKEY", "HYB10"), ("ECOOPA", p.pa), ("ECOOELL", ell),
        ("ECOOREFF", p.reff), ("REFF", p.reff), ("SCINPVEL", _C_KMS * p.z),
        ("MASKNAME", "MANGA_DAPPIXMASK"), ("AUTHOR", "glens_sim.synthetic"),
    ]:  # fmt: skip
        hdr[key] = value
    return fits.PrimaryHDU(header=hdr)


def synthetic_hdulist(params: SyntheticGalaxy, seed: int) -> fits.HDUList:
    """Build the in-memory ``HDUList`` of a synthetic MAPS file (deterministic in ``seed``)."""
    p = params
    rng = np.random.default_rng(seed)
    m = _model(p, rng)
    nch = len(p.emline_channels)
    n = p.size
    fmask, vmask = _masks(p, m, rng, nch)
    f_bad = (fmask & DONOTUSE) != 0
    v_bad = (vmask & DONOTUSE) != 0

    gflux = np.where(f_bad, 0.0, m["gflux"]).astype(np.float32)
    gflux_ivar = np.where(f_bad, 0.0, 1.0 / p.flux_noise**2).astype(np.float32)
    gvel = np.where(v_bad, 0.0, m["gvel"][None]).astype(np.float32)
    gvel_ivar = np.where(v_bad, 0.0, 1.0 / p.vel_noise**2).astype(np.float32)

    s_bad = ~m["star_ok"]
    smask = np.where(m["foot"], NOVALUE | DONOTUSE, NOCOV | DONOTUSE).astype(np.int64)
    smask = np.where(s_bad, smask, 0).astype(np.int32)
    svel = np.where(s_bad, 0.0, m["svel"]).astype(np.float32)
    svel_ivar = np.where(s_bad, 0.0, 1.0 / 4.0**2).astype(np.float32)

    foot = m["foot"]
    ellcoo = np.stack(
        [
            m["radius"],
            m["radius"] / p.reff,
            m["radius"] * 1000 * p.z * _C_KMS / 100.0 / 206265.0,  # ~ h^-1 kpc (Hubble law)
            np.degrees(np.arctan2(m["minor"], m["major"])) % 360.0,
        ]
    ).astype(np.float32)
    skycoo = np.stack([m["x_sky"], m["y_sky"]]).astype(np.float32)
    mflux = np.where(foot, 0.05 * m["ha_model"] / max(p.flux_peak, 1e-9) * 3 + 0.01, 0.0)
    snr = np.where(foot, 40 * np.exp(-m["radius"] / p.reff), 0.0)

    spaxel_index = np.where(m["analysed"], np.arange(n * n).reshape(n, n), -1)
    binid = np.stack([m["binid"], m["binid"], spaxel_index, spaxel_index, spaxel_index]).astype(np.int32)

    ch = list(p.emline_channels)
    fl_unit = "1E-17 erg/s/cm^2/spaxel"
    built = {
        "SPX_SKYCOO": _ext(p, "SPX_SKYCOO", skycoo, bunit="arcsec", linked=False,
                           channels=["On-sky X", "On-sky Y"]),
        "SPX_ELLCOO": _ext(p, "SPX_ELLCOO", ellcoo, linked=False,
                           channels=["Elliptical radius", "R/Re", "R h/kpc", "Elliptical azimuth"],
                           units=["arcsec", "", "kpc/h", "degrees"]),
        "SPX_MFLUX": _ext(p, "SPX_MFLUX", mflux.astype(np.float32), linked=False,
                          bunit="1E-17 erg/s/cm^2/ang/spaxel"),
        "SPX_SNR": _ext(p, "SPX_SNR", snr.astype(np.float32), linked=False),
        "BINID": _ext(p, "BINID", binid, linked=False,
                      channels=["Binned spectra", "Stellar continua", "Em. line moments",
                                "Em. line models", "Spectral indices"]),
        "STELLAR_VEL": _ext(p, "STELLAR_VEL", svel, bunit="km/s"),
        "STELLAR_VEL_IVAR": _ext(p, "STELLAR_VEL_IVAR", svel_ivar, kind="ERROR", bunit="(km/s)^{-2}"),
        "STELLAR_VEL_MASK": _ext(p, "STELLAR_VEL_MASK", smask, kind="QUALITY"),
        "EMLINE_GFLUX": _ext(p, "EMLINE_GFLUX", gflux, bunit=fl_unit, channels=ch),
        "EMLINE_GFLUX_IVAR": _ext(p, "EMLINE_GFLUX_IVAR", gflux_ivar, kind="ERROR",
                                  bunit=f"({fl_unit})^{{-2}}", channels=ch),
        "EMLINE_GFLUX_MASK": _ext(p, "EMLINE_GFLUX_MASK", fmask, kind="QUALITY", channels=ch),
        "EMLINE_GVEL": _ext(p, "EMLINE_GVEL", gvel, bunit="km/s", channels=ch),
        "EMLINE_GVEL_IVAR": _ext(p, "EMLINE_GVEL_IVAR", gvel_ivar, kind="ERROR",
                                 bunit="(km/s)^{-2}", channels=ch),
        "EMLINE_GVEL_MASK": _ext(p, "EMLINE_GVEL_MASK", vmask, kind="QUALITY", channels=ch),
    }  # fmt: skip
    hdus = [_primary(p)] + [built.get(name) or _ext(p, name, None) for name in MAPS_EXTENSIONS]
    return fits.HDUList(hdus)


def _hdulist_bytes(hdul: fits.HDUList, gz: bool) -> bytes:
    buf = io.BytesIO()
    hdul.writeto(buf)
    raw = buf.getvalue()
    return gzip.compress(raw, compresslevel=6, mtime=0) if gz else raw


def write_synthetic_maps(path: str | Path, params: SyntheticGalaxy, seed: int) -> Path:
    """Write a synthetic MAPS file atomically (gzip if the name ends in ``.gz``); return its path.

    ``path`` may be a directory, in which case the DR17 file name of ``params.plateifu`` is used.
    """
    path = Path(path)
    if path.is_dir():
        path = path / maps_filename(params.plateifu)
    atomic_write_bytes(path, _hdulist_bytes(synthetic_hdulist(params, seed), path.suffix == ".gz"))
    return path


# ---------------------------------------------------------------------------------------------
# catalogues


def synthetic_catalogue(
    galaxies: Sequence[SyntheticGalaxy], seed: int = 0, *, n_decoys: int = 2
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """DAPall- and DRPall-format tables for ``galaxies`` (+ ``n_decoys`` rows failing the cuts).

    DRPall (extension ``MANGA``): ``plateifu``, ``mangaid``, ``plate``, ``ifudsgn``, ``objra``,
    ``objdec``, ``nsa_z``, ``nsa_elpetro_ba``, ``nsa_elpetro_phi``, ``nsa_elpetro_th50_r``.
    DAPall (extension named by the DAPTYPE): ``PLATEIFU``, ``MANGAID``, ``DAPTYPE``, ``DAPDONE``,
    ``DAPQUAL``, ``DRPALLINDX`` (0-based row in DRPall), ``Z``, ``HA_GSIGMA_1RE``,
    ``STELLAR_SIGMA_1RE``, ``EMLINE_GFLUX_1RE`` (35-vector in DR17 channel order, the Gaussian
    flux of each line summed over spaxels with R/Re ≤ 1 from the noiseless model).
    The decoys: one with ``DAPQUAL != 0`` and one nearly face-on (b/a ≈ 0.95), alternating.
    """
    rng = np.random.default_rng(seed)
    gals = list(galaxies)
    for j in range(n_decoys):
        g = random_galaxy(rng, index=900 + j)
        gals.append(replace(g, inclination=12.0) if j % 2 else g)
    drp_rows, dap_rows = [], []
    # DRPall rows in shuffled order so that DRPALLINDX is a genuine join key, not the row number.
    order = rng.permutation(len(gals))
    drp_index = {int(k): pos for pos, k in enumerate(order)}
    for pos, k in enumerate(order):
        g = gals[int(k)]
        drp_rows.append(
            dict(plateifu=g.plateifu, mangaid=g.mangaid, plate=g.plate, ifudsgn=str(g.ifudesign),
                 objra=g.ra, objdec=g.dec, nsa_z=g.z, nsa_elpetro_ba=g.ba,
                 nsa_elpetro_phi=g.pa, nsa_elpetro_th50_r=g.reff)
        )  # fmt: skip
    for k, g in enumerate(gals):
        m = _model(replace(g, flux_noise=1e-12, vel_noise=1e-12, n_clumps=g.n_clumps), rng)
        inside = m["radius"] <= g.reff
        flux_1re = (m["gflux"] * inside[None]).sum(axis=(1, 2))
        dap_rows.append(
            dict(PLATEIFU=g.plateifu, MANGAID=g.mangaid, DAPTYPE=DAPTYPE, DAPDONE=1,
                 DAPQUAL=(1 << 1) if (k >= len(galaxies) and (k - len(galaxies)) % 2 == 0) else 0,
                 DRPALLINDX=drp_index[k], Z=g.z,
                 HA_GSIGMA_1RE=float(rng.uniform(20, 60)),
                 STELLAR_SIGMA_1RE=float(rng.uniform(50, 150)),
                 EMLINE_GFLUX_1RE=flux_1re.astype(np.float64))
        )  # fmt: skip
    return pd.DataFrame(dap_rows), pd.DataFrame(drp_rows)


def _table(frame: pd.DataFrame) -> Table:
    """astropy Table from a frame: array-valued cells → vector columns, text → fixed-width str."""
    cols = {}
    for name in frame.columns:
        col = frame[name]
        first = col.iloc[0] if len(col) else None
        if isinstance(first, np.ndarray):
            cols[name] = np.stack(col.to_numpy())
        elif pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
            cols[name] = col.to_numpy()
        else:
            cols[name] = np.asarray(col.astype(str).tolist(), dtype=str)
    return Table(cols)


def write_catalogue_fits(
    dapall: pd.DataFrame,
    drpall: pd.DataFrame,
    dapall_path: str | Path,
    drpall_path: str | Path,
    *,
    emline_channels: Sequence[str] = DR17_EMLINE_CHANNELS,
    daptype: str = DAPTYPE,
) -> tuple[Path, Path]:
    """Write DAPall (extension ``daptype``, ``ELGnn`` channel keywords) and DRPall (``MANGA``)."""
    dap_hdu = fits.BinTableHDU(_table(dapall), name=daptype)
    for i, name in enumerate(emline_channels, start=1):
        dap_hdu.header[f"ELG{i:02d}"] = name
    drp_hdu = fits.BinTableHDU(_table(drpall), name="MANGA")
    out = []
    for hdu, path in ((dap_hdu, dapall_path), (drp_hdu, drpall_path)):
        path = Path(path)
        hdul = fits.HDUList([fits.PrimaryHDU(), hdu])
        atomic_write_bytes(path, _hdulist_bytes(hdul, path.suffix == ".gz"))
        out.append(path)
    return out[0], out[1]


@dataclass(frozen=True)
class _SampleRole:
    name: str
    overrides: dict = field(default_factory=dict)


def _sample_roles(n: int) -> list[_SampleRole]:
    """Mostly good discs, plus (for n ≥ 5) a slow rotator and a galaxy too big for its IFU."""
    roles = [_SampleRole("disc") for _ in range(n)]
    if n >= 5:
        roles[n // 2] = _SampleRole("low_rotation", {"v_max": 25.0, "vel_noise": 4.0})
        roles[n - 1] = _SampleRole("poor_coverage", {"ifu": 61, "reff": 14.0})
    return roles


def make_synthetic_sample(
    out_dir: str | Path, n: int = 10, seed: int = 0, *, progress: bool = True
) -> list[Path]:
    """Write ``n`` synthetic MAPS files plus ``dapall-synthetic.fits`` / ``drpall-synthetic.fits``
    and ``synthetic-galaxies.csv`` (the generating parameters and a ``role`` column).

    For ``n ≥ 5`` one galaxy is a slow rotator and one is too extended for its IFU (both should
    be rejected by the lensability score); the others are plausible rotating discs. Returns the
    MAPS paths in generation order. Deterministic in ``seed``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    roles = _sample_roles(n)
    galaxies = [random_galaxy(rng, index=i, **role.overrides) for i, role in enumerate(roles)]
    seeds = rng.integers(0, 2**31 - 1, size=n)
    paths = [
        write_synthetic_maps(out_dir / maps_filename(g.plateifu), g, int(s))
        for g, s in tqdm(list(zip(galaxies, seeds)), desc="synthetic MAPS", disable=not progress)
    ]
    dapall, drpall = synthetic_catalogue(galaxies, seed=seed + 1)
    write_catalogue_fits(dapall, drpall, out_dir / "dapall-synthetic.fits", out_dir / "drpall-synthetic.fits")
    truth = galaxy_table(galaxies).assign(role=[r.name for r in roles], seed=seeds)
    atomic_write_bytes(out_dir / "synthetic-galaxies.csv", truth.to_csv(index=False).encode())
    return paths


def galaxy_table(galaxies: Sequence[SyntheticGalaxy]) -> pd.DataFrame:
    """The generating parameters as a table (one row per galaxy)."""
    rows = []
    for g in galaxies:
        row = asdict(g) | {"ba": g.ba, "size": g.size}
        row.pop("emline_channels")
        row["center_dx"], row["center_dy"] = row.pop("center_offset")
        rows.append(row)
    return pd.DataFrame(rows)
