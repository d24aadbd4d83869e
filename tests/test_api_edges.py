"""U5 of issue 18: rough edges of the public API met while writing checks
against it, each with the behaviour a researcher expects."""

import inspect
import re

import diffrax
import jax
import jax.numpy as jnp
import pytest

import mfsim

TASKS = [mfsim.teacher_task, mfsim.sinusoid_task, mfsim.sparse_regression_task,
         mfsim.linear_teacher_task, mfsim.sequence_model_task]


def test_every_documented_task_is_exported_and_defaults_to_float32():
    for task in TASKS:
        assert inspect.signature(task).parameters["dtype"].default is jnp.float32, task
    data = mfsim.linear_teacher_task(jax.random.key(0), d=4, d_out=2, n_train=8, n_test=4,
                                     singular_values=[2.0, 1.0])
    assert data.x_train.dtype == jnp.float32 and data.y_train.shape == (8, 2)


class Mine(mfsim.AbstractGradientFlowSystem):
    """A user's system with none of the supervised capabilities."""

    x: jax.Array

    def init(self, key):
        return jnp.zeros(3)

    def objective(self, state):
        return jnp.sum((state - self.x) ** 2)

    def time_scale(self):
        return jnp.asarray(1.0)


def test_a_monitor_that_does_not_fit_says_what_to_implement():
    with pytest.raises(ValueError, match=re.escape(
            "KernelMonitor cannot monitor Mine: it needs a system of types "
            "AbstractSupervisedSystem and AbstractScalarOutputSystem (such as "
            "DiagonalLinearNetwork, ScalarNetwork, TwoLayerNetwork); for your own class, derive it from "
            "them and implement loss_weight, ntk, predict, train_outputs")):
        mfsim.simulate(Mine(jnp.ones(3)), jnp.zeros(3), mfsim.SolveSettings.of(diffrax.Tsit5(), t1=1.0),
                       monitors=[mfsim.KernelMonitor(subsample=2)])


def test_a_monitor_refusing_one_of_mfsims_systems_names_systems_it_takes():
    """Issue 34 item 4: mfsim's own class is not the user's to change."""
    data = mfsim.linear_teacher_task(jax.random.key(0), d=3, d_out=2, n_train=8, n_test=4,
                                     singular_values=[1.0, 0.5])
    net = mfsim.DeepLinearNetwork(data.x_train, data.y_train, widths=(4,))
    with pytest.raises(ValueError) as err:
        mfsim.simulate(net, 0, mfsim.SolveSettings.of(diffrax.Tsit5(), t1=1.0),
                       monitors=[mfsim.KernelMonitor(subsample=2)])
    assert str(err.value) == (
        "KernelMonitor cannot monitor DeepLinearNetwork: it needs a system of type "
        "AbstractScalarOutputSystem (such as DiagonalLinearNetwork, ScalarNetwork, "
        "TwoLayerNetwork), which DeepLinearNetwork is not")
    assert "subclass" not in str(err.value)


def test_linearizing_a_system_without_an_ntk_says_what_to_implement():
    with pytest.raises(TypeError, match=re.escape(
            "Linearized cannot expand Mine: it needs a system of type AbstractSupervisedSystem "
            "(such as ")):
        mfsim.Linearized(Mine(jnp.ones(3)), jnp.zeros(3))


@pytest.mark.parametrize("cls, builder", [("Linearized", "linearize"),
                                          ("Quadratic", "quadratize")])
def test_a_taylor_twin_has_one_way_in(cls, builder):
    """Issue 34 item 4: the class of a scalar-output system's twin is refused
    with the function to use; the function's twin takes a kernel monitor."""
    data = mfsim.teacher_task(jax.random.key(0), d=3, n_train=8, n_test=4)
    net = mfsim.TwoLayerNetwork(data.x_train, data.y_train, width=4)
    s0 = net.init(jax.random.key(1))
    with pytest.raises(TypeError) as err:
        getattr(mfsim, cls)(net, s0)
    assert str(err.value) == (
        f"mfsim.{cls}(TwoLayerNetwork, ...) would lose TwoLayerNetwork's scalar outputs "
        f"(kernel monitors and twins need them): build the twin with "
        f"mfsim.{builder}(system, state0)")
    twin = getattr(mfsim, builder)(net, s0)
    assert isinstance(twin, getattr(mfsim, cls))
    traj = mfsim.simulate(twin, 0, mfsim.SolveSettings.of(diffrax.Tsit5(), t1=0.1), n_save=2,
                          monitors=[mfsim.KernelMonitor()])
    assert traj.status == "success"


