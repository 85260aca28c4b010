"""NIfTI volumes in and out, as the same :class:`~t2tcore.io.series.Series` as DICOM.

nibabel reads and writes the files; this module only converts between NIfTI's voxel grid
and affine (RAS+ world coordinates) and the series geometry of the package (DICOM patient
coordinates, LPS: ImageOrientationPatient, ImagePositionPatient per slice, positions along
the slice normal), which nibabel does not do.

Reading (:func:`read_nifti`)
    * The affine is nibabel's (the sform when its code is set, else the qform). The world
      coordinates of every voxel are kept exactly: the volume is only transposed
      from NIfTI's (i, j, k) to (Z, Y, X) = (k, j, i) and, where needed, reversed along an
      axis (never resampled). In-plane axes are reversed so that they point the way a CT
      scanner's usually do (rows along +x or +y, columns along +y or towards the feet; an
      axial RAS+ NIfTI reads as ImageOrientationPatient (1, 0, 0, 0, 1, 0), and dcm2niix's
      row flip is undone), and slices are sorted ascending along the slice normal.
    * scl_slope/scl_inter are applied (by nibabel); spatial units other than mm are
      converted to mm.
    * Non-orthogonal in-plane axes (a sheared affine) are rejected with
      :class:`~t2tcore.io.errors.NiftiReadError`; a slice axis that is not along the normal
      (a gantry tilt, as sform can store) is read and reported as tilt, as for DICOM.
    * NIfTI has no slice thickness: it comes from the ``thickness`` argument, else from a
      BIDS/dcm2niix JSON sidecar beside the file (``case.json`` for ``case.nii.gz``,
      ``SliceThickness``), else the slice spacing is used, with a
      :class:`~t2tcore.errors.SeriesWarning` that says so.

Writing (:func:`write_nifti`)
    The volume with the affine of its slice positions and a JSON sidecar (SliceThickness,
    SpacingBetweenSlices, PixelSpacing, ImageOrientationPatientDICOM, SeriesDescription,
    DerivationDescription: the method and what made the series). Voxels are int16 HU
    (rounded, as the DICOM writer stores them: within 0.5 HU, far below CT noise, half
    the size of float32, and what dcm2niix writes for CT), with scl_slope and
    scl_inter only for ranges beyond int16; ``dtype="float32"`` keeps values exactly.
    Both files are written to temporary names in the output folder and renamed at the end.
"""

from __future__ import annotations

import json
import os
import pathlib
import warnings
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np

from t2tcore import __version__
from t2tcore.errors import SeriesWarning
from t2tcore.io.errors import NiftiReadError, NiftiWriteError
from t2tcore.io.outdir import staging_file
from t2tcore.io.quantize import finite_range, rescale_for, to_int16
from t2tcore.io.series import FolderScan, Series, SeriesInfo, geometry_report

__all__ = [
    "NIFTI_SUFFIXES",
    "has_nifti_suffix",
    "is_nifti_path",
    "sidecar_path",
    "read_nifti",
    "scan_nifti",
    "write_nifti",
    "check_nifti_output",
    "grid_from_affine",
]

NIFTI_SUFFIXES = (".nii.gz", ".nii")

_LPS = np.diag([-1.0, -1.0, 1.0, 1.0])  # RAS <-> LPS (its own inverse)
_ORTHO_TOL = 1e-4  # |cos| of the angle between the in-plane axes
_UNITS_MM = {"mm": 1.0, "unknown": 1.0, "meter": 1000.0, "micron": 0.001}
# Preferred sign of an in-plane axis by the LPS axis it mostly runs along: rows and columns
# along +x and +y (as axial CT), columns along z point to the feet (head at the top).
_PREFERRED_SIGN = np.array([1.0, 1.0, -1.0])


def has_nifti_suffix(path: str | os.PathLike) -> bool:
    """True if the name of ``path`` ends with ``.nii`` or ``.nii.gz`` (any case)."""
    return pathlib.Path(path).name.lower().endswith(NIFTI_SUFFIXES)


