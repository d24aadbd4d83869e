"""Sweep summaries: each metric's final value (and, for the metrics whose
minimum over time is meaningful, that minimum) against a swept key, one
panel per metric, with fitted power laws where they mean something.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

import mfsim.plotting.lines as L
import mfsim.plotting.meta as meta

from .._solve.statuses import COMPLETED
from .._store.analysis import final_value, point_value, power_law_interval, sweep_dims, time_dim
from .series import loss_variables
from .style import (
    REFERENCE_COLOR,
    REFERENCE_DASHES,
    SYSTEM_DASHES,
    figure_legend,
    fmt,
    grid,
    paper,
    set_labels,
)

MAX_PANELS = 6  # two rows of three: what a paper's figure holds; by rank, metrics first
MAX_PHASE_PANELS = 3  # heatmaps, one row: the metrics (diagnostics are in the vs_ summaries)
MIN_R2 = 0.95  # a power law is drawn only where it explains the points
FLAT_SPAN = 2.0  # or the points lie within this factor and the slope's interval holds 0
MAX_VALUE_TICKS = 10


def power_law(x, y) -> tuple[float, float, float] | None:
    """(slope, half-width of its 95% interval, R^2) of a least-squares fit of
    log y on log x over the finite positive pairs; None with fewer than 4
    pairs (no interval), or when the fit explains less than MIN_R2 of the
    variance, unless the series is flat: its interval holds 0 and its values
    lie within FLAT_SPAN of each other (reported as such: a coordinate check
    under muP)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if keep.sum() < 4 or np.ptp(x[keep]) == 0:
        return None
    slope, half, r2, _ = power_law_interval(x[keep], y[keep])
    flat = abs(slope) <= half and y[keep].max() <= FLAT_SPAN * y[keep].min()
    if r2 < MIN_R2 and not flat:
        return None
    return float(slope), half, float(r2)


def numeric_sweep_axes(ds) -> list[str]:
    """Non-seed sweep axes with numeric values and at least 3 points."""
    return [d for d in sweep_dims(ds) if d != "seed" and ds.sizes[d] >= 3
            and meta.is_ordered(ds, d)]


def _reduce(ds, name: str, how: str):
    return point_value(ds, name, how)


FIT_LOOK = {"linestyle": "-", "linewidth": 3.0, "alpha": 0.35, "solid_capstyle": "butt"}


def _same(a, b) -> bool:
    """Whether two panels of ``a`` and ``b`` would look the same: every point
    within 3% of the axes' height (a log axis spans a decade at least; a
    linear one the values' span), so the minimum over time of a loss that is
    still falling at the end gets no panel of its own."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if not np.array_equal(np.isfinite(a), np.isfinite(b)):
        return False
    both = np.isfinite(a) & np.isfinite(b)
    a, b = a[both], b[both]
    if not a.size:
        return True
    if np.all(a > 0) and np.all(b > 0):
        la, lb = np.log10(a), np.log10(b)
        height = max(float(np.ptp(np.concatenate([la, lb]))), 1.0)
        return bool(np.max(np.abs(la - lb)) <= 0.03 * height)
    height = float(np.ptp(np.concatenate([a, b])))
    return bool(np.max(np.abs(a - b)) <= 0.03 * height) if height > 0 else True


def _seed_mean(values):
    """The values as a panel draws them: the mean over seeds."""
    if "seed" not in values.dims:
        return values
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return values.mean("seed")


def _constant(values) -> bool:
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    return bool(v.size) and np.allclose(v, v[0], rtol=1e-9, atol=1e-300)


def phase_metrics(ds) -> list[tuple[str, str]]:
    """The panels of a phase diagram: the sweep's metrics (losses, accuracy,
    risk: what a point is judged by), at most MAX_PHASE_PANELS; where none
    varies, the first diagnostics by rank. The diagnostics' values against
    each numeric axis are the vs_ summaries'."""
    found = sweep_metrics(ds)
    judged = [m for m in found if meta.variable(ds, m[0]).role == "metric"]
    return (judged or found)[:MAX_PHASE_PANELS]


