"""Fixtures of the evaluation tests."""

from __future__ import annotations

import numpy as np
import pytest

from tests.evaluation.stacks import object_series


@pytest.fixture
def thin_thick():
    thin = object_series(np.arange(0.0, 30.0, 0.8), 1.0)  # 0 .. 29.6
    thick = object_series(np.arange(0.0, 30.1, 2.0), 3.0, seed=1)  # 0 .. 30 (30 outside thin)
    return thin, thick
