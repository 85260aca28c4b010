"""Image-fidelity metrics between a reference volume and a test volume: PSNR, RMSE, SSIM, FID.

Volumes are arrays of shape ``(Z, Y, X)`` (slices first), usually float32 HU. Every metric
exists in three named **conventions**; each is reported on its own, never mixed:

``"paper"``
    What the paper's released code is described to do (issue 4; the code of
    ``ayanglab/Thick2Thin`` is not in our source index, so this follows the issue text):
    each volume is min-max scaled to [-1, 1] **independently** (:func:`minmax_scale`), so
    its own minimum becomes -1 and its own maximum +1. PSNR uses a data range of 2, RMSE is
    in units of that scale (1 unit = half the volume's own HU span), SSIM uses
    ``data_range=2``. Two volumes with different extremes (one bright voxel of bone or
    metal) are scaled differently, which is a property of this convention, not a bug.
``"window"``
    The robust variant of the paper's scale: every volume goes through the **same fixed
    window** ``WINDOW`` (-1000 to 1000 HU) to [-1, 1] (``clip(x, -1000, 1000) / 1000``), so
    no voxel of either volume changes the scale of the others, and clipping bounds what one
    voxel can add to the MSE (at most 4 / N). Whole volume, like ``paper``; PSNR with a data
    range of 2, RMSE on that scale (1 unit = 1000 HU), SSIM with ``data_range=2``. Why this and
    not a trimmed range: a per-volume percentile range still differs between the two volumes
    compared (so the same HU error scores differently in two outputs), while a fixed window
    is the scale radiologists read at and maps air to -1 and dense bone to +1 for everybody.
``"hu"``
    Values stay in HU, by default inside a body mask of the reference volume
    (:func:`body_mask`). The data range is stated explicitly: ``hu_range`` (default
    ``(-1000, 1000)``, a 2000 HU range) gives PSNR's peak and SSIM's ``data_range``. RMSE is
    in HU. For SSIM both volumes are shifted by ``-hu_range[0]`` (so the window starts at
    0; SSIM's luminance term is not shift invariant and is meant for non-negative
    intensities). Values outside ``hu_range`` are kept unless ``clip=True``.

Implementations: :func:`skimage.metrics.peak_signal_noise_ratio`,
:func:`skimage.metrics.structural_similarity` (uniform 7-voxel window, sample covariance,
K1 = 0.01, K2 = 0.03: scikit-image's defaults) on float32 data, scipy for labelling and the
eigen-decompositions. SSIM comes as ``ssim_3d`` (one 7x7x7 window over the volume) and
``ssim_2d`` (7x7 windows in every axial slice, mean over slices); both average the SSIM map
without the 3-voxel border, as scikit-image does, and inside ``mask`` when one is given.

FID and KID, the metrics of slice sets, are in :mod:`t2tcore.evaluation.fid_kid` (not ``fid.py``:
a submodule ``fid`` would hide the package's function :func:`fid`); the conventions' intensity
scales (:func:`minmax_scale`, :func:`fixed_window_scale`) in :mod:`t2tcore.evaluation.scaling`.
Both are re-exported here.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from t2tcore.evaluation.fid_kid import (  # noqa: F401  (FID and KID: their own module, kept importable from here)
    FID_MIN_SLICES,
    FID_WINDOW,
    _default_device,
    fid,
    fid_features,
    frechet_distance,
    kernel_inception_distance,
    kid,
)
from t2tcore.evaluation.scaling import WINDOW, _as_float32, fixed_window_scale, minmax_scale  # noqa: F401
from t2tcore.masks import body_mask  # noqa: F401  (part of the metrics API: masks of the HU convention)

__all__ = [
    "CONVENTIONS",
    "FID_WINDOW",
    "HU_RANGE",
    "WINDOW",
    "fixed_window_scale",
    "FID_MIN_SLICES",
    "kernel_inception_distance",
    "kid",
    "body_mask",
    "compare",
    "fid",
    "fid_features",
    "frechet_distance",
    "minmax_scale",
    "psnr",
    "rmse",
    "ssim",
]

#: The metric conventions :func:`compare` knows.
CONVENTIONS = ("paper", "hu", "window")

#: Default HU range of the ``hu`` convention (its width, 2000 HU, is PSNR's peak value).
HU_RANGE = (-1000.0, 1000.0)

# SSIM window (voxels per side) and the border skimage leaves out of the mean.
_WIN = 7
_PAD = (_WIN - 1) // 2


# ---------------------------------------------------------------- validation


def _check_pair(reference: Any, test: Any) -> tuple[np.ndarray, np.ndarray]:
    ref = np.asarray(reference)
    tst = np.asarray(test)
    if ref.shape != tst.shape:
        raise ValueError(
            f"reference and test must have the same shape, got {ref.shape} and {tst.shape}"
        )
    if ref.ndim not in (2, 3):
        raise ValueError(f"expected a 2-D slice or a 3-D (Z, Y, X) volume, got {ref.ndim}-D")
    if ref.size == 0:
        raise ValueError("reference and test are empty")
    return _as_float32(ref, "reference"), _as_float32(tst, "test")


def _check_mask(mask: Any, shape: tuple[int, ...]) -> np.ndarray | None:
    if mask is None:
        return None
    m = np.asarray(mask)
    if m.shape != shape:
        raise ValueError(f"mask shape {m.shape} does not match the volumes' shape {shape}")
    if m.dtype != bool:
        if m.dtype.kind not in "biu" or not np.isin(m, (0, 1)).all():
            raise ValueError("mask must be boolean (or 0/1 integers)")
        m = m.astype(bool)
    if not m.any():
        raise ValueError("mask is empty: no voxel to compare")
    return m


def _check_range(data_range: float) -> float:
    r = float(data_range)
    if not (math.isfinite(r) and r > 0):
        raise ValueError(f"data_range must be a positive finite number, got {data_range!r}")
    return r


# ---------------------------------------------------------------- PSNR, RMSE, SSIM


def rmse(reference: Any, test: Any, mask: Any = None) -> float:
    """Root mean square error, in the units of the inputs.

    Parameters
    ----------
    reference, test : array_like, same shape
        Volumes (or slices) on the same scale (HU, or the ``paper`` [-1, 1] scale).
    mask : array_like of bool, optional
        Voxels to include (default: all).

    Returns
    -------
    float
        ``sqrt(mean((reference - test) ** 2))``, accumulated in float64; 0 for identical
        inputs.
    """
    ref, tst = _check_pair(reference, test)
    m = _check_mask(mask, ref.shape)
    from skimage.metrics import mean_squared_error

    if m is not None:
        ref, tst = ref[m], tst[m]
    return float(math.sqrt(mean_squared_error(ref, tst)))


def psnr(reference: Any, test: Any, data_range: float, mask: Any = None) -> float:
    """Peak signal-to-noise ratio ``10 log10(data_range**2 / MSE)`` in dB.

    Parameters
    ----------
    reference, test : array_like, same shape
        Volumes (or slices) on the same scale.
    data_range : float
        The peak value: 2 in the ``paper`` convention, the HU range width (2000 by
        default) in the ``hu`` convention.
    mask : array_like of bool, optional
        Voxels to include (default: all).

    Returns
    -------
    float
        PSNR in dB; ``inf`` for identical inputs (MSE = 0).
    """
    ref, tst = _check_pair(reference, test)
    r = _check_range(data_range)
    m = _check_mask(mask, ref.shape)
    from skimage.metrics import peak_signal_noise_ratio

    if m is not None:
        ref, tst = ref[m], tst[m]
    with np.errstate(divide="ignore"):
        return float(peak_signal_noise_ratio(ref, tst, data_range=r))


def _ssim_map(ref: np.ndarray, tst: np.ndarray, r: float, full: bool):
    from skimage.metrics import structural_similarity

    return structural_similarity(
        ref, tst, win_size=_WIN, data_range=r, channel_axis=None, full=full
    )


def _interior(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[slice, ...]:
    return tuple(slice(_PAD, n - _PAD) if i in axes else slice(None) for i, n in enumerate(shape))


def ssim(
    reference: Any,
    test: Any,
    data_range: float,
    mode: str = "3d",
    mask: Any = None,
) -> float:
    """Structural similarity (scikit-image, uniform 7-voxel window), 3-D or per slice.

    Parameters
    ----------
    reference, test : array_like, shape (Z, Y, X) (or (Y, X) for ``mode="2d"``)
        Volumes on the same scale, float32 is used internally.
    data_range : float
        Range of the intensities (sets SSIM's stabilising constants C1, C2).
    mode : {"3d", "2d"}
        ``"3d"``: one SSIM over the volume with 7x7x7 windows (needs Z >= 7).
        ``"2d"``: SSIM of every axial slice with 7x7 windows, then the mean over slices.
        Both average the SSIM map without the 3-voxel border that scikit-image leaves out.
    mask : array_like of bool, optional
        If given, the SSIM map is averaged over the masked voxels of that interior only
        (in ``"2d"`` mode per slice; slices without masked interior voxels are skipped).

    Returns
    -------
    float
        Mean SSIM in [-1, 1]; exactly 1 for identical inputs.
    """
    ref, tst = _check_pair(reference, test)
    r = _check_range(data_range)
    m = _check_mask(mask, ref.shape)
    if mode not in ("3d", "2d"):
        raise ValueError(f"mode must be '3d' or '2d', got {mode!r}")
    if mode == "3d":
        if ref.ndim != 3 or min(ref.shape) < _WIN:
            raise ValueError(f"3-D SSIM needs a (Z, Y, X) volume at least {_WIN} voxels per side, got {ref.shape}")
        if m is None:
            return float(_ssim_map(ref, tst, r, full=False))
        _, smap = _ssim_map(ref, tst, r, full=True)
        inner = _interior(ref.shape, (0, 1, 2))
        sel = m[inner]
        if not sel.any():
            raise ValueError("mask has no voxel inside the SSIM interior (3 voxels from the border)")
        return float(smap[inner][sel].mean(dtype=np.float64))

    if ref.ndim == 2:
        ref, tst = ref[None], tst[None]
        m = None if m is None else m[None]
    if min(ref.shape[1:]) < _WIN:
        raise ValueError(f"2-D SSIM needs slices at least {_WIN} pixels per side, got {ref.shape[1:]}")
    inner = _interior(ref.shape[1:], (0, 1))
    values = []
    for z in range(ref.shape[0]):
        if m is None:
            values.append(float(_ssim_map(ref[z], tst[z], r, full=False)))
            continue
        sel = m[z][inner]
        if not sel.any():
            continue
        _, smap = _ssim_map(ref[z], tst[z], r, full=True)
        values.append(float(smap[inner][sel].mean(dtype=np.float64)))
    if not values:
        raise ValueError("mask has no pixel inside the SSIM interior of any slice")
    return float(np.mean(values))


# ---------------------------------------------------------------- one call per volume pair


def compare(
    reference: Any,
    test: Any,
    convention: str = "paper",
    mask: Any = None,
    *,
    hu_range: tuple[float, float] = HU_RANGE,
    clip: bool = False,
    body_threshold: float = -500.0,
    ssim_modes: Sequence[str] = ("3d", "2d"),
    with_fid: bool = False,
    fid_stride: int = 1,
    fid_device: str | None = None,
) -> dict[str, Any]:
    """All fidelity metrics of one volume pair in one named convention.

    Parameters
    ----------
    reference : array_like, shape (Z, Y, X)
        The real (e.g. real thick) volume, HU.
    test : array_like, shape (Z, Y, X)
        The volume to judge (e.g. a simulated thick volume on the same slice grid), HU.
    convention : {"paper", "hu", "window"}
        ``"paper"``: each volume min-max scaled to [-1, 1] on its own, data range 2
        (RMSE on that scale). ``"window"``: every volume through the fixed window
        :data:`WINDOW` to [-1, 1], clipped, data range 2. ``"hu"``: HU, data range ``hu_range[1] - hu_range[0]``,
        RMSE in HU. See the module docstring.
    mask : array_like of bool, shape (Z, Y, X), optional
        Voxels to compare. ``"paper"`` and ``"window"``: default none (the whole volume, as
        the released code); a given mask is applied after the scaling. ``"hu"``: default
        ``body_mask(reference, body_threshold)``.
    hu_range : (float, float)
        HU range of the ``hu`` convention (default (-1000, 1000), i.e. 2000 HU).
    clip : bool
        ``hu`` only: clip both volumes to ``hu_range`` first (default False: errors
        outside the range, e.g. in bone, count in full).
    body_threshold : float
        HU threshold of the default body mask.
    ssim_modes : sequence of {"3d", "2d"}
        Which SSIMs to compute (3-D takes ~3x longer than 2-D).
    with_fid : bool
        Also compute the FID between the two volumes' axial slices (slow on CPU: about
        0.2 s per slice). Window: per-volume min-max for ``paper``, ``hu_range`` for ``hu``.
    fid_stride : int
        Use every ``fid_stride``-th slice for FID.
    fid_device : str, optional
        Torch device for FID (default: CUDA when available, else CPU).

    Returns
    -------
    dict
        ``convention``, ``psnr`` (dB), ``rmse`` (paper scale or HU), ``ssim_3d``,
        ``ssim_2d`` (those asked for), ``fid`` (if asked), ``data_range``, ``rmse_unit``
        (``"[-1,1] scale"`` or ``"HU"``), ``n_voxels`` (voxels compared) and
        ``mask_fraction``.
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {CONVENTIONS}, got {convention!r}")
    ref, tst = _check_pair(reference, test)
    if ref.ndim != 3:
        raise ValueError(f"compare expects (Z, Y, X) volumes, got shape {ref.shape}")
    bad_modes = set(ssim_modes) - {"3d", "2d"}
    if bad_modes:
        raise ValueError(f"unknown SSIM mode(s) {sorted(bad_modes)}; use '3d' and/or '2d'")
    lo, hi = (float(x) for x in hu_range)
    if not hi > lo:
        raise ValueError(f"hu_range must be (low, high) with low < high, got {hu_range}")

    if convention in ("paper", "window"):
        m = _check_mask(mask, ref.shape)
        scale = minmax_scale if convention == "paper" else fixed_window_scale
        a, b = scale(ref), scale(tst)
        r, unit = 2.0, "[-1,1] scale"
        sa, sb = a, b
    else:
        m = _check_mask(body_mask(ref, body_threshold) if mask is None else mask, ref.shape)
        a, b = ref, tst
        if clip:
            a, b = np.clip(a, lo, hi), np.clip(b, lo, hi)
        r, unit = hi - lo, "HU"
        # SSIM on values shifted so that the range starts at 0.
        sa = np.subtract(a, np.float32(lo), dtype=np.float32)
        sb = np.subtract(b, np.float32(lo), dtype=np.float32)

    out: dict[str, Any] = {
        "convention": convention,
        "psnr": psnr(a, b, r, mask=m),
        "rmse": rmse(a, b, mask=m),
    }
    for mode in ("3d", "2d"):
        if mode in ssim_modes:
            out[f"ssim_{mode}"] = ssim(sa, sb, r, mode=mode, mask=m)
    if with_fid:
        window = "paper" if convention == "paper" else (WINDOW if convention == "window" else (lo, hi))
        out["fid"] = fid(ref, tst, window=window, stride=fid_stride, device=fid_device, progress=False)
    out["data_range"] = r
    out["rmse_unit"] = unit
    out["n_voxels"] = int(ref.size if m is None else np.count_nonzero(m))
    out["mask_fraction"] = out["n_voxels"] / ref.size
    return out
