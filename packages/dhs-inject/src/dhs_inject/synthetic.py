"""Synthetic Legacy Surveys DR10 bricks in the real on-disk format (embedded default, tests).

:func:`write_synthetic_survey` writes, under ``root``, the survey's layout read by
:mod:`dhs_inject.bricks` — ``coadd/<ddd>/<brick>/legacysurvey-<brick>-{image,invvar}-<b>.fits.fz``
and ``-maskbits.fits.fz`` (fpack RICE_1 via astropy ``CompImageHDU``, TAN WCS, 0.262″ pixels) — and
``survey-bricks-dr10-south.fits.gz`` (``brickname, ra, dec, ra1, ra2, dec1, dec2, psfsize_*,
psfdepth_*, galdepth_*, nexp_*, ebv``). Bricks are smaller than the survey's 3600² (``brick_pix``
default 480) so a few write in seconds; everything else follows the survey's conventions.

Model of a brick (per band b):

- hosts: real LRG photometry (``FLUX_G/R/Z`` nMgy) of the catalogue given, light profile from the
  Tractor ``TYPE`` (DEV n = 4, EXP/REX n = 1, SER n from ``SERSIC`` if present else U[1, 4],
  PSF a point source), half-light radius from ``SHAPE_R`` and axis ratio from ``SHAPE_E1/E2`` where
  present (Tractor columns; absent from the upstream parent file) else R_e log-normal (median 1.0″
  DEV/SER, 0.6″ EXP/REX, σ_ln 0.35, clipped to [0.25, 4]″) and q ~ U[0.5, 1]; the light is the
  lens core's elliptical Sérsic (:func:`glens_sim.light.sersic_ellipse`: lenstronomy's
  ``SERSIC_ELLIPSE`` with ``amp`` = total flux, so it is normalised to the catalogue flux) with
  ``R_sersic = SHAPE_R √q`` (Tractor's ``SHAPE_R`` is the major-axis half-light radius, lenstronomy's
  ``R_sersic`` the circularised one) and ``e1, e2`` = ``SHAPE_E1, SHAPE_E2``; its ``b_n`` is
  lenstronomy's fit, so the drawn half-light radius is ``SHAPE_R`` to < 0.4 % for 1 ≤ n ≤ 4;
  3×3 sub-pixel sampling (:func:`glens_sim.grid.pixel_grid`), postage radius
  ``min(8 R_e + 4 FWHM, 60 px)`` (flux beyond it is dropped);
- PSF: Moffat β = 3.5 with the brick's ``psfsize_b`` FWHM (:func:`glens_sim.psf.moffat_kernels`,
  ``α = FWHM / (2 √(2^{1/β} − 1))``), the g/z FWHM 1.05/0.94 × r (spec §2.8), applied by linear
  convolution (:func:`glens_sim.psf.convolve_linear`);
- noise: Gaussian sky with ``σ_pix = psfdepth_b^{-1/2} / (√(4π) σ_PSF,pix)`` — the per-pixel noise
  for which a Gaussian-PSF point source has flux inverse variance ``psfdepth`` — and
  ``invvar = 1/σ_pix²`` (a strip of 1/8 of the brick has half the exposure time: invvar/2, σ·√2);
- maskbits (DR10 bit numbers): ``NPRIMARY`` (0) outside the brick's unique area; per bright star
  (1–2 per brick, r = 10–13 mag, also rendered) ``BRIGHT`` (1) or ``MEDIUM`` (11) discs,
  ``SATUR_<b>`` (2–4) and ``ALLMASK_<b>`` (5–7) cores and ``WISEM1`` (8) halos.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS
from glens_sim.config import GAUSSIAN_FWHM_PER_SIGMA
from glens_sim.grid import pixel_grid
from glens_sim.light import sersic_ellipse
from glens_sim.psf import convolve_linear, moffat_kernels

from dhs_inject.bands import BANDS, PIXEL_SCALE_ARCSEC, mag_to_nmgy
from dhs_inject.bricks import brick_dir, brick_file
from dhs_inject.cutouts import tan_header

__all__ = ["BRICKS_TABLE_NAME", "MASKBITS", "PSF_BETA", "write_synthetic_survey", "sky_sigma_from_psfdepth"]

BRICKS_TABLE_NAME = "survey-bricks-dr10-south.fits.gz"
PSF_BETA = 3.5
MASKBITS = {"NPRIMARY": 0, "BRIGHT": 1, "SATUR_G": 2, "SATUR_R": 3, "SATUR_Z": 4, "ALLMASK_G": 5,
            "ALLMASK_R": 6, "ALLMASK_Z": 7, "WISEM1": 8, "WISEM2": 9, "BAILOUT": 10, "MEDIUM": 11,
            "GALAXY": 12, "CLUSTER": 13}
"""DR10 maskbits (https://www.legacysurvey.org/dr10/bitmasks/)."""

_FWHM_RATIO = {"g": 1.05, "r": 1.0, "z": 0.94}
_DEPTH_OFFSET = {"g": 0.5, "r": 0.0, "z": -0.9}     # 5σ point-source depth relative to r (mag)
_SUPER = 3


def sky_sigma_from_psfdepth(psfdepth: np.ndarray | float, fwhm_arcsec: np.ndarray | float,
                            pixel_scale: float = PIXEL_SCALE_ARCSEC) -> np.ndarray:
    """Per-pixel sky noise (nMgy) from point-source depth ``psfdepth`` (nMgy⁻²) and PSF FWHM (″).

    ``σ_pix = psfdepth^{-1/2} / (√(4π) σ_PSF)`` with ``σ_PSF = FWHM / 2.3548 / pixel_scale`` pixels
    (the optimal point-source flux variance of a Gaussian PSF is ``4π σ_PSF² σ_pix²``).
    """
    sig_psf = np.asarray(fwhm_arcsec, np.float64) / GAUSSIAN_FWHM_PER_SIGMA / pixel_scale
    return 1.0 / (np.sqrt(np.asarray(psfdepth, np.float64)) * math.sqrt(4.0 * math.pi) * sig_psf)


def _host_shapes(hosts: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    n = len(hosts)
    typ = hosts["TYPE"].astype(str).str.strip().str.upper().to_numpy() if "TYPE" in hosts else np.full(n, "DEV")
    sersic = np.where(typ == "DEV", 4.0, np.where(np.isin(typ, ["EXP", "REX"]), 1.0, rng.uniform(1.0, 4.0, n)))
    if "SERSIC" in hosts:
        given = hosts["SERSIC"].to_numpy(np.float64)
        sersic = np.where(np.isfinite(given) & (given > 0), given, sersic)
    median = np.where(np.isin(typ, ["EXP", "REX"]), 0.6, 1.0)
    r_e = np.clip(median * np.exp(rng.normal(0.0, 0.35, n)), 0.25, 4.0)
    q = rng.uniform(0.5, 1.0, n)
    phi = rng.uniform(0.0, np.pi, n)
    if "SHAPE_R" in hosts:
        given = hosts["SHAPE_R"].to_numpy(np.float64)
        r_e = np.where(np.isfinite(given) & (given > 0), given, r_e)
    if "SHAPE_E1" in hosts and "SHAPE_E2" in hosts:
        e1, e2 = hosts["SHAPE_E1"].to_numpy(np.float64), hosts["SHAPE_E2"].to_numpy(np.float64)
        e = np.hypot(e1, e2)
        has = np.isfinite(e) & (e < 1)
        q = np.where(has, (1 - e) / (1 + np.where(has, e, 0)), q)
        phi = np.where(has, 0.5 * np.arctan2(e2, e1), phi)
    point = typ == "PSF"
    r_e = np.where(point, 0.0, r_e)
    sersic = np.where(point, 0.0, sersic)
    return pd.DataFrame({"TYPE": typ, "SERSIC": sersic, "SHAPE_R": r_e, "q": q, "phi": phi},
                        index=hosts.index)


def _paint(canvas: np.ndarray, stamp: np.ndarray, xc: int, yc: int) -> None:
    """Add ``stamp`` (odd side) centred on pixel (xc, yc) into ``canvas`` (H, W), clipped at edges."""
    h, w = canvas.shape
    r = stamp.shape[0] // 2
    y0, x0 = yc - r, xc - r
    ys, xs = max(0, -y0), max(0, -x0)
    ye, xe = min(stamp.shape[0], h - y0), min(stamp.shape[1], w - x0)
    if ye > ys and xe > xs:
        canvas[y0 + ys:y0 + ye, x0 + xs:x0 + xe] += stamp[ys:ye, xs:xe]


def _sersic_postage(r_e: float, n: float, q: float, phi: float, dx: float, dy: float, half: int) -> torch.Tensor:
    """Unit-total-flux elliptical Sérsic per pixel, ``(2 half + 1)²`` float64, centred (dx, dy) px off the
    middle pixel; ``r_e`` (″) along the major axis, axis ratio ``q``, major axis at ``phi`` from +x (columns)."""
    m = 2 * half + 1
    x, y = pixel_grid(m, PIXEL_SCALE_ARCSEC, _SUPER, dtype=torch.float64)
    e = (1.0 - q) / (1.0 + q)
    brightness = sersic_ellipse(x, y, 1.0, r_e * math.sqrt(q), n, e * math.cos(2.0 * phi), e * math.sin(2.0 * phi),
                                dx * PIXEL_SCALE_ARCSEC, dy * PIXEL_SCALE_ARCSEC)  # per arcsec²
    return brightness.reshape(m, _SUPER, m, _SUPER).mean(dim=(1, 3)) * PIXEL_SCALE_ARCSEC**2


def _write_fz(path: Path, data: np.ndarray, header: fits.Header, bunit: str | None) -> None:
    hdr = header.copy()
    if bunit:
        hdr["BUNIT"] = bunit
    hdul = fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(data, header=hdr, compression_type="RICE_1",
                                                           tile_shape=(min(32, data.shape[0]), data.shape[1]))])
    tmp = path.with_name(path.name + ".tmp")
    hdul.writeto(tmp, overwrite=True)
    tmp.replace(path)


