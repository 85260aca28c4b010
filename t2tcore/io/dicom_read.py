"""Reading one CT series from a DICOM folder: :func:`read_dicom`.

The series is read the way a trusted converter (dcm2niix) reads it: slices sorted by the
projection of ImagePositionPatient on the slice normal (never by InstanceNumber, file name
or SliceLocation), RescaleSlope/RescaleIntercept applied, files that are not images of the
chosen series skipped with one :class:`~t2tcore.errors.SeriesWarning`, irregular spacing and
gantry tilt reported, never "fixed" (see :mod:`t2tcore.io.dicom_scan` for the choice of files).

Pixel data are read from the file offset and length of the pixel data value that pydicom
reported while scanning the headers, so a header is parsed once: native little-endian grey
pixels straight into numpy (as pydicom's own native decoder does, without its per-call
set-up and fresh buffers), any other encoding by pydicom's decoders
(:func:`pydicom.pixels.get_decoder`; the pylibjpeg plugins for compressed syntaxes). Files
are decoded in parallel (see :mod:`t2tcore.io._parallel`) into one float32 volume.
"""

from __future__ import annotations

import os
import pathlib
import threading
import warnings

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.uid import UID

from t2tcore.errors import SeriesWarning
from t2tcore.io import _parallel
from t2tcore.io.dicom_scan import REASONS, choose_series, is_localizer, majority, scan_files, select_stack, skipped_files
from t2tcore.io.errors import DicomReadError, MissingDecoderError
from t2tcore.io.series import Series

__all__ = ["read_dicom", "TEMPLATE_KEYWORDS"]

_UNDEFINED = 0xFFFFFFFF  # an undefined value length (encapsulated pixel data)

# Compressed transfer syntaxes -> the package that decodes them (pip name).
_DECODER_PACKAGES = {
    "1.2.840.10008.1.2.5": "pylibjpeg-rle",  # RLE Lossless
    "1.2.840.10008.1.2.4.50": "pylibjpeg-libjpeg",  # JPEG Baseline
    "1.2.840.10008.1.2.4.51": "pylibjpeg-libjpeg",  # JPEG Extended
    "1.2.840.10008.1.2.4.57": "pylibjpeg-libjpeg",  # JPEG Lossless
    "1.2.840.10008.1.2.4.70": "pylibjpeg-libjpeg",  # JPEG Lossless SV1
    "1.2.840.10008.1.2.4.80": "pylibjpeg-libjpeg",  # JPEG-LS Lossless
    "1.2.840.10008.1.2.4.81": "pylibjpeg-libjpeg",  # JPEG-LS Near Lossless
    "1.2.840.10008.1.2.4.90": "pylibjpeg-openjpeg",  # JPEG 2000 Lossless
    "1.2.840.10008.1.2.4.91": "pylibjpeg-openjpeg",  # JPEG 2000
    "1.2.840.10008.1.2.4.201": "pylibjpeg-openjpeg",  # HTJ2K Lossless
    "1.2.840.10008.1.2.4.202": "pylibjpeg-openjpeg",  # HTJ2K Lossless RPCL
    "1.2.840.10008.1.2.4.203": "pylibjpeg-openjpeg",  # HTJ2K
}

#: Attributes copied from a source series into every slice of a derived one: patient,
#: study, frame of reference, equipment and series-constant acquisition parameters.
#: Per-slice attributes (tube current, exposure, positions, UIDs, pixel module) are not.
TEMPLATE_KEYWORDS = (
    "SpecificCharacterSet",
    # patient
    "PatientName", "PatientID", "IssuerOfPatientID", "PatientBirthDate", "PatientSex",
    "PatientAge", "PatientSize", "PatientWeight", "OtherPatientIDsSequence", "EthnicGroup",
    "PatientComments", "PatientIdentityRemoved", "DeidentificationMethod",
    # study
    "StudyInstanceUID", "StudyDate", "StudyTime", "StudyID", "AccessionNumber",
    "ReferringPhysicianName", "StudyDescription",
    # frame of reference
    "FrameOfReferenceUID", "PositionReferenceIndicator",
    # equipment
    "Manufacturer", "ManufacturerModelName", "InstitutionName", "InstitutionAddress",
    "StationName", "InstitutionalDepartmentName", "DeviceSerialNumber", "SoftwareVersions",
    # series-constant acquisition / reconstruction parameters
    "BodyPartExamined", "PatientPosition", "ProtocolName", "ContrastBolusAgent", "KVP",
    "ConvolutionKernel", "FilterType", "FocalSpots", "ReconstructionDiameter",
    "DataCollectionDiameter", "GantryDetectorTilt", "SpiralPitchFactor",
    "SingleCollimationWidth", "TotalCollimationWidth", "TableFeedPerRotation",
    "RevolutionTime", "ScanOptions",
)


