"""Pixel grids in arcseconds for stamps, with sub-pixel oversampling (torch).

The stamp-centre convention, stated once for the lens core and everything that uses it
(lens centres, core masks, gates): an ``n``-pixel axis has pixel index ``n // 2`` at angular
coordinate 0, so pixel ``(row, col) = (n//2, n//2)`` of an ``(n, n)`` stamp is at
``(x, y) = (0, 0)`` — the LRG's pixel of a cutout cut as in the DHS spec §2.1 (pixel (32, 32) of
a 64×64 stamp, (50, 50) of a 101×101 one). ``x`` grows with the column index and ``y`` with
the row index, both by ``pixel_scale`` arcsec per pixel (arrays are ``[..., row=y, col=x]``;
the axes are not flipped to the sky's east-left orientation). In lenstronomy's terms this is a
``PixelGrid`` with ``transform_pix2angle = pixel_scale * identity`` and
``ra_at_xy_0 = dec_at_xy_0 = `` :func:`origin_arcsec` ``(n, pixel_scale)``.

With ``oversampling = s`` each pixel holds ``s x s`` sub-pixels whose centres, in pixels from
the pixel centre, are ``(k + 0.5)/s - 0.5`` for ``k = 0 .. s-1`` (lenstronomy's regular
supersampling); averaging the ``s x s`` samples of a pixel gives its mean surface brightness.
"""

from __future__ import annotations

import torch

__all__ = ["origin_arcsec", "pixel_coordinates", "pixel_grid"]


def _check(n_pix: int, pixel_scale: float, oversampling: int) -> None:
    if int(n_pix) != n_pix or n_pix < 1:
        raise ValueError(f"n_pix={n_pix!r}: must be a positive integer")
    if not pixel_scale > 0:
        raise ValueError(f"pixel_scale={pixel_scale!r} arcsec: must be > 0")
    if int(oversampling) != oversampling or oversampling < 1:
        raise ValueError(f"oversampling={oversampling!r}: must be a positive integer")


def origin_arcsec(n_pix: int, pixel_scale: float) -> float:
    """Angular coordinate (arcsec) of pixel index 0 of an ``n_pix`` axis: ``-(n_pix//2) *
    pixel_scale`` (lenstronomy's ``ra_at_xy_0`` / ``dec_at_xy_0`` for this convention)."""
    _check(n_pix, pixel_scale, 1)
    return -(n_pix // 2) * float(pixel_scale)


def pixel_coordinates(n_pix: int, pixel_scale: float, oversampling: int = 1, *,
                      dtype: torch.dtype = torch.float32,
                      device: str | torch.device = "cpu") -> torch.Tensor:
    """Sub-pixel centre coordinates (arcsec) along one axis, shape ``(n_pix * oversampling,)``.

    Entry ``j * s + k`` is ``(j - n_pix//2 + (k + 0.5)/s - 0.5) * pixel_scale``: sub-pixel ``k``
    of pixel ``j``. Computed in float64 and cast to ``dtype``.

    Raises
    ------
    ValueError
        If ``n_pix`` or ``oversampling`` is not a positive integer or ``pixel_scale <= 0``.
    """
    _check(n_pix, pixel_scale, oversampling)
    s = int(oversampling)
    pix = torch.arange(int(n_pix), dtype=torch.float64) - (int(n_pix) // 2)
    sub = (torch.arange(s, dtype=torch.float64) + 0.5) / s - 0.5
    coords = (pix[:, None] + sub[None, :]).reshape(-1) * float(pixel_scale)
    return coords.to(dtype=dtype, device=device)


def pixel_grid(n_pix: int, pixel_scale: float, oversampling: int = 1, *,
               dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu",
               sparse: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Ray positions ``(x, y)`` in arcsec of an ``(n_pix, n_pix)`` stamp.

    Returns broadcastable ``x`` of shape ``(1, N)`` and ``y`` of shape ``(N, 1)``,
    ``N = n_pix * oversampling`` (``sparse=True``, the cheap form for profile formulas), or both
    ``(N, N)`` (``sparse=False``). See the module docstring for the convention.
    """
    c = pixel_coordinates(n_pix, pixel_scale, oversampling, dtype=dtype, device=device)
    if sparse:
        return c[None, :], c[:, None]
    y, x = torch.meshgrid(c, c, indexing="ij")
    return x, y