def test_invariant_drift_can_be_relative():
    """The balancedness of a deep linear network from a Gaussian init is
    O(scale^2): its relative drift is the absolute one over the initial size."""
    with jax.enable_x64(True):
        data = mfsim.linear_teacher_task(jax.random.key(1), d=3, d_out=2, n_train=16,
                                         n_test=4, singular_values=[2.0, 1.0],
                                         dtype=jnp.float64)
        net = mfsim.DeepLinearNetwork(data.x_train, data.y_train, widths=(4,), scale=3.0)
        state0 = net.init(jax.random.key(2))
        monitor = mfsim.InvariantDrift.of(net, state0, relative=True)
        traj = mfsim.simulate(net, state0, mfsim.SolveSettings.of(diffrax.Euler(), t1=1.0, dt=0.05),
                              n_save=3, monitors=[monitor])
        (name,) = monitor.names
        size = max(float(jnp.max(jnp.abs(q))) for q in [net.invariants(state0)[name]])
        absolute = traj.values[f"drift_{name}"]
        assert float(absolute[-1]) > 0  # gradient descent does not conserve it exactly
        assert jnp.allclose(traj.values[f"drift_rel_{name}"], absolute / max(size, 1.0),
                            rtol=1e-12)
    # the variable says what is conserved, in words and a formula that renders
    from matplotlib.mathtext import MathTextParser

    var = monitor.variables()[f"drift_{name}"]
    assert var.long_name == "drift of the balancedness $W_{2}^\\top W_{2} - W_1 W_1^\\top$"
    MathTextParser("agg").parse(var.long_name.split(" ", 4)[-1])


def test_saxe_closed_form_from_an_aligned_init():
    """init = "aligned": every mode starts at strength u0 along the data's own
    modes, so each end-to-end singular value follows Saxe et al.'s sigmoid
    u(t) = s e^{2 s tau t} / (e^{2 s tau t} - 1 + s / u0) exactly (whitened
    inputs; s the singular values of (1/n) Y^T X), with nothing built by hand."""
    import numpy as np

    u0, tau = 1e-3, 2.0
    ds = mfsim.run({"name": "saxe", "dtype": "float64",
                    "task": {"kind": "linear_teacher", "d": 5, "d_out": 3, "n_train": 64,
                             "n_test": 8, "singular_values": [3.0, 2.0, 1.0]},
                    "system": {"kind": "deep_linear", "widths": [4], "init": "aligned",
                               "scale": u0, "time_scale": tau},
                    "solver": {"t1": 4.0, "rtol": 1e-11, "atol": 1e-13}, "save": {"n": 41},
                    "monitors": [{"name": "singular_values", "theory": True}]})
    s = np.array([3.0, 2.0, 1.0])  # whitened inputs: (1/n) Y^T X = M, of these values
    t = ds.t.values[:, None]
    grow = np.exp(2 * s * tau * t)
    expected = s * grow / (grow - 1 + s / u0)
    np.testing.assert_allclose(ds.singular_values.values[:, :3], expected, rtol=1e-6)
    assert ds.singular_values.values[-1, 0] > 0.99 * s[0]  # the strongest mode is learned
    # the monitor's closed form (drawn over the measured values) is the same formula
    theory = ds.theory_singular_values.values
    np.testing.assert_allclose(theory[:, :3], expected, rtol=1e-10)
    np.testing.assert_allclose(theory[:, 3:], 0.0, atol=0)  # modes the data has not
    assert ds.theory_singular_values.dims == ("t", "mode")


def test_saxe_closed_form_is_refused_where_it_is_not_exact(tmp_path):
    """theory = true from a random (balanced) init, or with two hidden
    layers: the scenario is refused, naming the key."""
    from mfsim import ScenarioError, load_scenario

    base = ('name = "x"\n[task]\nkind = "linear_teacher"\nd = 4\nd_out = 2\n'
            'singular_values = [2.0, 1.0]\n'
            'whiten = true\n[system]\nkind = "deep_linear"\nwidths = {widths}\n'
            'init = "{init}"\n[[monitors]]\nname = "singular_values"\ntheory = true\n')
    for widths, init, words in (("[4]", "balanced", 'init = "aligned"'),
                                ("[4, 4]", "aligned", "one hidden layer")):
        path = tmp_path / "s.toml"
        path.write_text(base.format(widths=widths, init=init))
        with pytest.raises(ScenarioError) as err:
            load_scenario(path)
        assert "monitors[0].theory" in str(err.value) and words in str(err.value)