def is_nifti_path(path: str | os.PathLike) -> bool:
    """True if ``path`` names a NIfTI file to read: a NIfTI suffix, and not a folder."""
    return has_nifti_suffix(path) and not pathlib.Path(path).is_dir()


def _stem(path: pathlib.Path) -> str:
    name = path.name
    for suffix in NIFTI_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def sidecar_path(path: str | os.PathLike) -> pathlib.Path:
    """The JSON sidecar of a NIfTI file: ``case.json`` for ``case.nii.gz`` or ``case.nii``."""
    p = pathlib.Path(path)
    return p.with_name(_stem(p) + ".json")


# --------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------


@dataclass
class _Grid:
    """How a NIfTI voxel grid maps onto a series (computed from the header alone)."""

    shape_xyz: tuple[int, int, int]
    flip: tuple[bool, bool, bool]  # reverse i, j, k
    orientation: np.ndarray  # (6,) row then column direction cosines, LPS
    pixel_spacing: tuple[float, float]  # (dy, dx) mm
    ipp: np.ndarray  # (Z, 3) mm, LPS, ascending along the normal
    positions: np.ndarray  # (Z,) mm
    notes: list[str]


def _load(p: pathlib.Path):
    import nibabel as nib

    if not p.exists():
        raise NiftiReadError(f"{p}: no such file")
    if p.is_dir():
        raise NiftiReadError(f"{p}: is a folder, not a NIfTI file")
    try:
        img = nib.load(str(p))
    except Exception as exc:  # noqa: BLE001 - nibabel raises many types on bad files
        raise NiftiReadError(f"{p}: not a readable NIfTI file ({type(exc).__name__}: {exc})") from None
    if not isinstance(img, (nib.Nifti1Image, nib.Nifti2Image)):
        raise NiftiReadError(f"{p}: not a NIfTI-1/2 image ({type(img).__name__})")
    return img


def _shape_xyz(p: pathlib.Path, shape: tuple[int, ...]) -> tuple[int, int, int]:
    if len(shape) == 2:
        return (shape[0], shape[1], 1)
    if len(shape) == 3:
        return tuple(shape)  # type: ignore[return-value]
    if len(shape) >= 4 and all(n == 1 for n in shape[3:]):
        return tuple(shape[:3])  # type: ignore[return-value]
    raise NiftiReadError(f"{p}: a {len(shape)}-D image of shape {shape}; t2t reads one 3-D volume")


def _grid(img, p: pathlib.Path) -> _Grid:
    """The series geometry of a NIfTI header; NiftiReadError for a sheared or degenerate affine."""
    hdr = img.header
    notes: list[str] = []
    shape = _shape_xyz(p, img.shape)
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
    unit = hdr.get_xyzt_units()[0]
    grid = grid_from_affine(img.affine, shape, p, scale=_UNITS_MM.get(unit, 1.0))
    grid.notes[:0] = notes
    return grid


