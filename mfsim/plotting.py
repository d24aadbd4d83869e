"""Figures from results (matplotlib, imported lazily; never by the core).

Figures are drawn on a bare :class:`matplotlib.figure.Figure` with the Agg
canvas, so no display and no pyplot global state are involved.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ._analysis import scalar_series, sweep_dims, time_dim


def _figure(width=6.0, height=4.0):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _title(ax, text: str, *, fontsize: float = 9, **kw) -> None:
    """A title wrapped to the width of its axes (a long one was cut off at the
    figure's right edge)."""
    import textwrap

    fig = ax.get_figure()
    width_pt = ax.get_position().width * fig.get_figwidth() * 72
    chars = max(20, int(width_pt / (0.55 * fontsize)))
    ax.set_title(textwrap.fill(text, chars), fontsize=fontsize, **kw)


LOSS_LABELS = {"train_loss": "train", "test_loss": "test"}
def _system_labels() -> dict[str, str]:
    from ._scenario.twins import TWIN_LABELS

    return {"": "network", **TWIN_LABELS}


def save_figure(fig, path: str | Path) -> Path:
    """Write ``fig`` atomically; the format is the path's suffix (png, svg, pdf)."""
    import io

    from ._io import atomic_write

    path = Path(path)
    buffer = io.BytesIO()
    fig.savefig(buffer, format=path.suffix.lstrip("."))
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


def _status_title(ax, ds, title):
    status = ds.attrs.get("status", "success")
    if isinstance(status, str) and status != "success":
        t_final = ds.attrs.get("t_final")
        when = f"stopped at t={t_final:.4g}: " if isinstance(t_final, float) else ""
        _title(ax, f"{title or ''}  [{when}{status}]".strip(), fontsize=8, color="C3")
    elif title:
        _title(ax, title, fontsize=9)


def _log_time(ax, t):
    t = t[np.isfinite(t)]
    if t.size > 2 and t[-1] > 0 and t[t > 0].min() * 100 < t[-1]:
        ax.set_xscale("log")
        return True
    return False


def plot_losses(ds, path: str | Path, *, title: str | None = None) -> Path:
    """Save the loss curves of ``ds`` to ``path`` (format from the suffix)."""
    return save_figure(loss_figure(ds, title=title), path)


def loss_figure(ds, *, title: str | None = None):
    """Loss curves against time (log-log; t = 0 is dropped from the log axis).

    A single run draws the network and each twin; a sweep draws the network
    at each point (mean over seeds, with the seeds' range shaded).
    """
    fig = _figure()
    ax = fig.add_subplot()
    labels = _system_labels()
    sweep = bool(sweep_dims(ds))
    systems = [p for p in labels if any(f"{p}{n}" in ds for n in LOSS_LABELS)]
    if sweep:
        systems = systems[:1]
    groups, note = _time_groups(ds)
    lines = [(prefix, glabel, sel) for prefix in systems for glabel, sel in groups]
    drawn = 0
    for color, (prefix, glabel, sel) in enumerate(lines):
        for (name, label), style in zip(LOSS_LABELS.items(), ("-", "--")):
            if prefix + name not in ds:
                continue
            t, y, lo, hi = _series(ds, prefix + name, sel)
            keep = (t > 0) & np.isfinite(y) & (y > 0)
            if not keep.any():
                continue
            who = glabel if sweep else (labels[prefix] if len(systems) > 1 else "")
            text = f"{who}, {label}" if who else label
            ax.plot(t[keep], y[keep], style, color=f"C{color % 10}", label=text, marker=".",
                    markersize=3)
            if sweep and np.any(hi[keep] > lo[keep]):
                ax.fill_between(t[keep], lo[keep], hi[keep], color=f"C{color % 10}",
                                alpha=0.15, linewidth=0)
            drawn += 1
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(time_axis(ds)[1])
    ax.set_ylabel("loss  (1/2n) Σ (f(x) − y)²")
    ax.grid(True, which="both", alpha=0.3)
    if drawn:
        ax.legend(fontsize=7 if drawn > 4 else 9)
    _status_title(ax, ds, f"{title or ''} ({note})" if note else title)
    return fig


# per-time series with one line per index (modes, eigenvalues, frequencies)
SERIES_DIMS = ("mode", "eigen_index", "angle_index", "frequency")
SERIES_LOG_Y = ("kernel_eigenvalues",)
# recorded but not drawn on their own: constants and solver diagnostics
NOT_PLOTTED = ("mode_eigenvalues", "sinkhorn_converged_", "entropic_ot_")


def _plotted(name: str) -> bool:
    base = next((name[len(p):] for p in _system_labels() if p and name.startswith(p)), name)
    return not base.startswith(NOT_PLOTTED)


def series_variables(ds) -> list[str]:
    """Variables of shape (sweep..., t, index) drawn by :func:`plot_series`."""
    head = sweep_dims(ds) + (time_dim(ds),)
    return [name for name, var in ds.data_vars.items()
            if var.dims[:-1] == head and var.dims[-1] in SERIES_DIMS and _plotted(name)]


def scalar_variables(ds) -> list[str]:
    """Variables with one number per save time, other than the losses."""
    losses = {p + n for p in _system_labels() for n in LOSS_LABELS}
    return [name for name in scalar_series(ds) if name not in losses and _plotted(name)]


def plot_series(ds, name: str, path: str | Path, *, title: str | None = None) -> Path:
    """Save :func:`series_figure`."""
    return save_figure(series_figure(ds, name, title=title), path)


def series_figure(ds, name: str, *, title: str | None = None):
    """``ds[name]`` against time: one line per index for a single run; for a
    sweep, the last index (e.g. the top-k share) at each point."""
    fig = _figure()
    ax = fig.add_subplot()
    var = ds[name]
    index_dim = var.dims[-1] if name in series_variables(ds) else None
    sweep = bool(sweep_dims(ds))
    groups, note = _time_groups(ds)
    if index_dim is None:
        lines = groups
    elif sweep:
        last = var.sizes[index_dim] - 1
        lines = [(glabel, {**sel, index_dim: last}) for glabel, sel in groups]
    else:
        coord = ds[index_dim].values if index_dim in ds.coords else np.arange(
            1, var.sizes[index_dim] + 1)
        lines = [(f"{index_dim} {_fmt(coord[i])}", {index_dim: i})
                 for i in range(var.sizes[index_dim])]
    positive = True
    log_t = False
    for color, (label, sel) in enumerate(lines):
        t, y, lo, hi = _series(ds, name, sel)
        log_t = log_t or _log_time(ax, t)
        keep = np.isfinite(t) & np.isfinite(y) & ((t > 0) if log_t else True)
        positive &= bool(np.all(y[keep] > 0))
        ax.plot(t[keep], y[keep], color=f"C{color % 10}", label=label or None)
        if sweep and np.any(hi[keep] > lo[keep]):
            ax.fill_between(t[keep], lo[keep], hi[keep], color=f"C{color % 10}", alpha=0.15,
                            linewidth=0)
    if positive and (name in SERIES_LOG_Y or name.endswith(("risk", "gap", "distance"))):
        ax.set_yscale("log")
    ax.set_xlabel(time_axis(ds)[1])
    ax.set_ylabel(name.replace("_", " "))
    desc = var.attrs.get("description", "")
    if sweep and index_dim is not None:
        desc += f" ({index_dim} {var.sizes[index_dim]})"
    if note:
        desc += f"; {note}"
    _title(ax, f"{title + ': ' if title else ''}{desc}", fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    if len(lines) <= MAX_LINES and any(label for label, _ in lines):
        ax.legend(fontsize=7)
    return fig



# --------------------------------------------------------- sweep summaries
ORACLE_METRICS = ("risk", "test_loss")


# the order in which final metrics are summarized (the first MAX_PANELS are drawn)
METRIC_PRIORITY = (r"test_loss|risk|train_loss|test_accuracy", r".*gap", r"ref_distance",
                   r"kernel_drift",
                   r"w2_.*", r"param_distance_rel", r"(lin|ck_\w+?)_(test_loss|risk|test_accuracy)")
MAX_PANELS = 9


def _priority(name: str) -> int:
    import re

    return next((i for i, pattern in enumerate(METRIC_PRIORITY) if re.fullmatch(pattern, name)),
                len(METRIC_PRIORITY))


def sweep_metrics(ds) -> list[tuple[str, str]]:
    """(variable, reduction) pairs summarized per sweep point, most telling
    first: the minimum over time (oracle early stopping) of the network's
    risk and test loss, then final values: losses and accuracy, network-twin
    gaps, kernel drift, W2, relative parameter distance, the twins' test
    losses, then every other plotted scalar series."""
    scalars = [n for n in scalar_series(ds) if _plotted(n)]
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


def plot_sweep_summary(ds, x_dim: str, path: str | Path, *, title: str | None = None,
                       metrics: list[tuple[str, str]] | None = None) -> Path:
    """Save :func:`sweep_summary_figure`."""
    return save_figure(sweep_summary_figure(ds, x_dim, title=title, metrics=metrics), path)


def sweep_summary_figure(ds, x_dim: str, *, title: str | None = None,
                         metrics: list[tuple[str, str]] | None = None):
    """Each metric against the sweep axis ``x_dim``: one line per value of the
    other non-seed axes, the mean over seeds with their range (min to max:
    on log axes a band of +-std would run below zero). Log-log axes when x
    and the metric are positive and x spans a factor of 4 or more; there a
    power law is fitted and drawn (slope and 95% interval in the legend)
    only for an unbounded quantity, over the points whose solves succeeded,
    and only where it explains the points (R^2 >= 0.95)."""
    from ._analysis import final_value, oracle_stopping

    metrics = (metrics or sweep_metrics(ds))[:MAX_PANELS]
    cols = min(3, len(metrics))
    rows = -(-len(metrics) // cols)
    fig = _figure(4.2 * cols, 3.4 * rows)
    x = np.asarray(ds[x_dim].values, dtype=float)
    others = [d for d in sweep_dims(ds) if d not in (x_dim, "seed")]
    failed = _failed_points(ds)
    for k, (name, how) in enumerate(metrics):
        ax = fig.add_subplot(rows, cols, k + 1)
        m = oracle_stopping(ds, name)[name] if how == "min" else final_value(ds, name)
        for color, (label, sel) in enumerate(_groups(ds, others)):
            vals = m.isel(sel).transpose(x_dim, ...)
            arr = np.asarray(vals, float).reshape(x.size, -1)
            bad = None
            if failed is not None:
                bad = np.asarray(failed.isel({d: i for d, i in sel.items()
                                              if d in failed.dims}).transpose(x_dim, ...),
                                 bool).reshape(x.size, -1)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                mean = np.nanmean(arr, 1)
                lo, hi = np.nanmin(arr, 1), np.nanmax(arr, 1)
            finite = np.isfinite(mean)
            loglog = (bool(np.all(x > 0)) and x.max() >= 4 * x.min() and finite.sum() >= 2
                      and bool(np.all(mean[finite] > 0)))
            text = label
            spread = (np.clip(np.vstack([mean - lo, hi - mean]), 0, None)
                      if arr.shape[1] > 1 else None)
            ax.errorbar(x, mean, yerr=spread, marker="o", markersize=3, capsize=2,
                        color=f"C{color % 10}", linestyle="none" if loglog else "-")
            fit = None
            if loglog and fits_a_power_law(name):
                ok = finite if bad is None else finite & ~bad.any(1)
                fit = power_law(x[ok], mean[ok])
            if fit is not None:
                slope, half, _ = fit
                c = np.mean(np.log(mean[ok]) - slope * np.log(x[ok]))
                xx = np.geomspace(x[ok].min(), x[ok].max(), 50)
                text = f"{label + ', ' if label else ''}slope {slope:.2f} ± {half:.2f}"
                ax.plot(xx, np.exp(c) * xx**slope, "--", color=f"C{color % 10}", linewidth=1)
            elif loglog:
                ax.plot(x, mean, "-", color=f"C{color % 10}", linewidth=1)
            ax.plot([], [], "o-" if fit is None else "o--", color=f"C{color % 10}",
                    label=text or None)
            if loglog:
                ax.set_xscale("log")
                ax.set_yscale("log")
        ax.set_xlabel(x_dim)
        ax.set_ylabel(f"{name} ({'min over t' if how == 'min' else 'final'})", fontsize=8)
        ax.grid(True, which="both", alpha=0.3)
        if ax.get_legend_handles_labels()[1]:
            ax.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


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
    fig = _figure(4.6 * cols, 3.8 * rows)
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
                    ha="center", va="center", fontsize=8, color=_ink(image, value))
        ax.set_xticks(range(xs.size), [_fmt(v) for v in xs], fontsize=7,
                      rotation=45 if xs.size > 6 else 0)
        ax.set_yticks(range(ys.size), [_fmt(v) for v in ys], fontsize=7)
        scale = " (log-spaced)"
        ax.set_xlabel(x_dim + (scale if _log_spaced(xs) else ""))
        ax.set_ylabel(y_dim + (scale if _log_spaced(ys) else ""))
        what = "min over t" if how == "min" else "final"
        _title(ax, f"{name} ({what}{'; ' + fixed if fixed else ''})", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
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
    """Frequency-by-time heatmaps of the fraction of each Fourier component
    learned (``fourier_progress``), one panel per system (network, twins),
    with the time each frequency reaches ``level`` marked."""
    from matplotlib.colors import Normalize

    ds, note = _first_point(ds)
    systems = [(p, label) for p, label in _system_labels().items()
               if f"{p}fourier_progress" in ds]
    fig = _figure(width=4.2 * len(systems) + 0.8, height=3.6)
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
        ax.set_title(label, fontsize=9)
        ax.legend(fontsize=7, loc="lower right")
    fig.colorbar(mesh, ax=list(axes), label="fraction of the target's Fourier coefficient learned")
    head = f"{title}: " if title else ""
    fig.suptitle(f"{head}spectral bias{f' ({note})' if note else ''}", fontsize=9)
    return save_figure(fig, path)


# ---------------------------------------------------------------- particles
def plot_particles(ds, path: str | Path, *, title: str | None = None) -> Path:
    """Scatter of the particles (neurons) at each snapshot time: output weight
    ``v_j`` against the input-weight norm ``||w_j||`` (with bias: against the
    bias-free part), coloured by time."""
    ds, note = _first_point(ds)
    var = ds["particles"]
    tdim = var.dims[0]
    times = np.asarray(ds[tdim].values, dtype=float)
    fig = _figure(width=5.5, height=4.2)
    ax = fig.add_subplot()
    for i, time in enumerate(times):
        p = np.asarray(var.isel({tdim: i}).values, dtype=float)
        ax.scatter(np.linalg.norm(p[:, 1:], axis=1), p[:, 0], s=6, alpha=0.6,
                   color=f"C{i % 10}", label=f"t = {_fmt(time)}")
    ax.set_xlabel("input-weight norm ||w_j|| (bias included if any)")
    ax.set_ylabel("output weight v_j")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    head = f"{title}: " if title else ""
    ax.set_title(f"{head}particles{f' ({note})' if note else ''}", fontsize=9)
    return save_figure(fig, path)
