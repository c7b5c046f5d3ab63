"""Batched ray shooting and bilinear sampling of pixelised sources (torch, CPU or CUDA).

Conventions (see :mod:`glens_sim.config`): pixel centres of an ``n``-pixel axis are
``linspace(-half_width, half_width, n)``; arrays are ``[..., row=y, col=x]``. With
``supersampling = s`` each pixel is sampled by ``s x s`` rays at sub-pixel offsets
``(k + 0.5)/s - 0.5`` pixels (lenstronomy's regular supersampling) and the samples averaged.

Source sampling is bilinear in the source's pixel values (surface brightness). With
``edge="zero"`` the source is surrounded by one ring of zero pixels (values ramp to 0 over one
pixel outside the source box, exactly as lenstronomy's ``INTERPOL`` light profile); with
``edge="clamp"`` a ray outside the box takes the nearest edge value.

A lens is a sequence of components ``(name, kwargs)`` with lenstronomy profile names and
keyword names (:mod:`glens_sim.profiles`); a keyword may be a float or a tensor of shape
``(B,)`` (one value per sample of the batch). Deflections of the components add (single lens
plane); the lens equation is ``beta = theta - alpha``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import torch
import torch.nn.functional as F

from glens_sim.profiles import deflection

__all__ = [
    "LensComponent",
    "pixel_centres",
    "image_grid",
    "ray_shoot",
    "sample_source",
    "bin_pixels",
    "lens_image",
    "lens_flux_velocity",
]

LensComponent = tuple[str, Mapping[str, "float | torch.Tensor"]]


def pixel_centres(n: int, half_width: float = 1.0, supersampling: int = 1, *,
                  dtype: torch.dtype = torch.float64,
                  device: str | torch.device = "cpu") -> torch.Tensor:
    """Coordinates of the ``n * supersampling`` ray positions along one axis.

    Pixel ``j`` has centre ``-half_width + j * step`` with ``step = 2 half_width/(n-1)``; its
    ``s`` rays sit at ``centre + ((k + 0.5)/s - 0.5) * step``, ``k = 0 .. s-1``.
    """
    if n < 2:
        raise ValueError(f"grid size n={n}: need at least 2 pixels")
    s = int(supersampling)
    step = 2.0 * half_width / (n - 1)
    base = -half_width + step * torch.arange(n, dtype=torch.float64)
    offsets = ((torch.arange(s, dtype=torch.float64) + 0.5) / s - 0.5) * step
    return (base[:, None] + offsets[None, :]).reshape(-1).to(dtype=dtype, device=device)


def image_grid(n: int, half_width: float = 1.0, supersampling: int = 1, *,
               dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu",
               sparse: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Image-plane ray positions ``(x, y)``, each ``(n*s, n*s)``; ``x`` varies along columns.

    ``sparse=True`` returns broadcastable ``x`` of shape ``(1, n*s)`` and ``y`` of shape
    ``(n*s, 1)`` (like ``numpy.meshgrid(sparse=True)``): profile formulas then compute
    per-axis offsets on the small arrays and only the genuinely 2-D steps at full size.
    """
    c = pixel_centres(n, half_width, supersampling, dtype=dtype, device=device)
    if sparse:
        return c[None, :], c[:, None]
    y, x = torch.meshgrid(c, c, indexing="ij")
    return x, y


def _batched(value: float | torch.Tensor, ndim: int) -> float | torch.Tensor:
    """A per-sample ``(B,)`` tensor viewed as ``(B, 1, ..., 1)`` to broadcast on ``(B, H, W)``.

    A tensor whose entries are all equal becomes a 0-d tensor, so a lens shared by the whole
    batch is evaluated once on ``(H, W)`` and broadcast.
    """
    if isinstance(value, torch.Tensor) and value.ndim == 1:
        if value.numel() > 0 and bool((value == value[0]).all()):
            return value[0]
        return value.reshape(-1, *([1] * ndim))
    return value


