"""How a NIfTI voxel grid maps onto a series, and back: which array axis holds the slices,
which axes are reversed, and the affine.

A :class:`~t2tcore.io.series.Series` is always (Z, Y, X): slices ascending along the slice
normal, rows and columns running the way a CT scanner's usually do (DICOM patient
coordinates, LPS). A NIfTI file stores the same voxels in any order of its array axes
(i, j, k) and any direction along each; nibabel's affine says where each voxel is (RAS+).
:class:`NiftiLayout` is that order: for each array axis, which series axis it holds and
whether it runs backwards. Reading (:func:`grid`) finds it from the header and keeps it on
the series; writing (:func:`to_nifti`) puts the voxels back in it, so that

* a NIfTI input comes back in its own voxel order (an RAS file stays RAS, a dcm2niix file
  stays as dcm2niix wrote it): arrays of input and output compare voxel by voxel, and with
  ``t2t simulate --match REAL.nii.gz`` the output's affine is the real file's;
* a series that came from DICOM (or from the virtual scanner) is written in dcm2niix's order
  (:data:`DCM2NIIX`: i along the DICOM rows, j the DICOM row index reversed, k the slices
  ascending along the normal), so t2t's NIfTI and dcm2niix's conversion of t2t's DICOM
  output of one series are the same array with the same affine.

Which array axis holds the slices: the header's ``slice_dim`` when it is set; otherwise the
axis whose voxel size differs from the two others when those two are equal (square pixels:
a file stored as S, L, A has its slices on i); otherwise the third axis, k (NIfTI's and
dcm2niix's convention), with a :class:`~t2tcore.errors.SeriesWarning` when k is not the axis
nearest the patient's feet-head axis (the slices might be elsewhere: the file cannot say).
"""

from __future__ import annotations

import pathlib
import warnings
from dataclasses import dataclass

import numpy as np

from t2tcore.errors import SeriesWarning
from t2tcore.io.errors import NiftiReadError, NiftiWriteError

__all__ = ["NiftiLayout", "DCM2NIIX", "Grid", "grid", "grid_from_affine", "to_nifti", "LPS"]

LPS = np.diag([-1.0, -1.0, 1.0, 1.0])  # RAS <-> LPS (its own inverse)
_ORTHO_TOL = 1e-4  # |cos| of the angle between the in-plane axes
_UNITS_MM = {"mm": 1.0, "unknown": 1.0, "meter": 1000.0, "micron": 0.001}
# Preferred sign of an in-plane axis by the LPS axis it mostly runs along: rows and columns
# along +x and +y (as axial CT), columns along z point to the feet (head at the top).
_PREFERRED_SIGN = np.array([1.0, 1.0, -1.0])
_SAME_SIZE = 1e-3  # voxel sizes within this fraction are "equal" (square pixels)
_AXIS = "ijk"