def sweep_metrics(ds) -> list[tuple[str, str]]:
    """(variable, reduction) pairs summarized per sweep point, in the order of
    their metadata's rank (metrics first): the minimum over time of the
    metrics whose minimum is meaningful (early stopping), unless it equals
    the final value everywhere (a monotone curve: one panel, not two), then
    final values. A twin's values and references are drawn on their network
    counterpart's panel; a variable with one value over the whole sweep is
    left out (:func:`constant_metrics` names it)."""
    names = loss_variables(ds) + meta.scalar_variables(ds)
    names = sorted(dict.fromkeys(names), key=lambda n: meta.variable(ds, n).rank)
    out = []
    for n in names:
        final = final_value(ds, n)
        if _constant(final):
            continue
        if meta.variable(ds, n).oracle and not _same(_seed_mean(_reduce(ds, n, "min")),
                                                     _seed_mean(final)):
            out.append((n, "min"))
        out.append((n, "final"))
    return _stop_metrics(ds) + out


def _stop_metrics(ds) -> list[tuple[str, str]]:
    """The time to a stopping rule, where some point met it and it varies."""
    if "t_stop" not in ds.data_vars or time_dim(ds) in ds["t_stop"].dims:
        return []
    values = np.asarray(ds["t_stop"].values, float)
    return [] if _constant(values) else [("t_stop", "point")]


def constant_metrics(ds) -> dict[str, float]:
    """The metrics whose final value is the same at every sweep point."""
    names = loss_variables(ds) + meta.scalar_variables(ds)
    out = {}
    for n in names:
        final = np.asarray(final_value(ds, n), float)
        if _constant(final):
            out[n] = float(final[np.isfinite(final)][0])
    return out


def _over_seeds(m, x_dim: str, sel: dict, size: int):
    """(mean, min, max, values) over seeds of ``m`` at ``sel``, along ``x_dim``."""
    vals = m.isel({d: i for d, i in sel.items() if d in m.dims}).transpose(x_dim, ...)
    arr = np.asarray(vals, float).reshape(size, -1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(arr, 1), np.nanmin(arr, 1), np.nanmax(arr, 1), arr


def value_ticks(ax, x) -> None:
    """On a log x axis, ticks at the swept values themselves, labelled as
    written (0.5, 2, 8 rather than powers of ten); every k-th labelled where
    they would not fit (after layout, :func:`~.style.declutter_ticks` thins
    them further if they still touch)."""
    from matplotlib.ticker import NullFormatter, NullLocator

    x = np.unique(np.asarray(x, float)[np.isfinite(x)])
    if ax.get_xscale() != "log" or not 2 <= x.size <= MAX_VALUE_TICKS:
        return
    labels = [fmt(v) for v in x]
    fig = ax.get_figure()
    inches = 0.8 * ax.get_position().width * fig.get_figwidth()
    gap = np.diff(np.log(x)) / np.log(x[-1] / x[0]) * inches * 72  # points between ticks
    size = 7.0
    need = [0.3 * size * (len(a) + len(b)) + 0.5 * size for a, b in zip(labels, labels[1:])]
    step = 1
    while step < x.size and any(sum(gap[i:i + step]) < max(need[i:i + step])
                                for i in range(0, x.size - step, step)):
        step += 1
    ax.set_xticks(x, [lab if i % step == 0 else "" for i, lab in enumerate(labels)])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())


def _spreads(ax, bars, *, log: bool) -> None:
    """The seeds' range (min to max) at each swept value, (x, mean, lo, hi,
    colour) per line: vertical bars with caps, one collection each for all
    lines of the panel, in its data limits. On a log axis a bar reaching 0
    starts at the mean."""
    from matplotlib.collections import LineCollection

    segments, colours, caps, cap_colours = [], [], [], []
    for x, mean, lo, hi, color in bars:
        for xi, m, a, b in zip(x, mean, lo, hi):
            if not (np.isfinite(a) and np.isfinite(b)) or b <= a:
                continue
            if log and a <= 0:
                a = m
            if log and not (a > 0 and b > a):
                continue
            segments.append([(xi, a), (xi, b)])
            colours.append(color)
            caps += [(xi, a), (xi, b)]
            cap_colours += [color, color]
    if not segments:
        return
    ax.add_collection(LineCollection(segments, colors=colours, linewidths=0.8, zorder=2),
                      autolim=True)
    caps = np.asarray(caps)
    ax.scatter(caps[:, 0], caps[:, 1], marker="_", s=12, c=cap_colours, linewidths=0.8,
               zorder=2)


