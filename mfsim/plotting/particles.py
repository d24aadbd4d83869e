"""The particle measure: neurons at each snapshot time, and the distance of
the measure to its stationary law."""

from __future__ import annotations

import numpy as np

import mfsim.plotting.lines as L
import mfsim.plotting.meta as meta

from .._store.analysis import sweep_dims
from .style import SINGLE, figure, fmt, grid, legend_outside, ordered_colors, paper, title


def first_point(ds):
    """A sweep's first point (the figure says which), or the run itself."""
    dims = sweep_dims(ds)
    if not dims:
        return ds, ""
    sel = {d: 0 for d in dims}
    return ds.isel(sel), meta.point_label(ds, sel)


def particle_variables(ds) -> list[str]:
    return [n for n in ds.data_vars if meta.variable(ds, n).figure == "particle_measure"]


MAX_PARTICLE_PANELS = 3


def particle_points(ds) -> tuple[list[dict], str]:
    """The sweep points whose particles are drawn: one panel per value of the
    non-seed sweep axes (at most MAX_PARTICLE_PANELS, evenly chosen, the note
    says so), each at the first seed; a single run: the run."""
    dims = [d for d in sweep_dims(ds) if d != "seed"]
    groups, _ = L.sweep_lines(ds, dims)
    sels = [dict(g.sel) for g in groups]
    note = ""
    if len(sels) > MAX_PARTICLE_PANELS:
        pick = np.unique(np.linspace(0, len(sels) - 1, MAX_PARTICLE_PANELS).round().astype(int))
        note = f"{pick.size} of {len(sels)} points"
        sels = [sels[i] for i in pick]
    if "seed" in sweep_dims(ds):
        sels = [{**sel, "seed": 0} for sel in sels]
        note = ", ".join(filter(None, [note, f"seed {fmt(ds['seed'].values[0])}"]))
    return sels, note


@paper
def particles_figure(ds, *, name: str = "particles", title_text: str | None = None):
    """The particles (neurons) at each snapshot time: output weight ``v_j``
    against the input-weight norm ``||w_j||`` (bias included, if any),
    coloured by the snapshot's time along a sequential colormap, with a
    colourbar of the times (so the first and last measures cannot be
    confused). A sweep gets a panel per point of its non-seed axes (each
    temperature: the stationary law's width side by side), at its first
    seed, on shared axes."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import BoundaryNorm, ListedColormap

    sels, note = particle_points(ds)
    tdim = ds[name].dims[len(sweep_dims(ds))]
    times = np.asarray(ds[tdim].values, dtype=float)
    colors = ordered_colors(times.size)
    if len(sels) == 1:
        fig = figure(SINGLE[0], SINGLE[1])
        axes = [fig.add_subplot()]
    else:
        fig, axes = grid(len(sels), height=2.3)
    for ax, sel in zip(axes, sels):
        var = ds[name].isel(sel)
        for i in range(times.size):
            p = np.asarray(var.isel({tdim: i}).values, dtype=float)
            ax.scatter(np.linalg.norm(p[:, 1:], axis=1), p[:, 0], s=4, alpha=0.5,
                       color=colors[i], linewidths=0, rasterized=True)
        ax.set_xlabel("input-weight norm $\\|w_j\\|$")
        ax.set_ylabel("output weight $v_j$")
        ax.grid(True, alpha=0.3)
        label = meta.point_label(ds, {d: i for d, i in sel.items() if d != "seed"})
        if len(sels) > 1:
            title(ax, ", ".join(filter(None, [label, note])))
    if len(axes) > 1:  # one scale: the measures' widths compared panel to panel
        xs = [ax.get_xlim() for ax in axes]
        ys = [ax.get_ylim() for ax in axes]
        for ax in axes:
            ax.set_xlim(min(x[0] for x in xs), max(x[1] for x in xs))
            ax.set_ylim(min(y[0] for y in ys), max(y[1] for y in ys))
        for ax in axes[1:]:
            ax.set_ylabel("")
    cmap = ListedColormap(colors)
    norm = BoundaryNorm(np.arange(times.size + 1) - 0.5, times.size)
    bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=axes, pad=0.02,
                       fraction=0.05 if len(axes) > 1 else 0.15)
    step = max(1, int(np.ceil(times.size / 10)))
    per = meta.steps_per_time(ds)  # the run's unit: steps for gradient descent
    shown = [fmt(float(np.rint(t * per))) if per else fmt(t) for t in times[::step]]
    bar.set_ticks(np.arange(0, times.size, step), labels=shown)
    bar.set_label("snapshot step $k$" if per else "snapshot time $t$")
    bar.ax.tick_params(labelsize=6.5)
    if len(sels) == 1 and (note or meta.point_label(ds, {d: i for d, i in sels[0].items()
                                                          if d != "seed"})):
        title(axes[0], ", ".join(filter(None, [meta.point_label(
            ds, {d: i for d, i in sels[0].items() if d != "seed"}), note])))
    return fig


@paper
def w2_stationary_figure(ds, *, title_text: str | None = None):
    """The exact W2 of the particle measure to an independent sample of its
    stationary law (:func:`mfsim.w2_to_stationary`) against the snapshot
    time: mean over seeds (band: min to max), one line per point of the
    other sweep axes (e.g. each temperature); the last value is the floor of
    two independent stationary samples."""
    from matplotlib.lines import Line2D

    from .._store.analysis import w2_to_stationary

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