def _disc(shape: tuple[int, int], xc: float, yc: float, r: float) -> np.ndarray:
    yy, xx = np.ogrid[:shape[0], :shape[1]]
    return (xx - xc) ** 2 + (yy - yc) ** 2 < r * r


def write_synthetic_survey(root: str | Path, lrgs: pd.DataFrame, n_bricks: int = 4, seed: int = 0, *,
                           lrgs_per_brick: int = 30, brick_pix: int = 480, overlap_pix: int = 16,
                           host_margin_pix: int = 40, n_stars: tuple[int, int] = (1, 2),
                           bricknames: Sequence[str] | None = None) -> pd.DataFrame:
    """Write ``n_bricks`` synthetic DR10 bricks hosting real-photometry LRGs, and the bricks table.

    Parameters
    ----------
    root : path
        Survey root; ``coadd/`` and ``survey-bricks-dr10-south.fits.gz`` are written under it.
    lrgs : pandas.DataFrame
        Parent catalogue with the upstream columns ``RA, DEC, BRICKNAME, FLUX_G, FLUX_R, FLUX_Z``
        (nMgy) and optionally ``TYPE, SERSIC, SHAPE_R, SHAPE_E1, SHAPE_E2``.
    n_bricks : int
        Bricks to write; each takes the name and approximate centre (mean RA/DEC of its members)
        of a distinct real brick of ``lrgs`` (bricks with most members first, ties by seed).
    seed : int
        Seed of every random draw.
    lrgs_per_brick : int
        Hosts per brick: that brick's own catalogue rows, topped up with random other rows.
    brick_pix : int
        Side of each brick image (pixels). The unique area (``ra1..ra2``, ``dec1..dec2``) is the
        image minus ``overlap_pix`` on each side, as real bricks overlap their neighbours.
    host_margin_pix : int
        Hosts are placed uniformly at least this far (pixels) from the image edge.
    n_stars : (int, int)
        Inclusive range of bright stars per brick.
    bricknames : sequence of str, optional
        The real bricks of ``lrgs`` to write (overrides ``n_bricks``), e.g. to cover every split.

    Returns
    -------
    pandas.DataFrame
        The hosts placed, with the columns of ``lrgs`` (``RA``, ``DEC``, ``BRICKNAME`` set to the
        synthetic position) plus ``SERSIC``, ``SHAPE_R`` (″), ``SHAPE_E1``, ``SHAPE_E2`` (Tractor
        convention, ``e = (1 − q)/(1 + q)``) describing the light actually drawn.

    Raises
    ------
    ValueError
        If ``lrgs`` lacks a needed column, has fewer distinct bricks than ``n_bricks`` or fewer rows
        than ``n_bricks * lrgs_per_brick``, a requested brick name is not in ``lrgs``, or the
        margins leave no room for hosts.
    """
    need = ["RA", "DEC", "BRICKNAME", "FLUX_G", "FLUX_R", "FLUX_Z"]
    missing = [c for c in need if c not in lrgs.columns]
    if missing:
        raise ValueError(f"LRG catalogue: missing column(s) {missing} needed for synthetic hosts")
    if 2 * host_margin_pix >= brick_pix or 2 * overlap_pix >= brick_pix:
        raise ValueError(f"brick_pix={brick_pix} too small for host_margin_pix={host_margin_pix}, "
                         f"overlap_pix={overlap_pix}")
    rng = np.random.default_rng(seed)
    counts = lrgs["BRICKNAME"].value_counts(sort=False)
    if bricknames is not None:
        unknown = [b for b in bricknames if b not in counts.index]
        if unknown:
            raise ValueError(f"brick {unknown[0]!r} has no row in the LRG catalogue")
        n_bricks = len(bricknames)
    if len(counts) < n_bricks:
        raise ValueError(f"LRG catalogue has {len(counts)} distinct bricks, {n_bricks} requested")
    if len(lrgs) < n_bricks * lrgs_per_brick:
        raise ValueError(f"LRG catalogue has {len(lrgs)} rows, {n_bricks}x{lrgs_per_brick} hosts requested")
    order = pd.DataFrame({"n": counts.to_numpy(), "u": rng.random(len(counts))}, index=counts.index)
    chosen = (list(bricknames) if bricknames is not None
              else order.sort_values(["n", "u"], ascending=False).index[:n_bricks])
    root = Path(root)
    half_deg = (brick_pix / 2 - overlap_pix) * PIXEL_SCALE_ARCSEC / 3600.0
    used: set = set()
    hosts_out, table_rows = [], []
    for name in chosen:
        members = lrgs.index[lrgs["BRICKNAME"] == name].to_numpy()
        members = members[~np.isin(members, list(used))]
        pick = rng.permutation(members)[:lrgs_per_brick]
        if len(pick) < lrgs_per_brick:
            rest = lrgs.index[~lrgs.index.isin(list(used) + list(pick))].to_numpy()
            pick = np.concatenate([pick, rng.choice(rest, lrgs_per_brick - len(pick), replace=False)])
        used.update(pick.tolist())
        ra_c = float(lrgs.loc[lrgs["BRICKNAME"] == name, "RA"].mean())
        dec_c = float(lrgs.loc[lrgs["BRICKNAME"] == name, "DEC"].mean())
        hosts, row = _write_brick(root, str(name), ra_c, dec_c, lrgs.loc[pick], rng, brick_pix=brick_pix,
                                  half_deg=half_deg, host_margin_pix=host_margin_pix, n_stars=n_stars)
        hosts_out.append(hosts)
        table_rows.append(row)
    table = Table.from_pandas(pd.DataFrame(table_rows))
    tmp = root / (BRICKS_TABLE_NAME + ".tmp.fits.gz")
    table.write(tmp, format="fits", overwrite=True)
    tmp.replace(root / BRICKS_TABLE_NAME)
    return pd.concat(hosts_out, ignore_index=True)


