"""Finding, classifying and grouping the DICOM files of a folder, from their headers only.

Every file under a folder (hidden files and folders ignored) is read by pydicom
(:func:`pydicom.dcmread` with ``specific_tags`` and a small ``defer_size``, so the pixel data
are skipped, not read, and only the values the scan needs are converted, by
:func:`pydicom.values.convert_value`) and sorted into images and files that are not images
of a series (not DICOM, truncated, reports, multi-frame, colour, localizers...). Images are
grouped by SeriesInstanceUID; :func:`select_stack` keeps the slices of one series that form a
volume (no localizers, the majority orientation and size, one file per SOPInstanceUID) and
sorts them by the projection of ImagePositionPatient on the slice normal, as dcm2niix does.

:func:`scan_dicom` is what ``t2t info`` shows; :func:`choose_series` picks the series that
:func:`t2tcore.io.dicom_read.read_dicom` reads, or says clearly why it cannot.
"""

from __future__ import annotations

import math
import os
import pathlib
import warnings
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np
import pydicom
from pydicom.charset import convert_encodings
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import RawDataElement
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue
from pydicom.tag import Tag
from pydicom.uid import (
    CTImageStorage,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    UID,
)
from pydicom.values import convert_value

from t2tcore.io import _parallel
from t2tcore.io.errors import DicomReadError, SeriesChoiceError
from t2tcore.io.series import FolderScan, SeriesInfo, geometry_report, slice_normal

__all__ = [
    "REASONS", "scan_files", "scan_dicom", "scan_series", "select_stack", "group_series", "choose_series",
    "skipped_files",
]

#: Why a file is not an image of a series (used in warnings and by ``t2t info``).
REASONS = {
    "not_dicom": "not DICOM",
    "nifti": "NIfTI files (give a file's own path to read it)",
    "unreadable": "unreadable or truncated",
    "no_pixels": "without image data (reports, DICOMDIR, ...)",
    "multiframe": "multi-frame (enhanced) images, not supported",
    "no_geometry": "images without position/orientation (screenshots, dose reports)",
    "not_grayscale": "colour images",
    "localizer": "localizer/scout images",
    "other_orientation": "images with another orientation than the series",
    "other_size": "images of another size or pixel spacing than the series",
    "duplicate": "duplicate files (same SOPInstanceUID)",
    "other_series": "images of other series",
}

_IOP_TOL = 1e-3  # direction cosines: larger differences mean "another orientation"
_SAME_POSITION_TOL = 1e-4  # mm: slices closer than this are at the same position
_UNDEFINED = 0xFFFFFFFF
_PIXEL_DATA = 0x7FE00010

# The elements the scan reads (pydicom skips every other element of defined length).
_SCAN_KEYWORDS = (
    "SpecificCharacterSet", "ImageType", "SOPClassUID", "SOPInstanceUID", "Modality", "SeriesDescription",
    "SliceThickness", "SpacingBetweenSlices", "GantryDetectorTilt", "ConvolutionKernel", "StudyInstanceUID",
    "SeriesInstanceUID", "SeriesNumber", "ImagePositionPatient", "ImageOrientationPatient", "FrameOfReferenceUID",
    "SamplesPerPixel", "PhotometricInterpretation", "PlanarConfiguration", "NumberOfFrames", "Rows", "Columns",
    "PixelSpacing", "BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation", "RescaleIntercept",
    "RescaleSlope", "ExtendedOffsetTable", "ExtendedOffsetTableLengths", "PixelData",
)
_SCAN_TAGS = [Tag(k) for k in _SCAN_KEYWORDS]
_TAG = {k: int(Tag(k)) for k in _SCAN_KEYWORDS}
# Values longer than this are not read during the scan (the pixel data); pydicom still
# reports their length and file offset.
_DEFER_BYTES = 4096


# --------------------------------------------------------------------------------------
# One file
# --------------------------------------------------------------------------------------


