"""How a data set pairs thick with thin slices: now :mod:`t2tcore.datasets.pairing`. This module re-exports
it, so ``t2tcore.evaluation.pairing`` keeps working."""

from __future__ import annotations

from t2tcore.datasets.pairing import (  # noqa: F401
    TOL_MM,
    __all__,
    count_is_index_pairing,
    index_offsets,
    pair_geometry,
    pairing_text,
)
