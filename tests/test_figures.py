"""Figures a researcher would publish (issue 33), checked on the matplotlib
objects: the figure lint catches a figure that breaks each of its rules;
figures are chosen and labelled from each variable's metadata (a monitor
registered from outside gets its symbol, units and scale); and each defect
found on the shipped scenarios (empty loss figure, look-alike colours,
legends over data, a diverging twin setting the axis, a 1% range drawn as
the whole axis, ...) has a test here that failed before."""

import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr

import mfsim
from mfsim.plotting import (
    lint,
    loss_figure,
    plan,
    power_law,
    series_figure,
    sweep_summary_figure,
)

WIDTHS = np.array([16.0, 64.0, 256.0, 1024.0, 4096.0])
X2, Y2 = jnp.zeros((2, 3)), jnp.zeros(2)


def _known() -> dict:
    """name -> Variable, as the package's monitors declare them."""
    out = {}
    for monitor in (mfsim.TrainLoss(), mfsim.TestLoss(X2, Y2), mfsim.TestAccuracy(X2, Y2),
                    mfsim.Risk(), mfsim.KernelMonitor(), mfsim.ParameterDistance(),
                    mfsim.Wasserstein(method="both"),
                    mfsim.LinearPredictor(interpolants={"min_l1": jnp.ones(3),
                                                        "min_l2": jnp.ones(3)},
                                          x_test=X2, y_test=Y2),
                    mfsim.FeatureMovement(depth=2), mfsim.SingularValues(theory=True),
                    mfsim.ParticleSnapshots((0.0, 1.0)), mfsim.Sharpness(ntk=True),
                    mfsim.KernelRegression(X2, Y2)):
        out.update(monitor.variables())
    return out


KNOWN = _known()
TWINS = {"lin_": "linearized twin", "quad_": "quadratic twin", "ck_empirical_": "kernel-at-init twin"}


def _attrs(name: str) -> dict:
    for prefix, label in TWINS.items():
        if name.startswith(prefix) and name[len(prefix):] in KNOWN:
            base = name[len(prefix):]
            return {**KNOWN[base].renamed(prefix, label).attrs(), "system": label,
                    "network_variable": base}
    return KNOWN[name].attrs() if name in KNOWN else {"description": name}


def _sweep(values, *, extra_dim=None, t=(0.0, 1.0, 2.0)):
    """A combined sweep dataset: dims (width[, extra], seed, t), each
    variable with the metadata its monitor declares."""
    dims = ["width"] + ([extra_dim[0]] if extra_dim else []) + ["seed"]
    coords = {"width": ("width", WIDTHS, {"key": "system.width", "long_name": "width",
                                          "symbol": "$m$"}),
              "seed": [0, 1, 2], "t": list(t)}
    if extra_dim:
        coords[extra_dim[0]] = extra_dim[1]
    data = {}
    for name, fn in values.items():
        shape = [len(coords[d]) if d != "width" else len(WIDTHS) for d in dims] + [len(t)]
        arr = np.empty(shape)
        for idx in np.ndindex(*shape):
            w = WIDTHS[idx[0]]
            arr[idx] = fn(w, idx[-2], t[idx[-1]], idx[1] if extra_dim else 0)
        data[name] = (tuple(dims) + ("t",), arr, _attrs(name))
    return xr.Dataset(data, coords=coords, attrs={"sweep_dims": ",".join(dims)})


def _single(values, t=(0.0, 0.5, 1.0, 2.0), index=None, attrs=None):
    """A single-run dataset: each value is fn(t) or, with ``index=(dim, n)``,
    fn(t, i) over that extra axis."""
    t = np.asarray(t)
    data = {}
    for name, (fn, indexed) in values.items():
        if indexed:
            dim, n = index
            data[name] = (("t", dim), np.array([[fn(s, i) for i in range(n)] for s in t]),
                          _attrs(name))
        else:
            data[name] = (("t",), np.array([fn(s) for s in t]), _attrs(name))
    return xr.Dataset(data, coords={"t": t}, attrs=attrs or {})


def _legend(ax) -> list[str]:
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend else []


def _figure_legend(fig) -> list[str]:
    texts = [t.get_text() for leg in fig.legends for t in leg.get_texts()]
    return texts + [t for ax in fig.axes for t in _legend(ax)]


def _looks(fig):
    from matplotlib.colors import to_rgba

    return [(to_rgba(line.get_color()), str(line.get_linestyle()), str(line.get_marker()))
            for ax in fig.axes for line in ax.get_lines()]


# ------------------------------------------------------------ the lint's rules
def _bare(width=4.0, height=3.0):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _clean():
    fig = _bare()
    ax = fig.add_subplot()
    ax.plot([0, 1, 2], [1, 2, 3], color="C0", label="a")
    ax.plot([0, 1, 2], [3, 2, 1], color="C1", label="b")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return fig


def test_lint_passes_a_clean_figure():
    assert lint(_clean()) == []


def _rule_empty():
    fig = _clean()
    fig.add_subplot(2, 1, 2)
    return fig


def _rule_nothing_visible():
    """coordinate_check/feature_movement_1 drawn on a log axis from two saves,
    the first 0 at init: each line kept one point, and drew nothing."""
    fig = _bare()
    ax = fig.add_subplot()
    ax.plot([0, 10], [0.0, 0.07])
    ax.plot([0, 10], [0.0, 0.002])
    ax.set_yscale("log", nonpositive="mask")
    return fig


def _rule_identical():
    fig = _bare()
    for k in (1, 2):
        fig.add_subplot(1, 2, k).plot([0, 1], [1, 2])
    return fig


def _rule_nan_line():
    fig = _clean()
    fig.axes[0].plot([0, 1], [np.nan, np.nan])
    return fig


def _rule_look_alike():
    fig = _bare()
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="C0", label="width 128")
    ax.plot([0, 1], [1, 2], color="C0", label="width 2048")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return fig


def _rule_text_overlap():
    fig = _clean()
    fig.axes[0].text(0.5, 2.0, "a long annotation")
    fig.axes[0].text(0.55, 2.0, "another one")
    return fig


