"""Figures from results (matplotlib, imported lazily; never by the core).

Figures are drawn on a bare :class:`matplotlib.figure.Figure` with the Agg
canvas, so no display and no pyplot global state are involved.

Every figure is typeset for a paper: sizes in inches that fit a page
(:data:`SINGLE`, panels of :data:`PANEL`), 7-8 pt text, Okabe and Ito's
colour-blind-safe palette (:data:`PALETTE`), fonts embedded as text in
PDF/SVG (vector formats: ``output.figures = ["pdf"]`` or ``mfsim plot
--format pdf``), PNGs at :data:`DPI`. One quantity is one set of axes: the
network solid, each twin in its own dash on the same axes, closed forms and
references (variables matched by :data:`OVERLAYS`) dashed black over them.
"""

from __future__ import annotations

import functools
import re
import warnings
from pathlib import Path

import numpy as np

from ._analysis import learning_times as energy_learning_times
from ._analysis import scalar_series, sweep_dims, time_dim

# Okabe & Ito (2008), colour-blind safe; yellow last (faint on white)
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#56B4E9", "#E69F00", "#000000",
           "#F0E442")
# network, then each twin ("--" is left to fits and overlays)
SYSTEM_DASHES = ("-", ":", "-.", (0, (5, 1, 1, 1)), (0, (3, 1, 1, 1, 1, 1)))
SINGLE = (4.8, 3.2)  # inches: one figure, 1.5 columns of a two-column paper
PANEL = (2.45, 2.2)  # inches: one panel of a grid (three per page width, 7.35 in)
DPI = 200
PAPER_RC = {
    "font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8, "legend.fontsize": 7,
    "xtick.labelsize": 7, "ytick.labelsize": 7, "lines.linewidth": 1.2,
    "legend.framealpha": 0.8, "pdf.fonttype": 42, "ps.fonttype": 42, "svg.fonttype": "none",
}


def _color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _paper(draw):
    """Run a figure function under :data:`PAPER_RC` and tidy its log axes."""
    @functools.wraps(draw)
    def wrapped(*args, **kwargs):
        import matplotlib

        with matplotlib.rc_context(PAPER_RC):
            fig = draw(*args, **kwargs)
            for ax in fig.axes:
                _tidy_log_ticks(ax)
        return fig
    return wrapped


def _tidy_log_ticks(ax) -> None:
    """Labelled ticks on a log axis that never overlap: labels on 1, 2, 5
    (or every integer) times a power of ten only where the axis spans few
    decades, none on minor ticks (matplotlib labels minor ticks of short log
    axes, and on an x axis they ran into each other)."""
    from matplotlib.ticker import (
        FixedLocator,
        LogFormatterSciNotation,
        LogLocator,
        NullFormatter,
    )

    for axis, limits in ((ax.xaxis, ax.get_xlim), (ax.yaxis, ax.get_ylim)):
        if (axis.get_scale() != "log" or not axis.get_visible()
                or isinstance(axis.get_major_locator(), FixedLocator)):  # ticks set by hand
            continue
        lo, hi = sorted(limits())
        if not (lo > 0 and np.isfinite(hi)):
            continue
        decades = np.log10(hi) - np.log10(lo)  # (hi / lo overflows on a 1e-300 floor)
        powers = np.floor(np.log10(hi)) - np.ceil(np.log10(lo)) + 1  # powers of ten shown
        subs = (np.arange(1.0, 10.0) if decades < 0.5 else (1.0, 2.0, 5.0)
                if decades < 1.5 or powers < 2 else (1.0,))
        axis.set_major_locator(LogLocator(10.0, subs=subs, numticks=7))
        axis.set_major_formatter(LogFormatterSciNotation(labelOnlyBase=False))
        axis.set_minor_formatter(NullFormatter())


def _figure(width=SINGLE[0], height=SINGLE[1]):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _title(ax, text: str, *, fontsize: float = 8, **kw) -> None:
    """A title wrapped to the width of its axes (a long one was cut off at the
    figure's right edge)."""
    import textwrap

    fig = ax.get_figure()
    width_pt = ax.get_position().width * fig.get_figwidth() * 72
    chars = max(20, int(width_pt / (0.55 * fontsize)))
    ax.set_title(textwrap.fill(text, chars), fontsize=fontsize, **kw)


def _suptitle(fig, text: str, fontsize: float = 8) -> None:
    import textwrap

    chars = max(30, int(fig.get_figwidth() * 72 / (0.55 * fontsize)))
    fig.suptitle(textwrap.fill(text, chars), fontsize=fontsize)


LOSS_LABELS = {"train_loss": "train", "test_loss": "test"}
def _system_labels() -> dict[str, str]:
    from ._scenario.twins import TWIN_LEGENDS

    return {"": "network", **TWIN_LEGENDS}


# variables drawn over another one's axes instead of on their own figure:
# (pattern, the variable they are drawn over, legend label); the closed
# forms (theory_*), exact OT beside Sinkhorn, the min-norm interpolants
OVERLAYS = (
    (r"theory_(.+)", r"\1", "closed form"),
    (r"w2_exact_(.+)", r"w2_\1", "exact OT"),
    (r"min_l1_(.+)", r"\1", "min-l1 interpolant"),
    (r"min_l2_(.+)", r"\1", "min-l2 interpolant"),
    (r"kr_current_(.+)", r"\1", "kernel regression, NTK now"),
    (r"kr_init_(.+)", r"\1", "kernel regression, NTK at init"),
    (r"kr_analytic_(.+)", r"\1", "kernel regression, infinite width"),
)
OVERLAY_DASHES = ((0, (4, 2)), (0, (1, 1.5)), (0, (5, 1, 1, 1)), (0, (8, 2)),
                  (0, (2, 2, 6, 2)))


def overlay_target(ds, name: str) -> str | None:
    """The variable ``name`` is drawn over (None: drawn on its own)."""
    for pattern, target, _ in OVERLAYS:
        match = re.fullmatch(pattern, name)
        if match and match.expand(target) in ds:
            return match.expand(target)
    return None


def overlays(ds, name: str) -> list[tuple[str, str]]:
    """``(variable, label)`` of the overlays drawn over ``name``."""
    out = []
    for other in ds.data_vars:
        for pattern, target, label in OVERLAYS:
            match = re.fullmatch(pattern, other)
            if match and match.expand(target) == name:
                out.append((other, label))
                break
    return out


def twin_of(ds, name: str) -> str | None:
    """For a twin's variable whose network counterpart exists, that
    counterpart (the twin is drawn on the network's axes)."""
    for prefix in _system_labels():
        if prefix and name.startswith(prefix) and name[len(prefix):] in ds:
            return name[len(prefix):]
    return None


def _systems(ds, name: str) -> list[tuple[str, str, object]]:
    """(variable, label, dash) of the network's ``name`` and each twin's."""
    found = [(p + name, label) for p, label in _system_labels().items() if p + name in ds]
    return [(var, label, SYSTEM_DASHES[k % len(SYSTEM_DASHES)])
            for k, (var, label) in enumerate(found)]


def save_figure(fig, path: str | Path) -> Path:
    """Write ``fig`` atomically; the format is the path's suffix (png, svg,
    pdf; vector formats keep text as text)."""
    import io

    import matplotlib

    from ._io import atomic_write

    path = Path(path)
    buffer = io.BytesIO()
    with matplotlib.rc_context(PAPER_RC):
        fig.savefig(buffer, format=path.suffix.lstrip("."), dpi=DPI)
    atomic_write(path, buffer.getvalue())
    return path


# ------------------------------------------------------------ sweep helpers
MAX_LINES = 12