def grid_from_affine(affine: Any, shape_xyz: tuple[int, int, int], name: Any = "the image", *,
                     scale: float = 1.0) -> _Grid:
    """How a voxel grid with a NIfTI-style affine maps onto a series, as :func:`read_nifti` reads it.

    The same geometry for a NIfTI file and for an array in memory with its affine (a MONAI
    ``MetaTensor``, a TorchIO image), so that both give the same slice positions.

    Parameters
    ----------
    affine : array_like, shape (4, 4)
        Voxel (i, j, k) -> world coordinates, RAS+ (nibabel's, MONAI's and TorchIO's convention).
    shape_xyz : (int, int, int)
        Voxels along i, j, k; k is the slice axis.
    name : str or path
        What error messages call the image.
    scale : float
        mm per world unit (1 for mm).

    Returns
    -------
    _Grid
        ``flip`` (which of i, j, k the series reverses), ``positions`` (Z,) mm ascending along
        the slice normal (in the order of the reversed k), ``ipp``, ``orientation``, ``pixel_spacing``.

    Raises
    ------
    NiftiReadError
        Non-orthogonal in-plane axes, a zero or degenerate voxel size.
    """
    p = name
    shape = tuple(int(n) for n in shape_xyz)
    notes: list[str] = []
    m = _LPS @ np.asarray(affine, dtype=np.float64)
    m[:3, :] *= scale
    c = [m[:3, 0].copy(), m[:3, 1].copy(), m[:3, 2].copy()]
    origin = m[:3, 3].copy()
    size = [float(np.linalg.norm(v)) for v in c]
    if not (all(np.isfinite(m.ravel())) and size[0] > 0 and size[1] > 0 and size[2] > 0):
        raise NiftiReadError(f"{p}: the affine has a zero or invalid voxel size ({size})")
    cos01 = abs(float(c[0] @ c[1])) / (size[0] * size[1])
    if cos01 > _ORTHO_TOL:
        angle = np.degrees(np.arccos(min(1.0, cos01)))
        raise NiftiReadError(
            f"{p}: the image rows and columns are not perpendicular ({angle:.3g} deg instead of 90: a sheared "
            "affine); t2t reads only orthogonal in-plane axes and never resamples"
        )
    flip = [False, False, False]
    for axis in (0, 1):
        u = c[axis] / size[axis]
        dominant = int(np.argmax(np.abs(u)))
        if u[dominant] * _PREFERRED_SIGN[dominant] < 0:
            flip[axis] = True
            origin = origin + (shape[axis] - 1) * c[axis]
            c[axis] = -c[axis]
    row, col = c[0] / size[0], c[1] / size[1]
    normal = np.cross(row, col)
    along = float(c[2] @ normal)
    if abs(along) < 1e-6 * size[2]:
        raise NiftiReadError(f"{p}: the slice axis lies in the image plane (a degenerate affine)")
    if along < 0:
        flip[2] = True
        origin = origin + (shape[2] - 1) * c[2]
        c[2] = -c[2]
    k = np.arange(shape[2], dtype=np.float64)
    ipp = origin[None, :] + k[:, None] * c[2][None, :]
    return _Grid(
        shape_xyz=shape,
        flip=tuple(flip),  # type: ignore[arg-type]
        orientation=np.concatenate([row, col]),
        pixel_spacing=(round(size[1], 6), round(size[0], 6)),  # the affine is float32: 0.7 reads 0.69999999
        ipp=ipp,
        positions=ipp @ normal,
        notes=notes,
    )


def _sidecar(p: pathlib.Path) -> dict:
    side = sidecar_path(p)
    if not side.is_file():
        return {}
    try:
        meta = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NiftiReadError(f"{side}: the JSON sidecar of {p.name} cannot be read ({exc})") from None
    if not isinstance(meta, dict):
        raise NiftiReadError(f"{side}: the JSON sidecar of {p.name} is not a JSON object")
    return meta


def _number(meta: dict, key: str) -> float | None:
    try:
        v = float(meta[key])
    except (KeyError, TypeError, ValueError):
        return None
    return v if np.isfinite(v) and v > 0 else None


def _thickness(p: pathlib.Path, meta: dict, grid: _Grid, thickness: float | None) -> tuple[float, str]:
    """(slice thickness in mm, where it came from)."""
    if thickness is not None:
        t = float(thickness)
        if not (np.isfinite(t) and t > 0):
            raise ValueError(f"thickness must be > 0 (mm), got {thickness}")
        return t, "given"
    t = _number(meta, "SliceThickness")
    if t is not None:
        return t, f"SliceThickness of {sidecar_path(p).name}"
    spacing = float(np.median(np.diff(grid.positions))) if grid.positions.size > 1 else None
    if spacing is None:
        raise NiftiReadError(f"{p}: one slice and no slice thickness (no JSON sidecar with SliceThickness); give it")
    warnings.warn(
        f"{p}: NIfTI has no slice thickness and there is no JSON sidecar {sidecar_path(p).name} with "
        f"SliceThickness: using the slice spacing, {spacing:.4g} mm (give the thickness if it differs)",
        SeriesWarning,
        stacklevel=4,
    )
    return spacing, "the slice spacing (no thickness known)"