@dataclass(frozen=True)
class NiftiLayout:
    """The order of a NIfTI file's voxels relative to a series' (Z, Y, X).

    Attributes
    ----------
    axes : (int, int, int)
        For NIfTI array axes (i, j, k): the series axis each holds, 0 = x (along a row), 1 = y
        (down the rows), 2 = z (the slices).
    flip : (bool, bool, bool)
        For (i, j, k): True if the array axis runs opposite to the series axis.
    """

    axes: tuple[int, int, int] = (0, 1, 2)
    flip: tuple[bool, bool, bool] = (False, False, False)

    def __post_init__(self) -> None:
        if sorted(self.axes) != [0, 1, 2] or len(self.flip) != 3:
            raise ValueError(f"not a layout: axes {self.axes}, flip {self.flip}")

    @property
    def slice_axis(self) -> int:
        """The NIfTI array axis (0 = i, 1 = j, 2 = k) that holds the slices."""
        return self.axes.index(2)

    def array(self, volume: np.ndarray) -> np.ndarray:
        """A series volume (Z, Y, X) as the NIfTI array (i, j, k) of this layout (a view)."""
        xyz = np.asarray(volume).transpose(2, 1, 0)
        arr = xyz.transpose(self.axes)
        return arr[tuple(slice(None, None, -1) if f else slice(None) for f in self.flip)]

    def volume(self, array: np.ndarray) -> np.ndarray:
        """The inverse of :meth:`array`: a NIfTI array (i, j, k) as (Z, Y, X) (a view)."""
        arr = np.asarray(array)[tuple(slice(None, None, -1) if f else slice(None) for f in self.flip)]
        xyz = arr.transpose(np.argsort(self.axes))
        return xyz.transpose(2, 1, 0)

    def affine(self, series_affine: np.ndarray, shape_zyx: tuple[int, int, int]) -> np.ndarray:
        """The affine of the array of :meth:`array`, from the affine of voxel (x, y, z)."""
        n_xyz = (shape_zyx[2], shape_zyx[1], shape_zyx[0])
        m = np.asarray(series_affine, dtype=np.float64)
        out = np.eye(4)
        out[:3, 3] = m[:3, 3]
        for a, (axis, f) in enumerate(zip(self.axes, self.flip)):
            col = m[:3, axis]
            if f:
                out[:3, 3] += (n_xyz[axis] - 1) * col
                col = -col
            out[:3, a] = col
        return out


#: dcm2niix's order for a DICOM series: i along the rows, j the row index reversed, k the slices.
DCM2NIIX = NiftiLayout((0, 1, 2), (False, True, False))


@dataclass
class Grid:
    """How a NIfTI voxel grid maps onto a series (computed from the header alone)."""

    shape_xyz: tuple[int, int, int]  # series (x, y, z) sizes
    layout: NiftiLayout
    orientation: np.ndarray  # (6,) row then column direction cosines, LPS
    pixel_spacing: tuple[float, float]  # (dy, dx) mm
    ipp: np.ndarray  # (Z, 3) mm, LPS, ascending along the normal
    positions: np.ndarray  # (Z,) mm
    notes: list[str]


def _shape3(p: pathlib.Path, shape: tuple[int, ...]) -> tuple[int, int, int]:
    if len(shape) == 2:
        return (shape[0], shape[1], 1)
    if len(shape) == 3:
        return tuple(shape)  # type: ignore[return-value]
    if len(shape) >= 4 and all(n == 1 for n in shape[3:]):
        return tuple(shape[:3])  # type: ignore[return-value]
    raise NiftiReadError(f"{p}: a {len(shape)}-D image of shape {shape}; t2t reads one 3-D volume")


def _slice_axis(hdr, shape, size: list[float], cols: list[np.ndarray], p: pathlib.Path, notes: list[str]) -> int:
    """The array axis that holds the slices (see the module docstring)."""
    try:
        declared = hdr.get_dim_info()[2]
    except Exception:  # noqa: BLE001 - NIfTI-2 or odd headers: no slice_dim
        declared = None
    if declared is not None and 0 <= int(declared) <= 2:
        if int(declared) != 2:
            notes.append(f"slices along array axis {_AXIS[int(declared)]} (the header's slice_dim)")
        return int(declared)

    def same(a: float, b: float) -> bool:
        return abs(a - b) <= _SAME_SIZE * max(a, b)

    for s in (2, 0, 1):
        a, b = [x for x in range(3) if x != s]
        if same(size[a], size[b]) and not same(size[s], size[a]):
            if s != 2:
                notes.append(f"slices along array axis {_AXIS[s]}, the axis whose voxel size ({size[s]:.4g} mm) "
                             f"differs from the square pixels ({size[a]:.4g} mm)")
            return s
    feet_head = [abs(float(c[2])) / n for c, n in zip(cols, size)]
    nearest = int(np.argmax(feet_head))
    if nearest != 2 and shape[2] > 1:  # one slice: nothing to say
        warnings.warn(
            f"{p}: the slices are taken along the third array axis (k), but the file's feet-head axis is "
            f"{_AXIS[nearest]}, and the voxel sizes {', '.join(f'{v:.4g}' for v in size)} mm do not tell which "
            "axis holds the slices; if they are along another axis, set the header's slice_dim or reorient the "
            "file so that the slices are its third axis",
            SeriesWarning,
            stacklevel=5,
        )
    return 2


