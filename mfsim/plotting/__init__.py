"""Figures from results (matplotlib, imported lazily; never by the core).

One module per figure kind: time series and the loss figure
(:mod:`.series`), sweep summaries against a swept key (:mod:`.summary`),
phase diagrams (:mod:`.phase`), the particle measure (:mod:`.particles`),
spectral bias and learning times (:mod:`.spectra`), gradient descent's
stability (:mod:`.stability`); the look in :mod:`.style`; what the results say
about each variable in :mod:`.meta`; which figures a run gets, and why, in
:mod:`.planner`; the figure lint in :mod:`.lint`. Figures are chosen and
labelled from each variable's metadata (:class:`mfsim.Variable`), never from
its name.
"""

from __future__ import annotations

from pathlib import Path

import mfsim.plotting.meta as meta

from .._store.analysis import scalar_series, sweep_dims
from .lint import lint
from .particles import particles_figure, w2_stationary_figure
from .phase import phase_axes, phase_diagram_figure, phase_grid
from .planner import Planned, left_out, plan
from .series import loss_figure, series_figure
from .spectra import (
    degree_learning_times_figure,
    fourier_learning_times,
    spectral_bias_figure,
    theory_learning_times,
)
from .stability import learning_rates, stability_figure
from .style import DPI, MAX_WIDTH, PALETTE, PAPER_RC, save_figure
from .summary import numeric_sweep_axes, power_law, sweep_metrics, sweep_summary_figure

SCALES = ("auto", "linear", "log")
FORMATS = ("png", "pdf", "svg")


def draw_figures(ds, paths, *, title: str | None = None, names: list[str] | None = None):
    """Draw the run's planned figures (or those whose stem is in ``names``),
    each saved to every path ``paths(stem)`` returns; returns the paths."""
    written = []
    for planned in plan(ds):
        if names is not None and planned.stem not in names:
            continue
        fig = planned.draw()
        for path in paths(planned.stem):
            written.append(save_figure(fig, path, title=title))
    return tuple(written)


def _set_scale(fig, xscale: str, yscale: str) -> None:
    from .style import tidy_log_ticks

    for ax in fig.axes:
        if not ax.get_visible() or ax.get_label() == "<colorbar>" or ax.get_images():
            continue
        if xscale != "auto":
            ax.set_xscale(xscale)
        if yscale != "auto":
            ax.set_yscale(yscale)
        tidy_log_ticks(ax)


def chosen_figures(ds, names: list[str], *, x: str | None = None, y: str | None = None,
                   xscale: str = "auto", yscale: str = "auto",
                   title: str | None = None) -> list[tuple[str, object]]:
    """The figures ``mfsim plot --var ...`` asks for, as ``(file stem,
    figure)``: without ``x``, each variable against time (``loss``: the loss
    figure); with a sweep axis ``x``, one summary of the variables' final
    values against it; with ``x`` and ``y``, their phase diagram.
    ``xscale``/``yscale`` (:data:`SCALES`) override the automatic choice. A
    ValueError names what is not in ``ds``."""
    import difflib

    import matplotlib

    for scale in (xscale, yscale):
        if scale not in SCALES:
            raise ValueError(f"scale {scale!r}: allowed {', '.join(SCALES)}")
    drawable = sorted(set(["loss"] + scalar_series(ds)
                          + [n for n in ds.data_vars if meta.series_index(ds, n) is not None]))
    for name in names:
        if name not in drawable:
            close = difflib.get_close_matches(name, drawable, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ValueError(f"no time series {name!r} in the results{hint}; there are: "
                             + ", ".join(drawable))
    axes = [d for d in sweep_dims(ds) if d != "seed"]
    for dim in (x, y):
        if dim is not None and dim not in axes:
            raise ValueError(f"{dim!r} is not a sweep axis of these results; "
                             + (f"there are: {', '.join(axes)}" if axes else "this is a single run"))
    if y is not None and x is None:
        raise ValueError("--y needs --x (the phase diagram's two axes)")
    if x is not None and "loss" in names:
        raise ValueError("'loss' is drawn against time; name train_loss or test_loss with --x")
    if x is None:
        figures = {"loss": loss_figure}
        out = [(n, figures[n](ds) if n in figures else series_figure(ds, n)) for n in names]
    elif y is None:
        metrics = [(name, "final") for name in names]
        out = [(f"vs_{x}", sweep_summary_figure(ds, x, metrics=metrics))]
    else:
        metrics = [(name, "final") for name in names]
        out = [(f"phase_{x}_{y}", phase_diagram_figure(ds, x, y, metrics=metrics))]
    with matplotlib.rc_context(PAPER_RC):
        for _, fig in out:
            _set_scale(fig, xscale, yscale)
    return out


def plot_losses(ds, path: str | Path, *, title: str | None = None) -> Path:
    """Save :func:`loss_figure` to ``path`` (format from the suffix)."""
    return save_figure(loss_figure(ds), path, title=title)


__all__ = [
    "DPI", "FORMATS", "MAX_WIDTH", "PALETTE", "PAPER_RC", "SCALES", "Planned",
    "chosen_figures", "degree_learning_times_figure", "draw_figures", "fourier_learning_times",
    "learning_rates", "left_out", "lint", "loss_figure", "numeric_sweep_axes",
    "particles_figure", "phase_axes", "phase_diagram_figure", "phase_grid", "plan",
    "plot_losses", "power_law", "save_figure", "series_figure", "spectral_bias_figure",
    "stability_figure", "sweep_metrics", "sweep_summary_figure", "theory_learning_times",
    "w2_stationary_figure",
]
