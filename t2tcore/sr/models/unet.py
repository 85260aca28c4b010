"""3-D U-Net for thin-slice SR: MONAI's :class:`monai.networks.nets.UNet` with a global residual.

``out = x + head(unet(x))``: MONAI's UNet (encoder/decoder with skip connections, residual
units) maps the input to ``channels[0]`` feature maps and a 1x1x1 convolution head,
initialised to zero, maps them to the residual (thin minus input). The paper's released code
builds on this same MONAI UNet. Normalisation is off: instance normalisation would make the
output depend on the window the network sees (patch in training, window in inference).

The input size must be a multiple of the product of the strides along each axis
(:attr:`UNet3D.size_multiple`); :mod:`t2tcore.sr.infer` chooses its windows accordingly.

Presets: ``paper`` (channels 16-32-64-128, 3 down-samplings, 2 residual units per level)
has 1.2 M parameters, 4.6 MB of float32, next to the paper's 4 MB; ``small`` is for CPU.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from monai.networks.blocks import Convolution
from monai.networks.nets import UNet
from torch import nn

__all__ = ["PRESETS", "UNet3D", "build"]

PRESETS = {
    "small": {"channels": (8, 16, 32), "strides": (2, 2), "num_res_units": 1},
    "paper": {"channels": (16, 32, 64, 128), "strides": (2, 2, 2), "num_res_units": 2},
}


class UNet3D(nn.Module):
    """MONAI UNet + zero-initialised 1x1x1 head + global residual.

    Parameters
    ----------
    channels : sequence of int
        Feature channels per level (MONAI ``channels``).
    strides : sequence of int
        Down-sampling stride between levels (``len(channels) - 1`` values, isotropic).
    num_res_units : int
        Residual units per level (MONAI).
    zero_head : bool
        Initialise the head to zero (the untrained model is the identity).
    """

    def __init__(
        self,
        channels: Sequence[int] = (16, 32, 64, 128),
        strides: Sequence[int] = (2, 2, 2),
        num_res_units: int = 2,
        zero_head: bool = True,
    ) -> None:
        super().__init__()
        channels, strides = tuple(int(c) for c in channels), tuple(int(s) for s in strides)
        if len(strides) != len(channels) - 1:
            raise ValueError(f"need len(strides) == len(channels) - 1, got {strides} and {channels}")
        self.unet = UNet(3, 1, channels[0], channels, strides, num_res_units=num_res_units, norm=None)
        self.head = Convolution(3, channels[0], 1, kernel_size=1, conv_only=True)
        if zero_head:
            nn.init.zeros_(self.head.conv.weight)
            nn.init.zeros_(self.head.conv.bias)
        m = math.prod(strides)
        self.size_multiple = (m, m, m)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.head(self.unet(x))


def build(**kwargs) -> UNet3D:
    return UNet3D(**kwargs)
