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
    assert len(fig.axes[0].get_lines()) == 10  # 5 widths x 2 parameterizations (was: 2)
    assert "width=16, parameterization=ntk" in _legend(fig.axes[0])


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
        assert text.get_fontsize() >= 7  # at a paper size of 3-4 in per panel


# ------------------------------------------------- twins, overlays, paper style
def _single(values, t=(0.0, 0.5, 1.0, 2.0), index=None):
    """A single-run dataset: each value is fn(t) or, with ``index=(dim, n)``,
    fn(t, i) over that extra axis."""
    t = np.asarray(t)
    data, coords = {}, {"t": t}
    for name, (fn, indexed) in values.items():
        if indexed:
            dim, n = index
            data[name] = (("t", dim), np.array([[fn(s, i) for i in range(n)] for s in t]),
                          {"description": name})
        else:
            data[name] = (("t",), np.array([fn(s) for s in t]), {"description": name})
    return xr.Dataset(data, coords=coords)


def test_twins_share_the_networks_axes():
    """A twin's variable is drawn on the network's figure (a dash each), not on
    a figure of its own; in a sweep summary likewise on the network's panel."""
    from mfsim.plotting import scalar_variables, sweep_metrics

    ds = _single({"risk": (lambda t: 1 / (1 + t), False),
                  "lin_risk": (lambda t: 1 / (1 + 2 * t), False),
                  "ck_empirical_risk": (lambda t: 1 / (1 + 3 * t), False)})
    assert scalar_variables(ds) == ["risk"]
    ax = series_figure(ds, "risk").axes[0]
    assert [line.get_linestyle() for line in ax.get_lines()] == ["-", ":", "-."]
    assert {"network", "linearized twin"} <= set(_legend(ax))
    sweep = _sweep({"test_loss": lambda w, s, t, k: w**-0.5 + 0.01 * t,
                    "lin_test_loss": lambda w, s, t, k: 2 * w**-0.5})
    assert [m for m, _ in sweep_metrics(sweep)] == ["test_loss", "test_loss"]
    panel = sweep_summary_figure(sweep, "width", metrics=[("test_loss", "final")]).axes[0]
    assert ":" in [line.get_linestyle() for line in panel.get_lines()]
    assert "linearized twin" in _legend(panel)


def test_lazy_runs_are_not_squashed_to_zero():
    """Positive values spanning more than 100x get a log y axis."""
    ds = _sweep({"kernel_drift": lambda w, s, t, k: (t + 1) * 30.0 / w})
    assert series_figure(ds, "kernel_drift").axes[0].get_yscale() == "log"
    flat = _sweep({"kernel_drift": lambda w, s, t, k: 1.0 + t / w})
    assert series_figure(flat, "kernel_drift").axes[0].get_yscale() == "linear"


def test_near_duplicates_are_drawn_once():
    """The Sinkhorn divergence (w2 squared) and the Fourier amplitudes (the
    progress times the target's) get no figure; exact OT is drawn over the
    Sinkhorn W2 estimate, dashed black."""
    from mfsim.plotting import scalar_variables, series_variables

    ds = _single({"w2_init": (lambda t: 0.1 * t + 1e-3, False),
                  "sinkhorn_init": (lambda t: (0.1 * t + 1e-3) ** 2, False),
                  "w2_exact_init": (lambda t: 0.1 * t + 2e-3, False),
                  "fourier_amplitude": (lambda t, i: t / (i + 1), True),
                  "fourier_progress": (lambda t, i: t / 2, True)},
                 index=("frequency", 3))
    assert scalar_variables(ds) == ["w2_init"]
    assert series_variables(ds) == ["fourier_progress"]
    ax = series_figure(ds, "w2_init").axes[0]
    assert any(line.get_color() == "black" for line in ax.get_lines())
    assert "exact OT" in _legend(ax)


def test_every_eigenvalue_of_a_sweep_is_drawn():
    """A top-10 spectrum in a sweep: a panel per point, 10 lines each (it was
    one line, the 10th eigenvalue)."""
    coords = {"width": WIDTHS, "seed": [0, 1], "t": [0.0, 1.0, 2.0],
              "eigen_index": np.arange(1, 11)}
    values = np.random.default_rng(0).uniform(1, 2, (5, 2, 3, 10)) * 10.0 ** -np.arange(10)
    ds = xr.Dataset({"kernel_eigenvalues": (("width", "seed", "t", "eigen_index"), values,
                                            {"description": "top eigenvalues"})},
                    coords=coords, attrs={"sweep_dims": "width,seed"})
    fig = series_figure(ds, "kernel_eigenvalues")
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == 5
    assert all(len(ax.get_lines()) == 10 for ax in panels)


def _overlap(labels) -> bool:
    boxes = [t.get_window_extent() for t in labels if t.get_visible() and t.get_text()]
    return any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


@pytest.mark.parametrize("x", [np.array([0.5, 1.0, 2.0, 4.0]),
                               np.array([1.0, 1.5, 2.0, 3.0, 4.0]),
                               np.array([0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0]),
                               np.array([0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1]),
                               np.geomspace(1e-3, 1e3, 7), np.geomspace(1e-3, 1e3, 13)])
