"""Writing a series as a DICOM CT series: :func:`write_dicom`, :func:`check_dicom_output`.

Every element is encoded by pydicom (Explicit VR Little Endian, DICOM File Format), but not
every element once per file. A slice's file is its file meta group (a per-slice instance UID)
and a data set whose elements are all shared by the series except five (SOPInstanceUID,
InstanceNumber, ImagePositionPatient, SliceLocation, PixelData). So the shared elements are
encoded once, by :func:`pydicom.filewriter.write_dataset`, as the runs of bytes that lie
before, between and after those five in tag order, and so is the file meta group around
its one per-slice element (MediaStorageSOPInstanceUID). Each file is then the 128-byte
preamble and ``DICM`` that ``dcmwrite`` writes, the group length, the shared runs and the
per-slice elements, each encoded by :func:`pydicom.filewriter.write_data_element`, in tag
order. Elements are encoded one after another in tag order, so the file is byte for byte
what :func:`pydicom.dcmwrite` (``enforce_file_format=True``) makes of the whole data set
(tests/io/test_dicom_write.py re-encodes written files from their values and compares),
at a fraction of the cost: ``dcmwrite`` of a whole data set costs a few ms a file (its
file meta alone about 0.5 ms), which for a 210-slice series was most of ``t2t simulate``'s
writing time.

The output folder is claimed (:func:`t2tcore.io.outdir.claim_output`) and the files go
into a hidden staging folder beside it that is committed at the end: an interrupted run
leaves no partial series, and a folder that something else filled meanwhile is never
replaced without ``overwrite``.
"""

from __future__ import annotations

import datetime as _dt
import os
import pathlib
from typing import Any, Iterable

import numpy as np
from pydicom.charset import default_encoding
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO, DicomFileLike
from pydicom.filewriter import write_data_element, write_dataset
from pydicom.tag import Tag
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, CTImageStorage, ExplicitVRLittleEndian, generate_uid
from pydicom.valuerep import format_number_as_ds

from t2tcore import __version__
from t2tcore.io import _parallel
from t2tcore.io.errors import DicomWriteError
from t2tcore.io.outdir import check_output, claim_output
from t2tcore.io.quantize import finite_range, rescale_for, to_int16
from t2tcore.io.series import Series

__all__ = ["write_dicom", "check_dicom_output"]

#: File meta ImplementationVersionName of every file t2t writes (how ``--overwrite`` knows t2t's series).
IMPLEMENTATION_VERSION = f"T2T_{__version__}"[:16]

# Type 2 attributes of the CT Image IOD: present (possibly empty) in every written slice.
_TYPE2_KEYWORDS = (
    "PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
    "ReferringPhysicianName", "StudyID", "AccessionNumber", "Manufacturer",
    "PositionReferenceIndicator", "KVP", "AcquisitionNumber",
)

# The elements that differ between the slices of a written series, in tag order, with their
# VRs; every other element is the same in every file.
_PER_SLICE = (
    ("SOPInstanceUID", "UI"),
    ("InstanceNumber", "IS"),
    ("ImagePositionPatient", "DS"),
    ("SliceLocation", "DS"),
    ("PixelData", "OW"),
)
_PER_SLICE_TAGS = tuple(Tag(kw) for kw, _ in _PER_SLICE)

# What pydicom.dcmwrite(..., enforce_file_format=True) writes before the file meta group of
# a data set without a preamble of its own (DICOM PS3.10 7.1): 128 zero bytes and "DICM".
_PREAMBLE = b"\x00" * 128 + b"DICM"
_META_GROUP_LENGTH = Tag("FileMetaInformationGroupLength")
_META_SOP_INSTANCE = Tag("MediaStorageSOPInstanceUID")


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
    return check_output(out_dir, inputs=inputs, overwrite=overwrite, kind="folder", error=DicomWriteError)


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
    """File meta information shared by the slices (without the group length and the
    per-slice MediaStorageSOPInstanceUID)."""
    meta = FileMetaDataset()
    meta.FileMetaInformationVersion = b"\x00\x01"  # as dcmwrite adds it
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION
    return meta


