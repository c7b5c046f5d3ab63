"""Augmentation by the eight symmetries of the square (90° rotations and flips).

Acts on the last two axes (rows = y, columns = x) of ``(..., H, W)`` tensors and treats every
channel alike: a mirrored or rotated velocity map is still a valid rotating-disc field, and the
centred macro lens of the experiments is symmetric under the same group, so the transforms
preserve the class-conditional distributions.
"""

from __future__ import annotations

import torch

__all__ = ["dihedral", "apply_dihedral", "random_dihedral"]


def dihedral(x: torch.Tensor, k: int) -> torch.Tensor:
    """Apply group element ``k`` ∈ {0..7}: ``rot90`` by ``k % 4`` quarter turns, then a
    left-right flip of the columns when ``k >= 4``. Requires square last two axes for odd turns."""
    if not 0 <= k < 8:
        raise ValueError(f"dihedral element must be in 0..7, got {k!r}")
    y = torch.rot90(x, k % 4, dims=(-2, -1))
    return torch.flip(y, dims=(-1,)) if k >= 4 else y


def apply_dihedral(x: torch.Tensor, ks: torch.Tensor) -> torch.Tensor:
    """Apply group element ``ks[i]`` (see :func:`dihedral`) to sample ``i`` of ``x (B, C, N, N)``."""
    if x.ndim != 4 or x.shape[-1] != x.shape[-2]:
        raise ValueError(f"expected a batch of square images (B, C, N, N), got {tuple(x.shape)}")
    if ks.shape != (x.shape[0],):
        raise ValueError(f"need one group element per sample: ks {tuple(ks.shape)} vs batch {x.shape[0]}")
    ks = ks.to(x.device)
    out = torch.empty_like(x)
    for k in range(8):
        sel = ks == k
        if bool(sel.any()):
            out[sel] = dihedral(x[sel], k)
    return out


def random_dihedral(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Independent uniformly random symmetry per sample of a batch ``(B, C, N, N)``.

    The choice is drawn from ``generator`` (one ``randint`` call per batch), so the result is
    a pure function of the generator state.
    """
    ks = torch.randint(0, 8, (x.shape[0],), generator=generator, device=generator.device)
    return apply_dihedral(x, ks)
