"""The teaching lab: small experiments along one line of ``z`` that run in a second or two.

Every exercise works on a **z-object**: ``n_columns`` independent pixel columns, each a
piecewise-constant profile along the patient axis (structures from a fraction of a millimetre
to several millimetres long, in HU). A series of slices is made from it the way a scanner
makes them: each slice is the object averaged under a slice sensitivity profile (SSP) centred
on the slice position. The SSPs are those of the virtual helical scanner
(:func:`t2tcore.scanner.slice_sensitivity_profile`: FWHM = nominal thickness, shape set by the
pitch, the row width and the reconstruction z-weighting), so "real" thick slices here come
from the scanner model, not from any simulation method. The methods under test are the
package's own (:func:`t2tcore.simulation.simulate_thick`).

Exercises (one function each; the notebooks in ``notebooks/teaching/`` call them and draw
with :mod:`t2tcore.figures.teaching`):

1. :func:`profiles` — the real SSP of a thick slice against the effective profile of each
   simulated thick slice (what the method really averages), and how the interval samples z.
2. :func:`noise` — predicted noise against thickness, kernel and dose
   (:func:`t2tcore.scanner.predict_noise_sd`), and what a triangle over thin slices does to noise.
3. :func:`errors` — every method's error against the real thick slices, paired by index (as
   an SR training pair is) and at its own positions.
4. :func:`misplaced` — which thin slice does thick slice ``j`` look like? (the paper's Fig. 7).
5. :func:`wrong_pairs` — train the simplest SR model (a linear filter along z, least squares)
   on the pairs of each method and test it on real thick slices.
6. :func:`look_along_z` — a 3-D object's thin, real thick and simulated thick series, shown by
   :func:`view_along_z` in linked 3-D slice views (ipyniivue with sliders in JupyterLab, the
   book's NiiVue viewer in the built book).

:func:`explore` shows an exercise with ipywidgets sliders in a live kernel, or as a static
figure at the initial values (with a note naming the sliders) in the built book.

Positions and lengths are in mm, values in HU.

One concept per module: :mod:`~t2tcore.teaching.model` (z-objects, the scanner's SSPs, recording a series),
:mod:`~t2tcore.teaching.exercises` (1-4), :mod:`~t2tcore.teaching.linear_sr` (5), :mod:`~t2tcore.teaching.views`
(6) and :mod:`~t2tcore.teaching.widgets` (sliders); this package re-exports their names.
"""

from __future__ import annotations

from t2tcore.teaching.model import THIN, ZObject, record, scanner_ssp, thin_series, z_object  # noqa: F401
from t2tcore.teaching.exercises import errors, misplaced, noise, profiles  # noqa: F401
from t2tcore.teaching.linear_sr import LinearSR, fit_linear_sr, wrong_pairs  # noqa: F401
from t2tcore.teaching.widgets import EXERCISES, explore, figure  # noqa: F401
from t2tcore.teaching.views import OBJECT_WINDOW, LiveViews, look_along_z, view_along_z  # noqa: F401

__all__ = [
    "THIN",
    "ZObject",
    "z_object",
    "scanner_ssp",
    "record",
    "thin_series",
    "profiles",
    "noise",
    "errors",
    "misplaced",
    "LinearSR",
    "fit_linear_sr",
    "wrong_pairs",
    "OBJECT_WINDOW",
    "look_along_z",
    "LiveViews",
    "view_along_z",
    "EXERCISES",
    "figure",
    "explore",
]
