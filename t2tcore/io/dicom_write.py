"""Writing a series as a DICOM CT series: :func:`write_dicom`, :func:`check_dicom_output`.

Each slice is a pydicom :class:`~pydicom.dataset.Dataset` saved by pydicom
(:meth:`~pydicom.dataset.Dataset.save_as`, Explicit VR Little Endian, DICOM File Format):
the attributes shared by every slice are built once, encoded once by pydicom and read back
as raw elements, which pydicom then writes into every file as they are (the optimisation
:meth:`~pydicom.dataset.Dataset.set_original_encoding` exists for); the per-slice ones
(SOPInstanceUID, InstanceNumber, ImagePositionPatient, SliceLocation, pixels) are added to
a copy for each file. The files go into a hidden staging folder beside the output that is moved into place
at the end (:mod:`t2tcore.io.outdir`): an interrupted run leaves no partial series.
"""

from __future__ import annotations

import datetime as _dt
import io
import os
import pathlib
import shutil
from typing import Any, Iterable

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filereader import read_dataset
from pydicom.filewriter import write_dataset
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, CTImageStorage, ExplicitVRLittleEndian, generate_uid
from pydicom.valuerep import format_number_as_ds

from t2tcore import __version__
from t2tcore.io import _parallel
from t2tcore.io.errors import DicomWriteError
from t2tcore.io.outdir import staging_dir, swap_in
from t2tcore.io.quantize import finite_range, rescale_for, to_int16
from t2tcore.io.series import Series

__all__ = ["write_dicom", "check_dicom_output"]

_IMPLEMENTATION_VERSION = f"T2T_{__version__}"[:16]

# Type 2 attributes of the CT Image IOD: present (possibly empty) in every written slice.
_TYPE2_KEYWORDS = (
    "PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
    "ReferringPhysicianName", "StudyID", "AccessionNumber", "Manufacturer",
    "PositionReferenceIndicator", "KVP", "AcquisitionNumber",
)


def check_dicom_output(out_dir: str | os.PathLike, overwrite: bool = False, inputs: Iterable[Any] = ()) -> pathlib.Path:
    """Check that a series can be written to the folder ``out_dir``; returns its absolute path.

    Parameters
    ----------
    out_dir : str or path-like
    overwrite : bool, optional
        Accept a non-empty folder (its content is replaced at the end of the write).
    inputs : iterable of path-like, optional
        Input files or folders that must not be inside ``out_dir`` (never touch input).

    Raises
    ------
    DicomWriteError
        ``out_dir`` is a file, is non-empty without ``overwrite``, or holds an input.
    """
    out = pathlib.Path(out_dir).expanduser().absolute()
    if out.exists() and not out.is_dir():
        raise DicomWriteError(f"{out}: exists and is not a folder")
    for src in inputs:
        s = pathlib.Path(src).expanduser().absolute()
        if s == out or out in s.parents or (s.exists() and out.exists() and s.resolve().is_relative_to(out.resolve())):
            raise DicomWriteError(f"{out}: holds the input ({s}); choose another output folder")
    if out.is_dir() and not overwrite:
        try:
            non_empty = any(out.iterdir())
        except OSError as exc:
            raise DicomWriteError(f"{out}: cannot read the folder ({exc.strerror or exc})") from None
        if non_empty:
            raise DicomWriteError(f"{out}: folder is not empty (use overwrite=True / --overwrite to replace it)")
    return out


def _common_dataset(series: Series, series_uid: str, slope: str, icpt: str, n: int) -> Dataset:
    """The attributes every slice of the written series shares."""
    ds = Dataset()
    hdr = series.header if series.header is not None else Dataset()
    for elem in hdr:
        if elem.keyword not in ("PixelData", "SeriesNumber"):
            ds.add(elem)
    if "StudyInstanceUID" not in ds:
        ds.StudyInstanceUID = generate_uid()
    if "FrameOfReferenceUID" not in ds:
        ds.FrameOfReferenceUID = generate_uid()
    now = _dt.datetime.now()
    ds.ImageType = ["DERIVED", "SECONDARY", "AXIAL"]
    ds.SOPClassUID = CTImageStorage
    ds.Modality = "CT"
    ds.SeriesInstanceUID = series_uid
    ds.SeriesNumber = series.series_number if series.series_number is not None else 1001
    ds.SeriesDescription = (series.description or "")[:64]
    ds.DerivationDescription = (series.derivation or series.description or "t2t")[:1024]
    ds.SeriesDate = ds.ContentDate = ds.InstanceCreationDate = now.strftime("%Y%m%d")
    ds.SeriesTime = ds.ContentTime = ds.InstanceCreationTime = now.strftime("%H%M%S")
    ds.ImageOrientationPatient = [format_number_as_ds(float(x)) for x in series.orientation]
    ds.PixelSpacing = [format_number_as_ds(float(x)) for x in series.pixel_spacing]
    if series.thickness is not None:
        ds.SliceThickness = format_number_as_ds(float(series.thickness))
    else:
        ds.SliceThickness = None
    if series.interval is not None:
        ds.SpacingBetweenSlices = format_number_as_ds(float(series.interval))
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = int(series.volume.shape[1]), int(series.volume.shape[2])
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.RescaleIntercept = icpt
    ds.RescaleSlope = slope
    ds.RescaleType = "HU"
    ds.WindowCenter = 40
    ds.WindowWidth = 400
    ds.ImagesInAcquisition = n
    for kw in _TYPE2_KEYWORDS:
        if kw not in ds:
            setattr(ds, kw, None)
    # Extra attributes set by Series.from_array(extra=...) take precedence.
    for elem in hdr:
        if elem.keyword in ("ImageType", "Modality"):
            ds.add(elem)
    return ds