def test_log_tick_labels_do_not_overlap(x):
    """On narrow panels (three to a row) too: swept values as tick labels,
    thinned where they would run into each other."""
    ds = xr.Dataset({name: (("scale", "t"), np.outer(x, [1.0, 2.0]) ** 1.5,
                            {"description": "d"}) for name in ("a", "b", "c")},
                    coords={"scale": x, "t": [1.0, 3.0]}, attrs={"sweep_dims": "scale"})
    fig = sweep_summary_figure(ds, "scale", metrics=[(n, "final") for n in "abc"])
    fig.canvas.draw()
    for ax in fig.axes:
        assert ax.get_xscale() == "log"
        assert not _overlap(ax.get_xticklabels()) and not _overlap(ax.get_yticklabels())
        assert sum(bool(t.get_text()) for t in ax.get_xticklabels()) >= 2  # still labelled


def test_a_diverged_point_is_marked_in_the_loss_figure():
    ds = _sweep({"train_loss": lambda w, s, t, k: 1 / (1 + t) if w != 64 or t < 2 else np.nan,
                 "test_loss": lambda w, s, t, k: 2 / (1 + t)})
    status = np.full((5, 3), "success", dtype=object)
    status[1, 2] = "diverged"
    ds["status"] = (("width", "seed"), status)
    ax = loss_figure(ds).axes[0]
    crosses = [line for line in ax.get_lines() if line.get_marker() == "X"]
    assert len(crosses) == 2  # the train and test curves of width 64
    assert "solve stopped: diverged" in _legend(ax)


def test_closed_forms_and_references_are_overlaid():
    """theory_* dashed black over its variable; the min-norm interpolants over
    a summary panel; a reference slope -1/2 on kernel drift against width."""
    ds = _single({"singular_values": (lambda t, i: 3.0 / (i + 1) * (1 - np.exp(-t)) + 1e-3,
                                      True),
                  "theory_singular_values": (lambda t, i: 3.0 / (i + 1) * (1 - np.exp(-t))
                                             + 1e-3, True)},
                 index=("mode", 3))
    ax = series_figure(ds, "singular_values").axes[0]
    assert len([line for line in ax.get_lines() if line.get_color() == "black"]) == 3
    assert "closed form" in _legend(ax)
    sweep = _sweep({"beta_l1": lambda w, s, t, k: 4 - 2 / np.log2(w),
                    "min_l1_beta_l1": lambda w, s, t, k: 2.0,
                    "min_l2_beta_l1": lambda w, s, t, k: 4.0,
                    "kernel_drift": lambda w, s, t, k: w**-0.5})
    panels = sweep_summary_figure(sweep, "width", metrics=[("beta_l1", "final"),
                                                           ("kernel_drift", "final")]).axes
    assert {"min-l1 interpolant", "min-l2 interpolant"} <= set(_legend(panels[0]))
    assert "∝ width^-0.5 (reference)" in _legend(panels[1])


def test_figures_are_typeset_for_a_paper(tmp_path):
    """At most 7.5 in wide, Okabe-Ito colours, text kept as text in SVG and
    fonts embedded (TrueType) in PDF."""
    from matplotlib.colors import to_hex

    from mfsim.plotting import PALETTE, save_figure

    ds = _sweep({"test_loss": lambda w, s, t, k: 1 / (w * (1 + t)),
                 "train_loss": lambda w, s, t, k: 1 / (w * (2 + t))})
    for fig in (loss_figure(ds), sweep_summary_figure(ds, "width")):
        assert fig.get_figwidth() <= 7.5
    fig = loss_figure(ds)
    colors = {to_hex(line.get_color()) for line in fig.axes[0].get_lines()}
    assert colors <= {c.lower() for c in PALETTE}
    svg = save_figure(fig, tmp_path / "loss.svg").read_text()
    assert "<text" in svg
    pdf = save_figure(fig, tmp_path / "loss.pdf").read_bytes()
    assert b"/FontFile2" in pdf


def test_mfsim_plot_chooses_variables_and_axes(tmp_path, capsys):
    from mfsim.cli import main

    scenario = tmp_path / "s.toml"
    scenario.write_text('name = "p"\ndtype = "float64"\n[task]\nkind = "sparse_regression"\n'
                        'd = 8\nn_train = 4\nn_test = 6\n[system]\nkind = "diagonal_linear"\n'
                        '[solver]\nt1 = 2.0\n[save]\nn = 4\n[[monitors]]\nname = "test_loss"\n'
                        '[[monitors]]\nname = "linear_predictor"\ninterpolants = true\n'
                        '[sweep.grid]\n"system.alpha" = [0.3, 1.0, 3.0]\n')
    run = tmp_path / "run"
    assert main(["run", str(scenario), "--out", str(run), "--quiet"]) == 0
    capsys.readouterr()
    out = tmp_path / "vs.pdf"
    assert main(["plot", str(run), "--var", "beta_l1,test_loss", "--x", "alpha",
                 "--yscale", "linear", "--out", str(out)]) == 0
    assert out.read_bytes().startswith(b"%PDF")
    assert main(["plot", str(run), "--var", "beta_l1", "--format", "svg"]) == 0
    assert (run / "beta_l1.svg").is_file()
    assert main(["plot", str(run), "--var", "beta_l", "--x", "alpha"]) == 2
    err = capsys.readouterr().err
    assert "(did you mean beta_l" in err and "Traceback" not in err
    assert main(["plot", str(run), "--var", "beta_l1", "--x", "width"]) == 2
    assert "not a sweep axis" in capsys.readouterr().err
