"""Exercise 6 of the lab: a 3-D object's thin, real thick and simulated thick series, and the linked 3-D slice
views that show them (ipyniivue with sliders in JupyterLab, the book's NiiVue viewer in the built book)."""

from __future__ import annotations

import functools
import html
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from t2tcore.teaching.model import DZ, THIN, ZObject, record, scanner_ssp, thin_series
from t2tcore.teaching.widgets import describe_control

__all__ = ["OBJECT_WINDOW", "LiveViews", "look_along_z", "view_along_z"]

_LOOK_MM = 48.0  # z extent of the lab's 3-D object
#: The lab viewer's grey window: the object's values (-200...450 HU), as level and width.
OBJECT_WINDOW = (125.0, 650.0)


@functools.lru_cache(maxsize=4)
def _rods(n_xy: int, seed: int) -> tuple[ZObject, float, np.ndarray]:
    """Chapter 00's analytic object (tilted rods, a sphere, a box oscillating along z) on planes
    every 0.05 mm over ``_LOOK_MM``, as a z-object of ``n_xy * n_xy`` columns (cached, read-only)."""
    from t2tcore.evaluation.analytic import ExactSlicer, RodsObject

    obj = RodsObject.random(np.random.default_rng(seed), n_xy, gap_z=_LOOK_MM / 2)
    planes = ExactSlicer(obj, (0.0, _LOOK_MM), h=DZ)
    values = planes.planes.astype(np.float64)
    values.flags.writeable = False
    return ZObject(planes.z, values), float(obj.fov) / n_xy, obj.xy


def look_along_z(thickness: float = 3.0, interval: float = 2.0, offset: float = 0.0, method: str = "average",
                 n_xy: int = 48, seed: int = 0) -> dict:
    """Exercise 6: a 3-D object's thin series, the scanner's thick series and one simulation of it.

    The object is chapter 00's (two rods tilted in the coronal plane, a sphere, a box whose
    value oscillates along z; :class:`t2tcore.evaluation.analytic.RodsObject`), ``n_xy`` pixels
    square. Thin slices: :data:`THIN` through the scanner's 1 mm SSP (:func:`thin_series`). Real
    thick slices: the scanner's SSP of ``thickness`` at ``s + offset + k interval`` (``s`` the
    first thin slice). Simulated: :func:`t2tcore.simulation.simulate_thick` with ``method``;
    the position-based methods are given the real positions (``target_positions``), the
    index-based ones make their own groups, whatever the offset and interval.

    Returns
    -------
    dict
        ``series``: ``"thin"``, ``"real thick"`` and ``method`` -> ``(volume (Z, n_xy, n_xy) HU,
        positions (Z,) mm, thickness mm)``; ``pixel_mm``; ``x`` (pixel centres, mm);
        ``misplacement_mm`` (largest |position of simulated slice j - real slice j|);
        the settings.
    """
    from t2tcore.simulation import simulate_thick, thick_positions

    if not THIN["thickness"] < thickness <= 6.0:
        raise ValueError(f"thickness must be in ({THIN['thickness']:g}, 6] mm, got {thickness}")
    if not interval > 0:
        raise ValueError(f"interval must be > 0 mm, got {interval}")
    if not 0 <= offset < 20:
        raise ValueError(f"offset must be in [0, 20) mm, got {offset}")
    obj, px, x = _rods(int(n_xy), int(seed))
    thin, thin_pos = thin_series(obj)
    thin = thin.reshape(-1, n_xy, n_xy)
    real_pos = thick_positions(thin_pos[0] + offset, thin_pos[-1], interval)
    real = record(obj, real_pos, scanner_ssp(thickness)).reshape(-1, n_xy, n_xy)
    index_based = method in ("direct", "average", "gaussian")
    kw = {"thin_thickness": THIN["thickness"]} if index_based else {"target_positions": real_pos}
    sim, sim_pos = simulate_thick(thin, thin_pos, thickness, interval, method=method, **kw)
    n = min(real_pos.size, np.asarray(sim_pos).size)
    return {"series": {"thin": (thin, thin_pos, THIN["thickness"]), "real thick": (real, real_pos, thickness),
                       method: (np.asarray(sim), np.asarray(sim_pos, dtype=float), thickness)},
            "pixel_mm": px, "x": x, "misplacement_mm": float(np.max(np.abs(np.asarray(sim_pos)[:n] - real_pos[:n]))),
            "thickness": thickness, "interval": interval, "offset": offset, "method": method}


@dataclass
class LiveViews:
    """The lab's live slice views: ``box`` (what is displayed), the slider ``controls`` and the
    ipyniivue ``views`` (one per series), with their ``labels``."""

    box: Any
    controls: dict
    views: list
    labels: list

    def _repr_mimebundle_(self, **kwargs):
        return self.box._repr_mimebundle_(**kwargs)


