"""U4 of issue 18: figures a researcher would publish, checked on the
matplotlib objects: titles fit, every sweep value is drawn, no power law is
fitted to a bounded or non-power-law quantity, a fit has its interval, error
bars on log axes stay positive, phase-diagram numbers are readable."""

import numpy as np
import pytest
import xarray as xr

from mfsim.plotting import (
    loss_figure,
    power_law,
    series_figure,
    sweep_summary_figure,
)

WIDTHS = np.array([16.0, 64.0, 256.0, 1024.0, 4096.0])


def _sweep(values, *, extra_dim=None):
    """A combined sweep dataset: dims (width[, parameterization], seed, t)."""
    dims = ["width"] + ([extra_dim[0]] if extra_dim else []) + ["seed"]
    coords = {"width": WIDTHS, "seed": [0, 1, 2], "t": [0.0, 1.0, 2.0]}
    if extra_dim:
        coords[extra_dim[0]] = extra_dim[1]
    data = {}
    for name, fn in values.items():
        shape = [len(coords[d]) for d in dims] + [3]
        arr = np.empty(shape)
        for idx in np.ndindex(*shape):
            w = WIDTHS[idx[0]]
            arr[idx] = fn(w, idx[-2], idx[-1], idx[1] if extra_dim else 0)
        data[name] = (tuple(dims) + ("t",), arr, {"description": name})
    return xr.Dataset(data, coords=coords, attrs={"sweep_dims": ",".join(dims)})


def _legend(ax) -> list[str]:
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend else []


def test_a_long_title_fits_inside_the_figure():
    ds = _sweep({"train_loss": lambda w, s, t, k: 1 / (1 + t)})
    title = "a very long scenario description " * 6
    for fig in (loss_figure(ds, title=title), series_figure(ds, "train_loss", title=title)):
        fig.canvas.draw()
        box = fig.axes[0].title.get_window_extent()
        assert box.x0 >= 0 and box.x1 <= fig.bbox.width + 0.5, (box, fig.bbox.width)


def test_every_point_of_a_categorical_and_numeric_sweep_is_drawn():
    """width_transition: parameterization (categorical) x width (numeric)."""
    ds = _sweep({"kernel_drift": lambda w, s, t, k: t / np.sqrt(w) * (1 + k)},
                extra_dim=("parameterization", ["ntk", "mean_field"]))
    fig = series_figure(ds, "kernel_drift")
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert len(labels) == 10  # 5 widths x 2 parameterizations (was: 2, at the last width)
    assert "width=16, parameterization=ntk" in labels


def test_a_power_law_is_fitted_with_its_interval():
    ds = _sweep({"ref_distance": lambda w, s, t, k: 2.0 * w**-0.5 * (1 + 0.01 * s)})
    fig = sweep_summary_figure(ds, "width", metrics=[("ref_distance", "final")])
    (text,) = _legend(fig.axes[0])
    assert text.startswith("slope -0.50 ± ")
    half = float(text.split("± ")[1])
    assert 0 <= half < 0.01


@pytest.mark.parametrize("name, fn", [
    ("test_accuracy", lambda w, s, t, k: 1 - 0.4 * w**-0.5),  # bounded: never fitted
    ("test_loss", lambda w, s, t, k: 1 + np.exp(-w / 100)),  # saturates: not a power law
])
def test_no_power_law_where_it_means_nothing(name, fn):
    ds = _sweep({name: fn})
    fig = sweep_summary_figure(ds, "width", metrics=[(name, "final")])
    assert not any("slope" in t for t in _legend(fig.axes[0]))


def test_a_diverged_point_is_left_out_of_the_fit():
    ds = _sweep({"test_loss": lambda w, s, t, k: w**-1.0 if w < 2000 else 1e6})
    ds["status"] = (("width", "seed"), np.where(WIDTHS[:, None] > 2000, "diverged", "success")
                    .repeat(3, 1))
    fig = sweep_summary_figure(ds, "width", metrics=[("test_loss", "final")])
    (text,) = _legend(fig.axes[0])
    assert text.startswith("slope -1.00 ± ")


def test_error_bars_on_log_axes_stay_positive():
    # seeds spread over two orders of magnitude: mean +- std would go below zero
    ds = _sweep({"test_loss": lambda w, s, t, k: w**-1.0 * 10.0 ** (s - 1)})
    fig = sweep_summary_figure(ds, "width", metrics=[("test_loss", "final")])
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    for collection in ax.collections:  # the error bars' segments
        for segment in collection.get_segments():
            assert np.all(np.asarray(segment)[:, 1] > 0)


def test_power_law_fit_reports_r2_and_refuses_a_bad_fit():
    x = np.geomspace(1, 1000, 8)
    slope, half, r2 = power_law(x, 3 * x**0.7)
    assert slope == pytest.approx(0.7) and half < 1e-10 and r2 == pytest.approx(1.0)
    assert power_law(x, 1 + np.sin(x)) is None and power_law(x[:3], x[:3]) is None


def test_phase_diagram_numbers_are_readable():
    from mfsim.plotting import phase_diagram_figure

    ds = _sweep({"test_loss": lambda w, s, t, k: (k + 1) * w**-0.5},
                extra_dim=("scale", [0.5, 8.0]))
    fig = phase_diagram_figure(ds, "width", "scale", metrics=[("test_loss", "final")])
    ax = fig.axes[0]
    image = ax.get_images()[0]
    for text in ax.texts:
        value = float(text.get_text())
        r, g, b, _ = image.cmap(image.norm(value))
        light = 0.299 * r + 0.587 * g + 0.114 * b > 0.5
        assert text.get_color() == ("black" if light else "white")
        assert text.get_fontsize() >= 8
