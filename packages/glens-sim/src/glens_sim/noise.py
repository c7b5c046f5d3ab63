"""Per-channel i.i.d. Gaussian noise (torch).

Draws come from the caller's ``torch.Generator``, channel by channel in channel order (flux
before velocity, as in the original work), one ``(B, H, W)`` block per channel with a
non-zero sigma; channels with sigma 0 consume no random numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["draw_noise"]


def draw_noise(shape: tuple[int, int, int, int], sigmas: Sequence[float],
               generator: torch.Generator, *, dtype: torch.dtype = torch.float32,
               device: str | torch.device = "cpu") -> torch.Tensor:
    """Noise realisation of shape ``(B, C, H, W)``: channel ``c`` ~ N(0, sigmas[c]^2).

    Numbers are drawn on the generator's device and moved to ``device``.
    """
    b, c, h, w = shape
    if len(sigmas) != c:
        raise ValueError(f"got {len(sigmas)} noise sigmas for {c} channels")
    if any(not s >= 0 for s in sigmas):
        raise ValueError(f"noise sigmas must be >= 0; got {list(sigmas)}")
    noise = torch.zeros(shape, dtype=dtype, device=device)
    for ch, sigma in enumerate(sigmas):
        if sigma > 0:
            draw = torch.randn((b, h, w), generator=generator, dtype=dtype,
                               device=generator.device)
            noise[:, ch] = sigma * draw.to(device)
    return noise
