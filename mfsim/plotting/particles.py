"""The particle measure: neurons at each snapshot time, and the distance of
the measure to its stationary law."""

from __future__ import annotations

import numpy as np

import mfsim.plotting.lines as L
import mfsim.plotting.meta as meta

from .._analysis import sweep_dims
from .style import SINGLE, figure, fmt, legend_outside, ordered_colors, paper, title


def first_point(ds):
    """A sweep's first point (the figure says which), or the run itself."""
    dims = sweep_dims(ds)
    if not dims:
        return ds, ""
    sel = {d: 0 for d in dims}
    return ds.isel(sel), meta.point_label(ds, sel)


def particle_variables(ds) -> list[str]:
    return [n for n in ds.data_vars if meta.variable(ds, n).figure == "particle_measure"]


@paper
def particles_figure(ds, *, name: str = "particles", title_text: str | None = None):
    """The particles (neurons) at each snapshot time: output weight ``v_j``
    against the input-weight norm ``||w_j||`` (bias included, if any),
    coloured by the snapshot's time along a sequential colormap, with a
    colourbar of the times (so the first and last measures cannot be
    confused); a sweep shows its first point."""
    from matplotlib.colors import BoundaryNorm, ListedColormap

    ds, note = first_point(ds)
    var = ds[name]
    tdim = var.dims[0]
    times = np.asarray(ds[tdim].values, dtype=float)
    colors = ordered_colors(times.size)
    fig = figure(SINGLE[0], SINGLE[1])
    ax = fig.add_subplot()
    for i in range(times.size):
        p = np.asarray(var.isel({tdim: i}).values, dtype=float)
        ax.scatter(np.linalg.norm(p[:, 1:], axis=1), p[:, 0], s=4, alpha=0.5,
                   color=colors[i], linewidths=0, rasterized=True)
    cmap = ListedColormap(colors)
    norm = BoundaryNorm(np.arange(times.size + 1) - 0.5, times.size)
    from matplotlib.cm import ScalarMappable

    bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, pad=0.02)
    step = max(1, int(np.ceil(times.size / 10)))
    per = meta.steps_per_time(ds)  # the run's unit: steps for gradient descent
    shown = [fmt(float(np.rint(t * per))) if per else fmt(t) for t in times[::step]]
    bar.set_ticks(np.arange(0, times.size, step), labels=shown)
    bar.set_label("snapshot step $k$" if per else "snapshot time $t$")
    bar.ax.tick_params(labelsize=6.5)
    ax.set_xlabel("input-weight norm $\\|w_j\\|$")
    ax.set_ylabel("output weight $v_j$")
    ax.grid(True, alpha=0.3)
    if note:
        title(ax, note)
    return fig


@paper
def w2_stationary_figure(ds, *, title_text: str | None = None):
    """The exact W2 of the particle measure to an independent sample of its
    stationary law (:func:`mfsim.w2_to_stationary`) against the snapshot
    time: mean over seeds (band: min to max), one line per point of the
    other sweep axes (e.g. each temperature); the last value is the floor of
    two independent stationary samples."""
    from matplotlib.lines import Line2D

    from .._analysis import w2_to_stationary

    w2 = w2_to_stationary(ds)
    tdim = next(d for d in w2.dims if d != "seed" and d not in sweep_dims(ds))
    t = np.asarray(ds[tdim].values, float)
    lines, note = L.sweep_lines(ds)
    fig = figure(*SINGLE)
    ax = fig.add_subplot()
    handles = []
    for line in lines:
        one = w2.isel({d: i for d, i in line.sel.items() if d in w2.dims})
        one = np.asarray(one.transpose("seed", tdim).values, float)
        ax.plot(t, one.mean(0), color=line.color, linestyle=line.linestyle, marker="o",
                markersize=3)
        ax.fill_between(t, one.min(0), one.max(0), color=line.color, alpha=0.2, linewidth=0)
        handles.append(Line2D([], [], color=line.color, linestyle=line.linestyle, marker="o",
                              markersize=3, label=line.label or "$W_2$"))
    ax.set_xlabel("snapshot time $t$")
    ax.set_ylabel("$W_2$ to a stationary sample (exact OT)")
    ax.grid(True, alpha=0.3)
    if len(handles) > 1:
        legend_outside(ax, handles)
    if note:
        title(ax, note)
    return fig
