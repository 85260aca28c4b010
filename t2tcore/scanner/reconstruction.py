"""Reconstruction: z-filtered, wFBP-style slices from helical raw data, and :func:`scan`.

This module owns how slices are made from :class:`~t2tcore.scanner.acquisition.RawData`
and the one-call scan of a phantom at several doses:

Reconstruction (:func:`reconstruct`, :func:`reconstruct_many`)
    For each slice at ``z_s`` and each of the ``V/2`` view angles in [0, pi), all rays with
    that angle -- direct (``theta``) and complementary (``theta + pi``,
    ``p(theta + pi, t) = p(theta, -t)``) rays of every row and rotation -- are combined as
    ``P_s(theta, t) = sum h(z_ray - z_s) p / sum h`` with the calibrated z-weighting ``h``
    of :mod:`t2tcore.scanner.z_weighting`; then each slice is reconstructed by 2-D filtered
    back-projection with a kernel (:mod:`t2tcore.scanner.filters`: a smooth "B30"-like and
    a sharper "D45"-like one; back-projector in :mod:`t2tcore.scanner.projectors`) and
    returned in HU, ``1000 (mu - mu_water) / mu_water``. Pixels outside the circular field
    of view are set to air (-1000 HU).

Scan (:func:`scan`)
    The noiseless line integrals of a phantom once, one noisy realisation per dose, and
    every reconstruction of each dose from that dose's raw data: thin and thick slices of
    the same noise, as on a real scanner.

Positions in mm, images (Z, Y, X) float32 HU.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import torch

from t2tcore.progress import bar
from t2tcore.scanner.acquisition import RawData, _seed_int, add_noise, project
from t2tcore.scanner.config import ReconConfig, ScannerConfig, _sync
from t2tcore.scanner.dose import FULL_DOSE_MAS
from t2tcore.scanner.filters import _filter_cached, _nfft
from t2tcore.scanner.projectors import _backprojector
from t2tcore.scanner.z_weighting import _HALF_SUPPORT, z_weight, z_weight_width

__all__ = [
    "reconstruct",
    "reconstruct_many",
    "ScanResult",
    "scan",
]


# Slices per reconstruction step.
_RECON_SLICES = 16


def _by_angle(raw: RawData) -> torch.Tensor:
    """(V2, M n_rows, n_bins): rays regrouped by angle in [0, pi) (complementary rays flipped)."""
    g = raw.geom
    m = raw.n_views // g.V2
    d = raw.p.reshape(m, g.V2, g.R, g.nb).clone()
    d[1::2] = d[1::2].flip(-1)
    return d.permute(1, 0, 2, 3).reshape(g.V2, m * g.R, g.nb).contiguous()


def reconstruct(raw: RawData, recon: ReconConfig = ReconConfig(), device=None, progress: bool = False,
                timings: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Reconstruct slices from helical raw data (z-filtered FBP).

    Parameters
    ----------
    raw : RawData
    recon : ReconConfig
    device : optional
        Default: the device of ``raw.p``.
    progress : bool
    timings : dict, optional
        If given, the seconds spent are added under "reconstruction".

    Returns
    -------
    volume : (Z, Y, X) ndarray of float32
        HU; air (-1000) outside the circular field of view.
    positions : (Z,) ndarray of float64
        Slice positions (mm).
    """
    return reconstruct_many(raw, [recon], device=device, progress=progress, timings=timings)[0]


