"""Gradient descent at large learning rates: loss, stability ratio
eta lambda_1 / 2 (the edge of stability at 1) and each learning rate's regime."""

from __future__ import annotations

import numpy as np

import mfsim.plotting.lines as L
import mfsim.plotting.meta as meta

from .._store.analysis import sweep_dims, time_dim
from .series import _systems
from .style import PANEL, categorical, figure, figure_legend, paper, title


def learning_rates(ds) -> np.ndarray | None:
    """Gradient descent's learning rate eta at each point of ``ds`` (the
    ``learning_rate`` sweep axis, or the resolved scenario's
    ``solver.learning_rate``), flattened over the sweep; None if not set."""
    dims = sweep_dims(ds)
    swept = [d for d in dims if ds[d].attrs.get("key") == "solver.learning_rate"]
    if swept:
        eta = ds[swept[0]]
        for d in dims:
            if d != swept[0]:
                eta = eta.broadcast_like(ds[d])
        return np.asarray(eta.transpose(*dims).values, float).ravel()
    import tomllib

    try:
        solver = tomllib.loads(str(ds.attrs.get("resolved_scenario", ""))).get("solver", {})
    except tomllib.TOMLDecodeError:
        return None
    eta = solver.get("learning_rate")
    if eta is None:
        return None
    return np.full(int(np.prod([ds.sizes[d] for d in dims] or [1])), float(eta))


def stability_variables(ds) -> list[str]:
    return [n for n in ds.data_vars if meta.variable(ds, n).figure == "stability"
            and not meta.is_twin(ds, n)]


@paper
def stability_figure(ds, *, name: str = "sharpness", loss: str = "train_loss",
                     title_text: str | None = None):
    """The training loss at every point (network solid; twins, where there
    are any, in their dashes, clipped to the network's range), the stability
    ratio eta lambda_1 / 2 (1: the edge of stability) and, for a sweep of
    learning rates some of which start beyond the edge, each point's regime
    (:func:`mfsim.training_regimes`) against eta lambda_1(0) / 2. Steps on a
    log axis where the action is early (a catapult's spike)."""
    tdim = time_dim(ds)
    dims = sweep_dims(ds)
    eta = learning_rates(ds)
    stacked = ds.stack(point=dims) if dims else ds.expand_dims(point=[0])
    s0 = np.asarray(stacked[name].isel({tdim: 0}).values, float)
    s0 = s0[..., 0] if s0.ndim > 1 else s0
    regimes_panel = (eta is not None and len(np.unique(eta)) > 1
                     and bool(np.any(eta * s0 / 2 > 1)) and loss in ds)
    panels = 2 + regimes_panel
    fig = figure(min(PANEL[0] * panels + 0.4, 7.2), PANEL[1] + 0.8)
    axes = fig.subplots(1, panels, squeeze=False)[0]
    lines, _ = L.sweep_lines(ds, twins=bool(meta.twins(ds, loss)) if loss in ds else False)
    handles: list = []
    log_x = _loss_panel(axes[0], ds, loss, lines, handles)
    _ratio_panel(axes[1], ds, name, loss, lines, eta, log_x, handles)
    if regimes_panel:
        _regimes_panel(axes[2], ds, loss, eta * s0 / 2, handles)
    from .series import line_handles

    figure_legend(fig, line_handles(lines) + handles, ncol=3)
    return fig


def _loss_panel(ax, ds, loss: str, lines, handles: list) -> bool:
    """The training loss of every point (twins dashed); returns whether time
    is drawn on a log axis (the action is early)."""
    log_x = False
    if loss in ds:
        from .series import draw_series

        x0 = L.series(ds, loss, lines[0].sel)[0]
        curves = [L.series(ds, loss, line.sel)[1] for line in lines]
        log_x = L.log_time(x0) or L.early_action(x0, curves)
        handles += draw_series(ax, ds, loss, lines, log_x=log_x)
        ax.set_ylabel(meta.label(ds, loss))
    ax.set_xlabel(meta.time_axis(ds)[1])
    title(ax, "loss")
    return log_x


def _ratio_panel(ax, ds, name: str, loss: str, lines, eta, log_x: bool, handles: list) -> None:
    """The sharpness of every point, times eta / 2 where the learning rates
    are known (1: the edge of stability, drawn)."""
    from matplotlib.lines import Line2D

    dims = sweep_dims(ds)
    if log_x:
        ax.set_xscale("log")
    kept = []
    for line in lines:
        x, _, _, _ = L.series(ds, loss if loss in ds else name, line.sel)
        s = ds[name].isel({d: i for d, i in line.sel.items() if d in ds[name].dims})
        if "seed" in s.dims:
            s = s.isel(seed=0)
        s = np.asarray(s.values, float)
        s = s[..., 0] if s.ndim > 1 else s
        flat = int(np.ravel_multi_index([line.sel.get(d, 0) for d in dims],
                                        [ds.sizes[d] for d in dims])) if dims else 0
        y = eta[flat] * s / 2 if eta is not None else s
        keep = np.isfinite(x) & np.isfinite(y) & ((x > 0) if log_x else True) & (y > 0)
        ax.plot(x[keep], y[keep], color=line.color, linestyle=line.linestyle,
                marker=line.marker, markersize=3, markevery=max(1, keep.sum() // 8))
        point = {d: i for d, i in line.sel.items() if d in dims}
        if not L.failure(ds, point):
            kept.append(y[keep])
    ax.set_yscale("log")
    limits = L.clip_range(kept + ([np.array([1.0])] if eta is not None else []), "log")
    if limits is not None:  # a diverging point leaves the axes; it does not set them
        ax.set_ylim(*limits)
    ax.set_xlabel(meta.time_axis(ds)[1])
    if eta is not None:
        ax.axhline(1.0, color="black", linestyle="--", linewidth=0.8)
        handles.append(Line2D([], [], color="black", linestyle="--", linewidth=0.8,
                              label="edge of stability $\\eta\\lambda_1 = 2$"))
        ax.set_ylabel("stability ratio $\\eta\\lambda_1 / 2$")
        title(ax, "sharpness times learning rate")
    else:
        ax.set_ylabel(meta.label(ds, name))
        title(ax, "sharpness")


def _regimes_panel(ax, ds, loss: str, ratio, handles: list) -> None:
    """Each point's regime (each system's, a marker each) against its
    initial stability ratio ``ratio``."""
    from matplotlib.lines import Line2D

    from .._store.analysis import REGIMES, training_regimes

    dims = sweep_dims(ds)
    systems = [(v, label) for v, label, _ in _systems(ds, loss)]
    for k, (var, label) in enumerate(systems):
        prefix = var[: len(var) - len(loss)]
        regimes = training_regimes(ds, prefix=prefix)
        regimes = regimes.stack(point=dims) if dims else regimes.expand_dims(point=[0])
        y = [REGIMES.index(r) + 0.12 * (k - (len(systems) - 1) / 2) for r in regimes.values]
        ax.plot(ratio, y, marker="os^dv"[k % 5], linestyle="none",
                color=categorical(k)["color"], markersize=4)
        handles.append(Line2D([], [], marker="os^dv"[k % 5], linestyle="none",
                              color=categorical(k)["color"], markersize=4,
                              label=f"regime: {label}"))
    for edge in (1.0, 2.0):
        ax.axvline(edge, color="0.5", linestyle=":", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_yticks(range(len(REGIMES)), REGIMES)
    ax.set_ylim(-0.5, len(REGIMES) - 0.5)
    ax.set_xlabel("initial ratio $\\eta\\lambda_1(0) / 2$")
    title(ax, "regime (dotted: ratio 1 and 2)")
