"""Subhalo placement on the lensed arc (pure functions of pre-drawn uniforms).

Two recipes (``LensSimConfig.subhalo_placement``):

* ``"ring"`` (the original work): azimuth ``phi ~ U[0, 2 pi)``, ``f ~ U[lo, hi)``, position
  ``center + theta_E (1 + f) (cos phi, sin phi)`` — on a circle just outside the Einstein
  ring for the defaults ``(0.1, 0.3)``.
* ``"bright"``: a pixel of the smooth (subhalo-free) lensed flux image drawn with probability
  proportional to its flux among pixels at or above a threshold — i.e. on the arc itself —
  plus a uniform sub-pixel offset.

The random numbers are drawn by the caller (:mod:`glens_sim.simulate`) up front, so placement
is independent of how a batch is chunked.
"""

from __future__ import annotations

import math

import torch

__all__ = ["ring_positions", "bright_positions"]


def ring_positions(theta_E: torch.Tensor, phi: torch.Tensor, frac: torch.Tensor,
                   center_x: torch.Tensor | float = 0.0,
                   center_y: torch.Tensor | float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Positions at radius ``theta_E (1 + frac)`` and azimuth ``phi`` (radians) about the centre."""
    r = theta_E * (1.0 + frac)
    return center_x + r * torch.cos(phi), center_y + r * torch.sin(phi)


def bright_positions(flux: torch.Tensor, u: torch.Tensor, jitter: torch.Tensor, *,
                     half_width: float = 1.0,
                     threshold: float = 0.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Flux-weighted random pixel of each image in ``flux`` ``(B, N, N)``.

    ``u``: ``(B,)`` uniforms in [0, 1) selecting the pixel by inverse CDF of the weights
    ``flux * (flux >= threshold)``; ``jitter``: ``(B, 2)`` uniforms in [0, 1) for the (x, y)
    offset inside the pixel. Returns ``(x, y, ok)``; ``ok`` is False where no pixel reaches
    the threshold (``x, y`` are then NaN).
    """
    b, n, m = flux.shape
    if n != m:
        raise ValueError(f"flux images must be square; got {tuple(flux.shape)}")
    weights = torch.where(flux >= threshold, flux, torch.zeros_like(flux)).clamp_min(0)
    cdf = torch.cumsum(weights.reshape(b, -1).to(torch.float64), dim=1)
    total = cdf[:, -1]
    ok = total > 0
    target = (u.to(torch.float64) * total).unsqueeze(1)
    idx = torch.searchsorted(cdf, target, right=True).squeeze(1).clamp(max=n * n - 1)
    row, col = idx // n, idx % n
    step = 2.0 * half_width / (n - 1)
    jitter = jitter.to(flux.dtype)
    x = -half_width + (col.to(flux.dtype) + jitter[:, 0] - 0.5) * step
    y = -half_width + (row.to(flux.dtype) + jitter[:, 1] - 0.5) * step
    nan = torch.full_like(x, math.nan)
    return torch.where(ok, x, nan), torch.where(ok, y, nan), ok
