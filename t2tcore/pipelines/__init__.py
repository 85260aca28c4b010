"""t2t inside other people's pipelines: a paired data set from an archive, and the simulation as transforms.

One concept per module:

* :mod:`~t2tcore.pipelines.settings` -- what to simulate (:class:`Simulation`, :func:`simulations`);
* :mod:`~t2tcore.pipelines.sources` -- which thin series: a folder tree, a data set, a CSV list;
* :mod:`~t2tcore.pipelines.store` -- the output folder: its guards, layout, records and lock;
* :mod:`~t2tcore.pipelines.task` -- one series' pairs, as a worker runs them (:func:`run_pair`);
* :mod:`~t2tcore.pipelines.runner` -- where tasks run: here, local processes, a Dask cluster;
* :mod:`~t2tcore.pipelines.index` -- the MONAI datalist and the CSV of the pairs;
* :mod:`~t2tcore.pipelines.pairs` -- ``t2t pairs`` as a function (:func:`make_pairs`);
* :mod:`~t2tcore.pipelines.arrays` -- the simulation of an image array with its affine;
* :mod:`~t2tcore.pipelines.monai` -- MONAI transforms ``SimulateThick``, ``SimulateThickd``,
  ``RandSimulateThick``, ``RandSimulateThickd``;
* :mod:`~t2tcore.pipelines.torchio` -- TorchIO transforms ``SimulateThick``, ``RandomSimulateThick``.

The transforms import MONAI or TorchIO when their module is imported, not before; the Dask
executor imports ``distributed`` only when a scheduler is given (``pip install 't2t[pipelines]'``).
"""

from __future__ import annotations

from t2tcore._lazy import lazy_exports

_EXPORTS = {
    **dict.fromkeys(["Simulation", "simulations", "PairSettingsError"], "settings"),
    **dict.fromkeys(["SeriesSource", "discover", "PairSourceError"], "sources"),
    **dict.fromkeys(["claim_output", "PairOutputError"], "store"),
    **dict.fromkeys(["run_pair", "PairInputError"], "task"),
    **dict.fromkeys(["make_pairs", "PairsSummary"], "pairs"),
    "write_index": "index",
    "simulate_array": "arrays",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