def read_nifti(path: str | os.PathLike, thickness: float | None = None) -> Series:
    """Read a NIfTI file (``.nii`` or ``.nii.gz``) as a CT series.

    Parameters
    ----------
    path : str or path-like
        The NIfTI-1 or NIfTI-2 file (3-D, or 4-D with one volume).
    thickness : float, optional
        Slice thickness in mm; default the ``SliceThickness`` of the JSON sidecar, else the
        slice spacing (with a :class:`~t2tcore.errors.SeriesWarning`).

    Returns
    -------
    Series
        ``volume`` float32 HU, shape (Z, Y, X), slices ascending along the slice normal;
        ``positions`` (Z,) mm along the normal; ``pixel_spacing`` (dy, dx) mm;
        ``orientation`` the DICOM ImageOrientationPatient (LPS); ``ipp`` (Z, 3) mm (LPS);
        ``header`` None; ``files`` the NIfTI file; ``description`` the sidecar's
        SeriesDescription or the file name without suffix.

    Raises
    ------
    NiftiReadError
        Missing or unreadable file, more than one volume, non-orthogonal in-plane axes,
        a degenerate affine, an unreadable sidecar.
    """
    p = pathlib.Path(path).expanduser()
    img = _load(p)
    grid = _grid(img, p)
    meta = _sidecar(p)
    thick, source = _thickness(p, meta, grid, thickness)
    try:
        data = img.get_fdata(dtype=np.float32)
    except Exception as exc:  # noqa: BLE001 - truncated or corrupt data
        raise NiftiReadError(f"{p}: cannot read the voxel data ({type(exc).__name__}: {exc})") from None
    data = data.reshape(grid.shape_xyz, order="A")
    data = data[tuple(slice(None, None, -1) if f else slice(None) for f in grid.flip)]
    volume = np.ascontiguousarray(data.transpose(2, 1, 0), dtype=np.float32)
    interval = _number(meta, "SpacingBetweenSlices")
    if interval is None and grid.positions.size > 1:
        interval = round(float(np.median(np.diff(grid.positions))), 6)
    number = meta.get("SeriesNumber")
    series = Series(
        volume=volume,
        positions=grid.positions,
        pixel_spacing=grid.pixel_spacing,
        orientation=grid.orientation,
        thickness=thick,
        interval=interval,
        header=None,
        description=str(meta.get("SeriesDescription") or _stem(p)),
        ipp=grid.ipp,
        notes=grid.notes + ([] if source == "given" else [f"slice thickness from {source}"]),
        files=(p,),
        series_number=int(number) if isinstance(number, (int, float)) and not isinstance(number, bool) else None,
    )
    for note in series.notes:
        if note.startswith(("irregular slice spacing", "gantry tilt")):
            warnings.warn(f"{p}: {note}", SeriesWarning, stacklevel=3)
    return series


