"""PSF kernels (Gaussian, Moffat) and batched convolution (torch).

Kernel sizes are in image pixels. Kernels are sampled at pixel centres and normalised to sum
to 1, so convolution conserves total flux away from the image boundary. The Gaussian kernel is
SciPy's ``gaussian_filter`` kernel (radius ``int(truncate*sigma + 0.5)``), so
``convolve(img, gaussian_kernel1d(sigma, 5), padding="replicate")`` equals
``scipy.ndimage.gaussian_filter(img, sigma, mode='nearest', truncate=5)`` (lenstronomy's
``PSF('GAUSSIAN')``), and ``padding="symmetric"`` equals SciPy's default ``mode='reflect'``
(the original work's blur).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F

from glens_sim.config import GAUSSIAN_FWHM_PER_SIGMA, LensSimConfig

__all__ = ["gaussian_kernel1d", "gaussian_kernel", "moffat_kernel", "psf_kernel",
           "convolution_matrix", "convolve"]

Padding = Literal["replicate", "zeros", "symmetric"]


def _radius(sigma: float, truncate: float) -> int:
    return int(truncate * float(sigma) + 0.5)


def gaussian_kernel1d(sigma: float, truncate: float = 5.0, *,
                      dtype: torch.dtype = torch.float64,
                      device: str | torch.device = "cpu") -> torch.Tensor:
    """Normalised 1-D Gaussian of standard deviation ``sigma`` px, ``2r+1`` taps."""
    if not sigma > 0:
        raise ValueError(f"Gaussian PSF sigma={sigma!r} px: must be > 0")
    r = _radius(sigma, truncate)
    x = torch.arange(-r, r + 1, dtype=torch.float64)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    return (k / k.sum()).to(dtype=dtype, device=device)


def gaussian_kernel(sigma: float, truncate: float = 5.0, *,
                    dtype: torch.dtype = torch.float64,
                    device: str | torch.device = "cpu") -> torch.Tensor:
    """Normalised 2-D Gaussian kernel (outer product of :func:`gaussian_kernel1d`)."""
    k = gaussian_kernel1d(sigma, truncate, dtype=dtype, device=device)
    return k[:, None] * k[None, :]


def moffat_kernel(fwhm: float, beta: float = 2.5, radius: int | None = None, *,
                  dtype: torch.dtype = torch.float64,
                  device: str | torch.device = "cpu") -> torch.Tensor:
    """Normalised 2-D Moffat kernel ``(1 + (r/alpha)^2)^-beta`` with the given FWHM (px).

    ``alpha = fwhm / (2 sqrt(2^(1/beta) - 1))``. Default radius: ``int(5 sigma_eq + 0.5)``
    with ``sigma_eq = fwhm / 2.3548`` (the Gaussian of the same FWHM).
    """
    if not fwhm > 0 or not beta > 0:
        raise ValueError(f"Moffat PSF fwhm={fwhm!r} px, beta={beta!r}: both must be > 0")
    if radius is None:
        radius = _radius(fwhm / GAUSSIAN_FWHM_PER_SIGMA, 5.0)
    alpha = fwhm / (2.0 * math.sqrt(2.0 ** (1.0 / beta) - 1.0))
    x = torch.arange(-radius, radius + 1, dtype=torch.float64)
    r2 = x[:, None] ** 2 + x[None, :] ** 2
    k = (1.0 + r2 / alpha**2) ** (-beta)
    return (k / k.sum()).to(dtype=dtype, device=device)


def psf_kernel(cfg: LensSimConfig, *, dtype: torch.dtype | None = None,
               device: str | torch.device | None = None) -> torch.Tensor | None:
    """The kernel described by ``cfg`` (``None`` if no PSF).

    Gaussian → the separable 1-D kernel (``convolve`` applies it along both axes); Moffat → a
    2-D kernel with FWHM ``2.3548 * cfg.psf_sigma``.
    """
    dtype = cfg.torch_dtype if dtype is None else dtype
    device = cfg.device if device is None else device
    if cfg.psf_type == "none" or cfg.psf_sigma == 0:
        return None
    if cfg.psf_type == "gaussian":
        return gaussian_kernel1d(cfg.psf_sigma, cfg.psf_truncate, dtype=dtype, device=device)
    radius = _radius(cfg.psf_sigma, cfg.psf_truncate)
    return moffat_kernel(cfg.psf_fwhm, cfg.moffat_beta, radius, dtype=dtype, device=device)


def _padded_index(n: int, r: int, padding: Padding,
                  device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Input index and validity of padded positions ``-r .. n+r-1`` of an ``n``-pixel axis."""
    i = torch.arange(-r, n + r, device=device)
    valid = torch.ones_like(i, dtype=torch.bool)
    if padding == "replicate":
        i = i.clamp(0, n - 1)
    elif padding == "symmetric":
        if r > n:
            raise ValueError(f"PSF radius {r} px exceeds the image size {n} px for "
                             f"padding='symmetric'")
        i = torch.where(i < 0, -i - 1, torch.where(i >= n, 2 * n - 1 - i, i))
    else:
        valid = (i >= 0) & (i < n)
        i = i.clamp(0, n - 1)
    return i, valid


