"""Where two CT volumes differ: errors by tissue region and the displacement of edges along z.

Whole-volume PSNR says *how much* an SR output differs from the real thin series, not *where*.
This module splits the error by region of the reference (the real thin) volume and measures
the one error that slice misplacement should cause: edges shifted along z.

* :func:`region_masks` -- ``all``, ``body``, ``lung``, ``soft_tissue``, ``bone`` and ``edge``
  voxels of a reference volume (definitions in :data:`REGIONS`).
* :func:`convention_scale` -- a volume on the scale of one metric convention (``paper``: each
  volume min-max scaled to [-1, 1] on its own; ``window``: every volume through the same fixed
  window; ``hu``: HU), as :func:`t2tcore.evaluation.compare` does it.
* :func:`ssim_map_2d` -- scikit-image's SSIM map (uniform 7 x 7 window, sample covariance) of
  every axial slice at once, vectorised; equal to :func:`skimage.metrics.structural_similarity`
  slice by slice.
* :func:`region_scores` -- PSNR, RMSE and 2-D SSIM of one volume pair in every region from one
  error map and one SSIM map (so all regions cost one pass); :class:`CaseScorer` -- the same for
  many test volumes against one reference in every convention, fast: the reference's statistics
  are computed once, the regions are one label image (sums by ``np.bincount``), and the
  ``paper`` and ``hu`` SSIM maps come from one set of filtered HU statistics (both conventions
  are affine maps of HU, and SSIM's local means, variances and covariance transform exactly).
* :func:`z_displacement` -- the sub-voxel displacement along z of strong edges between a test
  volume and the reference, from local cross-correlation of z profiles.

Volumes are ``(Z, Y, X)`` arrays in HU (float32), slices first, on the same grid.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

from t2tcore.masks import body_mask

__all__ = [
    "BONE_HU",
    "CaseScorer",
    "EDGE_QUANTILE",
    "LUNG_HU",
    "REGIONS",
    "WINDOW_HU",
    "convention_scale",
    "region_masks",
    "region_scores",
    "ssim_map_2d",
    "z_displacement",
]

#: HU below which a body voxel counts as lung (or other gas inside the body).
LUNG_HU = -500.0
#: HU above which a body voxel counts as bone.
BONE_HU = 300.0
#: Edge voxels: at least this quantile of the 3-D gradient magnitude inside the body.
EDGE_QUANTILE = 0.9
#: The ``window`` convention's fixed HU window, mapped to [-1, 1] for every volume
#: (:data:`t2tcore.evaluation.metrics.WINDOW`).
WINDOW_HU = (-1000.0, 1000.0)

#: Region name -> definition (on the reference volume).
REGIONS = {
    "all": "every scored voxel (the whole scored box, air included)",
    "body": "the body mask (largest connected region above -500 HU, holes filled per slice)",
    "lung": f"body voxels below {LUNG_HU:g} HU (lung, and bowel gas in an abdomen)",
    "soft_tissue": f"body voxels from {LUNG_HU:g} to {BONE_HU:g} HU",
    "bone": f"body voxels above {BONE_HU:g} HU",
    "edge": f"body voxels in the top {100 * (1 - EDGE_QUANTILE):g} % of the 3-D gradient magnitude (HU/mm)",
}

_WIN = 7
_PAD = (_WIN - 1) // 2


def region_masks(reference: Any, spacing: Sequence[float] = (1.0, 1.0, 1.0), *, body: Any = None,
                 edge_quantile: float = EDGE_QUANTILE) -> dict[str, np.ndarray]:
    """The regions of :data:`REGIONS` on a reference volume.

    Parameters
    ----------
    reference : array_like, shape (Z, Y, X)
        The real thin volume, HU.
    spacing : (float, float, float)
        Voxel size (z, y, x) in mm, for the gradient magnitude in HU/mm.
    body : array_like of bool, optional
        Body mask (default :func:`t2tcore.masks.body_mask` of ``reference``).
    edge_quantile : float
        Quantile of the gradient magnitude inside the body above which a voxel is an edge.

    Returns
    -------
    dict of str -> ndarray of bool, shape (Z, Y, X)
        Keys in the order of :data:`REGIONS`; a region may be empty (e.g. no bone).
    """
    ref = np.asarray(reference, dtype=np.float32)
    if ref.ndim != 3:
        raise ValueError(f"expected a (Z, Y, X) volume, got shape {ref.shape}")
    if not 0.0 < edge_quantile < 1.0:
        raise ValueError(f"edge_quantile must lie in (0, 1), got {edge_quantile}")
    b = body_mask(ref) if body is None else np.asarray(body, dtype=bool)
    if b.shape != ref.shape:
        raise ValueError(f"body mask shape {b.shape} does not match the volume's {ref.shape}")
    sz, sy, sx = (float(s) for s in spacing)
    axes_ok = [n > 1 for n in ref.shape]
    grads = np.gradient(ref, *[s for s, ok in zip((sz, sy, sx), axes_ok) if ok],
                        axis=tuple(i for i, ok in enumerate(axes_ok) if ok))
    grads = grads if isinstance(grads, (list, tuple)) else [grads]
    mag = np.sqrt(sum(g.astype(np.float32) ** 2 for g in grads))
    edge = np.zeros_like(b)
    if b.any():
        edge = b & (mag >= np.quantile(mag[b], edge_quantile))
    return {"all": np.ones(ref.shape, dtype=bool), "body": b, "lung": b & (ref < LUNG_HU),
            "soft_tissue": b & (ref >= LUNG_HU) & (ref <= BONE_HU), "bone": b & (ref > BONE_HU), "edge": edge}


def convention_scale(volume: Any, convention: str) -> tuple[np.ndarray, np.ndarray, float]:
    """A volume on one convention's scale: (values for PSNR/RMSE, values for SSIM, data range).

    ``paper``: min-max scaled to [-1, 1] on its own (:func:`t2tcore.evaluation.minmax_scale`),
    range 2. ``window``: ``clip(x, -1000, 1000) / 1000`` (:data:`WINDOW_HU`, the same for every
    volume), range 2. ``hu``: HU, range 2000 (the HU range of :func:`t2tcore.evaluation.compare`);
    SSIM on HU + 1000, as there.
    """
    from t2tcore.evaluation.metrics import HU_RANGE, fixed_window_scale, minmax_scale

    v = np.asarray(volume, dtype=np.float32)
    if convention == "paper":
        s = minmax_scale(v)
        return s, s, 2.0
    if convention == "window":
        s = fixed_window_scale(v, WINDOW_HU)
        return s, s, 2.0
    if convention == "hu":
        lo, hi = HU_RANGE
        return v, np.subtract(v, np.float32(lo), dtype=np.float32), float(hi - lo)
    raise ValueError(f"convention must be 'paper', 'window' or 'hu', got {convention!r}")


def ssim_map_2d(reference: Any, test: Any, data_range: float) -> np.ndarray:
    """SSIM map of every axial slice (uniform 7 x 7 window, sample covariance, K1 0.01, K2 0.03).

    The formula and constants of :func:`skimage.metrics.structural_similarity` with its
    defaults, computed for all slices at once (a uniform filter of size 1 x 7 x 7 with
    reflected borders), in float32 as scikit-image does for float32 input.

    Parameters
    ----------
    reference, test : array_like, shape (Z, Y, X)
    data_range : float

    Returns
    -------
    ndarray of float32, shape (Z, Y, X)
        The map; average it over ``[:, 3:-3, 3:-3]`` (scikit-image leaves a 3-pixel border
        out of its mean).
    """
    from scipy import ndimage

    a = np.asarray(reference, dtype=np.float32)
    b = np.asarray(test, dtype=np.float32)
    if a.shape != b.shape or a.ndim != 3:
        raise ValueError(f"need two (Z, Y, X) volumes of one shape, got {a.shape} and {b.shape}")
    if min(a.shape[1:]) < _WIN:
        raise ValueError(f"slices must be at least {_WIN} pixels per side, got {a.shape[1:]}")
    size = (1, _WIN, _WIN)

    def f(x):
        return ndimage.uniform_filter(x, size=size)

    np_ = _WIN * _WIN
    cov = np.float32(np_ / (np_ - 1.0))
    ux, uy = f(a), f(b)
    vx = cov * (f(a * a) - ux * ux)
    vy = cov * (f(b * b) - uy * uy)
    vxy = cov * (f(a * b) - ux * uy)
    c1 = np.float32((0.01 * data_range) ** 2)
    c2 = np.float32((0.03 * data_range) ** 2)
    num = (2 * ux * uy + c1) * (2 * vxy + c2)
    den = (ux * ux + uy * uy + c1) * (vx + vy + c2)
    return num / den


def region_scores(reference: Any, test: Any, masks: Mapping[str, np.ndarray], convention: str, *,
                  ssim: bool = True, scaled_reference: tuple | None = None) -> dict[str, dict]:
    """PSNR, RMSE and 2-D SSIM of one volume pair in every region, on one convention's scale.

    Parameters
    ----------
    reference, test : array_like, shape (Z, Y, X)
        HU.
    masks : mapping of str -> bool array
        :func:`region_masks`.
    convention : {"paper", "window", "hu"}
        See :func:`convention_scale`.
    ssim : bool
        Also the SSIM map's mean over each region's voxels (those at least 3 pixels from the
        slice border; voxel-weighted).
    scaled_reference : tuple, optional
        ``convention_scale(reference, convention)``, to reuse between test volumes.

    Returns
    -------
    dict
        Region -> ``psnr`` (dB, peak = the data range), ``rmse`` (the convention's unit),
        ``ssim_2d``, ``n_voxels``; NaN values for an empty region.
    """
    ra, rs, r = scaled_reference if scaled_reference is not None else convention_scale(reference, convention)
    ta, ts, _ = convention_scale(test, convention)
    if ra.shape != ta.shape:
        raise ValueError(f"reference and test differ in shape: {ra.shape} and {ta.shape}")
    err = np.subtract(ra, ta, dtype=np.float32)
    err *= err
    smap = ssim_map_2d(rs, ts, r) if ssim else None
    inner = np.zeros(ra.shape, dtype=bool)
    inner[:, _PAD:-_PAD, _PAD:-_PAD] = True
    out = {}
    for name, m in masks.items():
        n = int(np.count_nonzero(m))
        if n == 0:
            out[name] = {"psnr": math.nan, "rmse": math.nan, "ssim_2d": math.nan, "n_voxels": 0}
            continue
        mse = float(err[m].mean(dtype=np.float64))
        row = {"psnr": 10.0 * math.log10(r * r / mse) if mse > 0 else math.inf, "rmse": math.sqrt(mse),
               "n_voxels": n}
        if smap is not None:
            sel = m & inner
            row["ssim_2d"] = float(smap[sel].mean(dtype=np.float64)) if sel.any() else math.nan
        out[name] = row
    return out


class CaseScorer:
    """PSNR, RMSE and 2-D SSIM of many test volumes against one reference, per convention and region.

    Gives what :func:`region_scores` gives (same definitions; SSIM to float rounding) for every
    convention at once, at a fraction of the cost: regions are coded in one label image (tissue
    class, edge and SSIM-interior bits) and summed with :func:`numpy.bincount`; the ``paper`` and
    ``hu`` SSIM maps are computed from the local statistics of the HU volumes (float32, as
    scikit-image computes them), which an affine rescaling ``a x + b`` maps exactly (means
    ``a mu + b``, variances ``a^2 var``, covariance ``a_x a_y cov``); only ``window`` (a clip)
    filters its own clipped volumes.

    Parameters
    ----------
    reference : array_like, shape (Z, Y, X)
        HU.
    spacing : (float, float, float)
        Voxel size in mm (for the edge region).
    conventions : sequence of {"paper", "window", "hu"}
    regions : sequence of str, optional
        Regions of :data:`REGIONS` to report (default all).
    ssim : bool
    """

    def __init__(self, reference: Any, spacing: Sequence[float] = (1.0, 1.0, 1.0),
                 conventions: Sequence[str] = ("paper", "window", "hu"), regions: Sequence[str] | None = None,
                 ssim: bool = True):
        from t2tcore.evaluation.metrics import HU_RANGE

        ref = np.asarray(reference, dtype=np.float32)
        if ref.ndim != 3 or min(ref.shape[1:]) < _WIN:
            raise ValueError(f"need a (Z, Y, X) volume with slices of at least {_WIN} pixels, got {ref.shape}")
        bad = set(conventions) - {"paper", "window", "hu"}
        if bad:
            raise ValueError(f"unknown convention(s) {sorted(bad)}")
        self.ref, self.conventions, self.ssim = ref, list(conventions), bool(ssim)
        self.masks = region_masks(ref, spacing)
        self.regions = list(REGIONS) if regions is None else [r for r in regions]
        m = self.masks
        tissue = np.where(m["lung"], 1, np.where(m["soft_tissue"], 2, np.where(m["bone"], 3, 0))).astype(np.int64)
        inner = np.zeros(ref.shape, dtype=bool)
        inner[:, _PAD:-_PAD, _PAD:-_PAD] = True
        self.code = (tissue + 4 * m["edge"] + 8 * inner).ravel()
        cls = np.arange(16)
        t, e = cls % 4, (cls // 4) % 2
        member = {"all": np.ones(16, bool), "body": t > 0, "lung": t == 1, "soft_tissue": t == 2, "bone": t == 3,
                  "edge": e == 1}
        self.member = {r: member[r] for r in self.regions}
        self.inner_cls = cls >= 8
        self.count = np.bincount(self.code, minlength=16).astype(np.float64)
        self.hu_lo, hu_hi = HU_RANGE
        self.hu_range = float(hu_hi - self.hu_lo)
        self.scaled = {c: convention_scale(ref, c)[0] for c in self.conventions}
        if self.ssim:
            self._stats_hu = self._stats(ref)
            if "window" in self.conventions:
                self._stats_win = self._stats(self.scaled["window"])

    @staticmethod
    def _filter(x):
        from scipy import ndimage

        return ndimage.uniform_filter(x, size=(1, _WIN, _WIN))

    def _stats(self, x):
        """(values, local mean, local E[x^2] - mean^2), float32 as scikit-image computes them for float32 input."""
        x = np.asarray(x, dtype=np.float32)
        mu = self._filter(x)
        var = self._filter(x * x)
        var -= mu * mu
        return x, mu, var

    def _cov(self, rx, tx):
        c = self._filter(rx[0] * tx[0])
        c -= rx[1] * tx[1]
        return c

    @staticmethod
    def _ssim(rx, tx, vxy, a_r, b_r, a_t, b_t, data_range):
        """SSIM map from local statistics of two volumes mapped by ``a x + b`` (float32 arithmetic)."""
        _, ux, vx = rx
        _, uy, vy = tx
        cov = _WIN * _WIN / (_WIN * _WIN - 1.0)
        mx = ux * np.float32(a_r) + np.float32(b_r)
        my = uy * np.float32(a_t) + np.float32(b_t)
        c1, c2 = np.float32((0.01 * data_range) ** 2), np.float32((0.03 * data_range) ** 2)
        num = (2 * mx * my + c1) * (vxy * np.float32(2 * cov * a_r * a_t) + c2)
        mx *= mx
        my *= my
        mx += my
        mx += c1
        den = vx * np.float32(cov * a_r * a_r) + vy * np.float32(cov * a_t * a_t) + c2
        den *= mx
        num /= den
        return num

    def _sums(self, values):
        return np.bincount(self.code, weights=np.asarray(values, dtype=np.float64).ravel(), minlength=16)

    def score(self, test: Any) -> list[dict]:
        """Rows ``convention, region, psnr, rmse, ssim_2d, n_voxels`` of one test volume (HU, the reference's shape)."""
        tst = np.asarray(test, dtype=np.float32)
        if tst.shape != self.ref.shape:
            raise ValueError(f"test shape {tst.shape} differs from the reference's {self.ref.shape}")
        hu = vxy = None
        if self.ssim and ({"paper", "hu"} & set(self.conventions)):
            hu = self._stats(tst)
            vxy = self._cov(self._stats_hu, hu)
        rows = []
        for c in self.conventions:
            ta, _, r = convention_scale(tst, c)
            err = np.subtract(self.scaled[c], ta, dtype=np.float32)
            se = self._sums(err * err)
            ss = None
            if self.ssim:
                if c == "paper":
                    lo_r, hi_r = float(self.ref.min()), float(self.ref.max())
                    lo_t, hi_t = float(tst.min()), float(tst.max())
                    a_r, a_t = 2.0 / (hi_r - lo_r), 2.0 / (hi_t - lo_t)
                    smap = self._ssim(self._stats_hu, hu, vxy, a_r, -1.0 - a_r * lo_r, a_t, -1.0 - a_t * lo_t, 2.0)
                elif c == "hu":
                    smap = self._ssim(self._stats_hu, hu, vxy, 1.0, -self.hu_lo, 1.0, -self.hu_lo, self.hu_range)
                else:
                    tw = self._stats(ta)
                    smap = self._ssim(self._stats_win, tw, self._cov(self._stats_win, tw), 1.0, 0.0, 1.0, 0.0, 2.0)
                ss = self._sums(smap)
            for reg, mem in self.member.items():
                n = float(self.count[mem].sum())
                if n == 0:
                    rows.append({"convention": c, "region": reg, "psnr": math.nan, "rmse": math.nan,
                                 "ssim_2d": math.nan, "n_voxels": 0})
                    continue
                mse = float(se[mem].sum()) / n
                row = {"convention": c, "region": reg,
                       "psnr": 10.0 * math.log10(r * r / mse) if mse > 0 else math.inf, "rmse": math.sqrt(mse),
                       "n_voxels": int(n)}
                if ss is not None:
                    k = mem & self.inner_cls
                    ni = float(self.count[k].sum())
                    row["ssim_2d"] = float(ss[k].sum()) / ni if ni else math.nan
                rows.append(row)
        return rows


def _edge_columns(reference: np.ndarray, body: np.ndarray, half: int, reach: int, max_edges: int,
                  min_gradient: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(z, y, x) of the strongest z-edges that have ``half + reach`` slices on both sides."""
    gz = np.abs(np.gradient(reference, axis=0))
    span = half + reach
    ok = np.zeros(reference.shape, dtype=bool)
    if reference.shape[0] > 2 * span:
        ok[span:-span] = body[span:-span]
    ok &= gz >= min_gradient
    # local maxima of |dI/dz| along z only: one sample per edge crossing, not its neighbours
    ok[1:-1] &= (gz[1:-1] >= gz[:-2]) & (gz[1:-1] >= gz[2:])
    z, y, x = np.nonzero(ok)
    if z.size > max_edges:
        strength = gz[z, y, x]
        keep = np.argsort(strength)[::-1][: 4 * max_edges]  # the strongest, then a seeded sample of them
        keep = np.random.default_rng(seed).choice(keep, size=max_edges, replace=False)
        z, y, x = z[keep], y[keep], x[keep]
    return z, y, x


def z_displacement(reference: Any, test: Any, spacing_mm: float, *, body: Any = None, half_window: int = 3,
                   max_shift: float = 2.0, lag_step: float = 0.05, max_edges: int = 2000,
                   min_gradient: float = 100.0, seed: int = 0) -> dict[str, float]:
    """Displacement along z of strong edges between ``test`` and ``reference`` (sub-voxel, mm).

    Edges are voxels of the reference inside the body whose z-gradient magnitude is a local
    maximum along z and at least ``min_gradient`` HU per slice (the ``max_edges`` strongest
    or a seeded sample of them). Around each, the reference's z profile over
    ``2 * half_window + 1`` slices is compared with the test's z profile shifted by lags
    from ``-max_shift`` to ``max_shift`` slices in steps of ``lag_step`` (cubic-spline
    interpolation of the test column); the lag of the largest normalised cross-correlation,
    refined by a parabola through its neighbours, is that edge's displacement.

    The sign: positive when the test's edge lies at larger z than the reference's, i.e. for
    ``test(z) = reference(z - d)`` the result is ``+d``.

    Parameters
    ----------
    reference, test : array_like, shape (Z, Y, X)
        Real thin volume and the volume to judge, HU, on the same slice grid.
    spacing_mm : float
        Slice spacing (mm); displacements are returned in mm.
    body : array_like of bool, optional
        Where edges are looked for (default :func:`t2tcore.masks.body_mask` of ``reference``).
    half_window, max_shift, lag_step, max_edges, min_gradient, seed
        See above.

    Returns
    -------
    dict
        ``z_displacement_mm`` (median signed displacement), ``z_abs_displacement_mm`` (median
        of its magnitude), ``z_displacement_mean_mm``, ``z_edges`` (edges measured; 0 and NaN
        values when none qualifies).
    """
    from scipy.interpolate import CubicSpline

    ref = np.asarray(reference, dtype=np.float32)
    tst = np.asarray(test, dtype=np.float32)
    if ref.shape != tst.shape or ref.ndim != 3:
        raise ValueError(f"need two (Z, Y, X) volumes of one shape, got {ref.shape} and {tst.shape}")
    if not spacing_mm > 0 or not lag_step > 0 or not max_shift > 0 or half_window < 1:
        raise ValueError("spacing_mm, lag_step and max_shift must be > 0 and half_window >= 1")
    b = body_mask(ref) if body is None else np.asarray(body, dtype=bool)
    reach = int(math.ceil(max_shift))
    z, y, x = _edge_columns(ref, b, half_window, reach, max_edges, min_gradient, seed)
    nan = {"z_displacement_mm": math.nan, "z_abs_displacement_mm": math.nan, "z_displacement_mean_mm": math.nan,
           "z_edges": 0}
    if z.size == 0:
        return nan
    win = np.arange(-half_window, half_window + 1)
    ext = np.arange(-(half_window + reach), half_window + reach + 1)
    r = ref[z[:, None] + win[None, :], y[:, None], x[:, None]].astype(np.float64)  # (n, w)
    t = tst[z[:, None] + ext[None, :], y[:, None], x[:, None]].astype(np.float64)  # (n, w + 2 reach)
    n_lag = int(round(max_shift / lag_step))
    lags = np.arange(-n_lag, n_lag + 1) * lag_step
    # the test columns on a fine grid once (cubic spline), then every shifted window is an index offset
    up = int(round(1.0 / lag_step)) if abs(1.0 / lag_step - round(1.0 / lag_step)) < 1e-9 else None
    if up is not None:
        fine = CubicSpline(ext, t, axis=1)(np.arange(ext[0] * up, ext[-1] * up + 1) / up)  # (n, fine)
        idx = (win[None, :] - ext[0]) * up + np.arange(-n_lag, n_lag + 1)[:, None]  # (lags, w)
        shifted = fine[:, idx]  # t(z + lag): (n, lags, w)
    else:
        spline = CubicSpline(ext, t, axis=1)
        shifted = spline((win[None, :] + lags[:, None]).ravel()).reshape(len(z), len(lags), len(win))
    rc = r - r.mean(axis=1, keepdims=True)
    sc = shifted - shifted.mean(axis=2, keepdims=True)
    num = np.einsum("nw,nlw->nl", rc, sc)
    den = np.sqrt((rc * rc).sum(axis=1))[:, None] * np.sqrt((sc * sc).sum(axis=2))
    with np.errstate(invalid="ignore", divide="ignore"):
        cc = np.where(den > 0, num / den, -np.inf)
    k = np.argmax(cc, axis=1)
    good = np.isfinite(cc[np.arange(len(z)), k])
    inner = (k > 0) & (k < len(lags) - 1) & good
    d = lags[k].astype(np.float64)
    i = np.nonzero(inner)[0]
    c0, c1, c2 = cc[i, k[i] - 1], cc[i, k[i]], cc[i, k[i] + 1]
    den2 = c0 - 2 * c1 + c2
    frac = np.where(den2 < 0, 0.5 * (c0 - c2) / np.where(den2 < 0, den2, -1.0), 0.0)
    d[i] += np.clip(frac, -0.5, 0.5) * lag_step
    d = d[good] * float(spacing_mm)
    if d.size == 0:
        return nan
    return {"z_displacement_mm": float(np.median(d)), "z_abs_displacement_mm": float(np.median(np.abs(d))),
            "z_displacement_mean_mm": float(np.mean(d)), "z_edges": int(d.size)}
