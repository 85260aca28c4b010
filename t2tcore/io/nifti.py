"""NIfTI volumes in and out, as the same :class:`~t2tcore.io.series.Series` as DICOM.

nibabel reads and writes the files; this module only converts between NIfTI's voxel grid
and affine (RAS+ world coordinates) and the series geometry of the package (DICOM patient
coordinates, LPS: ImageOrientationPatient, ImagePositionPatient per slice, positions along
the slice normal), which nibabel does not do.

Reading (:func:`read_nifti`)
    * The affine is nibabel's (the sform when its code is set, else the qform). The world
      coordinates of every voxel are kept exactly: the volume is only transposed
      from NIfTI's (i, j, k) to (Z, Y, X) and, where needed, reversed along an axis (never
      resampled). The slices are on the array axis :mod:`t2tcore.io.nifti_grid` finds (k,
      unless the header's slice_dim or the voxel sizes say otherwise). In-plane axes are
      reversed so that they point the way a CT scanner's usually do (rows along +x or +y,
      columns along +y or towards the feet; an axial RAS+ NIfTI reads as
      ImageOrientationPatient (1, 0, 0, 0, 1, 0), and dcm2niix's row flip is undone), and
      slices are sorted ascending along the slice normal. The file's own voxel order is
      kept on the series (``Series.nifti_layout``) for writing.
    * Voxels that are NaN or infinite are refused (:class:`~t2tcore.io.errors.NonFiniteError`).
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
    The volume in the voxel order of the NIfTI file it came from (or dcm2niix's order for a
    series from DICOM: :data:`~t2tcore.io.nifti_grid.DCM2NIIX`), with the affine of its
    slice positions and a JSON sidecar (SliceThickness,
    SpacingBetweenSlices, PixelSpacing, ImageOrientationPatientDICOM, SeriesDescription,
    DerivationDescription: the method and what made the series). Voxels are int16 HU
    (rounded, as the DICOM writer stores them: within 0.5 HU, far below CT noise, half
    the size of float32, and what dcm2niix writes for CT), with scl_slope and
    scl_inter only for ranges beyond int16; float32 (exact) for a series read from a NIfTI
    file that stores floats or integers int16 cannot hold (``Series.storage``, kept by
    ``derive``, so float input gives float output), or with ``dtype="float32"``.
    The output is claimed and both files are staged beside it and committed at the end
    (:mod:`t2tcore.io.outdir`).
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
from t2tcore.io.errors import NiftiReadError, NiftiWriteError, OutputChangedError
from t2tcore.io.nifti_grid import Grid, grid, grid_from_affine, to_nifti
from t2tcore.io.outdir import check_output, claim_output
from t2tcore.io.quantize import check_finite, finite_range, rescale_for, to_int16
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
    "storage_of",
    "grid_from_affine",
]

NIFTI_SUFFIXES = (".nii.gz", ".nii")

def has_nifti_suffix(path: str | os.PathLike) -> bool:
    """True if the name of ``path`` ends with ``.nii`` or ``.nii.gz`` (any case)."""
    return pathlib.Path(path).name.lower().endswith(NIFTI_SUFFIXES)


def is_nifti_path(path: str | os.PathLike) -> bool:
    """True if ``path`` names a NIfTI file to read: a NIfTI suffix, and not a folder."""
    if not has_nifti_suffix(path):
        return False
    try:
        return not pathlib.Path(path).is_dir()
    except OSError:  # unreachable (permission denied): the reader says so, naming it
        return True


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


def _load(p: pathlib.Path):
    import stat

    import nibabel as nib

    try:
        mode = p.stat().st_mode
    except FileNotFoundError:
        raise NiftiReadError(f"{p}: no such file") from None
    except OSError as exc:
        raise NiftiReadError(f"{p}: cannot be read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(mode):
        raise NiftiReadError(f"{p}: is a folder, not a NIfTI file")
    if not stat.S_ISREG(mode):  # a named pipe would block the reader forever
        raise NiftiReadError(f"{p}: not a regular file (a pipe, socket or device); t2t reads NIfTI files")
    try:
        img = nib.load(str(p))
    except Exception as exc:  # noqa: BLE001 - nibabel raises many types on bad files
        raise NiftiReadError(f"{p}: not a readable NIfTI file ({type(exc).__name__}: {exc})") from None
    if not isinstance(img, (nib.Nifti1Image, nib.Nifti2Image)):
        raise NiftiReadError(f"{p}: not a NIfTI-1/2 image ({type(img).__name__})")
    kind = img.get_data_dtype().kind
    if kind not in "biuf":
        what = "complex" if kind == "c" else f"{img.get_data_dtype()} (not one value per voxel)"
        raise NiftiReadError(f"{p}: the voxels are {what}; t2t reads one real value (HU) per voxel")
    return img


def storage_of(img, volume: np.ndarray | None = None) -> str:
    """How a NIfTI image stores its voxels, as a series keeps it (``Series.storage``).

    ``"int16"`` for integers that int16 holds exactly (int8, uint8, int16; or wider integers,
    or integers with integral scl_slope and scl_inter, whose values -- ``volume`` when given --
    all fit in int16); ``"float32"`` for floats, fractional scaling, or wider ranges.
    """
    dtype = img.get_data_dtype()
    if dtype.kind == "f":
        return "float32"
    slope, inter = img.header.get_slope_inter()
    slope = 1.0 if slope is None else float(slope)
    inter = 0.0 if inter is None else float(inter)
    if not (float(slope).is_integer() and float(inter).is_integer()):
        return "float32"
    if dtype.kind == "b" or (np.iinfo(dtype).min >= -32768 and np.iinfo(dtype).max <= 32767 and (slope, inter) == (1, 0)):
        return "int16"
    if volume is None:
        return "float32"
    vmin, vmax = float(np.min(volume)), float(np.max(volume))
    return "int16" if -32768 <= vmin and vmax <= 32767 else "float32"


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


def _invalid(meta: dict, key: str) -> bool:
    """The sidecar has ``key``, but not as a number > 0 (mm)."""
    return key in meta and (isinstance(meta[key], bool) or _number(meta, key) is None)


def _thickness(p: pathlib.Path, meta: dict, g: Grid, thickness: float | None) -> tuple[float, str]:
    """(slice thickness in mm, where it came from)."""
    if thickness is not None:
        t = float(thickness)
        if not (np.isfinite(t) and t > 0):
            raise ValueError(f"thickness must be > 0 (mm), got {thickness}")
        return t, "given"
    if _invalid(meta, "SliceThickness"):
        raise NiftiReadError(f"{sidecar_path(p)}: SliceThickness is {json.dumps(meta['SliceThickness'])}, not a "
                             "thickness in mm (a number > 0); correct the sidecar or give the thickness")
    t = _number(meta, "SliceThickness")
    if t is not None:
        return t, f"SliceThickness of {sidecar_path(p).name}"
    spacing = float(np.median(np.diff(g.positions))) if g.positions.size > 1 else None
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
    g = grid(img, p)
    meta = _sidecar(p)
    thick, source = _thickness(p, meta, g, thickness)
    try:
        data = img.get_fdata(dtype=np.float32)
    except Exception as exc:  # noqa: BLE001 - truncated or corrupt data
        raise NiftiReadError(f"{p}: cannot read the voxel data ({type(exc).__name__}: {exc})") from None
    data = data.reshape(data.shape[:3] if data.ndim > 3 else data.shape + (1,) * (3 - data.ndim))
    volume = np.ascontiguousarray(g.layout.volume(data), dtype=np.float32)
    del data
    check_finite(volume, p)
    interval = _number(meta, "SpacingBetweenSlices")
    if interval is None and g.positions.size > 1:
        interval = round(float(np.median(np.diff(g.positions))), 6)
    number = meta.get("SeriesNumber")
    series = Series(
        volume=volume,
        positions=g.positions,
        pixel_spacing=g.pixel_spacing,
        orientation=g.orientation,
        thickness=thick,
        interval=interval,
        header=None,
        description=str(meta.get("SeriesDescription") or _stem(p)),
        ipp=g.ipp,
        notes=g.notes + ([] if source == "given" else [f"slice thickness from {source}"]),
        files=(p,),
        series_number=int(number) if isinstance(number, (int, float)) and not isinstance(number, bool) else None,
        nifti_layout=g.layout,
        storage=storage_of(img, volume),
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
        g = grid(img, p)
    meta = _sidecar(p)
    normal = np.cross(g.orientation[:3], g.orientation[3:])
    geo = geometry_report(g.positions, g.ipp, normal)
    notes = [str(w.message).removeprefix(f"{p}: ") for w in record] + g.notes + geo.notes
    thick = _number(meta, "SliceThickness")
    if _invalid(meta, "SliceThickness"):
        notes.append(f"invalid SliceThickness in the JSON sidecar: {json.dumps(meta['SliceThickness'])}")
    elif thick is None:
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
        n_slices=g.shape_xyz[2],
        n_files=1,
        n_localizers=0,
        thickness=thick,
        spacing=geo.spacing,
        position_range=(float(g.positions[0]), float(g.positions[-1])),
        irregular=geo.irregular,
        tilt=geo.tilt_deg,
        header_tilt=None,
        kernel=str(meta.get("ConvolutionKernel") or ""),
        rows=g.shape_xyz[1],
        columns=g.shape_xyz[0],
        pixel_spacing=g.pixel_spacing,
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
    return check_output(out, inputs=inputs, overwrite=overwrite, kind="file", companions=[sidecar_path(out)],
                        error=NiftiWriteError)


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
    series: Series, path: str | os.PathLike, overwrite: bool = False, *, dtype: str | None = None
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
        Voxel type: int16 HU rounded to the nearest integer (scl_slope/scl_inter chosen by
        nibabel only if the range exceeds int16), or float32 (exact). Default: the series'
        ``storage`` (float32 for a series read from a NIfTI file of floats, or of integers
        that int16 does not hold), else int16.

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

    if dtype is None:
        dtype = getattr(series, "storage", None) or "int16"
    if dtype not in ("int16", "float32"):
        raise ValueError(f"dtype must be 'int16' or 'float32', got {dtype!r}")
    inputs = list(series.files) + list(series.source_files)
    out = check_nifti_output(path, True, inputs=inputs)  # the name; whether it may be replaced: the claim
    array, affine, orthogonal = to_nifti(series, out)
    if dtype == "int16":
        slope, icpt = rescale_for(*finite_range(series.volume, "int16 NIfTI"))
        # within the int16 range: rounded here; beyond it nibabel chooses scl_slope/scl_inter
        data = to_int16(array, 1.0, 0.0) if (slope, icpt) == ("1", "0") else array
    else:
        data = array
    img = nib.Nifti1Image(data, affine)
    img.set_data_dtype(np.int16 if dtype == "int16" else np.float32)
    img.header.set_xyzt_units("mm", "sec")
    img.set_sform(affine, code=1)  # scanner-based anatomical coordinates, as dcm2niix writes
    img.set_qform(affine if orthogonal else None, code=1 if orthogonal else 0)  # qform cannot store a tilt
    layout = getattr(series, "nifti_layout", None)
    if layout is not None and layout.slice_axis != 2:
        img.header.set_dim_info(slice=layout.slice_axis)  # so that a reader finds the slices again
    img.header["descrip"] = (series.description or "t2t")[:79].encode("ascii", "replace")
    side_text = json.dumps(_sidecar_for(series), indent=2, ensure_ascii=False) + "\n"
    side = sidecar_path(out)
    with claim_output(out, inputs=inputs, overwrite=overwrite, kind="file", companions=[side],
                      error=NiftiWriteError) as claim:
        try:
            tmp_nii = claim.staging_file(suffix=".nii.gz" if out.name.lower().endswith(".gz") else ".nii")
            tmp_json = claim.staging_file(suffix=".json", target=side)
            nib.save(img, str(tmp_nii))
            tmp_json.write_text(side_text, encoding="utf-8")
            try:
                claim.commit(tmp_nii)
            except OutputChangedError as exc:  # keep the sidecar beside the kept file
                os.replace(tmp_json, sidecar_path(exc.kept))
                raise OutputChangedError(f"{exc} (sidecar {sidecar_path(exc.kept).name})") from None
            try:
                claim.commit(tmp_json, side)
            except OutputChangedError as exc:  # keep the pair together, beside each other
                kept = exc.kept.with_name(exc.kept.name[: -len(".json")] + out.name[len(_stem(out)):])
                os.replace(out, kept)
                raise OutputChangedError(f"{side}: exists now (written by something else during this run); "
                                         f"nothing was replaced, the finished result is in {kept} and {exc.kept}") from None
        except OSError as exc:
            raise NiftiWriteError(f"{out}: cannot write the file ({exc.strerror or exc})") from None
    return out
