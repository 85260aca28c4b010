"""Acquisition: the helical raw data of a phantom, noiseless or at a dose.

This module owns :class:`RawData` and how it is made:

Projection (:func:`project`)
    The phantom's mu is sampled on the image grid (optionally supersampled in-plane) at
    fine z steps (``dz_fine`` <= 0.2 mm), each fine slice is projected at the V/2 angles in
    [0, pi) with the sparse separable-footprint projector of
    :mod:`t2tcore.scanner.projectors`, and the projections are integrated exactly over each
    row's aperture ``[z_v + c_r - w/2, z_v + c_r + w/2]`` (geometry in
    :mod:`t2tcore.scanner.config`), with linear interpolation between fine slices; the
    views in [pi, 2 pi) are the flipped complementary ones.

Noise (:func:`add_noise`, :func:`acquire`)
    Monochromatic Beer-Lambert: the counts are Poisson with mean ``N0 exp(-p)`` (plus
    optional Gaussian electronic noise) and the measured line integral is
    ``-ln(max(N, 1) / N0)``, with ``N0`` from the dose (:mod:`t2tcore.scanner.dose`). Each
    dose is an independent, seeded noise realisation of the same noiseless line integrals.

Lengths in mm, line integrals dimensionless, tensors float32 on the chosen torch device.
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from t2tcore.progress import bar
from t2tcore.scanner.config import ScannerConfig, _default_device, _Geom, _sync
from t2tcore.scanner.dose import FULL_DOSE_MAS, photons_per_ray
from t2tcore.scanner.projectors import _projection_matrix

__all__ = [
    "RawData",
    "project",
    "add_noise",
    "acquire",
]


# Work sizes (voxels per phantom-sampling step, columns of the sparse products, views per
# aperture step, values per noise chunk).
_SAMPLE_VOXELS = 1 << 22
_PROJ_COLS = 32
_APERTURE_VIEWS = 256
_NOISE_CHUNK = 1 << 22


@dataclass
class RawData:
    """Helical raw data: line integrals per view, row and bin, with their geometry.

    Attributes
    ----------
    config : ScannerConfig
    fov_mm : float
        Side of the image square (mm).
    p : torch.Tensor
        (n_views, n_rows, n_bins) float32 measured line integrals ``-ln(N/N0)`` (noiseless:
        the exact ones), on the device they were made on. View ``v`` has the angle
        ``2 pi v / V``; bin ``b`` is at ``t = (b - (n_bins-1)/2) * pixel_mm``.
    z_start : float
        Table position (detector centre) of view 0, mm; view ``v`` is at
        ``z_start + v * feed_mm / V``.
    z_range : (float, float)
        Planned reconstruction range (mm); default slice range.
    mAs : float or None
        Dose (effective mAs); None for noiseless data.
    n0 : float or None
        Unattenuated photons per ray.
    seed : int or None
        Noise seed.
    phantom : str
        Name of the scanned phantom.
    timings : dict
        Seconds spent: "phantom" (sampling), "projection" (incl. aperture integration),
        "noise".
    """

    config: ScannerConfig
    fov_mm: float
    p: torch.Tensor
    z_start: float
    z_range: tuple[float, float]
    mAs: float | None = None
    n0: float | None = None
    seed: int | None = None
    phantom: str = ""
    timings: dict = field(default_factory=dict)

    @property
    def geom(self) -> _Geom:
        return _Geom.of(self.config, self.fov_mm)

    @property
    def n_views(self) -> int:
        return int(self.p.shape[0])

    @property
    def pixel_mm(self) -> float:
        """Pixel size of the image grid and width of a detector bin (mm)."""
        return self.fov_mm / self.config.image_size

    @property
    def angles(self) -> np.ndarray:
        """(n_views,) view angles in radians."""
        return 2 * np.pi * np.arange(self.n_views) / self.config.views

    @property
    def table_positions(self) -> np.ndarray:
        """(n_views,) table positions (detector centre) in mm."""
        return self.z_start + np.arange(self.n_views) * (self.config.feed_mm / self.config.views)

    def sinogram(self, row: int | None = None) -> np.ndarray:
        """Line integrals as numpy float32: (n_views, n_bins) of one row, or all rows."""
        a = self.p if row is None else self.p[:, row]
        return a.detach().to("cpu").numpy()

    def covered_range(self, half_support: float) -> tuple[float, float]:
        """Slice positions (mm) whose z-window ``+-half_support`` has rays at every angle."""
        g = self.geom
        c = self.config.row_offsets
        m = self.n_views // g.V2
        lo = self.z_start + (g.V2 - 1) * g.delta + c[0] - g.w / 2
        hi = self.z_start + (m - 1) * g.V2 * g.delta + c[-1] + g.w / 2
        return lo + half_support, hi - half_support


def _plan(cfg: ScannerConfig, g: _Geom, z_range) -> tuple[float, int, np.ndarray]:
    """Table start, number of views and the fine z grid for a planned slice range."""
    z0, z1 = z_range
    H = cfg.overscan_mm
    c = cfg.row_offsets
    z_start = z0 - H - c[0] - (g.V2 - 1) * g.delta
    m = math.ceil((z1 + H - c[-1] - z_start) / g.half_feed - 1e-9) + 1
    n_views = m * g.V2
    z_last = z_start + (n_views - 1) * g.delta
    dz = cfg.dz_fine
    k0 = math.floor((z_start + c[0] - g.w / 2) / dz) - 1
    k1 = math.ceil((z_last + c[-1] + g.w / 2) / dz) + 1
    return z_start, n_views, dz * np.arange(k0, k1 + 1)


def project(phantom, config: ScannerConfig = ScannerConfig(), z_range: tuple[float, float] | None = None,
            device=None, progress: bool = False) -> RawData:
    """Noiseless helical acquisition: exact (model) line integrals of every view and row.

    Parameters
    ----------
    phantom : object
        Has ``z_extent`` (mm), ``fov_mm`` and ``mu(x, y, z, mu_water=...)`` -> (nz, ny, nx)
        float32 1/mm (see :mod:`t2tcore.scanner.primitives`).
    config : ScannerConfig
    z_range : (float, float), optional
        Planned slice range (mm). Default: the phantom's ``z_extent`` shrunk so that the
        irradiated range stays inside it.
    device : str or torch.device, optional
        Default CUDA when available, else CPU.
    progress : bool
        Show a progress bar.

    Returns
    -------
    RawData
        With ``mAs = None`` (noiseless).
    """
    for name in ("z_extent", "fov_mm", "mu"):
        if not hasattr(phantom, name):
            raise ValueError(f"phantom must have a {name!r} attribute (see t2tcore.scanner.primitives)")
    dev = _default_device(device)
    fov = float(config.fov_mm if config.fov_mm is not None else phantom.fov_mm)
    g = _Geom.of(config, fov)
    if z_range is None:
        margin = config.overscan_mm + g.half_feed + g.R * g.w + 2 * config.dz_fine
        z_range = (phantom.z_extent[0] + margin, phantom.z_extent[1] - margin)
        if z_range[1] < z_range[0]:
            raise ValueError(f"phantom z_extent {phantom.z_extent} is too short for this scanner "
                             f"(needs > {2 * margin:.1f} mm); pass z_range")
    z_range = (float(z_range[0]), float(z_range[1]))
    if not z_range[1] >= z_range[0]:
        raise ValueError(f"z_range must be (z0, z1) with z1 >= z0, got {z_range}")
    z_start, n_views, zf = _plan(config, g, z_range)
    timings = {"phantom": 0.0, "projection": 0.0}

    # 1) sample mu at the fine z steps
    t0 = time.perf_counter()
    S = int(config.supersample)
    xs = g.grid(S)
    mu = np.empty((zf.size, xs.size * xs.size), dtype=np.float32)
    step = max(1, _SAMPLE_VOXELS // (xs.size * xs.size))
    for k in bar(range(0, zf.size, step), desc="phantom", enabled=progress):
        mu[k : k + step] = phantom.mu(xs, xs, zf[k : k + step], mu_water=config.mu_water).reshape(-1, xs.size**2)
    timings["phantom"] += time.perf_counter() - t0

    # 2) project the support of the object, all fine slices, V/2 angles in [0, pi)
    t0 = time.perf_counter()
    support = np.nonzero(mu.max(0) > 0)[0]
    P = torch.zeros((g.V2, zf.size, g.nb), dtype=torch.float32, device=dev)
    if support.size:
        iy, ix = np.divmod(support, xs.size)
        A = _projection_matrix(xs[ix], xs[iy], fov / (g.n * S), g, dev)
        X = torch.from_numpy(np.ascontiguousarray(mu[:, support].T))  # (n_support, n_fine)
        del mu
        for k in bar(range(0, zf.size, _PROJ_COLS), desc="projection", enabled=progress):
            xk = X[:, k : k + _PROJ_COLS].contiguous().to(dev)
            P[:, k : k + xk.shape[1], :] = torch.sparse.mm(A, xk).reshape(g.V2, g.nb, -1).transpose(1, 2)
        del A, X
    else:
        del mu

    # 3) integrate over each row's aperture (linear interpolation between fine slices)
    Pf = P.reshape(g.V2 * zf.size, g.nb)
    c = torch.as_tensor(config.row_offsets, dtype=torch.float64, device=dev)
    nk = int(math.ceil(g.w / config.dz_fine - 1e-9)) + 2
    jj = torch.arange(nk, device=dev)
    p = torch.empty((n_views, g.R, g.nb), dtype=torch.float32, device=dev)
    for v0 in bar(range(0, n_views, _APERTURE_VIEWS), desc="apertures", enabled=progress):
        v = torch.arange(v0, min(n_views, v0 + _APERTURE_VIEWS), device=dev)
        zc = z_start + v.to(torch.float64)[:, None] * g.delta + c[None, :]  # (nv, R) row centres
        za = zc - g.w / 2
        k = torch.floor((za - zf[0]) / config.dz_fine).to(torch.int64)[..., None] + jj  # (nv, R, nk)
        zk = zf[0] + k.to(torch.float64) * config.dz_fine
        wts = _row_weights(zc[..., None] - zk, g.w, config.dz_fine)
        a = (v % g.V2)[:, None, None]
        rows = Pf.index_select(0, (a * zf.size + k.clamp(0, zf.size - 1)).reshape(-1)).reshape(-1, nk, g.nb)
        pv = torch.bmm(wts.to(torch.float32).reshape(-1, 1, nk), rows).reshape(len(v), g.R, g.nb)
        odd = ((v // g.V2) % 2 == 1)
        pv[odd] = pv[odd].flip(-1)  # theta + pi: p(theta + pi, t) = p(theta, -t)
        p[v0 : v0 + len(v)] = pv
    del P, Pf
    _sync(dev)
    timings["projection"] += time.perf_counter() - t0
    return RawData(config, fov, p, float(z_start), z_range, None, None, None,
                   getattr(phantom, "name", type(phantom).__name__), timings)


def _row_weights(u: torch.Tensor, w: float, dz: float) -> torch.Tensor:
    """Torch version of :func:`~t2tcore.scanner.z_weighting._row_response`: weight of a fine
    sample at distance u (mm) from a row centre in that row's aperture average."""

    def cdf(x):
        x = x.clamp(-1.0, 1.0)
        return torch.where(x < 0, 0.5 * (1 + x) ** 2, 1 - 0.5 * (1 - x) ** 2)

    return dz / w * (cdf((u + w / 2) / dz) - cdf((u - w / 2) / dz))


