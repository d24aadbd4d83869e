"""Spectral bias: which frequencies, degrees or modes are learned when.

Times are drawn in the run's time unit (steps for gradient descent), the
same as its time series."""

from __future__ import annotations

import numpy as np

import mfsim.plotting.meta as meta

from .._store.analysis import learning_times as energy_learning_times
from .._store.analysis import time_dim
from .particles import first_point
from .style import (
    PANEL,
    REFERENCE_COLOR,
    SYSTEM_DASHES,
    categorical,
    figure,
    fmt,
    legend_outside,
    paper,
    title,
)

# modes starting with less than this share of the largest mode's energy are not
# drawn: their learning times measure noise
FIGURE_FLOOR = 1e-3


def _unit(ds) -> tuple[float, str]:
    """(factor from t to the run's unit, axis word)."""
    per = meta.steps_per_time(ds)
    return (per, "step $k$") if per else (1.0, "time $t$")


def fourier_learning_times(ds, name: str = "fourier_progress", level: float = 0.9):
    """Per frequency, the first save time at which ``ds[name]`` (a fraction of
    the target learned) reaches ``level`` (``inf`` if never): ``(frequencies,
    times)`` for a single run."""
    var = ds[name]
    dim = meta.series_index(ds, name) or var.dims[-1]
    t = np.asarray(ds[time_dim(ds)].values, dtype=float)
    values = np.asarray(var.transpose(time_dim(ds), dim).values, dtype=float)
    reached = values >= level
    times = np.where(reached.any(0), t[np.argmax(reached, axis=0)], np.inf)
    return np.asarray(ds[dim].values, dtype=float), times


def _systems(ds, name: str) -> list[tuple[str, str]]:
    return [(name, "network")] + meta.twins(ds, name)


@paper
def spectral_bias_figure(ds, *, name: str = "fourier_progress", level: float = 0.9,
                         title_text: str | None = None):
    """Frequency-by-time heatmaps of the fraction of each Fourier component
    learned, one panel per system (network, twins), with the time each
    frequency reaches ``level`` marked; a sweep shows its first point."""
    from matplotlib.colors import Normalize
    from matplotlib.lines import Line2D

    ds, note = first_point(ds)
    systems = _systems(ds, name)
    factor, word = _unit(ds)
    fig = figure(min(PANEL[0] * len(systems) + 1.0, 7.2), PANEL[1] + 0.6)
    axes = fig.subplots(1, len(systems), squeeze=False, sharey=True)[0]
    tdim = time_dim(ds)
    t = np.asarray(ds[tdim].values, dtype=float) * factor
    keep = t > 0
    mesh = None
    dim = meta.series_index(ds, name)
    for k, (ax, (var, label)) in enumerate(zip(axes, systems)):
        freqs, times = fourier_learning_times(ds, var, level)
        z = np.asarray(ds[var].transpose(dim, tdim).values, dtype=float)[:, keep]
        rows = np.arange(len(freqs))
        mesh = ax.pcolormesh(t[keep], rows, z, shading="nearest", cmap="viridis",
                             norm=Normalize(0.0, 1.0), rasterized=True)
        ax.plot(times * factor, rows, "w^", markersize=5, markeredgecolor="black",
                markeredgewidth=0.5)
        ax.set_xscale("log")
        ax.set_yticks(rows, [fmt(f) for f in freqs])
        ax.set_xlabel(word)
        if k == 0:
            ax.set_ylabel("frequency $k$")
        title(ax, label + (f" ({note})" if note and k == 0 else ""))
    bar = fig.colorbar(mesh, ax=list(axes), pad=0.02)
    bar.set_label("fraction learned " + meta.variable(ds, name).symbol, fontsize=7)
    legend_outside(axes[-1], [Line2D([], [], marker="^", color="white", markeredgecolor="black",
                                     linestyle="none", label=f"{level:.0%} learned")],
                   where="below")
    return fig


