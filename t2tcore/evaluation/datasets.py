"""Which data a study runs on: now the data-access layer :mod:`t2tcore.datasets` (groups, roots, words).
This module re-exports its names, so ``t2tcore.evaluation.datasets`` keeps working."""

from __future__ import annotations

from t2tcore.datasets.describe import describe_data, protocol_notes  # noqa: F401
from t2tcore.datasets.groups import (  # noqa: F401
    DATASETS,
    RPLHR_DOSE,
    RPLHR_KERNEL,
    DatasetError,
    DatasetSpec,
    NiftiSource,
    StudyGroup,
    dataset_spec,
    iter_groups,
    load_group,
)
from t2tcore.datasets.roots import book_root, resolve_data_root  # noqa: F401

__all__ = ["DATASETS", "DatasetError", "DatasetSpec", "NiftiSource", "StudyGroup", "book_root", "dataset_spec",
           "describe_data", "iter_groups", "load_group", "protocol_notes", "resolve_data_root"]
