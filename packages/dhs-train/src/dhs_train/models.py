"""Lens classifiers in plain ``torch.nn``: ResNet-18, ConvNeXt-T and the MetaFusionHead (spec ``dhs.md`` §3.4).

torchvision and timm do not work with the CPU torch here (``stack.md`` §0.5), so both backbones are written out
layer by layer after the torchvision definitions (``torchvision/models/resnet.py``, ``convnext.py``) and the
papers: He et al. 2016 (ResNet, BasicBlock, 1×1 projection shortcuts with BatchNorm) and Liu et al. 2022
(ConvNeXt: 4×4/4 patchify stem, 7×7 depthwise conv, LayerNorm, inverted bottleneck ×4, GELU, layer scale 1e-6,
stochastic depth). With the ImageNet stem and a 1000-class head they have exactly torchvision's parameter counts
(ResNet-18 11,689,512; ConvNeXt-T 28,589,128), which the tests check.

Adaptation to 64×64 stamps (``stem="stamp"``, the default):

- ResNet-18: ``conv1`` 3×3 stride 1 padding 1 and no max-pool (the phase-5 variant (b)), so the last stage sees
  an 8×8 map instead of 2×2; everything else unchanged.
- ConvNeXt-T: unchanged (4×4/4 stem, 64 → 16 → 8 → 4 → 2), as the phase-5 trainer used it; ``stem="stamp"`` is
  a 2×2/2 stem instead (64 → 32 → … → 4) for small inputs.

``width`` scales every stage's channel count (64 for ResNet-18, 96 for ConvNeXt-T are the published ones); small
widths make CPU tests and the embedded default fast.

The head maps the pooled features to one logit. With meta inputs the :class:`MetaFusionHead` concatenates an MLP
embedding of *standardised* observing conditions (``(x - mean) / std``, the statistics buffers of the module, so
they travel in the checkpoint), and refuses any column that dhs-gates' leakage audit does not list as safe.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["ARCHITECTURES", "ConvNeXt", "LensClassifier", "MetaFusionHead", "ResNet18", "build_model", "check_meta_columns"]


# ---------------------------------------------------------------- ResNet-18 (He et al. 2016; torchvision resnet.py)
class BasicBlock(nn.Module):
    """Two 3×3 conv–BN layers with an identity or 1×1-conv–BN projection shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.downsample = (
            nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
            if stride != 1 or c_in != c_out
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.downsample(x))


class ResNet18(nn.Module):
    """ResNet-18 feature extractor ``(N, C, H, W) -> (N, 8·width)``; ``stem`` "imagenet" (7×7/2 + max-pool) or "stamp"."""

    def __init__(self, in_channels: int = 3, width: int = 64, stem: Literal["imagenet", "stamp"] = "stamp") -> None:
        super().__init__()
        if stem == "imagenet":
            self.conv1 = nn.Conv2d(in_channels, width, 7, 2, 3, bias=False)
            self.maxpool: nn.Module = nn.MaxPool2d(3, 2, 1)
        else:
            self.conv1 = nn.Conv2d(in_channels, width, 3, 1, 1, bias=False)
            self.maxpool = nn.Identity()
        self.bn1 = nn.BatchNorm2d(width)
        chans = [width, 2 * width, 4 * width, 8 * width]
        layers, c_in = [], width
        for i, c in enumerate(chans):
            stride = 1 if i == 0 else 2
            layers.append(nn.Sequential(BasicBlock(c_in, c, stride), BasicBlock(c, c, 1)))
            c_in = c
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.num_features = chans[-1]
        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)


# ---------------------------------------------------------------- ConvNeXt-T (Liu et al. 2022; torchvision convnext.py)
class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channel axis of ``(N, C, H, W)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias, self.eps).permute(0, 3, 1, 2)