def theory_learning_times(ds, name: str | None = None, floor: float = 1e-10) -> np.ndarray:
    r"""Per mode, $1/\mu$ read off the kernel-flow prediction
    $E(0)e^{-2\mu t}$ (its decay between the first and the last save where
    it has not underflowed), so a mode learned after the run ends still gets
    its predicted time. ``name``: the prediction's variable (default: the
    reference drawn over the run's first per-mode residual energy, e.g.
    ``theory_harmonic_residual``)."""
    if name is None:
        found = [v for n in learning_time_variables(ds) for v, _ in meta.references(ds, n)]
        if not found:
            raise ValueError("no kernel-flow prediction in these results (a monitor's "
                             "theory reference over a per-mode residual energy)")
        name = found[0]
    tdim = time_dim(ds)
    t = np.asarray(ds["t"].values if "t" in ds.coords else ds[tdim].values, dtype=float)
    dim = next(d for d in ds[name].dims if d != tdim)
    e = np.asarray(ds[name].transpose(tdim, dim).values, dtype=float)
    out = np.full(e.shape[1], np.nan)
    for k in range(e.shape[1]):
        ok = np.nonzero((e[1:, k] > 1e-250 * e[0, k]) & (e[1:, k] < e[0, k]))[0]
        if e[0, k] > floor * e[0].max() and ok.size:
            j = ok[-1] + 1
            out[k] = 2.0 * (t[j] - t[0]) / np.log(e[0, k] / e[j, k])
    return out


def learning_time_variables(ds) -> list[str]:
    return [n for n in ds.data_vars if meta.variable(ds, n).figure == "learning_times"
            and not meta.is_twin(ds, n)]


@paper
def degree_learning_times_figure(ds, *, name: str = "harmonic_residual",
                                 title_text: str | None = None):
    """Per degree or mode of ``name`` (a residual energy per index), the time
    at which the residual's energy has fallen to e^-2 of its start
    (:func:`mfsim.learning_times`), for the network and each twin that
    records it, beside the kernel flow's prediction (the reference drawn
    over ``name``, where recorded); log time axis in the run's unit, the
    run's end marked. Modes that start with less than FIGURE_FLOOR of the
    largest one's energy are left out; a sweep shows its first point."""
    from matplotlib.lines import Line2D

    ds, note = first_point(ds)
    factor, word = _unit(ds)
    fig = figure()
    ax = fig.add_subplot()
    tdim = time_dim(ds)
    dim = meta.series_index(ds, name)
    t_end = float(np.max(ds["t"].values if "t" in ds.coords else ds[tdim].values)) * factor
    modes = np.asarray(ds[dim].values, dtype=float)
    handles = []
    never_any = False
    for i, (var, label) in enumerate(_systems(ds, name)):
        times = np.asarray(energy_learning_times(ds, var, floor=FIGURE_FLOOR).values,
                           dtype=float) * factor
        look = categorical(i)
        style = SYSTEM_DASHES[i % len(SYSTEM_DASHES)]
        ax.plot(modes, times, marker="o", color=look["color"], linestyle=style, markersize=4)
        handles.append(Line2D([], [], color=look["color"], linestyle=style, marker="o",
                              markersize=4, label=label))
        start = np.asarray(ds[var].isel({tdim: 0}).values, dtype=float)
        never = np.isnan(times) & (start > FIGURE_FLOOR * start.max())
        if never.any():  # energy to learn, not learned by the end: a triangle at the end line
            ax.plot(modes[never], np.full(never.sum(), t_end), marker="^", color=look["color"],
                    linestyle="none", markersize=5)
            never_any = True
    for var, label in meta.references(ds, name):
        predicted = theory_learning_times(ds, var, floor=FIGURE_FLOOR) * factor
        ax.plot(modes, predicted, color=REFERENCE_COLOR, linestyle="--", marker="x",
                markersize=5)
        handles.append(Line2D([], [], color=REFERENCE_COLOR, linestyle="--", marker="x",
                              label=f"{label.split(' $')[0]}: predicted"))
    ax.axhline(t_end, color="0.5", linewidth=0.8, linestyle=":")
    handles.append(Line2D([], [], color="0.5", linewidth=0.8, linestyle=":",
                          label="end of the run"))
    if never_any:
        handles.append(Line2D([], [], marker="^", color="0.4", linestyle="none",
                              label="not learned by the end"))
    ax.set_yscale("log")
    ax.set_xticks(modes, [fmt(d) for d in modes])
    ax.set_xlabel(dim.replace("_", " ") + " " + ("$\\ell$" if dim == "degree" else "$i$"))
    ax.set_ylabel(f"learning time ({word.split(' ')[0]}s to $e^{{-2}}$ energy)")
    ax.grid(True, which="major", alpha=0.3)
    legend_outside(ax, handles)
    if note:
        title(ax, note)
    return fig
