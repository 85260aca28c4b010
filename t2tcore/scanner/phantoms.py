"""Procedural 3-D phantoms, continuous in mm, for the virtual helical CT scanner.

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
- primitives: :class:`Extrusion` (elliptical / super-elliptical cross-section whose centre,
  axes and angle vary piecewise-linearly with z, sharp z faces), :class:`Ellipsoid`,
  :class:`TubeSet` (tapered capsule segments: vessels, airways, ribs, bowel);
- simple phantoms for physics tests: :class:`WaterCylinder`, :class:`Disk`,
  :class:`Bead`, :class:`Composite`;
- seeded anatomy: :func:`abdomen`, :func:`chest`.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import ndimage

__all__ = [
    "MU_WATER",
    "AIR_HU",
    "Phantom",
    "Primitive",
    "Extrusion",
    "Ellipsoid",
    "TubeSet",
    "NoiseTile",
    "WaterCylinder",
    "Disk",
    "Bead",
    "Composite",
    "Lesion",
    "ChestPhantom",
    "abdomen",
    "chest",
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


# --------------------------------------------------------------------------------------
# simple phantoms (physics tests)
# --------------------------------------------------------------------------------------


def _cyl(radius, z0, z1, value, cx=0.0, cy=0.0):
    return Extrusion([z0, z1], cx, cy, radius, radius, value)


class WaterCylinder(Phantom):
    """Uniform cylinder along z in air.

    Parameters
    ----------
    radius_mm, length_mm : float
        Radius and length in mm; the cylinder spans ``center_z_mm +- length_mm/2`` in z.
    hu : float
        Its HU (default water, 0).
    center_z_mm : float
    center_xy_mm : (float, float)
    """

    def __init__(self, radius_mm: float, length_mm: float, hu: float = 0.0, center_z_mm: float = 0.0,
                 center_xy_mm=(0.0, 0.0)):
        if not radius_mm > 0 or not length_mm > 0:
            raise ValueError("radius_mm and length_mm must be > 0")
        self.radius_mm, self.length_mm, self.value_hu = float(radius_mm), float(length_mm), float(hu)
        self.center_xy_mm = tuple(float(v) for v in center_xy_mm)
        z0, z1 = center_z_mm - length_mm / 2, center_z_mm + length_mm / 2
        cx, cy = self.center_xy_mm
        fov = 2 * (max(abs(cx), abs(cy)) + radius_mm) * 1.1
        super().__init__([_cyl(radius_mm, z0, z1, float(hu), cx, cy)], (z0, z1), fov, name="water_cylinder")


class Disk(Phantom):
    """Thin disk perpendicular to z with a sharp rect z-profile (slice sensitivity profile).

    Points with ``|z - z0_mm| <= thickness_mm/2`` and in-plane radius ``<= radius_mm`` have
    ``hu``; evaluation is exact at the sample points.

    Parameters
    ----------
    z0_mm : float
        z of the disk's centre plane, mm.
    thickness_mm, radius_mm : float
    hu : float
        HU of the disk (e.g. 1000 for a high-contrast foil).
    inside : WaterCylinder, optional
        Embed the disk in this cylinder (painted first).
    center_xy_mm : (float, float)
    """

    def __init__(self, z0_mm: float, thickness_mm: float, radius_mm: float, hu: float,
                 inside: WaterCylinder | None = None, center_xy_mm=(0.0, 0.0)):
        if not thickness_mm > 0 or not radius_mm > 0:
            raise ValueError("thickness_mm and radius_mm must be > 0")
        self.z0_mm, self.thickness_mm, self.radius_mm, self.value_hu = float(z0_mm), float(thickness_mm), float(radius_mm), float(hu)
        z0, z1 = z0_mm - thickness_mm / 2, z0_mm + thickness_mm / 2
        cx, cy = (float(v) for v in center_xy_mm)
        prims = list(inside.primitives) if inside is not None else []
        prims.append(_cyl(radius_mm, z0, z1, float(hu), cx, cy))
        fov = 2 * (max(abs(cx), abs(cy)) + radius_mm) * 1.1
        ze = (z0, z1)
        if inside is not None:
            fov = max(fov, inside.fov_mm)
            ze = (min(z0, inside.z_extent[0]), max(z1, inside.z_extent[1]))
        super().__init__(prims, ze, fov, name="disk")


class Bead(Phantom):
    """Small sphere (e.g. a tungsten bead for the SSP or a point-spread test).

    Parameters
    ----------
    center_mm : (float, float, float)
        (x, y, z) in mm.
    radius_mm : float
    hu : float
    inside : Phantom, optional
        Embed the bead in this phantom (painted first).
    """

    def __init__(self, center_mm, radius_mm: float, hu: float, inside: Phantom | None = None):
        if not radius_mm > 0:
            raise ValueError("radius_mm must be > 0")
        c = np.asarray(center_mm, dtype=np.float64).reshape(3)
        self.center_mm, self.radius_mm, self.value_hu = tuple(c), float(radius_mm), float(hu)
        prims = list(inside.primitives) if inside is not None else []
        prims.append(Ellipsoid(c, (radius_mm,) * 3, float(hu)))
        fov = 2 * (max(abs(c[0]), abs(c[1])) + radius_mm) * 1.1
        ze = (c[2] - radius_mm, c[2] + radius_mm)
        if inside is not None:
            fov = max(fov, inside.fov_mm)
            ze = (min(ze[0], inside.z_extent[0]), max(ze[1], inside.z_extent[1]))
        super().__init__(prims, ze, fov, name="bead")


class Composite(Phantom):
    """Phantoms and/or primitives combined in painter's order (later overwrite earlier).

    Parameters
    ----------
    parts : sequence of Phantom or Primitive
    name : str
    fov_mm : float, optional
        Default: the largest part's field of view (primitives: their bounding box).
    """

    def __init__(self, parts: Sequence, name: str = "composite", fov_mm: float | None = None):
        prims, z0, z1, fov = [], np.inf, -np.inf, 0.0
        for p in parts:
            if isinstance(p, Phantom):
                prims.extend(p.primitives)
                z0, z1, fov = min(z0, p.z_extent[0]), max(z1, p.z_extent[1]), max(fov, p.fov_mm)
            elif isinstance(p, Primitive):
                prims.append(p)
                b = p.bbox
                z0, z1 = min(z0, b[4]), max(z1, b[5])
                fov = max(fov, 2.2 * max(abs(b[0]), abs(b[1]), abs(b[2]), abs(b[3])))
            else:
                raise ValueError(f"Composite parts must be Phantom or Primitive, got {type(p).__name__}")
        if not prims:
            raise ValueError("Composite needs at least one part")
        super().__init__(prims, (z0, z1), fov_mm if fov_mm is not None else fov, name=name)


# --------------------------------------------------------------------------------------
# anatomy helpers
# --------------------------------------------------------------------------------------


@dataclass
class Lesion:
    """A focal lesion or nodule placed in an anatomical phantom.

    Attributes
    ----------
    center_mm : (3,) float
        (x, y, z) in mm.
    axes_mm : (3,) float
        Semi-axes in mm.
    diameter_mm : float
        Largest diameter (2 * max semi-axis), mm.
    hu : float
        Lesion HU.
    background_hu : float
        Nominal HU of the surrounding tissue (contrast = hu - background_hu).
    organ : str
    kind : str
        'hypo', 'hyper', 'low-contrast' (abdomen) or 'solid', 'ground-glass' (chest).
    """

    center_mm: np.ndarray
    axes_mm: np.ndarray
    diameter_mm: float
    hu: float
    background_hu: float
    organ: str
    kind: str


def _unit(v) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    n = math.sqrt(float(v @ v))
    return v / max(n, 1e-12)


def _cross(a, b) -> np.ndarray:
    return np.array([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]])


def _perp(d, rng) -> np.ndarray:
    v = rng.standard_normal(3)
    return _unit(v - (v @ d) * d)


def _rotate(v, axis, ang) -> np.ndarray:
    """Rotate vector v about unit ``axis`` by ``ang`` radians (Rodrigues)."""
    k = _unit(axis)
    c, s = math.cos(ang), math.sin(ang)
    return v * c + _cross(k, v) * s + k * (float(k @ v) * (1 - c))


def _rot_xyz(ax, ay, az) -> np.ndarray:
    """Rotation matrix R = Rz(az) Ry(ay) Rx(ax) (radians)."""
    cx, sx, cy, sy, cz, sz = np.cos(ax), np.sin(ax), np.cos(ay), np.sin(ay), np.cos(az), np.sin(az)
    Rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    Ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    Rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return Rz @ Ry @ Rx


def _wobbly(rng, pts, n_per: int = 6, amp: float = 3.0) -> np.ndarray:
    """Densify a polyline (k, 3) to (k-1)*n_per+1 points with a smooth random wobble (mm)."""
    pts = np.asarray(pts, dtype=np.float64)
    out = [pts[0]]
    for p, q in zip(pts[:-1], pts[1:]):
        d = _unit(q - p)
        e1 = _perp(d, rng)
        e2 = _cross(d, e1)
        c1, c2 = rng.uniform(-amp, amp, 2)
        f = rng.integers(1, 3)
        for t in np.linspace(0, 1, n_per + 1)[1:]:
            w = np.sin(np.pi * t * f)
            out.append(p + t * (q - p) + w * (c1 * e1 + c2 * e2) * (t < 1))
    return np.array(out)


class _Tubes:
    """Accumulates capsule segments, then builds a :class:`TubeSet`."""

    def __init__(self):
        self.a, self.b, self.ra, self.rb, self.v, self.ymax = [], [], [], [], [], []

    def seg(self, a, b, ra, rb, v, ymax=np.inf):
        self.a.append(np.asarray(a, float)); self.b.append(np.asarray(b, float))
        self.ra.append(float(ra)); self.rb.append(float(rb)); self.v.append(float(v)); self.ymax.append(float(ymax))

    def path(self, pts, r0, r1, v, ymax=np.inf):
        pts = np.asarray(pts, float)
        n = len(pts) - 1
        r = np.linspace(r0, r1, n + 1)
        for i in range(n):
            self.seg(pts[i], pts[i + 1], r[i], r[i + 1], v, ymax)

    def extend(self, arr, v, dr: float = 0.0):
        """Add segments from a (n, 8) geometry array [a, b, ra, rb] with radius offset dr."""
        for row in np.asarray(arr).reshape(-1, 8):
            self.seg(row[:3], row[3:6], max(row[6] + dr, 0.05), max(row[7] + dr, 0.05), v)

    def build(self, zlim=None) -> TubeSet:
        a, b = np.array(self.a).reshape(-1, 3), np.array(self.b).reshape(-1, 3)
        ra, rb, v, ym = (np.array(t, dtype=np.float64) for t in (self.ra, self.rb, self.v, self.ymax))
        if zlim is not None and len(a):
            r = np.maximum(ra, rb)
            keep = (np.maximum(a[:, 2], b[:, 2]) + r >= zlim[0]) & (np.minimum(a[:, 2], b[:, 2]) - r <= zlim[1])
            a, b, ra, rb, v, ym = a[keep], b[keep], ra[keep], rb[keep], v[keep], ym[keep]
        return TubeSet(a, b, ra, rb, v, ymax=None if np.all(np.isinf(ym)) else ym)


def _grow_tree(rng, a0, d0, r0, *, inside, r_min, max_seg, len_diam=(1.5, 3.0), major=(0.78, 0.9),
               minor=(0.6, 0.78), ang_major=(10, 30), ang_minor=(30, 60), center=None, bias_w=0.3,
               taper=0.95, retries: int = 6) -> np.ndarray:
    """Grow a random bifurcating tube tree breadth-first inside a domain.

    Returns (n, 9) float64 rows ``[ax, ay, az, bx, by, bz, ra, rb, generation]`` (mm).
    A branch whose end leaves ``inside`` is deflected at random (and shortened) up to
    ``retries`` times, then dropped. Children get
    radii ``r * U(major)`` and ``r * U(minor)`` and branch off at random angles in a plane
    that turns by about 90 degrees each generation; directions are pulled away from
    ``center`` (e.g. the hilum) by ``bias_w`` so the tree fills its domain.
    """
    from collections import deque

    segs = []
    d0 = _unit(d0)
    q = deque([(np.asarray(a0, float), d0, float(r0), 0, _perp(d0, rng))])
    while q and len(segs) < max_seg:
        a, d, r, g, n = q.popleft()
        L = 2 * r * rng.uniform(*len_diam)
        b = a + d * L
        k = 0
        while not inside(b) and k < retries:  # deflect (and shorten) until the end is inside
            k += 1
            d = _unit(d + 0.5 * k / retries * rng.standard_normal(3) - (0.0 if center is None else 0.3 * _unit(a - center)))
            b = a + d * L * (1.0 if k <= retries // 2 else 0.5)
        if not inside(b):
            continue
        rb = r * taper
        segs.append((*a, *b, r, rb, g))
        n = _rotate(n, d, np.pi / 2 + rng.uniform(-0.5, 0.5))
        n = _unit(n - (n @ d) * d)
        sign = rng.choice([-1.0, 1.0])
        for rr, ang in ((r * rng.uniform(*major), rng.uniform(*ang_major)), (r * rng.uniform(*minor), -rng.uniform(*ang_minor))):
            if rr < r_min:
                continue
            nd = _rotate(d, n, sign * np.deg2rad(ang))
            if center is not None:
                nd = _unit(nd + bias_w * _unit(b - center))
            q.append((b, nd, rr, g + 1, n))
    return np.array(segs).reshape(-1, 9)


class _Textured:
    """Value callable: ``base + amp * tile(x, y, z)`` (HU)."""

    def __init__(self, base: float, amp: float, tile: NoiseTile):
        self.base, self.amp, self.tile = float(base), float(amp), tile

    def __call__(self, x, y, z):
        return (self.base + self.amp * self.tile(x, y, z)).astype(_F)


def _body_layers(A, B, p, fat, muscle, zk, scale_k, skin_hu=30.0):
    """Skin/fat/muscle/cavity extrusions; returns (list, cavity semi-axes (Ac, Bc) per knot)."""
    a = A * scale_k
    b = B * scale_k
    layers = [
        Extrusion(zk, 0, 0, a, b, skin_hu, p=p),
        Extrusion(zk, 0, 0, a - 2, b - 2, -100.0, p=p),
        Extrusion(zk, 0, 0, a - 2 - fat, b - 2 - fat, 50.0, p=p),
    ]
    Ac, Bc = a - 2 - fat - muscle, b - 2 - fat - muscle
    return layers, Ac, Bc


def _place(rng, ph: Phantom, sampler, radius, ok, tries: int = 200):
    """Draw a centre from ``sampler()`` whose centre and 6 surface points satisfy ``ok(hu)``."""
    dirs = np.vstack([np.eye(3), -np.eye(3), np.zeros((1, 3))])
    for _ in range(tries):
        c = sampler()
        pts = c + dirs * radius
        h = ph.hu_at(pts[:, 0], pts[:, 1], pts[:, 2])
        if ok(h):
            return c
    return None


def _vertebrae(rng, zlo, zhi, xv, yv, rv, period, disc, cortical=800.0, cancellous=200.0, disc_hu=85.0,
               prog=None):
    """Spine: vertebral bodies (cortical shell + cancellous core), discs and posterior elements.

    ``xv(z), yv(z)`` give the centre line (mm); returns (primitives, posterior TubeSet parts).
    """
    prims, post = [], _Tubes()
    ryf = 0.75
    phase = rng.uniform(0, period)
    k0 = int(np.floor((zlo - phase) / period)) - 1
    k1 = int(np.ceil((zhi - phase) / period)) + 1
    canal = []
    for k in range(k0, k1 + 1):
        zb = phase + k * period
        zt = zb + period - disc
        zz = np.array([zb, zt])
        cx, cy = xv(zz), yv(zz)
        r = rv * rng.uniform(0.95, 1.05)
        prims.append(Extrusion(zz, cx, cy, r, r * ryf, cortical))
        prims.append(Extrusion([zb + 1.2, zt - 1.2], cx, cy, r - 1.5, r * ryf - 1.5, cancellous))
        zd = np.array([zt, zb + period])
        prims.append(Extrusion(zd, xv(zd), yv(zd), r + 0.8, r * ryf + 0.8, disc_hu))
        # neural arch (pedicles + lamina) as a bony ring around the canal, spinous and transverse processes
        za = np.array([zb + 0.15 * period, zt - 0.1 * period])
        acx, acy = xv(za), yv(za) + r * ryf + 9
        prims.append(Extrusion(za, acx, acy, 0.62 * r, 0.5 * r, 700.0))
        zm = za.mean()
        base = np.array([xv(zm), yv(zm) + r * ryf + 9 + 0.45 * r, zm])
        tip = base + np.array([rng.uniform(-2, 2), 0.9 * r + rng.uniform(0, 8), -0.45 * period])
        post.seg(base, tip, 4.5, 3.5, 650.0)
        for s in (-1, 1):
            tb = np.array([xv(zm) + s * 0.45 * r, yv(zm) + r * ryf + 6, zm + 2])
            tt = tb + np.array([s * (0.9 * r + rng.uniform(0, 8)), rng.uniform(2, 8), rng.uniform(-4, 2)])
            post.seg(tb, tt, 4.0, 3.0, 650.0)
        canal.append(zb)
    zc = np.linspace(zlo - 10, zhi + 10, 12)
    canal_prim = Extrusion(zc, xv(zc), yv(zc) + rv * ryf + 9, 0.36 * rv, 0.3 * rv, 15.0)
    return prims, post, canal_prim


def _ribs(rng, t: _Tubes, Aw, Bw, z_post, drop, phi_end, yv0, r_out=4.2, r_in=2.6, cart=False, n_pts=22):
    """One rib pair per entry of z_post: arcs at the wall ellipse (Aw, Bw) descending in z.

    The arc starts posteriorly beside the spine (angle ~ 100 deg from +x towards +y) and
    runs laterally and anteriorly to ``phi_end`` (radians, negative = anterior) while
    dropping ``drop`` mm; costal cartilage (120 HU) continues anteriorly if ``cart``.
    Returns the marrow tubes, to be painted after the cortical ones in ``t``.
    """
    marrow = _Tubes()
    for zp, dr, pe in zip(z_post, drop, phi_end):
        for s in (-1, 1):
            phi0 = np.deg2rad(rng.uniform(70, 78))
            phi = np.linspace(phi0, pe, n_pts)
            u = (phi0 - phi) / (phi0 - pe)
            zz = zp + rng.uniform(-3, 3) - dr * (0.55 * u + 0.45 * u ** 2)
            wob = 1 + 0.02 * np.sin(3 * phi + rng.uniform(0, 6))
            pts = np.c_[s * Aw * np.cos(phi) * wob, Bw * np.sin(phi) * wob, zz]
            pts[0, 1] = min(pts[0, 1], yv0 + 25)
            t.path(pts, r_out, r_out * 0.85, 850.0)
            marrow.path(pts, r_in, r_in * 0.85, 250.0)
            if cart:
                pc = np.linspace(pe, -np.pi / 2 + 0.12, 6)
                zc = zz[-1] - np.linspace(0, 1, 6) ** 1.2 * rng.uniform(-5, 15)
                cp = np.c_[s * Aw * np.cos(pc) * 0.97, Bw * np.sin(pc) * 0.97, zc]
                marrow.path(cp, r_out * 0.85, r_out * 0.8, 120.0)
    return marrow


class _LungValue:
    """Lung parenchyma HU with a fibrosis-like reticular texture.

    ``hu = -850 + A * (ground_glass + reticular * ret)``, where the involvement
    ``A in [0, 1]`` grows with the severity score ``0.6 * periphery + 0.25 * base +
    0.15 * patch`` (at most 1) above the threshold ``1 - 1.15 * fibrosis``
    (0: no involvement at all), and ``ret = clip(1 - |R| / w, 0, 1)`` traces the zero
    surfaces of a band-pass noise field ``R`` (walls ~1 mm thick, cells ~3-5 mm), with
    honeycomb-like cysts where involvement is high.
    """

    def __init__(self, rng, lung: Extrusion, z_apex, z_base, tile: NoiseTile, tile2: NoiseTile, fibrosis=0.0):
        self.lung, self.z_apex, self.z_base = lung, float(z_apex), float(z_base)
        self.tile, self.tile2 = tile, tile2
        self.k = rng.standard_normal((3, 3)) / rng.uniform(35, 70, (3, 1))
        self.ph = rng.uniform(0, 2 * np.pi, 3)
        self.fibrosis = float(fibrosis)

    wants_rho = True

    def involvement(self, x, y, z, rho=None):
        """A in [0, 1] (float32) at points (1-D arrays, mm); zeros when fibrosis == 0."""
        f = self.fibrosis
        A = np.zeros(np.shape(x), dtype=_F)
        if f <= 0:
            return A
        if rho is None:
            rho = self.lung.rho(x, y, z)
        per = np.clip((rho - _F(0.5)) * _F(2), 0, 1)
        base = np.clip((_F(self.z_apex) - z) * _F(1 / (self.z_apex - self.z_base)), 0, 1) ** 1.5
        s0 = _F(0.6) * per + _F(0.25) * base
        thr = 1.0 - 1.15 * f
        cand = np.nonzero(s0 > thr - 0.15)[0]  # the patch term is within +-0.15
        if cand.size:
            xc, yc, zc = x[cand], y[cand], z[cand]
            patch = sum(np.cos(_F(self.k[i, 0]) * xc + _F(self.k[i, 1]) * yc + _F(self.k[i, 2]) * zc + _F(self.ph[i]))
                        for i in range(3)) / 3
            A[cand] = np.clip((s0[cand] + _F(0.15) * patch - _F(thr)) * _F(4), 0, 1)
        return A

    def __call__(self, x, y, z, rho=None):
        out = np.full(np.shape(x), -850.0, dtype=_F)
        if self.fibrosis <= 0:
            return out
        A = self.involvement(x, y, z, rho)
        sel = np.nonzero(A > 0)[0]
        if sel.size == 0:
            return out
        xs, ys, zs, a = x[sel], y[sel], z[sel], A[sel]
        R = self.tile(xs, ys, zs)
        ret = np.clip(1 - np.abs(R) / _F(0.3), 0, 1)
        h = -850 + a * (_F(130) + _F(650) * ret)
        hc = np.nonzero(a > 0.7)[0]
        if hc.size:
            C = self.tile2(xs[hc], ys[hc], zs[hc])
            cyst = (C > 1.3) & (ret[hc] < 0.3)
            h[hc[cyst]] = -960
        out[sel] = h
        return out


# --------------------------------------------------------------------------------------
# anatomy
# --------------------------------------------------------------------------------------

LIVER_HU, SPLEEN_HU, KIDNEY_CORTEX_HU, KIDNEY_MEDULLA_HU = 60.0, 70.0, 160.0, 110.0


def _check_anatomy_args(seed, z_extent):
    if seed is None or int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    z0, z1 = (float(v) for v in z_extent)
    if not z1 > z0:
        raise ValueError(f"z_extent must be (z0, z1) with z1 > z0 (mm), got {z_extent}")
    if z1 - z0 > 400:
        raise ValueError("z_extent longer than 400 mm is outside the modelled anatomy")
    return int(seed), z0, z1


def abdomen(seed: int, z_extent=(0.0, 100.0), anatomy_offset_mm: float = 0.0, n_lesions: int | None = None,
            texture: bool = True) -> Phantom:
    """Seeded, contrast-enhanced (portal venous) abdomen at the level of the liver and kidneys.

    Parameters
    ----------
    seed : int
        Patient seed; everything random (size, shape, organ positions, vessel paths,
        lesion count, size, position and contrast) follows from it.
    z_extent : (float, float)
        z range in mm; the anatomy is centred on it (z grows towards the head).
    anatomy_offset_mm : float
        Anatomical level at the centre of ``z_extent`` relative to the default (about
        L1/L2, where liver, spleen, both kidneys and bowel are in view); + is cranial.
    n_lesions : int, optional
        Number of lesions (default: 3 to 8 drawn from the seed).
    texture : bool
        Add a +-6 HU band-pass texture to liver and spleen.

    Returns
    -------
    Phantom
        With extra attributes ``lesions`` (list of :class:`Lesion`, diameters 2-15 mm),
        ``vessel_segments`` (:class:`TubeSet`) and ``anatomy`` (dict of key parameters).

    Notes
    -----
    Body: super-elliptical outline with skin, subcutaneous fat (-100 HU), muscle (50) and
    visceral fat (-90). Liver 60 HU, spleen 70, kidneys (cortex 160, medulla 110, sinus
    fat), pancreas, stomach and gallbladder; aorta (200), IVC (150), portal (180) and
    hepatic (160) venous trees branching inside the liver, renal, celiac, splenic and
    mesenteric vessels, all running obliquely to z; lumbar vertebrae (cortical 800,
    cancellous 200) with discs (85) and posterior elements, ribs 9-12 crossing slices
    obliquely; small bowel and colon loops with gas above fluid levels (patient supine).
    """
    seed, z0, z1 = _check_anatomy_args(seed, z_extent)
    rng = np.random.default_rng([seed, 1])
    zc = 0.5 * (z0 + z1) - anatomy_offset_mm

    def Z(zp):  # anatomical level (mm, 0 ~ L1/L2) -> table z
        return np.asarray(zp, dtype=np.float64) + zc

    zlo, zhi = z0 - zc - 20, z1 - zc + 20  # anatomical range needed (plus margin)
    U = rng.uniform
    A, B = U(135, 180), 0.0
    B = A * U(0.64, 0.8)
    p = U(2.2, 2.9)
    fat, muscle = U(8, 32), U(8, 13)
    zk_p = np.array([-250.0, 0.0, 250.0])
    taper = np.array([1 + U(-0.06, 0.06), 1.0, 1 + U(-0.06, 0.06)])
    prims, Ac_k, Bc_k = _body_layers(A, B, p, fat, muscle, Z(zk_p), taper)
    Ac, Bc = float(Ac_k[1]), float(Bc_k[1])
    prims.append(Extrusion(Z(zk_p), 0, 0, Ac_k, Bc_k, -90.0, p=p))  # visceral fat
    s = Ac / 125.0  # organ scale

    # spine centre line
    rv = U(21, 25) * min(max(s, 0.9), 1.15)
    yv0 = Bc + muscle - 62 * min(max(s, 0.85), 1.1)
    curv, scol, sph = U(4, 14), U(-4, 4), U(0, 6)
    xv = lambda zz: scol * np.sin((np.asarray(zz) - zc) / 180 + sph)
    yv = lambda zz: yv0 - curv * (1 - ((np.asarray(zz) - zc) / 160) ** 2)
    ryv = 0.75 * rv
    # paraspinal and psoas muscles
    for sg in (-1, 1):
        prims.append(Extrusion(Z(zk_p), sg * (rv * 0.6 + 24 * s), yv0 + 42 * s, 26 * s, 19 * s, 50.0, angle=sg * 0.15))
        zps = np.array([-120.0, -40.0, 20.0, 60.0])
        prims.append(Extrusion(Z(zps), sg * (rv + np.array([24, 16, 10, 4]) * s), yv0 + np.array([-12, -6, -2, 0]),
                               np.array([24, 17, 10, 3]) * s, np.array([18, 13, 8, 3]) * s, 45.0, angle=sg * 0.5))

    # bowel: colon frame + small bowel random walks, walls then contents then gas
    wall, cont, gas = _Tubes(), _Tubes(), _Tubes()
    cav_ok = lambda q, m=0.85: (q[0] / Ac) ** 2 + (q[1] / Bc) ** 2 < m ** 2 and q[1] < yv0 - rv - 25

    def add_bowel(pts, r, content_hu, gas_frac):
        for i in range(len(pts) - 1):
            a, b = pts[i], pts[i + 1]
            wall.seg(a, b, r + 2.2, r + 2.2, 40.0)
            cont.seg(a, b, r, r, content_hu)
            if gas_frac > 0:
                gas.seg(a, b, r, r, -1000.0, ymax=min(a[1], b[1]) - r + gas_frac * 2 * r)

    colon = np.array([[-0.62 * Ac, -0.05 * Bc, -140], [-0.66 * Ac, -0.15 * Bc, -60], [-0.6 * Ac, -0.3 * Bc, 10],
                      [-0.2 * Ac, -0.62 * Bc, U(-30, 10)], [0.25 * Ac, -0.62 * Bc, U(-20, 20)],
                      [0.62 * Ac, -0.25 * Bc, U(30, 60)], [0.7 * Ac, 0.0, -40], [0.66 * Ac, -0.05 * Bc, -140]])
    colon = _wobbly(rng, colon, 4, 8.0)
    colon[:, 2] = Z(colon[:, 2])
    add_bowel(colon, U(15, 22) * s, U(-60, 20), U(0.2, 0.6))
    for _ in range(int(rng.integers(14, 24))):
        r = U(8, 12) * s
        for _t in range(50):
            q = np.array([U(-0.6, 0.6) * Ac, U(-0.75, 0.1) * Bc, U(-150, 35)])
            if cav_ok(q, 0.7):
                break
        pts, d = [q], _unit(rng.standard_normal(3))
        for _k in range(int(rng.integers(6, 16))):
            for _t in range(12):
                nd = _unit(d + 0.9 * rng.standard_normal(3))
                nq = pts[-1] + nd * U(10, 16)
                if cav_ok(nq) and -160 < nq[2] < 45:
                    break
            else:
                break
            d = nd
            pts.append(nq)
        if len(pts) > 1:
            pts = np.array(pts)
            pts[:, 2] = Z(pts[:, 2])
            gf = U(0.15, 0.5) if rng.random() < 0.6 else 0.0
            add_bowel(pts, r, U(5, 30), gf)
    # stomach (left upper quadrant, anterior), same layering
    st = np.array([[0.35 * Ac, -0.05 * Bc, 105], [0.32 * Ac, -0.3 * Bc, 70], [0.1 * Ac, -0.5 * Bc, 40],
                   [-0.12 * Ac, -0.5 * Bc, 30]])
    st[:, 2] = Z(st[:, 2])
    sr = np.array([33, 30, 20, 13]) * s * U(0.8, 1.1)
    gfs = U(0.15, 0.45)
    for i in range(3):
        wall.seg(st[i], st[i + 1], sr[i] + 3, sr[i + 1] + 3, 40.0)
        cont.seg(st[i], st[i + 1], sr[i], sr[i + 1], 15.0)
        gas.seg(st[i], st[i + 1], sr[i], sr[i + 1], -1000.0, ymax=min(st[i, 1], st[i + 1, 1]) - sr[i] + gfs * 2 * sr[i])
    zl = (Z(zlo), Z(zhi))
    prims += [wall.build(zl), cont.build(zl), gas.build(zl)]

    # pancreas
    ya0 = yv0 - curv - ryv - 14 * s  # aorta y at the centre level
    panc = _Tubes()
    pp = np.array([[-0.2 * Ac, ya0 - 25 * s, 10], [0.0, ya0 - 32 * s, 20], [0.25 * Ac, ya0 - 20 * s, 30],
                   [0.5 * Ac, 0.2 * Bc, 40]])
    pp = _wobbly(rng, pp, 3, 3)
    pp[:, 2] = Z(pp[:, 2])
    panc.path(pp, 13 * s, 7 * s, 45.0)
    prims.append(panc.build())

    # kidneys
    kid_prims, hila, kidneys = [], {}, []
    for sg, zk_ in ((-1, U(-40, -20)), (1, U(-25, -5))):
        c = np.array([sg * (rv + U(38, 48) * s), yv0 + U(0, 10), float(Z(zk_))])
        R = _rot_xyz(np.deg2rad(U(8, 18)), -sg * np.deg2rad(U(8, 18)), sg * np.deg2rad(U(20, 40)))
        ax = np.array([U(25, 30) * s, U(18, 22) * s, U(48, 58)])
        cortex = Ellipsoid(c, ax, KIDNEY_CORTEX_HU, R)
        kid_prims += [cortex, Ellipsoid(c, ax - U(5, 8), KIDNEY_MEDULLA_HU, R)]
        sinus_c = c + R @ np.array([-sg * ax[0] * 0.55, -0.2 * ax[1], 0])
        kid_prims.append(Ellipsoid(sinus_c, (ax[0] * 0.35, ax[1] * 0.4, ax[2] * 0.4), -60.0, R))
        hila[sg] = c + R @ np.array([-sg * ax[0] * 1.05, -0.3 * ax[1], 0])
        kidneys.append(cortex)
    prims += kid_prims

    # spleen, liver, gallbladder
    zsp = np.array([-5.0, 10, 45, 72, 85]) + U(-8, 8)
    sp_a = np.array([0.2, 0.75, 1.0, 0.75, 0.2]) * U(45, 60) * s
    sp_b = np.array([0.3, 0.8, 1.0, 0.8, 0.3]) * U(17, 24) * s
    ang = np.deg2rad(U(120, 145))
    spx, spy = 0.93 * Ac - 0.55 * sp_b.max() - 5, 0.42 * Bc
    spleen = Extrusion(Z(zsp), spx - 0.3 * sp_a * np.cos(ang), spy - 0.3 * sp_a * np.sin(ang), sp_a, sp_b,
                       SPLEEN_HU, angle=ang)
    zlr = np.array([-70.0, -45, -10, 40, 80, 100, 112]) + U(-10, 10)
    la = np.array([0.10, 0.22, 0.32, 0.40, 0.44, 0.34, 0.12]) * Ac * U(0.9, 1.1, 7)
    lb = np.array([0.22, 0.45, 0.62, 0.72, 0.78, 0.60, 0.25]) * Bc * U(0.9, 1.1, 7)
    lcy = np.array([-0.3, -0.2, -0.1, -0.05, -0.05, -0.05, -0.05]) * Bc
    right_lobe = Extrusion(Z(zlr), -Ac + la + 4, lcy, la, lb, LIVER_HU, angle=U(-0.15, 0.15))
    zll = np.array([15.0, 35, 75, 95]) + U(-10, 5)
    left_lobe = Extrusion(Z(zll), np.linspace(-0.15, 0.12, 4) * Ac * U(0.8, 1.2), -0.52 * Bc,
                          np.array([0.1, 0.28, 0.3, 0.12]) * Ac * U(0.85, 1.15), np.array([0.12, 0.25, 0.3, 0.15]) * Bc,
                          LIVER_HU, angle=U(-0.35, -0.1))
    if texture:
        tex = NoiseTile(rng, 48, 1.0, (3.0, 12.0))
        for org, base in ((spleen, SPLEEN_HU), (right_lobe, LIVER_HU), (left_lobe, LIVER_HU)):
            org.value = _Textured(base, 6.0, tex)
    else:
        NoiseTile(rng, 48, 1.0, (3.0, 12.0))  # keep the random stream identical
    prims += [spleen, right_lobe, left_lobe]
    gb_c = np.array([-0.32 * Ac, -0.45 * Bc, float(Z(U(-25, -5)))])
    prims.append(Ellipsoid(gb_c, (U(12, 17), U(12, 17), U(25, 38)), 10.0, _rot_xyz(U(0.2, 0.5), U(-0.3, 0.3), 0)))
    liver_in = lambda q, m=0.9: right_lobe.rho_point(*map(float, q)) < m or left_lobe.rho_point(*map(float, q)) < m

    # vessels
    vs = _Tubes()
    zpa = np.arange(-100, 171, 10.0)
    ap = np.c_[xv(Z(zpa)) + 0.25 * rv + 8 * s, yv(Z(zpa)) - ryv - 14 * s, zpa]
    ap = _wobbly(rng, ap[::3], 3, 3)
    ap[:, 2] = Z(ap[:, 2])
    ra_ao = U(9, 12) * s
    vs.path(ap[::-1], ra_ao * 0.8, ra_ao, 200.0)
    aorta_at = lambda zp: np.array([np.interp(Z(zp), ap[:, 2], ap[:, 0]), np.interp(Z(zp), ap[:, 2], ap[:, 1]), float(Z(zp))])
    bif = ap[0]
    for sg in (-1, 1):
        vs.path(_wobbly(rng, [bif, bif + [sg * 45 * s, 20, -80]], 4, 4), ra_ao * 0.6, ra_ao * 0.55, 200.0)
    ivc_x = -(0.6 * rv + 14 * s)
    ip = np.array([[ivc_x, float(yv(Z(-110))) - ryv - 8, -110], [ivc_x, float(yv(Z(0))) - ryv - 10, 0],
                   [ivc_x - 5, float(yv(Z(60))) - ryv - 14, 60], [ivc_x - 8, float(yv(Z(100))) - ryv - 20, 100]])
    ip = _wobbly(rng, ip, 4, 3)
    ip[:, 2] = Z(ip[:, 2])
    r_ivc = U(10, 13) * s
    vs.path(ip, r_ivc, r_ivc, 150.0)
    ivc_at = lambda zp: np.array([np.interp(Z(zp), ip[:, 2], ip[:, 0]), np.interp(Z(zp), ip[:, 2], ip[:, 1]), float(Z(zp))])
    for sg in (-1, 1):  # renal arteries and veins
        h = hila[sg]
        zpk = h[2] - zc
        a0 = aorta_at(zpk + U(5, 15))
        vs.path(_wobbly(rng, [a0, 0.5 * (a0 + h) + [0, 8, 3], h], 4, 2.5), 3.2, 2.6, 200.0)
        v0 = ivc_at(zpk + U(0, 10))
        mid = [a0[0], a0[1] - ra_ao - 6, v0[2]] if sg > 0 else 0.5 * (v0 + h)
        vs.path(_wobbly(rng, [h, mid, v0], 4, 2), 4.5, 5.5, 170.0)
    # celiac -> hepatic + splenic arteries; SMA
    cel = aorta_at(U(40, 50))
    cel2 = cel + [0, -22 * s, 3]
    vs.path([cel, cel2], 3.5, 3.2, 200.0)
    porta = np.array([-0.3 * Ac, -0.12 * Bc, float(Z(U(50, 60)))])
    vs.path(_wobbly(rng, [cel2, 0.5 * (cel2 + porta) + [0, -5, 2], porta], 4, 3), 2.8, 2.2, 200.0)
    sp_hil = np.array([spx - 0.8 * sp_b.max() * np.cos(ang - np.pi / 2) - 5, spy - 10, float(Z(U(35, 45)))])
    vs.path(_wobbly(rng, [cel2, [0.25 * Ac, ya0 - 10, cel2[2] - 5], sp_hil], 6, 6), 3.0, 2.5, 200.0)
    sma0 = aorta_at(U(25, 32))
    sma = np.array([sma0, sma0 + [0, -15 * s, -6], sma0 + [4, -28 * s, -50], sma0 + [6, -32 * s, -130]])
    vs.path(_wobbly(rng, sma, 5, 3), 4.0, 2.5, 200.0)
    # portal system
    conf = np.array([-0.05 * Ac, ya0 - 30 * s, float(Z(U(20, 30)))])
    vs.path(_wobbly(rng, [conf, porta], 5, 3), 7.0 * s, 7.5 * s, 180.0)
    vs.path(_wobbly(rng, [conf, conf + [3, -8, -60], conf + [6, -12, -140]], 5, 4), 5.5, 4.0, 170.0)
    vs.path(_wobbly(rng, [conf, [0.25 * Ac, ya0 - 12, conf[2] + 5], sp_hil], 6, 4), 4.5, 4.5, 180.0)
    pt = []
    for d, r0 in (([-1.0, 0.25, 0.15], 5.5), ([0.6, -0.8, 0.2], 4.5)):
        pt.append(_grow_tree(rng, porta, d, r0 * s, inside=liver_in, r_min=0.9, max_seg=140, center=porta,
                             len_diam=(2.0, 4.0), bias_w=0.4))
    hv_top = ivc_at(U(92, 100))
    for d in ([-1.0, 0.2, -0.35], [-0.4, -0.9, -0.3], [0.7, -0.7, -0.2]):
        pt.append(_grow_tree(rng, hv_top, d, U(4.5, 6), inside=liver_in, r_min=0.9, max_seg=90, center=hv_top,
                             len_diam=(2.5, 4.5), bias_w=0.5) * [1] * 9)
    for i, tree in enumerate(pt):
        vs.extend(tree[:, :8], 180.0 if i < 2 else 160.0)
    vessel_set = vs.build(zl)
    prims.append(vessel_set)

    # lesions
    ph0 = Phantom(prims, (z0 - 1000, z1 + 1000), 1.0)  # placement helper (no z clipping)
    n_les = int(rng.integers(3, 9)) if n_lesions is None else int(n_lesions)
    lesions, les_prims = [], []
    organs = [("liver", [right_lobe, left_lobe], LIVER_HU, 0.65), ("spleen", [spleen], SPLEEN_HU, 0.15),
              ("kidney", kidneys, KIDNEY_CORTEX_HU, 0.2)]
    zmid_lo, zmid_hi = z0 + 0.05 * (z1 - z0), z1 - 0.05 * (z1 - z0)
    for _ in range(n_les):
        oi = rng.choice(3, p=[o[3] for o in organs])
        oname, oprims, base, _w = organs[oi]
        d = float(np.exp(U(np.log(2.0), np.log(15.0))))
        axes = np.clip(d / 2 * U(0.85, 1.0, 3), 1.0, 7.5)
        axes[rng.integers(3)] = d / 2
        kind = rng.choice(["hypo", "hyper", "low-contrast"], p=[0.5, 0.2, 0.3])
        if kind == "hypo":
            hu = base - U(30, 60) if oname != "kidney" else U(0, 20)
        elif kind == "hyper":
            hu = base + U(40, 80)
        else:
            hu = base + rng.choice([-1, 1]) * U(10, 20)
        org = oprims[int(rng.integers(len(oprims)))]
        bb = org.bbox

        def sampler(bb=bb):
            return np.array([U(bb[0], bb[1]), U(bb[2], bb[3]), U(max(bb[4], zmid_lo), min(bb[5], zmid_hi))
                             if min(bb[5], zmid_hi) > max(bb[4], zmid_lo) else U(bb[4], bb[5])])

        tol = 25.0 if oname != "kidney" else 70.0
        c = _place(rng, ph0, sampler, axes.max() + 1.0, lambda h, b=base, t=tol: bool(np.all(np.abs(h - b) < t)))
        if c is None:
            continue
        R = _rot_xyz(*U(0, np.pi, 3))
        les_prims.append(Ellipsoid(c, axes, float(hu), R))
        lesions.append(Lesion(c, axes, float(2 * axes.max()), float(hu), base, oname, str(kind)))
    prims += les_prims

    # spine and ribs (last: bone)
    vprims, post, canal = _vertebrae(rng, Z(zlo), Z(zhi), xv, yv, rv, U(33, 38), U(8, 10))
    ribs = _Tubes()
    zr = np.array([150.0, 122, 96, 72]) + U(-10, 10)
    marrow = _ribs(rng, ribs, Ac + muscle * 0.5, Bc + muscle * 0.5, Z(zr), U(40, 70, 4),
                   np.deg2rad([-35.0, -20, 5, 30]) + U(-0.1, 0.1, 4), yv0)
    prims += vprims + [post.build(zl), canal, ribs.build(zl), marrow.build(zl)]

    fov = 2 * 1.06 * max(A * taper.max(), B * taper.max()) * 1.02
    ph = Phantom(prims, (z0, z1), fov, name=f"abdomen-{seed}", seed=seed)
    ph.lesions = lesions
    ph.vessel_segments = vessel_set
    ph.anatomy = dict(A=A, B=B, fat_mm=fat, muscle_mm=muscle, cavity=(Ac, Bc), spine_y=yv0, texture=texture,
                      anatomy_offset_mm=anatomy_offset_mm)
    return ph


class ChestPhantom(Phantom):
    """A :class:`Phantom` made by :func:`chest`; adds :meth:`with_fibrosis`."""

    def _set_fibrosis(self, f: float) -> None:
        for lung, lv in zip(self.lungs, self._lung_values):
            lv.fibrosis = f
            lung.value = lv if f > 0 else -850.0
        self.fibrosis = f

    def with_fibrosis(self, fibrosis: float) -> "ChestPhantom":
        """The same patient with another fibrosis extent (identical to ``chest(seed, ..., fibrosis)``).

        Shares all geometry with ``self`` (cheap); ``self`` is not modified.
        """
        import copy

        if not 0.0 <= float(fibrosis) <= 1.0:
            raise ValueError(f"fibrosis must be in [0, 1], got {fibrosis}")
        new = copy.copy(self)
        new.lungs = [copy.copy(l) for l in self.lungs]
        new._lung_values = [copy.copy(v) for v in self._lung_values]
        for lv, lung in zip(new._lung_values, new.lungs):
            lv.lung = lung
        repl = {id(o): n for o, n in zip(self.lungs, new.lungs)}
        new.primitives = [repl.get(id(p), p) for p in self.primitives]
        new._set_fibrosis(float(fibrosis))
        return new


def chest(seed: int, z_extent=(0.0, 100.0), fibrosis: float = 0.0, anatomy_offset_mm: float = 0.0,
          n_nodules: int | None = None) -> "ChestPhantom":
    """Seeded, non-contrast chest at the level of the carina and hila.

    Parameters
    ----------
    seed : int
        Patient seed (size, shape, airway and vessel trees, rib course, nodules, texture).
        The random draws do not depend on ``fibrosis``: the same seed with a different
        ``fibrosis`` is the same patient with more or less disease.
    z_extent : (float, float)
        z range in mm; the anatomy is centred on it (z grows towards the head).
    fibrosis : float in [0, 1]
        Extent of a fibrosis-like reticular pattern (with ground-glass haze and, where
        severe, honeycomb-like cysts) starting in the lung periphery and bases; 0: none.
    anatomy_offset_mm : float
        Anatomical level at the centre of ``z_extent`` relative to the default (20-40 mm
        below the carina); + is cranial.
    n_nodules : int, optional
        Number of nodules (default 1 to 5 from the seed).

    Returns
    -------
    ChestPhantom
        With extra attributes ``airway_segments`` (:class:`TubeSet` of the airway walls:
        ``a``, ``b`` (n, 3) mm, outer radii ``ra``, ``rb`` (n,) mm), ``airway_generation``
        (n,) int, ``vessel_segments`` (TubeSet), ``nodules`` (list of :class:`Lesion`),
        ``lungs`` (the two lung :class:`Extrusion` objects) and ``anatomy`` (dict).

    Notes
    -----
    Lungs -850 HU; airway tree from the trachea to ~2 mm branches (wall +50 HU, air
    lumen) grown with random branching angles; pulmonary arterial and venous trees
    (40 HU, tapering to ~1 mm); heart, mediastinal fat and great vessels; thoracic spine,
    12 rib pairs with costal cartilage, sternum; solid (20-60 HU) and ground-glass
    (-700..-500 HU) nodules 3-20 mm.
    """
    seed, z0, z1 = _check_anatomy_args(seed, z_extent)
    if not 0.0 <= float(fibrosis) <= 1.0:
        raise ValueError(f"fibrosis must be in [0, 1], got {fibrosis}")
    rng = np.random.default_rng([seed, 2])
    zc = 0.5 * (z0 + z1) - anatomy_offset_mm

    def Z(zp):
        return np.asarray(zp, dtype=np.float64) + zc

    zlo, zhi = z0 - zc - 20, z1 - zc + 20
    U = rng.uniform
    A = U(135, 175)
    B = A * U(0.62, 0.76)
    p = U(2.0, 2.5)
    fat, muscle = U(5, 25), U(10, 17)
    zk_p = np.array([-250.0, 0.0, 250.0])
    taper = np.array([1 + U(0, 0.06), 1.0, 1 - U(0, 0.08)])
    prims, Ac_k, Bc_k = _body_layers(A, B, p, fat, muscle, Z(zk_p), taper)
    Ac, Bc = float(Ac_k[1]), float(Bc_k[1])
    prims.append(Extrusion(Z(zk_p), 0, 0, Ac_k, Bc_k, -90.0, p=p))
    s = Ac / 120.0

    # spine line (thoracic kyphosis: centre moves posteriorly in mid thorax)
    rv = U(15, 18) * min(max(s, 0.9), 1.15)
    ryv = 0.75 * rv
    yv0 = Bc - 28 * s
    kyph, scol = U(4, 12), U(-3, 3)
    xv = lambda zz: scol * np.sin((np.asarray(zz) - zc) / 150)
    yv = lambda zz: yv0 + kyph * (1 - ((np.asarray(zz) - zc) / 180) ** 2) - kyph
    for sg in (-1, 1):
        prims.append(Extrusion(Z(zk_p), sg * (rv * 0.6 + 20 * s), Bc + muscle * 0.2, 24 * s, 14 * s, 50.0, angle=sg * 0.2))

    # lungs: z knots from base to apex
    z_apex = U(120, 145)
    z_base = -U(140, 160)
    zkl = np.array([z_base, -60, 0, 60, z_apex - 40, z_apex - 15, z_apex])
    fa = np.array([0.95, 1.0, 1.0, 0.93, 0.75, 0.5, 0.15])
    lungs, lung_vals, domes = [], [], []
    tile = NoiseTile(rng, 64, 0.5, (2.5, 7.0))
    tile2 = NoiseTile(rng, 48, 1.0, (4.0, 9.0))
    for sg in (-1, 1):
        la = 0.47 * Ac * fa * U(0.95, 1.05)
        lb = 0.9 * Bc * fa * U(0.95, 1.05)
        cx = sg * (Ac - la - 3)
        cy = 0.04 * Bc + 0.25 * Bc * (1 - fa)  # apices sit posteriorly
        lung = Extrusion(Z(zkl), cx, cy, la, lb, -850.0, angle=-sg * U(0.0, 0.12))
        lv = _LungValue(rng, lung, Z(z_apex), Z(z_base), tile, tile2, 0.0)
        lungs.append(lung)
        lung_vals.append(lv)
    prims += lungs
    for sg, top in ((-1, U(-85, -65)), (1, U(-100, -80))):
        hz = U(55, 70)
        dome = Ellipsoid([sg * 0.45 * Ac, 0.0, float(Z(top - hz))], [0.6 * Ac, 1.0 * Bc, hz], 55.0)
        domes.append(dome)
        prims.append(dome)
    # mediastinum, heart
    zm = np.array([-160.0, -60, 0, 60, 160])
    prims.append(Extrusion(Z(zm), [0.05 * Ac, 0.05 * Ac, 0.02 * Ac, 0.0, 0.0], [-0.25 * Bc] * 3 + [-0.1 * Bc] * 2,
                           np.array([0.3, 0.28, 0.2, 0.16, 0.13]) * Ac * U(0.9, 1.1),
                           np.array([0.55, 0.55, 0.6, 0.7, 0.7]) * Bc, -90.0))
    hc = np.array([0.17 * Ac, -0.28 * Bc, float(Z(U(-80, -60)))])
    hax = np.array([U(0.3, 0.36) * Ac, U(0.42, 0.5) * Bc, U(45, 55)])
    hR = _rot_xyz(U(-0.3, 0.0), U(0.2, 0.45), U(0.35, 0.7))
    prims.append(Ellipsoid(hc, hax + U(3, 7), -90.0, hR))
    prims.append(Ellipsoid(hc, hax, 40.0, hR))

    # great vessels (non-contrast blood 40 HU), esophagus
    gv = _Tubes()
    ao_r = U(13, 16) * s
    asc0 = hc + hR @ np.array([-0.2 * hax[0], -0.3 * hax[1], 0.75 * hax[2]])
    arch = np.array([0.02 * Ac, -0.35 * Bc, float(Z(U(55, 65)))])
    desc0 = np.array([float(xv(arch[2])) + rv + 12, float(yv(arch[2])) - ryv - 4, arch[2] - 10])
    gv.path(_wobbly(rng, [asc0, [-0.05 * Ac, -0.35 * Bc, asc0[2] + 40], arch, [0.12 * Ac, -0.05 * Bc, arch[2] + 8], desc0], 5, 2),
            ao_r, ao_r * 0.85, 40.0)
    zd = np.linspace(arch[2] - 10, Z(-200), 8)
    dp = np.c_[xv(zd) + rv + 10 + U(-3, 3, 8), yv(zd) - ryv - 2, zd]
    gv.path(_wobbly(rng, dp, 3, 2), ao_r * 0.85, ao_r * 0.75, 40.0)
    for x_, y_ in ((-0.08 * Ac, -0.1 * Bc), (0.08 * Ac, -0.18 * Bc)):  # arch branches
        gv.path(_wobbly(rng, [arch + [x_ * 0.3, 0, 5], [x_, y_, Z(200)]], 6, 4), 6 * s, 5 * s, 40.0)
    svc = [[-0.15 * Ac, -0.22 * Bc, Z(200)], [-0.15 * Ac, -0.25 * Bc, Z(20)], hc + hR @ np.array([-0.5 * hax[0], 0, 0.6 * hax[2]])]
    gv.path(_wobbly(rng, svc, 6, 2), 9 * s, 10 * s, 40.0)
    pa0 = hc + hR @ np.array([0.1 * hax[0], -0.5 * hax[1], 0.7 * hax[2]])
    pab = np.array([0.1 * Ac, -0.05 * Bc, float(Z(U(0, 15)))])
    gv.path([pa0, pab], 13 * s, 12 * s, 40.0)
    zcar = U(25, 40)
    hila = {-1: np.array([-0.32 * Ac, 0.02 * Bc, float(Z(zcar - U(20, 30)))]),
            1: np.array([0.3 * Ac, 0.02 * Bc, float(Z(zcar - U(10, 20)))])}
    for sg in (-1, 1):
        gv.path(_wobbly(rng, [pab, 0.5 * (pab + hila[sg]) + [0, 8, 5], hila[sg]], 4, 2), 10 * s, 8 * s, 40.0)
    ye = float(yv0) - ryv - 6
    ep = np.array([[0.04 * Ac, ye, Z(200)], [0.05 * Ac, ye + 2, Z(0)], [0.1 * Ac, ye - 8, Z(-200)]])
    gv.path(ep, 8.0, 9.0, 40.0)
    esl = _Tubes()
    esl.path(ep, 2.0, 2.0, -1000.0)
    prims += [gv.build((Z(zlo), Z(zhi))), esl.build((Z(zlo), Z(zhi)))]

    dome_par = [(float(d.c[0]), float(d.c[1]), float(d.c[2]), *(1 / float(v) for v in d.ax)) for d in domes]

    def in_lung(q, m=0.9):
        x, y, z = float(q[0]), float(q[1]), float(q[2])
        if not any(lung.rho_point(x, y, z) < m for lung in lungs):
            return False
        return not any(((x - cx) * ia) ** 2 + ((y - cy) * ib) ** 2 + ((z - cz) * ic) ** 2 <= 1
                       for cx, cy, cz, ia, ib, ic in dome_par)

    # pulmonary vessels: arterial trees from the hila, venous trees from near the left atrium
    vessel = _Tubes()
    vtrees = []
    la_c = hc + hR @ np.array([0, 0.6 * hax[1], 0.5 * hax[2]])
    for sg in (-1, 1):
        for d in ([sg, 0.1, 0.8], [sg, 0.2, -0.7], [sg, 0.5, 0.0]):
            vtrees.append(_grow_tree(rng, hila[sg], d, U(5.0, 6.5), inside=in_lung, r_min=0.6, max_seg=1400,
                                     center=hila[sg], len_diam=(2.5, 5.0), bias_w=0.35, major=(0.82, 0.92),
                                     minor=(0.62, 0.82)))
        v0 = la_c + [sg * 0.25 * Ac, 0.1 * Bc, 0]
        for d in ([sg, 0.3, -0.5], [sg, 0.2, 0.4]):
            vtrees.append(_grow_tree(rng, v0, d, U(4.5, 6.0), inside=in_lung, r_min=0.6, max_seg=900,
                                     center=la_c, len_diam=(2.5, 5.0), bias_w=0.35, major=(0.82, 0.92),
                                     minor=(0.62, 0.82)))
    for tr in vtrees:
        vessel.extend(tr[:, :8], 40.0)
    vessel_set = vessel.build((Z(zlo), Z(zhi)))
    prims.append(vessel_set)

    # airway tree: trachea -> main bronchi -> random branching down to ~2 mm diameter
    rt = U(8.5, 11) * s ** 0.5
    tr_top = np.array([0.0, float(yv0) - ryv - 26, float(Z(200))])
    carina = np.array([U(-3, 3), float(yv0) - ryv - 18, float(Z(zcar))])
    aw = [np.r_[tr_top, carina, rt, rt * 0.95, 0]]
    for sg, ang, ln, rr in ((-1, U(20, 30), U(20, 28), 0.78), (1, U(40, 50), U(40, 50), 0.7)):
        d = _unit([sg * np.sin(np.deg2rad(ang)), 0.15, -np.cos(np.deg2rad(ang))])
        end = carina + d * ln
        aw.append(np.r_[carina, end, rt * rr, rt * rr * 0.95, 1])
        for dd, rf in (([sg * 0.8, 0.1, 0.6], 0.72), ([sg * 0.3, 0.25, -0.9], 0.85), ([sg * 0.6, -0.5, -0.3], 0.6)):
            tr = _grow_tree(rng, end, dd, rt * rr * rf, inside=lambda q: in_lung(q, 0.93), r_min=0.95, max_seg=500,
                            center=end, len_diam=(1.5, 3.0), bias_w=0.3, major=(0.78, 0.9), minor=(0.62, 0.8))
            tr[:, 8] += 2
            aw.append(tr)
    aw = np.vstack(aw)
    walls, lumen = _Tubes(), _Tubes()
    walls.extend(aw[:, :8], 50.0)
    lumen_r = aw[:, 6:8] - np.maximum(0.15 * aw[:, 6:8], 0.3)
    lumen.extend(np.c_[aw[:, :6], lumen_r], -1000.0)
    airway_set = TubeSet(aw[:, :3], aw[:, 3:6], aw[:, 6], aw[:, 7], 50.0)
    prims += [walls.build((Z(zlo), Z(zhi))), lumen.build((Z(zlo), Z(zhi)))]

    # nodules (placed in parenchyma, independent of fibrosis)
    ph0 = Phantom(prims, (z0 - 1000, z1 + 1000), 1.0)
    n_nod = int(rng.integers(1, 6)) if n_nodules is None else int(n_nodules)
    nodules, nprims = [], []
    for _ in range(n_nod):
        gg = rng.random() < 0.4
        d = float(np.exp(U(np.log(5.0), np.log(20.0)))) if gg else float(np.exp(U(np.log(3.0), np.log(15.0))))
        axes = d / 2 * U(0.85, 1.0, 3)
        axes[rng.integers(3)] = d / 2
        hu = U(-700, -500) if gg else U(20, 60)
        lung = lungs[int(rng.integers(2))]
        bb = lung.bbox

        def sampler(bb=bb):
            return np.array([U(bb[0], bb[1]), U(bb[2], bb[3]), U(max(bb[4], z0), min(bb[5], z1))])

        c = _place(rng, ph0, sampler, axes.max() + 1.0, lambda h: bool(np.all(h < -800)))
        if c is None:
            continue
        nprims.append(Ellipsoid(c, axes, float(hu), _rot_xyz(*U(0, np.pi, 3))))
        nodules.append(Lesion(c, axes, float(2 * axes.max()), float(hu), -850.0, "lung", "ground-glass" if gg else "solid"))
    prims += nprims

    # bone: spine, ribs, sternum
    vprims, post, canal = _vertebrae(rng, Z(zlo), Z(zhi), xv, yv, rv, U(24, 28), U(4.5, 6))
    ribs = _Tubes()
    zr = z_apex + 10 - np.arange(12) * U(24, 28) + U(-3, 3, 12)
    marrow = _ribs(rng, ribs, Ac + muscle * 0.35, Bc + muscle * 0.35, Z(zr), U(50, 80, 12),
                   np.deg2rad(np.linspace(-80, -10, 12)) + U(-0.1, 0.1, 12), yv0, r_out=U(4.5, 5.5), r_in=3.0,
                   cart=True)
    zst = np.array([-130.0, 150.0])
    ys = -(Bc + muscle * 0.45)
    prims += vprims + [post.build((Z(zlo), Z(zhi))), canal, ribs.build((Z(zlo), Z(zhi))), marrow.build((Z(zlo), Z(zhi))),
                       Extrusion(Z(zst), 0, ys, 16 * s, 6.5, 700.0), Extrusion(Z(zst + [1, -1]), 0, ys, 16 * s - 1.5, 5.0, 250.0)]

    fov = 2 * 1.06 * max(A, B) * taper.max() * 1.02
    ph = ChestPhantom(prims, (z0, z1), fov, name=f"chest-{seed}", seed=seed)
    ph._lung_values = lung_vals
    ph.lungs = lungs
    ph._set_fibrosis(float(fibrosis))
    ph.airway_segments = airway_set
    ph.airway_generation = aw[:, 8].astype(int)
    ph.vessel_segments = vessel_set
    ph.nodules = nodules
    ph.anatomy = dict(A=A, B=B, fat_mm=fat, muscle_mm=muscle, cavity=(Ac, Bc), carina_z=float(Z(zcar)),
                      anatomy_offset_mm=anatomy_offset_mm)
    return ph