def _groups(ds, dims=None) -> list[tuple[str, dict]]:
    """(legend label, isel dict) per combination of ``dims`` (default: the
    non-seed sweep axes), at most ``MAX_LINES`` (evenly subsampled)."""
    dims = [d for d in sweep_dims(ds) if d != "seed"] if dims is None else list(dims)
    if not dims:
        return [("", {})]
    import itertools

    combos = list(itertools.product(*(range(ds.sizes[d]) for d in dims)))
    if len(combos) > MAX_LINES:
        combos = [combos[i] for i in np.linspace(0, len(combos) - 1, MAX_LINES).astype(int)]
    out = []
    for combo in combos:
        sel = dict(zip(dims, combo))
        label = ", ".join(f"{d}={_fmt(ds[d].values[i])}" for d, i in sel.items())
        out.append((label, sel))
    return out


def _time_groups(ds) -> tuple[list[tuple[str, dict]], str]:
    """Lines of a time plot: one per point of the non-seed sweep axes,
    categorical (``system.kind``) and numeric alike (a categorical axis used
    to fix the numeric ones at their last value, so width_transition's
    kernel_drift showed one width); past MAX_LINES points, evenly chosen
    ones (said in the returned note)."""
    dims = [d for d in sweep_dims(ds) if d != "seed"]
    total = int(np.prod([ds.sizes[d] for d in dims])) if dims else 1
    note = f"{MAX_LINES} of {total} points" if total > MAX_LINES else ""
    return _groups(ds, dims), note


def _fmt(v) -> str:
    if isinstance(v, float | np.floating):
        return f"{v:.4g}"
    return str(v)


def time_axis(ds) -> tuple[str, str]:
    """The coordinate time series are drawn against, and its label: the
    steps of gradient descent (``step``, fixed-step runs), else time."""
    if "step" in ds.coords:
        return "step", "gradient-descent steps"
    return "t", "time t (gradient flow)"


def _series(ds, name: str, sel: dict):
    """(x, mean over seeds, min over seeds, max over seeds) of a time series,
    x the time or, for gradient descent, the steps (:func:`time_axis`)."""
    var = ds[name].isel(sel)
    x = ds[time_axis(ds)[0]]
    t = x.isel({k: v for k, v in sel.items() if k in x.dims})
    y = np.asarray(var, dtype=float)
    if "seed" in var.dims:
        y = np.moveaxis(y, var.dims.index("seed"), 0)
        if "seed" in t.dims:
            t = t.isel(seed=0)
        with warnings.catch_warnings():  # all-NaN slices (unreached saves) stay NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.asarray(t), np.nanmean(y, 0), np.nanmin(y, 0), np.nanmax(y, 0)
    return np.asarray(t), y, y, y


def _failure(ds, sel: dict) -> str | None:
    """How the network's solve failed at the sweep point ``sel`` (any of its
    seeds; for a single run, the run), or None where it succeeded."""
    status = ds.get("status")
    if status is not None and status.dims:
        here = status.isel({k: v for k, v in sel.items() if k in status.dims})
        bad = [str(v) for v in np.asarray(here.values, dtype=object).ravel()
               if str(v) not in ("success", "", "nan")]
        return bad[0] if bad else None
    value = ds.attrs.get("status", "success")
    return value if isinstance(value, str) and value != "success" else None


def _mark_failure(ax, x, y, color) -> bool:
    """A cross at the last finite value of a curve whose solve failed."""
    finite = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    if not finite.size:
        return False
    i = finite[-1]
    ax.plot([x[i]], [y[i]], marker="X", markersize=8, color=color, markeredgecolor="black",
            markeredgewidth=0.6, linestyle="none", zorder=5)
    return True


def _status_title(ax, ds, title):
    status = ds.attrs.get("status", "success")
    if isinstance(status, str) and status != "success":
        t_final = ds.attrs.get("t_final")
        when = f"stopped at t={t_final:.4g}: " if isinstance(t_final, float) else ""
        _title(ax, f"{title or ''}  [{when}{status}]".strip(), color=PALETTE[1])
    elif title:
        _title(ax, title)


def _log_time(ax, t):
    t = t[np.isfinite(t)]
    if t.size > 2 and t[-1] > 0 and t[t > 0].min() * 100 < t[-1]:
        ax.set_xscale("log")
        return True
    return False


def _spans_decades(values) -> bool:
    """Positive values spanning more than a factor of 100: a linear axis
    would squash the small ones (lazy runs) to zero."""
    v = np.concatenate([np.ravel(a) for a in values]) if values else np.zeros(0)
    v = v[np.isfinite(v)]
    return bool(v.size and np.all(v > 0) and v.max() > 100 * v.min())


def _positive(values) -> bool:
    v = np.concatenate([np.ravel(a) for a in values]) if values else np.zeros(0)
    v = v[np.isfinite(v)]
    return bool(v.size and np.all(v > 0))


def _dim_label(ds, dim: str) -> str:
    """A sweep axis' label: the scenario key it sweeps (``system.width``), or
    its name."""
    key = ds[dim].attrs.get("key") if dim in ds.coords else None
    return key or dim


MAX_VALUE_TICKS = 8


def _value_ticks(ax, x) -> None:
    """On a log x axis, ticks at the swept values themselves (at most
    MAX_VALUE_TICKS), labelled as written: 0.5, 2, 8 rather than powers of ten."""
    from matplotlib.ticker import NullFormatter, NullLocator

    x = np.unique(np.asarray(x, float)[np.isfinite(x)])
    if ax.get_xscale() != "log" or not 2 <= x.size <= MAX_VALUE_TICKS:
        return
    labels = [_fmt(v) for v in x]
    # every k-th value labelled, k the smallest for which the labels fit: the
    # axes' width before layout, less a quarter for the labels constrained
    # layout puts beside it; a label 0.6 em per character plus an em apart
    fig = ax.get_figure()
    inches = 0.75 * ax.get_position().width * fig.get_figwidth()
    size = float(ax.xaxis.get_ticklabels()[0].get_fontsize()) if ax.xaxis.get_ticklabels() \
        else 7.0
    gap = np.diff(np.log(x)) / np.log(x[-1] / x[0]) * inches * 72  # points between ticks
    need = [(0.3 * size * (len(a) + len(b)) + size) for a, b in zip(labels, labels[1:])]
    step = 1
    while step < x.size and any(sum(gap[i:i + step]) < max(need[i:i + step])
                                for i in range(0, x.size - step, step)):
        step += 1
    ax.set_xticks(x, [label if i % step == 0 else "" for i, label in enumerate(labels)])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())


