"""Tiny thin series for the tests of t2tcore.pipelines, and the reference: what ``t2t simulate`` writes.

* ``make_thin(path, ...)`` writes a thin series (a DICOM folder, or a NIfTI file with its
  sidecar, by the path's suffix) of a smooth phantom plus noise;
* ``t2t_simulate(thin, out, *args)`` runs the command itself (``t2tcore.cli.main``);
* ``reoriented(data, affine)`` puts an array and its affine in the closest RAS+ voxel order
  (nibabel), so that outputs of different voxel orders are compared in one frame.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from t2tcore.errors import SeriesWarning
from t2tcore.io import Series, write_series


def thin_volume(n: int = 20, shape=(14, 16), seed: int = 0) -> np.ndarray:
    """(n, Y, X) float32 HU: a ball that changes along z, plus noise (int-valued)."""
    z, y, x = np.meshgrid(np.arange(n), np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
    ball = 900.0 * (((y - shape[0] / 2) ** 2 + (x - shape[1] / 2) ** 2) < (3 + 2 * np.sin(z / 3.0)) ** 2)
    noise = np.random.default_rng(seed).normal(0, 30, ball.shape)
    return np.rint(ball - 1000.0 + noise).astype(np.float32)


def write_thin(path: Path, n: int = 20, spacing: float = 0.8, thickness: float = 1.0, patient: str = "P1",
               seed: int = 0, first: float = -7.3, shape=(14, 16), description: str = "thin") -> Path:
    """A thin series at ``path`` (DICOM folder, or NIfTI file + sidecar)."""
    vol = thin_volume(n, shape, seed)
    series = Series.from_array(vol, first + spacing * np.arange(n), (0.7, 0.6), thickness, patient_id=patient,
                               description=description)
    return write_series(series, path)


@pytest.fixture
def make_thin():
    return write_thin


def run_t2t(*argv) -> int:
    from t2tcore.cli import main

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SeriesWarning)
        return main([str(a) for a in argv])


@pytest.fixture
def t2t_simulate():
    """``t2t_simulate(thin, out, "--thickness", 3, ...)``: the command's output file, loaded (nibabel)."""

    def run(thin, out, *args):
        assert run_t2t("simulate", thin, out, *args, "--no-progress") == 0
        return nib.load(str(out))

    return run


def reoriented(data: np.ndarray, affine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(data, affine) of a 3-D image in the closest canonical (RAS+) voxel order."""
    img = nib.as_closest_canonical(nib.Nifti1Image(np.asarray(data, dtype=np.float32), np.asarray(affine)))
    return np.asarray(img.dataobj, dtype=np.float32), img.affine


@pytest.fixture
def archive(tmp_path):
    """A small archive of good and bad thin series (see the comments); returns its root."""
    root = tmp_path / "archive"
    write_thin(root / "P1" / "ct" / "thin", n=20, patient="P1", seed=1)  # DICOM, 1 mm every 0.8 mm
    write_thin(root / "P2" / "thin.nii.gz", n=24, patient="P2", seed=2)  # NIfTI + sidecar
    write_thin(root / "P3" / "ct", n=18, patient="P3", seed=3, spacing=1.0)  # DICOM, 1 mm every 1 mm
    write_thin(root / "P4" / "thick", n=8, patient="P4", seed=4, spacing=5.0, thickness=5.0)  # too thick
    write_thin(root / "P5" / "short", n=3, patient="P5", seed=5)  # 3 slices: less than a 3 mm slice
    (root / "P6").mkdir()
    (root / "P6" / "broken.nii.gz").write_bytes(b"not a NIfTI file at all")  # unreadable
    return root