def _decoder_check(ts: str) -> None:
    """Raise MissingDecoderError if pydicom cannot decode transfer syntax ``ts``."""
    uid = UID(ts)
    if not ts or not uid.is_compressed:
        return
    from pydicom.pixels import get_decoder

    try:
        dec = get_decoder(uid)
    except NotImplementedError:
        raise MissingDecoderError(f"pixel data in {uid.name} ({ts}) cannot be decoded by pydicom") from None
    if not dec.is_available:
        pkg = _DECODER_PACKAGES.get(ts, "pylibjpeg")
        raise MissingDecoderError(
            f"pixel data are compressed with {uid.name}; install a decoder: pip install {pkg}"
            + ("" if pkg == "pylibjpeg" else " pylibjpeg")
        )


def _native_dtype(rec: dict) -> np.dtype | None:
    """The numpy dtype of a file's pixel data if they are stored natively in a form numpy
    reads as it is (little endian, 8, 16 or 32 bits, one grey sample), else None."""
    uid = UID(rec["ts"])
    if rec["decode"] != "file" or uid.is_compressed or not uid.is_little_endian:
        return None
    if rec["samples"] != 1 or rec["bits_alloc"] not in (8, 16, 32):
        return None
    if rec["photometric"] not in ("MONOCHROME1", "MONOCHROME2") or rec["value_length"] == _UNDEFINED:
        return None
    return np.dtype(f"<{'i' if rec['pixel_rep'] else 'u'}{rec['bits_alloc'] // 8}")


# One reusable buffer per worker thread for the stored pixels of a file: a fresh 512 KiB
# allocation per file costs more (new pages) than reading the file.
_SCRATCH = threading.local()


def _scratch(nbytes: int) -> bytearray:
    buf = getattr(_SCRATCH, "buf", None)
    if buf is None or len(buf) < nbytes:
        buf = _SCRATCH.buf = bytearray(nbytes)
    return buf


def _read_native(rec: dict, dtype: np.dtype) -> np.ndarray:
    """Stored pixel values of natively encoded pixel data, as numpy views them.

    The bytes are the pixel data value at the file offset and of the length pydicom's
    parser reported during the scan (``RawDataElement.value_tell`` and ``length``, which
    pydicom itself uses to read deferred values); the file is not parsed again. As
    pydicom's decoder does, bits above BitsStored are ignored and signed values
    sign-extended (shift left, then arithmetic shift right).
    """
    rows, cols = rec["rows"], rec["cols"]
    nbytes = rows * cols * dtype.itemsize
    buf = _scratch(nbytes)
    with open(rec["path"], "rb", buffering=0) as f:
        f.seek(rec["value_at"])
        got = f.readinto(memoryview(buf)[:nbytes])
    if got != nbytes:
        raise ValueError(f"pixel data truncated ({got} of {nbytes} bytes)")
    arr = np.frombuffer(buf, dtype=dtype, count=rows * cols).reshape(rows, cols)
    shift = rec["bits_alloc"] - rec["bits_stored"]
    if 0 < shift < rec["bits_alloc"]:
        np.left_shift(arr, shift, out=arr)
        np.right_shift(arr, shift, out=arr)
    return arr


