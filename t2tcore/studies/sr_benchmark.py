"""Chapter 06, Table VI's study: every model's size, whole-volume inference time and peak memory, beside the paper's.

:func:`table6` measures each model and preset on one whole volume (the thin grid of a test series:
what a model outputs for one series) with :func:`t2tcore.sr.benchmark.time_inference`, estimating
from a crop where a whole volume would take too long; :func:`table6_cells` lays the measurements
out beside the paper's Table VI (:func:`t2tcore.sr.evaluate.paper_table6`), with the performance
rank of chapter 05 (:func:`t2tcore.sr.evaluate.performance_rank`); :func:`findings` says it in words.

``table6`` and ``table6_cells`` were in :mod:`t2tcore.sr.benchmark`, where their names still
resolve, with a DeprecationWarning, for one release.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import pandas as pd

from t2tcore.sr.benchmark import device_name, time_inference

__all__ = ["findings", "table6", "table6_cells"]


def table6(
    shape: Sequence[int],
    *,
    presets: Sequence[str] = ("small", "paper"),
    models: Sequence[str] = ("vdsr", "unet", "esrresnet", "esrgan"),
    crop: dict | None = None,
    device: Any = "cpu",
    repeats: int = 1,
    progress: bool = False,
) -> pd.DataFrame:
    """Table VI's measurements: parameter size, whole-volume inference time and peak memory per model and preset.

    Parameters
    ----------
    shape : (int, int, int)
        The whole volume (z, y, x) timed, e.g. a test series on its thin grid.
    presets, models : sequences of str
    crop : dict, optional
        Preset -> smaller (z, y, x) volume to time instead of ``shape`` (a whole volume would
        take too long there); its time is scaled by the voxel ratio to an **estimate** for
        ``shape`` (column ``estimated``), and its peak memory is the crop's.
    device : str
    repeats : int
    progress : bool

    Returns
    -------
    DataFrame
        ``model, preset, parameters, parameter_mb`` (generator + discriminator, float32),
        ``timed_shape, seconds_timed, seconds_per_mvoxel, inference_s`` (for ``shape``),
        ``estimated``, ``peak_mb``, ``device``. ESRGAN's inference runs its generator only.
    """
    from t2tcore.progress import bar
    from t2tcore.sr.infer import DEFAULT_ROI
    from t2tcore.sr.models import build_model, parameter_megabytes

    shape = tuple(int(s) for s in shape)
    rows = []
    jobs = [(p, m) for p in presets for m in models]
    for preset, model in bar(jobs, desc="Table VI", unit="model", enabled=progress):
        timed = tuple(int(s) for s in (crop or {}).get(preset) or shape)
        r = time_inference(build_model(model, preset), timed, device=device, roi=DEFAULT_ROI[preset], repeats=repeats)
        mb = parameter_megabytes(model, preset)
        per = r["seconds"] / (r["voxels"] / 1e6)
        rows.append({"model": model, "preset": preset, "parameters": mb["parameters"], "parameter_mb": mb["total_mb"],
                     "timed_shape": "×".join(map(str, timed)), "seconds_timed": r["seconds"],
                     "seconds_per_mvoxel": per, "inference_s": per * math.prod(shape) / 1e6,
                     "estimated": timed != shape, "peak_mb": r["peak_mb"], "device": r["device"]})
    return pd.DataFrame(rows)


def table6_cells(ours: pd.DataFrame, rank: pd.DataFrame | None, paper: pd.DataFrame) -> pd.DataFrame:
    """Table VI beside the paper's: one row per model, our presets' and the paper's numbers side by side.

    Parameters
    ----------
    ours : DataFrame
        :func:`table6`.
    rank : DataFrame or None
        :func:`t2tcore.sr.evaluate.performance_rank` (None: not available).
    paper : DataFrame
        :func:`t2tcore.sr.evaluate.paper_table6`.

    Returns
    -------
    DataFrame of str
        Columns (quantity, who); estimated times are marked "≈".
    """
    p = paper.set_index("model")
    cols: dict = {}
    models = list(dict.fromkeys(ours.model))
    for preset, g in ours.groupby("preset", sort=False):
        g = g.set_index("model")
        cols[("parameters (MB)", f"ours {preset}")] = [f"{g.loc[m, 'parameter_mb']:.3g}" for m in models]
        cols[("inference (s / volume)", f"ours {preset}")] = [
            ("≈" if g.loc[m, "estimated"] else "") + f"{g.loc[m, 'inference_s']:.3g}" for m in models]
        cols[("peak memory (MB)", f"ours {preset}")] = [f"{g.loc[m, 'peak_mb']:.0f}" for m in models]
    cols[("parameters (MB)", "paper")] = [f"{p.loc[m, 'parameter_mb']:g}" for m in models]
    cols[("inference (s / volume)", "paper")] = [f"{p.loc[m, 'inference_s']:g}" for m in models]
    r = rank.set_index("model") if rank is not None else None
    cols[("rank", "ours")] = [str(int(r.loc[m, "rank"])) if r is not None and m in r.index else "—" for m in models]
    cols[("rank", "paper")] = [str(int(p.loc[m, "rank"])) for m in models]
    order = ["parameters (MB)", "inference (s / volume)", "peak memory (MB)", "rank"]
    df = pd.DataFrame(cols, index=pd.Index(models, name="model"))
    return df[[c for q in order for c in df.columns if c[0] == q]]


def findings(bench: pd.DataFrame, rank: pd.DataFrame | None, paper: pd.DataFrame, shape: Sequence[int],
             device: Any = "cpu") -> str:
    """Chapter 06's findings in Markdown: the range of inference times and memory of the first preset, the rank.

    Parameters
    ----------
    bench : DataFrame
        :func:`table6`.
    rank : DataFrame or None
        :func:`t2tcore.sr.evaluate.performance_rank` of chapter 05's per-case metrics (None: not found).
    paper : DataFrame
        :func:`t2tcore.sr.evaluate.paper_table6`.
    shape : (int, int, int)
        The whole volume timed (z, y, x).
    device : str
        The device timed (named by :func:`t2tcore.sr.benchmark.device_name`).
    """
    small = bench[bench.preset == bench.preset.iloc[0]].set_index("model")
    fast, slow = small.inference_s.idxmin(), small.inference_s.idxmax()
    text = (f"On {device_name(device)}, a whole {'×'.join(map(str, shape))} volume takes "
            f"{small.inference_s.min():.3g} s ({fast}) to {small.inference_s.max():.3g} s ({slow}) with the "
            f"`{small.preset.iloc[0]}` presets, at most {small.peak_mb.max():.0f} MB of extra memory.")
    if rank is None:
        return text + " The performance rank needs chapter 05's results, which were not found."
    order = ", ".join(f"{m} {r}" for m, r in zip(rank.model, rank["rank"]))
    paper = paper.sort_values("rank")
    return text + (f" Ranked by mean PSNR in chapter 05: {order} (paper: "
                   + ", ".join(f"{m} {r}" for m, r in zip(paper.model, paper["rank"])) + ").")