def _legend(ax, colors, dashes, extra=()) -> None:
    """One legend: a colour per labelled line, a dash per system (network,
    twins) when there are several, then overlays and failure marks."""
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=c, label=label) for label, c in colors if label]
    if len(dashes) > 1:
        handles += [Line2D([], [], color="0.3", linestyle=d, label=label)
                    for label, d in dashes]
    handles += list(extra)
    if len(handles) > 6:  # beside the axes (on a wider figure), not over the curves
        fig = ax.get_figure()
        if len(fig.axes) == 1:
            fig.set_figwidth(SINGLE[0] + 1.6)
        ax.legend(handles=handles, fontsize=6.5, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    elif handles:
        ax.legend(handles=handles, fontsize=7)


def _draw_series(ax, ds, name: str, lines: list[tuple[str, dict]]) -> list:
    """Draw ``name`` at each of ``lines`` ((label, isel) pairs; a colour each)
    for the network and each twin (a dash each), its overlays dashed black,
    the seeds' range shaded; a cross where a network solve failed. Returns
    the extra legend handles (overlays, failure)."""
    from matplotlib.lines import Line2D

    systems = _systems(ds, name)
    over = overlays(ds, name)
    log_t = _log_time(ax, _series(ds, name, lines[0][1])[0])
    drawn, failed, extra, references = [], set(), [], []
    for k, (_, sel) in enumerate(lines):
        color = _color(k)
        for var, _, dash in systems:
            t, y, lo, hi = _series(ds, var, sel)
            keep = np.isfinite(t) & np.isfinite(y) & ((t > 0) if log_t else True)
            if not keep.any():
                continue
            ax.plot(t[keep], y[keep], linestyle=dash, color=color)
            drawn.append(y[keep])
            if np.any(hi[keep] > lo[keep]):
                ax.fill_between(t[keep], lo[keep], hi[keep], color=color, alpha=0.15,
                                linewidth=0)
                drawn += [lo[keep], hi[keep]]
            if var == name:
                status = _failure(ds, {d: i for d, i in sel.items() if d in sweep_dims(ds)})
                if status and _mark_failure(ax, t[keep], y[keep], color):
                    failed.add(status)
        for (var, label), dash in zip(over, OVERLAY_DASHES):
            t, y, _, _ = _series(ds, var, sel)
            keep = np.isfinite(t) & np.isfinite(y) & ((t > 0) if log_t else True)
            references.append((t[keep], y[keep], label, dash))
    usually_log = name in SERIES_LOG_Y or name.endswith(("risk", "gap", "distance", "loss"))
    log_y = _spans_decades(drawn) or (usually_log and _positive(drawn))
    extra += _draw_references(ax, references, drawn, log=log_y)
    extra += [Line2D([], [], marker="X", color="0.5", markeredgecolor="black",
                     linestyle="none", label=f"solve stopped: {status}")
              for status in sorted(failed)]
    return drawn, extra


def plot_losses(ds, path: str | Path, *, title: str | None = None) -> Path:
    """Save the loss curves of ``ds`` to ``path`` (format from the suffix)."""
    return save_figure(loss_figure(ds, title=title), path)


@_paper
def loss_figure(ds, *, title: str | None = None):
    """Loss curves against time (log-log; t = 0 is dropped from the log axis).

    A single run draws the network and each twin (a colour each; train
    solid, test dashed); a sweep draws the network at each point (a colour
    each, mean over seeds, the seeds' range shaded) and the twins' test
    losses on the same axes (dotted, dash-dotted). A point whose solve
    failed ends in a cross.
    """
    from matplotlib.lines import Line2D

    fig = _figure()
    ax = fig.add_subplot()
    labels = _system_labels()
    sweep = bool(sweep_dims(ds))
    systems = [p for p in labels if any(f"{p}{n}" in ds for n in LOSS_LABELS)]
    groups, note = _time_groups(ds)
    if sweep:  # (variable, colour index, dash, group sel)
        twin_dashes = dict(zip(systems[1:], SYSTEM_DASHES[1:]))
        curves = [(name, k, dash, sel) for k, (_, sel) in enumerate(groups)
                  for name, dash in (("train_loss", "-"), ("test_loss", "--"))]
        curves += [(p + "test_loss", k, twin_dashes[p], sel) for k, (_, sel) in enumerate(groups)
                   for p in systems[1:] if p + "test_loss" in ds]
        colors = [(glabel, _color(k)) for k, (glabel, _) in enumerate(groups)]
        dashes = [(label, d) for label, d in (("train", "-"), ("test", "--")) if label]
        dashes += [(f"{labels[p]}, test", d) for p, d in twin_dashes.items()
                   if p + "test_loss" in ds]
    else:
        curves = [(p + name, k, dash, {}) for k, p in enumerate(systems)
                  for name, dash in (("train_loss", "-"), ("test_loss", "--"))]
        colors = [(labels[p] if len(systems) > 1 else "", _color(k))
                  for k, p in enumerate(systems)]
        dashes = [("train", "-"), ("test", "--")]
    dashes = [(label, d) for label, d in dashes
              if any(dash == d and name in ds for name, _, dash, _ in curves)]
    failed = set()
    for name, k, dash, sel in curves:
        if name not in ds:
            continue
        t, y, lo, hi = _series(ds, name, sel)
        keep = (t > 0) & np.isfinite(y) & (y > 0)
        if not keep.any():
            continue
        ax.plot(t[keep], y[keep], linestyle=dash, color=_color(k), marker=".", markersize=3)
        if sweep and np.any(hi[keep] > lo[keep]):
            ax.fill_between(t[keep], lo[keep], hi[keep], color=_color(k), alpha=0.15,
                            linewidth=0)
        status = _failure(ds, sel) if name in LOSS_LABELS else None
        if status and _mark_failure(ax, t[keep], y[keep], _color(k)):
            failed.add(status)
    extra = [Line2D([], [], marker="X", color="0.5", markeredgecolor="black",
                    linestyle="none", label=f"solve stopped: {status}")
             for status in sorted(failed)]
    if not sweep:  # references for the test loss (kernel regression), dashed black
        for (name, label), dash in zip(overlays(ds, "test_loss"), OVERLAY_DASHES):
            t, y, _, _ = _series(ds, name, {})
            keep = (t > 0) & np.isfinite(y) & (y > 0)
            ax.plot(t[keep], y[keep], linestyle=dash, color="black", linewidth=0.9)
            extra.append(Line2D([], [], linestyle=dash, color="black", linewidth=0.9,
                                label=label))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(time_axis(ds)[1])
    ax.set_ylabel("loss  (1/2n) Σ (f(x) − y)²")
    ax.grid(True, which="both", alpha=0.3)
    _legend(ax, colors, dashes if len(dashes) > 1 or sweep else [], extra)
    _status_title(ax, ds, f"{title or ''} ({note})" if note else title)
    return fig


# per-time series with one line per index (modes, eigenvalues, frequencies)
SERIES_DIMS = ("mode", "eigen_index", "angle_index", "frequency", "degree")
SERIES_LOG_Y = ("kernel_eigenvalues", "singular_values", "harmonic_residual", "mode_residual")
# recorded but not drawn on their own: constants, solver diagnostics and
# near-duplicates of a drawn figure (the Sinkhorn divergence is w2 squared;
# the Fourier amplitudes are fourier_progress times the target's)
NOT_PLOTTED = ("mode_eigenvalues", "sinkhorn_", "entropic_ot_", "fourier_amplitude")
MAX_PANELS_SERIES = 6


def _plotted(name: str) -> bool:
    base = next((name[len(p):] for p in _system_labels() if p and name.startswith(p)), name)
    return not base.startswith(NOT_PLOTTED)


def _own_figure(ds, name: str) -> bool:
    """Drawn on a figure of its own: not hidden, not a twin's variable (drawn
    with the network's), not an overlay (drawn over its target)."""
    return _plotted(name) and twin_of(ds, name) is None and overlay_target(ds, name) is None


def series_variables(ds) -> list[str]:
    """Variables of shape (sweep..., t, index) drawn by :func:`plot_series`."""
    head = sweep_dims(ds) + (time_dim(ds),)
    return [name for name, var in ds.data_vars.items()
            if var.dims[:-1] == head and var.dims[-1] in SERIES_DIMS and _own_figure(ds, name)]


def scalar_variables(ds) -> list[str]:
    """Variables with one number per save time, other than the losses, each
    drawn on a figure of its own (with its twins' and overlays)."""
    losses = {p + n for p in _system_labels() for n in LOSS_LABELS}
    return [name for name in scalar_series(ds) if name not in losses and _own_figure(ds, name)]


def plot_series(ds, name: str, path: str | Path, *, title: str | None = None) -> Path:
    """Save :func:`series_figure`."""
    return save_figure(series_figure(ds, name, title=title), path)


def _index_dim(ds, name: str) -> str | None:
    dims = ds[name].dims
    return dims[-1] if dims and dims[-1] in SERIES_DIMS else None


def _index_lines(ds, name: str, index_dim: str, base: dict) -> list[tuple[str, dict]]:
    var = ds[name]
    coord = (ds[index_dim].values if index_dim in ds.coords
             else np.arange(1, var.sizes[index_dim] + 1))
    return [(f"{index_dim} {_fmt(coord[i])}", {**base, index_dim: i})
            for i in range(var.sizes[index_dim])]


def _finish_series_axes(ax, ds, name: str, drawn) -> None:
    usually_log = name in SERIES_LOG_Y or name.endswith(("risk", "gap", "distance", "loss"))
    if _spans_decades(drawn) or (usually_log and _positive(drawn)):
        ax.set_yscale("log")
    ax.set_xlabel(time_axis(ds)[1])
    ax.set_ylabel(name.replace("_", " "))
    ax.grid(True, which="both", alpha=0.3)


@_paper
def series_figure(ds, name: str, *, title: str | None = None):
    """``ds[name]`` against time, on one set of axes with its twins' (a dash
    each) and its overlays (dashed black). A single run, or a sweep's seeds
    at one point, draws one line per index (mode, eigenvalue, frequency) of
    an indexed series; a sweep draws one line per point, or, for an indexed
    series, one panel per point (up to MAX_PANELS_SERIES, evenly chosen), each
    with every index. The y axis is logarithmic where positive values span
    more than a factor of 100 (a linear one squashed lazy runs to zero)."""
    index_dim = _index_dim(ds, name)
    groups, note = _time_groups(ds)
    desc = ds[name].attrs.get("description", "")
    if index_dim is not None and len(groups) > 1:
        return _series_panels(ds, name, index_dim, groups, title)
    fig = _figure()
    ax = fig.add_subplot()
    lines = groups if index_dim is None else _index_lines(ds, name, index_dim, groups[0][1])
    drawn, extra = _draw_series(ax, ds, name, lines)
    _finish_series_axes(ax, ds, name, drawn)
    if note:
        desc += f"; {note}"
    _title(ax, f"{title + ': ' if title else ''}{desc}")
    colors = [(label, _color(k)) for k, (label, _) in enumerate(lines)]
    _legend(ax, colors, [(label, d) for _, label, d in _systems(ds, name)], extra)
    return fig


def _series_panels(ds, name: str, index_dim: str, groups, title):
    """An indexed series of a sweep: a panel per point, every index drawn."""
    total = len(groups)
    if total > MAX_PANELS_SERIES:
        groups = [groups[i] for i in np.linspace(0, total - 1, MAX_PANELS_SERIES).astype(int)]
    cols = min(3, len(groups))
    rows = -(-len(groups) // cols)
    fig = _figure(PANEL[0] * cols, PANEL[1] * rows)
    axes = fig.subplots(rows, cols, squeeze=False, sharex=True, sharey=True).ravel()
    for ax in axes[len(groups):]:
        ax.set_visible(False)
    for k, (ax, (glabel, sel)) in enumerate(zip(axes, groups)):
        lines = _index_lines(ds, name, index_dim, sel)
        drawn, extra = _draw_series(ax, ds, name, lines)
        _finish_series_axes(ax, ds, name, drawn)
        _title(ax, glabel)
        if k == 0:
            colors = [(label, _color(i)) for i, (label, _) in enumerate(lines)]
            _legend(ax, colors, [(label, d) for _, label, d in _systems(ds, name)], extra)
    desc = ds[name].attrs.get("description", name)
    shown = f"; {len(groups)} of {total} points" if total > len(groups) else ""
    _suptitle(fig, f"{title + ': ' if title else ''}{desc}{shown}")
    return fig


# --------------------------------------------------------- sweep summaries
ORACLE_METRICS = ("risk", "test_loss")


# the order in which final metrics are summarized (the first MAX_PANELS are drawn)
METRIC_PRIORITY = (r"test_loss|risk|train_loss|test_accuracy", r".*gap", r"ref_distance",
                   r"kernel_drift", r"w2_.*", r"param_distance_rel")
MAX_PANELS = 9


def _priority(name: str) -> int:
    return next((i for i, pattern in enumerate(METRIC_PRIORITY) if re.fullmatch(pattern, name)),
                len(METRIC_PRIORITY))


def sweep_metrics(ds) -> list[tuple[str, str]]:
    """(variable, reduction) pairs summarized per sweep point, most telling
    first: the minimum over time (oracle early stopping) of the network's
    risk and test loss, then final values: losses and accuracy, network-twin
    gaps, kernel drift, W2, relative parameter distance, then every other
    plotted scalar series. The twins' values and overlays are drawn on their
    network counterpart's panel, not on panels of their own."""
    scalars = [n for n in scalar_series(ds) if _own_figure(ds, n)]
    out = [(n, "min") for n in scalars if n in ORACLE_METRICS]
    return out + [(n, "final") for n in sorted(scalars, key=_priority)]


def numeric_sweep_axes(ds) -> list[str]:
    """Non-seed sweep axes with numeric values and at least 3 points."""
    return [d for d in sweep_dims(ds) if d != "seed" and ds.sizes[d] >= 3
            and np.issubdtype(np.asarray(ds[d].values).dtype, np.number)]


# quantities bounded by construction (accuracies, fractions, alignments,
# shares): a power law in them means nothing, so none is fitted
BOUNDED = ("accuracy", "fraction", "alignment", "energy", "share", "progress", "converged",
           "angles")
MIN_R2 = 0.95  # a power law is drawn only where it explains the points
# reference slopes drawn as guides (dotted grey) on log-log panels: the
# 1/sqrt(width) of the kernel regime for the distance a network moves from
# its initialization and from its twins (NTK parameterization)
REFERENCE_SLOPES = ((r".*width.*", r"kernel_drift|param_distance_rel|.*gap", -0.5),)


def power_law(x, y) -> tuple[float, float, float] | None:
    """(slope, half-width of its 95% interval, R^2) of a least-squares fit of
    log y on log x over the finite positive pairs; None with fewer than 4
    pairs (no interval) or when the fit explains less than MIN_R2 of the
    variance (a saturating curve, a divergence)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if keep.sum() < 4 or np.ptp(x[keep]) == 0:
        return None
    lx, ly = np.log(x[keep]), np.log(y[keep])
    (slope, c), cov = np.polyfit(lx, ly, 1, cov=True)
    resid = ly - (slope * lx + c)
    total = np.sum((ly - ly.mean()) ** 2)
    r2 = 1.0 - np.sum(resid**2) / total if total > 0 else 0.0
    if r2 < MIN_R2:
        return None
    from scipy.stats import t as student

    half = float(student.ppf(0.975, keep.sum() - 2) * np.sqrt(cov[0, 0]))
    return float(slope), half, float(r2)


def fits_a_power_law(name: str) -> bool:
    return not any(word in name for word in BOUNDED)


def reference_slope(x_dim: str, name: str) -> float | None:
    return next((slope for dims, names, slope in REFERENCE_SLOPES
                 if re.fullmatch(dims, x_dim) and re.fullmatch(names, name)), None)


def plot_sweep_summary(ds, x_dim: str, path: str | Path, *, title: str | None = None,
                       metrics: list[tuple[str, str]] | None = None) -> Path:
    """Save :func:`sweep_summary_figure`."""
    return save_figure(sweep_summary_figure(ds, x_dim, title=title, metrics=metrics), path)


def _over_seeds(m, x_dim: str, sel: dict, size: int):
    """(mean, min, max, values) over seeds of metric ``m`` at ``sel``, along ``x_dim``."""
    vals = m.isel({d: i for d, i in sel.items() if d in m.dims}).transpose(x_dim, ...)
    arr = np.asarray(vals, float).reshape(size, -1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(arr, 1), np.nanmin(arr, 1), np.nanmax(arr, 1), arr


@_paper
def sweep_summary_figure(ds, x_dim: str, *, title: str | None = None,
                         metrics: list[tuple[str, str]] | None = None):
    """Each metric against the sweep axis ``x_dim``: one line per value of the
    other non-seed axes, the mean over seeds with their range (min to max:
    on log axes a band of +-std would run below zero); the twins' values on
    the same panel (a dash each) and overlays (the min-norm interpolants)
    dashed black. Log-log axes when x and the metric are positive and x
    spans a factor of 4 or more; there a power law is fitted and drawn
    (slope and 95% interval in the legend) only for an unbounded quantity,
    over the points whose solves succeeded, and only where it explains the
    points (R^2 >= 0.95); reference slopes (:data:`REFERENCE_SLOPES`) are
    drawn as dotted guides. Failed points are crossed."""
    from matplotlib.lines import Line2D

    from ._analysis import final_value, oracle_stopping

    def reduce(name, how):
        return oracle_stopping(ds, name)[name] if how == "min" else final_value(ds, name)

    metrics = (metrics or sweep_metrics(ds))[:MAX_PANELS]
    cols = min(3, len(metrics))
    rows = -(-len(metrics) // cols)
    fig = _figure(PANEL[0] * cols, PANEL[1] * rows + 0.3)
    x = np.asarray(ds[x_dim].values, dtype=float)
    others = [d for d in sweep_dims(ds) if d not in (x_dim, "seed")]
    failed = _failed_points(ds)
    for k, (name, how) in enumerate(metrics):
        ax = fig.add_subplot(rows, cols, k + 1)
        m = reduce(name, how)
        twins = [(var, label, dash) for var, label, dash in _systems(ds, name)[1:]]
        over = overlays(ds, name)
        handles, shown, references = [], [], []
        loglog_any = logx_any = False
        for color, (label, sel) in enumerate(_groups(ds, others)):
            mean, lo, hi, arr = _over_seeds(m, x_dim, sel, x.size)
            bad = None
            if failed is not None:
                bad = np.asarray(failed.isel({d: i for d, i in sel.items()
                                              if d in failed.dims}).transpose(x_dim, ...),
                                 bool).reshape(x.size, -1).any(1)
            finite = np.isfinite(mean)
            positive = finite.sum() >= 2 and bool(np.all(mean[finite] > 0))
            # a bounded quantity stays on a linear y axis unless it spans 10x;
            # any quantity that varies by less than 3x too (a log axis of
            # 3.7553e-4 ... 3.7555e-4 shows nothing and fits nothing)
            span = mean[finite].max() / mean[finite].min() if positive else 1.0
            logx = bool(np.all(x > 0)) and x.max() >= 4 * x.min()
            loglog = logx and positive and span >= 3 and (fits_a_power_law(name) or span > 10)
            loglog_any |= loglog
            logx_any |= logx
            text = label
            spread = (np.clip(np.vstack([mean - lo, hi - mean]), 0, None)
                      if arr.shape[1] > 1 else None)
            ax.errorbar(x, mean, yerr=spread, marker="o", markersize=3, capsize=2,
                        color=_color(color), linestyle="none" if loglog else "-")
            if bad is not None and bad.any():
                ax.plot(x[bad & finite], mean[bad & finite], marker="X", markersize=8,
                        color=_color(color), markeredgecolor="black", linestyle="none")
            fit = None
            ok = finite if bad is None else finite & ~bad
            if loglog and fits_a_power_law(name):
                fit = power_law(x[ok], mean[ok])
            if fit is not None:
                slope, half, _ = fit
                c = np.mean(np.log(mean[ok]) - slope * np.log(x[ok]))
                xx = np.geomspace(x[ok].min(), x[ok].max(), 50)
                text = f"{label + ', ' if label else ''}slope {slope:.2f} ± {half:.2f}"
                ax.plot(xx, np.exp(c) * xx**slope, "--", color=_color(color), linewidth=1)
            elif loglog:
                ax.plot(x, mean, "-", color=_color(color), linewidth=1)
            if text:
                handles.append(Line2D([], [], marker="o", markersize=3, color=_color(color),
                                      linestyle="--" if fit is not None else "-", label=text))
            for var, _, dash in twins:
                tm, *_ = _over_seeds(reduce(var, how), x_dim, sel, x.size)
                ax.plot(x, tm, linestyle=dash, marker=".", color=_color(color), linewidth=1)
                shown.append(tm)
            shown += [mean, lo, hi]
            for (var, olabel), dash in zip(over, OVERLAY_DASHES):
                om, *_ = _over_seeds(final_value(ds, var), x_dim, sel, x.size)
                references.append((x, om, olabel, dash))
        handles += [Line2D([], [], color="0.3", linestyle=dash, label=tlabel)
                    for _, tlabel, dash in twins]
        handles += _draw_references(ax, references, shown, log=loglog_any)
        slope = reference_slope(x_dim, name)
        if logx_any:
            ax.set_xscale("log")
            _value_ticks(ax, x)
        if loglog_any:
            ax.set_yscale("log")
            if slope is not None:
                mean0 = _over_seeds(m, x_dim, _groups(ds, others)[0][1], x.size)[0]
                first = np.flatnonzero(np.isfinite(mean0) & (mean0 > 0))
                if first.size:
                    i = first[0]
                    ax.plot(x, mean0[i] * (x / x[i]) ** slope, ":", color="0.5", linewidth=1)
                    handles.append(Line2D([], [], linestyle=":", color="0.5",
                                          label=f"∝ {x_dim}^{slope:g} (reference)"))
        ax.set_xlabel(_dim_label(ds, x_dim))
        ax.set_ylabel(f"{name} ({'min over t' if how == 'min' else 'final'})")
        ax.grid(True, which="both", alpha=0.3)
        if handles:
            ax.legend(handles=handles, fontsize=6.5)
    if title:
        _suptitle(fig, title)
    return fig


def _draw_references(ax, references, shown, *, log: bool) -> list:
    """Reference values (overlays) dashed black over a summary panel, on
    limits set by the drawn data: a reference far off them (the min-l1
    interpolant's test loss of 1e-30 beside losses of 1e-4) is named in the
    legend with its value instead of squashing the data to a line."""
    from matplotlib.lines import Line2D

    data = np.concatenate([np.ravel(a) for a in shown]) if shown else np.zeros(0)
    data = data[np.isfinite(data) & ((data > 0) if log else True)]
    if not references or not data.size:
        return []
    lo, hi = data.min(), data.max()
    if log:
        lo_ok, hi_ok = lo / 100, hi * 100
    else:  # within the data's range or half its magnitude of it
        pad = max(hi - lo, 0.5 * max(abs(hi), abs(lo))) or 1.0
        lo_ok, hi_ok = lo - pad, hi + pad
    handles, limits, off_axis = {}, False, {}
    for x, values, label, dash in references:
        finite = values[np.isfinite(values)]
        if finite.size and (finite.max() < lo_ok or finite.min() > hi_ok):
            limits = True
            off_axis.setdefault(label, []).append(np.mean(finite))
        else:
            ax.plot(x, values, linestyle=dash, color="black", linewidth=0.9, zorder=4)
        handles[label] = dash
    handles = [Line2D([], [], color="black", linestyle=dash, linewidth=0.9,
                      label=f"{label} = {np.mean(off_axis[label]):.1g} (off axis)"
                      if label in off_axis else label)
               for label, dash in handles.items()]
    if limits:
        margin = (hi / lo) ** 0.05 if log and lo > 0 else None
        if margin is not None:
            ax.set_ylim(lo / margin, hi * margin)
        else:
            pad = 0.05 * ((hi - lo) or abs(hi) or 1.0)
            ax.set_ylim(lo - pad, hi + pad)
    return handles


def _failed_points(ds):
    """Over the sweep dimensions: whether the point's network solve failed
    (None when every point succeeded or the status is not recorded)."""
    status = ds.get("status")
    if status is None or not status.dims:
        return None
    return status != "success"


def phase_axes(ds) -> list[str]:
    """The first two non-seed sweep axes with two values or more (the axes of
    the phase diagram), or fewer when the sweep has fewer."""
    return [d for d in sweep_dims(ds) if d != "seed" and ds.sizes[d] >= 2][:2]


def _ink(image, value) -> str:
    """Black on a light cell, white on a dark one (white on viridis' yellow
    could not be read)."""
    if not np.isfinite(value):
        return "black"
    r, g, b, _ = image.cmap(image.norm(value))
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"


def _log_spaced(values: np.ndarray) -> bool:
    return (np.issubdtype(values.dtype, np.number) and bool(np.all(values > 0))
            and values.max() >= 4 * values.min())


def phase_grid(ds, name: str, x_dim: str, y_dim: str, *, how: str = "final") -> np.ndarray:
    """The cells of a phase-diagram panel, rows along ``y_dim``: the final
    value (or, ``how="min"``, the minimum over time) of ``name``, averaged
    over seeds, at the first value of any other sweep axis."""
    from ._analysis import final_value, oracle_stopping

    m = oracle_stopping(ds, name)[name] if how == "min" else final_value(ds, name)
    m = m.isel({d: 0 for d in sweep_dims(ds) if d not in (x_dim, y_dim, "seed")})
    if "seed" in m.dims:
        m = m.mean("seed")
    return np.asarray(m.transpose(y_dim, x_dim).values, dtype=float)


def plot_phase_diagram(ds, x_dim: str, y_dim: str, path: str | Path, *,
                       title: str | None = None,
                       metrics: list[tuple[str, str]] | None = None) -> Path:
    """Save :func:`phase_diagram_figure`."""
    return save_figure(phase_diagram_figure(ds, x_dim, y_dim, title=title, metrics=metrics),
                       path)


@_paper
def phase_diagram_figure(ds, x_dim: str, y_dim: str, *, title: str | None = None,
                         metrics: list[tuple[str, str]] | None = None):
    """Heatmaps of final metrics (and the minimum over time of risk and test
    loss) over two sweep axes, e.g. width x scale: one panel per metric,
    each cell annotated with its value; mean over seeds; the first value of
    any other sweep axis (named in the panel title). Colours are logarithmic
    when a metric is positive and spans more than a factor of 10."""
    from matplotlib.colors import LogNorm

    metrics = (metrics or sweep_metrics(ds))[:MAX_PANELS]
    others = {d: 0 for d in sweep_dims(ds) if d not in (x_dim, y_dim, "seed")}
    fixed = ", ".join(f"{d}={_fmt(ds[d].values[0])}" for d in others)
    cols = min(3, len(metrics))
    rows = -(-len(metrics) // cols)
    fig = _figure((PANEL[0] + 0.1) * cols, (PANEL[1] + 0.3) * rows)
    xs, ys = np.asarray(ds[x_dim].values), np.asarray(ds[y_dim].values)
    for k, (name, how) in enumerate(metrics):
        ax = fig.add_subplot(rows, cols, k + 1)
        grid = phase_grid(ds, name, x_dim, y_dim, how=how)
        finite = grid[np.isfinite(grid)]
        norm = None
        if finite.size and finite.min() > 0 and finite.max() > 10 * finite.min():
            norm = LogNorm(finite.min(), finite.max())
        image = ax.imshow(grid, origin="lower", aspect="auto", norm=norm, cmap="viridis")
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
        for (i, j), value in np.ndenumerate(grid):
            ax.text(j, i, "n/a" if not np.isfinite(value) else f"{value:.2g}",
                    ha="center", va="center", fontsize=7, color=_ink(image, value))
        ax.set_xticks(range(xs.size), [_fmt(v) for v in xs], fontsize=7,
                      rotation=45 if xs.size > 6 else 0)
        ax.set_yticks(range(ys.size), [_fmt(v) for v in ys], fontsize=7)
        scale = " (log-spaced)"
        ax.set_xlabel(_dim_label(ds, x_dim) + (scale if _log_spaced(xs) else ""))
        ax.set_ylabel(_dim_label(ds, y_dim) + (scale if _log_spaced(ys) else ""))
        what = "min over t" if how == "min" else "final"
        _title(ax, f"{name} ({what}{'; ' + fixed if fixed else ''})")
    if title:
        _suptitle(fig, title)
    return fig



# ------------------------------------------------------------ spectral bias
def _first_point(ds):
    """A sweep's first point (the figure says so), or the run itself."""
    dims = sweep_dims(ds)
    if not dims:
        return ds, ""
    sel = {d: 0 for d in dims}
    return ds.isel(sel), ", ".join(f"{d}={_fmt(ds[d].values[0])}" for d in dims)


def learning_times(ds, name: str = "fourier_progress", level: float = 0.9):
    """Per frequency, the first save time at which ``ds[name]`` (a fraction of
    the target learned) reaches ``level`` (``inf`` if never): ``(frequencies,
    times)`` for a single run."""
    var = ds[name]
    t = np.asarray(ds[time_dim(ds)].values, dtype=float)
    values = np.asarray(var.transpose(time_dim(ds), "frequency").values, dtype=float)
    reached = values >= level
    times = np.where(reached.any(0), t[np.argmax(reached, axis=0)], np.inf)
    return np.asarray(ds["frequency"].values, dtype=float), times


def plot_spectral_bias(ds, path: str | Path, *, title: str | None = None,
                       level: float = 0.9) -> Path:
    """Save :func:`spectral_bias_figure`."""
    return save_figure(spectral_bias_figure(ds, title=title, level=level), path)


@_paper
def spectral_bias_figure(ds, *, title: str | None = None, level: float = 0.9):
    """Frequency-by-time heatmaps of the fraction of each Fourier component
    learned (``fourier_progress``), one panel per system (network, twins),
    with the time each frequency reaches ``level`` marked."""
    from matplotlib.colors import Normalize

    ds, note = _first_point(ds)
    systems = [(p, label) for p, label in _system_labels().items()
               if f"{p}fourier_progress" in ds]
    fig = _figure(width=PANEL[0] * len(systems) + 0.8, height=PANEL[1] + 0.4)
    axes = fig.subplots(1, len(systems), squeeze=False)[0]
    tdim = time_dim(ds)
    t = np.asarray(ds[tdim].values, dtype=float)
    keep = t > 0
    mesh = None
    for ax, (prefix, label) in zip(axes, systems):
        name = f"{prefix}fourier_progress"
        freqs, times = learning_times(ds, name, level)
        z = np.asarray(ds[name].transpose("frequency", tdim).values, dtype=float)[:, keep]
        rows = np.arange(len(freqs))
        mesh = ax.pcolormesh(t[keep], rows, z, shading="nearest", cmap="viridis",
                             norm=Normalize(0.0, 1.0))
        ax.plot(times, rows, "w^", markersize=6, label=f"{level:.0%} reached")
        ax.set_xscale("log")
        ax.set_yticks(rows, [_fmt(f) for f in freqs])
        ax.set_xlabel("time t (gradient flow)")
        ax.set_ylabel("frequency k")
        _title(ax, label)
        ax.legend(fontsize=7, loc="lower right")
    fig.colorbar(mesh, ax=list(axes), label="fraction of the target's Fourier coefficient learned")
    head = f"{title}: " if title else ""
    _suptitle(fig, f"{head}spectral bias{f' ({note})' if note else ''}")
    return fig


# energies per mode with a learning-times figure: (variable, mode dim, axis label, theory label)
MODE_ENERGIES = {
    "harmonic_residual": ("degree", "spherical-harmonic degree l",
                          "1/mu_l (infinite-width kernel flow)"),
    "mode_residual": ("mode", "eigenfunction i of T_p (NTK under the data density p)",
                      "1/lambda_i (infinite-width kernel flow)"),
}


def plot_degree_learning_times(ds, path: str | Path, *, title: str | None = None,
                               name: str = "harmonic_residual") -> Path:
    """Save :func:`degree_learning_times_figure`."""
    return save_figure(degree_learning_times_figure(ds, title=title, name=name), path)


# modes starting with less than this share of the largest mode's energy are not
# drawn: their learning times measure noise
FIGURE_FLOOR = 1e-3


def theory_learning_times(ds, name: str = "theory_harmonic_residual",
                          floor: float = 1e-10) -> np.ndarray:
    r"""Per degree, $1/\mu_\ell$ read off the kernel-flow prediction
    $E_\ell(0)e^{-2\mu_\ell t}$ (its decay between the first and last save),
    so a degree learned after the run ends still gets its predicted time."""
    tdim = time_dim(ds)
    t = np.asarray(ds["t"].values if "t" in ds.coords else ds[tdim].values, dtype=float)
    dim = next(d for d in ds[name].dims if d != tdim)
    e = np.asarray(ds[name].transpose(tdim, dim).values, dtype=float)
    out = np.full(e.shape[1], np.nan)
    for k in range(e.shape[1]):
        # the last save where the prediction has not underflowed
        ok = np.nonzero((e[1:, k] > 1e-250 * e[0, k]) & (e[1:, k] < e[0, k]))[0]
        if e[0, k] > floor * e[0].max() and ok.size:
            j = ok[-1] + 1
            out[k] = 2.0 * (t[j] - t[0]) / np.log(e[0, k] / e[j, k])
    return out


@_paper
def degree_learning_times_figure(ds, *, title: str | None = None,
                                 name: str = "harmonic_residual"):
    """Per spherical-harmonic degree (``harmonic_residual``) or per
    eigenfunction of the kernel's operator under the data density
    (``mode_residual``), the time at which the residual's energy has fallen
    to e^-2 of its start (:func:`mfsim.learning_times`), for the network and
    each twin that records it, beside the infinite-width kernel flow's
    prediction (where the monitor has ``theory``); log time axis, the run's
    end marked. Modes that start with less than ``FIGURE_FLOOR`` of the
    largest one's energy are left out; a sweep shows its first point."""
    dim, xlabel, theory_label = MODE_ENERGIES[name]
    base = name
    ds, note = _first_point(ds)
    fig = _figure()
    ax = fig.add_subplot()
    tdim = time_dim(ds)
    t_end = float(np.max(ds["t"].values if "t" in ds.coords else ds[tdim].values))
    degrees = np.asarray(ds[dim].values, dtype=float)
    systems = []  # (label, colour, line style)
    notes = set()
    drawn = False
    for i, (prefix, label) in enumerate(_system_labels().items()):
        name = f"{prefix}{base}"
        if name not in ds:
            continue
        times = np.asarray(energy_learning_times(ds, name, floor=FIGURE_FLOOR).values,
                           dtype=float)
        style = SYSTEM_DASHES[i % len(SYSTEM_DASHES)]
        ax.plot(degrees, times, marker="o", color=_color(i), linestyle=style, markersize=4)
        systems.append((label, _color(i), style))
        start = np.asarray(ds[name].isel({tdim: 0}).values, dtype=float)
        never = np.isnan(times) & (start > FIGURE_FLOOR * start.max())
        if never.any():  # energy to learn, not learned by the end: an arrow at the end line
            ax.plot(degrees[never], np.full(never.sum(), t_end), marker="^", color=_color(i),
                    linestyle="none", markersize=5)
            notes.add("^: not learned by the end of the run")
        drawn = drawn or bool(np.isfinite(times).any())
    extra = []
    if f"theory_{base}" in ds:
        predicted = theory_learning_times(ds, f"theory_{base}", floor=FIGURE_FLOOR)
        ax.plot(degrees, predicted, color="black", linestyle="--", marker="x", markersize=5)
        extra.append((theory_label, "black", "--"))
        drawn = drawn or bool(np.isfinite(predicted).any())
    ax.axhline(t_end, color="0.5", linewidth=0.8, linestyle=":")
    ax.annotate("end of the run", (degrees[0], t_end), xytext=(2, 2),
                textcoords="offset points", fontsize=7, color="0.4")
    if drawn:
        ax.set_yscale("log")
    ax.set_xticks(degrees, [_fmt(d) for d in degrees])
    ax.set_xlabel(xlabel)
    for note_text in sorted(notes):
        ax.text(0.99, 0.01, note_text, transform=ax.transAxes, ha="right", va="bottom",
                fontsize=6.5, color="0.35")
    ax.set_ylabel("learning time (residual energy to e^-2)")
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], color=c, linestyle=d, marker="o", markersize=4)
               for _, c, d in systems]
    handles += [Line2D([], [], color=c, linestyle=d, marker="x") for _, c, d in extra]
    ax.legend(handles, [lab for lab, _, _ in systems + extra], fontsize=7)
    head = f"{title}: " if title else ""
    _title(ax, f"{head}learning time per {dim}{f' ({note})' if note else ''}")
    return fig


