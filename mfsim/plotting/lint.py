"""A figure lint: the properties every published figure must have, checked
on the matplotlib objects after a draw.

:func:`lint` returns the problems found (an empty list: none):

- ``empty axes``: a panel (colourbars aside) with no finite data;
- ``identical panels``: two panels drawing the same data;
- ``all-NaN line``: a line with no finite point;
- ``look-alike legend entries``: two entries with the same colour, line
  style and marker;
- ``overlapping text``: two text boxes that overlap (tick labels, axis
  labels, titles, legends, annotations, cell text);
- ``legend over data`` / ``text over data``: a legend or an annotation
  covering a drawn point or line;
- ``outside the figure``: a text or legend that does not lie inside it;
- ``too wide``: a figure wider than :data:`~mfsim.plotting.style.MAX_WIDTH`;
- ``font too small``: text under :data:`~mfsim.plotting.style.MIN_FONT` points.
"""

from __future__ import annotations

import itertools

import numpy as np

from .style import MAX_WIDTH, MIN_FONT, in_view

PIXEL_SLACK = 1.0  # boxes touching within a pixel do not overlap
SEGMENT_SAMPLES = 24  # points sampled along each segment of a line, for cover checks




def _is_colorbar(ax) -> bool:
    return ax.get_label() == "<colorbar>"


def _tick_labels(ax):
    """The tick labels drawn: visible, non-empty, at a tick inside the view."""
    out = []
    for axis in (ax.xaxis, ax.yaxis):
        if not axis.get_visible():
            continue
        for tick in axis.get_major_ticks() + axis.get_minor_ticks():
            if not in_view(axis, tick.get_loc()):
                continue
            for label in (tick.label1, tick.label2):
                if label.get_visible() and label.get_text().strip():
                    out.append(label)
    return out


def _texts(fig):
    """(name, artist) of every text drawn, and of every legend as a whole."""
    out = []
    if fig._suptitle is not None and fig._suptitle.get_text():
        out.append(("suptitle", fig._suptitle))
    out += [("figure text", t) for t in fig.texts if t.get_visible() and t.get_text().strip()]
    for k, ax in enumerate(fig.axes):
        if not ax.get_visible():
            continue
        where = f"panel {k + 1}" if not _is_colorbar(ax) else f"colourbar {k + 1}"
        out += [(f"{where} tick label {t.get_text()!r}", t) for t in _tick_labels(ax)]
        for name, t in (("x label", ax.xaxis.label), ("y label", ax.yaxis.label),
                        ("title", ax.title), ("left title", ax._left_title),
                        ("right title", ax._right_title)):
            if t.get_visible() and t.get_text().strip():
                out.append((f"{where} {name}", t))
        for axis in (ax.xaxis, ax.yaxis):
            off = axis.get_offset_text()
            if off.get_visible() and off.get_text().strip():
                out.append((f"{where} offset text", off))
        out += [(f"{where} text {t.get_text()!r}", t) for t in ax.texts
                if t.get_visible() and t.get_text().strip()]
    return out


def _legends(fig):
    out = [(f"figure legend {i + 1}", leg) for i, leg in enumerate(fig.legends)]
    for k, ax in enumerate(fig.axes):
        leg = ax.get_legend()
        if leg is not None and leg.get_visible():
            out.append((f"panel {k + 1} legend", leg))
    return out


def _box(artist, renderer):
    return artist.get_window_extent(renderer)


def _overlap(a, b) -> bool:
    return (min(a.x1, b.x1) - max(a.x0, b.x0) > PIXEL_SLACK
            and min(a.y1, b.y1) - max(a.y0, b.y0) > PIXEL_SLACK)


def _inside(box, outer) -> bool:
    return (box.x0 >= outer.x0 - PIXEL_SLACK and box.y0 >= outer.y0 - PIXEL_SLACK
            and box.x1 <= outer.x1 + PIXEL_SLACK and box.y1 <= outer.y1 + PIXEL_SLACK)


