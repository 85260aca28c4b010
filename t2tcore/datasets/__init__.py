"""What a study reads: its data folder, the data set's groups of (thin, thick) series pairs, and words for them.

The layer between the data on disk (:mod:`t2tcore.data`: layouts and manifests; :mod:`t2tcore.scanner.cohorts`:
the virtual cohorts) and the studies of the book (:mod:`t2tcore.studies`):

* :mod:`~t2tcore.datasets.roots` -- which folder a chapter runs on (:func:`resolve_data_root`: a given folder,
  or the book's virtual cohort of the profile, made when missing);
* :mod:`~t2tcore.datasets.groups` -- a data set's layout read as :class:`StudyGroup` objects, one per kernel and
  dose (:data:`DATASETS`: ``ldct_gc``, ``rplhr_ct``; :func:`iter_groups`);
* :mod:`~t2tcore.datasets.pairing` -- how a data set pairs thick with thin slices, against the affines;
* :mod:`~t2tcore.datasets.describe` -- one phrase saying what data made a chapter's numbers, and a data set's
  protocol beside the chapter's.

(``t2tcore.evaluation.datasets`` and ``t2tcore.evaluation.pairing`` are the old names of these modules.
The SR chapters' own reader, ``t2tcore.sr.datasets``, is to join this layer.)
"""

from __future__ import annotations

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
from t2tcore.datasets.describe import describe_data, protocol_notes  # noqa: F401
from t2tcore.datasets.pairing import TOL_MM, count_is_index_pairing, index_offsets, pair_geometry, pairing_text  # noqa: F401

__all__ = ["DATASETS", "RPLHR_DOSE", "RPLHR_KERNEL", "TOL_MM", "DatasetError", "DatasetSpec", "NiftiSource",
           "StudyGroup", "book_root", "count_is_index_pairing", "dataset_spec", "describe_data", "index_offsets",
           "iter_groups", "load_group", "pair_geometry", "pairing_text", "protocol_notes", "resolve_data_root"]
