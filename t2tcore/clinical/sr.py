"""The two super-resolution models of Table V, on thick series whose thickness varies per patient.

The paper super-resolved its clinical thick series (2.27 +- 0.44 mm) with ESRGAN trained on
pairs simulated from other patients' thin CT, once with its method and once with a naive
simulation. This module does the same with :mod:`t2tcore.sr` (training, cache, inference),
adding only what the clinical cohort needs:

* Training pairs for every offered thickness (:data:`t2tcore.clinical.cohort.OFFERED_THICKNESS_MM`,
  1.5-3 mm): each thin training series is used once per thickness (interval = thickness,
  contiguous like the clinical series), so one model covers every patient's thickness
  (:func:`training_set`).
* :data:`SR_INPUTS`: ``"SR proposed"`` is trained on ``proposed`` pairs (Algorithms 1-2);
  ``"SR naive"`` on ``average`` pairs (index groups of ``round(thickness / 1 mm)`` thin
  slices, brought back to the thin grid by the index ratio: the naive pipeline of
  :mod:`t2tcore.sr.pairs`), the naive simulation the paper compares with.
* Each ESRGAN starts from an ESRResNet trained on the same pairs, as ESRGAN itself is trained
  and as chapter 05 does. Both are trained with chapter 05's recipe of the profile
  (:func:`t2tcore.sr.chapter_settings`: learning-rate warm-up and cosine, the convergence rule
  of :mod:`t2tcore.sr.convergence` with early stopping, the weights of the best validation loss
  kept), one seed, with the step caps of :data:`EFFORT` at ``quick`` (chosen so that the chapter
  stays within its share of the book's time on 2 CPU cores). :func:`training_table` says per
  model whether it converged (chapter 07 shows it). Models are cached by data, config and code
  (:func:`t2tcore.sr.cached_model`), so a rebuild does not retrain.
* Inference (:func:`super_resolve`) on the in-plane box around the lungs only
  (:func:`lung_box`, where every airway is), pasted into the linearly interpolated thick
  volume: it is the most expensive step of the chapter (about 6 CPU-seconds for a whole
  160 x 160 x 61 volume) and nothing outside the lungs is measured.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from t2tcore.effort import EFFORTS

__all__ = ["SR_INPUTS", "EFFORT", "training_set", "train_models", "training_table", "lung_box", "super_resolve"]

#: Input label -> training simulation of its ESRGAN.
SR_INPUTS = {"SR naive": "average", "SR proposed": "proposed"}

#: Changes to chapter 05's settings per profile (:func:`t2tcore.sr.chapter_settings`): one seed,
#: and at ``quick`` step caps of its own (the ESRResNet/ESRGAN caps; early stopping as chapter 05).
#: From :attr:`t2tcore.effort.ClinicalEffort.sr_changes`.
EFFORT: dict[str, dict] = {name: dict(e.clinical.sr_changes) for name, e in EFFORTS.items()}


def training_set(thin_series: Sequence[Any], thicknesses: Sequence[float] | None = None):
    """Every thin series once per thickness: (series list, thickness list, interval list).

    Parameters
    ----------
    thin_series : sequence of Series or ThinSeries
        Thin training series (other patients than the analysed ones).
    thicknesses : sequence of float, optional
        Default :data:`t2tcore.clinical.cohort.OFFERED_THICKNESS_MM`.
    """
    from t2tcore.clinical.cohort import OFFERED_THICKNESS_MM
    from t2tcore.sr import ThinSeries

    ts = [float(t) for t in (thicknesses if thicknesses is not None else OFFERED_THICKNESS_MM)]
    if not thin_series:
        raise ValueError("no thin series to train the SR models on")
    series = [ThinSeries.from_series(s) for s in thin_series]
    return [s for s in series for _ in ts], [t for _ in series for t in ts], [t for _ in series for t in ts]


def train_models(thin_series: Sequence[Any], profile: str, cache_dir, *, thicknesses: Sequence[float] | None = None,
                 device: Any = None, progress: bool = False) -> dict[str, dict]:
    """The ESRGANs of :data:`SR_INPUTS`, from the cache or trained now.

    Parameters
    ----------
    thin_series : sequence of Series
        Thin training series.
    profile : {"smoke", "quick", "paper"}
        Training effort (chapter 05's settings of that profile).
    cache_dir : path
        Model cache.
    thicknesses : sequence of float, optional
        See :func:`training_set`.
    device, progress
        Training device and progress bars.

    Returns
    -------
    dict
        Label (``"SR naive"``, ``"SR proposed"``) -> ESRGAN checkpoint (with ``cached``,
        ``path``, ``seconds``, ``history``); the ESRResNet it started from under
        ``"<label> (ESRResNet)"``.
    """
    from t2tcore.sr import cached_model, chapter_settings, train_config

    settings = chapter_settings(profile, **EFFORT.get(profile, {}))
    train, ts, ds = training_set(thin_series, thicknesses)
    out: dict[str, dict] = {}
    for label, method in SR_INPUTS.items():
        cfg = train_config(settings, "esrresnet", method, len(train), thickness=ts, interval=ds)
        base = cached_model(cfg, train, cache_dir, device=device, progress=progress)
        cfg = train_config(settings, "esrgan", method, len(train), thickness=ts, interval=ds,
                           init_from=base["cache_key"])
        out[label] = cached_model(cfg, train, cache_dir, init_state=base["state_dict"], device=device, progress=progress)
        out[f"{label} (ESRResNet)"] = base
    return out


def training_table(models: dict):
    """Whether each SR model of :func:`train_models` converged: :func:`t2tcore.sr.runs.training_table`, indexed by input label.

    Returns
    -------
    DataFrame
        Index ``input`` (``"SR naive"``, ``"SR proposed"``, ``"... (ESRResNet)"``); the training
        table's columns (``steps, cap, best_step, seconds, val_l2_untrained, val_l2_best,
        val_ratio, converged, note``, ...). ``val_ratio`` is against the untrained model, i.e.
        linear interpolation along z, also for an ESRGAN (which starts from its ESRResNet).
    """
    from t2tcore.sr.runs import training_table as table

    return table(models).rename(columns={"label": "input"}).set_index("input")


def lung_box(volume, margin_px: int = 12, threshold_hu: float = -400.0) -> tuple[int, int, int, int]:
    """In-plane box (y0, y1, x0, x1) around the dark parts of the body (lungs, airways) of any slice.

    Parameters
    ----------
    volume : (Z, Y, X) array_like
        HU.
    margin_px : int
        Pixels added on every side (clipped to the image).
    threshold_hu : float
        Body voxels darker than this count.

    Returns
    -------
    (y0, y1, x0, x1) : ints, the whole image when nothing is dark
    """
    from t2tcore.masks import body_mask

    v = np.asarray(volume)
    if v.ndim != 3:
        raise ValueError(f"volume must be (Z, Y, X), got shape {v.shape}")
    dark = (body_mask(v) & (v < threshold_hu)).any(axis=0)
    if not dark.any():
        return 0, v.shape[1], 0, v.shape[2]
    ys, xs = np.nonzero(dark.any(axis=1))[0], np.nonzero(dark.any(axis=0))[0]
    m = int(margin_px)
    return (max(int(ys[0]) - m, 0), min(int(ys[-1]) + 1 + m, v.shape[1]),
            max(int(xs[0]) - m, 0), min(int(xs[-1]) + 1 + m, v.shape[2]))


def super_resolve(checkpoint: dict, thick, target_positions, box: tuple[int, int, int, int] | None = None,
                  base=None, device: Any = None) -> np.ndarray:
    """A thick series super-resolved onto thin positions (:func:`t2tcore.sr.apply_model`), as a volume.

    Parameters
    ----------
    checkpoint : dict
        An SR checkpoint.
    thick : t2tcore.io.Series
        Not modified.
    target_positions : array_like
        Thin positions (mm).
    box : (y0, y1, x0, x1), optional
        Only this in-plane box is super-resolved (:func:`lung_box`); default the whole image.
    base : (Z, Y, X) array, optional
        What the image is outside the box (default: the thick series interpolated linearly
        along z to the targets, the model's own input).
    device : str, optional

    Returns
    -------
    (Z, Y, X) ndarray of float32
    """
    from dataclasses import replace

    from t2tcore.evaluation import resample_z
    from t2tcore.sr import apply_model

    # force: one model serves every patient of the cohort (trained on every offered
    # thickness); a series outside them is not refused here
    if box is None:
        return apply_model(checkpoint, thick, target_positions, device=device, force=True).volume
    y0, y1, x0, x1 = (int(b) for b in box)
    dy, dx = thick.pixel_spacing
    row, col = thick.orientation[:3], thick.orientation[3:]
    shift = x0 * dx * row + y0 * dy * col
    crop = replace(thick, volume=np.ascontiguousarray(thick.volume[:, y0:y1, x0:x1]), ipp=thick.ipp + shift[None, :])
    out = np.array(base if base is not None else resample_z(thick.volume, thick.positions, target_positions,
                                                             outside="clamp"), dtype=np.float32, copy=True)
    out[:, y0:y1, x0:x1] = apply_model(checkpoint, crop, target_positions, device=device, force=True).volume
    return out