def _rule_legend_over_data():
    fig = _bare()
    ax = fig.add_subplot()
    ax.plot(np.linspace(0, 1, 50), np.full(50, 0.5), label="flat line through the middle")
    ax.legend(loc="center")
    return fig


def _rule_outside():
    fig = _clean()
    fig.text(1.05, 0.5, "beyond the right edge")
    return fig


def _rule_too_wide():
    fig = _bare(width=9.0)
    fig.add_subplot().plot([0, 1], [0, 1])
    return fig


def _rule_small_font():
    fig = _clean()
    fig.axes[0].set_xlabel("x", fontsize=4)
    return fig


@pytest.mark.parametrize("make, problem", [
    (_rule_empty, "empty axes"), (_rule_nothing_visible, "empty axes"),
    (_rule_identical, "identical panels"),
    (_rule_nan_line, "all-NaN line"), (_rule_look_alike, "look-alike legend entries"),
    (_rule_text_overlap, "overlapping text"), (_rule_legend_over_data, "legend over data"),
    (_rule_outside, "outside the figure"), (_rule_too_wide, "too wide"),
    (_rule_small_font, "font too small"),
])
def test_lint_catches_each_rule(make, problem):
    problems = lint(make())
    assert any(p.startswith(problem) for p in problems), problems


def test_lint_catches_overlapping_tick_labels():
    fig = _bare(width=1.2)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1])
    ax.set_xticks(np.linspace(0, 1, 8), [f"{v:.5f}" for v in np.linspace(0, 1, 8)])
    assert any("tick label" in p for p in lint(fig) if p.startswith("overlapping text"))


# ------------------------------------------------ figures chosen from metadata
def test_a_monitor_from_outside_gets_a_figure_with_its_symbol_units_and_scale(tmp_path):
    """F3: a monitor registered through register_entries declares its
    variable; the run's figure is labelled with its name, symbol and units,
    on its scale, with nothing added to the plotting package."""
    from typing import Literal

    import jax

    from mfsim._scenario import registry

    class Speed(mfsim.AbstractMonitor):
        """|d theta / dt|: how fast the parameters move."""

        requires = (mfsim.AbstractGradientFlowSystem,)

        def __call__(self, t, state, ctx):
            v = ctx.system.vector_field(t, state, None)
            return {"param_speed": jnp.sqrt(sum(jnp.sum(a**2) for a in jax.tree.leaves(v)))}

        def variables(self):
            return {"param_speed": mfsim.Variable(
                "Euclidean norm of the flow's vector field", "parameter speed",
                "$\\|\\dot\\theta\\|$", units="1/time", scale="log")}

    class SpeedConfig(mfsim.ScenarioTable):
        """The parameters' speed."""

        name: Literal["param_speed"] = "param_speed"

    entry = mfsim.MonitorEntry(SpeedConfig, Speed, lambda cfg, ctx: Speed())
    mfsim.register_entries(entry)
    try:
        run = mfsim.run_scenario(mfsim.validate_scenario({
            "name": "speed", "dtype": "float64",
            "task": {"kind": "teacher", "d": 3, "n_train": 8, "n_test": 8},
            "system": {"kind": "two_layer", "width": 8},
            "solver": {"t1": 2.0}, "save": {"n": 6},
            "monitors": [{"name": "train_loss"}, {"name": "param_speed"}]}), out=tmp_path)
    finally:
        registry.unregister_entries("param_speed")
    assert (tmp_path / "param_speed.png").is_file()
    ds = run.dataset
    assert ds.param_speed.attrs["units"] == "1/time"
    fig = series_figure(ds, "param_speed")
    ax = fig.axes[0]
    assert ax.get_ylabel().replace("\n", " ") == "parameter speed $\\|\\dot\\theta\\|$ [1/time]"
    assert ax.get_yscale() == "log"
    assert lint(fig) == []


def test_plotting_matches_no_variable_name():
    """F3: no pattern on variable names remains in the plotting package."""
    import re
    from pathlib import Path

    import mfsim.plotting

    pattern = re.compile(r"re\.(match|search|compile|fullmatch)|fnmatch")
    for path in Path(mfsim.plotting.__file__).parent.glob("*.py"):
        assert not pattern.search(path.read_text()), path


def test_results_variables_describe_themselves(tmp_path):
    """F5: every variable of results.nc carries long_name, units and symbol
    (twins' too, naming their network counterpart); sweep axes their name
    and symbol from the schema."""
    scenario = mfsim.validate_scenario({
        "name": "meta", "dtype": "float64",
        "task": {"kind": "teacher", "d": 3, "n_train": 8, "n_test": 8},
        "system": {"kind": "two_layer", "width": 8, "parameterization": "ntk"},
        "solver": {"name": "euler", "learning_rate": 0.5, "steps": 20}, "save": {"n": 5},
        "monitors": [{"name": "train_loss"}, {"name": "test_loss"}, {"name": "param_distance"}],
        "compare": {"linearized": True},
        "sweep": {"grid": {"solver.learning_rate": [0.2, 0.5]}}})
    run = mfsim.run_scenario(scenario, out=tmp_path)
    ds = xr.open_dataset(tmp_path / "results.nc")
    for name in ("train_loss", "test_loss", "param_distance_rel", "lin_train_loss", "lin_gap"):
        attrs = ds[name].attrs
        assert attrs["long_name"] and attrs["units"] and "symbol" in attrs, (name, attrs)
    assert ds.train_loss.attrs["long_name"] == "training loss"
    assert ds.train_loss.attrs["symbol"] == "$L$" and ds.train_loss.attrs["scale"] == "log"
    assert ds.test_accuracy.attrs if "test_accuracy" in ds else True
    assert ds.lin_train_loss.attrs["network_variable"] == "train_loss"
    assert "network_variable" not in ds.lin_gap.attrs  # the gap is no twin's: drawn
    assert "lin_gap" in [p.stem for p in plan(ds)]
    assert ds.lin_train_loss.attrs["system"] == "linearized twin"
    axis = ds[run.dataset.attrs["sweep_dims"].split(",")[0]]
    assert axis.attrs["long_name"] == "learning rate" and axis.attrs["symbol"] == "$\\eta$"
    assert ds.attrs["time_axis"] == "step"
    assert mfsim.Variable.of("train_loss", ds.train_loss.attrs) == KNOWN["train_loss"]


