"""Data-set folder layouts (Grand Challenge, TCIA, RPLHR-CT) and data manifests (real and virtual).

RPLHR-CT trees (NIfTI pairs): :mod:`t2tcore.data.rplhr`, e.g. ``rplhr.pairs(root, "test")``.
"""

from __future__ import annotations

from t2tcore.data.layout import (  # noqa: F401
    KERNELS,
    DOSES,
    GC_ROOT_FOLDER,
    TCIA_COLLECTION,
    SeriesEntry,
    TrainingEntry,
    find_series,
    series_dir,
    patients,
    pairs,
    find_training_series,
    training_series_dir,
    virtual_patients,
    is_virtual_patient,
    thickness_label,
    expected_layout_text,
    dicom_files,
)
from t2tcore.data import rplhr  # noqa: F401
from t2tcore.data.rplhr import RplhrCase  # noqa: F401
from t2tcore.data.manifests import (  # noqa: F401
    MANIFEST_DIR,
    available_manifests,
    load_manifest,
    load_profile,
    expectations,
    CheckReport,
    check,
)

__all__ = ['KERNELS', 'DOSES', 'GC_ROOT_FOLDER', 'TCIA_COLLECTION', 'SeriesEntry', 'TrainingEntry', 'find_series', 'series_dir', 'patients', 'pairs', 'find_training_series', 'training_series_dir', 'virtual_patients', 'is_virtual_patient', 'thickness_label', 'expected_layout_text', 'dicom_files', 'MANIFEST_DIR', 'available_manifests', 'load_manifest', 'load_profile', 'expectations', 'CheckReport', 'check', 'rplhr', 'RplhrCase']