def _look_caption(res: dict) -> str:
    return (f"The {res['method']} slices against the scanner's ({res['thickness']:g} mm every {res['interval']:g} mm, "
            f"first slice {res['offset']:g} mm after the first thin slice); largest misplacement of slice j: "
            f"{res['misplacement_mm']:.1f} mm. In the coronal and sagittal views every thick slice is a band at its "
            "own position: compare where the bands of the two rows sit, and where the tilted rods and the sphere "
            "step. With the difference on, each row shows itself minus the thin series at the same z.")


def view_along_z(initial: Mapping[str, Any], controls: Mapping[str, Any], interactive: bool = True,
                 out_dir: str | None = None):
    """Exercise 6's linked 3-D views: live with sliders (JupyterLab), or the book's viewer.

    Parameters
    ----------
    initial : mapping
        Keyword arguments of :func:`look_along_z` to start from.
    controls : mapping
        Keyword -> ``(lo, hi, step)`` (a slider) or a list of choices (a dropdown).
    interactive : bool
        True: ipywidgets sliders that update three ipyniivue views (thin, real thick,
        simulated; linked crosshair) while a slider is dragged. False (the built book): a note
        naming the sliders, a static coronal figure, and :func:`t2tcore.figures.viewer.slice_viewer`
        at ``initial``.
    out_dir : str, optional
        Where the book's viewer writes its NIfTI files.

    Returns
    -------
    LiveViews or IPython.display.HTML
        What the notebook shows last (the live views, or the book's viewer).
    """
    from IPython.display import HTML, display

    from t2tcore.figures import viewer

    missing = [k for k in controls if k not in initial]
    if missing:
        raise ValueError(f"controls without an initial value: {missing}")
    if not interactive:
        from t2tcore.figures.simulation import coronal_inputs

        sliders = "; ".join(describe_control(k, v) for k, v in controls.items())
        display(HTML('<div class="t2t-static-note">In JupyterLab (<code>make lab</code>) these views have sliders: '
                     f"{html.escape(sliders)}, and the thick slices move while you drag. Here they are shown at "
                     f"{html.escape(', '.join(f'{k} = {v}' for k, v in initial.items()))}.</div>"))
        res = look_along_z(**initial)
        mid = res["series"]["thin"][0].shape[1] // 2
        display(coronal_inputs(res["x"], [(k, v[:, mid], p) for k, (v, p, _) in res["series"].items()]))
        return viewer.slice_viewer(res["series"], res["pixel_mm"], reference="thin",
                                   show=("real thick", res["method"]), window="object",
                                   windows={"object": OBJECT_WINDOW}, out_dir=out_dir, name="lab6",
                                   caption=_look_caption(res))

    import pathlib
    import tempfile

    import ipyniivue as nv
    import ipywidgets as w

    tmp = pathlib.Path(tempfile.mkdtemp(prefix="t2t-lab6-"))
    views = [nv.NiiVue(height=220, slice_type=nv.SliceType.MULTIPLANAR, multiplanar_layout=nv.MultiplanarType.ROW,
                       multiplanar_show_render=nv.ShowRender.NEVER, is_radiological_convention=True,
                       is_nearest_interpolation=True, drag_mode=nv.DragMode.NONE, crosshair_width=1.0)
             for _ in range(3)]
    for v in views:
        v.broadcast_to([o for o in views if o is not v], {"crosshair": True, "zoom_pan": True})
    labels = [w.HTML() for _ in views]
    widgets = {}
    for k, spec in controls.items():
        if isinstance(spec, tuple) and len(spec) == 3:
            cls = w.IntSlider if all(isinstance(x, int) for x in (*spec, initial[k])) else w.FloatSlider
            widgets[k] = cls(value=initial[k], min=spec[0], max=spec[1], step=spec[2], description=k,
                             continuous_update=True)
        else:
            widgets[k] = w.Dropdown(options=list(spec), value=initial[k], description=k)
    fixed = {k: v for k, v in initial.items() if k not in widgets}
    lo, hi = OBJECT_WINDOW[0] - OBJECT_WINDOW[1] / 2, OBJECT_WINDOW[0] + OBJECT_WINDOW[1] / 2
    caption = w.HTML()

    def update(**values):
        res = look_along_z(**fixed, **values)
        items = [viewer.ViewSeries.make(k, v) for k, v in res["series"].items()]
        span = (min(s.positions[0] for s in items), max(s.positions[-1] for s in items))
        for i, (s, view, label) in enumerate(zip(items, views, labels)):
            raw, desc = viewer.nifti_volume(s, (res["pixel_mm"], res["pixel_mm"]), tmp, i, span)
            view.volumes = [nv.Volume(data=raw, name=desc["file"], cal_min=lo, cal_max=hi, colormap="gray")]
            label.value = f"<b>{html.escape(s.name)}</b>: {html.escape(desc['info'])}"
        caption.value = f"<small>{html.escape(_look_caption(res))}</small>"

    w.interactive_output(update, widgets)
    rows = [w.VBox([label, view]) for label, view in zip(labels, views)]
    box = w.VBox([w.HBox(list(widgets.values()), layout=w.Layout(flex_flow="row wrap")), *rows, caption])
    return LiveViews(box, widgets, views, labels)
