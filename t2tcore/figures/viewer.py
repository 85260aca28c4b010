"""Linked 3-D slice viewers for the book's pages: NiiVue on small cropped int16 NIfTI volumes.

A page calls :func:`slice_viewer` with the volumes it has already computed (name -> volume, slice
positions, slice thickness). Every series is written as an int16 NIfTI file (through
:func:`t2tcore.io.write_nifti`, so with the package's own geometry: DICOM LPS -> NIfTI RAS) into
``out_dir/<name>/``, and embedded in the page (base64 of the ``.nii.gz``); the returned HTML holds
the viewer's container, the data, the caption and a one-line note that stays in place where the
viewer cannot run (the PDF, a browser without WebGL2, JupyterLab). The page's static figure is
the chapter's own, shown above the viewer.

In the browser, ``book/static/t2t_viewer.js`` (copied to ``_static/`` by the build) and NiiVue
(``_static/niivue/niivue.umd.js``, vendored from the npm registry by ``book/build.py``) are loaded
as classic scripts, so the viewer works when the book is opened from ``file://``. It shows two
rows of axial, coronal and sagittal views, each row one series chosen with buttons; both rows
share one crosshair (in mm), one slice and one zoom; window presets (lung, soft tissue, bone,
level/width in HU) and a difference toggle apply to both.

**Geometry is not hidden.** A series on a regular grid is written on its own slice positions
(the NIfTI affine has its own slice spacing and first position), so a 3 mm series every 2 mm
shows 2 mm bands in the coronal and sagittal views, centred where its slices are. A series with
irregular positions (a gap, a denser stretch, an index-based method's group centres) cannot be
described by one affine: it is drawn on a regular grid of half its smallest spacing, each row
showing its nearest slice (nearest-neighbour along z, no value is interpolated), and the viewer
says so. Display is nearest-neighbour in every direction.

**Differences** (:func:`difference`, and the same in JavaScript): a series minus the reference
series *linearly interpolated along z, in mm, at that series' own slice positions* (in-plane
nothing is resampled; all series of one viewer share their in-plane grid). Slices outside the
reference's range have no difference (shown as 0, black: the difference colours run from cyan and
blue (series darker) through black (equal) to red and yellow (series brighter)).

All series of a viewer are drawn over the same z range, so the rows' views line up: a series is
padded with rows of :data:`NO_SLICE_HU` (black) where it has no slice.
"""

from __future__ import annotations

import base64
import html
import json
import pathlib
import re
import tempfile
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

__all__ = ["WINDOWS", "NO_SLICE_HU", "VIEWER_NOTE", "ViewSeries", "display_grid", "difference", "crop_box",
           "difference_range", "nifti_volume", "viewer_data", "slice_viewer"]

#: Window presets a radiologist expects: name -> (level, width) in HU.
WINDOWS = {"lung": (-600.0, 1500.0), "soft tissue": (40.0, 400.0), "bone": (400.0, 1800.0)}

#: What the page says where the viewer cannot run (the PDF, no WebGL2, JupyterLab).
VIEWER_NOTE = ("The linked 3-D slice viewer of these volumes runs in the HTML book (WebGL2); here the static "
               "figure above shows them.")

#: HU written where a row of the display grid has no slice of its series (black in every window).
NO_SLICE_HU = -3024.0

_REGULAR_TOL = 0.01  # relative deviation of the spacing that still counts as one regular grid