def _decode_pixels(rec: dict) -> np.ndarray:
    """Stored pixel values (rows, cols) of one file, before rescaling.

    Native little-endian grey pixel data are read with numpy (:func:`_read_native`); any
    other encoding is decoded by pydicom's decoder, from the file offset pydicom reported
    during the scan (the file is not parsed again; a deflated data set is read whole).
    Unused high bits are masked and signed values sign-extended either way.
    """
    from pydicom.pixels import get_decoder

    rows, cols = rec["rows"], rec["cols"]
    dtype = _native_dtype(rec)
    if dtype is not None:
        return _read_native(rec, dtype)
    if rec["decode"] == "dataset":
        arr = pydicom.dcmread(rec["path"]).pixel_array
    else:
        opts = dict(
            transfer_syntax_uid=UID(rec["ts"]),
            rows=rows,
            columns=cols,
            samples_per_pixel=rec["samples"],
            photometric_interpretation=rec["photometric"],
            bits_allocated=rec["bits_alloc"],
            bits_stored=rec["bits_stored"],
            pixel_representation=rec["pixel_rep"],
            number_of_frames=1,
            pixel_keyword="PixelData",
        )
        if rec.get("pixel_vr"):
            opts["pixel_vr"] = rec["pixel_vr"]
        if rec.get("planar") is not None:
            opts["planar_configuration"] = rec["planar"]
        if rec.get("extended_offsets") is not None:
            opts["extended_offsets"] = rec["extended_offsets"]
        with open(rec["path"], "rb") as fp:
            fp.seek(rec["value_at"])
            # view_only: a read-only view of the bytes read (native data), no extra copy
            arr, _ = get_decoder(opts["transfer_syntax_uid"]).as_array(fp, raw=True, view_only=True, **opts)
    if arr.shape != (rows, cols):
        raise ValueError(f"decoded pixel data have shape {arr.shape}, expected {(rows, cols)}")
    return arr


def _decode_task(task: tuple[int, int, dict]) -> str | None:
    """Decode slice ``i`` into the shared volume; returns an error message or None."""
    token, i, rec = task
    out = _parallel.SHARED[token][i]
    try:
        raw = _decode_pixels(rec)
        if rec["slope"] == 1.0:  # one pass: cast and add
            np.add(raw, np.float32(rec["intercept"]), out=out, casting="unsafe")
        else:
            np.multiply(raw, np.float32(rec["slope"]), out=out, casting="unsafe")
            if rec["intercept"]:
                out += np.float32(rec["intercept"])
    except Exception as exc:  # noqa: BLE001 - a bad file is skipped, not fatal
        return f"{type(exc).__name__}: {exc}"
    return None


def _template(path: str) -> Dataset:
    """The header template of a source series, from one of its files."""
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, force=True, specific_tags=list(TEMPLATE_KEYWORDS))
    except Exception as exc:  # noqa: BLE001 - the file changed since it was scanned
        raise DicomReadError(f"{path}: cannot read the header again ({type(exc).__name__}: {exc})") from None
    hdr = Dataset()
    for kw in TEMPLATE_KEYWORDS:
        if kw in ds:
            hdr.add(ds.data_element(kw))
    return hdr


def _skip_warning(p: pathlib.Path, uid: str, recs: list[dict], st, n_read: int) -> tuple[dict, list[str]]:
    """(files skipped by reason, notes) of a read, warning once if anything was skipped."""
    skipped, examples = skipped_files(recs)
    skipped.update({k: v for k, v in st.dropped.items() if v})
    others = {
        r.get("series_uid", "")
        for r in recs
        if r["kind"] == "image" and r.get("series_uid", "") != uid and not is_localizer(r)
    }
    n_other = sum(1 for r in recs if r["kind"] == "image" and r.get("series_uid", "") != uid)
    n_other_loc = sum(1 for r in recs if r["kind"] == "image" and r.get("series_uid", "") != uid and is_localizer(r))
    if n_other_loc:
        skipped["localizer"] += n_other_loc
    if n_other - n_other_loc:
        skipped["other_series"] += n_other - n_other_loc
    notes: list[str] = []
    if skipped:
        parts = []
        for k, n in skipped.items():
            label = REASONS[k]
            if k == "other_series":
                label = f"images of {len(others)} other series" if len(others) != 1 else "images of 1 other series"
            ex = f" (e.g. {examples[k]})" if k in examples else ""
            parts.append(f"{n} {label}{ex}")
        msg = (
            f"{p}: read {n_read} slices of series {uid}; skipped {sum(skipped.values())} "
            f"of {len(recs)} files: " + ", ".join(parts)
        )
        notes.append(msg)
        warnings.warn(msg, SeriesWarning, stacklevel=4)  # the caller of read_series
    return {REASONS[k]: v for k, v in skipped.items()}, notes


