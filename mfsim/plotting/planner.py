"""Which figures a run gets, and why, chosen from the results' metadata.

Each variable's attributes (:class:`mfsim.Variable`) decide: a variable drawn
on its own gets a time-series figure; the ones naming a figure kind
(``figure = "loss"``, ``"particle_measure"``, ``"spectral_bias"``,
``"learning_times"``, ``"stability"``, ``"crossover"``, ``"learning_curve"``) are
drawn by it; a sweep gets a
summary against each numeric swept key and a phase diagram over its first
two. A monitor registered from outside the package gets its figures by
declaring its variables, with nothing added here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import mfsim.plotting.meta as meta

from .._store.analysis import sweep_dims
from .crossover import crossover_figure, crossover_variables
from .learning_curve import learning_curve_figure, learning_curve_variables
from .particles import particle_variables, particles_figure, w2_stationary_figure
from .phase import phase_axes, phase_diagram_figure
from .series import family_figure, loss_figure, loss_variables, series_figure
from .spectra import degree_learning_times_figure, learning_time_variables, spectral_bias_figure
from .stability import stability_figure, stability_variables
from .summary import (
    MAX_PANELS,
    MAX_PHASE_PANELS,
    constant_metrics,
    numeric_sweep_axes,
    phase_metrics,
    sweep_metrics,
    sweep_summary_figure,
)


@dataclass(frozen=True)
class Planned:
    """A figure a run gets: its file ``stem``, why (``reason``), and how it
    is drawn (``draw()`` returns the matplotlib figure)."""

    stem: str
    reason: str
    draw: Callable


def _spectral_variables(ds) -> list[str]:
    return [n for n in ds.data_vars if meta.variable(ds, n).figure == "spectral_bias"
            and not meta.is_twin(ds, n)]


def plan(ds) -> list[Planned]:
    """The figures of a run, in the order they are drawn."""
    out = []
    losses = loss_variables(ds)
    if losses:
        out.append(Planned("loss", "the losses recorded: " + ", ".join(losses),
                           lambda: loss_figure(ds)))
    scalars = [n for n in meta.scalar_variables(ds) if meta.save_times_drawn(ds, n) >= 2]
    families: dict[str, list[str]] = {}
    for name in scalars:
        families.setdefault(meta.variable(ds, name).family or name, []).append(name)
    for stem, names in families.items():
        if len(names) == 1:
            var = meta.variable(ds, names[0])
            out.append(Planned(names[0], f"{var.long_name}: one value per save",
                               lambda name=names[0]: series_figure(ds, name)))
        else:
            out.append(Planned(stem, f"{', '.join(names)}: a panel each",
                               lambda names=names: family_figure(ds, names)))
    for name in [n for n in meta.series_variables(ds) if meta.save_times_drawn(ds, n) >= 2]:
        var = meta.variable(ds, name)
        dim = meta.series_index(ds, name)
        out.append(Planned(name, f"{var.long_name}: one line per {dim}",
                           lambda name=name: series_figure(ds, name)))
    spectral = _spectral_variables(ds)
    for name in spectral:
        stem = "spectral_bias" if len(spectral) == 1 else f"spectral_bias_{name}"
        out.append(Planned(stem, f"{name} is drawn as a frequency-by-time map",
                           lambda name=name: spectral_bias_figure(ds, name=name)))
    timed = learning_time_variables(ds)
    for name in timed:
        dim = meta.series_index(ds, name)
        stem = "learning_times" if dim == "degree" else f"{dim}_learning_times"
        out.append(Planned(stem, f"{name}: when each {dim} is learned",
                           lambda name=name: degree_learning_times_figure(ds, name=name)))
    for k, name in enumerate(stability_variables(ds)):
        if "train_loss" in ds or meta.time_axis(ds)[0] == "step":
            out.append(Planned(f"stability_{name}" if k else "stability",
                               f"{name} recorded: sharpness against the edge of stability",
                               lambda name=name: stability_figure(ds, name=name)))
    for name in particle_variables(ds):
        seeds = "seed" in sweep_dims(ds) and ds.sizes.get("seed", 0) >= 2
        if seeds:
            out.append(Planned("w2_stationary", "particle snapshots at two seeds or more: "
                               "W2 to an independent sample of the stationary law",
                               lambda: w2_stationary_figure(ds)))
        out.append(Planned(name,
                           f"{name}: the particle measure at each snapshot",
                           lambda name=name: particles_figure(ds, name=name)))
    return out + _sweep_figures(ds)


def _sweep_figures(ds) -> list[Planned]:
    """A sweep's own figures: its crossovers, a summary against each numeric
    swept key, a phase diagram over two."""
    out = []
    for name in crossover_variables(ds):
        var = meta.variable(ds, name)
        out.append(Planned(name.removesuffix("_star") + "_crossover",
                           f"[crossover]: {var.description}",
                           lambda name=name: crossover_figure(ds, name)))
    if learning_curve_variables(ds):
        out.append(Planned("learning_curve", "n_train swept, and a learning-curve theory "
                           "recorded: " + ", ".join(learning_curve_variables(ds)),
                           lambda: learning_curve_figure(ds)))
    if sweep_dims(ds) and sweep_metrics(ds):
        for dim in numeric_sweep_axes(ds):
            out.append(Planned(f"vs_{dim}", f"{meta.label(ds, dim)} is swept over "
                               f"{ds.sizes[dim]} numeric values",
                               lambda dim=dim: sweep_summary_figure(ds, dim)))
        axes = phase_axes(ds)
        if len(axes) == 2 and not _phase_repeats_summary(ds, axes):
            x, y = axes
            out.append(Planned(f"phase_{x}_{y}", f"two keys swept: {x} and {y}",
                               lambda: phase_diagram_figure(ds, x, y)))
    return out


def _phase_repeats_summary(ds, axes) -> bool:
    """An ordered axis against a category (width x parameterization): the
    sweep summary draws a line per category, so a phase diagram would repeat
    it."""
    ordered = [d for d in axes if meta.is_ordered(ds, d)]
    return len(ordered) == 1 and ordered[0] in numeric_sweep_axes(ds)


def left_out(ds) -> list[str]:
    """What is recorded but gets no figure, and why (``mfsim plot --list``)."""
    losses = loss_variables(ds)
    drawn = set(losses + meta.scalar_variables(ds) + meta.series_variables(ds))
    out = []
    for name in ds.data_vars:
        if ds[name].dtype.kind not in "fiu":  # (statuses are text)
            continue
        var = meta.variable(ds, name)
        if name in drawn:
            if name in losses or meta.save_times_drawn(ds, name) >= 2:
                continue
            why = ("a value at one save time only (read against the sweep)"
                   if sweep_dims(ds) else "a value at one save time only")
        elif meta.is_twin(ds, name):
            why = f"drawn with {ds[name].attrs['network_variable']}"
        elif var.role == "reference" and var.over in ds:
            why = f"drawn over {var.over}"
        elif var.figure:
            why = f"drawn by the {var.figure} figure"
        elif var.role == "hidden":
            why = "recorded, not drawn"
        else:
            why = "not a time series"
        out.append(f"{name}: {why}")
    if sweep_dims(ds):
        axes = phase_axes(ds)
        if len(axes) == 2 and _phase_repeats_summary(ds, axes):
            ordered = next(d for d in axes if meta.is_ordered(ds, d))
            other = next(d for d in axes if d != ordered)
            out.append(f"phase diagram over {axes[0]} and {axes[1]}: vs_{ordered} draws a "
                       f"line per {other}")
        if len(axes) == 2 and not _phase_repeats_summary(ds, axes):
            shown = set(phase_metrics(ds))
            rest = [f"{n} ({how})" for n, how in sweep_metrics(ds) if (n, how) not in shown]
            if rest:
                out.append(f"not in the phase diagram (its metrics only, at most "
                           f"{MAX_PHASE_PANELS}): " + ", ".join(rest))
        beyond = sweep_metrics(ds)[MAX_PANELS:]
        if beyond and numeric_sweep_axes(ds):
            out.append(f"not in the vs_ summaries (at most {MAX_PANELS} panels, by rank): "
                       + ", ".join(f"{n} ({how})" for n, how in beyond)
                       + " (mfsim plot DIR --var NAME --x AXIS draws one)")
        for name, value in constant_metrics(ds).items():
            out.append(f"{name}: {meta.fmt(value)} at every point of the sweep (no panel)")
    return out
