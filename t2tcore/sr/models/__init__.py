"""The SR model zoo: 3-D VDSR, U-Net, ESRResNet and ESRGAN, each with a global residual.

Every generator maps a thick series already on the thin grid (N, 1, Z, Y, X), in network
units, to the thin series: ``out = x + residual(x)``, with the residual's last layer
initialised to zero (an untrained model returns the linear-interpolation baseline). One file
per model, read top to bottom; adding a model is one module with ``PRESETS`` and ``build``
and one entry in :data:`MODELS`.

Presets: ``paper`` (sizes as close as we can justify to the paper's Table VI) and ``small``
(for CPU). How we read the paper's MB figures: float32 parameter storage, ``4 bytes x
parameters / 2**20``; for ESRGAN the generator and the discriminator together. Each model
file says how close its ``paper`` preset comes (:func:`parameter_megabytes`).
"""

from __future__ import annotations

from types import ModuleType

from torch import nn

from t2tcore.sr.models import esrgan, esrresnet, unet, vdsr

__all__ = ["MODELS", "PRESETS", "build_discriminator", "build_model", "parameter_megabytes", "preset_kwargs"]

#: Model name -> its module (``PRESETS``, ``build``).
MODELS: dict[str, ModuleType] = {"vdsr": vdsr, "unet": unet, "esrresnet": esrresnet, "esrgan": esrgan}

#: Preset names.
PRESETS = ("small", "paper")


def _module(name: str) -> ModuleType:
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(MODELS)}")
    return MODELS[name]


def preset_kwargs(name: str, preset: str = "small") -> dict:
    """Keyword arguments of the generator of ``name`` at ``preset``."""
    mod = _module(name)
    if preset not in mod.PRESETS:
        raise ValueError(f"unknown preset {preset!r} of {name}; known: {', '.join(mod.PRESETS)}")
    kw = mod.PRESETS[preset]
    return dict(kw["generator"] if "generator" in kw else kw)


def build_model(name: str, preset: str = "small", **overrides) -> nn.Module:
    """The generator of model ``name`` at ``preset`` (``overrides`` change preset arguments)."""
    return _module(name).build(**{**preset_kwargs(name, preset), **overrides})


def build_discriminator(name: str, preset: str = "small") -> nn.Module | None:
    """The discriminator of an adversarial model (ESRGAN), else None."""
    mod = _module(name)
    if not hasattr(mod, "build_discriminator"):
        return None
    return mod.build_discriminator(**mod.PRESETS[preset]["discriminator"])


def _mb(module: nn.Module | None) -> float:
    if module is None:
        return 0.0
    return sum(p.numel() for p in module.parameters()) * 4 / 2**20


def parameter_megabytes(name: str, preset: str = "small") -> dict:
    """Parameter storage of a model as float32, MB (2**20 bytes).

    Returns
    -------
    dict
        ``parameters`` (generator + discriminator), ``generator_mb``, ``discriminator_mb``,
        ``total_mb``.
    """
    g, d = build_model(name, preset), build_discriminator(name, preset)
    n = sum(p.numel() for p in g.parameters()) + (sum(p.numel() for p in d.parameters()) if d is not None else 0)
    return {"parameters": int(n), "generator_mb": _mb(g), "discriminator_mb": _mb(d), "total_mb": _mb(g) + _mb(d)}