def test_each_dynamics_names_its_time_axis():
    """sgd_vs_flow was drawn against 'gradient-descent step k': SGD's
    steps say SGD; flows t; online SGD t = eta alpha."""
    from mfsim._store.points import time_axis
    from mfsim.plotting.meta import time_axis as drawn_axis

    base = {"name": "x", "task": {"kind": "teacher", "d": 3, "n_train": 8, "n_test": 8},
            "system": {"kind": "two_layer", "width": 8}}
    cases = {"sgd_step": {"name": "sgd", "learning_rate": 1.0, "steps": 4, "batch_size": 4},
             "step": {"name": "euler", "learning_rate": 1.0, "steps": 4},
             "t": {"t1": 1.0}}
    for unit, solver in cases.items():
        scenario = mfsim.validate_scenario({**base, "solver": solver})
        assert time_axis(scenario) == unit
    ds = xr.Dataset(coords={"t": [0.0, 1.0], "step": ("t", [0, 4])},
                    attrs={"time_axis": "sgd_step"})
    assert drawn_axis(ds) == ("step", "SGD step $k$")


# ------------------------------------------------ the defects of issue 33 (F2)
def test_no_loss_figure_without_losses():
    """online_sgd_committee: loss.png was written with no data (no loss
    monitor); now the planner draws no loss figure there."""
    committee = mfsim.OrderParametersMonitor()
    ds = _single({"generalization_error": (lambda t: np.exp(-t), False)})
    ds["generalization_error"].attrs = committee.variables()["generalization_error"].attrs()
    stems = [p.stem for p in plan(ds)]
    assert "loss" not in stems and stems == ["generalization_error"]
    for p in plan(ds):
        assert lint(p.draw()) == []


def test_every_snapshot_time_has_its_own_colour():
    """langevin_mean_field: 9 snapshot times on an 8-colour palette drew t = 0
    and t = 20 in the same blue; now a sequential colormap with a colourbar."""
    from mfsim.plotting import particles_figure

    times = np.linspace(0.0, 20.0, 9)
    rng = np.random.default_rng(0)
    ds = xr.Dataset({"particles": (("particles_t", "particle", "particle_coord"),
                                   rng.normal(size=(9, 50, 3)), _attrs("particles"))},
                    coords={"particles_t": times, "t": [0.0, 20.0]})
    fig = particles_figure(ds)
    colours = [tuple(c.get_facecolor()[0][:3]) for c in fig.axes[0].collections]
    assert len(set(colours)) == 9
    assert any(ax.get_label() == "<colorbar>" for ax in fig.axes)
    assert fig.axes[0].get_legend() is None
    assert lint(fig) == []


def test_a_swept_temperature_gets_a_particle_panel_each():
    """langevin_mean_field drew the first temperature only; the header's
    claim (the stationary law widens with T) needs each, on shared axes."""
    from mfsim.plotting import particles_figure

    temps = np.array([0.003, 0.03, 0.3])
    rng = np.random.default_rng(0)
    values = rng.normal(size=(3, 2, 4, 40, 3)) * np.sqrt(temps)[:, None, None, None, None]
    ds = xr.Dataset({"particles": (("temperature", "seed", "particles_t", "particle",
                                    "particle_coord"), values, _attrs("particles"))},
                    coords={"temperature": ("temperature", temps,
                                            {"long_name": "temperature", "symbol": "$T$"}),
                            "seed": [0, 1], "particles_t": [0.0, 1.0, 2.0, 4.0],
                            "t": [0.0, 4.0]},
                    attrs={"sweep_dims": "temperature,seed"})
    fig = particles_figure(ds)
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert [ax.get_title() for ax in panels] == [f"$T$ = {t}, seed 0" for t in
                                                 ("0.003", "0.03", "0.3")]
    assert len({ax.get_ylim() for ax in panels}) == 1
    assert np.allclose(panels[0].collections[0].get_offsets()[:, 1], values[0, 0, 0, :, 0])
    assert lint(fig) == []


def test_ten_series_look_different():
    """coordinate_check/feature_movement_1: 10 series (5 widths x 2
    parameterizations) on 8 colours; now no two lines or entries alike."""
    ds = _sweep({"feature_movement_1": lambda w, s, t, k: (1 + t) * w**(-0.5 * k)},
                extra_dim=("parameterization", ["mup", "ntk"]))
    fig = series_figure(ds, "feature_movement_1")
    looks = _looks(fig)
    assert len(looks) == 10 and len(set(looks)) == 10
    assert lint(fig) == []


def _coordinate_check():
    return _sweep({"train_loss": lambda w, s, t, k: 0.044 + 0.006 * ((w * 7 + s) % 5) / 5,
                   "feature_movement_1": lambda w, s, t, k: (0.048 + 0.001 * (s % 2))
                   if k == 0 else 0.1 * w**-0.5,
                   "feature_movement_2": lambda w, s, t, k: (0.1 + 0.002 * (s % 2))
                   if k == 0 else 0.3 * w**-0.5},
                  extra_dim=("parameterization", ["mup", "ntk"]))


def test_coordinate_check_summary():
    """vs_width: legends no longer cross panels and tick/axis labels, the
    muP series gets its slope label, and a 0.044-0.050 spread is drawn on at
    least a decade (noise does not look like an effect)."""
    fig = sweep_summary_figure(_coordinate_check(), "width")
    assert lint(fig) == []
    texts = _figure_legend(fig)
    assert any(t.startswith("mup: ") and t.endswith("(flat)") for t in texts), texts
    assert any(t.startswith("ntk: -0.50 ± ") for t in texts), texts
    for ax in fig.axes:
        lo, hi = ax.get_ylim()
        if ax.get_yscale() == "log":
            assert hi / lo >= 9.99


def test_phase_diagram_cells_never_collide():
    """coordinate_check/phase_width_parameterization: cell numbers ran into
    each other; now they fit their cells or are left to the colourbar."""
    from mfsim.plotting import phase_diagram_figure

    ds = _coordinate_check()
    wide = phase_diagram_figure(ds, "width", "parameterization")
    assert lint(wide) == []
    assert any(ax.get_label() == "<colorbar>" for ax in wide.axes)
    # the training loss varies by 14%: its colours span a decade, not the whole colormap
    norm = wide.axes[0].get_images()[0].norm
    assert norm.vmax / norm.vmin >= 9.99


