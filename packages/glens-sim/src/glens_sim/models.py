"""The small CNN of the original subhalo / lensed-vs-unlensed experiments.

Architecture (spec §2.7): Conv2d(C→16, 3×3, padding 1) → ReLU → MaxPool(2) →
Conv2d(16→32, 3×3, padding 1) → ReLU → AdaptiveAvgPool(1) → Linear(32→2).
Input: float32 images ``(B, C, N, N)`` with C = 1 (one channel: flux *or* velocity) or
C = 2 (channel 0 = flux, channel 1 = velocity); any N ≥ 2. Output: two logits per sample
(index 1 = the "positive" class: lensed, or subhalo present).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["GlensCNN", "build_cnn"]


class GlensCNN(nn.Module):
    """Two-conv-layer classifier with global average pooling (size-agnostic).

    Parameters
    ----------
    in_channels:
        1 or 2 (see module docstring).
    n_classes:
        number of output logits (2 for the binary experiments).
    """

    def __init__(self, in_channels: int = 2, n_classes: int = 2) -> None:
        super().__init__()
        if in_channels not in (1, 2):
            raise ValueError(f"in_channels must be 1 or 2, got {in_channels!r}")
        if n_classes < 2:
            raise ValueError(f"n_classes must be >= 2, got {n_classes!r}")
        self.in_channels = in_channels
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 16, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
        )
        self.classifier = nn.Linear(32, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, n_classes)`` for images ``(B, in_channels, H, W)``."""
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"expected input of shape (B, {self.in_channels}, H, W), got {tuple(x.shape)}"
            )
        return self.classifier(torch.flatten(self.features(x), 1))


def build_cnn(in_channels: int = 2, *, seed: int | None = None, n_classes: int = 2) -> GlensCNN:
    """Build a :class:`GlensCNN`; with ``seed`` its initial weights are a pure function of the seed.

    The global torch RNG state is left untouched (the initialisation runs inside
    ``torch.random.fork_rng``), so building a model never perturbs other random streams.
    """
    if seed is None:
        return GlensCNN(in_channels, n_classes)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return GlensCNN(in_channels, n_classes)