def _mark_twins_off(ax, points) -> bool:
    """A twin's value beyond the axes (a diverged linearized twin; the range
    is the network's): a triangle on that edge at its swept value. Returns
    whether any was marked."""
    from matplotlib.transforms import blended_transform_factory

    lo, hi = sorted(ax.get_ylim())
    edge = blended_transform_factory(ax.transData, ax.transAxes)
    marked = False
    for x, y, color in points:
        with np.errstate(invalid="ignore"):
            above, below = y > hi, y < lo
        for where, side, marker in ((above, 1.0, "^"), (below, 0.0, "v")):
            if where.any():
                ax.plot(x[where], np.full(where.sum(), side), transform=edge, clip_on=False,
                        marker=marker, color=color, linestyle="none", markersize=4, zorder=6)
                marked = True
    return marked


def _mark_failed(ax, points) -> None:
    """Crosses at the points whose solves failed: at their value inside the
    axes, on the top (bottom) edge where they diverged beyond it (a failed
    point never sets the range)."""
    from matplotlib.transforms import blended_transform_factory

    lo, hi = sorted(ax.get_ylim())
    edge = blended_transform_factory(ax.transData, ax.transAxes)
    for x, y, color in points:
        inside = (y >= lo) & (y <= hi)
        style = dict(marker="X", markersize=7, color=color, markeredgecolor="black",
                     linestyle="none", zorder=6)
        if inside.any():
            ax.plot(x[inside], y[inside], **style)
        for where, side in ((y > hi, 1.0), (y < lo, 0.0)):
            if where.any():
                ax.plot(x[where], np.full(where.sum(), side), transform=edge, clip_on=False,
                        **style)


def _failed_points(ds):
    status = ds.get("status")
    if status is None or not status.dims:
        return None
    return ~status.isin(list(COMPLETED))


@paper
def sweep_summary_figure(ds, x_dim: str, *, metrics: list[tuple[str, str]] | None = None,
                         title_text: str | None = None):
    """Each metric against the sweep axis ``x_dim``: one line per value of
    the other non-seed axes, the mean over seeds with their range (min to
    max); the twins' values on the same panel (a dash each), references
    dashed. Log x when x is positive and spans 4x; log y where the metric
    is read on a log scale (or spans 100x) and is positive; there a power law
    is fitted over the points whose solves succeeded (slope and 95% interval
    in the legend below the panel), never for a bounded quantity. Failed
    points are crossed."""
    metrics = (metrics or sweep_metrics(ds))[:MAX_PANELS]
    if not metrics:
        raise ValueError("no metric varies over this sweep")
    x = np.asarray(ds[x_dim].values, dtype=float)
    others = [d for d in sweep_dims(ds) if d not in (x_dim, "seed")]
    dashed = any(meta.twins(ds, n) or meta.references(ds, n) for n, _ in metrics)
    groups, _ = L.sweep_lines(ds, others, twins=dashed)
    sweep = _Sweep(ds, x_dim, x, groups, _failed_points(ds),
                   bool(np.all(x > 0)) and x.max() >= 4 * x.min())
    fig, axes = grid(len(metrics), height=2.3, extra_height=0.35)
    shared: dict = {}
    twins_off = False
    for ax, (name, how) in zip(axes, metrics):
        twins_off |= _summary_panel(ax, sweep, name, how, shared)
    figure_legend(fig, _summary_handles(sweep, shared, twins_off))
    return fig


@dataclass(frozen=True)
class _Sweep:
    """What every panel of a sweep summary shares: the results, the x axis
    (its name and values), the lines (one per value of the other axes),
    where the network failed, and whether x is drawn on a log scale."""

    ds: object
    x_dim: str
    x: np.ndarray
    groups: list
    failed: object
    logx: bool


@dataclass
class _Panel:
    """What one panel gathers while its lines are drawn: the values that set
    its y range, the fitted slopes' legend entries (and the flat ones'
    slopes), the references and twins drawn (to mark those beyond the
    axes), the failed points and the seeds' ranges."""

    means: list = field(default_factory=list)
    fits: list = field(default_factory=list)
    flat: list = field(default_factory=list)
    refs: list = field(default_factory=list)
    beyond: list = field(default_factory=list)
    twin_means: list = field(default_factory=list)
    twin_points: list = field(default_factory=list)
    bars: list = field(default_factory=list)


