"""What the time-series figures share: the lines of a sweep and their looks,
the values of a series over seeds, the time axis, failures and divergences.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass

import numpy as np

import mfsim.plotting.meta as meta

from .._solve.statuses import completed
from .._store.analysis import sweep_dims
from .style import LINE_STYLES, MARKERS, PALETTE, categorical, ordered_colors

MAX_LINES = 16  # 5 sample sizes x 3 models: every line, colour x line style


@dataclass(frozen=True)
class Line:
    """One line of a figure: its legend label, the sweep point or index it
    selects (``sel``, an isel dict) and its look."""

    label: str
    sel: dict
    color: object
    linestyle: object = "-"
    marker: str | None = None
    short: str = ""
    # a sweep over two axes drawn colour x style: ((colour's label, colour),
    # (style's label, line style, marker)); the legend keys each once
    key: tuple = ()

    def look(self) -> dict:
        return {"color": self.color, "linestyle": self.linestyle, "marker": self.marker}


def looks(n: int, ordered: bool, *, twins: bool = False) -> list[dict]:
    """``n`` distinct looks: a sequential colormap for ordered values; the
    palette, then palette x line style (x marker) for categories. With twins
    on the axes (drawn dashed), categories past the palette get markers
    instead of line styles."""
    if ordered:
        return [{"color": c, "linestyle": "-", "marker": None} for c in ordered_colors(n)]
    out = []
    for i in range(n):
        look = categorical(i)
        if twins and i >= len(PALETTE):
            look = {**look, "linestyle": "-", "marker": MARKERS[(i // len(PALETTE)) % len(MARKERS)]}
        out.append(look)
    return out


def sweep_lines(ds, dims=None, *, twins: bool = False) -> tuple[list[Line], str]:
    """A line per combination of ``dims`` (default: the non-seed sweep axes),
    at most MAX_LINES (evenly chosen; the note says so). One ordered axis
    gets sequential colours; two axes, colour x style; otherwise each
    combination is a category. ``twins``: dashes are taken on these axes (by
    twins or references), so styles past the colours are markers."""
    dims = [d for d in sweep_dims(ds) if d != "seed"] if dims is None else list(dims)
    if not dims:
        return [Line("", {}, PALETTE[0])], ""
    factored = _factored_lines(ds, dims, twins)
    if factored is not None:
        return factored, ""
    combos = list(itertools.product(*(range(ds.sizes[d]) for d in dims)))
    note = ""
    if len(combos) > MAX_LINES:
        note = f"{MAX_LINES} of {len(combos)} points"
        combos = [combos[i] for i in np.linspace(0, len(combos) - 1, MAX_LINES).astype(int)]
    ordered = len(dims) == 1 and meta.is_ordered(ds, dims[0])
    out = []
    for combo, look in zip(combos, looks(len(combos), ordered, twins=twins)):
        sel = dict(zip(dims, combo))
        out.append(Line(meta.point_label(ds, sel), sel, short=meta.point_values(ds, sel), **look))
    return out, note


MAX_COLOURS = 12  # along the sequential colormap, still told apart
MAX_FACTORED = 24  # lines on one axes, told apart by colour x style


def _factored_lines(ds, dims, twins: bool) -> list[Line] | None:
    """Two sweep axes, one of them ordered (width x parameterization, gamma0
    x width): colour along the ordered one (the one with more values where
    both are), line style by the other (a marker with twins on the axes,
    whose dashes are the systems'), every point drawn; None where the axes
    have too many values for that."""
    if len(dims) != 2 or not any(meta.is_ordered(ds, d) for d in dims):
        return None
    ordered = [d for d in dims if meta.is_ordered(ds, d)]
    colour = max(ordered, key=lambda d: ds.sizes[d]) if len(ordered) == 2 else ordered[0]
    style = next(d for d in dims if d != colour)
    kinds = LINE_STYLES if not twins else MARKERS
    if (ds.sizes[style] > len(kinds) or ds.sizes[colour] > MAX_COLOURS
            or ds.sizes[style] * ds.sizes[colour] > MAX_FACTORED):
        return None
    colours = ordered_colors(ds.sizes[colour])
    lines = []
    for combo in itertools.product(*(range(ds.sizes[d]) for d in dims)):
        sel = dict(zip(dims, combo))
        c, k = sel[colour], sel[style]
        dash, marker = ("-", MARKERS[k]) if twins else (LINE_STYLES[k], None)
        key = ((meta.point_label(ds, {colour: c}), colours[c]),
               (meta.point_label(ds, {style: k}), dash, marker))
        lines.append(Line(meta.point_label(ds, sel), sel, colours[c], dash, marker,
                          meta.point_values(ds, sel), key))
    return lines


def index_lines(ds, name: str, index_dim: str, base: dict) -> list[Line]:
    """A line per entry of an indexed series (mode, degree, eigenvalue):
    ordered entries along the sequential colormap."""
    var = ds[name]
    n = var.sizes[index_dim]
    coord = ds[index_dim].values if index_dim in ds.coords else np.arange(1, n + 1)
    ordered = meta.variable(ds, name).index == "ordered"
    word = index_dim.replace("_", " ")
    return [Line(f"{word} {meta.fmt(coord[i])}", {**base, index_dim: i}, **look)
            for i, look in enumerate(looks(n, ordered))]


def series(ds, name: str, sel: dict):
    """(x, mean over seeds, min over seeds, max over seeds) of a time series
    at ``sel``; x in the run's time unit (:func:`meta.time_axis`)."""
    var = ds[name].isel({k: v for k, v in sel.items() if k in ds[name].dims})
    x = ds[meta.time_axis(ds)[0]]
    t = x.isel({k: v for k, v in sel.items() if k in x.dims})
    y = np.asarray(var, dtype=float)
    if "seed" in var.dims:
        y = np.moveaxis(y, var.dims.index("seed"), 0)
        if "seed" in t.dims:
            t = t.isel(seed=0)
        with warnings.catch_warnings():  # all-NaN slices (unreached saves) stay NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            return (np.asarray(t, float), np.nanmean(y, 0), np.nanmin(y, 0), np.nanmax(y, 0))
    t = np.asarray(t, float)
    return t, y, y, y


def failure(ds, sel: dict, prefix: str = "") -> str | None:
    """How the solve of the network (or the twin of ``prefix``) failed at the
    sweep point ``sel`` (any of its seeds; a single run: the run), or None."""
    status = ds.get(f"{prefix}status")
    if status is not None and status.dims:
        here = status.isel({k: v for k, v in sel.items() if k in status.dims})
        bad = [str(v) for v in np.asarray(here.values, dtype=object).ravel()
               if not completed(v) and str(v) not in ("", "nan")]
        return bad[0] if bad else None
    value = ds.attrs.get(f"{prefix}status", "success")
    return value if isinstance(value, str) and not completed(value) else None


def log_time(t) -> bool:
    """A log time axis: saves spread over decades (log-spaced save times), or
    most of the change happens in the first 5% of the run (a catapult's
    spike), which a linear axis squeezes against the left edge."""
    t = np.asarray(t, float)
    t = t[np.isfinite(t)]
    return bool(t.size > 2 and t[-1] > 0 and t[t > 0].size and t[t > 0].min() * 100 < t[-1])


def early_action(t, ys) -> bool:
    """Most of the variation of the curves ``ys`` (in log10 where positive)
    is over the first 5% of ``t``."""
    t = np.asarray(t, float)
    if t.size < 20 or not np.isfinite(t).any():
        return False
    early = t <= t[np.isfinite(t)].min() + 0.05 * np.ptp(t[np.isfinite(t)])
    total = late = 0.0
    for y in ys:
        y = np.asarray(y, float)
        v = np.log10(np.where(y > 0, y, np.nan)) if np.nanmin(y) > 0 else y
        d = np.abs(np.diff(v))
        d = np.where(np.isfinite(d), d, 0.0)
        total += d.sum()
        late += d[~early[1:]].sum()
    return total > 0 and late < 0.5 * total


def positive(values) -> bool:
    v = np.concatenate([np.ravel(a) for a in values]) if values else np.zeros(0)
    v = v[np.isfinite(v)]
    return bool(v.size and np.all(v > 0))


def nonnegative(values) -> bool:
    v = np.concatenate([np.ravel(a) for a in values]) if values else np.zeros(0)
    v = v[np.isfinite(v)]
    return bool(v.size and np.all(v >= 0))


def _nonzero(values):
    v = np.concatenate([np.ravel(a) for a in values]) if values else np.zeros(0)
    return v[v != 0]


def spans_decades(values, factor: float = 100.0) -> bool:
    """Positive values spanning at least ``factor``."""
    v = np.concatenate([np.ravel(a) for a in values]) if values else np.zeros(0)
    v = v[np.isfinite(v)]
    return bool(v.size and np.all(v > 0) and v.max() >= factor * v.min())


def y_scale(ds, name: str, drawn) -> str:
    """The y scale of ``name``'s axes: log where its values are positive and
    it is read on a log scale (losses, distances, eigenvalues) or they span
    100x or more; symlog for signed values read so; else linear."""
    var = meta.variable(ds, name)
    if positive(drawn) and (var.scale == "log" or spans_decades(drawn)):
        return "log"
    if var.scale == "log" and nonnegative(drawn) and positive([_nonzero(drawn)]):
        return "log"  # a distance from init: 0 at the start, left off the log axis
    if var.scale == "symlog" and not positive(drawn):
        return "symlog"
    return "linear"


def clip_range(network, scale: str, others=(), references=()) -> tuple[float, float] | None:
    """The y range set by the network's curves, padded; None without finite
    data. The ``others`` (twins) widen it where they stay near it, below it
    (a twin that learns faster) or up to 10x (linear: one span) above; a
    twin that diverges beyond that is clipped to it. ``references`` widen it
    within 100x below (linear: one span) and 10x above; one far off it (a
    min-l1 error of 1e-15 beside 0.1) is left off and marked."""
    v = np.concatenate([np.ravel(a) for a in network]) if network else np.zeros(0)
    v = v[np.isfinite(v) & ((v > 0) if scale == "log" else True)]
    if not v.size:
        return None
    lo, hi = float(v.min()), float(v.max())
    w = np.concatenate([np.ravel(a) for a in others]) if len(others) else np.zeros(0)
    w = w[np.isfinite(w) & ((w > 0) if scale == "log" else True)]
    ceiling = 10 * hi if scale == "log" else hi + max(hi - lo, abs(hi))
    w = w[w <= ceiling]
    r = np.concatenate([np.ravel(a) for a in references]) if len(references) else np.zeros(0)
    r = r[np.isfinite(r) & ((r > 0) if scale == "log" else True)]
    floor = lo / 100 if scale == "log" else lo - max(hi - lo, abs(lo))
    r = r[(r <= ceiling) & (r >= floor)]
    w = np.concatenate([w, r])
    if w.size:
        lo, hi = min(lo, float(w.min())), max(hi, float(w.max()))
    if scale == "log":
        pad = (hi / lo) ** 0.06 if hi > lo else 2.0
        return lo / pad, hi * pad
    pad = 0.06 * (hi - lo) if hi > lo else (abs(hi) * 0.1 or 1.0)
    return lo - pad, hi + pad


def first_exit(x, y, lo: float, hi: float):
    """(x, index) where ``y`` first leaves [lo, hi] for good above it (a
    divergence), or None."""
    y = np.asarray(y, float)
    out = ~np.isfinite(y) | (y > hi)
    if not out.any():
        return None
    i = int(np.argmax(out))
    return x[i], i


def bounded_limits(ax, var, values) -> None:
    """A bounded quantity (an accuracy) whose values cover less than a tenth
    of its natural range is drawn on that whole range: a change of 1% is not
    drawn as the whole axis."""
    lo, hi = var.bounds
    v = np.concatenate([np.ravel(a) for a in values]) if values else np.zeros(0)
    v = v[np.isfinite(v)]
    if v.size and np.ptp(v) < 0.1 * (hi - lo):
        pad = 0.03 * (hi - lo)
        ax.set_yscale("linear")
        ax.set_ylim(lo - pad, hi + pad)


def mark_off_the_axes(ax, curves, *, most: int | None = None, once: bool = False) -> dict:
    """A reference curve lying wholly below (above) the axes' range (the
    min-l1 interpolant's test loss of 1e-30 beside losses of 1e-2):
    triangles on that edge along it (at ``most`` evenly chosen points, else
    at each), so it is not silently missing from the figure. ``curves`` are
    (key, x, y, colour). With ``once``, a key whose every curve (one per
    sweep point) is off on one side is marked once, along the longest, in
    grey where there are several: not a rug of markers per point. Returns
    key -> "below" / "above" for the legend."""
    from matplotlib.transforms import blended_transform_factory

    lo, hi = sorted(ax.get_ylim())
    edge = blended_transform_factory(ax.transData, ax.transAxes)
    off: dict = {}
    marks = []
    for key, x, y, color in curves:
        finite = np.isfinite(y)
        if not finite.any():
            continue
        x, y = np.asarray(x)[finite], y[finite]
        where = "below" if np.all(y < lo) else "above" if np.all(y > hi) else None
        marks.append((key, x, where, color))
    if once:
        merged = []
        for key in dict.fromkeys(k for k, *_ in marks):
            mine = [m for m in marks if m[0] == key]
            sides = {where for _, _, where, _ in mine}
            if len(mine) > 1 and len(sides) == 1 and None not in sides:
                widest = max(mine, key=lambda m: np.ptp(m[1]) if m[1].size else -1.0)
                merged.append((key, widest[1], widest[2], "0.3"))
            else:
                merged += mine
        marks = merged
    for key, x, where, color in marks:
        if where is None:
            continue
        pick = (np.arange(x.size) if most is None
                else np.unique(np.linspace(0, x.size - 1, min(most, x.size)).astype(int)))
        ax.plot(x[pick], np.full(pick.size, 0.0 if where == "below" else 1.0), transform=edge,
                marker="v" if where == "below" else "^", color=color, linestyle="none",
                markersize=4, clip_on=False, zorder=6)
        off.setdefault(key, where)
    return off


def shade_bands(ax, bands, *, alpha: float = 0.15, floor: float | None = None) -> None:
    """The seeds' ranges (x, lo, hi, colour), shaded, as one collection on
    ``ax`` (below the lines; not in the data limits: the range is the
    network's). On a log y axis a lower edge at or below 0 is drawn at
    ``floor``."""
    from matplotlib.collections import PolyCollection
    from matplotlib.colors import to_rgba

    if not bands:
        return
    log = ax.get_yscale() == "log"
    polygons, colors = [], []
    for x, lo, hi, color in bands:
        if log:
            positive = hi[hi > 0]
            if not positive.size:
                continue
            bottom = floor if floor is not None and floor > 0 else positive.min()
            lo = np.where(lo > 0, lo, bottom)
            hi = np.where(hi > 0, hi, bottom)
        polygons.append(np.column_stack([np.concatenate([x, x[::-1]]),
                                         np.concatenate([lo, hi[::-1]])]))
        colors.append(to_rgba(color, alpha))
    ax.add_collection(PolyCollection(polygons, facecolors=colors, linewidths=0, zorder=1),
                      autolim=False)