# ---------------------------------------------------------------- particles
def plot_particles(ds, path: str | Path, *, title: str | None = None) -> Path:
    """Save :func:`particles_figure`."""
    return save_figure(particles_figure(ds, title=title), path)


@_paper
def particles_figure(ds, *, title: str | None = None):
    """Scatter of the particles (neurons) at each snapshot time: output weight
    ``v_j`` against the input-weight norm ``||w_j||`` (with bias: against the
    bias-free part), coloured by time."""
    ds, note = _first_point(ds)
    var = ds["particles"]
    tdim = var.dims[0]
    times = np.asarray(ds[tdim].values, dtype=float)
    fig = _figure()
    ax = fig.add_subplot()
    for i, time in enumerate(times):
        p = np.asarray(var.isel({tdim: i}).values, dtype=float)
        ax.scatter(np.linalg.norm(p[:, 1:], axis=1), p[:, 0], s=6, alpha=0.6,
                   color=_color(i), label=f"t = {_fmt(time)}")
    ax.set_xlabel("input-weight norm ||w_j|| (bias included if any)")
    ax.set_ylabel("output weight v_j")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    head = f"{title}: " if title else ""
    _title(ax, f"{head}particles{f' ({note})' if note else ''}")
    return fig


# ------------------------------------------------------------ chosen figures
SCALES = ("auto", "linear", "log")


