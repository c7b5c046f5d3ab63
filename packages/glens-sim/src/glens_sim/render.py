"""Batched rendering of lensed Sérsic arcs in several bands (torch, CPU or GPU).

One call renders ``B`` stamps of ``C`` bands: a singular isothermal ellipsoid (lenstronomy
``SIE``) plus external shear (``SHEAR``, zero deflection at the stamp centre) lensing an
elliptical Sérsic source (:mod:`glens_sim.light`, ``amp`` = total flux), on the stamp grid of
:mod:`glens_sim.grid` (pixel ``(n//2, n//2)`` at (0, 0), arcsec), with ``s x s`` sub-pixel
oversampling, then a per-sample, per-band PSF (linear convolution,
:func:`glens_sim.psf.convolve_linear`).

Lensing is achromatic and the source has one shape in every band, so rays are shot once per
stamp and the unit-flux lensed surface brightness is evaluated once; bands differ only by their
flux and PSF. Oversampling is a fixed ``s x s`` grid (``s >= 4``, default 4; not adaptive, so
the work per stamp is fixed and batches need no data-dependent branches). For the DHS source
priors (R_e 0.15–0.5″ on 0.262″ pixels, n 0.5–2) the 4×4 grid recovers an unlensed source's
flux to within 1.3 % (worst corner R_e = 0.15″, n = 2; 0.1 % at n = 1); R_e = 0.05″ loses 3 %
(n = 1) to 10 % (n = 2), so use ``s = 8`` or more for sources well below a pixel (figures in
``benchmarks/dhs_inject_render.md``). Lensed arcs are stretched, so their sampling error is
smaller than the unlensed source's.

For CPU throughput, wrap the function in ``torch.compile`` (one graph, no breaks; measured
1.8–2.1x the eager rate on CPU after a 30–60 s first-call compilation per input shape).

The magnification is measured, not assumed: the lensed and the unlensed source are both summed
on the same oversampled stamp grid and ``mu = sum I(beta(theta)) / sum I(theta)``. Nothing in
the computation inspects tensor values (no ``.item()``, ``bool(tensor)`` or value-dependent
Python branches), so it runs on a GPU without host synchronisation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from glens_sim.grid import pixel_grid
from glens_sim.lensing import total_deflection
from glens_sim.light import sersic_shape
from glens_sim.psf import convolve_linear

__all__ = ["ArcRender", "LENS_KEYS", "SHEAR_KEYS", "SOURCE_KEYS", "render_sersic_arcs"]

#: keyword names (lenstronomy's) of the per-sample inputs of :func:`render_sersic_arcs`
LENS_KEYS = ("theta_E", "e1", "e2", "center_x", "center_y")
SHEAR_KEYS = ("gamma1", "gamma2")
SOURCE_KEYS = ("R_sersic", "n_sersic", "e1", "e2", "center_x", "center_y")


@dataclass(frozen=True)
class ArcRender:
    """Result of :func:`render_sersic_arcs`.

    Attributes
    ----------
    images : (B, C, H, W) tensor
        Lensed arcs after the PSF, flux per pixel in the unit of ``flux`` (nMgy/pixel).
    lensed_flux : (B, C) tensor
        Total lensed flux per band before the PSF (sum of the unconvolved stamp; the PSF
        conserves it except what spreads beyond the stamp edge).
    magnification : (B,) tensor
        Measured total magnification: lensed over unlensed flux of the source, both summed on
        the same oversampled stamp grid (band-independent: lensing is achromatic).
    """

    images: torch.Tensor
    lensed_flux: torch.Tensor
    magnification: torch.Tensor


def _params(group: str, values: Mapping[str, torch.Tensor], keys: tuple[str, ...], batch: int,
            like: torch.Tensor) -> dict[str, torch.Tensor]:
    unknown = sorted(set(values) - set(keys))
    missing = [k for k in keys if k not in values]
    if unknown or missing:
        raise ValueError(f"{group}: expected keys {list(keys)}; missing {missing}, "
                         f"unexpected {unknown}")
    out = {}
    for k in keys:
        t = torch.as_tensor(values[k], dtype=like.dtype, device=like.device)
        if t.shape != (batch,):
            raise ValueError(f"{group}[{k!r}] must have shape ({batch},) (one value per "
                             f"sample); got {tuple(t.shape)}")
        out[k] = t
    return out


def render_sersic_arcs(lens: Mapping[str, torch.Tensor], shear: Mapping[str, torch.Tensor],
                       source: Mapping[str, torch.Tensor], flux: torch.Tensor,
                       psf: torch.Tensor | None, *, n_pix: int = 64, pixel_scale: float = 0.262,
                       oversampling: int = 4) -> ArcRender:
    """Render ``B`` stamps of lensed Sérsic arcs in ``C`` bands.

    Parameters
    ----------
    lens : mapping of (B,) tensors
        SIE keywords ``theta_E`` (arcsec, product-averaged Einstein radius), ``e1``, ``e2``,
        ``center_x``, ``center_y`` (arcsec from the stamp centre), lenstronomy conventions.
    shear : mapping of (B,) tensors
        External shear ``gamma1``, ``gamma2`` (lenstronomy ``SHEAR``, ``ra_0 = dec_0 = 0``).
    source : mapping of (B,) tensors
        Sérsic ``R_sersic`` (arcsec, circularised half-light radius), ``n_sersic``, ``e1``,
        ``e2``, ``center_x``, ``center_y`` (arcsec, source plane).
    flux : (B, C) tensor
        Total unlensed source flux per band (e.g. nMgy); sets the output dtype and device.
    psf : (B, C, k, k) tensor or None
        Unit-sum PSF kernel per sample and band (:func:`glens_sim.psf.moffat_kernels`);
        ``None`` skips the convolution.
    n_pix, pixel_scale, oversampling : int, float (arcsec/pixel), int >= 4
        Stamp side, pixel size and sub-pixels per pixel side.

    Returns
    -------
    ArcRender
        ``images`` (B, C, n_pix, n_pix), ``lensed_flux`` (B, C), ``magnification`` (B,).

    Raises
    ------
    ValueError
        Naming the group and key of a missing, unexpected or mis-shaped parameter, or a bad
        ``flux``/``psf`` shape or ``oversampling < 4``.
    """
    if flux.ndim != 2:
        raise ValueError(f"flux must be (B, C) (sample, band); got {tuple(flux.shape)}")
    if int(oversampling) != oversampling or oversampling < 4:
        raise ValueError(f"oversampling={oversampling!r}: must be an integer >= 4 (4x4 "
                         f"sub-pixels at least; point sampling biases small sources)")
    batch, bands = flux.shape
    if psf is not None and (psf.ndim != 4 or tuple(psf.shape[:2]) != (batch, bands)):
        raise ValueError(f"psf must be ({batch}, {bands}, k, k) like flux; got "
                         f"{tuple(psf.shape)}")
    lens_p = _params("lens", lens, LENS_KEYS, batch, flux)
    shear_p = _params("shear", shear, SHEAR_KEYS, batch, flux)
    src = _params("source", source, SOURCE_KEYS, batch, flux)
    s = int(oversampling)
    x, y = pixel_grid(n_pix, pixel_scale, s, dtype=flux.dtype, device=flux.device)
    ax, ay = total_deflection(x, y, [("SIE", lens_p), ("SHEAR", shear_p)])  # (B, N, N), once
    shape = sersic_shape(src["R_sersic"], src["n_sersic"], src["e1"], src["e2"],
                         src["center_x"], src["center_y"], ndim=2)
    # offsets from the source centre: sparse (x - x_s) minus the deflection, beta - beta_s
    dx, dy = x - shape.center_x, y - shape.center_y
    lensed = shape.at_offsets(dx - ax, dy - ay)  # unit flux, per arcsec^2, (B, N, N)
    unlensed_sum = shape.at_offsets(dx, dy).sum(dim=(-2, -1))
    lensed_sum = lensed.sum(dim=(-2, -1))
    pixel_area = float(pixel_scale) ** 2
    # mean over each pixel's s x s sub-pixels x pixel area = flux per pixel of unit flux
    unit = F.avg_pool2d(lensed[:, None], kernel_size=s, stride=s) * pixel_area
    images = unit * flux[:, :, None, None]
    lensed_flux = flux * (lensed_sum * (pixel_area / s**2))[:, None]
    if psf is not None:
        images = convolve_linear(images, psf)
    return ArcRender(images=images, lensed_flux=lensed_flux,
                     magnification=lensed_sum / unlensed_sum)
