"""Shared fixtures: tiny DICOM CT series made in the tests (no network, no data files).

* ``ct_slice``: a factory of one CT slice (a pydicom Dataset with file meta, ready to save)
  from stored pixel values and its geometry.
* ``write_ct_series``: a factory that writes a series of such slices into a folder, with
  random file names (no extension) in a random order, and returns what a correct reader
  must find (HU volume sorted along the slice normal, positions).
* ``thin_series``: an 8 x 16 x 16 thin series (1 mm thick every 0.8 mm) in ``tmp_path``.
* ``dcm2niix``: the path of the dcm2niix program (:func:`require_program`).
* :func:`require_program`: a program the test needs; skipped without it on a developer's
  machine, a failure in CI (``CI=true``), where everything the tests need is installed.
* ``tiny_cohort``: a tiny virtual fibrosis cohort (:data:`TINY_FIBROSIS`), made once per session.
* ``rplhr_tree``: a tiny RPLHR-CT-shaped tree of the virtual scanner, made once per session;
  ``rplhr_train_tree``: another with a train split (the SR chapter's).
* ``clinical_study``: the chapter-07 study of ``tiny_cohort`` with smoke SR models, run once per session.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import time
from dataclasses import dataclass

import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, MRImageStorage, generate_uid

AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


def in_ci() -> bool:
    """True in CI (``CI=true``, as GitHub Actions, GitLab and .ci/run set it)."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def missing(why: str) -> None:
    """A test cannot run here because ``why``: skip it on a developer's machine, fail in CI."""
    if in_ci():
        pytest.fail(f"{why}; CI must install it (.ci/run)", pytrace=False)
    pytest.skip(why)


def require_program(name: str, package: str | None = None) -> str:
    """The path of program ``name``, or :func:`missing` (Debian ``package``) if it is not installed."""
    path = shutil.which(name)
    if path is None:
        missing(f"{name} not installed (Debian package {package or name})")
    return path


@pytest.fixture
def dcm2niix() -> str:
    """The dcm2niix program (skipped without it, failed in CI)."""
    return require_program("dcm2niix")


def _ds(value: float) -> str:
    return f"{value:.10g}"


@pytest.fixture
def ct_slice():
    """Factory: ``ct_slice(stored, ipp=..., ...) -> pydicom.Dataset`` of one CT image.

    ``stored`` is the (rows, cols) array of stored pixel values (int16 for signed data,
    uint16 for unsigned); HU = stored * slope + intercept.
    """

    def make(
        stored: np.ndarray,
        *,
        ipp,
        iop=AXIAL,
        pixel_spacing=(0.7, 0.6),
        thickness: float | None = 1.0,
        slope: float = 1.0,
        intercept: float = -1024.0,
        series_uid: str,
        study_uid: str,
        for_uid: str,
        sop_uid: str | None = None,
        instance: int = 1,
        image_type=("ORIGINAL", "PRIMARY", "AXIAL"),
        modality: str = "CT",
        description: str = "thin",
        bits_stored: int | None = None,
        slice_location: float | None = None,
        extra: dict | None = None,
    ) -> Dataset:
        stored = np.asarray(stored)
        signed = stored.dtype.kind == "i"
        sop = sop_uid or generate_uid()
        sop_class = CTImageStorage if modality == "CT" else MRImageStorage
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = sop_class
        ds.file_meta.MediaStorageSOPInstanceUID = sop
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.SOPClassUID = sop_class
        ds.SOPInstanceUID = sop
        ds.ImageType = list(image_type)
        ds.Modality = modality
        ds.PatientName = "Test^Patient"
        ds.PatientID = "T2T-TEST"
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = series_uid
        ds.FrameOfReferenceUID = for_uid
        ds.SeriesDescription = description
        ds.SeriesNumber = 3
        ds.InstanceNumber = instance
        ds.Manufacturer = "TestVendor"
        ds.ConvolutionKernel = "B30f"
        ds.ImagePositionPatient = [_ds(v) for v in ipp]
        ds.ImageOrientationPatient = [_ds(v) for v in iop]
        ds.PixelSpacing = [_ds(v) for v in pixel_spacing]
        if thickness is not None:
            ds.SliceThickness = _ds(thickness)
        if slice_location is not None:
            ds.SliceLocation = _ds(slice_location)
        ds.Rows, ds.Columns = stored.shape
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated = 16
        ds.BitsStored = bits_stored or 16
        ds.HighBit = ds.BitsStored - 1
        ds.PixelRepresentation = 1 if signed else 0
        ds.RescaleSlope = _ds(slope)
        ds.RescaleIntercept = _ds(intercept)
        ds.PixelData = stored.astype("<i2" if signed else "<u2").tobytes()
        for key, value in (extra or {}).items():
            setattr(ds, key, value)
        return ds

    return make


@dataclass
class WrittenSeries:
    """What was written, and what a correct reader must return."""

    folder: pathlib.Path
    files: list[pathlib.Path]
    series_uid: str
    study_uid: str
    for_uid: str
    hu: np.ndarray  # (Z, Y, X) float64, sorted by ascending position along the normal
    positions: np.ndarray  # (Z,) mm, ascending
    ipp: np.ndarray  # (Z, 3) mm, sorted like ``hu``


