"""FC-DenseNet ("The One Hundred Layers Tiramisu", Jegou et al. 2017) as one configurable module.

Presets:
  fcdn56   4 layers per dense block, growth 12           (paper)
  fcdn67   5 layers per dense block, growth 16           (paper)
  fcdn103  4-5-7-10-12 | 15 | 12-10-7-5-4, growth 16     (paper, ~9.4 M parameters)
  compact  stride-2 stem, 4 down blocks, growth 12: sized for CPU training and serving

The network emits one logit channel per pixel (person vs background); `ExportWrapper`
adds the sigmoid so the ONNX graph returns probabilities in [0, 1].
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import List

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass(frozen=True)
class TiramisuConfig:
    down_layers: List[int]
    bottleneck_layers: int
    up_layers: List[int]
    growth_rate: int = 16
    stem_channels: int = 48
    stem_stride: int = 1
    dropout: float = 0.2
    in_channels: int = 3
    out_channels: int = 1

    @property
    def size_multiple(self) -> int:
        """Input height and width must be multiples of this (all pooling must divide evenly)."""
        return self.stem_stride * (2 ** len(self.down_layers))

    def to_dict(self) -> dict:
        return asdict(self)


PRESETS = {
    "fcdn56": TiramisuConfig([4] * 5, 4, [4] * 5, growth_rate=12),
    "fcdn67": TiramisuConfig([5] * 5, 5, [5] * 5, growth_rate=16),
    "fcdn103": TiramisuConfig([4, 5, 7, 10, 12], 15, [12, 10, 7, 5, 4], growth_rate=16),
    "compact": TiramisuConfig([3, 4, 5, 6], 8, [6, 5, 4, 3], growth_rate=12, stem_channels=32,
                              stem_stride=2, dropout=0.1),
}


def preset(name: str, **overrides) -> TiramisuConfig:
    if name not in PRESETS:
        raise ValueError(f"Expected a preset in {sorted(PRESETS)} but received {name!r}")
    base = PRESETS[name].to_dict()
    base.update(overrides)
    return TiramisuConfig(**base)


class DenseLayer(nn.Sequential):
    def __init__(self, in_ch: int, growth: int, dropout: float):
        super().__init__(
            nn.BatchNorm2d(in_ch),
            nn.ReLU(inplace=True),
            nn.Conv2d(in_ch, growth, 3, padding=1, bias=False),
            nn.Dropout2d(dropout) if dropout > 0 else nn.Identity(),
        )


class DenseBlock(nn.Module):
    """`n` dense layers; returns either all features (down path) or only the new ones (up path)."""

    def __init__(self, in_ch: int, growth: int, n: int, dropout: float, new_only: bool):
        super().__init__()
        self.layers = nn.ModuleList(DenseLayer(in_ch + i * growth, growth, dropout) for i in range(n))
        self.new_only = new_only
        self.out_channels = n * growth if new_only else in_ch + n * growth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        new = []
        for layer in self.layers:
            y = layer(x)
            x = torch.cat([x, y], 1)
            new.append(y)
        return torch.cat(new, 1) if self.new_only else x


class TransitionDown(nn.Sequential):
    def __init__(self, ch: int, dropout: float):
        super().__init__(
            nn.BatchNorm2d(ch),
            nn.ReLU(inplace=True),
            nn.Conv2d(ch, ch, 1, bias=False),
            nn.Dropout2d(dropout) if dropout > 0 else nn.Identity(),
            nn.MaxPool2d(2),
        )


class TransitionUp(nn.Module):
    def __init__(self, ch: int):
        super().__init__()
        self.up = nn.ConvTranspose2d(ch, ch, 3, stride=2, padding=1, output_padding=1, bias=False)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.up(x), skip], 1)


class Tiramisu(nn.Module):
    def __init__(self, cfg: TiramisuConfig):
        super().__init__()
        if len(cfg.down_layers) != len(cfg.up_layers):
            raise ValueError(
                f"Expected as many up blocks as down blocks but received {len(cfg.down_layers)} down "
                f"and {len(cfg.up_layers)} up")
        self.cfg = cfg
        k, p = cfg.growth_rate, cfg.dropout
        self.stem = nn.Conv2d(cfg.in_channels, cfg.stem_channels, 3, stride=cfg.stem_stride, padding=1,
                              bias=False)
        ch = cfg.stem_channels
        self.down_blocks = nn.ModuleList()
        self.transitions_down = nn.ModuleList()
        skip_channels = []
        for n in cfg.down_layers:
            block = DenseBlock(ch, k, n, p, new_only=False)
            self.down_blocks.append(block)
            ch = block.out_channels
            skip_channels.append(ch)
            self.transitions_down.append(TransitionDown(ch, p))
        self.bottleneck = DenseBlock(ch, k, cfg.bottleneck_layers, p, new_only=True)
        ch = self.bottleneck.out_channels
        self.transitions_up = nn.ModuleList()
        self.up_blocks = nn.ModuleList()
        for i, n in enumerate(cfg.up_layers):
            self.transitions_up.append(TransitionUp(ch))
            ch = ch + skip_channels[-1 - i]
            last = i == len(cfg.up_layers) - 1
            block = DenseBlock(ch, k, n, p, new_only=not last)
            self.up_blocks.append(block)
            ch = block.out_channels
        self.head = nn.Sequential(nn.BatchNorm2d(ch), nn.ReLU(inplace=True),
                                  nn.Conv2d(ch, cfg.out_channels, 1))
        self._init()

    def _init(self) -> None:
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        x = self.stem(x)
        skips = []
        for block, td in zip(self.down_blocks, self.transitions_down):
            x = block(x)
            skips.append(x)
            x = td(x)
        x = self.bottleneck(x)
        for tu, block in zip(self.transitions_up, self.up_blocks):
            x = block(tu(x, skips.pop()))
        x = self.head(x)
        if self.cfg.stem_stride != 1:
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
        return x


class ExportWrapper(nn.Module):
    """Probabilities, not logits: what the serving code consumes."""

    def __init__(self, net: Tiramisu):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(x))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
