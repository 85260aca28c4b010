"""Effort knobs of the SR chapters (05 and 06) per book profile: ``smoke``, ``quick``, ``paper``.

The book build passes only ``profile``, ``data_root`` and ``out_dir`` to a chapter; everything
else that changes with the profile is looked up (:func:`chapter_settings`), so the chapters'
numbers are reproducible from the profile name alone. The values, and why they are what they
are, live with every other chapter's in :mod:`t2tcore.effort` (:class:`ChapterSettings` is
defined there and re-exported here); this module turns them into the :class:`TrainConfig` of
one run (:func:`train_config`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from t2tcore.effort import EFFORTS, ChapterSettings
from t2tcore.sr.config import TrainConfig

__all__ = ["ChapterSettings", "PROFILES", "chapter_settings", "train_config"]


#: The SR chapters' settings per profile (:data:`t2tcore.effort.EFFORTS`).
PROFILES: dict[str, ChapterSettings] = {name: e.sr for name, e in EFFORTS.items()}


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
    steps = settings.n_steps(n_series, model)
    if model == "esrgan" and init_from is not None and settings.gan_steps is not None:
        steps = int(settings.gan_steps)
    val_every = settings.val_every or max(1, steps // (4 * settings.converge_smooth))
    return TrainConfig(
        model=model, preset=settings.preset, method=method, thickness=thickness,
        interval=None if method in ("direct", "average", "gaussian") else interval,
        profile=profile if method == "calibrated" else None, patch=tuple(settings.patch), batch=settings.batch,
        steps=steps, lr=float(settings.model_lr.get(model, settings.lr)), schedule=settings.schedule,
        warmup=min(settings.warmup, steps // 4),
        min_lr_ratio=settings.min_lr_ratio, seed=seed, adv_weight=settings.adv_weight, val_every=val_every,
        val_patches=settings.val_patches, converge_tol=settings.converge_tol,
        converge_window=settings.converge_window, converge_smooth=settings.converge_smooth,
        min_steps=int(settings.min_fraction * steps), early_stop=settings.early_stop, init_from=init_from,
    )