def test_a_category_against_a_numeric_axis_gets_no_phase_diagram():
    """coordinate_check (width x parameterization), sequence_model_adaptivity
    (n x kind): vs_width already draws a line per category; a heatmap of
    the same numbers was a second figure saying less."""
    from mfsim.plotting import left_out

    ds = _coordinate_check()
    stems = [p.stem for p in plan(ds)]
    assert "vs_width" in stems and not [s for s in stems if s.startswith("phase_")]
    assert ("phase diagram over width and parameterization: vs_width draws a line per "
            "parameterization") in left_out(ds)


def test_indexed_series_panels_keep_every_category():
    """sequence_model_adaptivity/kernel_eigenvalues: 11 distinct panels
    (vanilla identical at every n) cut to 6 evenly drew diagonal three
    times, adaptive twice and titled the vanilla panel by its n values
    alone; now each model gets a panel, the categories named first."""
    ns, kinds = [2000.0, 3000.0, 4500.0, 6700.0, 10000.0], ["vanilla", "diagonal", "adaptive"]
    t = [0.0, 1.0, 2.0]
    values = np.empty((5, 3, 3, 4))
    for i, n in enumerate(ns):
        for k in range(3):
            grow = 0.0 if k == 0 else 1e-4 * n * (k + 1)
            values[i, k] = np.outer(1 + grow * np.array(t), 1.0 / np.arange(1, 5))
    ds = xr.Dataset({"kernel_eigenvalues": (("n", "kind", "t", "eigen_index"), values,
                                            _attrs("kernel_eigenvalues"))},
                    coords={"n": ("n", ns, {"long_name": "sample size", "symbol": "$n$"}),
                            "kind": kinds, "t": t, "eigen_index": np.arange(1, 5)},
                    attrs={"sweep_dims": "n,kind"})
    fig = series_figure(ds, "kernel_eigenvalues")
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible() and ax.get_title()]
    assert len(titles) == 6
    assert titles[0] == "vanilla; every $n$"
    assert sum(t.startswith("diagonal") for t in titles) >= 2
    assert sum(t.startswith("adaptive") for t in titles) >= 2
    assert lint(fig) == []


def test_phase_diagram_numbers_are_readable():
    from mfsim.plotting import phase_diagram_figure

    ds = _sweep({"test_loss": lambda w, s, t, k: (k + 1) * w**-0.5},
                extra_dim=("scale", [0.5, 8.0]))
    fig = phase_diagram_figure(ds, "width", "scale", metrics=[("test_loss", "final")])
    ax = fig.axes[0]
    image = ax.get_images()[0]
    assert ax.texts, "five cells a row fit their numbers"
    for text in ax.texts:
        value = float(text.get_text())
        r, g, b, _ = image.cmap(image.norm(value))
        light = 0.299 * r + 0.587 * g + 0.114 * b > 0.5
        assert text.get_color() == ("black" if light else "white")
    assert lint(fig) == []


def _catapult():
    """A learning-rate sweep whose linearized twin diverges at the large
    rates and whose network spikes in its first steps (a catapult)."""
    steps = np.arange(0, 301, 2, dtype=float)
    etas = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 8.0])
    net = np.array([[0.3 * np.exp(-0.03 * k) * (1 + (40 * e if 0 < k < 8 and e > 3 else 0))
                     for k in steps] for e in etas])
    net[-1, 6:] = np.nan  # eta = 8 diverges
    lin = np.array([[0.3 * np.exp(-0.03 * k) if e < 3 else 0.3 * 2.0 ** min(k, 160)
                     for k in steps] for e in etas])
    sharp = np.array([[[2.0 / e * (1.2 if e > 3 and k < 8 else 0.9)]
                       for k in steps] for e in etas])
    status = np.array(["success"] * 5 + ["diverged (|state| above divergence x its initial scale)"])
    axis = {"key": "solver.learning_rate", "long_name": "learning rate", "symbol": "$\\eta$"}
    return xr.Dataset(
        {"train_loss": (("learning_rate", "t"), net, _attrs("train_loss")),
         "lin_train_loss": (("learning_rate", "t"), lin, _attrs("lin_train_loss")),
         "sharpness": (("learning_rate", "t", "sharpness_index"), sharp, _attrs("sharpness")),
         "status": (("learning_rate",), status)},
        coords={"learning_rate": ("learning_rate", etas, axis), "t": steps / 10,
                "step": ("t", steps.astype(int))},
        attrs={"sweep_dims": "learning_rate", "time_axis": "step"})


def test_catapult_figures():
    """catapult: the stability title was broken mid-expression and its
    legend sat on the markers; the spike was squeezed into the first steps of
    a linear axis; the diverging twin stretched the loss axis to 1e24;
    vs_learning_rate had ticks at 1, 3, 5 only and no legend entry for the
    network."""
    from mfsim.plotting import stability_figure

    ds = _catapult()
    fig = stability_figure(ds)
    assert lint(fig) == []
    assert all("\n" not in ax.get_title() for ax in fig.axes)
    assert fig.axes[0].get_xscale() == "log"  # the spike is in the first 4 of 150 saves
    loss = loss_figure(ds)
    assert lint(loss) == []
    ax = loss.axes[0]
    finite = ds.train_loss.values[:5][np.isfinite(ds.train_loss.values[:5])]
    assert ax.get_ylim()[1] < 100 * finite.max()  # not set by the twin (2^160 at the end)
    texts = _figure_legend(loss)
    assert "network" in texts
    assert any(t.startswith("linearized twin (leaves the axes at step") for t in texts)
    summary = sweep_summary_figure(ds, "learning_rate")
    assert lint(summary) == []
    labels = [t.get_text() for t in summary.axes[0].get_xticklabels() if t.get_text()]
    assert len(labels) >= 5, labels
    assert "network" in _figure_legend(summary)
    assert "learning rate $\\eta$" in summary.axes[0].get_xlabel()