def grid(img, p: pathlib.Path) -> Grid:
    """The series geometry of a NIfTI image (header only).

    Raises
    ------
    NiftiReadError
        More than one volume, a zero or invalid voxel size, a sheared affine (in-plane axes
        not perpendicular), a slice axis in the image plane.
    """
    hdr = img.header
    notes: list[str] = []
    shape = _shape3(p, img.shape)
    _, sform_code = hdr.get_sform(coded=True)
    _, qform_code = hdr.get_qform(coded=True)
    if not sform_code and not qform_code:
        warnings.warn(
            f"{p}: the header has no orientation (qform_code and sform_code are 0); nibabel's default "
            "orientation is used with the voxel sizes, positions may not match other series",
            SeriesWarning,
            stacklevel=4,
        )
        notes.append("no orientation in the header (qform_code = sform_code = 0)")
    scale = _UNITS_MM.get(hdr.get_xyzt_units()[0], 1.0)
    _, cols, size = _columns(img.affine, scale, p)
    s = 2 if shape[2] == 1 else _slice_axis(hdr, shape, size, cols, p, notes)
    g = grid_from_affine(img.affine, shape, p, scale=scale, slice_axis=s)
    g.notes[:0] = notes
    return g


def _columns(affine, scale: float, p) -> tuple[np.ndarray, list[np.ndarray], list[float]]:
    """The LPS affine in mm, its three columns and their lengths (voxel sizes, mm)."""
    m = LPS @ np.asarray(affine, dtype=np.float64)
    m[:3, :] *= scale
    if not np.all(np.isfinite(m)):
        what = "origin (translation)" if np.all(np.isfinite(m[:3, :3])) else "voxel axes"
        raise NiftiReadError(f"{p}: the affine's {what} holds NaN or infinite values; the voxels have no position")
    cols = [m[:3, a].copy() for a in range(3)]
    size = [float(np.linalg.norm(v)) for v in cols]
    if not all(v > 0 for v in size):
        raise NiftiReadError(f"{p}: the affine has a zero voxel size ({', '.join(f'{v:.4g}' for v in size)} mm)")
    return m, cols, size


