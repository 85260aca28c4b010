"""Interactivity of the lab: an exercise drawn by name (:func:`figure`), and :func:`explore`, which shows it with
ipywidgets sliders in a live kernel, or as a static figure at the initial values in the built book."""

from __future__ import annotations

import functools
import html
from typing import Any, Callable, Mapping

from t2tcore.teaching.exercises import errors, misplaced, noise, profiles
from t2tcore.teaching.linear_sr import wrong_pairs

__all__ = ["EXERCISES", "describe_control", "explore", "figure"]

#: exercise name -> (the function that computes it, the name of its figure in t2tcore.figures.teaching)
EXERCISES = {
    "profiles": (profiles, "profiles_figure"),
    "noise": (noise, "noise_figure"),
    "errors": (errors, "errors_figure"),
    "misplaced": (misplaced, "misplaced_figure"),
    "wrong_pairs": (wrong_pairs, "wrong_pairs_figure"),
}


def figure(exercise: str, **settings: Any):
    """Run an exercise with ``settings`` and draw it (:mod:`t2tcore.figures.teaching`).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from t2tcore.figures import teaching as figs

    if exercise not in EXERCISES:
        raise ValueError(f"unknown exercise {exercise!r}; known: {', '.join(EXERCISES)}")
    compute, draw = EXERCISES[exercise]
    return getattr(figs, draw)(compute(**settings))


def describe_control(name: str, spec: Any) -> str:
    if isinstance(spec, tuple) and len(spec) == 3:
        return f"{name} from {spec[0]:g} to {spec[1]:g}"
    return f"{name} in {{{', '.join(str(v) for v in spec)}}}"


def explore(draw: str | Callable[..., Any], initial: Mapping[str, Any], controls: Mapping[str, Any],
            interactive: bool = True) -> None:
    """Show ``draw(**values)`` with sliders (live kernel) or once, statically, at ``initial``.

    Parameters
    ----------
    draw : str or callable
        An exercise name of :data:`EXERCISES` (drawn by :func:`figure`), or a callable that
        returns what to display (a Figure) for keyword values.
    initial : mapping
        Initial value of every keyword.
    controls : mapping
        Keyword -> ``(lo, hi, step)`` for a slider or a list of choices for a dropdown; the
        keywords not named keep their initial value.
    interactive : bool
        True: ipywidgets sliders (the figure is redrawn when a slider is released). False (the
        built book): the figure at ``initial``, after a note naming the sliders, so that the
        static page says what the live one does.
    """
    from IPython.display import HTML, display

    if isinstance(draw, str):
        draw = functools.partial(figure, draw)
    missing = [k for k in controls if k not in initial]
    if missing:
        raise ValueError(f"controls without an initial value: {missing}")
    if not interactive:
        shown = ", ".join(f"{k} = {v}" for k, v in initial.items())
        sliders = "; ".join(describe_control(k, v) for k, v in controls.items())
        display(HTML(
            '<div class="t2t-static-note">In JupyterLab (<code>make lab</code>) this figure has sliders: '
            f"{html.escape(sliders)}. Here it is drawn once, at {html.escape(shown)}.</div>"
        ))
        display(draw(**initial))
        return

    import ipywidgets as w

    widgets = {}
    for k, spec in controls.items():
        if isinstance(spec, tuple) and len(spec) == 3:
            lo, hi, step = spec
            cls = w.IntSlider if all(isinstance(v, int) for v in (lo, hi, step, initial[k])) else w.FloatSlider
            widgets[k] = cls(value=initial[k], min=lo, max=hi, step=step, description=k, continuous_update=False)
        else:
            widgets[k] = w.Dropdown(options=list(spec), value=initial[k], description=k)
    fixed = {k: v for k, v in initial.items() if k not in widgets}
    out = w.interactive_output(lambda **kw: display(draw(**fixed, **kw)), widgets)
    display(w.VBox([w.HBox(list(widgets.values()), layout=w.Layout(flex_flow="row wrap")), out]))