def _summary_panel(ax, sweep: _Sweep, name: str, how: str, shared: dict) -> bool:
    """Metric ``name`` (reduced by ``how``) against the sweep axis on
    ``ax``; its twins' and references' legend entries go into ``shared``.
    Returns whether a twin's value lies beyond the axes."""
    from matplotlib.lines import Line2D

    ds = sweep.ds
    var = meta.variable(ds, name)
    m = _reduce(ds, name, how)
    twins = [(v, label, SYSTEM_DASHES[1 + k % 4])
             for k, (v, label) in enumerate(meta.twins(ds, name))]
    refs = meta.references(ds, name)
    panel = _Panel()
    per_group = [_group_values(sweep, m, group) for group in sweep.groups]
    for mean, lo, hi, _, bad in per_group:  # the y range: the points whose solves succeeded
        good = slice(None) if bad is None else ~bad
        panel.means += [mean[good], lo[good], hi[good]]
    scale = L.y_scale(ds, name, panel.means)
    for group, values in zip(sweep.groups, per_group):
        _draw_group(ax, sweep, group, values, panel, loglog=sweep.logx and scale == "log",
                    bounded=var.bounds is not None, twins=twins, refs=refs, how=how)
    _spreads(ax, panel.bars, log=scale == "log")
    _panel_scales(ax, sweep, scale, panel, var, bool(twins or refs or panel.beyond))
    outside = bool(L.mark_off_the_axes(ax, panel.refs))
    twins_off = _mark_twins_off(ax, panel.twin_points)
    _mark_failed(ax, panel.beyond)
    what = meta.reduced(ds, how)
    set_labels(ax, meta.label(ds, sweep.x_dim), f"{var.long_name} {var.symbol}".strip() + what)
    ax.grid(True, which="major", alpha=0.3)
    fits = panel.fits
    if len(panel.flat) == len(fits) > 1:  # every line flat: one entry, not one per line
        fits = [Line2D([], [], color="0.4", marker="o", markersize=3, linestyle="none",
                       label=f"all flat ({min(panel.flat):.2f} to {max(panel.flat):.2f})")]
    if fits:
        ax.legend(handles=fits, loc="lower center", bbox_to_anchor=(0.5, 1.0),
                  fontsize=6, frameon=False, borderaxespad=0.6, title="log-log slope",
                  title_fontsize=6, handletextpad=0.3)
    for _, label, dash in twins:
        shared.setdefault(label, Line2D([], [], color="0.3", linestyle=dash, label=label))
    for k, (_, label) in enumerate(refs):
        shared.setdefault(label, Line2D([], [], color="0.3", linewidth=0.9,
                                        linestyle=REFERENCE_DASHES[k % 5], label=label))
    if outside:
        shared.setdefault("outside", Line2D([], [], color="0.3", marker="v", linestyle="none",
                                            markersize=4,
                                            label="reference below (above) the axes"))
    return twins_off


def _group_values(sweep: _Sweep, m, group):
    """One line's mean over seeds, its range, the values, and where the
    network failed (``None``: nowhere recorded)."""
    x_dim, n = sweep.x_dim, sweep.x.size
    mean, lo, hi, arr = _over_seeds(m, x_dim, group.sel, n)
    bad = None
    if sweep.failed is not None:
        here = sweep.failed.isel({d: i for d, i in group.sel.items()
                                  if d in sweep.failed.dims})
        bad = np.asarray(here.transpose(x_dim, ...), bool).reshape(n, -1).any(1)
    return mean, lo, hi, arr, bad