class CNBlock(nn.Module):
    """7×7 depthwise conv → LayerNorm → Linear(4·dim) → GELU → Linear(dim), layer scale, stochastic depth."""

    def __init__(self, dim: int, drop_path: float, layer_scale: float = 1e-6) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.pwconv2 = nn.Linear(4 * dim, dim)
        self.layer_scale = nn.Parameter(torch.full((dim, 1, 1), layer_scale))
        self.drop_path = drop_path

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dwconv(x).permute(0, 2, 3, 1)
        y = self.pwconv2(F.gelu(self.pwconv1(self.norm(y)))).permute(0, 3, 1, 2)
        y = self.layer_scale * y
        if self.training and self.drop_path > 0:  # stochastic depth, "row" mode (one draw per sample)
            keep = torch.empty(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype).bernoulli_(1 - self.drop_path)
            y = y * keep / (1 - self.drop_path)
        return x + y


class ConvNeXt(nn.Module):
    """ConvNeXt-T feature extractor ``(N, C, H, W) -> (N, 8·width)`` (depths 3-3-9-3), features LayerNorm-ed."""

    def __init__(
        self,
        in_channels: int = 3,
        width: int = 96,
        stem: Literal["imagenet", "stamp"] = "imagenet",
        depths: Sequence[int] = (3, 3, 9, 3),
        drop_path: float = 0.1,
    ) -> None:
        super().__init__()
        dims = [width, 2 * width, 4 * width, 8 * width]
        patch = 4 if stem == "imagenet" else 2
        layers: list[nn.Module] = [nn.Sequential(nn.Conv2d(in_channels, dims[0], patch, patch), LayerNorm2d(dims[0], eps=1e-6))]
        total, seen = sum(depths), 0
        for i, (dim, depth) in enumerate(zip(dims, depths, strict=True)):
            layers.append(nn.Sequential(*[CNBlock(dim, drop_path * (seen + j) / (total - 1.0)) for j in range(depth)]))
            seen += depth
            if i < 3:
                layers.append(nn.Sequential(LayerNorm2d(dim, eps=1e-6), nn.Conv2d(dim, dims[i + 1], 2, 2)))
        self.features = nn.Sequential(*layers)
        self.norm = LayerNorm2d(dims[-1], eps=1e-6)
        self.num_features = dims[-1]
        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d | nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.norm(F.adaptive_avg_pool2d(self.features(x), 1)), 1)


# ---------------------------------------------------------------- heads
def check_meta_columns(columns: Sequence[str]) -> None:
    """Refuse meta columns that the leakage audit marks dangerous or does not know as safe.

    Raises
    ------
    ValueError
        Naming the refused columns. The list lives with the store schema in ``dhs_inject.columns`` (one place;
        dhs-gates' leakage audit uses it too).
    """
    from dhs_inject.columns import classify_columns

    verdict = classify_columns(columns)
    if verdict["dangerous"]:
        raise ValueError(f"meta column(s) {verdict['dangerous']} carry the label or the injection (dhs_inject.columns)")
    if verdict["unknown"]:
        raise ValueError(f"meta column(s) {verdict['unknown']} are not safe observing conditions (dhs_inject.columns.SAFE_META_COLUMNS)")


class MetaFusionHead(nn.Module):
    """Fuse image features ``(N, F)`` with standardised meta ``(N, M)`` into one logit (spec §3.4 layout).

    meta MLP ``Linear(M,256)–ReLU–Dropout–Linear(256,256)–ReLU``; classifier on ``concat(features, meta_emb)``:
    ``Linear(F+256,256)–ReLU–Dropout–Linear(256,1)``. Unlike the original the meta inputs are standardised with
    the buffers ``meta_mean``/``meta_std`` (set from the training split, saved in the state dict).
    """

    def __init__(self, num_features: int, meta_columns: Sequence[str], dropout: float = 0.1, hidden: int = 256) -> None:
        super().__init__()
        check_meta_columns(meta_columns)
        self.meta_columns = tuple(meta_columns)
        m = len(self.meta_columns)
        self.register_buffer("meta_mean", torch.zeros(m))
        self.register_buffer("meta_std", torch.ones(m))
        self.meta_mlp = nn.Sequential(nn.Linear(m, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, hidden), nn.ReLU())
        self.classifier = nn.Sequential(
            nn.Linear(num_features + hidden, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 1)
        )

    def set_standardisation(self, mean: Sequence[float], std: Sequence[float]) -> None:
        """Store the training-split mean and standard deviation of each meta column (std 0 → 1)."""
        std_t = torch.as_tensor(std, dtype=torch.float32)
        self.meta_mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.meta_std.copy_(torch.where(std_t > 0, std_t, torch.ones_like(std_t)))

    def forward(self, features: torch.Tensor, meta: torch.Tensor) -> torch.Tensor:
        z = (meta - self.meta_mean) / self.meta_std
        return self.classifier(torch.cat([features, self.meta_mlp(z)], dim=1)).squeeze(1)


