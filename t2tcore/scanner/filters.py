"""Reconstruction filters: the ramp filter of filtered back-projection, apodised per kernel.

This module owns the frequency response of each kernel of
:data:`~t2tcore.scanner.config.KERNELS` (:func:`kernel_response`: the discrete ramp of
Kak & Slaney times a Hann window with the kernel's cut-off and mid-frequency boost), the
zero-padded FFT length that avoids wrap-around, and a per-device cache of the filters as
torch tensors. Both the reconstruction (:mod:`t2tcore.scanner.reconstruction`) and the
noise prediction (:mod:`t2tcore.scanner.dose`) use them. Frequencies in cycles/mm, bin
widths in mm.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch

from t2tcore.scanner.config import KERNELS

__all__ = ["kernel_response"]


def _nfft(nb: int) -> int:
    """Smallest 2^a 3^b >= 2 nb (zero padding that avoids wrap-around; fast FFT sizes)."""
    best = 1 << math.ceil(math.log2(2 * nb))
    p3 = 1
    while p3 < best:
        n = p3 << max(0, math.ceil(math.log2(2 * nb / p3)))
        best = min(best, n)
        p3 *= 3
    return best


def kernel_response(kernel: str, pixel_mm: float, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Frequency response of a reconstruction filter.

    Parameters
    ----------
    kernel : str
        Key of :data:`~t2tcore.scanner.config.KERNELS`.
    pixel_mm : float
        Detector bin width (mm).
    n_bins : int
        Detector bins (the filter is zero-padded to a length 2^a 3^b >= 2 n_bins).

    Returns
    -------
    f : ndarray, float64
        Non-negative frequencies (cycles/mm) of the real FFT.
    H : ndarray, float64
        Filter (1/mm): the discrete ramp of Kak & Slaney (no DC offset) times the bin width,
        times the kernel's apodisation window.
    """
    if kernel not in KERNELS:
        raise ValueError(f"unknown kernel {kernel!r}; known: {sorted(KERNELS)}")
    n = _nfft(n_bins)
    k = np.arange(n)
    k = np.where(k > n // 2, k - n, k)
    h = np.zeros(n)
    h[k == 0] = 1 / (4 * pixel_mm**2)
    odd = k % 2 == 1
    h[odd] = -1 / (np.pi * k[odd] * pixel_mm) ** 2
    ramp = pixel_mm * np.real(np.fft.rfft(h))
    f = np.fft.rfftfreq(n, d=pixel_mm)
    p = KERNELS[kernel]
    x = np.clip(f / p["cutoff"], 0, 1)
    win = 0.5 * (1 + np.cos(np.pi * x)) * (1 + p["boost"] * np.sin(np.pi * x) ** 2)
    return f, ramp * win


@functools.lru_cache(maxsize=16)
def _filter_cached(kernel: str, pixel_mm: float, n_bins: int, dev: str) -> torch.Tensor:
    return torch.as_tensor(kernel_response(kernel, pixel_mm, n_bins)[1], dtype=torch.float32, device=dev)
