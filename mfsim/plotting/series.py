"""Time series: a variable against the run's time unit, with its twins (a
dash each, on the same axes) and the closed forms and references drawn over
it; the loss figure (training and test loss, a panel each).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

import mfsim.plotting.lines as L
import mfsim.plotting.meta as meta

from .._store.analysis import sweep_dims
from .style import (
    REFERENCE_COLOR,
    REFERENCE_DASHES,
    SINGLE,
    SYSTEM_DASHES,
    darker,
    figure,
    figure_legend,
    grid,
    legend_outside,
    paper,
    set_labels,
    title,
)

MAX_PANELS_SERIES = 6


def _systems(ds, name: str) -> list[tuple[str, str, object]]:
    """(variable, legend label, dash) of the network's ``name`` and each twin's."""
    found = [(name, "network")] + meta.twins(ds, name)
    return [(var, label, SYSTEM_DASHES[k % len(SYSTEM_DASHES)])
            for k, (var, label) in enumerate(found)]


def draw_series(ax, ds, name: str, lines: list[L.Line], *, log_x: bool | None = None):
    """Draw ``name`` at each of ``lines`` for the network and each twin (a
    dash each), the seeds' range shaded, its references dashed over it (in
    the line's colour, black for a single line); a cross where the
    network's solve failed. The y range is the network's: a twin that
    leaves it (diverges) is clipped and marked with a triangle at the exit.
    Returns the legend handles of systems, references and marks."""
    systems = _systems(ds, name)
    refs = meta.references(ds, name)
    x0 = L.series(ds, name, lines[0].sel)[0]
    if log_x is None:
        curves = [L.series(ds, name, line.sel)[1] for line in lines]
        log_x = L.log_time(x0) or L.early_action(x0, curves)
    if log_x:
        ax.set_xscale("log")
    drawn = _Drawn()
    for line in lines:
        _draw_line(ax, ds, name, line, systems, refs, drawn, log_x=log_x,
                   single=len(lines) == 1)
    limits = _series_range(ax, ds, name, drawn)
    diverged = {}
    if limits is not None:
        ax.set_ylim(*limits)
        if meta.variable(ds, name).bounds is not None:
            L.bounded_limits(ax, meta.variable(ds, name), drawn.basis)
            limits = ax.get_ylim()
        for var, x, y, color in drawn.twins:
            exit_ = L.first_exit(x, y, *limits)
            if exit_ is not None:
                ax.plot([exit_[0]], [limits[1]], marker="^", color=color, markersize=6,
                        linestyle="none", clip_on=False, zorder=6)
                diverged.setdefault(var, exit_[0])
    return _series_handles(ax, ds, systems, refs, drawn, diverged, several=len(lines) > 1)


@dataclass
class _Drawn:
    """What the lines of a series panel drew: the network's curves (those
    whose solve failed apart), the twins' and references' curves, the
    failures' statuses and ends, and the seeds' ranges; ``basis``: the
    curves that set the y range."""

    network: list = field(default_factory=list)
    network_failed: list = field(default_factory=list)
    twins: list = field(default_factory=list)
    failed: set = field(default_factory=set)
    refs: list = field(default_factory=list)
    stops: list = field(default_factory=list)
    bands: list = field(default_factory=list)
    basis: list = field(default_factory=list)


def _draw_line(ax, ds, name: str, line: L.Line, systems, refs, drawn: _Drawn, *,
               log_x: bool, single: bool) -> None:
    """One line's network and twin curves (its seeds' range kept for one
    shading of all lines) and its references."""
    for var, _, dash in systems:
        x, y, lo, hi = L.series(ds, var, line.sel)
        keep = np.isfinite(x) & np.isfinite(y) & ((x > 0) if log_x else True)
        if not keep.any():
            continue
        style = line.linestyle if var == name else dash
        few = keep.sum() <= 3  # a few saves: points marked (a line of one point is not drawn)
        ax.plot(x[keep], y[keep], color=line.color, linestyle=style,
                marker=line.marker or ("o" if few else None), markersize=3,
                markevery=max(1, keep.sum() // 8))
        if np.any(hi[keep] > lo[keep]):
            drawn.bands.append((x[keep], lo[keep], hi[keep], line.color))
        if var == name:
            point = {d: i for d, i in line.sel.items() if d in sweep_dims(ds)}
            status = L.failure(ds, point)
            (drawn.network_failed if status else drawn.network).append(y[keep])
            if status:
                drawn.failed.add(status)
                drawn.stops.append((x[keep], y[keep], line.color))
        else:
            drawn.twins.append((var, x[keep], y[keep], line.color))
    for k, (var, _) in enumerate(refs):
        x, y, _, _ = L.series(ds, var, line.sel)
        keep = np.isfinite(x) & np.isfinite(y) & ((x > 0) if log_x else True)
        # one line: black; several: the line's colour, darker (visible on top of
        # a line it agrees with, still naming its index)
        color = REFERENCE_COLOR if single else darker(line.color)
        ax.plot(x[keep], y[keep], color=color, linestyle=REFERENCE_DASHES[k % 5],
                linewidth=0.9, zorder=4)
        drawn.refs.append((k, x[keep], y[keep], color))


def _series_range(ax, ds, name: str, drawn: _Drawn):
    """The y scale and range (the network's curves; zeros left off a log
    scale), the seeds' ranges shaded, and a cross where each failed solve
    ends or leaves the axes; returns the range (``None``: nothing finite)."""
    basis = drawn.network or drawn.network_failed
    scale = L.y_scale(ds, name, basis + [c for _, _, c, _ in drawn.twins])
    if scale == "log" and not L.positive([b[b != 0] for b in basis]):
        scale = "linear"
    if scale == "log":
        ax.set_yscale("log", nonpositive="mask")  # zeros (at init) are left off
        basis = [b[b > 0] for b in basis]
    else:
        ax.set_yscale(scale)
    drawn.basis = basis
    limits = L.clip_range(basis, scale, [c for _, _, c, _ in drawn.twins],
                          [y for _, _, y, _ in drawn.refs])
    L.shade_bands(ax, drawn.bands, floor=limits[0] if limits is not None else None)
    for x, y, color in drawn.stops:  # where a failed solve ends, or leaves the axes
        exit_ = L.first_exit(x, y, *limits) if limits is not None else None
        at = (x[-1], y[-1]) if exit_ is None else (exit_[0], limits[1])
        ax.plot([at[0]], [at[1]], marker="X", markersize=7, color=color,
                markeredgecolor="black", markeredgewidth=0.6, linestyle="none", zorder=6,
                clip_on=False)
    return limits


def _series_handles(ax, ds, systems, refs, drawn: _Drawn, diverged: dict, *,
                    several: bool) -> list:
    """The legend entries: each system (with where a twin left the axes),
    each reference (and whether it lies off the axes), each failure."""
    from matplotlib.lines import Line2D

    handles = []
    if len(systems) > 1:
        unit = meta.time_axis(ds)[0]
        for var, label, dash in systems:
            twin_vars = [v for v in diverged if ds[v].attrs.get("system") == label]
            text = label
            if twin_vars:
                at = min(diverged[v] for v in twin_vars)
                text += f" (leaves the axes at {'step' if unit == 'step' else 't ='} {meta.fmt(at)})"
            handles.append(Line2D([], [], color="0.3", linestyle=dash, label=text))
    off = L.mark_off_the_axes(ax, drawn.refs, most=3, once=True)
    handles += [Line2D([], [], color="0.3" if several else REFERENCE_COLOR,
                       linestyle=REFERENCE_DASHES[k % 5], linewidth=0.9,
                       label=label + (f" ({off[k]} the axes)" if k in off else ""))
                for k, (_, label) in enumerate(refs)]
    handles += [Line2D([], [], marker="X", color="0.5", markeredgecolor="black",
                       linestyle="none", label=f"solve stopped: {status.split(' (')[0]}")
                for status in sorted(drawn.failed)]
    if diverged and len(systems) == 1:
        handles.append(Line2D([], [], marker="^", color="0.4", linestyle="none",
                              label="left the axes (diverged)"))
    return handles


def line_handles(lines: list[L.Line]) -> list:
    """The legend entries of ``lines``: one per line, or, for a sweep drawn
    colour x style (:attr:`Line.key`), one per colour and one per style
    (9 entries for 5 x 4 points, not 20)."""
    from matplotlib.lines import Line2D

    if lines and all(line.key for line in lines):
        colours, styles = {}, {}
        for line in lines:
            colours.setdefault(line.key[0][0], line.key[0][1])
            styles.setdefault(line.key[1][0], line.key[1][1:])
        return ([Line2D([], [], color=c, label=label) for label, c in colours.items()]
                + [Line2D([], [], color="0.45", linestyle=dash, marker=marker, markersize=3,
                          label=label) for label, (dash, marker) in styles.items()])
    return [Line2D([], [], color=line.color, linestyle=line.linestyle, marker=line.marker,
                   markersize=3, label=line.label) for line in lines if line.label]


def _finish(ax, ds, name: str) -> None:
    set_labels(ax, meta.time_axis(ds)[1], meta.label(ds, name))
    ax.grid(True, which="major", alpha=0.3)


@paper
def series_figure(ds, name: str, *, title_text: str | None = None):
    """``ds[name]`` against the run's time unit, with its twins' and its
    references. A single run (or a sweep's seeds at one point) draws one
    line per index of an indexed series; a sweep draws one line per point
    or, for an indexed series, a panel per point (up to
    MAX_PANELS_SERIES, evenly chosen)."""
    index_dim = meta.series_index(ds, name)
    dashed = bool(meta.twins(ds, name) or meta.references(ds, name))
    groups, note = L.sweep_lines(ds, twins=dashed)
    if index_dim is not None and len(groups) > 1:
        return _series_panels(ds, name, index_dim, groups)
    fig = figure(*SINGLE)
    ax = fig.add_subplot()
    lines = groups if index_dim is None else L.index_lines(ds, name, index_dim, groups[0].sel)
    extra = draw_series(ax, ds, name, lines)
    _finish(ax, ds, name)
    bounds = meta.variable(ds, name).bounds
    if index_dim is None and bounds is not None and min(ax.get_ylim()) <= bounds[0] \
            and max(ax.get_ylim()) >= bounds[1]:  # drawn on its whole range
        lines = _with_final_values(ds, name, lines)
    legend_outside(ax, line_handles(lines) + extra)
    if note:
        title(ax, note)
    return fig


def _with_final_values(ds, name: str, lines: list[L.Line]) -> list[L.Line]:
    """A bounded quantity (an accuracy) is drawn on its whole range, where one
    test image of 77 is a sliver: each line's legend entry says its final
    value (mean over seeds) and its twins'."""
    out = []
    for line in lines:
        values = []
        twins = meta.twins(ds, name)
        if len(twins) == 1:
            twins = [(twins[0][0], "twin")]
        for var, label in [(name, "")] + twins:
            _, y, _, _ = L.series(ds, var, line.sel)
            y = y[np.isfinite(y)]
            if y.size:
                values.append(f"{label} {meta.fmt(y[-1])}".strip())
        if not values:
            out.append(line)
            continue
        text = values[0] + (f" ({', '.join(values[1:])})" if len(values) > 1 else "")
        out.append(dataclasses.replace(
            line, label=f"{line.label}: final {text}" if line.label else f"final {text}"))
    return out


def _identical(ds, name: str, groups) -> list[list]:
    """The points of ``groups`` gathered where ``name`` (and its twins) is
    the same at each (a fixed kernel does not change with the sample size):
    one panel each, titled with all of them."""
    gathered = []
    variables = [name] + [v for v, _ in meta.twins(ds, name)]
    for group in groups:
        values = [np.asarray(ds[v].isel({d: i for d, i in group.sel.items()
                                          if d in ds[v].dims}), float) for v in variables]
        for same in gathered:
            if all(np.array_equal(a, b, equal_nan=True) for a, b in zip(values, same[0])):
                same[1].append(group)
                break
        else:
            gathered.append((values, [group]))
    return [members for _, members in gathered]


def _gathered_label(ds, members) -> str:
    """The title of a panel standing for several points: the categories
    first (a title too long is cut at its end), then each ordered axis with
    the values it takes among them ("every n" where it takes all)."""
    dims = list(members[0].sel)
    dims = ([d for d in dims if not meta.is_ordered(ds, d)]
            + [d for d in dims if meta.is_ordered(ds, d)])
    parts = []
    for dim in dims:
        index = list(dict.fromkeys(g.sel[dim] for g in members))
        values = [meta.fmt(ds[dim].values[i]) for i in index]
        if not meta.is_ordered(ds, dim):
            parts.append(", ".join(values))
        elif len(index) > 1 and len(index) == ds.sizes[dim]:
            parts.append(f"every {meta.short(ds, dim)}")
        elif len(values) > 3:
            parts.append(f"{meta.short(ds, dim)} = {values[0]} … {values[-1]} "
                         f"({len(values)} values)")
        else:
            parts.append(f"{meta.short(ds, dim)} = {', '.join(values)}")
    every = any(p.startswith("every ") for p in parts)  # "every n": the same at each, said
    return "; ".join(parts) + (" (identical)" if len(members) > 1 and not every else "")


def _spread_over_categories(ds, gathered: list[list], most: int) -> list[list]:
    """At most ``most`` panels, every category of the sweep kept (vanilla,
    diagonal and adaptive each get a panel, then as many more as fit,
    evenly along the ordered axes), in the order of the sweep."""
    if len(gathered) <= most:
        return gathered
    categorical = [d for d in gathered[0][0].sel if not meta.is_ordered(ds, d)]
    buckets: dict[tuple, list[int]] = {}
    for k, members in enumerate(gathered):
        buckets.setdefault(tuple(members[0].sel[d] for d in categorical), []).append(k)
    if len(buckets) > most:  # more categories than panels: evenly over all
        pick = np.linspace(0, len(gathered) - 1, most).astype(int)
        return [gathered[i] for i in pick]
    share = {key: 1 for key in buckets}
    while sum(share.values()) < most:
        grown = False
        for key, members in buckets.items():
            if share[key] < len(members) and sum(share.values()) < most:
                share[key] += 1
                grown = True
        if not grown:
            break
    keep = set()
    for key, members in buckets.items():
        keep |= {members[i] for i in
                 np.unique(np.linspace(0, len(members) - 1, share[key]).round().astype(int))}
    return [gathered[k] for k in sorted(keep)]


def _series_panels(ds, name: str, index_dim: str, groups):
    gathered = _spread_over_categories(ds, _identical(ds, name, groups), MAX_PANELS_SERIES)
    groups = [dataclasses.replace(members[0], label=_gathered_label(ds, members))
              for members in gathered]
    fig, axes = grid(len(groups), extra_height=0.5)
    handles = []
    for ax, group in zip(axes, groups):
        lines = L.index_lines(ds, name, index_dim, group.sel)
        extra = draw_series(ax, ds, name, lines)
        _finish(ax, ds, name)
        title(ax, group.label)
        if not handles:
            handles = line_handles(lines) + extra
    figure_legend(fig, handles, ncol=min(6, len(handles)))
    return fig


def loss_variables(ds) -> list[str]:
    """The network's losses drawn on the loss figure (variables whose
    metadata names the ``loss`` figure), in their order."""
    out = [n for n in ds.data_vars if meta.variable(ds, n).figure == "loss"
           and not meta.is_twin(ds, n)]
    return sorted(out, key=lambda n: -meta.variable(ds, n).rank)


@paper
def loss_figure(ds, *, title_text: str | None = None):
    """The losses against the run's time unit, a panel each (training, then
    test): the network solid, each twin in its own dash on the same panel,
    a colour per sweep point (sequential for an ordered axis), the seeds'
    range shaded, references (kernel regression) dashed; a point whose solve
    failed ends in a cross; a twin that diverges is clipped at the top of
    the network's range and marked."""
    names = loss_variables(ds)
    if not names:
        raise ValueError("no loss in these results (no variable is drawn on the loss figure)")
    return _panels(ds, names, cols=2, width=2.6, height=2.4)


@paper
def family_figure(ds, names: list[str], *, title_text: str | None = None):
    """The variables of one family (each hidden layer's feature movement,
    each parameter array's distance from init) against the run's time unit,
    a panel each, drawn as :func:`loss_figure` draws the losses: one legend
    for all."""
    return _panels(ds, names, cols=3, width=2.35, height=2.3)


def _panels(ds, names: list[str], *, cols: int, width: float, height: float):
    dashed = any(meta.twins(ds, n) or meta.references(ds, n) for n in names)
    lines, note = L.sweep_lines(ds, twins=dashed)
    fig, axes = grid(len(names), cols=cols, width=width, height=height, extra_height=0.4)
    x0 = L.series(ds, names[0], lines[0].sel)[0]
    curves = [L.series(ds, n, line.sel)[1] for n in names for line in lines]
    log_x = L.log_time(x0) or L.early_action(x0, curves)
    by_name = {}  # one entry per system or reference over the panels
    for ax, name in zip(axes, names):
        extra = draw_series(ax, ds, name, lines, log_x=log_x)
        _finish(ax, ds, name)
        for h in extra:
            base = h.get_label().split(" (leaves")[0]
            if base in by_name and by_name[base].get_label() != h.get_label():
                by_name[base].set_label(f"{base} (leaves the axes)")  # in both, at other steps
            by_name.setdefault(base, h)
    handles = list(by_name.values())
    if note:
        title(axes[0], note)
    all_handles = line_handles(lines) + handles
    if len(axes) == 1:
        legend_outside(axes[0], all_handles)
    else:
        figure_legend(fig, all_handles, ncol=min(4, max(1, len(all_handles))))
    return fig


__all__ = ["draw_series", "family_figure", "loss_figure", "series_figure"]
