"""3-D VDSR (Kim, Lee, Lee, CVPR 2016) for thin-slice SR: a plain stack of 3x3x3 convolutions.

``out = x + head(body(x))``: the network predicts thin minus input (VDSR's global residual
learning). ``x`` is the thick series already on the thin grid (:mod:`t2tcore.sr.pairs`), so
there is no upsampling layer. Built from MONAI's :class:`monai.networks.blocks.Convolution`
(convolution + ReLU, no normalisation, as VDSR). The head is initialised to zero, so an
untrained model returns its input: the linear-interpolation baseline.

Presets: ``paper`` is VDSR's own size (20 layers of 64 channels), here in 3-D: 2.0 M
parameters, 7.6 MB of float32. The paper's Table VI gives 298 MB for its VDSR, which as
parameters would be ~78 M, i.e. about 390 channels in each of 20 3-D layers; such a network
would not train with batch 32 on the paper's 24 GB GPU, so we do not believe the 298 MB counts
parameters only and keep VDSR's published width. ``small`` is for CPU.
"""

from __future__ import annotations

import torch
from monai.networks.blocks import Convolution
from torch import nn

__all__ = ["PRESETS", "VDSR3D", "build"]

PRESETS = {
    "small": {"channels": 16, "depth": 5},
    "paper": {"channels": 64, "depth": 20},
}


class VDSR3D(nn.Module):
    """3-D VDSR with a global residual.

    Parameters
    ----------
    channels : int
        Feature channels of every hidden layer.
    depth : int
        Convolution layers in all (>= 2): ``depth - 1`` conv+ReLU layers and the head.
    zero_head : bool
        Initialise the head to zero (the untrained model is the identity).
    """

    size_multiple = (1, 1, 1)  # any input size works

    def __init__(self, channels: int = 64, depth: int = 20, zero_head: bool = True) -> None:
        super().__init__()
        if depth < 2 or channels < 1:
            raise ValueError(f"need depth >= 2 and channels >= 1, got {depth} and {channels}")
        layers = [Convolution(3, 1, channels, act="RELU", norm=None)]
        layers += [Convolution(3, channels, channels, act="RELU", norm=None) for _ in range(depth - 2)]
        self.body = nn.Sequential(*layers)
        self.head = Convolution(3, channels, 1, conv_only=True)
        if zero_head:
            nn.init.zeros_(self.head.conv.weight)
            nn.init.zeros_(self.head.conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.head(self.body(x))


def build(**kwargs) -> VDSR3D:
    return VDSR3D(**kwargs)