def test_a_bounded_metric_is_drawn_on_its_natural_range():
    """digits/test_accuracy: 0.987-1.000 was the whole y axis (one test image
    of 77 drawn as a dramatic step); now the axis is [0, 1]."""
    ds = _single({"test_accuracy": (lambda t: 0.987 if t < 1 else 1.0, False)})
    ax = series_figure(ds, "test_accuracy").axes[0]
    lo, hi = ax.get_ylim()
    assert lo <= 0.0 and hi >= 1.0


def _sphere():
    k = np.arange(7)
    t = np.array([0.0, 1.0, 3.0, 10.0, 30.0, 100.0])
    e0 = 2.0 ** -k
    mu = 1.0 / (1 + k) ** 2
    res = e0[None] * np.exp(-2 * mu[None] * t[:, None]) + 1e-6
    theory = e0[None] * np.exp(-2 * mu[None] * 50 * t[:, None])  # falls to ~1e-300
    harm = mfsim.Variable("residual energy per degree", "residual energy per degree",
                          "$E_\\ell(t)$", scale="log", figure="learning_times")
    ref = mfsim.Variable("closed form", "residual energy per degree", role="reference",
                         over="harmonic_residual", legend="kernel flow", scale="log")
    return xr.Dataset({"harmonic_residual": (("t", "degree"), res, harm.attrs()),
                       "theory_harmonic_residual": (("t", "degree"), theory, ref.attrs())},
                      coords={"t": t, "degree": k, "step": ("t", (t * 10).astype(int))},
                      attrs={"time_axis": "step"})


def test_sphere_harmonic_residual_and_learning_times_share_their_unit():
    """sphere_spectral_bias: degree 6 was drawn black like the dashed black
    closed forms, a legend entry read 'closed form = 2e-30 (off axis)', and
    harmonic_residual.png was in steps where learning_times.png used t."""
    from matplotlib.colors import to_hex

    from mfsim.plotting import degree_learning_times_figure

    ds = _sphere()
    fig = series_figure(ds, "harmonic_residual")
    assert lint(fig) == []
    ax = fig.axes[0]
    assert "black" not in {to_hex(line.get_color()) for line in ax.get_lines()
                           if line.get_linestyle() == "-"} - {"#000000"} or True
    assert all(to_hex(line.get_color()) != "#000000" for line in ax.get_lines())
    assert not any("off axis" in t for t in _figure_legend(fig))
    assert "step" in ax.get_xlabel()
    times = degree_learning_times_figure(ds)
    assert lint(times) == []
    assert "step" in times.axes[0].get_ylabel()


def test_no_twins_said_where_there_are_none():
    """edge_of_stability/stability.png said 'twins dashed' with no twins."""
    from mfsim.plotting import stability_figure

    ds = _catapult().drop_vars("lin_train_loss")
    fig = stability_figure(ds)
    words = " ".join([ax.get_title() for ax in fig.axes] + _figure_legend(fig))
    assert "twin" not in words
    assert lint(fig) == []


def test_online_sgd_is_drawn_against_t_eta_alpha():
    """online_sgd_committee/generalization_error.png was against steps while
    its header defines t = eta alpha."""
    ds = _single({"train_loss": (lambda t: np.exp(-t), False)},
                 attrs={"time_axis": "eta_alpha"})
    ds = ds.assign_coords(step=("t", np.arange(4)))
    assert "\\eta\\alpha" in loss_figure(ds).axes[0].get_xlabel()


def test_min_and_final_panels_are_not_duplicated():
    """Every sweep drew 'test_loss (min over t)' and 'test_loss (final)'
    identical (a decreasing loss); now one panel."""
    from mfsim.plotting import sweep_metrics

    ds = _sweep({"test_loss": lambda w, s, t, k: 1 / (w * (1 + t)),
                 "train_loss": lambda w, s, t, k: 1 / (w * (2 + t))})
    assert sweep_metrics(ds) == [("test_loss", "final"), ("train_loss", "final")]
    bumpy = _sweep({"test_loss": lambda w, s, t, k: 1 / w + (t - 1) ** 2})
    assert sweep_metrics(bumpy) == [("test_loss", "min"), ("test_loss", "final")]
    # richness_sweep: one seed of one point 10% below its final value, the
    # mean over seeds (what is drawn) within 3% of the axes: still one panel
    one_seed = _sweep({"test_loss": lambda w, s, t, k: w**-0.3 * (1 + t) ** -0.1
                       * (1.1 if (w, s, t) == (64, 0, 1.0) else 1.0)})
    assert sweep_metrics(one_seed) == [("test_loss", "final")]


def test_slopes_are_drawn_unlike_references_and_flat_ones_in_one_entry():
    """richness_sweep/vs_gamma0: the fitted power laws were dashed like the
    kernel-regression reference on the panel beside; vs_width listed five
    flat slopes per panel."""
    from matplotlib.colors import to_rgba

    ds = _sweep({"kernel_drift": lambda w, s, t, k: (1 + t) * w**-0.5},
                extra_dim=("gamma0", [0.1, 1.0]))
    fig = sweep_summary_figure(ds, "width", metrics=[("kernel_drift", "final")])
    fits = [line for line in fig.axes[0].get_lines() if line.get_linewidth() == 3.0]
    assert len(fits) == 2 and all(line.get_linestyle() == "-" for line in fits)
    assert all(to_rgba(line.get_color())[3] == 1 and line.get_alpha() < 1 for line in fits)
    flat = _sweep({"kernel_drift": lambda w, s, t, k: (1 + t) * (1 + 0.01 * s) * (1 + k)},
                  extra_dim=("gamma0", [0.1, 1.0]))
    fig = sweep_summary_figure(flat, "width", metrics=[("kernel_drift", "final")])
    (entry,) = _legend(fig.axes[0])
    assert entry.startswith("all flat (")
    assert lint(fig) == []


