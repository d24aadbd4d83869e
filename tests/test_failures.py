"""G2: numerical failure is detected inside the solve, the point stops, its
trajectory up to the failure is kept with a status and the failure time, and a
sweep goes on with its other points (CLI exit status 3)."""

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scenario_texts import TINY_PROBLEM

import mfsim
from mfsim._solve.core import STATUS_DIVERGED, STATUS_DT_MIN, STATUS_NON_FINITE
from mfsim.cli import main


class Scalar(mfsim.AbstractSystem):
    """y' = f(t, y) for a scalar y, from y(0) = y0."""

    y0: jax.Array
    kind: str = "blowup"

    def init(self, key):
        return self.y0

    def vector_field(self, t, y, args):
        if self.kind == "blowup":  # y' = y^2: y = y0 / (1 - y0 t), infinite at t = 1 / y0
            return y**2
        if self.kind == "sqrt":  # y' = -sqrt(y): NaN once a step overshoots below 0
            return -jnp.sqrt(y)
        return jnp.sqrt(0.5 - t) + 0 * y  # y' = sqrt(1/2 - t): NaN past t = 1/2


class Value(mfsim.AbstractMonitor):
    def __call__(self, t, state, ref):
        return {"y": state}

    def variables(self):
        return mfsim.Variable.plain({"y": "y"})


def test_blow_up_in_finite_time_is_caught_at_the_closed_form_time():
    # adaptive Tsit5 follows y = 1/(1 - t) until |y| > 1e8 (the default divergence
    # bound times max(1, |y0|) = 1): that is at t = 1 - 1e-8
    traj = mfsim.simulate(Scalar(jnp.asarray(1.0)), jnp.asarray(1.0),
                          mfsim.SolveSettings.of(diffrax.Tsit5(), t1=2.0, rtol=1e-8, atol=1e-10),
                          save_times=np.linspace(0, 2, 21), monitors=[Value()])
    assert traj.status == STATUS_DIVERGED
    assert float(traj.t_final) == pytest.approx(1.0, abs=1e-6)
    saved = np.asarray(traj.values["y"])[: traj.n_saved]
    ts = np.asarray(traj.ts)[: traj.n_saved]
    assert traj.n_saved == 10  # t = 0, 0.1, ..., 0.9 were reached
    np.testing.assert_allclose(saved, 1 / (1 - ts), rtol=1e-6)
    assert float(traj.final_state) > 1e8


def test_nan_under_gradient_descent_like_iteration_stops_at_that_step():
    # Euler on y' = -sqrt(y), dt = 0.3: y_{k+1} = y_k - 0.3 sqrt(y_k) goes negative
    # at some step k*, and y_{k*+1} is NaN: the solve stops at t = 0.3 (k* + 1)
    y, k = 1.0, 0
    while y >= 0:
        y, k = y - 0.3 * np.sqrt(y), k + 1
    traj = mfsim.simulate(Scalar(jnp.asarray(1.0), "sqrt"), jnp.asarray(1.0),
                          mfsim.SolveSettings.of(diffrax.Euler(), t1=30.0, dt=0.3),
                          save_times=np.linspace(0, 30, 101), monitors=[Value()])
    assert traj.status == STATUS_NON_FINITE
    assert float(traj.t_final) == pytest.approx(0.3 * (k + 1))
    assert np.isnan(float(traj.final_state))
    assert traj.stats["num_steps"] == k + 1


def test_step_size_collapse():
    # past t = 1/2 the field is NaN: every step across it is rejected, the step
    # shrinks to its minimum (eps t1 / 1000) and the solve stops there
    traj = mfsim.simulate(Scalar(jnp.asarray(0.0), "wall"), jnp.asarray(0.0),
                          mfsim.SolveSettings.of(diffrax.Tsit5(), t1=1.0, rtol=1e-10, atol=1e-12),
                          save_times=np.linspace(0, 1, 11), monitors=[Value()])
    assert traj.status == STATUS_DT_MIN
    assert float(traj.t_final) == pytest.approx(0.5, abs=1e-6)
    # y(t) = (1/2^{3/2} - (1/2 - t)^{3/2}) 2/3, saved exactly up to t = 0.5
    ts = np.asarray(traj.ts)[: traj.n_saved]
    want = (2 / 3) * (0.5**1.5 - (0.5 - ts) ** 1.5)
    np.testing.assert_allclose(np.asarray(traj.values["y"])[: traj.n_saved], want,
                               rtol=1e-6, atol=1e-12)


