"""Analytic primitives and the :class:`Phantom` that paints them, continuous in mm.

This module owns the building blocks of every phantom of the virtual helical CT scanner:
the analytic solids, a seeded noise texture, and the :class:`Phantom` container. The
simple physics-test objects are in :mod:`t2tcore.scanner.physics_phantoms`, the seeded
anatomy in :mod:`t2tcore.scanner.abdomen` and :mod:`t2tcore.scanner.chest`.

A :class:`Phantom` is an ordered list of analytic primitives painted in painter's order
(later primitives overwrite earlier ones) on an air background. It is evaluated exactly at
the sample points it is given -- there is no hidden voxel grid -- so the scanner decides
the sampling (and supersampling) itself.

Coordinates (patient frame, mm)
-------------------------------
``x`` grows with the image column (towards the patient's left, as DICOM LPS +x),
``y`` grows with the image row (anterior -> posterior, DICOM +y), ``z`` runs along the
table and grows towards the head (DICOM +z, superior). Images are ``(nz, ny, nx)``.

Values
------
``hu`` returns Hounsfield units (float32, air -1000, water 0). ``mu`` converts them to
linear attenuation in 1/mm at the effective energy of :data:`MU_WATER`:
``mu = MU_WATER * (1 + HU / 1000)``, clipped at 0.

Contents
--------
- :class:`Primitive` (the interface), :class:`Extrusion` (elliptical / super-elliptical
  cross-section whose centre, axes and angle vary piecewise-linearly with z, sharp z
  faces), :class:`Ellipsoid`, :class:`TubeSet` (tapered capsule segments: vessels,
  airways, ribs, bowel);
- :class:`NoiseTile`, a seeded periodic band-pass texture for values that vary in space;
- :class:`Phantom`, and the constants :data:`MU_WATER`, :data:`AIR_HU`.
"""

from __future__ import annotations

import bisect
import math
from typing import Sequence

import numpy as np
from scipy import ndimage

__all__ = [
    "MU_WATER",
    "AIR_HU",
    "Primitive",
    "Extrusion",
    "Ellipsoid",
    "TubeSet",
    "NoiseTile",
    "Phantom",
]


#: Linear attenuation coefficient of water in 1/mm at the phantoms' effective energy of
#: about 70 keV (NIST XCOM: mu/rho = 0.193 cm^2/g at 70 keV, rho = 1 g/cm^3).
MU_WATER: float = 0.0193
#: HU of air, the background of every phantom.
AIR_HU: float = -1000.0

_F = np.float32


def _as_axis(a, name: str) -> tuple[np.ndarray, bool]:
    """Validate a 1-D, strictly monotonic coordinate axis; return it ascending + flip flag."""
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of coordinates in mm, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains non-finite values")
    if a.size > 1:
        d = np.diff(a)
        if np.all(d > 0):
            return a, False
        if np.all(d < 0):
            return a[::-1].copy(), True
        raise ValueError(f"{name} must be strictly increasing or strictly decreasing")
    return a, False


def _span(c: np.ndarray, lo: float, hi: float) -> tuple[int, int]:
    """Index range [i0, i1) of the ascending axis ``c`` with lo <= c <= hi."""
    return int(np.searchsorted(c, lo, "left")), int(np.searchsorted(c, hi, "right"))


# --------------------------------------------------------------------------------------
# primitives
# --------------------------------------------------------------------------------------