def test_labels_are_names_and_symbols_not_keys():
    """Labels were raw keys and ASCII maths (solver.batch_size, lambda_1,
    ||Theta_t||_F), ticks like 0.000390, the scenario's name in every title."""
    ds = _sweep({"kernel_drift": lambda w, s, t, k: (1 + t) * w**-0.5 * 3.9e-4})
    fig = series_figure(ds, "kernel_drift")
    ax = fig.axes[0]
    assert ax.get_ylabel().replace("\n", " ").startswith("kernel drift $")
    assert "||Theta" not in ax.get_ylabel() and "\\|\\Theta_t" in ax.get_ylabel()
    summary = sweep_summary_figure(ds, "width")
    assert summary.axes[0].get_xlabel() == "width $m$"
    summary.canvas.draw()
    ticks = [t.get_text() for ax in summary.axes for t in ax.get_yticklabels()]
    assert not any(t.startswith("0.000") for t in ticks), ticks
    assert all(not ax.get_title() for ax in fig.axes)  # the scenario name is in the metadata


def test_a_constant_metric_is_not_a_flat_panel():
    from mfsim.plotting import left_out, sweep_metrics

    ds = _sweep({"test_loss": lambda w, s, t, k: 1 / (w * (1 + t)),
                 "risk": lambda w, s, t, k: 0.5})
    assert [n for n, _ in sweep_metrics(ds)] == ["test_loss"]
    assert "risk: 0.5 at every point of the sweep (no panel)" in left_out(ds)


# ------------------------------------------------ behaviour kept from issue 18
def test_every_point_of_a_categorical_and_numeric_sweep_is_drawn():
    """width_transition: parameterization (categorical) x width (numeric)."""
    ds = _sweep({"kernel_drift": lambda w, s, t, k: t / np.sqrt(w) * (1 + k) + 1e-3},
                extra_dim=("parameterization", ["ntk", "mean_field"]))
    fig = series_figure(ds, "kernel_drift")
    assert len(fig.axes[0].get_lines()) == 10
    # keyed once per colour (width) and once per line style (parameterization)
    assert _legend(fig.axes[0]) == ["$m$ = 16", "$m$ = 64", "$m$ = 256", "$m$ = 1024",
                                    "$m$ = 4096", "ntk", "mean_field"]
    assert lint(fig) == []


def test_two_ordered_axes_are_colour_and_line_style():
    """richness_sweep/feature_movement: gamma0 (5) x width (4) drew 16 of 20
    points in palette x style x marker looks with 16 legend entries; now
    colour along gamma0, a line style per width, every point, 9 entries."""
    ds = _sweep({"kernel_drift": lambda w, s, t, k: t / np.sqrt(w) * (1 + k) + 1e-3},
                extra_dim=("gamma0", [0.01, 0.03, 0.1, 0.3, 1.0]))
    ds = ds.isel(width=[0, 1, 2, 3])
    fig = series_figure(ds, "kernel_drift")
    ax = fig.axes[0]
    assert len(ax.get_lines()) == 20 and not ax.get_title()
    assert len(_legend(ax)) == 9
    assert {line.get_linestyle() for line in ax.get_lines()} == {"-", "--", ":", "-."}
    assert lint(fig) == []


def test_a_power_law_is_fitted_with_its_interval():
    ds = _sweep({"param_distance_rel": lambda w, s, t, k: 2.0 * w**-0.5 * (1 + 0.01 * s)})
    fig = sweep_summary_figure(ds, "width", metrics=[("param_distance_rel", "final")])
    (text,) = _legend(fig.axes[0])
    assert text.startswith("-0.50 ± ")
    assert 0 <= float(text.split("± ")[1]) < 0.01


@pytest.mark.parametrize("name, fn", [
    ("test_accuracy", lambda w, s, t, k: 1 - 0.4 * w**-0.5),  # bounded: never fitted
    ("test_loss", lambda w, s, t, k: 1 + np.exp(-w / 100)),  # saturates: not a power law
])
def test_no_power_law_where_it_means_nothing(name, fn):
    ds = _sweep({name: fn})
    fig = sweep_summary_figure(ds, "width", metrics=[(name, "final")])
    assert not _legend(fig.axes[0])  # no fit


def test_a_diverged_point_is_left_out_of_the_fit():
    ds = _sweep({"test_loss": lambda w, s, t, k: w**-1.0 if w < 2000 else 1e6})
    ds["status"] = (("width", "seed"), np.where(WIDTHS[:, None] > 2000, "diverged", "success")
                    .repeat(3, 1))
    fig = sweep_summary_figure(ds, "width", metrics=[("test_loss", "final")])
    (text,) = _legend(fig.axes[0])
    assert text.startswith("-1.00 ± ")


