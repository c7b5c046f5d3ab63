"""Backbones checked layer by layer against torchvision's definitions (read, not imported) and the papers."""

import pytest
import torch
from torch import nn

from dhs_train.models import ConvNeXt, ResNet18, build_model


def _n(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def test_resnet18_matches_torchvision_layer_by_layer() -> None:
    net = ResNet18(3, 64, "imagenet")
    assert _n(net) + _n(nn.Linear(512, 1000)) == 11_689_512  # torchvision resnet18(num_classes=1000)
    assert net.conv1.weight.shape == (64, 3, 7, 7) and isinstance(net.maxpool, nn.MaxPool2d)
    expected = {"layer1": 147_968, "layer2": 525_568, "layer3": 2_099_712, "layer4": 8_393_728}
    assert {k: _n(getattr(net, k)) for k in expected} == expected
    assert net.layer2[0].downsample[0].weight.shape == (128, 64, 1, 1)
    stamp = ResNet18(3, 64, "stamp")
    assert stamp.conv1.weight.shape == (64, 3, 3, 3) and isinstance(stamp.maxpool, nn.Identity)


def test_convnext_tiny_matches_torchvision_layer_by_layer() -> None:
    net = ConvNeXt(3, 96, "imagenet")
    assert _n(net) + _n(nn.Linear(768, 1000)) == 28_589_128  # torchvision convnext_tiny(num_classes=1000)
    feats = net.features
    assert feats[0][0].weight.shape == (96, 3, 4, 4)
    assert [len(feats[i]) for i in (1, 3, 5, 7)] == [3, 3, 9, 3]
    block = feats[1][0]
    assert block.dwconv.weight.shape == (96, 1, 7, 7) and block.pwconv1.weight.shape == (384, 96)
    assert block.layer_scale.shape == (96, 1, 1) and float(block.layer_scale.detach()[0, 0, 0]) == pytest.approx(1e-6)
    assert feats[2][1].weight.shape == (192, 96, 2, 2)
    assert [round(b.drop_path, 4) for b in (feats[1][0], feats[7][2])] == [0.0, 0.1]  # linear decay to 0.1


@pytest.mark.parametrize("name", ["resnet18", "convnext_tiny"])
def test_build_model_on_64px_stamps(name: str) -> None:
    model = build_model(name, width=8).eval()
    assert model(torch.randn(2, 3, 64, 64)).shape == (2,)
    fused = build_model(name, meta_dim=2, width=8).eval()
    assert fused.head.meta_columns == ("psfsize_r", "psfdepth_r")
    fused.head.set_standardisation([1.2, 900.0], [0.2, 0.0])
    assert torch.equal(fused.state_dict()["head.meta_std"], torch.tensor([0.2, 1.0]))  # std 0 -> 1; in the checkpoint
    meta = torch.tensor([[1.2, 900.0], [1.4, 900.0]])
    assert fused(torch.randn(2, 3, 64, 64), meta).shape == (2,)


def test_meta_head_refuses_leaky_columns() -> None:
    with pytest.raises(ValueError, match=r"\['arc_snr', 'lens_theta_E'\] carry the label"):
        build_model("resnet18", meta_columns=["psfsize_r", "arc_snr", "lens_theta_E"], width=4)
    with pytest.raises(ValueError, match=r"\['brickname'\] are not safe"):
        build_model("resnet18", meta_columns=["brickname"], width=4)
    with pytest.raises(ValueError, match="unknown architecture 'vit'"):
        build_model("vit")
