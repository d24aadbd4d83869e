"""Figures from results (matplotlib, imported lazily; never by the core).

Figures are drawn on a bare :class:`matplotlib.figure.Figure` with the Agg
canvas, so no display and no pyplot global state are involved.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _figure(width=6.0, height=4.0):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


LOSS_LABELS = {"train_loss": "train", "test_loss": "test"}
def _system_labels() -> dict[str, str]:
    from ._results import TWIN_LABELS

    return {"": "network", **TWIN_LABELS}


def save_figure(fig, path: str | Path) -> Path:
    """Write ``fig`` atomically; the format is the path's suffix (png, svg, pdf)."""
    from ._results import atomic_write

    path = Path(path)
    atomic_write(path, lambda tmp: fig.savefig(tmp, format=path.suffix.lstrip(".")))
    return path


def plot_losses(ds, path: str | Path, *, title: str | None = None) -> Path:
    """Save the loss curves of ``ds`` to ``path`` (format from the suffix)."""
    return save_figure(loss_figure(ds, title=title), path)


def loss_figure(ds, *, title: str | None = None):
    """Loss curves (log-log; t = 0 is dropped from the log time axis).

    ``ds``: an xarray Dataset with a ``t`` coordinate and loss variables.
    """
    fig = _figure()
    ax = fig.add_subplot()
    t = np.asarray(ds["t"])
    positive_t = t > 0
    labels = _system_labels()
    systems = [p for p in labels if any(f"{p}{n}" in ds for n in LOSS_LABELS)]
    drawn = 0
    for color, prefix in enumerate(systems):
        for (name, label), style in zip(LOSS_LABELS.items(), ("-", "--")):
            if prefix + name not in ds:
                continue
            y = np.asarray(ds[prefix + name])
            keep = positive_t & np.isfinite(y) & (y > 0)
            if keep.any():
                text = label if len(systems) == 1 else f"{labels[prefix]}, {label}"
                ax.plot(t[keep], y[keep], style, color=f"C{color}", label=text, marker=".",
                        markersize=3)
                drawn += 1
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("time t (gradient flow)")
    ax.set_ylabel("loss  (1/2n) Σ (f(x) − y)²")
    ax.grid(True, which="both", alpha=0.3)
    if drawn:
        ax.legend()
    status = ds.attrs.get("status", "success")
    if status != "success":
        t_final = ds.attrs.get("t_final")
        ax.set_title(f"{title or ''}  [stopped at t={t_final:.4g}: {status}]".strip(),
                     fontsize=8, color="C3")
    elif title:
        ax.set_title(title)
    return fig


# per-time series with one line per index (modes, eigenvalues)
SERIES_DIMS = ("mode", "eigen_index")
SERIES_LOG_Y = ("kernel_eigenvalues",)


def series_variables(ds) -> list[str]:
    """Variables of shape (t, index) drawn by :func:`plot_series` after a run."""
    return [name for name, var in ds.data_vars.items()
            if var.dims[:1] == ("t",) and len(var.dims) == 2 and var.dims[1] in SERIES_DIMS]


def plot_series(ds, name: str, path: str | Path, *, title: str | None = None) -> Path:
    """One line per index of ``ds[name]`` (dims ``(t, index)``) against time."""
    fig = _figure()
    ax = fig.add_subplot()
    t = np.asarray(ds["t"])
    values = np.asarray(ds[name])
    log_t = t[-1] > 0 and t[1:].min() > 0 and t[-1] / max(t[1], 1e-300) > 100
    keep = t > 0 if log_t else np.ones_like(t, bool)
    for i in range(values.shape[1]):
        ax.plot(t[keep], values[keep, i], label=f"{ds[name].dims[1]} {i + 1}")
    if log_t:
        ax.set_xscale("log")
    if name in SERIES_LOG_Y and np.all(values[keep] > 0):
        ax.set_yscale("log")
    ax.set_xlabel("time t (gradient flow)")
    ax.set_ylabel(name.replace("_", " "))
    desc = ds[name].attrs.get("description", "")
    ax.set_title(f"{title + ': ' if title else ''}{desc}", fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    if values.shape[1] <= 10:
        ax.legend(fontsize=7)
    return save_figure(fig, path)