def grid_from_affine(affine, shape_xyz: tuple[int, int, int], name="the image", *, scale: float = 1.0,
                     slice_axis: int = 2) -> Grid:
    """How a voxel grid with a NIfTI-style affine maps onto a series, as :func:`grid` reads a file.

    The same geometry for a NIfTI file and for an array in memory with its affine (a MONAI
    ``MetaTensor``, a TorchIO image), so that both give the same slice positions.

    Parameters
    ----------
    affine : array_like, shape (4, 4)
        Voxel (i, j, k) -> world coordinates, RAS+ (nibabel's, MONAI's and TorchIO's convention).
    shape_xyz : (int, int, int)
        Voxels along i, j, k.
    name : str or path
        What error messages call the image.
    scale : float
        mm per world unit (1 for mm).
    slice_axis : {0, 1, 2}
        The array axis that holds the slices (default k).

    Raises
    ------
    NiftiReadError
        A zero or invalid voxel size, non-perpendicular in-plane axes, a slice axis in the
        image plane.
    """
    p = name
    shape = tuple(int(v) for v in shape_xyz)
    m, cols, size = _columns(affine, scale, p)
    s = int(slice_axis)
    # the in-plane axis nearer L-R is the row, then A-P, then S-I: the same physical volume gives
    # the same series (rows, columns, slice normal, Algorithm 1's start) whatever its array order
    a, b = sorted((x for x in range(3) if x != s), key=lambda x: int(np.argmax(np.abs(cols[x]))))
    # series axes x, y, z <- array axes a, b, s
    c = [cols[a], cols[b], cols[s]]
    n = [shape[a], shape[b], shape[s]]
    sz = [size[a], size[b], size[s]]
    origin = m[:3, 3].copy()
    cos01 = abs(float(c[0] @ c[1])) / (sz[0] * sz[1])
    if cos01 > _ORTHO_TOL:
        angle = np.degrees(np.arccos(min(1.0, cos01)))
        raise NiftiReadError(
            f"{p}: the image rows and columns are not perpendicular ({angle:.3g} deg instead of 90: a sheared "
            "affine); t2t reads only orthogonal in-plane axes and never resamples"
        )
    flip = [False, False, False]  # of series x, y, z
    for axis in (0, 1):
        u = c[axis] / sz[axis]
        dominant = int(np.argmax(np.abs(u)))
        if u[dominant] * _PREFERRED_SIGN[dominant] < 0:
            flip[axis] = True
            origin = origin + (n[axis] - 1) * c[axis]
            c[axis] = -c[axis]
    row, col = c[0] / sz[0], c[1] / sz[1]
    normal = np.cross(row, col)
    along = float(c[2] @ normal)
    if abs(along) < 1e-6 * sz[2]:
        raise NiftiReadError(f"{p}: the slice axis lies in the image plane (a degenerate affine)")
    if along < 0:
        flip[2] = True
        origin = origin + (n[2] - 1) * c[2]
        c[2] = -c[2]
    k = np.arange(n[2], dtype=np.float64)
    ipp = origin[None, :] + k[:, None] * c[2][None, :]
    axes = [0, 0, 0]
    flips = [False, False, False]
    for series_axis, array_axis in enumerate((a, b, s)):
        axes[array_axis] = series_axis
        flips[array_axis] = flip[series_axis]
    return Grid(
        shape_xyz=(n[0], n[1], n[2]),
        layout=NiftiLayout(tuple(axes), tuple(flips)),  # type: ignore[arg-type]
        orientation=np.concatenate([row, col]),
        pixel_spacing=(round(sz[1], 6), round(sz[0], 6)),  # the affine is float32: 0.7 reads 0.69999999
        ipp=ipp,
        positions=ipp @ normal,
        notes=[],
    )


def to_nifti(series, out: pathlib.Path, layout: NiftiLayout | None = None) -> tuple[np.ndarray, np.ndarray, bool]:
    """A series as (array (i, j, k) view, RAS affine, orthogonal) in ``layout``.

    Parameters
    ----------
    series : Series
        Slices evenly spaced along one line (a NIfTI affine has one step).
    out : pathlib.Path
        For messages.
    layout : NiftiLayout, optional
        Default: the series' own (``series.nifti_layout``, kept from a NIfTI input), else
        :data:`DCM2NIIX`.

    Raises
    ------
    NiftiWriteError
        The slices are not evenly spaced.
    """
    if layout is None:
        layout = getattr(series, "nifti_layout", None) or DCM2NIIX
    dy, dx = series.pixel_spacing
    row, col = series.orientation[:3], series.orientation[3:]
    z = series.volume.shape[0]
    if z > 1:
        step = (series.ipp[-1] - series.ipp[0]) / (z - 1)
        line = series.ipp[0][None, :] + np.arange(z)[:, None] * step[None, :]
        dev = float(np.max(np.linalg.norm(series.ipp - line, axis=1)))
        if dev > max(0.01, 0.01 * float(np.linalg.norm(step))):
            raise NiftiWriteError(
                f"{out}: the slices are not evenly spaced (up to {dev:.3g} mm off a regular grid), which one "
                "NIfTI affine cannot describe; write DICOM (an output folder) instead"
            )
    else:
        step = series.normal * float(series.interval or series.thickness or 1.0)
    m = np.eye(4)
    m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = row * dx, col * dy, step, series.ipp[0]
    along = abs(float(step @ series.normal)) / float(np.linalg.norm(step))
    return layout.array(series.volume), LPS @ layout.affine(m, series.volume.shape), along > 1 - 1e-9
