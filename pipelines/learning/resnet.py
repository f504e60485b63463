"""Residual networks (He et al., 2015) in plain ``torch.nn``: ResNet-18/34 of basic blocks and
ResNet-50 of bottleneck blocks, with the stage widths scaled by ``base_width``.

At ``base_width=64`` the layers are those of the published networks (a 7x7 stride-2 stem with max
pooling, four stages, global average pooling, one linear layer), so their parameter counts match
the well-known ones; a smaller width (16 or 32) trains a usable model on a CPU in seconds.
torchvision is not used: its wheels do not import beside the CPU build of torch used here.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

__all__ = ["DEPTHS", "ResNet", "ResNetConfig", "count_parameters"]

# depth -> (block kind, blocks per stage)
DEPTHS: dict[int, tuple[str, tuple[int, int, int, int]]] = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
}


@dataclass(frozen=True, slots=True)
class ResNetConfig:
    """What rebuilds the network before its weights are loaded."""

    depth: int
    num_classes: int
    base_width: int = 64
    in_channels: int = 3

    def as_dict(self) -> dict[str, int]:
        return {
            "depth": self.depth,
            "num_classes": self.num_classes,
            "base_width": self.base_width,
            "in_channels": self.in_channels,
        }


def _conv3x3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel_size=3, stride=stride, padding=1, bias=False)


def _shortcut(cin: int, cout: int, stride: int) -> nn.Module:
    """Identity where shapes agree, else a strided 1x1 projection (option B of the paper)."""
    if stride == 1 and cin == cout:
        return nn.Identity()
    return nn.Sequential(nn.Conv2d(cin, cout, kernel_size=1, stride=stride, bias=False), nn.BatchNorm2d(cout))


class _Basic(nn.Module):
    expansion = 1

    def __init__(self, cin: int, width: int, stride: int) -> None:
        super().__init__()
        self.conv1 = _conv3x3(cin, width, stride)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = _conv3x3(width, width)
        self.bn2 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = _shortcut(cin, width, stride)

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        result: Tensor = self.relu(out + self.shortcut(x))
        return result


class _Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (strided, as in the widely used v1.5), 1x1 expand to four times the width."""

    expansion = 4

    def __init__(self, cin: int, width: int, stride: int) -> None:
        super().__init__()
        cout = width * self.expansion
        self.conv1 = nn.Conv2d(cin, width, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = _conv3x3(width, width, stride)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, cout, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = _shortcut(cin, cout, stride)

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        result: Tensor = self.relu(out + self.shortcut(x))
        return result


class ResNet(nn.Module):
    """Input NCHW float; output (batch, num_classes) logits."""

    def __init__(self, config: ResNetConfig) -> None:
        super().__init__()
        if config.depth not in DEPTHS:
            raise ValueError(f"unknown ResNet depth {config.depth}; expected one of {sorted(DEPTHS)}")
        kind, counts = DEPTHS[config.depth]
        block = _Basic if kind == "basic" else _Bottleneck
        width = config.base_width
        self.stem = nn.Sequential(
            nn.Conv2d(config.in_channels, width, kernel_size=7, stride=2, padding=3, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
        )
        stages: list[nn.Module] = []
        cin = width
        for index, count in enumerate(counts):
            stage_width = width * 2**index
            blocks: list[nn.Module] = []
            for position in range(count):
                stride = 2 if index > 0 and position == 0 else 1
                blocks.append(block(cin, stage_width, stride))
                cin = stage_width * block.expansion
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, config.num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: Tensor) -> Tensor:
        out = self.pool(self.stages(self.stem(x)))
        result: Tensor = self.fc(torch.flatten(out, 1))
        return result


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
