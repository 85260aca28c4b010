"""The book's figures: tested functions that take results and return a matplotlib Figure.

One module per stage of the pipeline (``simulation``, ``scanner``, ``fidelity``,
``robustness``, ``sr``, ``clinical``, ``diagrams``); ``style`` holds what they share (one
colour and marker per method, :func:`~t2tcore.figures.style.new_figure`,
:func:`~t2tcore.figures.style.save`). Every function takes arrays or tables that the package made,
draws nothing else, returns ``matplotlib.figure.Figure`` and never calls ``plt.show()``:
notebooks only call them. Figures are sized for the book's text column
(:data:`TEXT_WIDTH_IN` inches wide).
"""

from __future__ import annotations

#: Width of the book's text column in inches: figures are made this wide (or narrower).
TEXT_WIDTH_IN = 7.0
