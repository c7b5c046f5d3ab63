"""The injection kernel: manifest rows in, stamp-store rows out (one pure function, every runner calls it).

:func:`inject_batches` takes an iterator of pandas DataFrames of manifest rows and yields DataFrames of
store rows (``docs/stamp_store.md``): for each row it cuts the host's cutout from the bricks (g, r, z,
``(C, H, W)`` nMgy, the LRG at pixel ``(H//2, W//2)``), renders the lensed Sérsic arc with glens-sim's
lens core (SIE + external shear, oversampled, per-band PSF from the row's ``psf_fwhm_<b>``), optionally
adds the arc's Poisson noise, zeroes the arc inside the core-mask radius, adds it to the host and
measures the per-row metrics (:mod:`dhs_inject.metrics`). Control rows (``label = 0``) get no arc.

The function is pure: the same rows and configuration give bit-identical rows in any process (arc
noise is drawn from a generator seeded by the row's ``task_id``), which is what makes the local, Dask
and Spark (``mapInPandas``) runners agree.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from typing import Literal

import numpy as np
import pandas as pd
import torch
from pydantic import BaseModel, ConfigDict, Field

from dhs_inject import metrics
from dhs_inject.bands import BANDS, PIXEL_SCALE_ARCSEC
from dhs_inject.cutouts import iter_brick_cutouts

__all__ = ["ROW_OPTIONS", "InjectConfig", "KernelError", "effective_config", "inject_batches", "inject_frame",
           "psf_kernels"]


class KernelError(ValueError):
    """Manifest rows the kernel cannot process (the message names the row / brick / column)."""


class InjectConfig(BaseModel):
    """Rendering options of the kernel (validated when built).

    Attributes
    ----------
    stamp_size : stamp side ``N`` (pixels); 64 default, 101 supported.
    pixel_scale : arcsec per pixel (DR10: 0.262).
    oversampling : sub-pixel rays per axis (≥ 4: sources are smaller than a pixel, spec §5 item 4).
    refine_fraction : fraction of the pixels (the brightest at their centres) that get the oversampled grid,
        the others one ray (glens-sim's adaptive oversampling; 1 = every pixel): 0.25 is within 1.4e-4 of the
        peak of the full grid on the DHS priors (``benchmarks/dhs_inject_render.md``), 3x less work.
    render_dtype : arithmetic of the renderer: float32 (default; within 1e-4 of the peak of float64 and
        ~2x faster on CPU) or float64. Stamps are stored as float32 either way.
    psf_model : ``moffat`` (β = ``psf_beta``) or ``gaussian``, FWHM per band from the row's ``psf_fwhm_<b>``;
        odd kernel side ``psf_kernel_pix``; linear (zero-padded) convolution after binning the oversampled arc.
    arc_noise : add the arc's Poisson noise with ``gain_e_per_nmgy`` electrons per nanomaggy.
    core_mask_radius_pix : zero the arc (not the host) where ``r < R`` pixels from the centre.
    annulus_pix : inner and outer radius (pixels) of ``arc_annulus_snr``.
    batch_rows : rows rendered together (memory ∝ ``batch_rows · (N·oversampling)²``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    stamp_size: int = Field(64, ge=16, le=256)
    pixel_scale: float = Field(PIXEL_SCALE_ARCSEC, gt=0)
    oversampling: int = Field(4, ge=4, le=16)
    refine_fraction: float = Field(0.25, gt=0, le=1)
    render_dtype: Literal["float32", "float64"] = "float32"
    psf_model: Literal["moffat", "gaussian"] = "moffat"
    psf_beta: float = Field(3.5, gt=1.0)
    psf_kernel_pix: int = Field(33, ge=3)
    arc_noise: bool = False
    gain_e_per_nmgy: float = Field(150.0, gt=0)
    core_mask_radius_pix: float = Field(0.0, ge=0)
    annulus_pix: tuple[float, float] = (4.0, 16.0)
    batch_rows: int = Field(64, ge=1)

    def fingerprint(self) -> str:
        """Short hash of the options (salts part-file names so a changed configuration re-renders)."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:16]


REQUIRED = (
    "task_id", "label", "brickname", "ra_deg", "dec_deg",
    "lens_theta_E", "lens_e1", "lens_e2", "lens_center_x", "lens_center_y", "shear_gamma1", "shear_gamma2",
    "src_R_sersic", "src_n_sersic", "src_e1", "src_e2", "src_center_x", "src_center_y",
    *(f"src_flux_{b}" for b in BANDS), *(f"psf_fwhm_{b}" for b in BANDS),
)  # fmt: skip


def _check_rows(rows: pd.DataFrame) -> None:
    missing = [c for c in REQUIRED if c not in rows]
    if missing:
        raise KernelError(f"manifest rows lack column(s) {missing}")
    dup = rows["task_id"][rows["task_id"].duplicated()]
    if len(dup):
        raise KernelError(f"duplicate task_id in the manifest rows: {dup.iloc[0]}")
    inj = rows["label"].to_numpy() == 1
    for col in REQUIRED[5:]:
        bad = inj & ~np.isfinite(rows[col].to_numpy(dtype=float))
        if bad.any():
            raise KernelError(f"column '{col}' is not finite for task_id {rows['task_id'].to_numpy()[bad][0]}")


def _task_rng(task_id: str) -> np.random.Generator:
    return np.random.default_rng(int.from_bytes(hashlib.sha256(str(task_id).encode()).digest()[:8], "little"))


def psf_kernels(fwhm_arcsec: np.ndarray, cfg: InjectConfig) -> torch.Tensor:
    """Per-row, per-band unit-sum PSF kernels ``(B, C, k, k)`` (float64) from FWHMs ``(B, C)`` in arcsec.

    Moffat (β = ``cfg.psf_beta``) or Gaussian, ``k = cfg.psf_kernel_pix`` (glens-sim :mod:`glens_sim.psf`).
    """
    from glens_sim.psf import gaussian_kernels, moffat_kernels

    fwhm = torch.tensor(np.asarray(fwhm_arcsec, dtype=np.float64))
    if cfg.psf_model == "moffat":
        return moffat_kernels(fwhm, cfg.pixel_scale, size=cfg.psf_kernel_pix, beta=cfg.psf_beta)
    return gaussian_kernels(fwhm, cfg.pixel_scale, size=cfg.psf_kernel_pix)


def _render(rows: pd.DataFrame, cfg: InjectConfig) -> tuple[np.ndarray, np.ndarray]:
    """Noiseless arcs ``(B, C, N, N)`` nMgy/pixel and measured magnifications ``(B,)`` of injected rows
    (glens-sim :func:`glens_sim.render.render_sersic_arcs` in ``cfg.render_dtype``), as float64 arrays."""
    from glens_sim.render import LENS_KEYS, SHEAR_KEYS, SOURCE_KEYS, render_sersic_arcs

    dtype = getattr(torch, cfg.render_dtype)

    def group(prefix: str, keys: tuple[str, ...]) -> dict[str, torch.Tensor]:
        return {k: torch.tensor(rows[f"{prefix}_{k}"].to_numpy(dtype=np.float64), dtype=dtype) for k in keys}

    out = render_sersic_arcs(
        group("lens", LENS_KEYS), group("shear", SHEAR_KEYS), group("src", SOURCE_KEYS),
        torch.tensor(rows[[f"src_flux_{b}" for b in BANDS]].to_numpy(dtype=np.float64), dtype=dtype),
        psf_kernels(rows[[f"psf_fwhm_{b}" for b in BANDS]].to_numpy(), cfg).to(dtype),
        n_pix=cfg.stamp_size, pixel_scale=cfg.pixel_scale, oversampling=cfg.oversampling,
        refine_fraction=cfg.refine_fraction,
    )  # fmt: skip
    return out.images.double().numpy(), out.magnification.double().numpy()


#: manifest columns that set rendering options (the manifest is the design; they override ``cfg``)
ROW_OPTIONS = ("stamp_size", "oversampling", "psf_model", "psf_beta", "arc_noise", "core_mask_radius_pix")


def effective_config(rows: pd.DataFrame, cfg: InjectConfig) -> InjectConfig:
    """``cfg`` with the rendering options the rows carry (:data:`ROW_OPTIONS`), validated.

    Raises :class:`KernelError` if an option varies within the rows (a batch renders with one setting).
    """
    update = {}
    for col in ROW_OPTIONS:
        if col in rows and len(rows):
            values = pd.unique(rows[col])
            if len(values) != 1:
                raise KernelError(f"column '{col}' varies within one batch ({list(values[:3])}); "
                                  "split the manifest so each batch has one rendering setting")
            update[col] = values[0].item() if hasattr(values[0], "item") else values[0]
    try:
        return InjectConfig(**{**cfg.model_dump(), **update})
    except ValueError as exc:
        raise KernelError(f"rendering options of the manifest rows are invalid: {exc}") from exc


def inject_frame(rows: pd.DataFrame, *, cfg: InjectConfig, bricks: str | os.PathLike) -> pd.DataFrame:
    """Process one DataFrame of manifest rows into store rows (see :func:`inject_batches`)."""
    _check_rows(rows)
    cfg = effective_config(rows, cfg)
    n, size = len(rows), cfg.stamp_size
    host = np.zeros((n, len(BANDS), size, size))
    ivar = np.zeros_like(host)
    maskbits = np.zeros((n, size, size), np.int32)
    cutout_ok = np.zeros(n, bool)
    for pos, cut in iter_brick_cutouts(bricks, rows, size=size, bands="".join(BANDS)):
        host[pos], ivar[pos], maskbits[pos], cutout_ok[pos] = cut.image, cut.invvar, cut.maskbits, cut.cutout_ok
    arc = np.zeros_like(host)
    mu = np.full(n, np.nan)
    inj = np.flatnonzero(rows["label"].to_numpy() == 1)
    for start in range(0, len(inj), cfg.batch_rows):
        idx = inj[start : start + cfg.batch_rows]
        arc[idx], mu[idx] = _render(rows.iloc[idx], cfg)
    r_pix = metrics.radius_pix((size, size))
    arc[:, :, r_pix < cfg.core_mask_radius_pix] = 0.0
    observed_arc, stamp_ivar = arc, ivar
    if cfg.arc_noise:
        observed_arc = arc.copy()
        for i in inj:
            counts = _task_rng(rows["task_id"].iloc[i]).poisson(np.clip(arc[i], 0, None) * cfg.gain_e_per_nmgy)
            observed_arc[i] = counts / cfg.gain_e_per_nmgy
        sky_var = 1.0 / np.where(ivar > 0, ivar, 1.0)
        shot_var = np.clip(arc, 0, None) / cfg.gain_e_per_nmgy  # Poisson: var(counts/g) = A/g
        stamp_ivar = np.where(ivar > 0, 1.0 / (sky_var + shot_var), 0.0)
    stamp = host + observed_arc

    r = BANDS.index("r")
    good = metrics.good_pixels(maskbits, ivar[:, r])
    is_inj = rows["label"].to_numpy() == 1
    out = rows.copy()
    out["psf_model"] = cfg.psf_model
    out["psf_beta"] = cfg.psf_beta if cfg.psf_model == "moffat" else np.nan
    out["oversampling"] = np.int16(cfg.oversampling)
    out["arc_noise"] = is_inj & cfg.arc_noise
    out["arc_gain_e_per_nmgy"] = cfg.gain_e_per_nmgy
    out["core_mask_radius_pix"] = np.float32(cfg.core_mask_radius_pix)
    out["cutout_ok"] = cutout_ok
    out["bandset"] = "".join(BANDS)
    out["bad_pixel_frac"] = metrics.bad_pixel_frac(good).astype(np.float32)

    def inj_only(values: np.ndarray) -> np.ndarray:
        return np.where(is_inj, values, np.nan)

    out["arc_peak_snr"] = inj_only(metrics.arc_peak_snr(arc[:, r], ivar[:, r], good))
    out["arc_snr"] = inj_only(metrics.arc_snr(arc[:, r], ivar[:, r], good))
    out["arc_annulus_snr"] = inj_only(metrics.arc_annulus_snr(arc[:, r], ivar[:, r], good, *cfg.annulus_pix))
    out["magnification"] = mu
    out["theta_e_over_psf"] = inj_only(metrics.theta_e_over_psf(rows["lens_theta_E"], rows["psf_fwhm_r"]))
    out["lensed_hlr_arcsec"] = inj_only(metrics.lensed_hlr_arcsec(arc[:, r], cfg.pixel_scale))
    flux = metrics.arc_flux(arc)
    for k, b in enumerate(BANDS):
        out[f"arc_flux_{b}"] = inj_only(flux[:, k])
    valid = pd.array(metrics.physics_valid(mu, stamp, arc), dtype="boolean")
    valid[~is_inj] = pd.NA  # controls: nothing was rendered
    out["physics_valid"] = valid

    paired = is_inj & (rows["pairing"].to_numpy() == "paired") if "pairing" in rows else is_inj
    out["stamp"] = list(stamp.astype(np.float32))
    out["ctrl_stamp"] = [host[i].astype(np.float32) if paired[i] else None for i in range(n)]
    out["invvar"] = list(stamp_ivar.astype(np.float32))
    return out.reset_index(drop=True)


def inject_batches(
    batches: Iterator[pd.DataFrame], *, cfg: InjectConfig, bricks: str | os.PathLike
) -> Iterator[pd.DataFrame]:
    """Manifest rows in, store rows out — the kernel every runner calls (Spark: ``mapInPandas``).

    Parameters
    ----------
    batches : iterator of DataFrames of manifest rows (columns of ``docs/stamp_store.md`` that describe
        the design: ``task_id``, ``label``, ``pairing``, host position, lens/shear/source parameters under
        lenstronomy's names, ``src_flux_<b>`` nMgy, ``psf_fwhm_<b>`` arcsec).
    cfg : rendering options; the options the rows carry (:data:`ROW_OPTIONS`, as the manifest of
        :func:`dhs_inject.manifest.build_manifest` does) override it.
    bricks : root of the survey's coadd bricks (``<bricks>/coadd/<ddd>/<brick>/``, :mod:`dhs_inject.bricks`);
        each row is cut from its ``brickname`` (each brick read once per batch).

    Yields
    ------
    DataFrame per input batch: the manifest columns plus the rendering options, quality flags, metrics and
    the ``stamp`` / ``ctrl_stamp`` / ``invvar`` cells ``(C, N, N)`` float32 (nMgy, nMgy, nMgy⁻²).

    Raises
    ------
    KernelError : missing columns, duplicate ``task_id`` or non-finite parameters (naming the row).
    FileNotFoundError, ValueError : from the brick reader — a brick missing a band, a host off its brick
        (naming the brick / file / object).
    """
    for rows in batches:
        yield inject_frame(rows, cfg=cfg, bricks=bricks)
