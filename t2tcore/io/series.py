"""The CT series and what a folder holds: :class:`Series`, :class:`SeriesInfo`,
:class:`FolderScan`, and the geometry report shared by every reader (slice spacing
regularity and gantry tilt, detected and reported, never "fixed").

Positions and thicknesses are in mm, images in HU (float32); geometry is in DICOM patient
coordinates (LPS: x to the patient's left, y to the back, z to the head).
"""

from __future__ import annotations

import datetime as _dt
import math
import pathlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

if TYPE_CHECKING:  # pydicom is imported where a header is made (start-up of the t2t command)
    from pydicom.dataset import Dataset

__all__ = ["Series", "SeriesInfo", "FolderScan", "Geometry", "geometry_report", "slice_normal"]

# Geometry tolerances.
SPACING_ABS_TOL = 0.01  # mm
SPACING_REL_TOL = 0.01  # of the median spacing
TILT_TOL_DEG = 0.01


def slice_normal(orientation: Sequence[float]) -> np.ndarray:
    """Unit slice normal, shape (3,): the cross product of the row and column directions.

    Parameters
    ----------
    orientation : sequence of 6 float
        ImageOrientationPatient (row direction cosines, then column direction cosines).

    Raises
    ------
    ValueError
        The row and column directions are parallel.
    """
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


@dataclass
class Geometry:
    """Spacing regularity and gantry tilt of a stack (see :func:`geometry_report`)."""

    spacing: float | None
    irregular: bool
    tilt_deg: float
    notes: list[str]


def geometry_report(pos: np.ndarray, ipp: np.ndarray, normal: np.ndarray) -> Geometry:
    """Spacing regularity and gantry tilt of sorted slice positions and centres.

    Parameters
    ----------
    pos : ndarray, shape (Z,)
        Slice positions along ``normal``, mm, ascending.
    ipp : ndarray, shape (Z, 3)
        ImagePositionPatient of the slices, mm, in the same order.
    normal : ndarray, shape (3,)
        Unit slice normal.

    Returns
    -------
    Geometry
        ``spacing``: median step (mm, None for one slice); ``irregular``: the steps vary by
        more than max(0.01 mm, 1 %); ``tilt_deg``: angle between the line through the first
        and last centres and the normal; ``notes``: plain-words description of both.
    """
    notes: list[str] = []
    if pos.size < 2:
        return Geometry(None, False, 0.0, notes)
    d = np.diff(pos)
    med = float(np.median(d))
    tol = max(SPACING_ABS_TOL, SPACING_REL_TOL * med)
    irregular = bool(d.max() - d.min() > tol)
    if irregular:
        big = np.flatnonzero(d > med + tol)
        small = np.flatnonzero(d < med - tol)
        parts = [f"spacing varies from {d.min():.4g} to {d.max():.4g} mm (median {med:.4g} mm)"]
        if big.size:
            i = big[0]
            parts.append(f"{big.size} larger step(s) (gap), e.g. {pos[i]:.4g} -> {pos[i + 1]:.4g} mm")
        if small.size:
            i = small[0]
            parts.append(f"{small.size} smaller step(s) (overlap), e.g. {pos[i]:.4g} -> {pos[i + 1]:.4g} mm")
        notes.append("irregular slice spacing: " + "; ".join(parts) + " (kept as is, not resampled)")
    v = ipp[-1] - ipp[0]
    along = float(v @ normal)
    across = float(np.linalg.norm(v - along * normal))
    tilt = math.degrees(math.atan2(across, abs(along))) if abs(along) > 0 else 0.0
    if tilt < TILT_TOL_DEG or across < 0.01:
        tilt = 0.0
    else:
        notes.append(
            f"gantry tilt: slice centres move {across:.3g} mm sideways over {abs(along):.4g} mm "
            f"({tilt:.3g} deg from the slice normal); positions are distances between the "
            "slice planes, the stack is not un-sheared"
        )
    return Geometry(med, irregular, tilt, notes)