def test_error_bars_on_log_axes_stay_positive():
    ds = _sweep({"test_loss": lambda w, s, t, k: w**-1.0 * 10.0 ** (s - 1)})
    fig = sweep_summary_figure(ds, "width", metrics=[("test_loss", "final")])
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    from matplotlib.collections import LineCollection

    (bars,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert len(bars.get_segments()) == 5
    for segment in bars.get_segments():
        assert np.all(np.asarray(segment)[:, 1] > 0)
    caps = [c for c in ax.collections if not isinstance(c, LineCollection)]
    assert np.all(np.concatenate([c.get_offsets()[:, 1] for c in caps]) > 0)


def test_power_law_fit_reports_r2_and_refuses_a_bad_fit():
    x = np.geomspace(1, 1000, 8)
    slope, half, r2 = power_law(x, 3 * x**0.7)
    assert slope == pytest.approx(0.7) and half < 1e-10 and r2 == pytest.approx(1.0)
    noise = power_law(x, 1 + 0.9 * np.sin(x))  # no trend: none, or reported as flat
    assert noise is None or abs(noise[0]) <= noise[1]
    assert power_law(x, np.exp(x / 100)) is None and power_law(x[:3], x[:3]) is None


def test_twins_share_the_networks_axes():
    from mfsim.plotting import sweep_metrics
    from mfsim.plotting.meta import scalar_variables

    ds = _single({"risk": (lambda t: 1 / (1 + t), False),
                  "lin_risk": (lambda t: 1 / (1 + 2 * t), False),
                  "ck_empirical_risk": (lambda t: 1 / (1 + 3 * t), False)})
    assert scalar_variables(ds) == ["risk"]
    fig = series_figure(ds, "risk")
    ax = fig.axes[0]
    assert [line.get_linestyle() for line in ax.get_lines()] == ["-", ":", "-."]
    assert {"network", "linearized twin"} <= set(_legend(ax))
    assert lint(fig) == []
    sweep = _sweep({"test_loss": lambda w, s, t, k: w**-0.5 + 0.01 * t,
                    "lin_test_loss": lambda w, s, t, k: 2 * w**-0.5})
    assert [m for m, _ in sweep_metrics(sweep)] == ["test_loss", "test_loss"]
    fig = sweep_summary_figure(sweep, "width", metrics=[("test_loss", "final")])
    assert ":" in [line.get_linestyle() for line in fig.axes[0].get_lines()]
    assert "linearized twin" in _figure_legend(fig)


def test_a_diverged_twin_is_marked_on_the_sweep_summarys_edge():
    """A twin's final value far above the network's range (a diverged
    linearized twin) does not set the range: a triangle on the top edge."""
    sweep = _sweep({"test_loss": lambda w, s, t, k: w**-0.5,
                    "lin_test_loss": lambda w, s, t, k: 1e12 if w >= 1024 else 1.2 * w**-0.5})
    fig = sweep_summary_figure(sweep, "width", metrics=[("test_loss", "final")])
    ax = fig.axes[0]
    assert ax.get_ylim()[1] < 1.0
    edge = [line for line in ax.get_lines() if line.get_marker() == "^"]
    assert len(edge) == 1 and np.allclose(edge[0].get_xdata(), [1024, 4096])
    assert "twin beyond the axes (diverged)" in _figure_legend(fig)
    assert lint(fig) == []


def test_a_value_at_one_save_time_gets_no_time_series():
    """coordinate_check saves at t = 0 and t = 1: the feature movement is 0
    at t = 0 (off its log axis), so a time series would be one dot per
    line; it is left out (read against the sweep) and --list says why."""
    from mfsim.plotting import left_out

    ds = _single({"feature_movement_1": (lambda t: 0.05 * t, False),
                  "feature_movement_2": (lambda t: 0.05 * t + 0.01 * t**2, False)},
                 t=(0.0, 1.0))
    ds = xr.concat([ds, ds.isel(t=[1]).assign_coords(t=[2.0])], "t")
    ds["feature_movement_1"][-1] = np.nan
    stems = [p.stem for p in plan(ds)]
    assert "feature_movement_1" not in stems and "feature_movement_2" in stems
    assert "feature_movement_1: a value at one save time only" in left_out(ds)


def test_a_bounded_series_says_its_final_values():
    """digits/test_accuracy: on the whole [0, 1] range one test image of 77
    is a sliver; the legend says the final accuracies, network and twin."""
    ds = _single({"test_accuracy": (lambda t: 1.0 if t < 1.5 else 76 / 77, False),
                  "lin_test_accuracy": (lambda t: 76 / 77, False)})
    fig = series_figure(ds, "test_accuracy")
    assert "final 0.987 (twin 0.987)" in _legend(fig.axes[0])
    assert fig.axes[0].get_ylim()[0] < 0.05
    assert lint(fig) == []


def test_a_family_of_variables_shares_one_figure():
    """richness_sweep drew feature_movement_1, _2 and _3 as three figures of
    20 lines and a legend each; a family is one figure, a panel per member,
    one legend."""
    from mfsim.plotting import left_out

    ds = _sweep({f"feature_movement_{l}": (lambda l: lambda w, s, t, k: l * t * w**-0.5)(l)
                 for l in (1, 2)} | {"kernel_drift": lambda w, s, t, k: t * w**-0.5})
    planned = {p.stem: p for p in plan(ds)}
    assert "feature_movement" in planned and "kernel_drift" in planned
    assert not [s for s in planned if s.startswith("feature_movement_")]
    fig = planned["feature_movement"].draw()
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_ylabel().split("\n")[0] for ax in panels][0].startswith("layer-1")
    assert len(panels) == 2 and len(fig.legends) == 1
    assert lint(fig) == []
    assert not [line for line in left_out(ds) if line.startswith("feature_movement")]


def test_a_sweep_summary_holds_six_panels_and_says_what_it_left_out():
    """lazy_vs_active/vs_scale had 9 panels (3 rows at 7.2 in); a summary
    holds the 6 first by rank, and --list names the others."""
    from mfsim.plotting import left_out

    names = ["test_loss", "train_loss", "kernel_drift", "w2_init", "param_distance_rel",
             "param_distance", "moved_fraction", "kernel_alignment"]
    ds = _sweep({n: (lambda j: lambda w, s, t, k: (1 + j) * (1 + t) * w**-0.3 / 10)(j)
                 for j, n in enumerate(names)})
    fig = sweep_summary_figure(ds, "width")
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 6
    (line,) = [x for x in left_out(ds) if x.startswith("not in the vs_ summaries")]
    assert "moved_fraction (final)" in line and "kernel_alignment (final)" in line
    assert "test_loss" not in line


def test_a_phase_diagram_shows_the_metrics():
    """richness_sweep's phase diagram drew six heatmaps, four of them the
    diagnostics its vs_ summaries already draw against each axis; it holds
    the metrics (losses), and --list says where the rest are."""
    from mfsim.plotting import left_out, phase_diagram_figure

    ds = _sweep({"test_loss": lambda w, s, t, k: (1 + k) * (1 + t) * w**-0.3,
                 "train_loss": lambda w, s, t, k: (1 + k) * (2 + t) * w**-0.4,
                 "kernel_drift": lambda w, s, t, k: (1 + k) * t * w**-0.5},
                extra_dim=("gamma0", [0.1, 0.3, 1.0]))
    assert "phase_width_gamma0" in [p.stem for p in plan(ds)]
    fig = phase_diagram_figure(ds, "width", "gamma0")
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles and all("loss" in t for t in titles)
    assert "not in the phase diagram (its metrics only, at most 3): kernel_drift (final)" \
        in left_out(ds)
    assert lint(fig) == []


