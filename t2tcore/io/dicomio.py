"""Reading and writing CT DICOM series.

:func:`read_series` reads one image series from a folder the way a trusted converter
(dcm2niix) does: slices are sorted by the projection of ImagePositionPatient on the slice
normal (the cross product of the ImageOrientationPatient row and column vectors), never by
InstanceNumber, file name or SliceLocation; RescaleSlope/RescaleIntercept are applied; files
that are not images of the chosen series (non-DICOM files, truncated files, localizers, other
series, reports...) are skipped with one :class:`~t2tcore.errors.SeriesWarning` saying what
was skipped; irregular spacing and gantry tilt are detected and reported, never "fixed".

:func:`write_series` writes a :class:`Series` as a valid CT series (a new SeriesInstanceUID,
the same Study and FrameOfReference, ImageType DERIVED\\SECONDARY, int16 pixels, Explicit VR
Little Endian) into a temporary folder that is renamed at the end.

:func:`list_series` / :func:`scan_folder` say what a folder holds (``t2t info``).

Positions and thicknesses are in mm, images in HU (float32).

Speed: files are read in parallel (forked worker processes on Linux, threads elsewhere;
``T2T_PARALLEL=process|thread|serial`` overrides). Uncompressed pixel data are read straight
from the file offset pydicom reports (the header is parsed by pydicom), compressed pixel data
are decoded by pydicom and its pylibjpeg plugins.
"""

from __future__ import annotations

import datetime as _dt
import math
import mmap
import os
import pathlib
import shutil
import struct
import sys
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pydicom
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    CTImageStorage,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    UID,
    generate_uid,
)
from pydicom.valuerep import format_number_as_ds

from t2tcore import __version__
from t2tcore.errors import SeriesWarning, T2TError
from t2tcore.io.outdir import staging_dir, swap_in

__all__ = [
    "DicomError",
    "DicomReadError",
    "DicomWriteError",
    "FolderScan",
    "MissingDecoderError",
    "SeriesChoiceError",
    "Series",
    "SeriesInfo",
    "check_output_dir",
    "list_series",
    "read_series",
    "scan_folder",
    "write_series",
]


# --------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------


class DicomError(T2TError):
    """Base class of the DICOM input/output errors."""


class DicomReadError(DicomError):
    """A path that does not hold a readable image series (missing, empty, no CT images...)."""


class SeriesChoiceError(DicomReadError):
    """Several image series and none chosen, or the chosen SeriesInstanceUID is absent."""


class MissingDecoderError(DicomReadError):
    """Compressed pixel data whose decoder plugin is not installed."""


class DicomWriteError(DicomError):
    """The output folder cannot be written (not empty, holds the input, not a folder...)."""


# --------------------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------------------

_NATIVE_SYNTAXES = {ExplicitVRLittleEndian, ImplicitVRLittleEndian}
_PIXEL_TAG_LE = b"\xe0\x7f\x10\x00"  # (7FE0,0010) little endian
_UNDEFINED = 0xFFFFFFFF

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