def _list_files(path: pathlib.Path) -> list[str]:
    """Regular files under ``path`` (recursively), hidden files and folders ignored, sorted.

    Named pipes, sockets and devices are left out: opening a pipe would wait forever.
    """

    def fail(exc: OSError) -> None:
        raise exc

    files: list[str] = []
    for root, dirs, names in os.walk(path, onerror=fail):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        files.extend(f for f in (os.path.join(root, n) for n in sorted(names) if not n.startswith("."))
                     if os.path.isfile(f))
    return files


def _read_header(path: str):
    """(dataset without pixel values, had the DICOM preamble) or (None, False) if not DICOM.

    Files without the 128-byte preamble and "DICM" (old exports of a raw data set) are read
    with ``force=True`` and accepted when pydicom finds a SOPClassUID or Modality in them,
    as dcm2niix accepts them.
    """
    kw = dict(defer_size=_DEFER_BYTES, specific_tags=_SCAN_TAGS)
    try:
        return pydicom.dcmread(path, **kw), True
    except InvalidDicomError:
        pass
    try:
        ds = pydicom.dcmread(path, force=True, **kw)
    except Exception:  # noqa: BLE001 - whatever pydicom makes of a non-DICOM file
        return None, False
    if _TAG["SOPClassUID"] not in ds and _TAG["Modality"] not in ds:
        return None, False
    return ds, False


# Value representations whose values are ASCII by the standard (PS3.5 6.2: the default
# character repertoire, backslash between values): their bytes are decoded as they are.
# pydicom's converters would build validated DSfloat/IS/UID objects that the scan throws
# away, which costs about a third of the scan; every other value (text in the data set's
# character set, binary numbers) is converted by pydicom.values.convert_value.
_ASCII_VRS = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "TM", "UI"})


class _Values:
    """The scan's values of one data set, converted only when asked for."""

    def __init__(self, ds) -> None:
        self.ds = ds
        self._encodings = None

    @property
    def encodings(self):
        if self._encodings is None:
            try:
                self._encodings = convert_encodings(self.get("SpecificCharacterSet"))
            except Exception:  # noqa: BLE001 - unknown character set: pydicom's default
                self._encodings = convert_encodings(None)
        return self._encodings

    def get(self, keyword: str) -> Any:
        tag = _TAG[keyword]
        try:
            elem = self.ds.get_item(tag, keep_deferred=True)
        except Exception:  # noqa: BLE001
            return None
        if elem is None:
            return None
        if not isinstance(elem, RawDataElement):
            return elem.value
        if elem.value is None:
            return None
        try:
            vr = elem.VR if elem.VR not in (None, "UN") else dictionary_VR(tag)  # as pydicom does for UN
            if vr in _ASCII_VRS:
                text = elem.value.decode("ascii").strip(" \x00")
                return text.split("\\") if "\\" in text else text
            return convert_value(vr, elem, None if tag == _TAG["SpecificCharacterSet"] else self.encodings)
        except Exception:  # noqa: BLE001 - a malformed value counts as absent
            return None

    def text(self, keyword: str) -> str:
        v = self.get(keyword)
        if v is None:
            return ""
        if isinstance(v, (list, tuple, MultiValue)):
            return "\\".join(str(x).strip() for x in v)
        return str(v).strip()

    def floats(self, keyword: str, n: int) -> tuple[float, ...] | None:
        v = self.get(keyword)
        if v is None or v == "":
            return None
        items = list(v) if isinstance(v, (list, tuple, MultiValue)) else [v]
        try:
            vals = tuple(float(x) for x in items)
        except (TypeError, ValueError):
            return None
        if len(vals) != n or not all(math.isfinite(x) for x in vals):
            return None
        return vals

    def float(self, keyword: str) -> float | None:
        vals = self.floats(keyword, 1)
        return None if vals is None else vals[0]

    def int(self, keyword: str, default: int | None = None) -> int | None:
        v = self.get(keyword)
        if isinstance(v, (list, tuple, MultiValue)):
            v = v[0] if len(v) else None
        if v is None or v == "":
            return default
        try:
            return int(v)
        except (TypeError, ValueError):
            try:
                return int(float(v))
            except (TypeError, ValueError):
                return default