def test_a_figure_saved_after_its_lint_keeps_its_ink(tmp_path):
    """The lint draws the figure; the PNG written after it is not blank
    (a draw without rendering clears the buffer a PNG is written from)."""
    from PIL import Image

    from mfsim.plotting import save_figure

    ds = _single({"risk": (lambda t: 1 / (1 + t), False)})
    fig = series_figure(ds, "risk")
    assert lint(fig) == []
    save_figure(fig, tmp_path / "risk.png")
    pixels = np.asarray(Image.open(tmp_path / "risk.png").convert("L"))
    assert (pixels < 128).mean() > 0.005


def test_near_duplicates_are_drawn_once():
    """The Sinkhorn divergence (w2 squared) gets no figure; exact OT is drawn
    over the Sinkhorn W2 estimate, dashed black."""
    from mfsim.plotting.meta import scalar_variables

    ds = _single({"w2_init": (lambda t: 0.1 * t + 1e-3, False),
                  "sinkhorn_init": (lambda t: (0.1 * t + 1e-3) ** 2, False),
                  "w2_exact_init": (lambda t: 0.1 * t + 2e-3, False)})
    assert scalar_variables(ds) == ["w2_init"]
    ax = series_figure(ds, "w2_init").axes[0]
    assert any(line.get_color() == "black" for line in ax.get_lines())
    assert "exact OT" in _legend(ax)


def test_every_eigenvalue_of_a_sweep_is_drawn():
    coords = {"width": WIDTHS, "seed": [0, 1], "t": [0.0, 1.0, 2.0],
              "eigen_index": np.arange(1, 11)}
    values = np.random.default_rng(0).uniform(1, 2, (5, 2, 3, 10)) * 10.0 ** -np.arange(10)
    ds = xr.Dataset({"kernel_eigenvalues": (("width", "seed", "t", "eigen_index"), values,
                                            _attrs("kernel_eigenvalues"))},
                    coords=coords, attrs={"sweep_dims": "width,seed"})
    fig = series_figure(ds, "kernel_eigenvalues")
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == 5
    assert all(len(ax.get_lines()) == 10 for ax in panels)
    assert lint(fig) == []


@pytest.mark.parametrize("x", [np.array([0.5, 1.0, 2.0, 4.0]),
                               np.array([1.0, 1.5, 2.0, 3.0, 4.0]),
                               np.array([0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0]),
                               np.array([0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1]),
                               np.geomspace(1e-3, 1e3, 7), np.geomspace(1e-3, 1e3, 13)])
def test_log_tick_labels_do_not_overlap(x):
    ds = xr.Dataset({name: (("scale", "t"), np.outer(x, [1.0, 2.0]) ** 1.5,
                            {"description": name}) for name in ("a", "b", "c")},
                    coords={"scale": x, "t": [1.0, 3.0]}, attrs={"sweep_dims": "scale"})
    fig = sweep_summary_figure(ds, "scale", metrics=[(n, "final") for n in "abc"])
    assert not [p for p in lint(fig) if "tick label" in p]
    for ax in fig.axes:
        assert ax.get_xscale() == "log"
        assert sum(bool(t.get_text()) for t in ax.get_xticklabels()) >= 2


def test_a_diverged_point_is_marked_in_the_loss_figure():
    ds = _sweep({"train_loss": lambda w, s, t, k: 1 / (1 + t) if w != 64 or t < 2 else np.nan,
                 "test_loss": lambda w, s, t, k: 2 / (1 + t)})
    status = np.full((5, 3), "success", dtype=object)
    status[1, 2] = "diverged"
    ds["status"] = (("width", "seed"), status)
    fig = loss_figure(ds)
    crosses = [line for ax in fig.axes for line in ax.get_lines() if line.get_marker() == "X"]
    assert len(crosses) == 2  # the train and test curves of width 64
    assert "solve stopped: diverged" in _figure_legend(fig)


def test_closed_forms_and_references_are_overlaid():
    ds = _single({"singular_values": (lambda t, i: 3.0 / (i + 1) * (1 - np.exp(-t)) + 1e-3,
                                      True),
                  "theory_singular_values": (lambda t, i: 3.0 / (i + 1) * (1 - np.exp(-t))
                                             + 1e-3, True)},
                 index=("mode", 3))
    fig = series_figure(ds, "singular_values")
    ax = fig.axes[0]
    dashed = [line for line in ax.get_lines() if line.get_linestyle() not in ("-",)]
    assert len(dashed) == 3  # one closed form per mode, in the mode's colour
    assert "closed form (Saxe et al.)" in _legend(ax)
    assert lint(fig) == []
    sweep = _sweep({"beta_l1": lambda w, s, t, k: 4 - 2 / np.log2(w),
                    "min_l1_beta_l1": lambda w, s, t, k: 2.0,
                    "min_l2_beta_l1": lambda w, s, t, k: 4.0})
    fig = sweep_summary_figure(sweep, "width", metrics=[("beta_l1", "final")])
    assert {"min-l1 interpolant", "min-l2 interpolant"} <= set(_figure_legend(fig))


def test_figures_are_typeset_for_a_paper(tmp_path):
    """At most 7.2 in wide, text kept as text in SVG, fonts embedded
    (TrueType) in PDF, the scenario's name in the file's metadata."""
    from mfsim.plotting import save_figure

    ds = _sweep({"test_loss": lambda w, s, t, k: 1 / (w * (1 + t)),
                 "train_loss": lambda w, s, t, k: 1 / (w * (2 + t))})
    for fig in (loss_figure(ds), sweep_summary_figure(ds, "width")):
        assert fig.get_figwidth() <= 7.2
        assert lint(fig) == []
    fig = loss_figure(ds)
    svg = save_figure(fig, tmp_path / "loss.svg", title="my scenario").read_text()
    assert "<text" in svg and "my scenario" in svg
    pdf = save_figure(fig, tmp_path / "loss.pdf", title="my scenario").read_bytes()
    assert b"/FontFile2" in pdf and b"my scenario" in pdf


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
    assert main(["plot", "--list", str(run)]) == 0
    listing = capsys.readouterr().out
    assert "loss.png" in listing and "vs_alpha.png" in listing and "swept" in listing
    assert "min_l1_beta_l1: drawn over beta_l1" in listing
    assert main(["plot", str(run), "test_loss", "--format", "pdf"]) == 0
    assert (run / "loss.pdf").is_file() or (run / "test_loss.pdf").is_file()
