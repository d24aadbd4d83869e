"""mfsim.StopWhen: a flow stops at the crossing time (against the closed form
of the constant-kernel flow, root by scipy's brentq), gradient descent after
the first step a hand-written loop finds."""

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import brentq

import mfsim


def rbf(x1, x2):
    return jnp.exp(-jnp.sum((x1[:, None] - x2[None]) ** 2, -1))


@pytest.fixture(scope="module")
def kernel_flow():
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(6, 2)))
    y = jnp.asarray(rng.normal(size=6))
    return mfsim.ConstantKernelFlow(rbf, lambda z: jnp.zeros(z.shape[0]), x, y, time_scale=2.0)


def closed_form_loss(ck):
    """L(t) = (1/2n) sum_i c_i^2 exp(-2 tau lambda_i t / n), c = V^T (f0 - y) (numpy eigh)."""
    K = np.asarray(rbf(ck.x_train, ck.x_train))
    lam, V = np.linalg.eigh(0.5 * (K + K.T))
    c = V.T @ (0.0 - np.asarray(ck.y_train))
    n = K.shape[0]
    return lambda t: float(np.sum(c**2 * np.exp(-2 * 2.0 * lam * t / n)) / (2 * n))


def test_a_flow_stops_at_the_crossing_time(kernel_flow):
    """train_loss below L(0)/100: t_stop equals the closed form's crossing to
    1e-8 (relative), the final loss is the level, later saves unreached."""
    L = closed_form_loss(kernel_flow)
    level = L(0.0) / 100
    t_star = brentq(lambda t: L(t) - level, 0.0, 1e3, xtol=1e-15, rtol=1e-15)
    settings = mfsim.SolveSettings.of(diffrax.Tsit5(), t1=1e3, rtol=1e-12, atol=1e-14,
                                      n_save=11)
    traj = mfsim.simulate(kernel_flow, kernel_flow.init(), settings, [mfsim.TrainLoss()],
                          stop=mfsim.StopWhen("train_loss", below=level))
    assert traj.status == "stopped" and traj.succeeded
    assert traj.t_stop == pytest.approx(t_star, rel=1e-8)
    final = float(kernel_flow.loss(traj.final_state))
    assert final == pytest.approx(level, rel=1e-8)
    ts, loss = np.asarray(traj.ts), np.asarray(traj.values["train_loss"])
    reached = np.isfinite(ts)
    assert reached[0] and not reached[-1]
    assert np.all(np.isnan(loss[~reached]))
    # the stop is the last save, its monitors evaluated at the stopped state
    last = int(np.sum(reached)) - 1
    assert ts[last] == traj.t_stop and np.all(np.diff(ts[reached]) > 0)
    assert loss[last] == pytest.approx(level, rel=1e-8)


def test_a_flow_stops_on_a_plateau_where_its_rate_crosses(kernel_flow):
    """changes_below = delta over Dt: the stop is where |dL/dt| Dt = delta, the
    closed form's dL/dt = -(1/2n) sum c_i^2 (2 tau lambda_i / n) exp(-2 tau
    lambda_i t / n), to 1e-8 (brentq on it)."""
    K = np.asarray(rbf(kernel_flow.x_train, kernel_flow.x_train))
    lam, V = np.linalg.eigh(0.5 * (K + K.T))
    c = V.T @ (0.0 - np.asarray(kernel_flow.y_train))
    n, tau = K.shape[0], 2.0

    def rate(t):
        return float(np.sum(c**2 * (2 * tau * lam / n) * np.exp(-2 * tau * lam * t / n))
                     / (2 * n))

    over, delta = 5.0, rate(0.0) * 5.0 / 1000
    t_star = brentq(lambda t: rate(t) * over - delta, 0.0, 1e3, xtol=1e-15, rtol=1e-15)
    settings = mfsim.SolveSettings.of(diffrax.Tsit5(), t1=1e3, rtol=1e-12, atol=1e-14,
                                      n_save=11)
    rule = mfsim.StopWhen("train_loss", changes_below=delta, over=over)
    assert rule.describe() == f"train_loss changes less than {delta:g} over 5"
    traj = mfsim.simulate(kernel_flow, kernel_flow.init(), settings, [mfsim.TrainLoss()],
                          stop=rule)
    assert traj.status == "stopped"
    assert traj.t_stop == pytest.approx(t_star, rel=1e-8)