class LinearHead(nn.Module):
    """Dropout then ``Linear(F, 1)``: one logit per image."""

    def __init__(self, num_features: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(num_features, 1)

    def forward(self, features: torch.Tensor, meta: torch.Tensor | None = None) -> torch.Tensor:
        return self.fc(self.drop(features)).squeeze(1)


class LensClassifier(nn.Module):
    """Backbone + head: ``forward(x (N, C, H, W), meta (N, M) or None) -> logits (N,)``."""

    def __init__(self, backbone: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(self, x: torch.Tensor, meta: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.backbone(x), meta)


ARCHITECTURES = ("resnet18", "convnext_tiny")


def build_model(
    name: str,
    in_channels: int = 3,
    meta_dim: int = 0,
    *,
    meta_columns: Sequence[str] | None = None,
    width: int | None = None,
    stem: Literal["imagenet", "stamp"] | None = None,
    dropout: float = 0.1,
    drop_path: float = 0.1,
) -> LensClassifier:
    """Build a one-logit lens classifier.

    Parameters
    ----------
    name : {"resnet18", "convnext_tiny"}
    in_channels : int
        Bands (3 for g, r, z).
    meta_dim : int
        Number of meta inputs; > 0 adds a :class:`MetaFusionHead` (then ``meta_columns`` names them; default
        ``psfsize_r``, ``psfdepth_r`` when ``meta_dim == 2``).
    meta_columns : sequence of str, optional
        Store columns fed to the head, checked against dhs-gates' leakage list.
    width : int, optional
        First-stage channels (default: the published 64 / 96).
    stem : {"imagenet", "stamp"}, optional
        Default "stamp" for ResNet-18 (3×3/1, no max-pool) and "imagenet" for ConvNeXt-T (see module docstring).
    dropout, drop_path : float
        Head dropout; ConvNeXt stochastic-depth rate (torchvision's 0.1 for -T).

    Raises
    ------
    ValueError
        Unknown name, or meta columns that disagree with ``meta_dim`` or are refused by the leakage list.
    """
    if meta_columns is None and meta_dim:
        meta_columns = ("psfsize_r", "psfdepth_r") if meta_dim == 2 else None
        if meta_columns is None:
            raise ValueError(f"meta_dim={meta_dim}: name the meta columns (meta_columns=...)")
    if meta_columns is not None and meta_dim and len(meta_columns) != meta_dim:
        raise ValueError(f"meta_dim={meta_dim} but {len(meta_columns)} meta columns {list(meta_columns)}")
    if name == "resnet18":
        backbone: nn.Module = ResNet18(in_channels, width or 64, stem or "stamp")
    elif name == "convnext_tiny":
        backbone = ConvNeXt(in_channels, width or 96, stem or "imagenet", drop_path=drop_path)
    else:
        raise ValueError(f"unknown architecture {name!r}; choose one of {list(ARCHITECTURES)}")
    nf = backbone.num_features
    head: nn.Module = MetaFusionHead(nf, meta_columns, dropout) if meta_columns else LinearHead(nf, dropout)
    return LensClassifier(backbone, head)