def _write_brick(root: Path, name: str, ra_c: float, dec_c: float, hosts: pd.DataFrame,
                 rng: np.random.Generator, *, brick_pix: int, half_deg: float, host_margin_pix: int,
                 n_stars: tuple[int, int]) -> tuple[pd.DataFrame, dict]:
    n = brick_pix
    header = tan_header(ra_c, dec_c, (n + 1) / 2.0, (n + 1) / 2.0)
    wcs = WCS(header)
    psf_r = float(rng.uniform(1.0, 1.6))
    m5_r = float(rng.uniform(23.4, 24.3))
    fwhm = {b: psf_r * _FWHM_RATIO[b] for b in BANDS}
    psfdepth = {b: float((5.0 / mag_to_nmgy(m5_r + _DEPTH_OFFSET[b])) ** 2) for b in BANDS}
    ebv = float(rng.uniform(0.02, 0.08))
    # hosts: positions and shapes
    xh = rng.uniform(host_margin_pix, n - 1 - host_margin_pix, len(hosts))
    yh = rng.uniform(host_margin_pix, n - 1 - host_margin_pix, len(hosts))
    ra_h, dec_h = wcs.all_pix2world(xh, yh, 0)
    shapes = _host_shapes(hosts, rng)
    n_star = int(rng.integers(n_stars[0], n_stars[1] + 1))
    xs, ys = rng.uniform(0, n - 1, n_star), rng.uniform(0, n - 1, n_star)
    star_mag = rng.uniform(10.0, 13.0, n_star)
    # one strip with half the exposure time
    strip = np.zeros((n, n), bool)
    s0 = int(rng.integers(0, n - n // 8))
    strip[:, s0:s0 + n // 8] = True
    out = brick_dir(root, name)
    out.mkdir(parents=True, exist_ok=True)
    fwhm_arcsec = torch.tensor([[fwhm[b] for b in BANDS]], dtype=torch.float64)  # (1, C)
    max_fwhm_pix = max(fwhm.values()) / PIXEL_SCALE_ARCSEC
    model = np.zeros((len(BANDS), n, n), np.float64)
    flux = np.stack([hosts[f"FLUX_{b.upper()}"].to_numpy(np.float64) for b in BANDS])
    flux = np.where(np.isfinite(flux) & (flux > 0), flux, 0.0)
    kernels: dict[int, torch.Tensor] = {}

    def kernel(half: int) -> torch.Tensor:
        """(1, C, 2 half + 1, 2 half + 1) Moffat kernels of the brick's bands."""
        if half not in kernels:
            kernels[half] = moffat_kernels(fwhm_arcsec, PIXEL_SCALE_ARCSEC, size=2 * half + 1, beta=PSF_BETA)
        return kernels[half]

    for i in range(len(hosts)):
        xc, yc = int(np.floor(xh[i] + 0.5)), int(np.floor(yh[i] + 0.5))
        r_e = float(shapes["SHAPE_R"].iat[i])
        half = int(min(60, math.ceil(8 * r_e / PIXEL_SCALE_ARCSEC + 4 * max_fwhm_pix)))
        stamp = kernel(half)  # a point source (Tractor TYPE PSF): the PSF itself
        if r_e > 0:
            light = _sersic_postage(r_e, shapes["SERSIC"].iat[i], shapes["q"].iat[i], shapes["phi"].iat[i],
                                    xh[i] - xc, yh[i] - yc, half)
            stamp = convolve_linear(light.expand(stamp.shape), stamp)
        for c in range(len(BANDS)):
            _paint(model[c], flux[c, i] * stamp[0, c].numpy(), xc, yc)
    for c, b in enumerate(BANDS):
        for xsi, ysi, m in zip(xs, ys, star_mag):
            star = mag_to_nmgy(m + (0.8 if b == "g" else -0.3 if b == "z" else 0.0))
            _paint(model[c], star * kernel(60)[0, c].numpy(), int(xsi), int(ysi))
        sigma = float(sky_sigma_from_psfdepth(psfdepth[b], fwhm[b]))
        sig_map = np.where(strip, sigma * math.sqrt(2.0), sigma)
        image = (model[c] + rng.normal(0.0, 1.0, (n, n)) * sig_map).astype(np.float32)
        invvar = (1.0 / sig_map**2).astype(np.float32)
        _write_fz(brick_file(root, name, "image", b), image, header, "nanomaggy")
        _write_fz(brick_file(root, name, "invvar", b), invvar, header, "1/nanomaggy^2")
    cos_d = math.cos(math.radians(dec_c))
    bounds = {"ra1": ra_c - half_deg / cos_d, "ra2": ra_c + half_deg / cos_d,
              "dec1": dec_c - half_deg, "dec2": dec_c + half_deg}
    gx, gy = np.meshgrid(np.arange(n), np.arange(n))
    pra, pdec = wcs.all_pix2world(gx, gy, 0)
    unique = (pra >= bounds["ra1"]) & (pra < bounds["ra2"]) & (pdec >= bounds["dec1"]) & (pdec < bounds["dec2"])
    mask = np.where(unique, 0, 1 << MASKBITS["NPRIMARY"]).astype(np.int32)
    for xsi, ysi, m in zip(xs, ys, star_mag):
        r_bright = 20.0 * 10 ** (0.2 * (13.0 - m))       # px, grows with brightness
        bit = "BRIGHT" if m < 12.0 else "MEDIUM"
        mask[_disc(mask.shape, xsi, ysi, r_bright)] |= 1 << MASKBITS[bit]
        mask[_disc(mask.shape, xsi, ysi, 1.6 * r_bright)] |= 1 << MASKBITS["WISEM1"]
        core = _disc(mask.shape, xsi, ysi, max(2.0, 0.25 * r_bright))
        for b in BANDS:
            mask[core] |= (1 << MASKBITS[f"SATUR_{b.upper()}"]) | (1 << MASKBITS[f"ALLMASK_{b.upper()}"])
    _write_fz(brick_file(root, name, "maskbits"), mask, header, None)
    placed = hosts.copy()
    placed["RA"], placed["DEC"], placed["BRICKNAME"] = np.mod(ra_h, 360.0), dec_h, name
    e = (1 - shapes["q"].to_numpy()) / (1 + shapes["q"].to_numpy())
    placed["SERSIC"] = shapes["SERSIC"].to_numpy()
    placed["SHAPE_R"] = shapes["SHAPE_R"].to_numpy()
    placed["SHAPE_E1"] = e * np.cos(2 * shapes["phi"].to_numpy())
    placed["SHAPE_E2"] = e * np.sin(2 * shapes["phi"].to_numpy())
    row = {"brickname": name, "ra": ra_c, "dec": dec_c, **bounds, "ebv": ebv}
    for b in BANDS:
        row[f"psfsize_{b}"] = fwhm[b]
        row[f"psfdepth_{b}"] = psfdepth[b]
        row[f"galdepth_{b}"] = psfdepth[b] / 2.0
        row[f"nexp_{b}"] = 3
    return placed, row
