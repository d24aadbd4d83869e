"""The learning-curve figure: over a sweep of the number of training points,
the network's test loss at the end, beside the test losses of kernel
regression the run recorded (``kr_*_test_loss``, each drawn over the
network's test loss) and the one theory predicts from the kernel's spectrum
(``kr_theory_test_loss``)."""

from __future__ import annotations

import numpy as np

import mfsim.plotting.meta as meta

from .._store.analysis import final_value, sweep_dims
from .style import PANEL, categorical, figure, legend_outside, paper, title

#: the figure kind of the theory's prediction: a sweep of n that records it gets this figure
LEARNING_CURVE_FIGURE = "learning_curve"


def sample_size_dim(ds) -> str | None:
    """The sweep axis of the number of training points (key ``task.n_train``)."""
    found = [d for d in sweep_dims(ds) if ds[d].attrs.get("key") == "task.n_train"]
    return found[0] if found else None


def learning_curve_variables(ds) -> list[str]:
    """The predictions a learning-curve figure draws, where the run sweeps n."""
    if sample_size_dim(ds) is None or "test_loss" not in ds:
        return []
    return [n for n in ds.data_vars if meta.variable(ds, n).figure == LEARNING_CURVE_FIGURE
            and not meta.is_twin(ds, n)]


def _over_seeds(values, n_dim: str):
    """The mean over every axis but ``n_dim`` (the seeds: training sets, the
    average theory predicts), and the min and max."""
    other = [d for d in values.dims if d != n_dim]
    if not other:
        v = np.asarray(values.values, float)
        return v, v, v
    return tuple(np.asarray(getattr(values, f)(other).values, float)
                 for f in ("mean", "min", "max"))


@paper
def learning_curve_figure(ds):
    """Test loss against n on log-log axes: the network (final value, the
    mean over seeds with their range shaded), each kernel regression the
    run recorded (dashed, its markers; mean over seeds), the theory (black,
    dotted)."""
    n_dim = sample_size_dim(ds)
    n = np.asarray(ds[n_dim].values, float)
    fig = figure(PANEL[0] + 1.0, PANEL[1] + 0.6)
    ax = fig.add_subplot()
    from matplotlib.lines import Line2D

    handles = []
    kernels = sorted(v for v in ds.data_vars if meta.variable(ds, v).over == "test_loss"
                     and v.startswith("kr_") and not meta.is_twin(ds, v)
                     and meta.variable(ds, v).figure != LEARNING_CURVE_FIGURE)
    # (variable, legend, look, whether its range over the seeds is shaded)
    drawn = [("test_loss", "network", {"color": "black", "marker": "o", "linestyle": "-"},
              True)]
    drawn += [(v, meta.variable(ds, v).legend or v,
               {**categorical(i + 1), "linestyle": "--", "marker": "s"}, False)
              for i, v in enumerate(kernels)]
    drawn += [(v, meta.variable(ds, v).legend or v,
               {"color": "black", "linestyle": ":", "marker": None, "linewidth": 1.6}, False)
              for v in learning_curve_variables(ds)]
    for name, label, look, shaded in drawn:
        mean, lo, hi = _over_seeds(final_value(ds, name), n_dim)
        keep = np.isfinite(mean) & (mean > 0)
        ax.plot(n[keep], mean[keep], markersize=3.5, **look)
        if shaded and np.any(hi > lo):
            ax.fill_between(n[keep], lo[keep], hi[keep], color="black", alpha=0.12, lw=0)
        handles.append(Line2D([], [], markersize=3.5, label=label, **look))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(n, [f"{v:g}" for v in n])
    ax.minorticks_off()
    ax.set_xlabel(meta.label(ds, n_dim))
    ax.set_ylabel(meta.label(ds, "test_loss") + meta.reduced(ds, "final"))
    seeds = "seed" in ds.dims and ds.sizes["seed"] > 1
    title(ax, "learning curve" + (f" (mean of {ds.sizes['seed']} seeds, range shaded)"
                                  if seeds else ""), "learning curve")
    legend_outside(ax, handles)
    return fig