def _transfer_syntax(ds) -> str:
    """The data set's transfer syntax: from the file meta, else as pydicom read it."""
    meta = getattr(ds, "file_meta", None)
    ts = str(meta.get("TransferSyntaxUID", "") or "") if meta is not None else ""
    if ts and UID(ts).is_transfer_syntax:
        return ts
    implicit, little = ds.original_encoding
    if implicit:
        return str(ImplicitVRLittleEndian)
    return str(ExplicitVRLittleEndian if little else ExplicitVRBigEndian)


def _facts(ds) -> dict[str, Any]:
    v = _Values(ds)
    meta = getattr(ds, "file_meta", None)
    facts = dict(
        ts=_transfer_syntax(ds),
        media_class=str(meta.get("MediaStorageSOPClassUID", "") or "") if meta is not None else "",
        sop_uid=v.text("SOPInstanceUID"),
        sop_class=v.text("SOPClassUID"),
        series_uid=v.text("SeriesInstanceUID"),
        study_uid=v.text("StudyInstanceUID"),
        for_uid=v.text("FrameOfReferenceUID"),
        modality=v.text("Modality").upper(),
        description=v.text("SeriesDescription"),
        series_number=v.int("SeriesNumber"),
        image_type=tuple(x.strip().upper() for x in v.text("ImageType").split("\\")),
        iop=v.floats("ImageOrientationPatient", 6),
        ipp=v.floats("ImagePositionPatient", 3),
        pixel_spacing=v.floats("PixelSpacing", 2),
        thickness=v.float("SliceThickness"),
        sbs=v.float("SpacingBetweenSlices"),
        tilt=v.float("GantryDetectorTilt"),
        kernel=v.text("ConvolutionKernel"),
        rows=v.int("Rows", 0),
        cols=v.int("Columns", 0),
        frames=v.int("NumberOfFrames", 1),
        samples=v.int("SamplesPerPixel", 1),
        photometric=v.text("PhotometricInterpretation") or "MONOCHROME2",
        planar=v.int("PlanarConfiguration"),
        bits_alloc=v.int("BitsAllocated", 16),
        bits_stored=v.int("BitsStored"),
        high_bit=v.int("HighBit"),
        pixel_rep=v.int("PixelRepresentation", 0),
        slope=v.float("RescaleSlope"),
        intercept=v.float("RescaleIntercept"),
    )
    if facts["slope"] is None or facts["slope"] == 0:
        facts["slope"] = 1.0
    if facts["intercept"] is None:
        facts["intercept"] = 0.0
    if facts["bits_stored"] is None:
        facts["bits_stored"] = facts["bits_alloc"]
    offsets = (v.get("ExtendedOffsetTable"), v.get("ExtendedOffsetTableLengths"))
    facts["extended_offsets"] = offsets if all(isinstance(o, bytes) for o in offsets) else None
    return facts


def _scan_file(path: str) -> dict:
    """Header facts of one file (runs in worker threads or processes; plain Python values)."""
    rec: dict[str, Any] = {"path": path, "kind": "image"}
    if path.lower().endswith((".nii", ".nii.gz")):
        rec["kind"] = "nifti"
        return rec
    try:
        size = os.path.getsize(path)
        ds, _ = _read_header(path)
        if ds is None:
            rec["kind"] = "not_dicom"
            return rec
        rec.update(_facts(ds))
        pixels = ds.get_item(_PIXEL_DATA, keep_deferred=True)
    except Exception as exc:  # noqa: BLE001 - any failure to read the header means unreadable
        rec["kind"] = "unreadable"
        rec["error"] = f"{type(exc).__name__}: {exc}"
        return rec
    return _classify(rec, pixels, size)


