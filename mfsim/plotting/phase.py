"""Phase diagrams: a metric's final value (or minimum over time) over two
swept keys, a heatmap per metric."""

from __future__ import annotations

import numpy as np

import mfsim.plotting.meta as meta

from .._store.analysis import point_value, sweep_dims
from .style import CELL_GID, SEQUENTIAL, display_len, fmt, grid, paper, set_labels, title
from .summary import phase_metrics

CELL_FONT = 6.0


def phase_axes(ds) -> list[str]:
    """The first two non-seed sweep axes with two values or more (the axes of
    the phase diagram), or fewer when the sweep has fewer."""
    return [d for d in sweep_dims(ds) if d != "seed" and ds.sizes[d] >= 2][:2]


def phase_grid(ds, name: str, x_dim: str, y_dim: str, *, how: str = "final") -> np.ndarray:
    """The cells of a panel, rows along ``y_dim``: the final value (or,
    ``how="min"``, the minimum over time) of ``name``, averaged over seeds,
    at the first value of any other sweep axis."""
    m = point_value(ds, name, how)
    m = m.isel({d: 0 for d in sweep_dims(ds) if d not in (x_dim, y_dim, "seed")})
    if "seed" in m.dims:
        m = m.mean("seed")
    return np.asarray(m.transpose(y_dim, x_dim).values, dtype=float)


def _ink(image, value) -> str:
    """Black on a light cell, white on a dark one."""
    if not np.isfinite(value):
        return "black"
    r, g, b, _ = image.cmap(image.norm(value))
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"


def drop_cell_texts_that_do_not_fit(fig, cells) -> None:
    """Remove a panel's cell values when one of them is clearly wider or
    taller than its cell, estimated from the panel's place before layout
    (about 70% of it is left for the cells, the rest to labels and the
    colourbar); the colourbar then gives the values. A close call is
    measured once laid out, in the figure's first draw
    (:func:`~.style.declutter_ticks`: texts tagged ``CELL_GID``), not by a
    draw of its own."""
    for ax, (rows, cols), texts in cells:
        pos = ax.get_position()
        cell_w = 0.7 * pos.width * fig.get_figwidth() * 72 / cols
        cell_h = 0.6 * pos.height * fig.get_figheight() * 72 / rows
        widest = max((display_len(t.get_text()) for t in texts), default=0) * 0.6 * CELL_FONT
        if widest >= 1.5 * cell_w or 1.3 * CELL_FONT > 1.5 * cell_h:
            for t in texts:
                t.remove()
        else:
            for t in texts:
                t.set_gid(CELL_GID)


@paper
def phase_diagram_figure(ds, x_dim: str, y_dim: str, *,
                         metrics: list[tuple[str, str]] | None = None,
                         title_text: str | None = None):
    """Heatmaps of the sweep's metrics (:func:`~.summary.phase_metrics`, or
    those named) over two swept keys: one panel per metric with its
    colourbar (logarithmic when the metric is positive and spans more than
    10x or is read on a log scale, then over a decade at least); the value
    written in each cell where it fits the cell, else read off the colourbar;
    mean over seeds; the first value of any other sweep axis (named in the
    panel title)."""
    from matplotlib.colors import LogNorm

    metrics = metrics or phase_metrics(ds)
    if not metrics:
        raise ValueError("no metric varies over this sweep")
    others = {d: 0 for d in sweep_dims(ds) if d not in (x_dim, y_dim, "seed")}
    fixed = meta.point_label(ds, others)
    xs, ys = np.asarray(ds[x_dim].values), np.asarray(ds[y_dim].values)
    cols = min(3, len(metrics))
    fig, axes = grid(len(metrics), width={1: 3.6, 2: 3.1}.get(cols, 2.4), height=2.3)
    cells = []
    for ax, (name, how) in zip(axes, metrics):
        var = meta.variable(ds, name)
        values = phase_grid(ds, name, x_dim, y_dim, how=how)
        finite = values[np.isfinite(values)]
        norm = None
        if finite.size and finite.min() > 0 and (finite.max() > 10 * finite.min()
                                                  or var.scale == "log"):
            lo, hi = finite.min(), finite.max()
            if hi < 10 * lo:  # at least a decade: a 10% spread is not the whole colormap
                mid = np.sqrt(lo * hi)
                lo, hi = mid / np.sqrt(10), mid * np.sqrt(10)
            norm = LogNorm(lo, hi)
        image = ax.imshow(values, origin="lower", aspect="auto", norm=norm, cmap=SEQUENTIAL)
        what = meta.reduced(ds, how)
        bar = fig.colorbar(image, ax=ax, fraction=0.05, pad=0.03)
        bar.ax.tick_params(labelsize=6)
        cells.append((ax, values.shape, [
            ax.text(j, i, "n/a" if not np.isfinite(value) else f"{value:.2g}", ha="center",
                    va="center", fontsize=CELL_FONT, color=_ink(image, value))
            for (i, j), value in np.ndenumerate(values)]))
        ax.set_xticks(range(xs.size), [fmt(v) for v in xs],
                      rotation=45 if xs.size > 4 else 0)
        ax.set_yticks(range(ys.size), [fmt(v) for v in ys])
        set_labels(ax, meta.label(ds, x_dim), meta.label(ds, y_dim))
        where = f"; {fixed}" if fixed else ""
        title(ax, f"{var.long_name} {var.symbol}{what}".replace("  ", " ") + where,
              f"{var.long_name}{what}" + where, f"{var.symbol}{what}" + where
              if var.symbol else f"{var.long_name}{what}")
    drop_cell_texts_that_do_not_fit(fig, cells)
    return fig
