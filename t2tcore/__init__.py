"""t2tcore — thick-slice CT simulation from thin-slice CT, a virtual helical CT scanner,
metrics and statistics (Tang, Xing, Yang: "Enhancing Super-Resolution Network Efficacy in
CT Imaging: Cost-Effective Simulation of Training Data")."""

__version__ = "0.1.0"

from t2tcore.errors import SeriesWarning, T2TError
from t2tcore.simulate import METHODS, simulate_thick, thick_positions
from t2tcore.phantoms import MU_WATER, Phantom, abdomen, chest

__all__ = ["T2TError", "SeriesWarning", "__version__"]
