"""3-D ESRResNet: the ESRGAN generator (Wang et al., ECCV-W 2018) without upsampling, for thin-slice SR.

Read top to bottom: :class:`DenseBlock` (5 convolutions, each seeing all earlier features,
LeakyReLU 0.2, no batch norm, output scaled by 0.2 and added to its input), :class:`RRDB`
(three dense blocks inside a residual scaled by 0.2), :class:`ESRResNet3D` (first conv, a trunk
of RRDBs with a long skip, a conv + LeakyReLU, and the head). ``out = x + head(...)``: the
network predicts thin minus input; the head starts at zero (the untrained model is the
identity, the linear-interpolation baseline). The input is already on the thin grid, so the
original's upsampling layers are left out.

MONAI has no residual-in-residual dense block, so the blocks are written here from MONAI's
:class:`monai.networks.blocks.Convolution`.

Presets: ``paper`` (64 features, growth 32, 5 RRDBs) has 11.0 M parameters, 42.0 MB of
float32, next to the paper's 40 MB for ESRResNet (4 RRDBs would give 33.8 MB); ``small`` is for CPU.
"""

from __future__ import annotations

import torch
from monai.networks.blocks import Convolution
from torch import nn

__all__ = ["PRESETS", "DenseBlock", "ESRResNet3D", "RRDB", "build"]

PRESETS = {
    "small": {"features": 12, "growth": 6, "blocks": 1, "dense": 1},
    "paper": {"features": 64, "growth": 32, "blocks": 5, "dense": 3},
}

_LRELU = ("LEAKYRELU", {"negative_slope": 0.2})


class DenseBlock(nn.Module):
    """Residual dense block: ``x + 0.2 * c5([x, c1, c2, c3, c4])`` with ``ci`` seeing all earlier maps."""

    def __init__(self, features: int, growth: int) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            Convolution(3, features + i * growth, growth, act=_LRELU, norm=None) for i in range(4)
        )
        self.last = Convolution(3, features + 4 * growth, features, conv_only=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        maps = [x]
        for conv in self.convs:
            maps.append(conv(torch.cat(maps, dim=1)))
        return x + 0.2 * self.last(torch.cat(maps, dim=1))


class RRDB(nn.Module):
    """Residual in residual dense block: ``x + 0.2 * D3(D2(D1(x)))`` (ESRGAN: 3 dense blocks)."""

    def __init__(self, features: int, growth: int, dense: int = 3) -> None:
        super().__init__()
        self.blocks = nn.Sequential(*(DenseBlock(features, growth) for _ in range(dense)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + 0.2 * self.blocks(x)


class ESRResNet3D(nn.Module):
    """ESRGAN's generator in 3-D, without upsampling, with a global residual.

    Parameters
    ----------
    features : int
        Feature channels of the trunk (ESRGAN: 64).
    growth : int
        Channels each dense-block convolution adds (ESRGAN: 32).
    blocks : int
        RRDBs in the trunk (ESRGAN: 23, in 2-D).
    dense : int
        Dense blocks per RRDB (ESRGAN: 3; the ``small`` preset uses 1 to be affordable on CPU).
    zero_head : bool
        Initialise the head to zero.
    """

    size_multiple = (1, 1, 1)

    def __init__(
        self, features: int = 64, growth: int = 32, blocks: int = 5, dense: int = 3, zero_head: bool = True
    ) -> None:
        super().__init__()
        if min(features, growth, blocks, dense) < 1:
            raise ValueError(f"features, growth, blocks and dense must be >= 1, got {features}, {growth}, {blocks}, {dense}")
        self.first = Convolution(3, 1, features, conv_only=True)
        self.trunk = nn.Sequential(*(RRDB(features, growth, dense) for _ in range(blocks)))
        self.trunk_conv = Convolution(3, features, features, conv_only=True)
        self.hr_conv = Convolution(3, features, features, act=_LRELU, norm=None)
        self.head = Convolution(3, features, 1, conv_only=True)
        if zero_head:
            nn.init.zeros_(self.head.conv.weight)
            nn.init.zeros_(self.head.conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.first(x)
        f = f + self.trunk_conv(self.trunk(f))
        return x + self.head(self.hr_conv(f))


def build(**kwargs) -> ESRResNet3D:
    return ESRResNet3D(**kwargs)
