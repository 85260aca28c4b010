"""Helpers of the clinical tests: a survival table with a known informative feature (the chapter-07 study of
the tiny virtual fibrosis cohort, ``clinical_study``, is a fixture of tests/conftest.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from t2tcore.clinical.radiomics import FEATURES


def survival_table(n=60, seed=0, beta=0.9):
    """(survival, {"thin": informative features, "thick": noise}, severity): MeshVolume of "thin" tracks the
    severity of an exponential proportional-hazards model with log-HR ``beta``."""
    rng = np.random.default_rng(seed)
    s = rng.standard_normal(n)
    t = rng.standard_exponential(n) / np.exp(beta * s)
    c = rng.uniform(0.5, 3.0, n)
    ids = [f"P{i:02d}" for i in range(n)]
    surv = pd.DataFrame({"time": np.minimum(t, c), "event": (t <= c).astype(int)}, index=ids)
    good = pd.DataFrame({f: s + 0.3 * rng.standard_normal(n) if f == "MeshVolume" else rng.standard_normal(n)
                         for f in FEATURES}, index=ids)
    noise = pd.DataFrame({f: rng.standard_normal(n) for f in FEATURES}, index=ids)
    return surv, {"thin": good, "thick": noise}, s