def _runs(elements: Dataset, tags: tuple, charset: Any) -> list[bytes]:
    """The elements of ``elements`` encoded by pydicom (Explicit VR Little Endian) as the
    runs before, between and after ``tags`` (ascending): ``len(tags) + 1`` byte strings."""
    bounds = (-1,) + tuple(int(t) for t in tags) + (1 << 32,)
    runs = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        part = Dataset()
        for elem in elements:
            if lo < elem.tag < hi:
                part.add(elem)
        fp = DicomBytesIO()
        fp.is_little_endian, fp.is_implicit_VR = True, False
        write_dataset(fp, part, parent_encoding=charset)  # text in the series' character set
        runs.append(fp.getvalue())
    return runs


def _encoded(tag: int, vr: str, value: Any, charset: Any) -> bytes:
    """One data element encoded by pydicom (Explicit VR Little Endian)."""
    fp = DicomBytesIO()
    fp.is_little_endian, fp.is_implicit_VR = True, False
    write_data_element(fp, DataElement(tag, vr, value), charset)
    return fp.getvalue()


def _write_slice(fp: DicomFileLike, job: dict, i: int, pixels: np.ndarray) -> None:
    """Write slice ``i``'s file to ``fp``: preamble, file meta group, data set.

    Elements go straight into the file (pydicom's encoders write to any file-like): a
    512 x 512 slice is never copied into a growing in-memory buffer, whose fresh pages
    cost more than the encoding itself.
    """
    sop = generate_uid()
    meta_before, meta_after = job["meta_runs"]
    sop_meta = _encoded(_META_SOP_INSTANCE, "UI", sop, default_encoding)
    fp.write(_PREAMBLE)
    length = len(meta_before) + len(sop_meta) + len(meta_after)
    write_data_element(fp, DataElement(_META_GROUP_LENGTH, "UL", length), default_encoding)
    fp.write(meta_before)
    fp.write(sop_meta)
    fp.write(meta_after)
    values = (
        sop,
        i + 1,
        [format_number_as_ds(float(x)) for x in job["ipp"][i]],
        format_number_as_ds(float(job["positions"][i])),
        pixels.tobytes(),
    )
    for run, tag, (_, vr), value in zip(job["runs"], _PER_SLICE_TAGS, _PER_SLICE, values):
        fp.write(run)
        write_data_element(fp, DataElement(tag, vr, value), job["charset"])
    fp.write(job["runs"][-1])


def _slice_writer(task: tuple[int, int]) -> str | None:
    """Write slice ``i`` (runs in worker threads or processes); returns an error or None."""
    token, i = task
    job = _parallel.SHARED[token]
    try:
        pixels = to_int16(job["volume"][i], job["slope"], job["intercept"])
        with open(os.path.join(job["dir"], job["names"][i]), "wb") as f:
            fp = DicomFileLike(f)
            fp.is_little_endian, fp.is_implicit_VR = True, False
            _write_slice(fp, job, i, pixels)
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
    inputs = list(series.files) + list(series.source_files)
    # inputs and a writable place only; whether it may be replaced is the claim's to say, below
    check_output(out_dir, inputs=inputs, overwrite=True, kind="folder", error=DicomWriteError, replace_any=True)
    vol = series.volume
    n = vol.shape[0]
    slope, icpt = rescale_for(*finite_range(vol, "DICOM"))
    common = _common_dataset(series, generate_uid(), slope, icpt, n)
    charset = common.get("SpecificCharacterSet", default_encoding)
    width = max(4, len(str(n)))
    names = [f"IM{i + 1:0{width}d}.dcm" for i in range(n)]

    with claim_output(out_dir, inputs=inputs, overwrite=overwrite, kind="folder", error=DicomWriteError) as claim:
        out = claim.path
        try:
            tmp = claim.staging_dir()
        except OSError as exc:
            raise DicomWriteError(f"{out}: cannot create the output folder ({exc.strerror or exc})") from None
        job = {
            "volume": vol,
            "slope": float(slope),
            "intercept": float(icpt),
            "runs": _runs(common, _PER_SLICE_TAGS, charset),
            "meta_runs": _runs(_file_meta(), (_META_SOP_INSTANCE,), default_encoding),
            "charset": charset,
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
                claim.commit(tmp)
            except OSError as exc:
                raise DicomWriteError(f"{out}: cannot move the written series into place ({exc.strerror or exc})") from None
        finally:
            _parallel.SHARED.pop(token, None)
            if bar is not None:
                bar.close()
    return out
