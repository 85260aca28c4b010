"""3-D ESRGAN: the ESRResNet generator trained against a 3-D PatchGAN discriminator.

The generator is :class:`t2tcore.sr.models.esrresnet.ESRResNet3D`. The discriminator is
MONAI's :class:`monai.networks.nets.PatchDiscriminator` in 3-D (strided 4x4x4 convolutions,
LeakyReLU 0.2, one logit per patch region). Its normalisation is instance norm rather than
MONAI's default batch norm: per-sample statistics make data-parallel training compute exactly
what single-process training computes.

The adversarial loss is ESRGAN's relativistic average GAN (MONAI's adversarial losses have no
relativistic form, so it is written here): with ``C`` the discriminator's logits,

* discriminator: ``BCE(C(real) - mean C(fake), 1) + BCE(C(fake) - mean C(real), 0)``,
* generator: ``BCE(C(real) - mean C(fake), 0) + BCE(C(fake) - mean C(real), 1)``,

and the generator's loss is L2 + ``adv_weight`` x its adversarial term (:mod:`t2tcore.sr.train`).

Presets (parameters as float32): ``paper`` = the ESRResNet ``paper`` generator (42.0 MB) and a
discriminator of 64-128-256-512 channels (42.0 MB), 84.0 MB together beside the paper's 83 MB
(which fits the paper's 40 MB ESRResNet plus a discriminator of this size); ``small`` is for CPU.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from monai.networks.nets import PatchDiscriminator
from torch import nn

from t2tcore.sr.models import esrresnet

__all__ = ["PRESETS", "Discriminator3D", "build", "build_discriminator", "discriminator_loss", "generator_adv_loss"]

PRESETS = {
    "small": {"generator": esrresnet.PRESETS["small"], "discriminator": {"channels": 8, "layers": 2}},
    "paper": {"generator": esrresnet.PRESETS["paper"], "discriminator": {"channels": 64, "layers": 3}},
}


class Discriminator3D(nn.Module):
    """MONAI's 3-D PatchGAN discriminator returning only its logits (N, 1, z', y', x').

    Parameters
    ----------
    channels : int
        Channels of the first layer (doubled at each further layer).
    layers : int
        Strided layers after the first (MONAI ``num_layers_d``).
    """

    def __init__(self, channels: int = 64, layers: int = 3) -> None:
        super().__init__()
        self.net = PatchDiscriminator(
            spatial_dims=3, channels=channels, in_channels=1, out_channels=1, num_layers_d=layers,
            norm="INSTANCE", last_conv_kernel_size=1,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)[-1]


def build(**kwargs) -> esrresnet.ESRResNet3D:
    """The generator."""
    return esrresnet.ESRResNet3D(**kwargs)


def build_discriminator(**kwargs) -> Discriminator3D:
    return Discriminator3D(**kwargs)


def _bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Relativistic average discriminator loss (``fake_logits`` from detached generator output)."""
    return _bce(real_logits - fake_logits.mean(), 1.0) + _bce(fake_logits - real_logits.mean(), 0.0)


def generator_adv_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Relativistic average adversarial loss of the generator (gradients flow through ``fake_logits``)."""
    return _bce(real_logits - fake_logits.mean(), 0.0) + _bce(fake_logits - real_logits.mean(), 1.0)