@dataclass(frozen=True)
class ViewSeries:
    """One series of a viewer.

    Attributes
    ----------
    name : str
    volume : ndarray, shape (Z, Y, X), float
        HU.
    positions : ndarray, shape (Z,), float64
        Slice positions along z, mm, strictly increasing.
    thickness : float or None
        Slice thickness, mm (what the caption says; the display spacing comes from the positions).
    """

    name: str
    volume: np.ndarray
    positions: np.ndarray
    thickness: float | None = None

    @classmethod
    def make(cls, name: str, spec: Any, slice_mm: float | None = None) -> "ViewSeries":
        """From a :class:`~t2tcore.io.Series`, a tuple ``(volume, positions[, thickness])``, or a plain
        volume (Z, Y, X) whose slices are ``slice_mm`` apart (from 0)."""
        if isinstance(spec, np.ndarray):
            if slice_mm is None or not slice_mm > 0:
                raise ValueError(f"series {name!r} is a plain array: give slice_mm (its slice spacing, mm)")
            spec = (spec, float(slice_mm) * np.arange(spec.shape[0]))
        if hasattr(spec, "volume") and hasattr(spec, "positions"):
            vol, pos, thick = spec.volume, spec.positions, getattr(spec, "thickness", None)
        else:
            vol, pos, *rest = spec
            thick = rest[0] if rest else None
        vol = np.asarray(vol, dtype=np.float32)
        pos = np.asarray(pos, dtype=np.float64).reshape(-1)
        if vol.ndim != 3 or vol.shape[0] != pos.size:
            raise ValueError(f"series {name!r}: volume must be (Z, Y, X) with one position per slice, got "
                             f"{vol.shape} and {pos.size} positions")
        if pos.size > 1 and not np.all(np.diff(pos) > 0):
            raise ValueError(f"series {name!r}: positions must be strictly increasing")
        return cls(name, vol, pos, None if thick is None else float(thick))


def display_grid(positions: Sequence[float], step: float | None = None,
                 span: tuple[float, float] | None = None) -> tuple[np.ndarray, np.ndarray, bool]:
    """The regular z grid a series is drawn on, and which slice each grid row shows.

    Parameters
    ----------
    positions : array_like, shape (Z,)
        Slice positions, mm, increasing.
    step : float, optional
        Grid step for irregular positions, mm; default half the smallest spacing.
    span : (float, float), optional
        z range (mm) the grid must reach (the other series of a viewer), so that every row of a
        viewer covers the same z and the views line up; rows beyond the series show no slice.

    Returns
    -------
    z : ndarray, shape (R,), float64
        Row positions, mm (the slice positions themselves, and steps of the same spacing beyond
        them, when they are regular).
    rows : ndarray, shape (R,), int
        The slice each row shows (its nearest slice); -1 where the series has no slice.
    regular : bool
        True when the positions are one regular grid (each row is one slice).
    """
    pos = np.asarray(positions, dtype=np.float64).reshape(-1)
    lo, hi = (pos[0], pos[-1]) if span is None else (min(pos[0], span[0]), max(pos[-1], span[1]))
    d = np.diff(pos)
    regular = pos.size < 3 or bool(np.max(np.abs(d - np.median(d))) <= _REGULAR_TOL * np.median(d))
    if regular:
        if pos.size < 2:
            return pos.copy(), np.arange(pos.size), True
        dz = float(np.median(d))
        # whole steps until a row's band (its spacing) reaches the end of the span
        before, after = (max(0, int(np.ceil(dist / dz - 0.5 - 1e-9))) for dist in (pos[0] - lo, hi - pos[-1]))
        z = np.concatenate([pos[0] - dz * np.arange(before, 0, -1), pos, pos[-1] + dz * np.arange(1, after + 1)])
        rows = np.concatenate([np.full(before, -1), np.arange(pos.size), np.full(after, -1)])
        return z, rows, True
    step = float(step) if step is not None else float(d.min()) / 2
    if not step > 0:
        raise ValueError(f"step must be > 0 mm, got {step}")
    z = lo + step * np.arange(int(np.floor((hi - lo) / step + 1e-9)) + 1)
    rows = np.abs(z[:, None] - pos[None, :]).argmin(axis=1)
    rows[(z < pos[0] - step / 2 - 1e-9) | (z > pos[-1] + step / 2 + 1e-9)] = -1
    return z, rows, False


