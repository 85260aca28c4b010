"""Super-resolution of thick-slice CT: train 3-D SR models on simulated pairs, apply them to real thick series.

One concept per module:

* :mod:`~t2tcore.sr.config` — :class:`TrainConfig` (model, simulation, effort, seeds) and the
  HU scaling;
* :mod:`~t2tcore.sr.pairs` — the one input pipeline, the naive pipeline, the ablation,
  patches;
* :mod:`~t2tcore.sr.models` — 3-D VDSR, U-Net, ESRResNet, ESRGAN (``small`` and ``paper``
  presets);
* :mod:`~t2tcore.sr.train` — :func:`train_model` (seeded, resumable, CUDA + AMP,
  ``torchrun`` data-parallel);
* :mod:`~t2tcore.sr.checkpoint` — what a checkpoint holds, reading and writing;
* :mod:`~t2tcore.sr.infer` — :func:`apply_model`: a whole thick series -> a thin series, in
  bounded memory;
* :mod:`~t2tcore.sr.cache` — :func:`cached_model`: train once per data + config + code;
* :mod:`~t2tcore.sr.datasets` — where the chapters' test and training series are (LDCT Grand
  Challenge / TCIA, RPLHR-CT) and how they are read;
* :mod:`~t2tcore.sr.runs` — what training runs did: one row per checkpoint, converged or not;
* :mod:`~t2tcore.sr.evaluate` — Table IV (with the linear-interpolation baseline), Table VI's
  rank, the paper's numbers; :mod:`~t2tcore.sr.effects` — effects with intervals and verdicts;
* :mod:`~t2tcore.sr.benchmark` — inference time, peak memory, training throughput;
* :mod:`~t2tcore.sr.profiles` — the chapters' effort knobs per book profile.

Chapters 05 and 06 themselves are studies: :mod:`t2tcore.studies.sr_training` (Table IV; its old
name ``t2tcore.sr.study`` resolves there with a DeprecationWarning for one release) and
:mod:`t2tcore.studies.sr_benchmark` (Table VI).

Typical use::

    from t2tcore import read_series
    from t2tcore.sr import TrainConfig, apply_model, cached_model

    thin = [read_series(p) for p in thin_dirs]
    ckpt = cached_model(TrainConfig(model="esrgan", method="proposed", thickness={"range": [1.5, 3.0]},
                                    interval=1.5), thin, "_build/models")
    sr = apply_model(ckpt, read_series(thick_dir))     # a t2tcore.io.Series, thin

The names below are imported lazily: ``import t2tcore.sr`` does not import torch.
"""

from __future__ import annotations

from t2tcore._lazy import lazy_exports

_EXPORTS = {
    **dict.fromkeys(["Scaling", "TrainConfig", "SR_METHODS", "INDEX_METHODS"], "config"),
    **dict.fromkeys(["CheckpointError", "SRError", "SRInputError"], "errors"),
    **dict.fromkeys(["PatchDataset", "ThinSeries", "naive_to_thin_grid", "simulate_input", "to_thin_grid"], "pairs"),
    **dict.fromkeys(["MODELS", "build_model", "build_discriminator", "parameter_megabytes"], "models"),
    **dict.fromkeys(["TrainResult", "train_model"], "train"),
    **dict.fromkeys(["load_checkpoint", "save_checkpoint", "model_from_checkpoint"], "checkpoint"),
    **dict.fromkeys(["apply_model", "predict", "thin_positions"], "infer"),
    **dict.fromkeys(["cached_model", "cache_key"], "cache"),
    **dict.fromkeys(["chapter_settings", "train_config"], "profiles"),
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