def _file_meta() -> FileMetaDataset:
    """File meta information shared by the slices (pydicom adds each one's instance UID)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = _IMPLEMENTATION_VERSION
    return meta


def _raw_template(common: Dataset) -> Dataset:
    """``common`` encoded by pydicom (Explicit VR Little Endian) and read back by pydicom:
    raw elements with their original encoding, which pydicom's writer copies as they are."""
    fp = DicomBytesIO()
    fp.is_little_endian, fp.is_implicit_VR = True, False
    write_dataset(fp, common)
    return read_dataset(io.BytesIO(fp.getvalue()), is_implicit_VR=False, is_little_endian=True)


def _slice_writer(task: tuple[int, int]) -> str | None:
    """Write slice ``i`` (runs in worker threads or processes); returns an error or None."""
    token, i = task
    job = _parallel.SHARED[token]
    try:
        pixels = to_int16(job["volume"][i], job["slope"], job["intercept"])
        sop = generate_uid()
        template = job["template"]
        ds = Dataset(dict(template.items()))  # a new element dict; the shared raw elements are not modified
        ds.set_original_encoding(False, True, template.original_character_set)
        # dcmwrite copies the shared file meta and sets its MediaStorageSOPInstanceUID from the data set
        ds.file_meta = job["file_meta"]
        ds.SOPInstanceUID = sop
        ds.InstanceNumber = i + 1
        ds.ImagePositionPatient = [format_number_as_ds(float(x)) for x in job["ipp"][i]]
        ds.SliceLocation = format_number_as_ds(float(job["positions"][i]))
        ds.PixelData = pixels.tobytes()
        ds["PixelData"].VR = "OW"
        ds.save_as(os.path.join(job["dir"], job["names"][i]), enforce_file_format=True)
    except Exception as exc:  # noqa: BLE001 - reported by the parent
        return f"{type(exc).__name__}: {exc}"
    return None


def write_dicom(
    series: Series, out_dir: str | os.PathLike, overwrite: bool = False, *, progress: bool = False
) -> pathlib.Path:
    """Write a series as CT Image Storage files (one per slice) into a folder.

    The files get a new SeriesInstanceUID and SOPInstanceUIDs, the header's Study and
    FrameOfReference UIDs, ImageType DERIVED\\SECONDARY\\AXIAL, ImagePositionPatient per
    slice, SliceThickness = ``series.thickness``, SpacingBetweenSlices = ``series.interval``,
    int16 pixels with a RescaleSlope/RescaleIntercept chosen from the volume's range (HU kept
    within 0.5; slope 1 for any range up to 65534 HU), Explicit VR Little Endian. Files are
    written into a temporary folder beside ``out_dir`` that is renamed at the end: an
    interrupted run leaves no partial series.

    Parameters
    ----------
    series : Series
        ``volume`` (Z, Y, X) in HU (finite), ``positions`` (Z,) mm.
    out_dir : str or path-like
        Folder to create (its parents are created too).
    overwrite : bool, optional
        Replace a non-empty ``out_dir``. The series' own input files can never be replaced.
    progress : bool, optional
        Show a progress bar on stderr.

    Returns
    -------
    pathlib.Path
        The absolute output folder.

    Raises
    ------
    DicomWriteError
        ``out_dir`` not empty (without ``overwrite``), is a file, holds the input, or a file
        cannot be written.
    ValueError
        The volume holds NaN or infinite values.
    """
    out = check_dicom_output(out_dir, overwrite, inputs=list(series.files) + list(series.source_files))
    vol = series.volume
    n = vol.shape[0]
    slope, icpt = rescale_for(*finite_range(vol, "DICOM"))
    template = _raw_template(_common_dataset(series, generate_uid(), slope, icpt, n))
    width = max(4, len(str(n)))
    names = [f"IM{i + 1:0{width}d}.dcm" for i in range(n)]

    try:
        tmp = staging_dir(out)
    except OSError as exc:
        raise DicomWriteError(f"{out}: cannot create the output folder ({exc.strerror or exc})") from None
    job = {
        "volume": vol,
        "slope": float(slope),
        "intercept": float(icpt),
        "template": template,
        "file_meta": _file_meta(),
        "ipp": series.ipp,
        "positions": series.positions,
        "names": names,
        "dir": str(tmp),
    }
    token = id(job)
    _parallel.SHARED[token] = job
    bar = _parallel.progress_bar(progress, n, "writing", "slice")
    try:
        errors = _parallel.pmap(_slice_writer, [(token, i) for i in range(n)], "write", bar)
        bad = [e for e in errors if e]
        if bad:
            raise DicomWriteError(f"{out}: cannot write {len(bad)} slice(s): {bad[0]}")
        try:
            swap_in(tmp, out)
        except OSError as exc:
            raise DicomWriteError(f"{out}: cannot move the written series into place ({exc.strerror or exc})") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        _parallel.SHARED.pop(token, None)
        if bar is not None:
            bar.close()
    return out