def scan_nifti(path: str | os.PathLike) -> FolderScan:
    """What ``t2t info`` shows for a NIfTI file, from its header and sidecar (no voxel data).

    Returns
    -------
    FolderScan
        One :class:`SeriesInfo` whose ``uid`` is the file name.
    """
    p = pathlib.Path(path).expanduser()
    img = _load(p)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always", SeriesWarning)
        grid = _grid(img, p)
    meta = _sidecar(p)
    normal = np.cross(grid.orientation[:3], grid.orientation[3:])
    geo = geometry_report(grid.positions, grid.ipp, normal)
    notes = [str(w.message).removeprefix(f"{p}: ") for w in record] + geo.notes
    thick = _number(meta, "SliceThickness")
    if thick is None:
        notes.append("no slice thickness (NIfTI has none, and no JSON sidecar gives SliceThickness)")
    dtype = img.get_data_dtype()
    slope, inter = img.header.get_slope_inter()
    scaled = f", scl_slope {slope:g}, scl_inter {inter:g}" if slope is not None and (slope, inter or 0) != (1, 0) else ""
    modality = str(meta.get("Modality") or "")
    info = SeriesInfo(
        uid=p.name,
        description=str(meta.get("SeriesDescription") or ""),
        modality=modality,
        series_number=None,
        n_slices=grid.shape_xyz[2],
        n_files=1,
        n_localizers=0,
        thickness=thick,
        spacing=geo.spacing,
        position_range=(float(grid.positions[0]), float(grid.positions[-1])),
        irregular=geo.irregular,
        tilt=geo.tilt_deg,
        header_tilt=None,
        kernel=str(meta.get("ConvolutionKernel") or ""),
        rows=grid.shape_xyz[1],
        columns=grid.shape_xyz[0],
        pixel_spacing=grid.pixel_spacing,
        is_ct=modality in ("", "CT"),
        localizer=False,
        transfer_syntax=f"NIfTI-{2 if img.header.sizeof_hdr == 540 else 1} ({dtype}{scaled})",
        notes=notes,
    )
    return FolderScan(path=p, n_files=1, series=[info], skipped={}, examples={})


# --------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------


def check_nifti_output(path: str | os.PathLike, overwrite: bool = False, inputs: Iterable[Any] = ()) -> pathlib.Path:
    """Check that a series can be written to the NIfTI file ``path``; returns its absolute path.

    Parameters
    ----------
    path : str or path-like
        ``*.nii`` or ``*.nii.gz``; its JSON sidecar is written beside it.
    overwrite : bool, optional
        Replace an existing file (and sidecar).
    inputs : iterable of path-like, optional
        Input files or folders: the output (or its sidecar) must not be one of them or inside one.

    Raises
    ------
    NiftiWriteError
        The path is a folder, exists without ``overwrite``, or is an input.
    """
    out = pathlib.Path(path).expanduser().absolute()
    if not has_nifti_suffix(out):
        raise NiftiWriteError(f"{out}: a NIfTI file name ends with .nii or .nii.gz")
    side = sidecar_path(out)
    if out.is_dir():
        raise NiftiWriteError(f"{out}: is a folder, not a NIfTI file name")
    for src in inputs:
        s = pathlib.Path(src).expanduser().absolute()
        for target in (out, side):
            same = s == target or (s.exists() and target.exists() and s.resolve() == target.resolve())
            if same or s in target.parents:
                raise NiftiWriteError(f"{target}: is the input or inside it ({s}); choose another output file")
    if not overwrite:
        for target in (out, side):
            if target.exists():
                raise NiftiWriteError(f"{target}: exists (use overwrite=True / --overwrite to replace it)")
    return out


def _affine(series: Series, out: pathlib.Path) -> tuple[np.ndarray, bool]:
    """(RAS affine of voxel (i, j, k) = volume[k, j, i], orthogonal) for a series."""
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
    return _LPS @ m, along > 1 - 1e-9