def _draw_group(ax, sweep: _Sweep, group, values, panel: _Panel, *, loglog: bool,
                bounded: bool, twins, refs, how: str) -> None:
    """One line of a panel: the mean over seeds (the seeds' range drawn
    later, with the others), its failed points, its power-law fit, its
    twins' and its references' lines."""
    from matplotlib.lines import Line2D

    ds, x, x_dim = sweep.ds, sweep.x, sweep.x_dim
    mean, lo, hi, arr, bad = values
    finite = np.isfinite(mean)
    spread = (np.clip(np.vstack([mean - lo, hi - mean]), 0, None)
              if arr.shape[1] > 1 else None)
    fit = None
    ok = finite if bad is None else finite & ~bad
    if loglog and not bounded:
        fit = power_law(x[ok], mean[ok])
    trend = fit is not None and fit[2] >= MIN_R2  # else flat: no line drawn
    ax.plot(x, mean, marker=group.marker or "o", markersize=3, color=group.color,
            linestyle="none" if trend else group.linestyle, linewidth=0.8)
    if spread is not None:
        panel.bars.append((x, mean, mean - spread[0], mean + spread[1], group.color))
    if bad is not None and (bad & finite).any():
        panel.beyond.append((x[bad & finite], mean[bad & finite], group.color))
    if fit is not None:
        slope, half, _ = fit
        who = f"{group.short}: " if group.short else ""
        text = f"{who}{slope:.2f} ± {half:.2f}"
        if trend:
            c = np.mean(np.log(mean[ok]) - slope * np.log(x[ok]))
            xx = np.geomspace(x[ok].min(), x[ok].max(), 50)
            # a broad pale band: not a dash a reference or a twin is drawn with
            ax.plot(xx, np.exp(c) * xx**slope, color=group.color, **FIT_LOOK)
            panel.fits.append(Line2D([], [], color=group.color, label=text, **FIT_LOOK))
        else:  # its interval holds 0: no line drawn
            panel.fits.append(Line2D([], [], color=group.color, marker="o", markersize=3,
                                     linestyle="none", label=text + " (flat)"))
            panel.flat.append(slope)
    for v, _, dash in twins:
        tm, *_ = _over_seeds(_reduce(ds, v, how), x_dim, group.sel, x.size)
        ax.plot(x, tm, linestyle=dash, marker=".", color=group.color, linewidth=1)
        panel.twin_means.append(tm)
        panel.twin_points.append((x, tm, group.color))
    for k, (v, _) in enumerate(refs):
        om, *_ = _over_seeds(final_value(ds, v), x_dim, group.sel, x.size)
        color = REFERENCE_COLOR if len(sweep.groups) == 1 else group.color
        ax.plot(x, om, linestyle=REFERENCE_DASHES[k % 5], color=color, linewidth=0.9)
        panel.refs.append((k, x, om, color))


def _panel_scales(ax, sweep: _Sweep, scale: str, panel: _Panel, var, others: bool) -> None:
    """A panel's axes: log x where the sweep's is, the y scale and range
    (at least a decade on a log scale; clipped to the network's values where
    twins, references or failed points could stretch it)."""
    if sweep.logx:
        ax.set_xscale("log")
        value_ticks(ax, sweep.x)
    ax.set_yscale(scale if (scale != "log" or L.positive(panel.means)) else "linear")
    limits = L.clip_range(panel.means, ax.get_yscale(), panel.twin_means)
    if limits is not None and ax.get_yscale() == "log" and limits[1] < 10 * limits[0]:
        # at least a decade: a few percent of change is not drawn as the whole axis
        mid = np.sqrt(limits[0] * limits[1])
        limits = (mid / np.sqrt(10), mid * np.sqrt(10))
        ax.set_ylim(*limits)
    elif limits is not None and others:
        ax.set_ylim(*limits)
    if var.bounds is not None:
        L.bounded_limits(ax, var, panel.means)


def _summary_handles(sweep: _Sweep, shared: dict, twins_off: bool) -> list:
    """The figure's legend: the lines, the network beside its twins and
    references, and the markers of values beyond the axes and failed points."""
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=g.color, linestyle=g.linestyle, marker=g.marker or "o",
                      markersize=3, label=g.label) for g in sweep.groups if g.label]
    if shared:
        handles = handles + [Line2D([], [], color="0.3", label="network")] + list(shared.values())
    if twins_off:
        handles.append(Line2D([], [], marker="^", color="0.4", linestyle="none", markersize=4,
                              label="twin beyond the axes (diverged)"))
    if sweep.failed is not None and bool(np.asarray(sweep.failed).any()):
        handles.append(Line2D([], [], marker="X", color="0.5", markeredgecolor="black",
                              linestyle="none", label="network's solve failed"))
    return handles