class OwnTimes(mfsim.AbstractMonitor):
    """y at save times of its own (as particle snapshots are)."""

    times: tuple

    def __call__(self, t, state, ref):
        return {"y_own": state}

    def variables(self):
        return mfsim.Variable.plain({"y_own": "y at its own times"})

    def save_times(self):
        return np.asarray(self.times)


@pytest.mark.parametrize("solver", ["tsit5", "euler"])
def test_a_solve_failing_at_its_first_step_keeps_t0(solver):
    """y' = sqrt(1/2 - t) from t0 = 0.75: the field is NaN from the start.
    Adaptive: no step is ever accepted (diffrax alone saves nothing); Euler:
    the first step ends in NaN at t0 + dt (diffrax alone saves NaN at t0, its
    interpolation y0 + 0 * NaN). Either way t0 reports the initial state, for
    the shared save times and a monitor's own."""
    t0, y0 = 0.75, jnp.asarray(2.5)
    method = (diffrax.Euler(), dict(dt=0.25)) if solver == "euler" else (diffrax.Tsit5(), {})
    settings = mfsim.SolveSettings.of(method[0], t1=1.5, t0=t0, **method[1])
    traj = mfsim.simulate(Scalar(y0, "wall"), y0, settings, save_times=[t0, 1.0, 1.5],
                          monitors=[Value(), OwnTimes((t0, 1.25))])
    ts = np.asarray(traj.ts)
    if solver == "euler":  # stopped by the guard after the step that made the NaN
        assert traj.status == STATUS_NON_FINITE and float(traj.t_final) == 1.0
        assert traj.n_saved == 2 and np.isnan(float(traj.values["y"][1]))
    else:
        assert traj.status == STATUS_DT_MIN
        assert float(traj.t_final) == pytest.approx(t0, abs=1e-6)
        assert traj.n_saved == 1 and not np.isfinite(ts[1])
    assert ts[0] == t0 and float(traj.values["y"][0]) == 2.5  # exactly y0
    own = np.asarray(traj.value_ts["y_own"])
    assert own[0] == t0 and not np.isfinite(own[1]) and float(traj.values["y_own"][0]) == 2.5


TOO_LARGE_STEP = """
name = "lr_sweep"
""" + TINY_PROBLEM + """[solver]
name = "euler"
t1 = 400.0
dt = 0.1
[save]
n = 11
[sweep]
batch = {batch}
[sweep.grid]
"solver.dt" = [0.1, 50.0, 0.2]
"""


@pytest.mark.parametrize("batch", [1, 3])
def test_a_diverging_point_does_not_stop_the_sweep(batch, tmp_path, capsys, monkeypatch):
    # gradient descent with a learning rate far beyond 2 / (largest Hessian
    # eigenvalue) blows up; the points around it train normally
    path = tmp_path / "lr.toml"
    path.write_text(TOO_LARGE_STEP.format(batch=batch))
    monkeypatch.chdir(tmp_path)
    code = main(["run", str(path), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 3
    assert err[0] == (f"mfsim: {path}: point solver.dt=50.0: the network's solve stopped at "
                      f"step 3 ({STATUS_DIVERGED})")
    assert err[-1].startswith(f"mfsim: {path}: the network failed at 1 of 3 points; all "
                              "results kept in")
    ds = mfsim.open_results(tmp_path / "runs" / "lr_sweep")
    assert list(ds["status"].values) == ["success", STATUS_DIVERGED, "success"]
    np.testing.assert_allclose(ds["t_final"].values, [400.0, 150.0, 400.0])
    loss = ds["train_loss"].values
    assert np.isfinite(loss[[0, 2]]).all() and loss[0, -1] < 1e-2
    # the failed point kept its saves up to the failure at t = 150 (GD step 3),
    # where the loss has overflowed; nothing after
    assert np.isfinite(loss[1, :3]).all() and not np.isfinite(loss[1, 3:]).any()
    assert loss[1, 2] > 1e3 * loss[1, 0]
    summary = (tmp_path / "runs" / "lr_sweep" / "summary.csv").read_text().splitlines()
    assert STATUS_DIVERGED in summary[2]