def difference(series: ViewSeries, reference: ViewSeries) -> np.ndarray:
    """``series`` minus ``reference`` linearly interpolated along z (mm) at the series' positions.

    Returns
    -------
    ndarray, shape of ``series.volume``, float32
        HU; NaN on slices outside the reference's range.
    """
    if series.volume.shape[1:] != reference.volume.shape[1:]:
        raise ValueError(f"{series.name!r} and {reference.name!r} have different in-plane grids")
    rp, out = reference.positions, np.full(series.volume.shape, np.nan, dtype=np.float32)
    for k, p in enumerate(series.positions):
        if p < rp[0] - 1e-6 or p > rp[-1] + 1e-6:
            continue
        j = int(np.clip(np.searchsorted(rp, p, side="right") - 1, 0, max(rp.size - 2, 0)))
        if rp.size == 1:
            ref = reference.volume[0]
        else:
            w = float(np.clip((p - rp[j]) / (rp[j + 1] - rp[j]), 0.0, 1.0))
            ref = (1 - w) * reference.volume[j] + w * reference.volume[j + 1]
        out[k] = series.volume[k] - ref
    return out


def crop_box(shape: tuple[int, int], size: tuple[int, int], weight: np.ndarray | None = None) -> tuple[slice, slice]:
    """An in-plane window of ``size`` pixels inside ``shape``: where ``weight`` sums highest, else centred.

    Parameters
    ----------
    shape : (int, int)
        (Y, X) of the images.
    size : (int, int)
        Wanted (rows, columns); clipped to ``shape``.
    weight : ndarray, shape (Y, X), optional
        What the window should hold most of (e.g. a body mask, or how much two outputs differ).
    """
    from scipy import ndimage

    h, w = min(int(size[0]), shape[0]), min(int(size[1]), shape[1])
    if weight is None or not np.any(weight > 0):
        y0, x0 = (shape[0] - h) // 2, (shape[1] - w) // 2
    else:
        s = ndimage.uniform_filter(np.asarray(weight, dtype=np.float64), size=(h, w), mode="constant")
        cy, cx = (h - 1) // 2, (w - 1) // 2
        valid = s[cy: shape[0] - (h - 1 - cy), cx: shape[1] - (w - 1 - cx)]
        y0, x0 = np.unravel_index(int(np.argmax(valid)), valid.shape)
    return slice(int(y0), int(y0) + h), slice(int(x0), int(x0) + w)


def difference_range(series: Sequence[ViewSeries], reference: ViewSeries) -> float:
    """Colour limit of the difference views (HU): the median over series of their 99th percentile
    of |difference|, rounded up to 10, at least 20 (as Fig. 4 of chapter 02)."""
    p99 = []
    for s in series:
        if s.name == reference.name:
            continue
        d = np.abs(difference(s, reference))
        if np.any(np.isfinite(d)):
            p99.append(float(np.nanpercentile(d, 99)))
    return float(max(20.0, 10.0 * np.ceil(np.median(p99) / 10.0))) if p99 else 100.0


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").lower() or "series"


def nifti_volume(s: ViewSeries, pixel_mm: tuple[float, float], folder: pathlib.Path, index: int,
                 span: tuple[float, float]) -> tuple[bytes, dict]:
    """Write ``s`` on its display grid (:func:`display_grid` over ``span``) as int16 NIfTI in ``folder``.

    Returns
    -------
    bytes
        The ``.nii.gz`` file.
    dict
        What the viewer's JavaScript needs: ``name``, ``info`` (how it is drawn), ``file``,
        ``positions``, ``rows``, ``slice_rows`` (the display row of each slice), ``z0``, ``dz``.
    """
    from t2tcore.io import Series
    from t2tcore.io.nifti import write_nifti
    from t2tcore.io.nifti_grid import NiftiLayout

    z, rows, regular = display_grid(s.positions, span=span)
    vol = np.where((rows >= 0)[:, None, None], s.volume[np.maximum(rows, 0)], np.float32(NO_SLICE_HU))
    ser = Series.from_array(vol, z, pixel_mm, s.thickness,
                            interval=float(z[1] - z[0]) if z.size > 1 else s.thickness,
                            description=f"t2t viewer: {s.name}")
    ser.nifti_layout = NiftiLayout()  # series order (x, y, z), no flips: what t2t_viewer.js indexes
    path = write_nifti(ser, folder / f"{index:02d}_{_slug(s.name)}.nii.gz", overwrite=True)
    slice_rows = np.abs(s.positions[:, None] - z[None, :]).argmin(axis=1)
    spacing = float(np.median(np.diff(s.positions))) if s.positions.size > 1 else float("nan")
    thick = f"{s.thickness:g} mm" if s.thickness else "thickness not given"
    if regular:
        info = f"{s.positions.size} slices, {thick}, every {spacing:.3g} mm, on their own positions"
    else:
        info = (f"{s.positions.size} slices, {thick}, at irregular positions; drawn on a {z[1] - z[0]:.2g} mm grid, "
                "each row its nearest slice")
    desc = {"name": s.name, "info": info, "file": path.name, "positions": [round(float(p), 4) for p in s.positions],
            "rows": rows.tolist(), "slice_rows": slice_rows.tolist(), "z0": float(z[0]),
            "dz": float(z[1] - z[0]) if z.size > 1 else 1.0}
    return path.read_bytes(), desc