# Attributes copied from a source series into every slice of a derived one: patient,
# study, frame of reference, equipment and series-constant acquisition parameters.
# Per-slice attributes (tube current, exposure, positions, UIDs, pixel module) are not.
_TEMPLATE_KEYWORDS = (
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

# Type 2 attributes of the CT Image IOD: present (possibly empty) in every written slice.
_TYPE2_KEYWORDS = (
    "PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
    "ReferringPhysicianName", "StudyID", "AccessionNumber", "Manufacturer",
    "PositionReferenceIndicator", "KVP", "AcquisitionNumber",
)

# Human-readable reasons a file was skipped (used in warnings and by ``t2t info``).
_REASONS = {
    "not_dicom": "not DICOM",
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

# Geometry tolerances.
_IOP_TOL = 1e-3  # direction cosines: larger differences mean "another orientation"
_SPACING_ABS_TOL = 0.01  # mm
_SPACING_REL_TOL = 0.01  # of the median spacing
_TILT_TOL_DEG = 0.01
_SAME_POSITION_TOL = 1e-4  # mm: slices closer than this are at the same position

# Parallel reading/writing: below this many files everything runs in this process.
_PARALLEL_MIN_FILES = 48
#: How each phase runs in parallel: "process" (forked workers, Linux only), "thread" or
#: "serial". Overridden for all phases by the environment variable ``T2T_PARALLEL``.
#: Measured with benchmarks/bench_cli.py on 2 cores (525 files of 512 x 512): the header
#: scan (a struct-based parser, ~0.1 ms a file) and the reading of uncompressed pixels
#: (file reads and numpy, which release the GIL) are fastest in threads, forked processes
#: cost more than they save (fork, pickling, shared-memory page faults); so is writing.
#: Compressed pixels are decoded by plugins that hold the GIL: processes.
PARALLEL = {"scan": "thread", "decode": "thread", "decode_compressed": "process", "write": "thread"}
_SHARED: dict[int, Any] = {}
_IMPLEMENTATION_VERSION = f"T2T_{__version__}"[:16]  # arrays handed to forked workers (inherited at fork time)


# --------------------------------------------------------------------------------------
# Data classes
# --------------------------------------------------------------------------------------


@dataclass
class Series:
    """A CT image series: a volume in HU with its geometry and a header template.

    Attributes
    ----------
    volume : ndarray, shape (Z, Y, X), float32
        Images in HU, sorted by ascending position along the slice normal.
    positions : ndarray, shape (Z,), float64
        Each slice's ImagePositionPatient projected on :attr:`normal`, mm, strictly
        increasing.
    pixel_spacing : tuple of float
        (row spacing, column spacing) = (dy, dx) in mm.
    orientation : ndarray, shape (6,), float64
        ImageOrientationPatient: row direction cosines then column direction cosines.
    thickness : float or None
        SliceThickness in mm.
    interval : float or None
        SpacingBetweenSlices in mm when the header gives it (as :func:`write_series` writes
        it), else None. See :attr:`spacing` for the measured spacing.
    origin : ndarray, shape (3,), float64
        ImagePositionPatient of the first slice (lowest position), mm.
    header : pydicom.Dataset or None
        Template written into every slice of a derived series: patient, study, frame of
        reference, equipment and series-constant acquisition attributes; no pixel data.
    series_uid : str or None
        SeriesInstanceUID of the series read (None for a series not yet written).
    description : str
        SeriesDescription.
    ipp : ndarray, shape (Z, 3), float64
        ImagePositionPatient of every slice, mm (default: ``origin`` moved along the normal).
    notes : list of str
        What a user should know: skipped files, irregular spacing, gantry tilt.
    skipped : dict of str to int
        Files skipped by :func:`read_series`, by reason.
    files : tuple of pathlib.Path
        Files the slices were read from, in slice order (empty for a series not read).
    source_files : tuple of pathlib.Path
        Files of the series this one was derived from (:meth:`derive`).
    derived : bool
        True for a series made by :meth:`derive` or :meth:`from_array` (written as DERIVED).
    series_number : int or None
        SeriesNumber to write.
    derivation : str
        DerivationDescription to write (what made the series); defaults to ``description``.
    spacing : float or None
        Median distance between consecutive positions, mm (None for one slice). Computed.
    irregular : bool
        True if the distance between consecutive slices varies (a gap, overlapping slices).
        Computed; the details are in :attr:`notes`.
    gantry_tilt_deg : float
        Angle between the line through the slice positions and the slice normal, degrees:
        a tilted gantry with axial orientation makes a sheared stack. Computed.
    header_tilt_deg : float or None
        GantryDetectorTilt from the header, degrees.
    """

    volume: np.ndarray
    positions: np.ndarray
    pixel_spacing: tuple[float, float]
    orientation: np.ndarray
    thickness: float | None
    interval: float | None = None
    origin: np.ndarray | None = None
    header: Dataset | None = None
    series_uid: str | None = None
    description: str = ""
    ipp: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    files: tuple[pathlib.Path, ...] = ()
    source_files: tuple[pathlib.Path, ...] = ()
    derived: bool = False
    series_number: int | None = None
    derivation: str = ""
    spacing: float | None = field(init=False, default=None)
    irregular: bool = field(init=False, default=False)
    gantry_tilt_deg: float = field(init=False, default=0.0)
    header_tilt_deg: float | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        vol = np.asarray(self.volume)
        if vol.ndim != 3 or vol.shape[0] == 0:
            raise ValueError(f"volume must be 3-D (Z, Y, X) with Z >= 1, got shape {vol.shape}")
        if vol.dtype != np.float32:
            vol = vol.astype(np.float32)
        self.volume = vol
        pos = np.asarray(self.positions, dtype=np.float64).reshape(-1)
        if pos.size != vol.shape[0]:
            raise ValueError(f"positions has {pos.size} entries for {vol.shape[0]} slices")
        if not np.all(np.isfinite(pos)):
            raise ValueError("positions must be finite")
        if pos.size > 1 and np.any(np.diff(pos) <= 0):
            raise ValueError("positions must be strictly increasing (sort the slices first)")
        self.positions = pos
        orient = np.asarray(self.orientation, dtype=np.float64).reshape(-1)
        if orient.size != 6:
            raise ValueError(f"orientation must have 6 direction cosines, got {orient.size}")
        self.orientation = orient
        dy, dx = (float(v) for v in self.pixel_spacing)
        if not (dy > 0 and dx > 0):
            raise ValueError(f"pixel_spacing must be > 0, got {self.pixel_spacing}")
        self.pixel_spacing = (dy, dx)
        n = self.normal
        if self.ipp is None:
            origin = (np.zeros(3) + pos[0] * n) if self.origin is None else np.asarray(self.origin, float)
            self.ipp = origin[None, :] + (pos - pos[0])[:, None] * n[None, :]
        else:
            self.ipp = np.asarray(self.ipp, dtype=np.float64).reshape(-1, 3)
            if self.ipp.shape[0] != pos.size:
                raise ValueError(f"ipp has {self.ipp.shape[0]} rows for {pos.size} slices")
        self.origin = self.ipp[0].copy()
        geo = _geometry_report(pos, self.ipp, n)
        self.spacing, self.irregular, self.gantry_tilt_deg = geo.spacing, geo.irregular, geo.tilt_deg
        if self.header is not None and "GantryDetectorTilt" in self.header:
            self.header_tilt_deg = _float_or_none(self.header.get("GantryDetectorTilt"))
        self.notes = list(self.notes) + [m for m in geo.notes if m not in self.notes]
        self.files = tuple(pathlib.Path(f) for f in self.files)
        self.source_files = tuple(pathlib.Path(f) for f in self.source_files)

    @property
    def normal(self) -> np.ndarray:
        """Unit slice normal, shape (3,): cross product of the row and column directions."""
        return _normal(self.orientation)

    @property
    def shape(self) -> tuple[int, int, int]:
        """Shape (Z, Y, X) of :attr:`volume`."""
        return tuple(self.volume.shape)  # type: ignore[return-value]

    def derive(
        self,
        volume: np.ndarray,
        positions: np.ndarray,
        *,
        thickness: float | None,
        interval: float | None,
        description: str,
        derivation: str | None = None,
    ) -> "Series":
        """A new series of the same patient, study and frame of reference.

        Written by :func:`write_series` with a new SeriesInstanceUID and ImageType DERIVED.

        Parameters
        ----------
        volume : ndarray, shape (Z', Y, X)
            The new images, HU (converted to float32). Same in-plane size as this series.
        positions : array_like, shape (Z',)
            Their positions along this series' normal, mm, in any order (sorted here).
        thickness : float or None
            SliceThickness of the new slices, mm.
        interval : float or None
            SpacingBetweenSlices of the new slices, mm.
        description : str
            SeriesDescription (at most 64 characters are written).
        derivation : str, optional
            DerivationDescription (what made the series); default ``description``.

        Returns
        -------
        Series
            Slice centres lie on the line through this series' slice centres (which follows
            a gantry tilt), at the new positions.
        """
        vol = np.asarray(volume)
        pos = np.asarray(positions, dtype=np.float64).reshape(-1)
        if vol.ndim != 3 or vol.shape[1:] != self.volume.shape[1:]:
            raise ValueError(
                f"volume must have shape (Z, {self.volume.shape[1]}, {self.volume.shape[2]}), got {vol.shape}"
            )
        if pos.size != vol.shape[0]:
            raise ValueError(f"positions has {pos.size} entries for {vol.shape[0]} slices")
        order = np.argsort(pos, kind="stable")
        if np.any(order != np.arange(pos.size)):
            vol, pos = vol[order], pos[order]
        number = None if self.series_number is None else self.series_number + 1000
        return Series(
            volume=vol,
            positions=pos,
            pixel_spacing=self.pixel_spacing,
            orientation=self.orientation.copy(),
            thickness=None if thickness is None else float(thickness),
            interval=None if interval is None else float(interval),
            header=self.header,
            series_uid=None,
            description=description,
            ipp=self._ipp_at(pos),
            source_files=self.files or self.source_files,
            derived=True,
            series_number=number,
            derivation=derivation or description,
        )

    def _ipp_at(self, pos: np.ndarray) -> np.ndarray:
        """Slice centres (Z', 3) at positions ``pos`` on the line through this series' centres."""
        if self.positions.size < 2:
            return self.ipp[0][None, :] + (pos - self.positions[0])[:, None] * self.normal[None, :]
        p0, p1 = self.positions[0], self.positions[-1]
        slope = (self.ipp[-1] - self.ipp[0]) / (p1 - p0)
        return self.ipp[0][None, :] + (pos - p0)[:, None] * slope[None, :]

    @classmethod
    def from_array(
        cls,
        volume: np.ndarray,
        positions: np.ndarray,
        pixel_spacing: Sequence[float],
        thickness: float | None,
        *,
        interval: float | None = None,
        orientation: Sequence[float] = (1, 0, 0, 0, 1, 0),
        origin_xy: Sequence[float] | None = None,
        patient_id: str = "ANON",
        patient_name: str | None = None,
        study_uid: str | None = None,
        frame_of_reference_uid: str | None = None,
        description: str = "",
        extra: dict[str, Any] | None = None,
    ) -> "Series":
        """A series with no source file (e.g. a reconstruction of the virtual scanner).

        Parameters
        ----------
        volume : ndarray, shape (Z, Y, X)
            Images in HU (converted to float32).
        positions : array_like, shape (Z,)
            Slice positions along the normal, mm, in any order (sorted here, with the slices).
        pixel_spacing : (float, float)
            (dy, dx) in mm.
        thickness : float or None
            SliceThickness, mm.
        interval : float, optional
            SpacingBetweenSlices, mm.
        orientation : sequence of 6 float, optional
            ImageOrientationPatient; default axial ``(1, 0, 0, 0, 1, 0)``.
        origin_xy : (float, float), optional
            Coordinates (mm) of the first pixel's centre along the row and column directions
            (patient x and y for axial slices). Default: the image centred on 0.
        patient_id, patient_name : str, optional
            PatientID (default ``"ANON"``) and PatientName (default: the PatientID).
        study_uid, frame_of_reference_uid : str, optional
            Share them between series of one (virtual) patient; new UIDs by default.
        description : str, optional
            SeriesDescription.
        extra : dict, optional
            DICOM keyword -> value written into every slice, e.g. ``{"ConvolutionKernel":
            "B30f", "KVP": 120, "Exposure": 200, "Manufacturer": "t2t virtual CT"}``.

        Returns
        -------
        Series
            ``derived`` is True: written with ImageType DERIVED\\SECONDARY.
        """
        vol = np.asarray(volume)
        if vol.ndim != 3:
            raise ValueError(f"volume must be 3-D (Z, Y, X), got shape {vol.shape}")
        pos = np.asarray(positions, dtype=np.float64).reshape(-1)
        if pos.size != vol.shape[0]:
            raise ValueError(f"positions has {pos.size} entries for {vol.shape[0]} slices")
        order = np.argsort(pos, kind="stable")
        if np.any(order != np.arange(pos.size)):
            vol, pos = vol[order], pos[order]
        dy, dx = (float(v) for v in pixel_spacing)
        orient = np.asarray(orientation, dtype=np.float64).reshape(-1)
        if orient.size != 6:
            raise ValueError("orientation must have 6 direction cosines")
        row, col = orient[:3], orient[3:]
        if origin_xy is None:
            origin_xy = (-(vol.shape[2] - 1) / 2 * dx, -(vol.shape[1] - 1) / 2 * dy)
        normal = _normal(orient)
        base = float(origin_xy[0]) * row + float(origin_xy[1]) * col
        ipp = base[None, :] + pos[:, None] * normal[None, :]

        hdr = Dataset()
        hdr.SpecificCharacterSet = "ISO_IR 192"
        hdr.PatientName = patient_name if patient_name is not None else patient_id
        hdr.PatientID = patient_id
        hdr.StudyInstanceUID = study_uid or generate_uid()
        hdr.FrameOfReferenceUID = frame_of_reference_uid or generate_uid()
        today = _dt.datetime.now()
        hdr.StudyDate = today.strftime("%Y%m%d")
        hdr.StudyTime = today.strftime("%H%M%S")
        hdr.Manufacturer = "t2t"
        for key, value in (extra or {}).items():
            if key not in pydicom.datadict.keyword_dict:
                raise ValueError(f"extra: {key!r} is not a DICOM keyword")
            try:
                setattr(hdr, key, value)
            except Exception as exc:  # noqa: BLE001 - pydicom raises several types
                raise ValueError(f"extra[{key!r}] = {value!r}: {exc}") from None
        return cls(
            volume=vol,
            positions=pos,
            pixel_spacing=(dy, dx),
            orientation=orient,
            thickness=None if thickness is None else float(thickness),
            interval=None if interval is None else float(interval),
            header=hdr,
            description=description,
            ipp=ipp,
            derived=True,
        )


@dataclass
class SeriesInfo:
    """Summary of one image series in a folder (from the headers only).

    Attributes
    ----------
    uid, description, modality : str
        SeriesInstanceUID, SeriesDescription, Modality.
    series_number : int or None
    n_slices : int
        Images of the series that :func:`read_series` would read (not localizers, majority
        orientation and size, no duplicates).
    n_files : int
        All image files of the series.
    n_localizers : int
        Localizer/scout images in the series.
    thickness : float or None
        SliceThickness, mm (the most common value).
    spacing : float or None
        Median distance between consecutive slice positions, mm.
    position_range : (float, float) or None
        Lowest and highest slice position along the normal, mm.
    irregular : bool
        Spacing varies (gap, overlap).
    tilt : float
        Geometric gantry tilt (shear of the stack), degrees.
    header_tilt : float or None
        GantryDetectorTilt, degrees.
    kernel : str
        ConvolutionKernel.
    rows, columns : int
    pixel_spacing : (float, float) or None
        (dy, dx), mm.
    is_ct : bool
        Modality CT or CT Image Storage SOP class.
    localizer : bool
        Every image of the series is a localizer.
    transfer_syntax : str
        Name of the (most common) transfer syntax.
    notes : list of str
        Irregularities, tilt, duplicate positions, skipped images.
    """

    uid: str
    description: str
    modality: str
    series_number: int | None
    n_slices: int
    n_files: int
    n_localizers: int
    thickness: float | None
    spacing: float | None
    position_range: tuple[float, float] | None
    irregular: bool
    tilt: float
    header_tilt: float | None
    kernel: str
    rows: int
    columns: int
    pixel_spacing: tuple[float, float] | None
    is_ct: bool
    localizer: bool
    transfer_syntax: str
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        """One-line summary: UID, description, slice count, thickness."""
        thick = "?" if self.thickness is None else f"{self.thickness:g} mm"
        desc = f" ({self.description})" if self.description else ""
        return f"{self.uid}{desc}: {self.modality or '?'}, {self.n_slices} slices, thickness {thick}"


@dataclass
class FolderScan:
    """What a folder holds: its image series and the files that are not series images.

    Attributes
    ----------
    path : pathlib.Path
    n_files : int
        Files looked at (hidden files and folders are ignored).
    series : list of SeriesInfo
        Image series, CT first, then by SeriesNumber.
    skipped : dict of str to int
        Files that are not images of any series, by reason (``"not DICOM"``, ...).
    examples : dict of str to str
        One file name per reason in ``skipped``.
    """

    path: pathlib.Path
    n_files: int
    series: list[SeriesInfo]
    skipped: dict[str, int]
    examples: dict[str, str]


# --------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------


def _normal(orientation: np.ndarray) -> np.ndarray:
    o = np.asarray(orientation, dtype=np.float64)
    n = np.cross(o[:3], o[3:])
    norm = np.linalg.norm(n)
    if not norm > 1e-6:
        raise ValueError(f"orientation {o.tolist()} has parallel row and column directions")
    return n / norm


def _float_or_none(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _str(ds: Dataset, keyword: str) -> str:
    try:
        v = ds.get(keyword)
    except Exception:  # noqa: BLE001
        return ""
    if v is None:
        return ""
    if isinstance(v, (list, tuple, pydicom.multival.MultiValue)):
        return "\\".join(str(x) for x in v)
    return str(v).strip()


def _n_workers() -> int:
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    return max(1, min(n, 8))


def _mode(phase: str, n_items: int) -> str:
    mode = os.environ.get("T2T_PARALLEL", "").strip().lower() or PARALLEL.get(phase, "thread")
    if mode not in ("process", "thread", "serial"):
        mode = "thread"
    if n_items < _PARALLEL_MIN_FILES or _n_workers() < 2:
        return "serial"
    if mode == "process" and not sys.platform.startswith("linux"):
        return "thread"  # fork is only safe and cheap on Linux
    return mode


def _pmap(func: Callable, items: Sequence, phase: str, bar: Any = None) -> list:
    """``[func(x) for x in items]`` in parallel (order kept), updating a tqdm ``bar``."""
    mode = _mode(phase, len(items))
    out: list = []
    if mode == "serial":
        for x in items:
            out.append(func(x))
            if bar is not None:
                bar.update(1)
        return out
    workers = _n_workers()
    chunk = max(1, min(32, len(items) // (workers * 8)))
    if mode == "process":
        import multiprocessing as mp

        with mp.get_context("fork").Pool(workers) as pool:
            for r in pool.imap(func, items, chunksize=chunk):
                out.append(r)
                if bar is not None:
                    bar.update(1)
        return out
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers) as ex:
        for r in ex.map(func, items):
            out.append(r)
            if bar is not None:
                bar.update(1)
    return out


def _bar(progress: bool, total: int, desc: str, unit: str = "file"):
    if not progress:
        return None
    from t2tcore.progress import bar

    return bar(total=total, desc=desc, unit=unit)


def _list_files(path: pathlib.Path) -> list[str]:
    """Regular files under ``path`` (recursively), hidden files and folders ignored, sorted."""
    def fail(exc: OSError) -> None:
        raise exc

    files: list[str] = []
    for root, dirs, names in os.walk(path, onerror=fail):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        files.extend(os.path.join(root, n) for n in sorted(names) if not n.startswith("."))
    return files


# --------------------------------------------------------------------------------------
# Scanning headers
# --------------------------------------------------------------------------------------


class _Values:
    """Typed access to the header values the scan needs (DICOM tag -> value)."""

    def raw(self, tag: int) -> str:  # text of the value, "" if absent
        raise NotImplementedError

    def text(self, tag: int) -> str:  # character-set aware text (descriptions)
        raise NotImplementedError

    def us(self, tag: int, default: int | None) -> int | None:
        raise NotImplementedError

    def floats(self, tag: int, n: int) -> tuple[float, ...] | None:
        txt = self.raw(tag)
        if not txt:
            return None
        try:
            vals = tuple(float(x) for x in txt.split("\\"))
        except ValueError:
            return None
        if len(vals) != n or not all(math.isfinite(x) for x in vals):
            return None
        return vals

    def float(self, tag: int) -> float | None:
        vals = self.floats(tag, 1)
        return None if vals is None else vals[0]

    def int(self, tag: int, default: int | None = None) -> int | None:
        txt = self.raw(tag)
        try:
            return int(txt) if txt else default
        except ValueError:
            try:
                return int(float(txt))
            except ValueError:
                return default


class _DatasetValues(_Values):
    """Values of a pydicom dataset, from the raw bytes where pydicom has not converted
    them yet (pydicom's value conversion would double the scan time)."""

    def __init__(self, ds: Dataset) -> None:
        self.ds = ds

    def _elem(self, tag: int):
        try:
            return self.ds.get_item(tag)
        except Exception:  # noqa: BLE001
            return None

    def raw(self, tag: int) -> str:
        elem = self._elem(tag)
        if elem is None or elem.value is None:
            return ""
        v = elem.value
        if isinstance(elem, RawDataElement):
            return v.decode("latin-1").strip(" \x00")
        if isinstance(v, (list, tuple, pydicom.multival.MultiValue)):
            return "\\".join(str(x) for x in v)
        return str(v).strip()

    def text(self, tag: int) -> str:
        return _str(self.ds, pydicom.datadict.keyword_for_tag(tag))

    def us(self, tag: int, default: int | None) -> int | None:
        elem = self._elem(tag)
        if elem is None or elem.value is None:
            return default
        v = elem.value
        if isinstance(elem, RawDataElement):
            if len(v) < 2:
                return default
            return int.from_bytes(v[:2], "little" if elem.is_little_endian else "big")
        try:
            return int(v)
        except (TypeError, ValueError):
            return default


class _BytesValues(_Values):
    """Values from :func:`_fast_header` (little endian bytes)."""

    def __init__(self, values: dict[int, bytes]) -> None:
        self.values = values

    def raw(self, tag: int) -> str:
        v = self.values.get(tag)
        return "" if not v else v.decode("latin-1").strip(" \x00")

    def text(self, tag: int) -> str:
        v = self.values.get(tag)
        if not v:
            return ""
        if not v.isascii():
            raise _Fallback  # needs the character set: let pydicom decode it
        return v.decode("ascii").strip(" \x00")

    def us(self, tag: int, default: int | None) -> int | None:
        v = self.values.get(tag)
        return default if v is None or len(v) < 2 else int.from_bytes(v[:2], "little")


@dataclass
class _Header:
    values: _Values
    ts: str
    media_class: str
    preamble: bool
    has_pixels: bool | None  # None: unknown (deflated or big endian data)
    length: int = 0  # of the pixel data value
    value_at: int = 0  # file offset of the pixel data value


# --- fast header parser -----------------------------------------------------------------
# Files with a preamble in (Explicit or Implicit VR) Little Endian, native or encapsulated,
# are parsed here with struct: only the tags the scan needs are kept, sequences are skipped,
# parsing stops at the pixel data like pydicom's stop_before_pixels. Anything else (no
# preamble, deflated, big endian, malformed, non-ASCII descriptions) goes to pydicom.
# tests/test_dicomio.py checks both give the same records on many files.


class _Fallback(Exception):
    """The fast parser cannot handle this file: use pydicom."""


class _NeedMore(Exception):
    """The header goes on beyond the bytes read so far."""


_LONG_VRS = frozenset({b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"})
_PIXEL_TAGS = frozenset({0x7FE00008, 0x7FE00009, 0x7FE00010})
_SCAN_TAGS = frozenset(
    {
        0x00080008, 0x00080016, 0x00080018, 0x00080060, 0x0008103E, 0x00180050, 0x00180088,
        0x00181120, 0x00181210, 0x0020000D, 0x0020000E, 0x00200011, 0x00200032, 0x00200037,
        0x00200052, 0x00280002, 0x00280008, 0x00280010, 0x00280011, 0x00280030, 0x00280100,
        0x00280101, 0x00280102, 0x00280103, 0x00281052, 0x00281053,
    }
)
_HEAD_BYTES = 1 << 14
_unpack_tag = struct.Struct("<HH").unpack_from
_unpack_u16 = struct.Struct("<H").unpack_from
_unpack_u32 = struct.Struct("<I").unpack_from


def _element_head(buf: bytes, pos: int, implicit: bool, end: int) -> tuple[int, bytes | None, int, int]:
    """(tag, VR, value length, header size) of the element at ``pos``."""
    if pos + 8 > end:
        raise _NeedMore
    group, elem = _unpack_tag(buf, pos)
    tag = (group << 16) | elem
    if implicit or group == 0xFFFE:
        return tag, None, _unpack_u32(buf, pos + 4)[0], 8
    vr = buf[pos + 4 : pos + 6]
    if vr in _LONG_VRS:
        if pos + 12 > end:
            raise _NeedMore
        return tag, vr, _unpack_u32(buf, pos + 8)[0], 12
    return tag, vr, _unpack_u16(buf, pos + 6)[0], 8


def _skip_sequence(buf: bytes, pos: int, implicit: bool, end: int, depth: int = 0) -> int:
    """Position after an undefined-length sequence (or encapsulated value) at ``pos``."""
    if depth > 32:
        raise _Fallback
    while True:
        tag, _, length, hdr = _element_head(buf, pos, True, end)
        pos += hdr
        if tag == 0xFFFEE0DD:  # sequence delimiter
            return pos
        if tag != 0xFFFEE000:
            raise _Fallback
        if length != _UNDEFINED:
            pos += length
            if pos > end:
                raise _NeedMore
            continue
        while True:  # item of undefined length: elements up to the item delimiter
            tag, vr, length, hdr = _element_head(buf, pos, implicit, end)
            pos += hdr
            if tag == 0xFFFEE00D:
                break
            if length == _UNDEFINED:
                pos = _skip_sequence(buf, pos, implicit or vr == b"UN", end, depth + 1)
            else:
                pos += length
                if pos > end:
                    raise _NeedMore


def _parse_header(buf: bytes, complete: bool) -> tuple[dict[int, bytes], dict[int, bytes], int | None, int, int]:
    """(meta values, data set values, pixel tag position or None, pixel value length,
    pixel value offset) of a file's first ``len(buf)`` bytes (``complete``: all of it)."""
    end = len(buf)
    if end < 132 or buf[128:132] != b"DICM":
        raise _Fallback
    pos = 132
    meta: dict[int, bytes] = {}
    while True:
        if pos + 8 > end:
            raise _NeedMore
        if _unpack_tag(buf, pos)[0] != 0x0002:
            break
        tag, _, length, hdr = _element_head(buf, pos, False, end)
        pos += hdr
        if length == _UNDEFINED or pos + length > end:
            raise _NeedMore if length != _UNDEFINED else _Fallback
        meta[tag] = buf[pos : pos + length]
        pos += length
    ts = UID(meta.get(0x00020010, b"").decode("latin-1").strip(" \x00"))
    if not ts.is_transfer_syntax or ts.is_deflated or not ts.is_little_endian:
        raise _Fallback
    implicit = ts.is_implicit_VR
    values: dict[int, bytes] = {}
    while pos + 8 <= end:
        tag, vr, length, hdr = _element_head(buf, pos, implicit, end)
        if tag in _PIXEL_TAGS:
            return meta, values, (pos if tag == 0x7FE00010 else None), length, pos + hdr
        pos += hdr
        if length == _UNDEFINED:
            pos = _skip_sequence(buf, pos, implicit or vr == b"UN", end)
            continue
        if pos + length > end:
            raise _NeedMore
        if tag in _SCAN_TAGS:
            values[tag] = buf[pos : pos + length]
        pos += length
    if not complete:
        raise _NeedMore
    if pos != end:
        raise _Fallback  # a few stray bytes at the end: let pydicom judge
    return meta, values, None, 0, 0


def _fast_header(path: str, size: int) -> _Header:
    with open(path, "rb") as fp:
        buf = fp.read(_HEAD_BYTES)
        try:
            meta, values, pix_at, length, value_at = _parse_header(buf, len(buf) >= size)
        except _NeedMore:
            if len(buf) >= size:
                raise _Fallback from None  # the file ends inside the header: truncated
            buf += fp.read()
            try:
                meta, values, pix_at, length, value_at = _parse_header(buf, True)
            except _NeedMore:
                raise _Fallback from None
    clean = lambda b: b.decode("latin-1").strip(" \x00")  # noqa: E731
    return _Header(
        values=_BytesValues(values),
        ts=clean(meta.get(0x00020010, b"")),
        media_class=clean(meta.get(0x00020002, b"")),
        preamble=True,
        has_pixels=pix_at is not None,
        length=length if pix_at is not None else 0,
        value_at=value_at if pix_at is not None else 0,
    )


def _read_header(fp) -> tuple[Dataset | None, bool]:
    """(dataset without pixel data, had a DICOM preamble) or (None, False) if not DICOM."""
    try:
        return pydicom.dcmread(fp, stop_before_pixels=True), True
    except InvalidDicomError:
        pass
    # No "DICM" preamble: accept raw little-endian data sets that start with group 0002/0008
    # (old exports), as dcm2niix does.
    fp.seek(0)
    head = fp.read(8)
    if len(head) < 8 or head[:2] not in (b"\x02\x00", b"\x08\x00") or head[3:4] != b"\x00":
        return None, False
    fp.seek(0)
    return pydicom.dcmread(fp, stop_before_pixels=True, force=True), False


def _pydicom_header(path: str) -> _Header | None:
    """The header read by pydicom (None if not DICOM)."""
    with open(path, "rb") as fp:
        ds, preamble = _read_header(fp)
        if ds is None:
            return None
        pix_at = fp.tell()
        pix_head = fp.read(12)
    if not preamble and "SOPClassUID" not in ds and "Modality" not in ds:
        return None
    meta = getattr(ds, "file_meta", None)
    ts = str(meta.get("TransferSyntaxUID", "")) if meta is not None else ""
    media_class = str(meta.get("MediaStorageSOPClassUID", "")) if meta is not None else ""
    hdr = _Header(_DatasetValues(ds), ts, media_class, preamble, None)
    # pydicom stopped reading at the (7FE0,0010) tag: read its header.
    if pix_head[:4] == _PIXEL_TAG_LE:
        hdr.has_pixels = True
        if pix_head[4:6] in (b"OB", b"OW", b"UN", b"OV"):
            hdr.length, hdr.value_at = int.from_bytes(pix_head[8:12], "little"), pix_at + 12
        else:
            hdr.length, hdr.value_at = int.from_bytes(pix_head[4:8], "little"), pix_at + 8
    elif ts in _NATIVE_SYNTAXES or ts == "" or UID(ts).is_encapsulated:
        hdr.has_pixels = False
    # else deflated or big endian: pydicom finds the pixel data (or not) when decoding
    return hdr


def _scan_file(path: str, fast: bool = True) -> dict:
    """Header facts of one file (runs in worker processes; returns plain Python values)."""
    rec: dict[str, Any] = {"path": path, "kind": "image"}
    try:
        size = os.path.getsize(path)
        hdr = None
        if fast:
            try:
                hdr = _fast_header(path, size)
                rec.update(_header_facts(hdr))
            except _Fallback:
                hdr = None
        if hdr is None:
            hdr = _pydicom_header(path)
            if hdr is None:
                rec["kind"] = "not_dicom"
                return rec
            rec.update(_header_facts(hdr))
    except Exception as exc:  # noqa: BLE001 - any parse failure means unreadable
        rec["kind"] = "unreadable"
        rec["error"] = f"{type(exc).__name__}: {exc}"
        return rec
    return _classify(rec, hdr, size)


def _header_facts(hdr: _Header) -> dict[str, Any]:
    v = hdr.values
    facts = dict(
        ts=hdr.ts,
        sop_uid=v.raw(0x00080018),
        sop_class=v.raw(0x00080016),
        series_uid=v.raw(0x0020000E),
        study_uid=v.raw(0x0020000D),
        for_uid=v.raw(0x00200052),
        modality=v.raw(0x00080060).upper(),
        description=v.text(0x0008103E),
        series_number=v.int(0x00200011),
        image_type=tuple(x.strip().upper() for x in v.raw(0x00080008).split("\\")),
        iop=v.floats(0x00200037, 6),
        ipp=v.floats(0x00200032, 3),
        pixel_spacing=v.floats(0x00280030, 2),
        thickness=v.float(0x00180050),
        sbs=v.float(0x00180088),
        tilt=v.float(0x00181120),
        kernel=v.text(0x00181210),
        rows=v.us(0x00280010, 0),
        cols=v.us(0x00280011, 0),
        frames=v.int(0x00280008, 1),
        samples=v.us(0x00280002, 1),
        bits_alloc=v.us(0x00280100, 16),
        bits_stored=v.us(0x00280101, None),
        high_bit=v.us(0x00280102, None),
        pixel_rep=v.us(0x00280103, 0),
        slope=v.float(0x00281053),
        intercept=v.float(0x00281052),
    )
    if facts["slope"] is None or facts["slope"] == 0:
        facts["slope"] = 1.0
    if facts["intercept"] is None:
        facts["intercept"] = 0.0
    if facts["bits_stored"] is None:
        facts["bits_stored"] = facts["bits_alloc"]
    return facts


def _classify(rec: dict, hdr: _Header, size: int) -> dict:
    """Sort a scanned file into image / not an image (and why)."""
    rows, cols, frames = rec["rows"], rec["cols"], rec["frames"]
    is_image_like = bool(rows and cols)
    if hdr.has_pixels is False:
        sop_class = rec["sop_class"] or hdr.media_class
        image_class = bool(sop_class) and "Image Storage" in UID(sop_class).name
        if is_image_like or image_class or not sop_class:  # an image cut short
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

    native = hdr.ts in _NATIVE_SYNTAXES or hdr.ts == ""
    expected = rows * cols * max(1, rec["bits_alloc"] // 8)
    rec["decode"] = "pydicom"
    length, value_at = hdr.length, hdr.value_at
    if hdr.has_pixels and length != _UNDEFINED:
        if value_at + min(length, expected) > size or length < expected:
            rec["kind"] = "unreadable"
            rec["error"] = f"pixel data truncated ({max(0, size - value_at)} of {expected} bytes)"
            return rec
        if (
            native
            and rec["bits_alloc"] in (8, 16, 32)
            and 1 <= rec["bits_stored"] <= rec["bits_alloc"]
            and rec["high_bit"] in (None, rec["bits_stored"] - 1)
        ):
            rec["decode"] = "raw"
            rec["value_at"] = value_at
    elif hdr.has_pixels and value_at >= size:
        rec["kind"] = "unreadable"
        rec["error"] = "pixel data truncated"
    return rec


def _scan(path: Any, progress: bool) -> tuple[pathlib.Path, list[dict]]:
    p = pathlib.Path(path).expanduser()
    if not p.exists():
        raise DicomReadError(f"{p}: no such file or folder")
    if p.is_dir():
        try:
            files = _list_files(p)
        except OSError as exc:
            raise DicomReadError(f"{p}: cannot list the folder ({exc.strerror or exc})") from None
        if not files:
            raise DicomReadError(f"{p}: the folder is empty (no files)")
    elif p.is_file():
        files = [str(p)]
    else:
        raise DicomReadError(f"{p}: not a file or folder")
    bar = _bar(progress, len(files), "scanning headers")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pydicom's complaints about odd values
            recs = _pmap(_scan_file, files, "scan", bar)
    finally:
        if bar is not None:
            bar.close()
    return p, recs


# --------------------------------------------------------------------------------------
# Grouping into series and selecting a stack
# --------------------------------------------------------------------------------------


@dataclass
class _Geometry:
    spacing: float | None
    irregular: bool
    tilt_deg: float
    notes: list[str]


def _geometry_report(pos: np.ndarray, ipp: np.ndarray, normal: np.ndarray) -> _Geometry:
    """Spacing regularity and gantry tilt of sorted positions (Z,) and centres (Z, 3)."""
    notes: list[str] = []
    if pos.size < 2:
        return _Geometry(None, False, 0.0, notes)
    d = np.diff(pos)
    med = float(np.median(d))
    tol = max(_SPACING_ABS_TOL, _SPACING_REL_TOL * med)
    irregular = bool(d.max() - d.min() > tol)
    if irregular:
        big = np.flatnonzero(d > med + tol)
        small = np.flatnonzero(d < med - tol)
        parts = [f"spacing varies from {d.min():.4g} to {d.max():.4g} mm (median {med:.4g} mm)"]
        if big.size:
            i = big[0]
            parts.append(
                f"{big.size} larger step(s) (gap), e.g. {pos[i]:.4g} -> {pos[i + 1]:.4g} mm"
            )
        if small.size:
            i = small[0]
            parts.append(
                f"{small.size} smaller step(s) (overlap), e.g. {pos[i]:.4g} -> {pos[i + 1]:.4g} mm"
            )
        notes.append("irregular slice spacing: " + "; ".join(parts) + " (kept as is, not resampled)")
    v = ipp[-1] - ipp[0]
    along = float(v @ normal)
    across = float(np.linalg.norm(v - along * normal))
    tilt = math.degrees(math.atan2(across, abs(along))) if abs(along) > 0 else 0.0
    if tilt < _TILT_TOL_DEG or across < 0.01:
        tilt = 0.0
    else:
        notes.append(
            f"gantry tilt: slice centres move {across:.3g} mm sideways over {abs(along):.4g} mm "
            f"({tilt:.3g} deg from the slice normal); positions are distances between the "
            "slice planes, the stack is not un-sheared"
        )
    return _Geometry(med, irregular, tilt, notes)


def _is_localizer(rec: dict) -> bool:
    return "LOCALIZER" in rec.get("image_type", ()) or "SCOUT" in rec.get("image_type", ())


def _is_ct(recs: Sequence[dict]) -> bool:
    """Modality CT (or no Modality and the CT Image Storage SOP class)."""
    return any(
        r.get("modality") == "CT" or (not r.get("modality") and r.get("sop_class") == CTImageStorage) for r in recs
    )


@dataclass
class _Stack:
    recs: list[dict]  # sorted by position
    orientation: np.ndarray
    normal: np.ndarray
    positions: np.ndarray
    ipp: np.ndarray
    dropped: Counter
    duplicates_at: list[float]


def _majority(values: Iterable) -> Any:
    return Counter(values).most_common(1)[0][0]


def _select_stack(recs: list[dict]) -> _Stack:
    """The slices of one series that form a volume: no localizers, majority orientation and
    size, one file per SOPInstanceUID, sorted by position along the normal."""
    dropped: Counter = Counter()
    imgs = []
    for r in recs:
        if _is_localizer(r):
            dropped["localizer"] += 1
        else:
            imgs.append(r)
    if not imgs:
        return _Stack([], np.zeros(6), np.zeros(3), np.zeros(0), np.zeros((0, 3)), dropped, [])
    key = _majority(tuple(round(x, 3) for x in r["iop"]) for r in imgs)
    ref = np.asarray(key, dtype=np.float64)
    same = [r for r in imgs if np.max(np.abs(np.asarray(r["iop"]) - ref)) <= _IOP_TOL]
    dropped["other_orientation"] += len(imgs) - len(same)
    size = _majority((r["rows"], r["cols"], tuple(round(x, 4) for x in r["pixel_spacing"])) for r in same)
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
    normal = _normal(orient)
    ipp = np.asarray([r["ipp"] for r in unique], dtype=np.float64)
    pos = ipp @ normal
    order = np.argsort(pos, kind="stable")
    pos, ipp = pos[order], ipp[order]
    unique = [unique[i] for i in order]
    same_pos = np.flatnonzero(np.diff(pos) < _SAME_POSITION_TOL)
    return _Stack(unique, orient, normal, pos, ipp, dropped, [float(pos[i]) for i in same_pos])


def _group(recs: list[dict]) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = {}
    for r in recs:
        if r["kind"] == "image":
            groups.setdefault(r.get("series_uid", ""), []).append(r)
    return groups


def _info(uid: str, recs: list[dict]) -> SeriesInfo:
    st = _select_stack(recs)
    first = recs[0]
    notes: list[str] = []
    spacing = irregular = None
    tilt = 0.0
    if st.recs:
        geo = _geometry_report(st.positions, st.ipp, st.normal)
        spacing, irregular, tilt = geo.spacing, geo.irregular, geo.tilt_deg
        notes.extend(geo.notes)
        if st.duplicates_at:
            notes.append(
                f"{len(st.duplicates_at)} slice(s) at the same position as another "
                f"(e.g. {st.duplicates_at[0]:.4g} mm): several stacks in one series, cannot be read"
            )
    for reason, n in st.dropped.items():
        if n and reason != "localizer":
            notes.append(f"{n} {_REASONS[reason]}")
    ref = st.recs or recs
    thick = [r["thickness"] for r in ref if r.get("thickness") is not None]
    tilts = [r["tilt"] for r in ref if r.get("tilt") is not None]
    ts = _majority(r.get("ts", "") for r in ref)
    return SeriesInfo(
        uid=uid,
        description=first.get("description", ""),
        modality=first.get("modality", ""),
        series_number=first.get("series_number"),
        n_slices=len(st.recs),
        n_files=len(recs),
        n_localizers=st.dropped["localizer"],
        thickness=_majority(thick) if thick else None,
        spacing=spacing,
        position_range=(float(st.positions[0]), float(st.positions[-1])) if st.recs else None,
        irregular=bool(irregular),
        tilt=tilt,
        header_tilt=_majority(tilts) if tilts else None,
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


def _folder_skips(recs: list[dict]) -> tuple[Counter, dict[str, str]]:
    skipped: Counter = Counter()
    examples: dict[str, str] = {}
    for r in recs:
        if r["kind"] != "image":
            skipped[r["kind"]] += 1
            examples.setdefault(r["kind"], os.path.basename(r["path"]) + (f" ({r['error']})" if r.get("error") else ""))
    return skipped, examples


def scan_folder(path: str | os.PathLike, *, progress: bool = False) -> FolderScan:
    """Say what a folder (searched recursively) or file holds, from the headers only.

    Parameters
    ----------
    path : str or path-like
        A folder or a single file.
    progress : bool, optional
        Show a progress bar on stderr.

    Returns
    -------
    FolderScan

    Raises
    ------
    DicomReadError
        The path does not exist or the folder is empty.
    """
    p, recs = _scan(path, progress)
    skipped, examples = _folder_skips(recs)
    return FolderScan(
        path=p,
        n_files=len(recs),
        series=_sorted_infos(_group(recs)),
        skipped={_REASONS[k]: v for k, v in skipped.items()},
        examples={_REASONS[k]: v for k, v in examples.items()},
    )


def list_series(path: str | os.PathLike) -> list[SeriesInfo]:
    """The image series in a folder (searched recursively): CT series first.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    list of SeriesInfo

    Raises
    ------
    DicomReadError
        The path does not exist or the folder is empty.
    """
    return scan_folder(path).series


# --------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------


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


def _fix_bits(raw: np.ndarray, bits_stored: int, signed: bool) -> np.ndarray:
    """Keep the ``bits_stored`` low bits (sign-extended for signed data)."""
    nbits = raw.dtype.itemsize * 8
    if bits_stored >= nbits:
        return raw
    if signed:
        shift = nbits - bits_stored
        return (raw << shift) >> shift
    return raw & np.array((1 << bits_stored) - 1, dtype=raw.dtype)


def _decode_pixels(rec: dict) -> np.ndarray:
    """Stored pixel values (rows, cols) of one file, before rescaling."""
    rows, cols = rec["rows"], rec["cols"]
    if rec["decode"] == "raw":
        nbytes_per = rec["bits_alloc"] // 8
        nbytes = rows * cols * nbytes_per
        with open(rec["path"], "rb") as fp:
            fp.seek(rec["value_at"])
            buf = fp.read(nbytes)
        if len(buf) != nbytes:
            raise EOFError(f"pixel data truncated ({len(buf)} of {nbytes} bytes)")
        dtype = np.dtype(f"<{'i' if rec['pixel_rep'] else 'u'}{nbytes_per}")
        raw = np.frombuffer(buf, dtype=dtype).reshape(rows, cols)
        return _fix_bits(raw, rec["bits_stored"], bool(rec["pixel_rep"]))
    ds = pydicom.dcmread(rec["path"])
    raw = ds.pixel_array
    if raw.shape != (rows, cols):
        raise ValueError(f"decoded pixel data have shape {raw.shape}, expected {(rows, cols)}")
    return raw


def _decode_task(task: tuple[int, int, dict]) -> str | None:
    """Decode slice ``i`` into the shared volume; returns an error message or None."""
    token, i, rec = task
    out = _SHARED[token][i]
    try:
        raw = _decode_pixels(rec)
        np.multiply(raw, np.float32(rec["slope"]), out=out, casting="unsafe")
        if rec["intercept"]:
            out += np.float32(rec["intercept"])
    except Exception as exc:  # noqa: BLE001 - a bad file is skipped, not fatal
        return f"{type(exc).__name__}: {exc}"
    return None


def _new_volume(shape: tuple[int, int, int], shared: bool) -> np.ndarray:
    """An uninitialised float32 array; in anonymous shared memory (writable by forked
    workers) if ``shared``. (Huge pages and pre-faulting were measured: no faster.)"""
    nbytes = int(np.prod(shape)) * 4
    if not shared or nbytes == 0:
        return np.empty(shape, np.float32)
    return np.frombuffer(mmap.mmap(-1, nbytes), dtype=np.float32).reshape(shape)


def _template(path: str) -> Dataset:
    """The header template of a source series, from one of its files."""
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
    except Exception as exc:  # noqa: BLE001 - the file changed since it was scanned
        raise DicomReadError(f"{path}: cannot read the header again ({type(exc).__name__}: {exc})") from None
    hdr = Dataset()
    for kw in _TEMPLATE_KEYWORDS:
        if kw in ds:
            hdr.add(ds.data_element(kw))
    return hdr


def _choose(p: pathlib.Path, recs: list[dict], series_uid: str | None) -> tuple[str, list[dict]]:
    groups = _group(recs)
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
    skipped, examples = _folder_skips(recs)
    what = ", ".join(f"{n} {_REASONS[k]}" for k, n in skipped.items())
    if readable:
        listing = "; ".join(s.line() for s in readable)
        raise DicomReadError(
            f"{p}: no CT image series (found {listing}); choose one with series_uid (t2t: --series-uid) to read it anyway"
        )
    localizers = sum(s.n_localizers for s in infos)
    if localizers:
        what = ", ".join(x for x in (what, f"{localizers} localizer images") if x)
    raise DicomReadError(f"{p}: no CT images among {len(recs)} file(s) ({what or 'nothing readable'})")


def read_series(path: str | os.PathLike, series_uid: str | None = None, *, progress: bool = False) -> Series:
    """Read one CT image series from a folder (searched recursively) or a file.

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
    p, recs = _scan(path, progress)
    uid, group = _choose(p, recs, series_uid)
    st = _select_stack(group)
    if st.duplicates_at:
        raise DicomReadError(
            f"{p}: series {uid} has {len(st.duplicates_at)} slice(s) at the same position as another "
            f"(e.g. {st.duplicates_at[0]:.4g} mm): it mixes several stacks (acquisitions, phases, "
            "echoes), which cannot be one volume"
        )
    for ts in sorted({r.get("ts", "") for r in st.recs if r.get("decode") == "pydicom"}):
        _decoder_check(ts)

    # Decode in parallel into one shared float32 volume.
    rows, cols = st.recs[0]["rows"], st.recs[0]["cols"]
    phase = "decode" if all(r.get("decode") == "raw" for r in st.recs) else "decode_compressed"
    vol = _new_volume((len(st.recs), rows, cols), shared=_mode(phase, len(st.recs)) == "process")
    token = id(vol)
    _SHARED[token] = vol
    bar = _bar(progress, len(st.recs), "reading pixels", "slice")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            errors = _pmap(_decode_task, [(token, i, r) for i, r in enumerate(st.recs)], phase, bar)
    finally:
        _SHARED.pop(token, None)
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

    # What was skipped, and why: one warning.
    skipped, examples = _folder_skips(recs)
    skipped.update({k: v for k, v in st.dropped.items() if v})
    others = {
        r.get("series_uid", "")
        for r in recs
        if r["kind"] == "image" and r.get("series_uid", "") != uid and not _is_localizer(r)
    }
    n_other = sum(1 for r in recs if r["kind"] == "image" and r.get("series_uid", "") != uid)
    n_other_loc = sum(1 for r in recs if r["kind"] == "image" and r.get("series_uid", "") != uid and _is_localizer(r))
    if n_other_loc:
        skipped["localizer"] += n_other_loc
    if n_other - n_other_loc:
        skipped["other_series"] += n_other - n_other_loc
    notes: list[str] = []
    if skipped:
        parts = []
        for k, n in skipped.items():
            label = _REASONS[k]
            if k == "other_series":
                label = f"images of {len(others)} other series" if len(others) != 1 else "images of 1 other series"
            ex = f" (e.g. {examples[k]})" if k in examples else ""
            parts.append(f"{n} {label}{ex}")
        msg = (
            f"{p}: read {len(kept)} slices of series {uid}; skipped {sum(skipped.values())} "
            f"of {len(recs)} files: " + ", ".join(parts)
        )
        notes.append(msg)
        warnings.warn(msg, SeriesWarning, stacklevel=2)

    first = kept[0]
    thick = [r["thickness"] for r in kept if r.get("thickness") is not None]
    sbs = [r["sbs"] for r in kept if r.get("sbs") is not None]
    series = Series(
        volume=vol,
        positions=positions,
        pixel_spacing=tuple(first["pixel_spacing"]),
        orientation=st.orientation,
        thickness=_majority(thick) if thick else None,
        interval=_majority(sbs) if sbs else None,
        header=_template(first["path"]),
        series_uid=uid,
        description=first.get("description", ""),
        ipp=ipp,
        notes=notes,
        skipped={_REASONS[k]: v for k, v in skipped.items()},
        files=tuple(pathlib.Path(r["path"]) for r in kept),
        series_number=first.get("series_number"),
    )
    for note in series.notes:
        if note.startswith(("irregular slice spacing", "gantry tilt")):
            warnings.warn(f"{p}: series {uid}: {note}", SeriesWarning, stacklevel=2)
    if series.header_tilt_deg and series.gantry_tilt_deg == 0.0:
        series.notes.append(
            f"GantryDetectorTilt is {series.header_tilt_deg:g} deg in the header, but the slice "
            "centres lie along the normal (the orientation already includes the tilt)"
        )
    return series


# --------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------


def check_output_dir(out_dir: str | os.PathLike, overwrite: bool = False, inputs: Iterable[Any] = ()) -> pathlib.Path:
    """Check that a series can be written to ``out_dir``; returns its absolute path.

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


def _rescale_for(vmin: float, vmax: float) -> tuple[str, str]:
    """RescaleSlope and RescaleIntercept (as DS strings) so that int16 keeps HU within
    0.5 * slope; the slope is 1 whenever the range spans at most 65534 HU."""
    if vmin >= -32768 and vmax <= 32767:
        return "1", "0"
    if vmax - vmin <= 65534:
        icpt = math.floor(vmin) + 32768
        return "1", str(int(icpt))
    icpt = format_number_as_ds((vmin + vmax) / 2)
    slope = (vmax - vmin) / 65534 * (1 + 1e-9)
    for _ in range(8):
        s = format_number_as_ds(slope)
        ic = float(icpt)
        if (vmax - ic) / float(s) <= 32767 and (vmin - ic) / float(s) >= -32768:
            return s, icpt
        slope *= 1 + 1e-6
    return format_number_as_ds(slope), icpt  # pragma: no cover


# Per-slice elements, in tag order: SOPInstanceUID, InstanceNumber, ImagePositionPatient,
# SliceLocation, PixelData. Everything else is the same in every slice and encoded once.
_PER_SLICE_TAGS = (0x00080018, 0x00200013, 0x00200032, 0x00201041, 0x7FE00010)


def _element(tag: int, vr: bytes, value: bytes, pad: bytes) -> bytes:
    """Explicit VR little endian encoding of a short (16-bit length) element."""
    if len(value) % 2:
        value += pad
    return struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr, len(value)) + value


def _encode_common(common: Dataset) -> list[bytes]:
    """The common elements encoded by pydicom (Explicit VR Little Endian), split at the
    per-slice tags: ``len(_PER_SLICE_TAGS) + 1`` byte strings."""
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_dataset

    encoding = common._character_set
    bounds = [0, *_PER_SLICE_TAGS, 1 << 33]
    chunks = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        sub = Dataset()
        for elem in common:
            if lo <= elem.tag < hi and elem.tag not in _PER_SLICE_TAGS:
                sub.add(elem)
        fp = DicomBytesIO()
        fp.is_little_endian, fp.is_implicit_VR = True, False
        write_dataset(fp, sub, encoding)
        chunks.append(fp.getvalue())
    return chunks


def _file_meta(sop_uid: str) -> bytes:
    """Preamble, prefix and File Meta Information group of one CT Image Storage file."""
    body = (
        struct.pack("<HH2s2xI", 0x0002, 0x0001, b"OB", 2) + b"\x00\x01"
        + _element(0x00020002, b"UI", CTImageStorage.encode(), b"\x00")
        + _element(0x00020003, b"UI", sop_uid.encode(), b"\x00")
        + _element(0x00020010, b"UI", ExplicitVRLittleEndian.encode(), b"\x00")
        + _element(0x00020012, b"UI", PYDICOM_IMPLEMENTATION_UID.encode(), b"\x00")
        + _element(0x00020013, b"SH", _IMPLEMENTATION_VERSION.encode(), b" ")
    )
    return b"\x00" * 128 + b"DICM" + struct.pack("<HH2sHI", 0x0002, 0x0000, b"UL", 4, len(body)) + body


def _slice_writer(task: tuple[int, int]) -> str | None:
    """Write slice ``i`` (runs in worker processes or threads); returns an error or None.

    The file is the pydicom encoding of the common elements with the per-slice elements
    spliced in at their tag positions (tests check it equals pydicom's own encoding).
    """
    token, i = task
    job = _SHARED[token]
    try:
        img = job["volume"][i]
        slope, icpt = job["slope"], job["intercept"]
        if slope == 1.0 and icpt == 0.0:
            q = np.rint(img)
        else:
            q = np.rint((img.astype(np.float64) - icpt) / slope)
        # _rescale_for keeps every rounded value inside the int16 range.
        pixels = q.astype("<i2")
        sop = generate_uid()
        ipp = "\\".join(format_number_as_ds(float(x)) for x in job["ipp"][i])
        c = job["chunks"]
        head = b"".join(
            (
                _file_meta(sop),
                c[0],
                _element(0x00080018, b"UI", sop.encode(), b"\x00"),
                c[1],
                _element(0x00200013, b"IS", str(i + 1).encode(), b" "),
                c[2],
                _element(0x00200032, b"DS", ipp.encode(), b" "),
                c[3],
                _element(0x00201041, b"DS", format_number_as_ds(float(job["positions"][i])).encode(), b" "),
                c[4],
                struct.pack("<HH2s2xI", 0x7FE0, 0x0010, b"OW", pixels.nbytes),
            )
        )
        with open(os.path.join(job["dir"], job["names"][i]), "wb") as fp:
            fp.write(head)
            fp.write(memoryview(np.ascontiguousarray(pixels)).cast("B"))
            fp.write(c[5])
    except Exception as exc:  # noqa: BLE001 - reported by the parent
        return f"{type(exc).__name__}: {exc}"
    return None


def _common_dataset(series: Series, series_uid: str, slope: str, icpt: str, n: int) -> Dataset:
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


def write_series(
    series: Series, out_dir: str | os.PathLike, overwrite: bool = False, *, progress: bool = False
) -> pathlib.Path:
    """Write a series as CT Image Storage files (one per slice).

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
    out = check_output_dir(out_dir, overwrite, inputs=list(series.files) + list(series.source_files))
    vol = series.volume
    n = vol.shape[0]
    vmin, vmax = float(np.min(vol)), float(np.max(vol))
    if not (math.isfinite(vmin) and math.isfinite(vmax)):
        raise ValueError("volume holds NaN or infinite values; cannot write them as DICOM")
    slope, icpt = _rescale_for(vmin, vmax)
    uid = generate_uid()
    chunks = _encode_common(_common_dataset(series, uid, slope, icpt, n))
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
        "chunks": chunks,
        "ipp": series.ipp,
        "positions": series.positions,
        "names": names,
        "dir": str(tmp),
    }
    token = id(job)
    _SHARED[token] = job
    bar = _bar(progress, n, "writing", "slice")
    try:
        errors = _pmap(_slice_writer, [(token, i) for i in range(n)], "write", bar)
        bad = [e for e in errors if e]
        if bad:
            raise DicomWriteError(f"{out}: cannot write {len(bad)} slice(s): {bad[0]}")
        _replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        _SHARED.pop(token, None)
        if bar is not None:
            bar.close()
    return out


def _replace_dir(tmp: pathlib.Path, out: pathlib.Path) -> None:
    """Move the finished folder ``tmp`` to ``out`` (replacing it if it exists)."""
    try:
        swap_in(tmp, out)
    except OSError as exc:
        raise DicomWriteError(f"{out}: cannot move the written series into place ({exc.strerror or exc})") from None