def convolution_matrix(n: int, kernel1d: torch.Tensor,
                       padding: Padding = "replicate") -> torch.Tensor:
    """``(n, n)`` matrix ``M`` with ``M @ x`` = 1-D convolution of ``x`` (length ``n``) with
    ``kernel1d`` under the given boundary padding (so ``M @ img @ M.T`` blurs both axes)."""
    r = kernel1d.shape[0] // 2
    index, ok = _padded_index(n, r, padding, kernel1d.device)
    # output i, tap t in -r..r reads padded position i - t, i.e. entry i - t + r
    pos = (torch.arange(n, device=kernel1d.device)[:, None]
           - torch.arange(-r, r + 1, device=kernel1d.device)[None, :] + r)
    src, valid = index[pos], ok[pos]
    weights = kernel1d[None, :].expand(n, -1) * valid.to(kernel1d.dtype)
    rows = torch.arange(n, device=kernel1d.device)[:, None].expand_as(src)
    matrix = torch.zeros((n, n), dtype=kernel1d.dtype, device=kernel1d.device)
    return matrix.index_put_((rows.reshape(-1), src.reshape(-1)), weights.reshape(-1),
                             accumulate=True)


def convolve(images: torch.Tensor, kernel: torch.Tensor | None,
             padding: Padding = "replicate") -> torch.Tensor:
    """Convolve every channel of ``images`` ``(B, C, H, W)`` with ``kernel``; same size out.

    ``kernel``: 1-D (separable, applied along rows and columns as two small matrix products)
    or 2-D, odd size; ``None`` returns ``images`` unchanged. ``padding``: ``"replicate"``
    (SciPy ``'nearest'``), ``"zeros"`` (``'constant'``) or ``"symmetric"`` (``'reflect'``).
    """
    if kernel is None:
        return images
    if padding not in ("replicate", "zeros", "symmetric"):
        raise ValueError(f"padding={padding!r}: must be 'replicate', 'zeros' or 'symmetric'")
    if kernel.ndim not in (1, 2) or any(s % 2 == 0 for s in kernel.shape):
        raise ValueError(f"PSF kernel must be 1-D or 2-D with odd sizes; got {tuple(kernel.shape)}")
    b, c, h, w = images.shape
    kernel = kernel.to(dtype=images.dtype, device=images.device)
    if kernel.ndim == 1:
        rows = convolution_matrix(h, kernel, padding)
        cols = convolution_matrix(w, kernel, padding)
        return torch.matmul(torch.matmul(rows, images), cols.T)
    rows, ok_r = _padded_index(h, kernel.shape[0] // 2, padding, images.device)
    cols, ok_c = _padded_index(w, kernel.shape[1] // 2, padding, images.device)
    padded = images.reshape(b * c, 1, h, w).index_select(-2, rows).index_select(-1, cols)
    padded = padded * (ok_r[:, None] & ok_c[None, :]).to(images.dtype)
    # conv2d correlates: flip the kernel for a true convolution
    out = F.conv2d(padded, torch.flip(kernel, dims=(0, 1))[None, None])
    return out.reshape(b, c, h, w)