def test_gradient_descent_stops_on_a_plateau_as_a_hand_loop_does():
    """The plateau rule under GD: after the first step whose state has
    |grad L . F| Dt <= delta (F the flow's vector field), as a hand loop finds."""
    rng = np.random.default_rng(2)
    x = jnp.asarray(rng.normal(size=(8, 3)))
    y = jnp.asarray(np.sin(np.asarray(x[:, 0])))
    net = mfsim.TwoLayerNetwork(x, y, width=16, activation="tanh")
    state0 = net.init(jax.random.key(1))
    dt, over = 0.05, 1.0
    field = jax.jit(lambda s: net.vector_field(0.0, s, None))
    rate = jax.jit(lambda s: jax.jvp(net.loss, (s,), (field(s),))[1])
    delta = abs(float(rate(state0))) * over / 50
    w, k = state0, 0
    while True:
        w = jax.tree.map(lambda a, b: a + dt * b, w, field(w))
        k += 1
        if abs(float(rate(w))) * over <= delta:
            break
    settings = mfsim.SolveSettings.of(diffrax.Euler(), t1=dt * 4000, dt=dt, n_save=5)
    traj = mfsim.simulate(net, state0, settings, [mfsim.TrainLoss()],
                          stop=mfsim.StopWhen("train_loss", changes_below=delta, over=over))
    assert traj.status == "stopped"
    assert round(traj.t_stop / dt) == k and 1 < k < 4000


@pytest.mark.slow  # ~3 s
def test_a_rule_never_met_runs_to_the_end(kernel_flow):
    settings = mfsim.SolveSettings.of(diffrax.Tsit5(), t1=5.0, n_save=3)
    traj = mfsim.simulate(kernel_flow, kernel_flow.init(), settings, [mfsim.TrainLoss()],
                          stop=mfsim.StopWhen("train_loss", above=1e9))
    assert traj.status == "success" and traj.t_stop is None