def read_dicom(path: str | os.PathLike, series_uid: str | None = None, *, progress: bool = False) -> Series:
    """Read one CT image series from a folder (searched recursively) or a DICOM file.

    Slices are sorted by the projection of ImagePositionPatient on the slice normal (the
    cross product of the ImageOrientationPatient row and column directions); rescale slope
    and intercept are applied. Files that are not images of the series (non-DICOM files,
    truncated files, localizers, images of another orientation or size, other series,
    duplicate files) are skipped with one :class:`~t2tcore.errors.SeriesWarning`. Irregular
    spacing and gantry tilt are warned about and reported (:attr:`Series.irregular`,
    :attr:`Series.gantry_tilt_deg`, :attr:`Series.notes`), never corrected.

    Parameters
    ----------
    path : str or path-like
        Folder (any file names, any order, subfolders) or a single DICOM file.
    series_uid : str, optional
        SeriesInstanceUID to read. Required when the folder holds several CT series.
    progress : bool, optional
        Show progress bars on stderr.

    Returns
    -------
    Series
        ``volume`` float32 HU, shape (Z, Y, X); ``positions`` float64 mm, ascending.

    Raises
    ------
    DicomReadError
        Path missing, empty folder, no CT images, slices at identical positions.
    SeriesChoiceError
        Several CT series and ``series_uid`` not given (the message lists them), or
        ``series_uid`` not found.
    MissingDecoderError
        Compressed pixel data and no decoder plugin (the message names the package).
    """
    p, recs = scan_files(path, progress)
    uid, group = choose_series(p, recs, series_uid)
    st = select_stack(group)
    if st.duplicates_at:
        raise DicomReadError(
            f"{p}: series {uid} has {len(st.duplicates_at)} slice(s) at the same position as another "
            f"(e.g. {st.duplicates_at[0]:.4g} mm): it mixes several stacks (acquisitions, phases, "
            "echoes), which cannot be one volume"
        )
    for ts in sorted({r.get("ts", "") for r in st.recs}):
        _decoder_check(ts)

    # Decode in parallel into one float32 volume (shared memory for forked workers).
    rows, cols = st.recs[0]["rows"], st.recs[0]["cols"]
    compressed = any(UID(r["ts"]).is_compressed for r in st.recs)
    phase = "decode_compressed" if compressed else "decode"
    vol = _parallel.new_volume((len(st.recs), rows, cols), shared=_parallel.mode(phase, len(st.recs)) == "process")
    token = id(vol)
    _parallel.SHARED[token] = vol
    bar = _parallel.progress_bar(progress, len(st.recs), "reading pixels", "slice")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            errors = _parallel.pmap(_decode_task, [(token, i, r) for i, r in enumerate(st.recs)], phase, bar)
    finally:
        _parallel.SHARED.pop(token, None)
        _SCRATCH.__dict__.pop("buf", None)  # this thread's (serial decoding); worker threads end
        if bar is not None:
            bar.close()
    bad = [i for i, e in enumerate(errors) if e]
    kept = st.recs
    positions, ipp = st.positions, st.ipp
    if bad:
        keep = np.setdiff1d(np.arange(len(kept)), bad)
        if keep.size == 0:
            raise DicomReadError(f"{p}: no slice of series {uid} could be decoded ({errors[bad[0]]})")
        vol = vol[keep]
        positions, ipp = positions[keep], ipp[keep]
        for i in bad:
            st.recs[i]["kind"] = "unreadable"
            st.recs[i]["error"] = errors[i]
        kept = [kept[i] for i in keep]

    skipped, notes = _skip_warning(p, uid, recs, st, len(kept))
    first = kept[0]
    thick = [r["thickness"] for r in kept if r.get("thickness") is not None]
    sbs = [r["sbs"] for r in kept if r.get("sbs") is not None]
    series = Series(
        volume=vol,
        positions=positions,
        pixel_spacing=tuple(first["pixel_spacing"]),
        orientation=st.orientation,
        thickness=majority(thick) if thick else None,
        interval=majority(sbs) if sbs else None,
        header=_template(first["path"]),
        series_uid=uid,
        description=first.get("description", ""),
        ipp=ipp,
        notes=notes,
        skipped=skipped,
        files=tuple(pathlib.Path(r["path"]) for r in kept),
        series_number=first.get("series_number"),
    )
    for note in series.notes:
        if note.startswith(("irregular slice spacing", "gantry tilt")):
            warnings.warn(f"{p}: series {uid}: {note}", SeriesWarning, stacklevel=3)
    if series.header_tilt_deg and series.gantry_tilt_deg == 0.0:
        series.notes.append(
            f"GantryDetectorTilt is {series.header_tilt_deg:g} deg in the header, but the slice "
            "centres lie along the normal (the orientation already includes the tilt)"
        )
    return series