def _set_scale(fig, xscale: str, yscale: str) -> None:
    for ax in fig.axes:
        if not ax.get_visible() or ax.get_label() == "<colorbar>":
            continue
        if xscale != "auto" and not ax.get_images():
            ax.set_xscale(xscale)
        if yscale != "auto" and not ax.get_images():
            ax.set_yscale(yscale)
        _tidy_log_ticks(ax)


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

    for scale in (xscale, yscale):
        if scale not in SCALES:
            raise ValueError(f"scale {scale!r}: allowed {', '.join(SCALES)}")
    drawable = ["loss"] + scalar_series(ds) + [n for n in ds.data_vars
                                               if _index_dim(ds, n) is not None]
    for name in names:
        if name not in drawable:
            close = difflib.get_close_matches(name, drawable, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ValueError(f"no time series {name!r} in the results{hint}; there are: "
                             + ", ".join(sorted(set(drawable))))
    axes = [d for d in sweep_dims(ds) if d != "seed"]
    for dim in (x, y):
        if dim is not None and dim not in axes:
            raise ValueError(f"{dim!r} is not a sweep axis of these results; "
                             + (f"there are: {', '.join(axes)}" if axes else "this is a single run"))
    if y is not None and x is None:
        raise ValueError("--y needs --x (the phase diagram's two axes)")
    if x is not None and "loss" in names:
        raise ValueError("'loss' is drawn against time; name train_loss or test_loss with --x")
    if x is None:  # "loss" is the loss figure; a variable, its own
        named = {"loss": loss_figure}
        out = [(name, named[name](ds, title=title) if name in named
                else series_figure(ds, name, title=title)) for name in names]
    elif y is None:
        metrics = [(name, "final") for name in names]
        out = [(f"vs_{x}", sweep_summary_figure(ds, x, title=title, metrics=metrics))]
    else:
        metrics = [(name, "final") for name in names]
        out = [(f"phase_{x}_{y}", phase_diagram_figure(ds, x, y, title=title, metrics=metrics))]
    import matplotlib

    with matplotlib.rc_context(PAPER_RC):
        for _, fig in out:
            _set_scale(fig, xscale, yscale)
    return out


def learning_rates(ds) -> np.ndarray | None:
    """Gradient descent's learning rate eta at each point of ``ds`` (the
    ``learning_rate`` sweep axis, or the resolved scenario's
    ``solver.learning_rate``), flattened over the sweep; None if not set."""
    if "learning_rate" in sweep_dims(ds):
        others = [d for d in sweep_dims(ds) if d != "learning_rate"]
        eta = ds["learning_rate"].broadcast_like(ds[others[0]]) if others else ds["learning_rate"]
        return np.asarray(eta.transpose(*sweep_dims(ds)).values, float).ravel()
    import tomllib

    try:
        solver = tomllib.loads(str(ds.attrs.get("resolved_scenario", ""))).get("solver", {})
    except tomllib.TOMLDecodeError:
        return None
    eta = solver.get("learning_rate")
    if eta is None:
        return None
    return np.full(int(np.prod([ds.sizes[d] for d in sweep_dims(ds)] or [1])), float(eta))


def plot_stability(ds, path: str | Path, *, title: str | None = None) -> Path:
    """Save :func:`stability_figure`."""
    return save_figure(stability_figure(ds, title=title), path)


@_paper
def stability_figure(ds, *, title: str | None = None):
    """Gradient descent at large learning rates: the training loss against
    the step at every point (network solid, twins dashed), the stability
    ratio eta lambda_1 / 2 (sharpness; 1 is the edge of stability) and, for a
    sweep of learning rates, each point's regime (:func:`mfsim.training_regimes`)
    against eta lambda_1(0) / 2 (drawn when some rate starts beyond the edge)."""
    from ._analysis import REGIMES, training_regimes

    tdim = time_dim(ds)
    dims = sweep_dims(ds)
    stacked = ds.stack(point=dims) if dims else ds.expand_dims(point=[0])
    x = stacked["step"] if "step" in stacked.coords else stacked[tdim]
    eta = learning_rates(ds)
    # the regimes panel: a sweep of learning rates some of which start beyond the edge
    s0 = np.asarray(stacked["sharpness"].isel({tdim: 0}).values, float)
    s0 = s0[..., 0] if s0.ndim > 1 else s0
    sweep = (eta is not None and len(np.unique(eta)) > 1
             and bool(np.any(eta * s0 / 2 > 1)))
    panels = 3 if sweep else 2
    fig = _figure(width=PANEL[0] * panels + 0.6, height=PANEL[1] + 0.5)
    axes = fig.subplots(1, panels, squeeze=False)[0]
    labels = [", ".join(f"{d}={_fmt(v)}" for d, v in zip(dims, np.atleast_1d(p)))
              for p in stacked["point"].values] if dims else [""]
    for i in range(stacked.sizes["point"]):
        color = _color(i)
        xi = np.asarray((x.isel(point=i) if "point" in x.dims else x).values, float)
        for var, label, dash in _systems(ds, "train_loss"):
            y = np.asarray(stacked[var].isel(point=i).values, float)
            axes[0].plot(xi, y, color=color, linestyle=dash,
                         label=(labels[i] or label) if dash == "-" else None)
        s = np.asarray(stacked["sharpness"].isel(point=i).values, float)
        s = s[..., 0] if s.ndim > 1 else s
        if eta is not None:
            axes[1].plot(xi, eta[i] * s / 2, color=color)
        else:
            axes[1].plot(xi, s, color=color)
    axes[0].set_yscale("log")
    start = np.asarray(stacked["train_loss"].isel({tdim: 0}).values, float)
    if np.any(np.isfinite(start) & (start > 0)):  # diverging runs leave the frame upwards
        axes[0].set_ylim(top=1e3 * np.nanmax(start))
    axes[0].set_xlabel("step" if "step" in stacked.coords else "time t")
    axes[0].set_ylabel("training loss")
    axes[0].legend(fontsize=6)
    _title(axes[0], "loss (network solid, twins dashed)")
    axes[1].set_xlabel(axes[0].get_xlabel())
    if eta is not None:
        axes[1].axhline(1.0, color="k", linestyle="--", linewidth=0.8, label="edge: eta lambda = 2")
        axes[1].set_ylabel("eta lambda_1 / 2 (sharpness)")
        axes[1].set_ylim(0.1, 10)
        axes[1].legend(fontsize=6)
    else:
        axes[1].set_ylabel("sharpness lambda_1")
    axes[1].set_yscale("log")
    _title(axes[1], "stability ratio")
    if sweep:
        ax = axes[2]
        ratio = eta * s0 / 2
        for k, (prefix, label) in enumerate(_system_labels().items()):
            if f"{prefix}train_loss" not in ds:
                continue
            regimes = training_regimes(ds, prefix=prefix)
            regimes = (regimes.stack(point=dims) if dims else regimes.expand_dims(point=[0]))
            y = [REGIMES.index(r) + 0.12 * (k - 1) for r in regimes.values]
            ax.plot(ratio, y, marker="os^dv"[k % 5], linestyle="none", color=_color(k),
                    label=label)
        for edge in (1.0, 2.0):
            ax.axvline(edge, color="k", linestyle="--", linewidth=0.8)
        ax.set_yticks(range(len(REGIMES)), REGIMES)
        ax.set_xlabel("eta lambda_1(0) / 2")
        ax.legend(fontsize=6)
        _title(ax, "regime (lines: eta = 2/lambda0, 4/lambda0)")
    head = f"{title}: " if title else ""
    _suptitle(fig, f"{head}gradient descent and sharpness")
    return fig


def plot_w2_stationary(ds, path: str | Path, *, title: str | None = None) -> Path:
    """Save :func:`w2_stationary_figure`."""
    return save_figure(w2_stationary_figure(ds, title=title), path)


@_paper
def w2_stationary_figure(ds, *, title: str | None = None):
    """The exact W2 of the particle measure to an independent sample of its
    stationary law (:func:`mfsim.w2_to_stationary`) against the snapshot time:
    mean over seeds (band: min to max), one line per point of the other sweep
    axes (e.g. each temperature); the last value is the floor of two
    independent stationary samples."""
    from ._analysis import w2_to_stationary

    w2 = w2_to_stationary(ds)
    tdim = "particles_t"
    t = np.asarray(ds[tdim].values, float)
    others = [d for d in sweep_dims(ds) if d != "seed"]
    stacked = w2.stack(point=others) if others else w2.expand_dims(point=[0])
    fig = _figure()
    ax = fig.add_subplot()
    for i in range(stacked.sizes["point"]):
        one = stacked.isel(point=i).transpose("seed", tdim).values
        label = (", ".join(f"{d}={_fmt(v)}" for d, v in zip(
            others, np.atleast_1d(stacked["point"].values[i]))) if others else "W2")
        ax.plot(t, one.mean(0), color=_color(i), label=label, marker="o", markersize=3)
        ax.fill_between(t, one.min(0), one.max(0), color=_color(i), alpha=0.2, linewidth=0)
    ax.set_xlabel("time t")
    ax.set_ylabel("W2 to a stationary sample")
    ax.legend(fontsize=7)
    head = f"{title}: " if title else ""
    _title(ax, f"{head}particle measure to its stationary law (exact OT)")
    return fig
