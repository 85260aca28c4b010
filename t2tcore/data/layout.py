"""Folder layouts of the paper's data sets, shared by the real data and the virtual cohort.

Two layouts are understood:

**Grand Challenge layout** (2016 NIH-AAPM-Mayo Low Dose CT Grand Challenge, the paper's
test set) -- one folder per reconstruction, kernel, dose, patient::

    ROOT/Training_Image_Data/1mm B30/full_1mm/L067/full_1mm/*.IMA
    ROOT/Training_Image_Data/1mm B30/quarter_1mm/L067/quarter_1mm/*.IMA
    ROOT/Training_Image_Data/1mm D45/full_1mm_sharp/L067/full_1mm_sharp/*.IMA
    ROOT/Training_Image_Data/3mm B30/full_3mm/L067/full_3mm/*.IMA
    ROOT/Training_Image_Data/3mm D45/quarter_3mm_sharp/L067/quarter_3mm_sharp/*.IMA

The sharp kernel (D45) is marked by ``_sharp`` in the dose folders of the real download.
Reading is tolerant: folder names are matched case-insensitively wherever they sit below
ROOT (extra or missing wrapper folders are fine, ``Traning_Image_Data`` or no top folder
at all, ``FD``/``QD`` for ``full``/``quarter``, suffixes such as ``_sorted``), the kernel
is taken from a ``<thickness> <kernel>`` folder when there is one and from ``_sharp``
otherwise, and files may be ``.IMA``, ``.dcm`` or extension-less DICOM.

**TCIA layout** (LDCT-and-Projection-data, the paper's training set, thin slices only), as
the NBIA Data Retriever writes it with descriptive directory names::

    ROOT/LDCT-and-Projection-data/C002/08-30-2018-NA-NA-09658/1.000000-Full dose images-31186/1-001.dcm

Image series are recognised by ``images`` in the series folder name (projection-data
folders are skipped) and the dose by ``full``/``low`` in it; with classic (UID) folder
names the series description in the first file's header is used instead.

The virtual cohort (:mod:`t2tcore.scanner.cohorts.ldct`) writes both layouts with patients named
``V001``, ``V002``, ... -- never like real patients -- through :func:`series_dir` and
:func:`training_series_dir`, so that every notebook reads real and virtual data with the
same functions (:func:`find_series`, :func:`pairs`, :func:`find_training_series`).

One module per layout, this one re-exporting them: :mod:`~t2tcore.data.grand_challenge`,
:mod:`~t2tcore.data.tcia`, and what they share, :mod:`~t2tcore.data.dicom_tree`.
"""

from __future__ import annotations

from t2tcore.data.dicom_tree import (  # noqa: F401
    DOSES,
    GC_ROOT_FOLDER,
    KERNELS,
    TCIA_COLLECTION,
    dicom_files,
    is_virtual_patient,
    thickness_label,
    virtual_patients,
)
from t2tcore.data.grand_challenge import SeriesEntry, expected_layout_text, find_series, pairs, patients, series_dir  # noqa: F401
from t2tcore.data.tcia import TrainingEntry, find_training_series, training_series_dir  # noqa: F401

__all__ = [
    "KERNELS",
    "DOSES",
    "GC_ROOT_FOLDER",
    "TCIA_COLLECTION",
    "SeriesEntry",
    "TrainingEntry",
    "find_series",
    "series_dir",
    "patients",
    "pairs",
    "find_training_series",
    "training_series_dir",
    "virtual_patients",
    "is_virtual_patient",
    "thickness_label",
    "expected_layout_text",
    "dicom_files",
]