def _line_points(line) -> np.ndarray:
    """Display coordinates of a line's drawn path: its vertices and points
    along each segment (a legend over the middle of a segment covers it);
    only those inside the axes."""
    ax = line.axes
    xy = np.column_stack([np.asarray(line.get_xdata(), float),
                          np.asarray(line.get_ydata(), float)])
    if not xy.size:
        return np.zeros((0, 2))
    with np.errstate(all="ignore"):
        pts = line.get_transform().transform(xy)
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    if line.get_linestyle() not in ("None", "none", "", " ") and len(pts) > 1:
        s = np.linspace(0, 1, SEGMENT_SAMPLES, endpoint=False)[:, None, None]
        pts = (pts[:-1][None] * (1 - s) + pts[1:][None] * s).reshape(-1, 2)
    box = ax.bbox
    keep = ((pts[:, 0] >= box.x0) & (pts[:, 0] <= box.x1) & (pts[:, 1] >= box.y0)
            & (pts[:, 1] <= box.y1))
    return pts[keep]


def _collection_points(coll) -> np.ndarray:
    offsets = np.asarray(coll.get_offsets(), float)
    if offsets.size == 0 or len(coll.get_paths()) > 1 and offsets.shape[0] <= 1:
        return np.zeros((0, 2))
    with np.errstate(all="ignore"):
        pts = coll.get_offset_transform().transform(offsets)
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    box = coll.axes.bbox
    keep = ((pts[:, 0] >= box.x0) & (pts[:, 0] <= box.x1) & (pts[:, 1] >= box.y0)
            & (pts[:, 1] <= box.y1))
    return pts[keep]


def _data_points(fig) -> np.ndarray:
    chunks = [np.zeros((0, 2))]
    for ax in fig.axes:
        if not ax.get_visible() or _is_colorbar(ax):
            continue
        chunks += [_line_points(line) for line in ax.get_lines() if line.get_visible()]
        from matplotlib.collections import PathCollection

        chunks += [_collection_points(c) for c in ax.collections
                   if isinstance(c, PathCollection) and c.get_visible()]
    return np.concatenate(chunks)


def _visible_points(line) -> int:
    """How many of a line's points are drawn: finite, positive on a log axis,
    inside the view."""
    ax = line.axes
    x = np.asarray(line.get_xdata(), float)
    y = np.asarray(line.get_ydata(), float)
    ok = np.isfinite(x) & np.isfinite(y)
    for values, axis in ((x, ax.xaxis), (y, ax.yaxis)):
        if axis.get_scale() == "log":
            ok &= values > 0
        lo, hi = sorted(axis.get_view_interval())
        with np.errstate(invalid="ignore"):
            ok &= (values >= lo) & (values <= hi)
    return int(ok.sum())


def _draws(line) -> bool:
    """A line draws something: two visible points joined, or a marked point."""
    marker = line.get_marker() not in (None, "None", "none", "", " ")
    return _visible_points(line) >= (1 if marker else 2)


def _has_data(ax) -> bool:
    for line in ax.get_lines():
        if line.get_transform() is not ax.transData:
            if _is_guide(line):
                continue
            if np.any(np.isfinite(np.asarray(line.get_ydata(), float))):
                return True  # drawn on the axes' edge (a mark outside the range)
            continue
        if _draws(line):
            return True
    from matplotlib.collections import PathCollection, PolyCollection, QuadMesh

    for c in ax.collections:
        if isinstance(c, QuadMesh) and np.any(np.isfinite(np.asarray(c.get_array(), float))):
            return True
        if isinstance(c, PathCollection) and np.asarray(c.get_offsets()).size:
            return True
        if isinstance(c, PolyCollection) and len(c.get_paths()):
            continue  # a band alone (a seed range) is not data
        if type(c).__name__ == "LineCollection" and len(c.get_segments()):  # error bars
            continue
    for image in ax.get_images():
        if np.any(np.isfinite(np.asarray(image.get_array(), float))):
            return True
    return False


def _is_guide(line) -> bool:
    """A horizontal or vertical reference line across the axes (axhline)."""
    x = np.asarray(line.get_xdata(), float)
    return line.get_transform() is not line.axes.transData and x.size == 2


def _panel_signature(ax):
    from matplotlib.collections import QuadMesh

    data = []
    for line in ax.get_lines():
        if _is_guide(line):
            continue
        data.append(np.round(np.asarray(line.get_xydata(), float), 12).tobytes())
    arrays = [image.get_array() for image in ax.get_images()]
    arrays += [c.get_array() for c in ax.collections if isinstance(c, QuadMesh)]
    data += [np.round(np.asarray(a, float), 12).tobytes() for a in arrays]
    return tuple(sorted(data)) if data else None


