"""Effort knobs of the SR chapters (05 and 06) per book profile: ``smoke``, ``quick``, ``paper``.

The book build passes only ``profile``, ``data_root`` and ``out_dir`` to a chapter; everything
else that changes with the profile is looked up here (:func:`chapter_settings`), so the
chapters' numbers are reproducible from the profile name alone.

``paper``
    The paper's settings for a GPU: the ``paper`` model presets, Adam with learning rate
    1e-4, batch 32, 1000 epochs (an epoch = one random patch of every training series, as a
    random-crop data loader gives), every model trained on every simulation, whole test
    volumes, SSIM 2-D and 3-D, FID (where a set has 300 slices or more) and KID on 16 slices
    per test volume.
``quick``
    What two CPU cores do in the book's time budget: the ``small`` presets, 120 steps of 4
    patches (16 x 40 x 40), ESRGAN as 40 adversarial steps starting from the ESRResNet
    trained on the same simulation (as ESRGAN itself is trained); the ablation
    (``placed_average``) and the calibrated profile for VDSR only; metrics on the central 16
    thin slices of every test volume, inside the body's bounding box (every model predicts each
    case once; at about two dozen models inference is most of the chapter's scoring time, and
    16 slices + 2 x 4 halo keep it within the budget while leaving 6 slices of room for the edge
    displacement along z). The learning rate is
    1e-3, not the paper's 1e-4: after 200 steps of 4 patches of 16 x 48 x 48, VDSR-small's
    validation MSE on the quick cohort fell by 7 % with 1e-4 and by 28 % with 1e-3 (measured
    while writing this module), so 1e-4 would leave the models close to their untrained state
    (the identity, i.e. linear interpolation). Every model and simulation gets the same
    settings. No FID or KID: a distribution distance needs dozens (KID) to hundreds (FID) of
    slices per set, each one an InceptionV3 pass on the CPU, for the real thin set and every
    model and seed (:func:`t2tcore.sr.study.fid_note` says so on the page).
``smoke``
    A few steps of everything, so that CI runs the chapters' code paths (numbers mean nothing);
    no FID (its network takes minutes on a busy CPU; the tests cover it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from t2tcore.sr.config import TrainConfig

__all__ = ["ChapterSettings", "PROFILES", "chapter_settings", "train_config"]


@dataclass(frozen=True)
class ChapterSettings:
    """What chapters 05 and 06 do at one profile.

    Attributes
    ----------
    profile : str
    preset : {"small", "paper"}
        Model size trained and evaluated in chapter 05.
    models : tuple of str
        Models trained on every method of ``methods``.
    methods : tuple of str
        Training simulations of every model (Table IV: the paper's two).
    ablation_models, ablation_methods : tuple of str
        Extra training simulations (``placed_average``, ``calibrated``) for these models.
    steps : int or None
        Optimiser steps per model (None: from ``epochs``).
    epochs : int or None
        Epochs of one random patch per training series (``steps = epochs * ceil(n / batch)``).
    gan_steps : int or None
        ESRGAN: adversarial steps starting from the ESRResNet of the same simulation (None:
        ESRGAN trained from scratch for ``steps``/``epochs``).
    batch, patch, lr, val_every, val_patches, adv_weight : training settings
    eval_slices : int or None
        Thin slices per test volume that are scored (the central ones; None: all covered).
    eval_margin_px : int or None
        In-plane margin around the body's bounding box (None: whole slices).
    eval_halo : int
        Extra slices on each side fed to the model (not scored), so the scored slices do not
        see the input's edges.
    ssim_modes : tuple of str
    fid_slices : int
        Slices per test volume that go into KID and FID (0: neither; FID only where a set has
        :data:`t2tcore.evaluation.metrics.FID_MIN_SLICES` slices).
    calibrate : bool
        Fit a slice profile on one paired test patient (then left out of the test).
    bench_presets : tuple of str
        Chapter 06: the presets timed.
    bench_crop_paper : (int, int, int)
        Chapter 06: size of the volume the ``paper`` presets are timed on where a whole
        volume would take too long (None: a whole test volume).
    bench_repeats : int
        Chapter 06: timed repetitions.
    """

    profile: str
    preset: str
    models: tuple = ("vdsr", "unet", "esrresnet", "esrgan")
    methods: tuple = ("proposed", "average")
    ablation_models: tuple = ("vdsr",)
    ablation_methods: tuple = ("placed_average", "calibrated")
    steps: int | None = 120
    epochs: int | None = None
    gan_steps: int | None = 40
    batch: int = 4
    patch: tuple = (16, 40, 40)
    lr: float = 1e-3
    val_every: int = 25
    val_patches: int = 16
    adv_weight: float = 1e-3
    eval_slices: int | None = 16
    eval_margin_px: int | None = 4
    eval_halo: int = 4
    ssim_modes: tuple = ("2d",)
    fid_slices: int = 0
    calibrate: bool = True
    bench_presets: tuple = ("small", "paper")
    bench_crop_paper: tuple | None = (16, 64, 64)
    bench_repeats: int = 1
    extra: dict = field(default_factory=dict)

    def n_steps(self, n_series: int) -> int:
        """Optimiser steps for ``n_series`` training series."""
        if self.steps is not None:
            return int(self.steps)
        return int(self.epochs) * max(1, math.ceil(n_series / self.batch))

    def runs(self) -> list[tuple[str, str]]:
        """Every (model, method) to train, ESRResNet before ESRGAN."""
        out = [(m, s) for m in self.models for s in self.methods]
        out += [(m, s) for m in self.ablation_models for s in self.ablation_methods if (m, s) not in out]
        return sorted(out, key=lambda r: (r[0] == "esrgan", self.models.index(r[0]) if r[0] in self.models else 99))


PROFILES: dict[str, ChapterSettings] = {
    "smoke": ChapterSettings(
        profile="smoke", preset="small", steps=4, gan_steps=2, batch=2, patch=(8, 24, 24), val_every=2,
        val_patches=2, eval_slices=12, fid_slices=0, bench_presets=("small",), bench_crop_paper=None,
    ),
    "quick": ChapterSettings(profile="quick", preset="small"),
    "paper": ChapterSettings(
        profile="paper", preset="paper", ablation_models=("vdsr", "unet", "esrresnet", "esrgan"), steps=None,
        epochs=1000, gan_steps=None, batch=32, patch=(32, 96, 96), lr=1e-4, val_every=500, val_patches=64,
        eval_slices=None, eval_margin_px=None, ssim_modes=("2d", "3d"), fid_slices=16, bench_crop_paper=None,
        bench_repeats=3,
    ),
}


def chapter_settings(profile: str, **overrides: Any) -> ChapterSettings:
    """The settings of ``profile`` (``overrides`` replace single fields)."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; known: {', '.join(PROFILES)}")
    return replace(PROFILES[profile], **overrides) if overrides else PROFILES[profile]