# --------------------------------------------------------------------------------------
# noise
# --------------------------------------------------------------------------------------


def _seed_int(seed) -> int:
    return int(np.random.SeedSequence(seed).generate_state(1, np.uint64)[0] >> np.uint64(1))


def add_noise(raw: RawData, mAs: float, seed: int | None = None) -> RawData:
    """A noisy acquisition at ``mAs`` of the noiseless ``raw`` (which is not modified).

    Counts ``N ~ Poisson(N0 exp(-p))`` (+ Gaussian electronic noise), measured line integral
    ``-ln(max(N, 1) / N0)``. The noise stream is seeded by ``(seed, mAs)``, so two doses
    with the same seed are independent realisations and the same call gives the same data.
    """
    if raw.mAs is not None:
        raise ValueError("add_noise needs noiseless raw data (from project)")
    t0 = time.perf_counter()
    cfg = raw.config
    seed = cfg.seed if seed is None else int(seed)
    n0 = photons_per_ray(cfg, mAs, raw.fov_mm)
    dev = raw.p.device
    base = _seed_int([seed, int(round(float(mAs) * 1000))])
    out = torch.empty_like(raw.p)
    flat_in, flat_out = raw.p.reshape(-1), out.reshape(-1)
    sigma_e = float(cfg.electronic_noise)

    def chunk(i: int) -> None:  # fixed chunks, each with its own seeded generator
        gen = torch.Generator(device=dev)
        gen.manual_seed(_seed_int([base, i]))
        sl = slice(i * _NOISE_CHUNK, (i + 1) * _NOISE_CHUNK)
        n = torch.poisson(torch.exp(-flat_in[sl]).mul_(n0), generator=gen)
        if sigma_e > 0:
            n += sigma_e * torch.randn(n.shape, generator=gen, device=dev)
        flat_out[sl] = torch.log(n.clamp_(min=1.0).div_(n0)).neg_()

    n_chunks = -(-flat_in.numel() // _NOISE_CHUNK)
    if dev.type == "cpu" and torch.get_num_threads() > 1:
        # torch.poisson runs on one core; chunks in threads use them all (the GIL is released)
        with ThreadPoolExecutor(torch.get_num_threads()) as ex:
            list(ex.map(chunk, range(n_chunks)))
    else:
        for i in range(n_chunks):
            chunk(i)
    _sync(dev)
    timings = dict(raw.timings)
    timings["noise"] = timings.get("noise", 0.0) + time.perf_counter() - t0
    return replace(raw, p=out, mAs=float(mAs), n0=n0, seed=seed, timings=timings)


def acquire(phantom, config: ScannerConfig = ScannerConfig(), mAs: float | None = FULL_DOSE_MAS,
            seed: int | None = None, z_range: tuple[float, float] | None = None, device=None,
            progress: bool = False) -> RawData:
    """Helical scan of ``phantom`` at ``mAs`` (None: noiseless); :func:`project` + :func:`add_noise`."""
    raw = project(phantom, config, z_range=z_range, device=device, progress=progress)
    return raw if mAs is None else add_noise(raw, mAs, seed)