def test_gradient_descent_stops_after_the_first_step_meeting_the_rule():
    """A two-layer network by GD (Euler, dt 0.05): the stop step and the
    state after it equal a hand loop's w <- w + dt F(w), tested after each step."""
    rng = np.random.default_rng(1)
    x = jnp.asarray(rng.normal(size=(8, 3)))
    y = jnp.asarray(np.sin(np.asarray(x[:, 0])))
    net = mfsim.TwoLayerNetwork(x, y, width=16, activation="tanh")
    state0 = net.init(jax.random.key(0))
    level = float(net.loss(state0)) / 20
    dt = 0.05
    field = jax.jit(lambda s: net.vector_field(0.0, s, None))
    w, k = state0, 0
    while float(net.loss(w)) > level:
        w = jax.tree.map(lambda a, b: a + dt * b, w, field(w))
        k += 1
    settings = mfsim.SolveSettings.of(diffrax.Euler(), t1=dt * 4000, dt=dt, n_save=5)
    traj = mfsim.simulate(net, state0, settings, [mfsim.TrainLoss()],
                          stop=mfsim.StopWhen("train_loss", below=level))
    assert traj.status == "stopped"
    assert round(traj.t_stop / dt) == k and 1 < k < 4000
    ts, loss = np.asarray(traj.ts), np.asarray(traj.values["train_loss"])
    last = int(np.sum(np.isfinite(ts))) - 1
    assert ts[last] == traj.t_stop
    np.testing.assert_allclose(loss[last], float(net.loss(w)), rtol=1e-12)
    for a, b in zip(jax.tree.leaves(traj.final_state), jax.tree.leaves(w)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_bad_rules_are_refused(kernel_flow):
    with pytest.raises(ValueError, match="exactly one of below=, above= and changes_below="):
        mfsim.StopWhen("train_loss")
    with pytest.raises(ValueError, match="exactly one"):
        mfsim.StopWhen("train_loss", below=1.0, above=2.0)
    with pytest.raises(ValueError, match="changes_below= goes with over="):
        mfsim.StopWhen("train_loss", changes_below=1e-3)
    with pytest.raises(ValueError, match="changes_below= goes with over="):
        mfsim.StopWhen("train_loss", below=1.0, over=2.0)
    with pytest.raises(ValueError, match="must be > 0"):
        mfsim.StopWhen("train_loss", changes_below=1e-3, over=-1.0)
    settings = mfsim.SolveSettings.of(diffrax.Tsit5(), t1=1.0, n_save=3)
    with pytest.raises(ValueError, match="no monitor records 'test_loss'; recorded: train_loss"):
        mfsim.simulate(kernel_flow, kernel_flow.init(), settings, [mfsim.TrainLoss()],
                       stop=mfsim.StopWhen("test_loss", below=1.0))


@pytest.mark.slow  # ~8 s
def test_a_segmented_solve_stops_where_one_solve_does(kernel_flow):
    """checkpoint_every = 2 save points: the segment holding the crossing
    stops, the later ones are not run; t_stop as unsegmented to 1e-10."""
    level = float(kernel_flow.loss(kernel_flow.init())) / 100
    settings = mfsim.SolveSettings.of(diffrax.Tsit5(), t1=1e3, rtol=1e-12, atol=1e-14,
                                      n_save=51)
    rule = mfsim.StopWhen("train_loss", below=level)
    one = mfsim.simulate(kernel_flow, kernel_flow.init(), settings, [mfsim.TrainLoss()],
                         stop=rule)
    parts = mfsim.simulate(kernel_flow, kernel_flow.init(), settings, [mfsim.TrainLoss()],
                           stop=rule, checkpoint_every=2)
    assert parts.status == "stopped" and parts.stats["segments"] == 25
    assert parts.t_stop == pytest.approx(one.t_stop, rel=1e-10)
    reached = np.isfinite(np.asarray(parts.ts))
    np.testing.assert_array_equal(reached, np.isfinite(np.asarray(one.ts)))


STOPPED = {"name": "stop", "dtype": "float64", "seed": 0,
           "task": {"kind": "teacher", "d": 3, "n_train": 16, "n_test": 16},
           "system": {"kind": "two_layer", "width": 16, "activation": "tanh"},
           "solver": {"name": "euler", "learning_rate": 0.5, "steps": 4000,
                      "stop": {"train_loss": {"below": 2e-3}}},
           "save": {"n": 41}, "monitors": [{"name": "train_loss"}, {"name": "sharpness"}]}


@pytest.mark.slow  # ~20 s
def test_scenario_stop_records_when(tmp_path):
    """[solver.stop] in a sweep: each point stops (status stopped, a
    success), records t_stop and step_stop (also in summary.csv), and the
    network's GD stopped at the step simulate() finds for the same system; the
    sweep summary draws the time to target against the width (lint-clean)."""
    scenario = {**STOPPED, "sweep": {"grid": {"system.width": [16, 32, 64]}}}
    r = mfsim.run_scenario(mfsim.validate_scenario(scenario), out=tmp_path)
    assert r.succeeded and not r.failed
    ds = r.dataset
    status = ds["status"].values.tolist() if "status" in ds else [ds.attrs["status"]] * 3
    assert status == ["stopped"] * 3
    steps = np.asarray(ds["step_stop"].values)
    np.testing.assert_allclose(ds["t_stop"].values, steps * 0.5 / np.array([16, 32, 64]))
    from mfsim.plotting import lint
    from mfsim.plotting.summary import sweep_metrics, sweep_summary_figure

    assert sweep_metrics(ds)[0] == ("t_stop", "point")
    assert ds["t_stop"].attrs["long_name"] == "time to target"
    assert (tmp_path / "vs_width.png").stat().st_size > 0
    assert lint(sweep_summary_figure(ds, "width")) == []
    summary = (tmp_path / "summary.csv").read_text()
    assert "t_stop" in summary.splitlines()[0] and "step_stop" in summary.splitlines()[0]
    from mfsim._scenario.build import build

    built = build(mfsim.validate_scenario({**STOPPED}))
    traj = mfsim.simulate(built.system, built.state0, built.settings, built.monitors,
                          stop=built.stop)
    assert traj.t_stop == pytest.approx(float(ds["t_stop"].values[0]), rel=1e-12)


@pytest.mark.parametrize("stop, message", [
    ({"test_loss": {"below": 1.0}}, "solver.stop.test_loss: no monitor records 'test_loss'"),
    ({"sharpness": {"above": 1.0}}, "solver.stop.sharpness: a stopping rule needs a scalar"),
    ({"train_loss": {"below": 1.0, "above": 2.0}}, "exactly one of below, above and "
     "changes_below"),
    ({"train_loss": {"changes_below": 1e-3}}, "solver.stop.train_loss.over: changes_below "
     "goes with over"),
    ({"train_loss": {"below": 1.0}, "sharpness": {"above": 1.0}}, "one stopping rule"),
])
def test_scenario_stop_refusals(stop, message, tmp_path):
    scenario = {**STOPPED, "solver": {**STOPPED["solver"], "stop": stop}}
    with pytest.raises(mfsim.ScenarioError, match=message):
        mfsim.run_scenario(mfsim.validate_scenario(scenario), out=tmp_path)
