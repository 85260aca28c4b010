"""t2tcore — thick-slice CT simulation from thin-slice CT, a virtual helical CT scanner,
metrics and statistics (Tang, Xing, Yang: "Enhancing Super-Resolution Network Efficacy in
CT Imaging: Cost-Effective Simulation of Training Data").

The public names below are imported lazily (on first use), so ``import t2tcore`` and the
``t2t`` command do not pay for torch or scipy unless a sub-command needs them.
"""

from __future__ import annotations

import os as _os

from t2tcore._lazy import lazy_exports

# PyTorch's OpenMP threads sleep while they wait (unless the user chose a wait policy or a spin
# count): on a machine whose cores other processes share, threads that spin while waiting made SR
# training and inference 1.4 to 20 times slower (benchmarks/bench_sr.py prints both side by side).
# On a quiet machine spinning is faster (training 1.2-1.8x, inference up to 1.1x on 2 cores), so
# the book build, a batch job, asks for the runtime's default spin count (book/builder/execute.py).
# The OpenMP runtime reads these when torch is first imported: set here, before anything imports it.
if "OMP_WAIT_POLICY" not in _os.environ and "GOMP_SPINCOUNT" not in _os.environ:
    _os.environ["OMP_WAIT_POLICY"] = "PASSIVE"

__version__ = "0.1.0"

from t2tcore.errors import SeriesWarning, T2TError  # noqa: E402  (light, always loaded)

# public name -> module that defines it
_EXPORTS = {
    **dict.fromkeys(["Series", "SeriesInfo", "list_series", "read_series", "scan_folder", "write_series"], "io"),
    **dict.fromkeys(["METHODS", "simulate_thick", "thick_positions"], "simulation"),
    **dict.fromkeys(["SliceProfile", "fit_slice_profile", "load_slice_profile"], "simulation"),
    **dict.fromkeys(["ZProfile", "fit_profile", "load_profile"], "simulation"),  # the old names of these three
    **dict.fromkeys(["MU_WATER", "Phantom", "abdomen", "chest"], "scanner"),
    **dict.fromkeys(["RawData", "ReconConfig", "ScannerConfig", "acquire", "reconstruct", "scan"], "scanner"),
    **dict.fromkeys(["make_cohort"], "scanner"),
    **dict.fromkeys(["body_mask", "compare", "fid", "fid_features", "frechet_distance"], "evaluation"),
    **dict.fromkeys(["make_pairs"], "pipelines"),
}

__all__ = ["T2TError", "SeriesWarning", "__version__", *_EXPORTS]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
