"""U3 of issue 18: ``solver.learning_rate`` is gradient descent's learning
rate in every system, and ``solver.steps`` its number of steps. Euler with
that rate is checked, system by system, against a hand-written gradient
descent loop ``theta <- theta - eta grad J(theta)`` on the system's objective
(float64, rtol 1e-10); the command line sweeps learning rates."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr
from scenario_texts import TINY_PROBLEM

import mfsim
from mfsim._scenario.build import build
from mfsim._scenario.load import validate_scenario
from mfsim.cli import main

TEACHER = {"kind": "teacher", "d": 3, "n_train": 16, "n_test": 8}
SEQUENCE = {"kind": "sequence", "N": 12, "n": 50.0}
CASES = {  # system table, task table, learning rate
    "two_layer_mean_field": ({"kind": "two_layer", "width": 8}, TEACHER, 2.0),
    "two_layer_ntk": ({"kind": "two_layer", "width": 8, "parameterization": "ntk"},
                      TEACHER, 0.5),
    "mlp": ({"kind": "mlp", "widths": [6]}, TEACHER, 0.2),
    "mlp_mup": ({"kind": "mlp", "widths": [6, 5], "parameterization": "mup"}, TEACHER, 0.5),
    "deep_linear": ({"kind": "deep_linear", "widths": [3], "time_scale": 2.0, "scale": 0.3},
                    {"kind": "linear_teacher", "d": 4, "d_out": 2, "n_train": 16,
                     "n_test": 8, "singular_values": [2.0, 1.0]}, 0.1),
    "diagonal_linear": ({"kind": "diagonal_linear", "alpha": 0.5, "time_scale": 3.0},
                        {"kind": "sparse_regression", "d": 8, "n_train": 4, "n_test": 8},
                        0.05),
    "vanilla_sequence": ({"kind": "vanilla_sequence"}, SEQUENCE, 0.5),
    "diagonal_sequence": ({"kind": "diagonal_sequence"}, SEQUENCE, 0.3),
    "adaptive_sequence": ({"kind": "adaptive_sequence"}, SEQUENCE, 0.3),
}
STEPS = 20


def _scenario(system, task, eta):
    return {"name": "lr", "dtype": "float64", "system": system, "task": task,
            "solver": {"name": "euler", "learning_rate": eta, "steps": STEPS},
            "save": {"n": 5}, "monitors": [{"name": "train_loss"}],
            "output": {"figures": []}}


@pytest.mark.parametrize("case", sorted(CASES))
def test_euler_with_a_learning_rate_is_gradient_descent(case):
    system_table, task, eta = CASES[case]
    raw = _scenario(system_table, task, eta)
    ds = mfsim.run(raw)
    assert ds.attrs["status"] == "success" and int(ds.attrs["num_steps"]) == STEPS
    np.testing.assert_array_equal(ds["step"].values, [0, 5, 10, 15, 20])
    with jax.enable_x64(True):
        built = build(validate_scenario(raw))
        system, theta = built.system, built.state0
        # dt = eta / tau: the system's own time scale, from its table
        assert built.settings.dt0 == pytest.approx(eta / float(system.time_scale()), rel=1e-15)
        grad = jax.jit(jax.grad(system.objective))
        losses = []
        for k in range(STEPS + 1):
            if k % 5 == 0:
                losses.append(float(system.loss(theta)))
            theta = jax.tree.map(lambda p, g: p - eta * g, theta, grad(theta))
    np.testing.assert_allclose(ds["train_loss"].values, losses, rtol=1e-10)
    assert losses[-1] < losses[0]


def test_time_scales_read_on_data_shapes_are_the_built_systems():
    """solver.learning_rate is turned into dt before any data exist, from the
    system built on the data's shapes (jax.eval_shape): its tau must be the
    tau of the system built on the drawn data."""
    from mfsim._scenario import registry
    from mfsim._scenario.shapes import time_scale

    others = [({"kind": "committee", "width": 3}, {"kind": "committee_teacher", "d": 12,
                                                   "n_train": 8, "n_test": 4}, 0.5),
              ({"kind": "cnn", "channels": [2], "time_scale": 4.0},
               {"kind": "conv_teacher", "size": 4, "n_train": 4, "n_test": 4}, 0.5)]
    for system_table, task, eta in [*CASES.values(), *others]:
        scenario = validate_scenario(_scenario(system_table, task, eta))
        with jax.enable_x64(True):
            tau = float(build(scenario).system.time_scale())
        sizes = registry.TASKS[scenario.task.kind].sizes(scenario.task)
        assert time_scale(scenario.system, sizes, scenario.dtype) == tau


def test_learning_rate_sweep_from_the_command_line(tmp_path, capsys):
    """The command of the issue (on a smaller network): three learning
    rates, the same number of steps each, results and figures against steps."""
    path = tmp_path / "s.toml"
    path.write_text('name = "lr_sweep"\n' + TINY_PROBLEM + "[save]\nn = 6\n")
    code = main(["run", str(path), "--out", str(tmp_path / "out"), "--quiet",
                 "--set", "solver.name=euler", "--set", "solver.learning_rate=[0.5,2,8]",
                 "--set", "solver.steps=50"])
    assert code == 0, capsys.readouterr().err
    with xr.open_dataset(tmp_path / "out" / "results.nc", engine="h5netcdf") as ds:
        ds = ds.load()
    np.testing.assert_array_equal(ds["learning_rate"].values, [0.5, 2.0, 8.0])
    assert ds["step"].dims == ("save",)  # the same steps at every learning rate
    np.testing.assert_array_equal(ds["step"].values, [0, 10, 20, 30, 40, 50])
    # t = step * dt = step * eta / tau, tau = width = 8
    np.testing.assert_allclose(ds["t"].values, np.outer([0.5, 2.0, 8.0], ds["step"]) / 8,
                               rtol=1e-6)
    from mfsim.plotting import loss_figure

    fig = loss_figure(ds)
    assert fig.axes[0].get_xlabel() == "gradient-descent step $k$"


@pytest.mark.parametrize("sets, message", [
    (["solver.learning_rate=0.5"], "solver.learning_rate: only for a fixed-step solve"),
    (["solver.steps=10"], "solver.steps: only for a fixed-step solve"),
    (["solver.name=euler", "solver.learning_rate=0.3", "solver.t1=1.0"],
     "solver.t1: must be a whole number of steps dt = learning_rate / tau"),
])
def test_learning_rate_misuse_is_one_line(sets, message, tmp_path, capsys):
    path = tmp_path / "s.toml"
    path.write_text('name = "x"\n' + TINY_PROBLEM)
    argv = ["check", str(path)]
    for s in sets:
        argv += ["--set", s]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err


def test_old_spelling_of_the_linear_time_scale_is_read_with_a_note():
    raw = _scenario({"kind": "diagonal_linear", "learning_rate": 3.0},
                    CASES["diagonal_linear"][1], 0.05)
    with pytest.warns(mfsim.DeprecatedKeyWarning, match="system.learning_rate: now spelled "
                      "time_scale"):
        scenario = validate_scenario(raw)
    assert scenario.system.time_scale == 3.0
    # the classes take time_scale= only (issue 35 item 7: no shims in the core)
    with pytest.raises(TypeError, match="learning_rate"):
        mfsim.DiagonalLinearNetwork(jnp.ones((2, 3)), jnp.ones(2), learning_rate=2.0)


def test_a_swept_key_needs_no_value_in_the_base(tmp_path, capsys):
    """--set solver.dt=[...] on a file without dt: the base takes the first
    value; an unknown swept key is still reported with its axis."""
    path = tmp_path / "s.toml"
    path.write_text('name = "x"\n' + TINY_PROBLEM)
    assert main(["check", str(path), "--set", "solver.name=euler",
                 "--set", "solver.dt=[0.1,0.2]"]) == 0
    assert "2 sweep points" in capsys.readouterr().out
    assert main(["check", str(path), "--set", "solver.dtt=[0.1,0.2]"]) == 2
    assert "sweep.grid.solver.dtt[0] = 0.1: solver.dtt: unknown key" in capsys.readouterr().err