@pytest.fixture
def write_ct_series(ct_slice):
    """Factory: ``write_ct_series(folder, stored (Z,Y,X), positions (Z,), ...) -> WrittenSeries``.

    Slice ``k`` is placed at ``origin + positions[k] * normal (+ shear[k])``; files get random
    hexadecimal names without extension and are written in a random order; InstanceNumber
    runs opposite to the positions and SliceLocation is nonsense, so a reader that uses
    either (or the file names) gets the order wrong.
    """

    def write(
        folder: pathlib.Path,
        stored: np.ndarray,
        positions,
        *,
        iop=AXIAL,
        origin=(-5.0, -6.0, 0.0),
        shear=None,
        slope: float = 1.0,
        intercept: float = -1024.0,
        series_uid: str | None = None,
        study_uid: str | None = None,
        for_uid: str | None = None,
        seed: int = 0,
        **kwargs,
    ) -> WrittenSeries:
        rng = np.random.default_rng(seed)
        folder = pathlib.Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        stored = np.asarray(stored)
        positions = np.asarray(positions, dtype=np.float64)
        iop_a = np.asarray(iop, dtype=np.float64)
        normal = np.cross(iop_a[:3], iop_a[3:])
        normal /= np.linalg.norm(normal)
        ipp = np.asarray(origin, dtype=np.float64)[None, :] + positions[:, None] * normal[None, :]
        if shear is not None:
            ipp = ipp + np.asarray(shear, dtype=np.float64)
        series_uid = series_uid or generate_uid()
        study_uid = study_uid or generate_uid()
        for_uid = for_uid or generate_uid()
        files = []
        for k in rng.permutation(len(positions)):
            ds = ct_slice(
                stored[k],
                ipp=ipp[k],
                iop=iop,
                slope=slope,
                intercept=intercept,
                series_uid=series_uid,
                study_uid=study_uid,
                for_uid=for_uid,
                instance=len(positions) - int(np.argsort(np.argsort(positions))[k]),
                slice_location=float(rng.uniform(-500, 500)),
                **kwargs,
            )
            path = folder / rng.bytes(6).hex()
            ds.save_as(path, enforce_file_format=True)
            files.append(path)
        order = np.argsort(positions)
        hu = stored[order].astype(np.float64) * slope + intercept
        return WrittenSeries(folder, files, series_uid, study_uid, for_uid, hu, positions[order], ipp[order])

    return write


@pytest.fixture
def thin_series(tmp_path, write_ct_series) -> WrittenSeries:
    """8 axial slices of 16 x 16 (int16, HU = stored - 1024), 1 mm thick every 0.8 mm."""
    rng = np.random.default_rng(42)
    stored = rng.integers(0, 2500, size=(8, 16, 16)).astype(np.int16)
    return write_ct_series(tmp_path / "thin", stored, np.arange(8) * 0.8 - 3.0)


#: 2 analysed + 1 SR training patient, 48 px, 10 mm: every code path of the fibrosis cohort, in seconds.
TINY_FIBROSIS = {"name": "tiny", "seed": 5, "image_size": 48, "z_length_mm": 10.0, "n_patients": 2, "n_train": 1}


@pytest.fixture(scope="session")
def tiny_cohort(tmp_path_factory):
    """A tiny virtual fibrosis cohort: ``{"root": folder, "seconds": time to make it}``."""
    from t2tcore.scanner.cohorts.fibrosis import make_fibrosis_cohort

    root = tmp_path_factory.mktemp("fibrosis") / "cohort"
    t0 = time.perf_counter()
    make_fibrosis_cohort(TINY_FIBROSIS, root, progress=False, device="cpu")
    return {"root": root, "seconds": time.perf_counter() - t0}


#: The tiny RPLHR-CT tree: three test cases of 24² pixels, 35 thin / 7 thick slices; the thick slices of
#: case002 are reconstructed 2 mm below the centres of their five thin slices.
TREE_CASES = {"test": 3}
TREE_OFFSETS = {"case002": -2.0}


@pytest.fixture(scope="session")
def rplhr_tree(tmp_path_factory):
    """Root of the tree (made once per session; about 10 s)."""
    from t2tcore.scanner.cohorts.rplhr import write_rplhr_tree

    root = tmp_path_factory.mktemp("rplhr") / "RPLHR-CT"
    return write_rplhr_tree(root, TREE_CASES, image_size=24, n_thick=7, thick_offset_mm=TREE_OFFSETS, seed=1)


@pytest.fixture(scope="session")
def rplhr_train_tree(tmp_path_factory):
    """A tiny RPLHR-CT-shaped tree (virtual scanner; no sidecars, as the real files): two train and two
    test cases of 16² pixels, 35 thin (1 mm) and 7 thick (5 mm) slices each (about 10 s, once): long
    enough for the 5 mm slice profile to be fitted (its support is ±12.5 mm)."""
    from t2tcore.scanner.cohorts.rplhr import write_rplhr_tree

    root = tmp_path_factory.mktemp("rplhr-train") / "RPLHR-CT"
    return write_rplhr_tree(root, {"train": 2, "test": 2}, image_size=16, n_thick=7, seed=3)


@pytest.fixture(scope="session")
def clinical_study(tiny_cohort, tmp_path_factory):
    """The chapter-07 study of the tiny cohort with smoke SR models: (StudyResult, model cache folder)."""
    from t2tcore.studies import clinical

    cache = tmp_path_factory.mktemp("models")
    return clinical.run_study(tiny_cohort["root"], "smoke", cache, progress=False, device="cpu"), cache
