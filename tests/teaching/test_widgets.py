"""t2tcore.teaching.widgets: an exercise drawn by name, with sliders or once (against independent truths: literal loops, physics, known models)."""

import pytest

from t2tcore import teaching as T


def test_explore_static_draws_once_with_a_note(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    calls = []

    def draw(**kw):
        calls.append(kw)
        return "figure"

    T.explore(draw, {"thickness": 3.0, "kernel": "B30"}, {"thickness": (1.0, 5.0, 0.5), "kernel": ["B30", "D45"]},
              interactive=False)
    assert calls == [{"thickness": 3.0, "kernel": "B30"}]
    assert "make lab" in shown[0].data and "thickness from 1 to 5" in shown[0].data and shown[1] == "figure"
    with pytest.raises(ValueError, match="initial"):
        T.explore(draw, {}, {"x": (0, 1, 1)}, interactive=False)


def test_explore_interactive_builds_sliders(monkeypatch):
    import ipywidgets as w

    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    T.explore(lambda **kw: "figure", {"thickness": 3.0, "kernel": "B30", "j": 2},
              {"thickness": (1.0, 5.0, 0.5), "kernel": ["B30", "D45"], "j": (0, 10, 1)}, interactive=True)
    box = shown[-1]  # the figure itself is displayed first, inside the output widget
    assert isinstance(box, w.VBox)
    kinds = {c.description: type(c).__name__ for c in box.children[0].children}
    assert kinds == {"thickness": "FloatSlider", "kernel": "Dropdown", "j": "IntSlider"}


def test_figure_runs_an_exercise_and_draws_it():
    from matplotlib.figure import Figure

    fig = T.figure("misplaced", j=3)
    assert isinstance(fig, Figure)
    best = [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_gid() == "best:real"][0]
    assert best.get_xdata()[0] == T.misplaced(j=3)["best"]["real"]
    with pytest.raises(ValueError, match="unknown exercise"):
        T.figure("nope")