def _deflections(x: torch.Tensor, y: torch.Tensor, lenses: Sequence[LensComponent]
                 ) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Deflection of every component, smallest broadcast shape first (shared lenses first)."""
    alphas = []
    for name, kwargs in lenses:
        params = {k: _batched(v, x.ndim) for k, v in kwargs.items()}
        alphas.append(deflection(name, x, y, **params))
    return sorted(alphas, key=lambda a: max(a[0].numel(), a[1].numel()))


def ray_shoot(x: torch.Tensor, y: torch.Tensor,
              lenses: Sequence[LensComponent]) -> tuple[torch.Tensor, torch.Tensor]:
    """Source-plane positions ``beta = theta - sum_k alpha_k(theta)``.

    ``x, y``: image-plane positions ``(H, W)``, or broadcastable ``(1, W)`` and ``(H, 1)``
    (:func:`image_grid` with ``sparse=True``). Per-sample keywords of shape ``(B,)`` give
    ``beta`` of shape ``(B, H, W)``. Keyword tensors are cast to ``x``'s dtype and device.
    """
    bx, by = x, y
    for ax, ay in _deflections(x, y, lenses):
        bx = bx - ax
        by = by - ay
    return torch.broadcast_tensors(bx, by)


def _source_grid(x: torch.Tensor, y: torch.Tensor, lenses: Sequence[LensComponent],
                 half_width: float) -> torch.Tensor:
    """``grid_sample`` grid ``(B, H, W, 2)`` = ``beta / half_width``.

    The smaller (shared) deflections are subtracted first on their own shape; the last one is
    subtracted straight into the interleaved grid, so the full-size work is one pass per axis
    per per-sample component.
    """
    alphas = _deflections(x, y, lenses)
    bx, by = x, y
    for ax, ay in alphas[:-1]:
        bx = bx - ax
        by = by - ay
    last = alphas[-1] if alphas else (torch.zeros((), dtype=x.dtype, device=x.device),) * 2
    shape = torch.broadcast_shapes(bx.shape, by.shape, last[0].shape, last[1].shape)
    grid = torch.empty((*shape, 2), dtype=x.dtype, device=x.device)
    for pos, alpha, target in ((bx, last[0], grid[..., 0]), (by, last[1], grid[..., 1])):
        if torch.broadcast_shapes(pos.shape, alpha.shape) == shape:
            torch.sub(pos, alpha, out=target)
        else:
            target.copy_(pos - alpha)  # broadcast, e.g. no (or constant) deflection
    if half_width != 1.0:
        grid.div_(half_width)
    return grid if grid.ndim == 4 else grid[None]


def _grid_sample(source: torch.Tensor, grid: torch.Tensor,
                 edge: Literal["zero", "clamp"]) -> torch.Tensor:
    """Bilinear sampling of ``source`` ``(B|1, C, H, W)`` on a normalised ``grid``
    ``(B|1, h, w, 2)`` (``align_corners=True``: -1 and 1 are the outer pixel centres)."""
    if edge not in ("zero", "clamp"):
        raise ValueError(f"edge={edge!r}: must be 'zero' or 'clamp'")
    batch = max(source.shape[0], grid.shape[0])
    return F.grid_sample(source.expand(batch, *source.shape[1:]),
                         grid.to(source.dtype).expand(batch, *grid.shape[1:]), mode="bilinear",
                         padding_mode="zeros" if edge == "zero" else "border",
                         align_corners=True)


def sample_source(source: torch.Tensor, beta_x: torch.Tensor, beta_y: torch.Tensor, *,
                  half_width: float = 1.0,
                  edge: Literal["zero", "clamp"] = "zero") -> torch.Tensor:
    """Bilinear samples of ``source`` ``(B, C, H, W)`` (or ``(C, H, W)``) at ``(beta_x, beta_y)``.

    ``beta_*``: ``(B, h, w)`` or ``(h, w)``; source pixel centres span
    ``[-half_width, half_width]`` on both axes. Returns ``(B, C, h, w)``.
    """
    if source.ndim == 3:
        source = source[None]
    if source.ndim != 4:
        raise ValueError(f"source must be (B, C, H, W) or (C, H, W); got {tuple(source.shape)}")
    beta_x, beta_y = torch.broadcast_tensors(beta_x, beta_y)
    grid = torch.stack((beta_x, beta_y), dim=-1) / half_width
    return _grid_sample(source, grid if grid.ndim == 4 else grid[None], edge)


def bin_pixels(images: torch.Tensor, supersampling: int) -> torch.Tensor:
    """Average ``s x s`` blocks of the last two axes (supersampled rays -> pixels)."""
    s = int(supersampling)
    if s == 1:
        return images
    return F.avg_pool2d(images, kernel_size=s, stride=s)


def _trace(source: torch.Tensor, lenses: Sequence[LensComponent], grid_size: int | None,
           half_width: float, source_half_width: float, supersampling: int,
           edge: Literal["zero", "clamp"]) -> torch.Tensor:
    if source.ndim != 4:
        raise ValueError(f"source must be (B, C, H, W); got {tuple(source.shape)}")
    n = source.shape[-1] if grid_size is None else int(grid_size)
    x, y = image_grid(n, half_width, supersampling, dtype=source.dtype, device=source.device,
                      sparse=True)
    return _grid_sample(source, _source_grid(x, y, lenses, source_half_width), edge)


def lens_image(source: torch.Tensor, lenses: Sequence[LensComponent], *,
               grid_size: int | None = None, half_width: float = 1.0,
               source_half_width: float = 1.0, supersampling: int = 1,
               edge: Literal["zero", "clamp"] = "zero") -> torch.Tensor:
    """Lensed surface brightness of every channel of ``source`` ``(B, C, H, W)``.

    Each channel is treated as a surface brightness (conserved along rays): the pixel value is
    the mean over its ``s x s`` rays of the bilinearly sampled source. Returns
    ``(B, C, N, N)`` with ``N = grid_size`` (default: the source size). Multiply by the pixel
    area ``(2 half_width/(N-1))**2`` to get lenstronomy ``ImageModel`` flux per pixel.
    """
    samples = _trace(source, lenses, grid_size, half_width, source_half_width, supersampling,
                     edge)
    return bin_pixels(samples, supersampling)


def lens_flux_velocity(source: torch.Tensor, lenses: Sequence[LensComponent], *,
                       grid_size: int | None = None, half_width: float = 1.0,
                       source_half_width: float = 1.0, supersampling: int = 1,
                       edge: Literal["zero", "clamp"] = "zero") -> torch.Tensor:
    """Ray-averaged flux ``F`` and flux-weighted velocity moment ``F v`` of a 2-channel source.

    ``source``: ``(B, 2, H, W)`` with channel 0 surface brightness ``f`` and channel 1 velocity
    ``v``. Both are sampled bilinearly at every ray; per pixel
    ``F = mean_rays f`` and ``FV = mean_rays f v``. Returns ``(B, 2, N, N)`` = ``[F, FV]``;
    the observed velocity is ``FV / F`` (after convolving both with the PSF, if any).
    """
    if source.ndim != 4 or source.shape[1] != 2:
        raise ValueError(f"source must be (B, 2, H, W); got {tuple(source.shape)}")
    samples = _trace(source, lenses, grid_size, half_width, source_half_width, supersampling,
                     edge)
    samples[:, 1].mul_(samples[:, 0])  # fresh tensor from grid_sample: f v in place
    return bin_pixels(samples, supersampling)