def test_command_line_edges(tmp_path, capsys, monkeypatch):
    """--version; a shipped scenario by name; 'did you mean' on a key typo; a
    bare path in --set; after --set, the refusal of a directory holding the
    plain run goes to a directory named after the overrides, saying so."""
    from scenario_texts import TINY_PROBLEM

    from mfsim.cli import main

    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.strip() == f"mfsim {mfsim.__version__}"
    monkeypatch.chdir(tmp_path)
    assert main(["check", "quickstart"]) == 0
    assert "scenarios/quickstart.toml: ok" in capsys.readouterr().out
    assert main(["check", "quickstart", "--set", "system.widht=64"]) == 2
    assert "system.widht: unknown key; did you mean 'width'?" in capsys.readouterr().err
    (tmp_path / "s.toml").write_text('name = "edges"\n' + TINY_PROBLEM + "[solver]\nt1 = 1.0\n"
                                     "[save]\nn = 3\n[output]\nfigures = []\n")
    assert main(["check", "s.toml", "--set", "output.dir=runs/elsewhere"]) == 0
    capsys.readouterr()
    assert main(["run", "s.toml", "--quiet"]) == 0
    plain = (tmp_path / "runs" / "edges" / "results.nc").read_bytes()
    capsys.readouterr()
    assert main(["run", "s.toml", "--quiet", "--set", "system.width=4"]) == 0
    err = capsys.readouterr().err
    assert ("mfsim: note: s.toml: runs/edges holds the run without these --set values; "
            "writing to runs/edges+system.width=4") in err, err
    derived = tmp_path / "runs" / "edges+system.width=4"
    assert mfsim.open_results(derived).sizes["t"] == 3
    assert (tmp_path / "runs" / "edges" / "results.nc").read_bytes() == plain  # untouched
    # the same overrides again: resumed in the derived directory, the note again
    assert main(["run", "s.toml", "--quiet", "--set", "system.width=4"]) == 0
    assert "writing to runs/edges+system.width=4" in capsys.readouterr().err


def test_a_checked_initial_state_for_a_centred_two_layer_network():
    """make_state builds the state from one's own arrays (cast to the
    network's dtype, centred at them so f = 0 at the start), equal to what
    init builds from the same arrays; wrong shapes, a missing or extra bias
    and non-finite values are refused naming the argument."""
    import numpy as np

    data = mfsim.teacher_task(jax.random.key(0), d=3, n_train=6, n_test=4, dtype=jnp.float64)
    net = mfsim.TwoLayerNetwork(data.x_train, data.y_train, width=5, center=True, bias=True)
    ref = net.init(jax.random.key(1))
    p = ref.params
    state = net.make_state(np.asarray(p.v).tolist(), p.w, p.b)  # a list is cast
    for a, b in zip(jax.tree.leaves(state), jax.tree.leaves(ref)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(net.train_outputs(state), 0.0)
    other = net.init(jax.random.key(2)).params
    moved = net.make_state(p.v, p.w, p.b, anchor=other)
    expected = net.alpha * (net.raw_output(p, data.x_train) - net.raw_output(other, data.x_train))
    np.testing.assert_allclose(net.train_outputs(moved), expected, rtol=1e-12)
    for kwargs, words in (({"w": np.zeros((5, 4))}, "w: needs shape (5, 3)"),
                          ({"b": None}, "b: the network has biases"),
                          ({"v": np.full(5, np.nan)}, "v: has values that are not finite")):
        args = {"v": p.v, "w": p.w, "b": p.b, **kwargs}
        with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
            net.make_state(**args)
    plain = mfsim.TwoLayerNetwork(data.x_train, data.y_train, width=5)
    with pytest.raises(ValueError, match="b: the network has no bias"):
        plain.make_state(p.v, p.w, p.b)


def test_the_two_layer_network_takes_the_richness_knob_gamma0():
    """system.gamma0 = 1/scale (the knob's name in system mlp): the same run
    as the equivalent scale; both at once are refused naming the key; a
    sweep over gamma0 needs no base value."""
    import numpy as np

    base = {"name": "g", "dtype": "float64", "task": {"d": 3, "n_train": 8, "n_test": 4},
            "solver": {"t1": 1.0}, "save": {"n": 3}}
    by_scale = mfsim.run({**base, "system": {"width": 8, "scale": 4.0}})
    by_gamma = mfsim.run({**base, "system": {"width": 8, "gamma0": 0.25}})
    np.testing.assert_array_equal(by_gamma.train_loss.values, by_scale.train_loss.values)
    with pytest.raises(mfsim.ScenarioError, match=r"system\.gamma0: set scale or gamma0"):
        mfsim.validate_scenario({**base, "system": {"scale": 4.0, "gamma0": 0.25}})
    swept = mfsim.run({**base, "system": {"width": 8}}, system__gamma0=[0.25, 1.0])
    np.testing.assert_array_equal(swept.train_loss.sel(gamma0=0.25).values,
                                  by_scale.train_loss.values)