def viewer_data(
    series: Mapping[str, Any],
    pixel_mm: float | Sequence[float],
    *,
    reference: str | None = None,
    show: Sequence[str] | None = None,
    window: str = "soft tissue",
    windows: Mapping[str, tuple[float, float]] | None = None,
    crop: tuple[int, int] | None = None,
    focus: tuple[str, str] | None = None,
    max_mb: float = 8.0,
    out_dir: str | pathlib.Path | None = None,
    name: str = "viewer",
    slice_mm: float | None = None,
) -> dict:
    """Everything a viewer shows, as the JSON-able dict ``t2t_viewer.js`` reads (see :func:`slice_viewer`).

    Parameters
    ----------
    series : mapping
        Name -> :class:`~t2tcore.io.Series`, ``(volume (Z, Y, X) HU, positions (Z,) mm[, thickness
        mm])``, or a plain volume (then ``slice_mm`` gives its spacing), in the order of the
        buttons. All share one in-plane grid.
    pixel_mm : float or (float, float)
        In-plane pixel size (dy, dx), mm.
    reference : str, optional
        The series the difference toggle subtracts (default the first).
    show : (str, str), optional
        The series of the top and bottom rows at first (default the first two).
    window : str
        The window preset shown first (a key of :data:`WINDOWS` or of ``windows``).
    windows : mapping, optional
        More presets for this page: name -> (level, width) HU.
    crop : (int, int), optional
        In-plane size to keep (rows, columns); default the whole image, made smaller if the
        embedded data would exceed ``max_mb``.
    focus : (str, str), optional
        Two series whose disagreement picks the crop window and the first crosshair position;
        default the body's middle.
    max_mb : float
        About how many MB of embedded volume data the page may carry.
    out_dir : path, optional
        Where the NIfTI files are written (``out_dir/<name>/``); default a temporary folder.
    name : str
        Names the viewer (its HTML id and folder); unique on a page.
    slice_mm : float, optional
        Slice spacing (mm) of the series given as plain volumes (positions from 0).

    Returns
    -------
    dict
        ``id``, ``series`` (list of dicts: ``name``, ``info``, ``nii`` (base64 .nii.gz), ``positions``,
        ``rows``, ``slice_rows``, ``z0``, ``dz``), ``reference``, ``show`` (the two series shown first),
        ``windows`` (name -> (level, width)), ``window``, ``diff_range`` (HU), ``start`` (column, row,
        z in mm), ``crop`` (in-plane pixels kept: y0, y1, x0, x1), ``bytes`` (NIfTI bytes embedded),
        ``files`` (where they were written).
    """
    items = [ViewSeries.make(k, v, slice_mm) for k, v in series.items()]
    if not items:
        raise ValueError("give at least one series")
    names = [s.name for s in items]
    shape = items[0].volume.shape[1:]
    if any(s.volume.shape[1:] != shape for s in items):
        raise ValueError(f"every series must share one in-plane grid; got {[s.volume.shape[1:] for s in items]}")
    ref_name = reference if reference is not None else names[0]
    if ref_name not in names:
        raise ValueError(f"reference {ref_name!r} is not a series (series: {names})")
    show = list(show) if show is not None else (names[:2] if len(names) > 1 else names * 2)
    if len(show) != 2 or any(s not in names for s in show):
        raise ValueError(f"show must name two series of {names}, got {show}")
    for pair in [focus] if focus else []:
        if len(pair) != 2 or any(s not in names for s in pair):
            raise ValueError(f"focus must name two series of {names}, got {focus}")
    presets = {**WINDOWS, **(dict(windows) if windows else {})}
    if window not in presets:
        raise ValueError(f"unknown window {window!r}; known: {', '.join(presets)}")
    dy, dx = (float(pixel_mm), float(pixel_mm)) if np.isscalar(pixel_mm) else (float(pixel_mm[0]), float(pixel_mm[1]))
    by_name = {s.name: s for s in items}
    ref = by_name[ref_name]

    # where to look: the in-plane map of how much the two focus series differ inside the body
    # (not at the edge of the field, where outputs can differ for no anatomical reason), else the body
    from t2tcore.masks import body_mask

    body = body_mask(ref.volume).any(axis=0)
    if not body.any():
        body[:] = True
    if focus:
        a, b = by_name[focus[0]], by_name[focus[1]]
        both = difference(a, b) if a.positions.size != b.positions.size or not np.allclose(a.positions, b.positions) \
            else a.volume - b.volume
        both = np.nan_to_num(np.abs(both)) * body
        weight = both.mean(axis=0)
    else:
        weight = body.astype(float)
    size = tuple(crop) if crop is not None else shape
    # int16 CT compresses to about half with gzip, base64 adds a third: start from a window that
    # should fit max_mb, and shrink it while the written files do not
    span = (min(s.positions[0] for s in items), max(s.positions[-1] for s in items))
    rows_total = sum(display_grid(s.positions, span=span)[0].size for s in items)
    side = np.sqrt(max_mb * 1e6 * 3 / 4 / 0.55 / 2 / rows_total)
    size = (int(min(size[0], side)), int(min(size[1], side)))
    folder = pathlib.Path(out_dir) / _slug(name) if out_dir is not None else pathlib.Path(tempfile.mkdtemp())
    folder.mkdir(parents=True, exist_ok=True)
    for _ in range(4):
        ys, xs = crop_box(shape, size, weight)
        cropped = [ViewSeries(s.name, s.volume[:, ys, xs], s.positions, s.thickness) for s in items]
        encoded = [nifti_volume(s, (dy, dx), folder, i, span) for i, s in enumerate(cropped)]
        n_bytes = sum(len(raw) for raw, _ in encoded)
        ratio = max_mb * 1e6 / (n_bytes * 4 / 3)
        if ratio >= 1 or min(size) <= 16:
            break
        size = tuple(max(16, int(v * np.sqrt(ratio) * 0.97)) for v in size)
    ref_c = next(s for s in cropped if s.name == ref_name)

    # start: the slice and pixel where the focus series differ most (smoothed), else the middle
    zc = float(ref.positions[ref.positions.size // 2])
    yc, xc = (ys.stop - ys.start) // 2, (xs.stop - xs.start) // 2
    if focus:
        from scipy import ndimage

        sm = ndimage.gaussian_filter(both[:, ys, xs], sigma=(0, 2, 2))
        k, yc, xc = np.unravel_index(int(np.argmax(sm)), sm.shape)
        zc = float(by_name[focus[0]].positions[k])
    descs = []
    for raw, desc in encoded:
        desc["nii"] = base64.b64encode(raw).decode("ascii")
        descs.append(desc)
    return {
        "id": f"t2t-viewer-{_slug(name)}",
        "series": descs,
        "reference": ref_name,
        "show": show,
        "windows": {k: [float(v[0]), float(v[1])] for k, v in presets.items()},
        "window": window,
        "diff_range": difference_range(cropped, ref_c),
        "start": [int(xc), int(yc), zc],
        "crop": [ys.start, ys.stop, xs.start, xs.stop],
        "pixel_mm": [dy, dx],
        "bytes": n_bytes,
        "files": str(folder),
    }


_BOOT = """<script>
(function () {
  var el = document.getElementById(%(id)s);
  if (!el || el.dataset.t2tBooted) return;
  el.dataset.t2tBooted = "1";
  var data = JSON.parse(document.getElementById(%(data_id)s).textContent);
  var s = document.querySelector('script[src*="_static/"]');
  var note = el.querySelector(".t2t-viewer-note");
  if (!s) { return; }  /* not in the built book (e.g. JupyterLab): the note stays */
  var base = s.getAttribute("src").split("_static/")[0] + "_static/";
  function load(src, ok) {
    var have = document.querySelector('script[data-t2t="' + src + '"]');
    if (have) { if (have.dataset.loaded) ok(); else have.addEventListener("load", ok); return; }
    var t = document.createElement("script");
    t.src = base + src; t.dataset.t2t = src;
    t.addEventListener("load", function () { t.dataset.loaded = "1"; ok(); });
    t.addEventListener("error", function () { note.textContent = "The slice viewer could not load " + src + "."; });
    document.head.appendChild(t);
  }
  load("niivue/niivue.umd.js", function () { load("t2t_viewer.js", function () { T2TViewer.mount(el, data); }); });
})();
</script>"""


def slice_viewer(series: Mapping[str, Any], pixel_mm: float | Sequence[float], *, caption: str = "", **options):
    """A linked 3-D slice viewer of ``series`` for a book page (an ``IPython.display.HTML``).

    Parameters
    ----------
    series, pixel_mm
        As :func:`viewer_data`.
    caption : str
        What to look for (plain text); the viewer adds how each series is drawn, the crop and
        how the difference is made.
    **options
        The other keywords of :func:`viewer_data` (``reference``, ``show``, ``window``,
        ``windows``, ``crop``, ``focus``, ``max_mb``, ``out_dir``, ``name``, ``slice_mm``).

    Returns
    -------
    IPython.display.HTML
        The container, the data (JSON), the caption and :data:`VIEWER_NOTE`; the script that
        starts the viewer in the book.
    """
    from IPython.display import HTML

    data = viewer_data(series, pixel_mm, **options)
    y0, y1, x0, x1 = data["crop"]
    dy, dx = data["pixel_mm"]
    lines = "".join(f"<li><b>{html.escape(s['name'])}</b>: {html.escape(s['info'])}</li>" for s in data["series"])
    about = (f"Volumes: {y1 - y0} × {x1 - x0} pixels ({(y1 - y0) * dy:.0f} × {(x1 - x0) * dx:.0f} mm) of each slice, "
             f"int16 HU NIfTI ({data['bytes'] / 1e6:.1f} MB in this page). Difference: each series minus "
             f"<b>{html.escape(data['reference'])}</b> linearly interpolated along z (mm) at that series' slice "
             f"positions, colours ±{data['diff_range']:.0f} HU. Click to move the crosshair; the mouse wheel, "
             "↑/↓ or "
             "PgUp/PgDn move through the slices; both rows follow.")
    data_id = data["id"] + "-data"
    payload = json.dumps({k: v for k, v in data.items() if k != "files"}, separators=(",", ":")).replace("</", "<\\/")
    body = (
        f'<div class="t2t-viewer" id="{data["id"]}" tabindex="0">'
        f'<div class="t2t-viewer-note">{html.escape(VIEWER_NOTE)}</div>'
        f'<div class="t2t-viewer-caption"><p>{html.escape(caption)}</p><ul>{lines}</ul><p>{about}</p></div></div>'
        f'<script type="application/json" id="{data_id}">{payload}</script>'
        + _BOOT % {"id": json.dumps(data["id"]), "data_id": json.dumps(data_id)}
    )
    return HTML(body)
