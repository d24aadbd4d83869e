"""The crossover figure: a variable against one swept key, a line per value
of another, the level it crosses; and the crossing points against the
other key with their power-law fit, its 95% interval and the slope theory
predicts (:mod:`mfsim._store.crossover`)."""

from __future__ import annotations

import numpy as np

import mfsim.plotting.meta as meta

from .._store.analysis import point_value
from .._store.crossover import CROSSOVER_FIGURE, crossover_spec
from .style import PANEL, figure, figure_legend, fmt, ordered_colors, paper, title


def crossover_variables(ds) -> list[str]:
    return [n for n in ds.data_vars if meta.variable(ds, n).figure == CROSSOVER_FIGURE]


def _seed_mean(values, dims):
    """Mean over seeds in log (the values span decades), where there are seeds."""
    return np.exp(np.log(values).mean("seed")) if "seed" in dims else values


@paper
def crossover_figure(ds, name: str):
    """Left: ``variable`` (final, or at the stop) against ``along``, a line
    per ``across`` value (the geometric mean over seeds; each seed a dot),
    the level dashed and each line's crossing marked. Right: the crossing
    points against ``across`` (each seed a dot, their geometric mean a
    marker), the least-squares power law with the half-width of its 95%
    interval, and the predicted slope through the points' centre."""
    spec = crossover_spec(ds, name)
    fig = figure(2 * PANEL[0] + 0.6, PANEL[1] + 0.9)
    left, right = fig.subplots(1, 2)
    handles = _values_panel(left, ds, name, spec)
    handles += _scaling_panel(right, ds, name, spec)
    figure_legend(fig, handles, ncol=3)
    return fig


def _values_panel(ax, ds, name: str, spec) -> list:
    from matplotlib.lines import Line2D

    values = point_value(ds, spec.variable, spec.how)
    star = ds[name]
    across = np.asarray(ds[spec.across].values, float)
    x = np.asarray(ds[spec.along].values, float)
    colors = ordered_colors(len(across))
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = _seed_mean(values.where(values > 0), values.dims)
        star_mean = _seed_mean(star, star.dims)
    for j, color in enumerate(colors):
        line = mean.isel({spec.across: j}).transpose(spec.along)
        ax.plot(x, np.asarray(line.values, float), color=color, marker="o", markersize=2.5)
        if "seed" in values.dims:
            for s in range(values.sizes["seed"]):
                each = values.isel({spec.across: j, "seed": s}).transpose(spec.along)
                ax.plot(x, np.asarray(each.values, float), color=color, linestyle="none",
                        marker=".", markersize=2, alpha=0.5)
        xs = float(star_mean.isel({spec.across: j}))
        if np.isfinite(xs):
            ax.plot([xs], [spec.level], marker="X", color=color, markersize=6,
                    markeredgecolor="black", markeredgewidth=0.5, linestyle="none")
    ax.axhline(spec.level, color="black", linestyle="--", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(meta.label(ds, spec.along))
    ax.set_ylabel(meta.label(ds, spec.variable))
    long_name = meta.variable(ds, spec.variable).long_name
    title(ax, long_name + meta.reduced(ds, spec.how), long_name)
    handles = [Line2D([], [], color=c, marker="o", markersize=2.5,
                      label=f"{meta.short(ds, spec.across)} = {fmt(a)}")
               for a, c in zip(across, colors)]
    handles.append(Line2D([], [], color="black", linestyle="--", linewidth=0.8,
                          label=f"level {fmt(spec.level)}"))
    handles.append(Line2D([], [], color="grey", marker="X", markeredgecolor="black",
                          markeredgewidth=0.5, linestyle="none",
                          label=f"crossing {meta.variable(ds, name).symbol or name}"))
    return handles


def _scaling_panel(ax, ds, name: str, spec) -> list:
    from matplotlib.lines import Line2D

    star = ds[name]
    attrs = star.attrs
    across = np.asarray(ds[spec.across].values, float)
    colors = ordered_colors(len(across))
    mean = _seed_mean(star, star.dims)
    for j, color in enumerate(colors):
        if "seed" in star.dims:
            each = np.asarray(star.isel({spec.across: j}).values, float)
            ax.plot(np.full(each.shape, across[j]), each, linestyle="none", marker=".",
                    markersize=3, color=color, alpha=0.6)
        ax.plot([across[j]], [float(mean.isel({spec.across: j}))], linestyle="none",
                marker="X", markersize=6, color=color, markeredgecolor="black",
                markeredgewidth=0.5)
    handles = []
    slope, half = float(attrs["crossover_slope"]), float(attrs["crossover_slope_half"])
    grid = np.geomspace(across.min(), across.max(), 50)
    if np.isfinite(slope):
        ax.plot(grid, float(attrs["crossover_prefactor"]) * grid**slope, color="black",
                linewidth=1.0)
        interval = f" ± {half:.2f} (95%)" if np.isfinite(half) else ""
        handles.append(Line2D([], [], color="black", linewidth=1.0,
                              label=f"fit: slope {slope:.2f}{interval}"))
    predicted = spec.predicted_slope
    found = np.isfinite(np.asarray(mean.values, float))
    if predicted is not None and found.any():
        centre_x = np.exp(np.log(across[found]).mean())
        centre_y = np.exp(np.log(np.asarray(mean.values, float)[found]).mean())
        ax.plot(grid, centre_y * (grid / centre_x) ** predicted, color="tab:red",
                linestyle=":", linewidth=1.2)
        handles.append(Line2D([], [], color="tab:red", linestyle=":", linewidth=1.2,
                              label=f"prediction: slope {fmt(predicted)}"))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(meta.label(ds, spec.across))
    ax.set_ylabel(meta.label(ds, name))
    title(ax, f"where the {meta.variable(ds, spec.variable).long_name} is "
              f"{fmt(spec.level)}", "crossing point")
    return handles