@dataclass
class Series:
    """A CT image series: a volume in HU with its geometry and a header template.

    The same class for every format: :func:`t2tcore.io.read_series` returns one for a DICOM
    folder and for a NIfTI file alike (geometry in DICOM patient coordinates, LPS, mm).

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
        None for a series read from NIfTI (which has none of these).
    series_uid : str or None
        SeriesInstanceUID of the series read (None for a series not yet written, or read
        from NIfTI).
    description : str
        SeriesDescription.
    ipp : ndarray, shape (Z, 3), float64
        ImagePositionPatient of every slice, mm (default: ``origin`` moved along the normal).
    notes : list of str
        What a user should know: skipped files, irregular spacing, gantry tilt.
    skipped : dict of str to int
        Files skipped by :func:`read_series`, by reason.
    files : tuple of pathlib.Path
        Files the slices were read from, in slice order (the one file of a NIfTI series;
        empty for a series not read).
    source_files : tuple of pathlib.Path
        Files of the series this one was derived from (:meth:`derive`).
    derived : bool
        True for a series made by :meth:`derive` or :meth:`from_array` (written as DERIVED).
    series_number : int or None
        SeriesNumber to write.
    derivation : str
        DerivationDescription to write (what made the series); defaults to ``description``.
    nifti_layout : t2tcore.io.nifti_grid.NiftiLayout or None
        The voxel order of the NIfTI file the series was read from (kept by :meth:`derive`),
        in which :func:`write_series` writes a NIfTI output; None: dcm2niix's order.
    storage : {"int16", "float32"} or None
        How the file the series was read from stores its voxels, which a NIfTI output keeps
        (kept by :meth:`derive`): ``"float32"`` for a NIfTI file of floats or of integers
        wider than int16 (or scaled by a fractional scl_slope), ``"int16"`` or None (DICOM,
        int16 NIfTI, a series made in memory) for whole HU stored as int16.
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
    nifti_layout: Any = None
    storage: str | None = None
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
        if self.storage not in (None, "int16", "float32"):
            raise ValueError(f"storage must be 'int16', 'float32' or None, got {self.storage!r}")
        n = self.normal
        if self.ipp is None:
            origin = (np.zeros(3) + pos[0] * n) if self.origin is None else np.asarray(self.origin, float)
            self.ipp = origin[None, :] + (pos - pos[0])[:, None] * n[None, :]
        else:
            self.ipp = np.asarray(self.ipp, dtype=np.float64).reshape(-1, 3)
            if self.ipp.shape[0] != pos.size:
                raise ValueError(f"ipp has {self.ipp.shape[0]} rows for {pos.size} slices")
        self.origin = self.ipp[0].copy()
        geo = geometry_report(pos, self.ipp, n)
        self.spacing, self.irregular, self.gantry_tilt_deg = geo.spacing, geo.irregular, geo.tilt_deg
        if self.header is not None and "GantryDetectorTilt" in self.header:
            self.header_tilt_deg = _float_or_none(self.header.get("GantryDetectorTilt"))
        self.notes = list(self.notes) + [m for m in geo.notes if m not in self.notes]
        self.files = tuple(pathlib.Path(f) for f in self.files)
        self.source_files = tuple(pathlib.Path(f) for f in self.source_files)

    @property
    def normal(self) -> np.ndarray:
        """Unit slice normal, shape (3,): cross product of the row and column directions."""
        return slice_normal(self.orientation)

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
            nifti_layout=self.nifti_layout,
            storage=self.storage,
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
        normal = slice_normal(orient)
        base = float(origin_xy[0]) * row + float(origin_xy[1]) * col
        ipp = base[None, :] + pos[:, None] * normal[None, :]

        from pydicom.datadict import keyword_dict
        from pydicom.dataset import Dataset
        from pydicom.uid import generate_uid

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
            if key not in keyword_dict:
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
        SeriesInstanceUID, SeriesDescription, Modality. For a NIfTI file: its file name,
        the description of its JSON sidecar (or header), the sidecar's Modality or "".
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
        Name of the (most common) transfer syntax; for NIfTI, the file format and data type.
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