def _classify(rec: dict, pixels, size: int) -> dict:
    """Sort a scanned file into image / not an image (and why)."""
    rows, cols, frames = rec["rows"], rec["cols"], rec["frames"]
    is_image_like = bool(rows and cols)
    if pixels is None:
        classes = [c for c in (rec["sop_class"], rec["media_class"]) if c]
        image_class = any("Image Storage" in UID(c).name for c in classes)
        if is_image_like or image_class or not classes:  # an image cut short
            rec["kind"] = "unreadable"
            rec["error"] = "no pixel data (truncated?)"
        else:  # a report, DICOMDIR, presentation state...
            rec["kind"] = "no_pixels"
        return rec
    if not is_image_like:
        rec["kind"] = "no_pixels"
        return rec
    if frames is None or frames > 1:
        rec["kind"] = "multiframe"
        return rec
    if rec["samples"] != 1:
        rec["kind"] = "not_grayscale"
        return rec
    if rec["iop"] is None or rec["ipp"] is None or rec["pixel_spacing"] is None:
        rec["kind"] = "no_geometry"
        return rec
    # Where pydicom found the pixel data: offsets in the file, unless the data set is
    # deflated (then they refer to the inflated stream and the decoder reads the data set).
    in_file = not UID(rec["ts"]).is_deflated
    rec["decode"] = "file" if in_file else "dataset"
    rec["value_at"] = pixels.value_tell
    rec["value_length"] = pixels.length
    rec["pixel_vr"] = pixels.VR
    if in_file and pixels.length != _UNDEFINED:
        expected = rows * cols * max(1, rec["bits_alloc"] // 8)
        if pixels.value_tell + min(pixels.length, expected) > size or pixels.length < expected:
            rec["kind"] = "unreadable"
            rec["error"] = f"pixel data truncated ({max(0, size - pixels.value_tell)} of {expected} bytes)"
    return rec


def scan_files(path: Any, progress: bool = False) -> tuple[pathlib.Path, list[dict]]:
    """(the path, one header record per file) of a folder (recursively) or a single file.

    Raises
    ------
    DicomReadError
        The path does not exist, cannot be listed, or is an empty folder.
    """
    p = pathlib.Path(path).expanduser()
    if not p.exists():
        raise DicomReadError(f"{p}: no such file or folder")
    if p.is_dir():
        try:
            files = _list_files(p)
        except OSError as exc:  # the folder that cannot be listed: p or one inside it
            raise DicomReadError(f"{exc.filename or p}: cannot list the folder ({exc.strerror or exc})") from None
        if not files:
            raise DicomReadError(f"{p}: the folder is empty (no files)")
    elif p.is_file():
        files = [str(p)]
    else:
        raise DicomReadError(f"{p}: not a file or folder")
    bar = _parallel.progress_bar(progress, len(files), "scanning headers")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pydicom's complaints about odd values
            recs = _parallel.pmap(_scan_file, files, "scan", bar)
    finally:
        if bar is not None:
            bar.close()
    return p, recs


# --------------------------------------------------------------------------------------
# Grouping into series and selecting a stack
# --------------------------------------------------------------------------------------


def is_localizer(rec: dict) -> bool:
    """The record is a localizer/scout image (ImageType)."""
    return "LOCALIZER" in rec.get("image_type", ()) or "SCOUT" in rec.get("image_type", ())


def _is_ct(recs: Sequence[dict]) -> bool:
    """Modality CT (or no Modality and the CT Image Storage SOP class)."""
    return any(
        r.get("modality") == "CT" or (not r.get("modality") and r.get("sop_class") == CTImageStorage) for r in recs
    )


@dataclass
class Stack:
    """The slices of one series that form a volume, sorted along the normal."""

    recs: list[dict]
    orientation: np.ndarray
    normal: np.ndarray
    positions: np.ndarray
    ipp: np.ndarray
    dropped: Counter
    duplicates_at: list[float]


def majority(values: Iterable) -> Any:
    """The most common value."""
    return Counter(values).most_common(1)[0][0]


def select_stack(recs: list[dict]) -> Stack:
    """The slices of one series that form a volume: no localizers, majority orientation and
    size, one file per SOPInstanceUID, sorted by position along the normal."""
    dropped: Counter = Counter()
    imgs = []
    for r in recs:
        if is_localizer(r):
            dropped["localizer"] += 1
        else:
            imgs.append(r)
    if not imgs:
        return Stack([], np.zeros(6), np.zeros(3), np.zeros(0), np.zeros((0, 3)), dropped, [])
    key = majority(tuple(round(x, 3) for x in r["iop"]) for r in imgs)
    ref = np.asarray(key, dtype=np.float64)
    same = [r for r in imgs if np.max(np.abs(np.asarray(r["iop"]) - ref)) <= _IOP_TOL]
    dropped["other_orientation"] += len(imgs) - len(same)
    size = majority((r["rows"], r["cols"], tuple(round(x, 4) for x in r["pixel_spacing"])) for r in same)
    kept = [r for r in same if (r["rows"], r["cols"], tuple(round(x, 4) for x in r["pixel_spacing"])) == size]
    dropped["other_size"] += len(same) - len(kept)
    seen: set[str] = set()
    unique = []
    for r in kept:
        uid = r.get("sop_uid") or r["path"]
        if uid in seen:
            dropped["duplicate"] += 1
            continue
        seen.add(uid)
        unique.append(r)
    orient = np.mean([r["iop"] for r in unique], axis=0)
    normal = slice_normal(orient)
    ipp = np.asarray([r["ipp"] for r in unique], dtype=np.float64)
    pos = ipp @ normal
    order = np.argsort(pos, kind="stable")
    pos, ipp = pos[order], ipp[order]
    unique = [unique[i] for i in order]
    same_pos = np.flatnonzero(np.diff(pos) < _SAME_POSITION_TOL)
    return Stack(unique, orient, normal, pos, ipp, dropped, [float(pos[i]) for i in same_pos])


def group_series(recs: list[dict]) -> dict[str, list[dict]]:
    """Image records by SeriesInstanceUID."""
    groups: dict[str, list[dict]] = {}
    for r in recs:
        if r["kind"] == "image":
            groups.setdefault(r.get("series_uid", ""), []).append(r)
    return groups


def _info(uid: str, recs: list[dict]) -> SeriesInfo:
    st = select_stack(recs)
    first = recs[0]
    notes: list[str] = []
    spacing = irregular = None
    tilt = 0.0
    if st.recs:
        geo = geometry_report(st.positions, st.ipp, st.normal)
        spacing, irregular, tilt = geo.spacing, geo.irregular, geo.tilt_deg
        notes.extend(geo.notes)
        if st.duplicates_at:
            notes.append(
                f"{len(st.duplicates_at)} slice(s) at the same position as another "
                f"(e.g. {st.duplicates_at[0]:.4g} mm): several stacks in one series, cannot be read"
            )
    for reason, n in st.dropped.items():
        if n and reason != "localizer":
            notes.append(f"{n} {REASONS[reason]}")
    ref = st.recs or recs
    thick = [r["thickness"] for r in ref if r.get("thickness") is not None]
    tilts = [r["tilt"] for r in ref if r.get("tilt") is not None]
    ts = majority(r.get("ts", "") for r in ref)
    return SeriesInfo(
        uid=uid,
        description=first.get("description", ""),
        modality=first.get("modality", ""),
        series_number=first.get("series_number"),
        n_slices=len(st.recs),
        n_files=len(recs),
        n_localizers=st.dropped["localizer"],
        thickness=majority(thick) if thick else None,
        spacing=spacing,
        position_range=(float(st.positions[0]), float(st.positions[-1])) if st.recs else None,
        irregular=bool(irregular),
        tilt=tilt,
        header_tilt=majority(tilts) if tilts else None,
        kernel=first.get("kernel", ""),
        rows=ref[0]["rows"],
        columns=ref[0]["cols"],
        pixel_spacing=tuple(ref[0]["pixel_spacing"]) if ref[0].get("pixel_spacing") else None,
        is_ct=_is_ct(recs),
        localizer=not st.recs and st.dropped["localizer"] > 0,
        transfer_syntax=UID(ts).name if ts else "unknown",
        notes=notes,
    )


def _sorted_infos(groups: dict[str, list[dict]]) -> list[SeriesInfo]:
    infos = [_info(uid, recs) for uid, recs in groups.items()]
    infos.sort(key=lambda s: (not s.is_ct, s.localizer, s.series_number if s.series_number is not None else 1 << 30, s.uid))
    return infos


def skipped_files(recs: list[dict]) -> tuple[Counter, dict[str, str]]:
    """(files that are not images, by reason; one example file name per reason)."""
    skipped: Counter = Counter()
    examples: dict[str, str] = {}
    for r in recs:
        if r["kind"] != "image":
            skipped[r["kind"]] += 1
            examples.setdefault(r["kind"], os.path.basename(r["path"]) + (f" ({r['error']})" if r.get("error") else ""))
    return skipped, examples


def scan_dicom(path: str | os.PathLike, *, progress: bool = False) -> FolderScan:
    """Say what a folder (searched recursively) or a DICOM file holds, from the headers only.

    Parameters
    ----------
    path : str or path-like
        A folder or a single file.
    progress : bool, optional
        Show a progress bar on stderr.

    Returns
    -------
    FolderScan
        Image series (CT first, then by SeriesNumber; localizer series last) and the files
        that are not images of a series, by reason.

    Raises
    ------
    DicomReadError
        The path does not exist or the folder is empty.
    """
    return scan_series(path, progress=progress)[0]


def scan_series(path: str | os.PathLike, *, progress: bool = False) -> tuple[FolderScan, list[list[str]]]:
    """:func:`scan_dicom`, and the files each series was found in (to read or fingerprint it later).

    Returns
    -------
    (FolderScan, list of list of str)
        The scan, and for each of its ``series`` (same order) the paths of its image files.

    Raises
    ------
    DicomReadError
        The path does not exist or the folder is empty.
    """
    p, recs = scan_files(path, progress)
    skipped, examples = skipped_files(recs)
    groups = group_series(recs)
    infos = _sorted_infos(groups)
    scan = FolderScan(
        path=p,
        n_files=len(recs),
        series=infos,
        skipped={REASONS[k]: v for k, v in skipped.items()},
        examples={REASONS[k]: v for k, v in examples.items()},
    )
    return scan, [[r["path"] for r in groups[s.uid]] for s in infos]


def choose_series(p: pathlib.Path, recs: list[dict], series_uid: str | None) -> tuple[str, list[dict]]:
    """(SeriesInstanceUID, its image records) of the series to read from a scanned folder.

    Without ``series_uid`` the folder must hold exactly one CT series with images (other
    modalities and localizer series do not count).

    Raises
    ------
    SeriesChoiceError
        Several CT series (the message lists them) or ``series_uid`` absent.
    DicomReadError
        No CT image series at all (the message says what the folder holds).
    """
    groups = group_series(recs)
    infos = _sorted_infos(groups)
    readable = [s for s in infos if s.n_slices > 0]
    if series_uid is not None:
        if series_uid in groups and any(s.uid == series_uid and s.n_slices for s in infos):
            return series_uid, groups[series_uid]
        listing = "; ".join(s.line() for s in readable) or "none"
        raise SeriesChoiceError(f"{p}: no image series with SeriesInstanceUID {series_uid}; image series found: {listing}")
    ct = [s for s in readable if s.is_ct]
    if len(ct) == 1:
        return ct[0].uid, groups[ct[0].uid]
    if len(ct) > 1:
        listing = "; ".join(s.line() for s in ct)
        raise SeriesChoiceError(
            f"{p} holds {len(ct)} CT image series, choose one with series_uid (t2t: --series-uid): {listing}"
        )
    skipped, _ = skipped_files(recs)
    what = ", ".join(f"{n} {REASONS[k]}" for k, n in skipped.items())
    if readable:
        listing = "; ".join(s.line() for s in readable)
        raise DicomReadError(
            f"{p}: no CT image series (found {listing}); choose one with series_uid (t2t: --series-uid) to read it anyway"
        )
    localizers = sum(s.n_localizers for s in infos)
    if localizers:
        what = ", ".join(x for x in (what, f"{localizers} localizer images") if x)
    raise DicomReadError(f"{p}: no CT images among {len(recs)} file(s) ({what or 'nothing readable'})")