def _look(handle):
    from matplotlib.colors import to_rgba
    from matplotlib.lines import Line2D

    if isinstance(handle, Line2D):
        marker = handle.get_marker()
        marker = None if marker in (None, "None", "none", "", " ") else marker
        style = handle.get_linestyle()
        style = "none" if style in ("None", "none", "", " ") else style
        if style != "none":
            style = (style, tuple(handle._dash_pattern[1] or ()))
        return ("line", to_rgba(handle.get_color()), style, marker)
    try:
        face = handle.get_facecolor()
        return ("patch", tuple(np.round(np.ravel(face)[:4], 4)))
    except AttributeError:
        return ("other", id(handle))


def lint(fig) -> list[str]:
    """The problems of ``fig`` (an empty list: none); see the module."""
    problems = []
    if fig.stale:  # a rendering draw: draw_without_rendering would clear the Agg buffer
        fig.canvas.draw()  # a figure saved after its lint is written from (style.save_figure)
    renderer = fig.canvas.get_renderer()
    width = fig.get_figwidth()
    if width > MAX_WIDTH + 1e-6:
        problems.append(f"too wide: {width:.2f} in > {MAX_WIDTH} in")
    panels = [ax for ax in fig.axes if ax.get_visible() and not _is_colorbar(ax)]
    if not panels:
        problems.append("empty axes: the figure has no panel")
    for k, ax in enumerate(fig.axes):
        if ax in panels and not _has_data(ax):
            problems.append(f"empty axes: panel {k + 1} ({ax.get_ylabel() or ax.get_title()!r}) "
                            "draws no finite data")
        for line in ax.get_lines():
            x = np.asarray(line.get_xdata(), float)
            y = np.asarray(line.get_ydata(), float)
            if not np.any(np.isfinite(x) & np.isfinite(y)):
                problems.append(f"all-NaN line in panel {k + 1}: {line.get_label()!r}")
    signatures = [(k, _panel_signature(ax)) for k, ax in enumerate(fig.axes) if ax in panels]
    for (i, a), (j, b) in itertools.combinations(signatures, 2):
        if a is not None and a == b:
            problems.append(f"identical panels: {i + 1} and {j + 1} draw the same data")
    legends = _legends(fig)
    for name, leg in legends:
        looks = [(_look(h), t.get_text()) for h, t in zip(leg.legend_handles, leg.get_texts())]
        for (la, ta), (lb, tb) in itertools.combinations(looks, 2):
            if la == lb:
                problems.append(f"look-alike legend entries in {name}: {ta!r} and {tb!r}")
    texts = _texts(fig)
    boxes = [(name, _box(t, renderer)) for name, t in texts]
    boxes += [(name, _box(leg, renderer)) for name, leg in legends]
    figbox = fig.bbox
    for name, box in boxes:
        if not _inside(box, figbox):
            problems.append(f"outside the figure: {name}")
    for (na, a), (nb, b) in itertools.combinations(boxes, 2):
        if _overlap(a, b):
            problems.append(f"overlapping text: {na} and {nb}")
    points = _data_points(fig)
    covers = [(n, b) for n, b in boxes if "legend" in n]
    covers += [(n, b) for n, b in boxes if " text " in n and "tick" not in n]
    for name, box in covers:
        inside = ((points[:, 0] > box.x0 + PIXEL_SLACK) & (points[:, 0] < box.x1 - PIXEL_SLACK)
                  & (points[:, 1] > box.y0 + PIXEL_SLACK) & (points[:, 1] < box.y1 - PIXEL_SLACK))
        if inside.any():
            kind = "legend" if "legend" in name else "text"
            problems.append(f"{kind} over data: {name} covers {int(inside.sum())} drawn points")
    for name, t in texts:
        if t.get_fontsize() < MIN_FONT - 1e-6:
            problems.append(f"font too small: {name} at {t.get_fontsize():.1f} pt")
    for name, leg in legends:
        for t in leg.get_texts():
            if t.get_fontsize() < MIN_FONT - 1e-6:
                problems.append(f"font too small: {name} {t.get_text()!r} at "
                                f"{t.get_fontsize():.1f} pt")
                break
    return problems