def _sidecar_for(series: Series) -> dict:
    hdr = series.header
    meta: dict[str, Any] = {"Modality": "CT", "ImageType": ["DERIVED", "SECONDARY"] if series.derived else ["ORIGINAL"]}
    if series.description:
        meta["SeriesDescription"] = series.description
    if series.derivation or series.derived:
        meta["DerivationDescription"] = series.derivation or series.description
    if series.series_number is not None:
        meta["SeriesNumber"] = int(series.series_number)
    if series.thickness is not None:
        meta["SliceThickness"] = float(series.thickness)
    spacing = series.interval if series.interval is not None else series.spacing
    if spacing is not None:
        meta["SpacingBetweenSlices"] = float(spacing)
    meta["PixelSpacing"] = [float(v) for v in series.pixel_spacing]
    meta["ImageOrientationPatientDICOM"] = [float(v) for v in series.orientation]
    if hdr is not None:
        for key in ("Manufacturer", "ConvolutionKernel", "KVP"):
            if hdr.get(key) not in (None, ""):
                value = hdr.get(key)
                meta[key] = float(value) if key == "KVP" else str(value)
    meta["ConversionSoftware"] = "t2t"
    meta["ConversionSoftwareVersion"] = __version__
    return meta


def write_nifti(
    series: Series, path: str | os.PathLike, overwrite: bool = False, *, dtype: str = "int16"
) -> pathlib.Path:
    """Write a series as a NIfTI-1 file with a JSON sidecar.

    Parameters
    ----------
    series : Series
        ``volume`` (Z, Y, X) in HU, slices evenly spaced (a NIfTI affine has one step).
    path : str or path-like
        ``*.nii.gz`` (compressed) or ``*.nii``; ``*.json`` is written beside it.
    overwrite : bool, optional
        Replace an existing file and sidecar (never the series' own input).
    dtype : {"int16", "float32"}, optional
        Voxel type: int16 HU rounded to the nearest integer (default; scl_slope/scl_inter
        chosen by nibabel only if the range exceeds int16), or float32 (exact).

    Returns
    -------
    pathlib.Path
        The absolute path of the NIfTI file.

    Raises
    ------
    NiftiWriteError
        The output exists (without ``overwrite``), is the input, is a folder, the slices are
        unevenly spaced, or a file cannot be written.
    ValueError
        ``dtype`` unknown, or an int16 volume holds NaN or infinite values.
    """
    import nibabel as nib

    if dtype not in ("int16", "float32"):
        raise ValueError(f"dtype must be 'int16' or 'float32', got {dtype!r}")
    out = check_nifti_output(path, overwrite, inputs=list(series.files) + list(series.source_files))
    affine, orthogonal = _affine(series, out)
    vol = series.volume
    if dtype == "int16":
        slope, icpt = rescale_for(*finite_range(vol, "int16 NIfTI"))
        if (slope, icpt) == ("1", "0"):
            data = to_int16(vol, 1.0, 0.0)
        else:  # beyond the int16 range: nibabel chooses scl_slope/scl_inter
            data = vol
    else:
        data = vol
    img = nib.Nifti1Image(data.transpose(2, 1, 0), affine)
    img.set_data_dtype(np.int16 if dtype == "int16" else np.float32)
    img.header.set_xyzt_units("mm", "sec")
    img.set_sform(affine, code=1)  # scanner-based anatomical coordinates, as dcm2niix writes
    img.set_qform(affine if orthogonal else None, code=1 if orthogonal else 0)  # qform cannot store a tilt
    img.header["descrip"] = (series.description or "t2t")[:79].encode("ascii", "replace")
    side = json.dumps(_sidecar_for(series), indent=2, ensure_ascii=False) + "\n"

    temps: list[pathlib.Path] = []
    try:
        try:
            tmp_nii = staging_file(out, suffix=".nii.gz" if out.name.lower().endswith(".gz") else ".nii")
            temps.append(tmp_nii)
            tmp_json = staging_file(sidecar_path(out), suffix=".json")
            temps.append(tmp_json)
            nib.save(img, str(tmp_nii))
            tmp_json.write_text(side, encoding="utf-8")
            os.replace(tmp_nii, out)
            temps.remove(tmp_nii)
            os.replace(tmp_json, sidecar_path(out))
            temps.remove(tmp_json)
        except OSError as exc:
            raise NiftiWriteError(f"{out}: cannot write the file ({exc.strerror or exc})") from None
    finally:
        for t in temps:
            t.unlink(missing_ok=True)
    return out