def reconstruct_many(raw: RawData, recons: Sequence[ReconConfig], device=None, progress: bool = False,
                     timings: dict | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Several reconstructions of the same raw data, sharing the z-filtering of recons
    that differ only in the kernel and back-projecting them together.

    Returns a list of ``(volume, positions)`` in the order of ``recons`` (see
    :func:`reconstruct`).
    """
    t_start = time.perf_counter()
    recons = list(recons)
    for r in recons:
        if not isinstance(r, ReconConfig):
            raise ValueError(f"recons must be ReconConfig objects, got {type(r).__name__}")
    dev = raw.p.device if device is None else torch.device(device)
    cfg, g = raw.config, raw.geom
    groups: dict[tuple, list[int]] = {}
    for i, r in enumerate(recons):
        groups.setdefault((r.thickness, r.increment, r.z_weighting, r.z_range), []).append(i)
    out: list = [None] * len(recons)
    D = _by_angle(raw).to(dev)
    m_tot = raw.n_views // g.V2
    c = torch.as_tensor(cfg.row_offsets, dtype=torch.float64, device=dev)
    a = torch.arange(g.V2, device=dev, dtype=torch.float64)
    mm = torch.arange(m_tot, device=dev, dtype=torch.float64)
    # ray z (V2, M, R)
    zr = raw.z_start + (mm[None, :, None] * g.V2 + a[:, None, None]) * g.delta + c[None, None, :]
    B, pix = _backprojector(g, str(dev))
    nfft = _nfft(g.nb)
    for (thick, inc, kind, _zr), idx in groups.items():
        r0 = recons[idx[0]]
        pos = r0.positions(raw.z_range)
        width = z_weight_width(cfg, thick, kind)
        hs = _HALF_SUPPORT[kind] * width
        lo, hi = raw.covered_range(hs)
        if pos[0] < lo - 1e-6 or pos[-1] > hi + 1e-6:
            raise ValueError(
                f"slices {pos[0]:.2f}..{pos[-1]:.2f} mm with {thick:g} mm {kind} weighting need raw data "
                f"covering {lo:.2f}..{hi:.2f} mm at every angle; acquire a larger z_range or raise overscan_mm"
            )
        kernels = [recons[i].kernel for i in idx]
        filt = torch.stack([_filter_cached(k, g.pix, g.nb, str(dev)) for k in kernels])  # (K, nfft/2+1)
        K = len(kernels)
        vols = np.empty((K, pos.size, g.n * g.n), dtype=np.float32)
        for s0 in bar(range(0, pos.size, _RECON_SLICES), desc=f"recon {thick:g} mm", enabled=progress):
            zs = torch.as_tensor(pos[s0 : s0 + _RECON_SLICES], dtype=torch.float64, device=dev)
            ns = zs.numel()
            # half-rotations with rays inside any window of this chunk
            zmin = raw.z_start + mm * g.half_feed + c[0]
            zmax = zmin + (g.V2 - 1) * g.delta + (c[-1] - c[0])
            sel = torch.nonzero((zmax >= zs[0] - hs) & (zmin <= zs[-1] + hs)).flatten()
            m0, m1 = int(sel[0]), int(sel[-1]) + 1
            W = z_weight(zr[:, m0:m1, :].reshape(g.V2, 1, -1) - zs[None, :, None], width, kind)  # (V2, ns, nm R)
            norm = W.sum(-1, keepdim=True)
            if bool((norm <= 0).any()):
                raise ValueError("a slice has no rays in its z-window at some angle (increase overscan_mm)")
            W = (W / norm).to(torch.float32)
            Ps = torch.bmm(W, D[:, m0 * g.R : m1 * g.R, :])  # (V2, ns, nb)
            F = torch.fft.rfft(Ps, n=nfft, dim=-1)
            Q = torch.fft.irfft(F[None] * filt[:, None, None, :], n=nfft, dim=-1)[..., : g.nb]  # (K, V2, ns, nb)
            Qm = Q.permute(1, 3, 0, 2).reshape(g.V2 * g.nb, K * ns).contiguous()
            img = torch.sparse.mm(B, Qm).mul_(1000.0 / cfg.mu_water).sub_(1000.0)  # (n_pix, K ns) HU
            full = torch.full((g.n * g.n, K * ns), -1000.0, dtype=torch.float32, device=dev)
            full.index_copy_(0, pix, img)  # air outside the circular field of view
            vols[:, s0 : s0 + ns] = full.T.reshape(K, ns, -1).cpu().numpy()
        for j, i in enumerate(idx):
            out[i] = (vols[j].reshape(pos.size, g.n, g.n), pos.copy())
    _sync(dev)
    if timings is not None:
        timings["reconstruction"] = timings.get("reconstruction", 0.0) + time.perf_counter() - t_start
    return out


# --------------------------------------------------------------------------------------
# convenience: one phantom, several doses and reconstructions
# --------------------------------------------------------------------------------------


@dataclass
class ScanResult:
    """Reconstructions of one phantom at several doses.

    Attributes
    ----------
    volumes : dict
        ``(dose_name, ReconConfig) -> (Z, Y, X) float32 HU``.
    positions : dict
        ``ReconConfig -> (Z,) float64`` slice positions (mm).
    raw : dict
        ``dose_name -> RawData`` each dose's noisy raw data (all recons of a dose come from it).
    pixel_mm : float
    timings : dict
        Seconds: "phantom", "projection", "noise", "reconstruction", "total".
    """

    volumes: dict
    positions: dict
    raw: dict
    pixel_mm: float
    timings: dict


def scan(phantom, config: ScannerConfig = ScannerConfig(), recons: Sequence[ReconConfig] = (ReconConfig(),),
         doses: Mapping[str, float] | Sequence[float] = None, seed: int | None = None,
         z_range: tuple[float, float] | None = None, device=None, progress: bool = True,
         keep_raw: bool = True) -> ScanResult:
    """Scan once per dose and reconstruct every ``recon`` from each dose's raw data.

    The noiseless line integrals are computed once; each dose is an independent Poisson
    realisation of them (seeded by ``seed`` and the dose), like two scans of the same
    patient in the same geometry.

    Parameters
    ----------
    phantom : object
        See :func:`~t2tcore.scanner.acquisition.project`.
    config : ScannerConfig
    recons : sequence of ReconConfig
    doses : mapping name -> mAs, or sequence of mAs, optional
        Default ``{"full": 200, "quarter": 50}``. An mAs of None gives noiseless data.
    seed : int, optional
        Default ``config.seed``.
    z_range, device, progress
        See :func:`~t2tcore.scanner.acquisition.project`.
    keep_raw : bool
        Keep each dose's RawData in the result (memory: n_views x n_rows x n_bins floats each).
    """
    t0 = time.perf_counter()
    if doses is None:
        doses = {"full": FULL_DOSE_MAS, "quarter": FULL_DOSE_MAS / 4}
    if not isinstance(doses, Mapping):
        doses = {(f"{d:g}mAs" if d is not None else "noiseless"): d for d in doses}
    seed = config.seed if seed is None else int(seed)
    recons = list(recons)
    if not recons:
        raise ValueError("recons must name at least one ReconConfig")
    clean = project(phantom, config, z_range=z_range, device=device, progress=progress)
    timings = {"phantom": clean.timings["phantom"], "projection": clean.timings["projection"], "noise": 0.0,
               "reconstruction": 0.0}
    volumes, positions, raws = {}, {}, {}
    for name, mAs in bar(doses.items(), desc="doses", enabled=progress):
        if mAs is None:
            raw = clean
        else:
            raw = add_noise(clean, mAs, _seed_int([seed, zlib.crc32(str(name).encode())]) % (2**31))
            timings["noise"] += raw.timings["noise"]
        res = reconstruct_many(raw, recons, progress=progress, timings=timings)
        for r, (vol, pos) in zip(recons, res):
            volumes[(name, r)] = vol
            positions[r] = pos
        if keep_raw:
            raws[name] = raw
        del raw
    timings["total"] = time.perf_counter() - t0
    return ScanResult(volumes, positions, raws, clean.pixel_mm, timings)