def train_config(
    settings: ChapterSettings,
    model: str,
    method: str,
    n_series: int,
    *,
    thickness: Any = None,
    interval: Any = None,
    profile: dict | None = None,
    init_from: str | None = None,
    seed: int = 0,
    dataset: str = "ldct_gc",
) -> TrainConfig:
    """The :class:`TrainConfig` of one chapter run.

    ``thickness`` and ``interval`` (mm; a number, a list or a range, see
    :mod:`t2tcore.sr.config`) default to the real thick series of ``dataset``
    (:data:`t2tcore.evaluation.datasets.DATASETS`: ``ldct_gc`` 3 mm every 2 mm, the paper's;
    ``rplhr_ct`` 5 mm every 5 mm). ESRGAN with ``init_from`` (the cache key of an ESRResNet)
    trains ``gan_steps`` steps.
    """
    if thickness is None or interval is None:
        from t2tcore.evaluation.datasets import dataset_spec

        spec = dataset_spec(dataset)
        thickness = spec.thickness if thickness is None else thickness
        interval = spec.interval if interval is None else interval
    steps = settings.n_steps(n_series)
    if model == "esrgan" and init_from is not None and settings.gan_steps is not None:
        steps = int(settings.gan_steps)
    return TrainConfig(
        model=model, preset=settings.preset, method=method, thickness=thickness,
        interval=None if method in ("direct", "average", "gaussian") else interval,
        profile=profile if method == "calibrated" else None, patch=tuple(settings.patch), batch=settings.batch,
        steps=steps, lr=settings.lr, seed=seed, adv_weight=settings.adv_weight, val_every=settings.val_every,
        val_patches=settings.val_patches, init_from=init_from,
    )