class Primitive:
    """An analytic solid with a value, painted by :class:`Phantom` in order.

    Subclasses define :attr:`bbox` ``(x0, x1, y0, y1, z0, z1)`` in mm (conservative) and
    :meth:`inside` on broadcastable coordinate arrays. ``value`` is a constant HU or a
    callable ``f(x, y, z) -> HU`` on 1-D float32 arrays of the points inside.
    """

    bbox: tuple[float, float, float, float, float, float]
    value: object

    def inside(self, X: np.ndarray, Y: np.ndarray, Z: np.ndarray) -> np.ndarray:
        """Boolean mask of the points (broadcast of X, Y, Z, mm) inside the solid."""
        raise NotImplementedError

    def _xy_span(self, z: np.ndarray) -> tuple[float, float, float, float]:
        """x/y bounds (mm) of the solid over the given z samples (default: the bbox)."""
        return self.bbox[:4]

    def _write(self, sub: np.ndarray, m: np.ndarray, X, Y, Z) -> None:
        if callable(self.value):
            if not m.any():
                return
            sub[m] = self.value(*(np.broadcast_to(c, m.shape)[m] for c in (X, Y, Z)))
        else:
            np.copyto(sub, _F(self.value), where=m)

    def _crop(self, out: np.ndarray, x: np.ndarray, y: np.ndarray, z: np.ndarray):
        """The part of the grid inside the bounding box: (sub-view of ``out``, X, Y, Z) broadcastable
        coordinates (X, Y float32; Z float64 so z faces are exact), or None when it misses the grid."""
        b = self.bbox
        iz0, iz1 = _span(z, b[4], b[5])
        if iz1 <= iz0:
            return None
        zz = z[iz0:iz1]
        x0, x1, y0, y1 = self._xy_span(zz)
        ix0, ix1 = _span(x, x0, x1)
        iy0, iy1 = _span(y, y0, y1)
        if ix1 <= ix0 or iy1 <= iy0:
            return None
        X = x[ix0:ix1].astype(_F)[None, None, :]
        Y = y[iy0:iy1].astype(_F)[None, :, None]
        return out[iz0:iz1, iy0:iy1, ix0:ix1], X, Y, zz[:, None, None]

    def paint(self, out: np.ndarray, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> None:
        """Paint into ``out`` (nz, ny, nx) float32 HU sampled at ascending axes x, y, z (mm)."""
        crop = self._crop(out, x, y, z)
        if crop is None:
            return
        sub, X, Y, Z = crop
        m = self.inside(X, Y, Z)
        self._write(sub, np.broadcast_to(m, sub.shape), X, Y, Z.astype(_F))

    def paint_points(self, out: np.ndarray, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> None:
        """Paint into ``out`` (n,) float32 at scattered points (n,) mm."""
        b = self.bbox
        sel = np.nonzero((x >= b[0]) & (x <= b[1]) & (y >= b[2]) & (y <= b[3]) & (z >= b[4]) & (z <= b[5]))[0]
        if sel.size == 0:
            return
        X, Y, Z = x[sel].astype(_F), y[sel].astype(_F), z[sel]
        m = self.inside(X, Y, Z)
        if not m.any():
            return
        sub = out[sel]
        self._write(sub, m, X, Y, Z.astype(_F))
        out[sel] = sub


class Extrusion(Primitive):
    """Solid whose axial cross-section is a rotated (super-)ellipse varying with z.

    Between the knots ``z`` (ascending, mm) the centre, semi-axes and angle are linearly
    interpolated; outside ``[z[0], z[-1]]`` the solid is empty (sharp, exact z faces).
    A point is inside when ``|u/a|^p + |v/b|^p <= 1`` with ``(u, v)`` the in-plane offset
    from the centre rotated by ``-angle``.

    Parameters
    ----------
    z : sequence of float, (k,)
        Knot positions in mm, non-decreasing, k >= 2.
    cx, cy, a, b : float or sequence of float, (k,)
        Centre and semi-axes (mm) at the knots; scalars are broadcast.
    value : float or callable
        HU, or ``f(x, y, z) -> HU`` evaluated at the inside points (1-D float32 arrays).
    angle : float or sequence of float, (k,)
        Rotation of the ``a`` axis from +x towards +y, radians.
    p : float
        Super-ellipse exponent (2: ellipse; larger: more rectangular).
    """

    def __init__(self, z, cx, cy, a, b, value, angle=0.0, p: float = 2.0):
        z = np.atleast_1d(np.asarray(z, dtype=np.float64))
        if z.size == 1:
            raise ValueError("Extrusion needs at least two z knots")
        if np.any(np.diff(z) < 0):
            raise ValueError("Extrusion z knots must be non-decreasing")
        k = z.size
        self.z = z
        self._zl = z.tolist()
        self.cx, self.cy, self.a, self.b, self.angle = (
            np.broadcast_to(np.asarray(v, dtype=np.float64), (k,)).copy() for v in (cx, cy, a, b, angle)
        )
        if np.any(self.a < 0) or np.any(self.b < 0):
            raise ValueError("Extrusion semi-axes must be >= 0")
        self.p = float(p)
        self.value = value
        self._fast = bool(np.all(self.angle == 0) and np.all(self.cx == self.cx[0]) and np.all(self.cy == self.cy[0]))
        hx, hy = self._half(self.a, self.b, self.angle)
        self.bbox = (
            float(np.min(self.cx - hx)),
            float(np.max(self.cx + hx)),
            float(np.min(self.cy - hy)),
            float(np.max(self.cy + hy)),
            float(z[0]),
            float(z[-1]),
        )

    def _half(self, a, b, ang):
        c, s = np.abs(np.cos(ang)), np.abs(np.sin(ang))
        if self.p == 2.0:
            return np.sqrt((a * c) ** 2 + (b * s) ** 2), np.sqrt((a * s) ** 2 + (b * c) ** 2)
        return a * c + b * s, a * s + b * c

    def params(self, z):
        """(cx, cy, a, b, angle) at z (any shape, mm), linearly interpolated."""
        zf = np.asarray(z, dtype=np.float64)
        shape = zf.shape
        zr = zf.ravel()
        out = [np.interp(zr, self.z, v).reshape(shape) for v in (self.cx, self.cy, self.a, self.b, self.angle)]
        return out

    def _xy_span(self, z):
        z = np.clip(z, self.z[0], self.z[-1])
        # include the knots between the sampled z so the union bound is conservative
        zk = self.z[(self.z > z[0]) & (self.z < z[-1])]
        zz = np.concatenate([z[[0, -1]], zk])
        cx, cy, a, b, ang = self.params(zz)
        hx, hy = self._half(a, b, ang)
        return float(np.min(cx - hx)), float(np.max(cx + hx)), float(np.min(cy - hy)), float(np.max(cy + hy))

    def _f(self, X, Y, Z) -> np.ndarray:
        """``|u/a|^p + |v/b|^p`` (<= 1 inside); inf outside the z span."""
        Zr = np.asarray(Z)
        outz = (Zr < self.z[0]) | (Zr > self.z[-1])
        pw = self.p
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if self._fast:
                # no rotation, fixed centre: powers of the 1-D offsets, one full-size pass
                ia = np.interp(Zr.ravel(), self.z, self.a).reshape(Zr.shape)
                ib = np.interp(Zr.ravel(), self.z, self.b).reshape(Zr.shape)
                ia = (1 / np.maximum(ia, 1e-12) ** pw).astype(_F)
                ib = (1 / np.maximum(ib, 1e-12) ** pw).astype(_F)
                fx = np.abs(X - _F(self.cx[0])) ** _F(pw)
                fy = np.abs(Y - _F(self.cy[0])) ** _F(pw)
                f = fx * ia + fy * ib
            else:
                cx, cy, a, b, ang = (v.astype(_F) for v in self.params(Zr))
                dx = X - cx
                dy = Y - cy
                if np.any(ang != 0):
                    c, s = np.cos(ang), np.sin(ang)
                    u = dx * c + dy * s
                    v = dy * c - dx * s
                else:
                    u, v = dx, dy
                ia, ib = 1 / np.maximum(a, 1e-12), 1 / np.maximum(b, 1e-12)
                if pw == 2.0:
                    f = (u * ia) ** 2 + (v * ib) ** 2
                else:
                    f = np.abs(u * ia) ** _F(pw) + np.abs(v * ib) ** _F(pw)
        if np.any(outz):
            f = np.where(outz, np.inf, f)
        return f

    def rho(self, X, Y, Z) -> np.ndarray:
        """Normalised radius ``(|u/a|^p + |v/b|^p)^(1/p)`` (1 on the surface); inf outside the z span."""
        f = self._f(X, Y, Z)
        return np.sqrt(f) if self.p == 2.0 else f ** _F(1 / self.p)

    def inside(self, X, Y, Z):
        return self._f(X, Y, Z) <= 1

    def rho_point(self, x: float, y: float, z: float) -> float:
        """:meth:`rho` at one point (pure Python, fast for scalar queries)."""
        zk = self._zl
        if z < zk[0] or z > zk[-1]:
            return math.inf
        i = min(max(bisect.bisect_right(zk, z) - 1, 0), len(zk) - 2)
        dz = zk[i + 1] - zk[i]
        t = (z - zk[i]) / dz if dz > 0 else 0.0
        cx, cy, a, b, ang = (float(v[i] + t * (v[i + 1] - v[i])) for v in (self.cx, self.cy, self.a, self.b, self.angle))
        dx, dy = x - cx, y - cy
        c, s = math.cos(ang), math.sin(ang)
        u, v = dx * c + dy * s, dy * c - dx * s
        if a <= 0 or b <= 0:
            return math.inf
        return (abs(u / a) ** self.p + abs(v / b) ** self.p) ** (1 / self.p)

    def paint(self, out, x, y, z):
        crop = self._crop(out, x, y, z)
        if crop is None:
            return
        sub, X, Y, Z = crop
        f = self._f(X, Y, Z)
        m = f <= 1
        if getattr(self.value, "wants_rho", False):
            m = np.broadcast_to(m, sub.shape)
            if m.any():
                r = np.broadcast_to(f, m.shape)[m]
                r = np.sqrt(r) if self.p == 2.0 else r ** _F(1 / self.p)
                sub[m] = self.value(*(np.broadcast_to(c, m.shape)[m] for c in (X, Y, Z.astype(_F))), rho=r)
        else:
            self._write(sub, np.broadcast_to(m, sub.shape), X, Y, Z.astype(_F))


class Ellipsoid(Primitive):
    """Solid ellipsoid ``|R^T (p - c) / axes|^2 <= 1``.

    Parameters
    ----------
    center : (3,) float
        Centre (x, y, z) in mm.
    axes : (3,) float
        Semi-axes in mm along the columns of ``rot``.
    value : float or callable
        HU or ``f(x, y, z) -> HU``.
    rot : (3, 3) float, optional
        Orthonormal matrix whose columns are the principal directions (default: identity).
    """

    def __init__(self, center, axes, value, rot=None):
        self.c = np.asarray(center, dtype=np.float64).reshape(3)
        self.ax = np.asarray(axes, dtype=np.float64).reshape(3)
        if np.any(self.ax <= 0):
            raise ValueError("Ellipsoid semi-axes must be > 0")
        self.R = np.eye(3) if rot is None else np.asarray(rot, dtype=np.float64).reshape(3, 3)
        self.value = value
        half = np.sqrt(((self.R * self.ax[None, :]) ** 2).sum(axis=1))
        self.bbox = tuple(float(v) for v in np.ravel(np.column_stack([self.c - half, self.c + half])))

    def inside(self, X, Y, Z):
        dx, dy, dz = X - _F(self.c[0]), Y - _F(self.c[1]), (Z - self.c[2]).astype(_F)
        f = 0
        for i in range(3):
            q = dx * _F(self.R[0, i] / self.ax[i]) + dy * _F(self.R[1, i] / self.ax[i]) + dz * _F(self.R[2, i] / self.ax[i])
            f = f + q * q
        return f <= 1


class TubeSet(Primitive):
    """Set of tapered capsules (segment a->b, radius ra at a, rb at b), one value each.

    A point is inside segment i when its distance to the segment is at most the radius
    interpolated at the closest point's parameter ``t`` (``ra + t (rb - ra)``), so the
    ends are round caps and chains of segments join smoothly. Optionally a segment is
    clipped to ``y <= ymax[i]`` (e.g. a gas pocket above a fluid level, patient supine).

    Parameters
    ----------
    a, b : (n, 3) float
        Segment end points (x, y, z) in mm.
    ra, rb : (n,) float
        Radii in mm at a and b.
    value : float or (n,) float
        HU per segment (painted in index order).
    ymax : (n,) float, optional
        Per-segment clip: only points with ``y <= ymax`` are inside.
    """

    def __init__(self, a, b, ra, rb, value, ymax=None):
        self.a = np.asarray(a, dtype=np.float64).reshape(-1, 3)
        self.b = np.asarray(b, dtype=np.float64).reshape(-1, 3)
        n = len(self.a)
        if len(self.b) != n:
            raise ValueError("TubeSet a and b must have the same length")
        self.ra = np.broadcast_to(np.asarray(ra, dtype=np.float64), (n,)).copy()
        self.rb = np.broadcast_to(np.asarray(rb, dtype=np.float64), (n,)).copy()
        self.values = np.broadcast_to(np.asarray(value, dtype=np.float64), (n,)).copy()
        self.value = None
        self.ymax = None if ymax is None else np.broadcast_to(np.asarray(ymax, dtype=np.float64), (n,)).copy()
        r = np.maximum(self.ra, self.rb)[:, None]
        lo = np.minimum(self.a, self.b) - r
        hi = np.maximum(self.a, self.b) + r
        if self.ymax is not None:
            hi[:, 1] = np.minimum(hi[:, 1], self.ymax)
        self.lo, self.hi = lo, hi
        self.bbox = (
            (float(lo[:, 0].min()), float(hi[:, 0].max()), float(lo[:, 1].min()), float(hi[:, 1].max()),
             float(lo[:, 2].min()), float(hi[:, 2].max()))
            if n
            else (0.0, -1.0, 0.0, -1.0, 0.0, -1.0)
        )

    def __len__(self) -> int:
        return len(self.a)

    def _inside_one(self, i, X, Y, Z):
        a, d = self.a[i], self.b[i] - self.a[i]
        L2 = float(d @ d)
        dx, dy, dz = X - _F(a[0]), Y - _F(a[1]), (Z - a[2]).astype(_F)
        w2 = dx * dx + dy * dy + dz * dz
        if L2 <= 1e-12:
            m = w2 <= _F(self.ra[i] ** 2)
        else:
            wd = dx * _F(d[0]) + dy * _F(d[1]) + dz * _F(d[2])
            t = np.clip(wd * _F(1 / L2), 0, 1)
            dist2 = w2 - t * (2 * wd - t * _F(L2))
            r = _F(self.ra[i]) + t * _F(self.rb[i] - self.ra[i])
            m = dist2 <= r * r
        if self.ymax is not None:
            m = m & (Y <= _F(self.ymax[i]))
        return m

    def inside(self, X, Y, Z):
        m = np.zeros(np.broadcast_shapes(np.shape(X), np.shape(Y), np.shape(Z)), dtype=bool)
        for i in range(len(self)):
            m |= self._inside_one(i, X, Y, Z)
        return m

    def _candidates(self, x0, x1, y0, y1, z0, z1):
        lo, hi = self.lo, self.hi
        return np.nonzero(
            (hi[:, 0] >= x0) & (lo[:, 0] <= x1) & (hi[:, 1] >= y0) & (lo[:, 1] <= y1) & (hi[:, 2] >= z0) & (lo[:, 2] <= z1)
        )[0]

    def paint(self, out, x, y, z):
        if not len(self):
            return
        xf, yf = x.astype(_F), y.astype(_F)
        for i in self._candidates(x[0], x[-1], y[0], y[-1], z[0], z[-1]):
            lo, hi = self.lo[i], self.hi[i]
            iz0, iz1 = _span(z, lo[2], hi[2])
            ix0, ix1 = _span(x, lo[0], hi[0])
            iy0, iy1 = _span(y, lo[1], hi[1])
            if iz1 <= iz0 or ix1 <= ix0 or iy1 <= iy0:
                continue
            X = xf[ix0:ix1][None, None, :]
            Y = yf[iy0:iy1][None, :, None]
            Z = z[iz0:iz1][:, None, None]
            m = self._inside_one(i, X, Y, Z)
            np.copyto(out[iz0:iz1, iy0:iy1, ix0:ix1], _F(self.values[i]), where=m)

    def paint_points(self, out, x, y, z):
        if not len(self) or not len(x):
            return
        for i in self._candidates(x.min(), x.max(), y.min(), y.max(), z.min(), z.max()):
            lo, hi = self.lo[i], self.hi[i]
            sel = np.nonzero(
                (x >= lo[0]) & (x <= hi[0]) & (y >= lo[1]) & (y <= hi[1]) & (z >= lo[2]) & (z <= hi[2])
            )[0]
            if sel.size == 0:
                continue
            m = self._inside_one(i, x[sel].astype(_F), y[sel].astype(_F), z[sel])
            out[sel[m]] = _F(self.values[i])


class NoiseTile:
    """Seeded, periodic, band-pass Gaussian noise field, trilinearly interpolated.

    Made once (FFT of white noise on an ``n^3`` grid of spacing ``spacing_mm``, kept to
    spatial wavelengths in ``band_mm``, normalised to unit standard deviation) and tiled
    periodically over space, so it is cheap to build and continuous to evaluate.

    Parameters
    ----------
    rng : numpy.random.Generator
    n : int
        Grid size per axis.
    spacing_mm : float
        Grid spacing in mm (period ``n * spacing_mm``).
    band_mm : (float, float)
        Shortest and longest kept wavelength in mm.
    """

    def __init__(self, rng: np.random.Generator, n: int = 64, spacing_mm: float = 0.5, band_mm=(2.0, 6.0)):
        self.n, self.h = int(n), float(spacing_mm)
        k = np.fft.fftfreq(self.n, d=self.h)
        kz = np.fft.rfftfreq(self.n, d=self.h)
        kk = np.sqrt(k[:, None, None] ** 2 + k[None, :, None] ** 2 + kz[None, None, :] ** 2)
        lo, hi = 1.0 / band_mm[1], 1.0 / band_mm[0]
        filt = ((kk >= lo) & (kk <= hi)).astype(np.float64)
        white = rng.standard_normal((self.n, self.n, self.n))
        f = np.fft.irfftn(np.fft.rfftn(white) * filt, s=white.shape, axes=(0, 1, 2))
        f = (f - f.mean()) / max(f.std(), 1e-12)
        self.field = np.ascontiguousarray(f.astype(_F))  # (z, y, x), periodic
        self.offset = rng.uniform(0, self.n * self.h, 3)  # (x, y, z) shift, mm

    def __call__(self, x, y, z) -> np.ndarray:
        """Field values (float32, unit std) at points x, y, z (same shape, mm)."""
        x, y, z = np.broadcast_arrays(x, y, z)
        shape = x.shape
        g = np.empty((3, x.size), dtype=np.float64)
        for row, c, o in zip(g, (z, y, x), self.offset[::-1]):
            row[:] = (np.ravel(c) + o) / self.h
            np.mod(row, self.n, out=row)
        v = ndimage.map_coordinates(self.field, g, order=1, mode="grid-wrap")
        return v.reshape(shape).astype(_F, copy=False)


# --------------------------------------------------------------------------------------
# phantom
# --------------------------------------------------------------------------------------


class Phantom:
    """Procedural 3-D object in patient coordinates (mm); see the module docstring.

    Parameters
    ----------
    primitives : sequence of Primitive
        Painted in order on air; later ones overwrite earlier ones.
    z_extent : (float, float)
        z range in mm where the object is defined; outside it everything is air.
    fov_mm : float
        Side of a square in-plane field of view, centred at x = y = 0, containing the object.
    name : str
    seed : int or None
        The seed the object was generated from (None for deterministic test objects).

    Attributes
    ----------
    primitives : list of Primitive
    z_extent, fov_mm, name, seed
    """

    def __init__(self, primitives: Sequence[Primitive], z_extent, fov_mm: float, name: str = "phantom", seed: int | None = None):
        z0, z1 = (float(v) for v in z_extent)
        if not z1 >= z0:
            raise ValueError(f"z_extent must be (z0, z1) with z1 >= z0, got {z_extent}")
        if not fov_mm > 0:
            raise ValueError("fov_mm must be > 0")
        self.primitives = list(primitives)
        self.z_extent = (z0, z1)
        self.fov_mm = float(fov_mm)
        self.name = name
        self.seed = seed

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(name={self.name!r}, seed={self.seed}, z_extent={self.z_extent}, "
                f"fov_mm={self.fov_mm:g}, primitives={len(self.primitives)})")

    def hu(self, x, y, z, max_voxels: int = 1 << 21) -> np.ndarray:
        """Sample the phantom in HU on a grid.

        Parameters
        ----------
        x : (nx,) array_like of float
            Column coordinates in mm, strictly monotonic.
        y : (ny,) array_like of float
            Row coordinates in mm, strictly monotonic.
        z : (nz,) array_like of float
            Table positions in mm, strictly monotonic.
        max_voxels : int
            Internal chunk size along z (voxels per chunk); results do not depend on it.

        Returns
        -------
        (nz, ny, nx) ndarray of float32
            HU; air (-1000) outside the object and outside ``z_extent``.
        """
        x, fx = _as_axis(x, "x")
        y, fy = _as_axis(y, "y")
        z, fz = _as_axis(z, "z")
        nz, ny, nx = z.size, y.size, x.size
        out = np.full((nz, ny, nx), AIR_HU, dtype=_F)
        step = max(1, int(max_voxels) // (ny * nx))
        for s in range(0, nz, step):
            zc = z[s : s + step]
            sub = out[s : s + step]
            for p in self.primitives:
                p.paint(sub, x, y, zc)
        zo = (z < self.z_extent[0]) | (z > self.z_extent[1])
        out[zo] = AIR_HU
        if fx:
            out = out[:, :, ::-1]
        if fy:
            out = out[:, ::-1, :]
        if fz:
            out = out[::-1]
        return np.ascontiguousarray(out)

    def hu_at(self, x, y, z) -> np.ndarray:
        """HU (float32) at scattered points; x, y, z broadcastable arrays in mm."""
        X, Y, Z = (np.asarray(v, dtype=np.float64) for v in np.broadcast_arrays(x, y, z))
        shape = X.shape
        X, Y, Z = X.ravel(), Y.ravel(), Z.ravel()
        out = np.full(X.shape, AIR_HU, dtype=_F)
        for p in self.primitives:
            p.paint_points(out, X, Y, Z)
        out[(Z < self.z_extent[0]) | (Z > self.z_extent[1])] = AIR_HU
        return out.reshape(shape)

    def mu(self, x, y, z, mu_water: float = MU_WATER, **kw) -> np.ndarray:
        """Linear attenuation in 1/mm, ``mu_water * (1 + HU/1000)`` clipped at 0.

        Same arguments as :meth:`hu`; returns (nz, ny, nx) float32.
        """
        h = self.hu(x, y, z, **kw)
        return np.maximum(_F(mu_water) * (1 + h / _F(1000)), 0, dtype=_F)

    def grid(self, n: int) -> np.ndarray:
        """(n,) float64 pixel-centre coordinates (mm) of an n-pixel grid spanning ``fov_mm``."""
        h = self.fov_mm / n
        return (np.arange(n) - (n - 1) / 2) * h
