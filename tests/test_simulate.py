"""simulate(): save times, solvers, failure handling, compile caching."""

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

import mfsim


class LinearFlow(mfsim.AbstractGradientFlowSystem):
    """J(theta) = 1/2 theta^T A theta: gradient flow theta' = -tau A theta."""

    a: jax.Array
    tau: jax.Array

    def init(self, key):
        return jax.random.normal(key, (self.a.shape[0],), self.a.dtype)

    def objective(self, state):
        return 0.5 * state @ self.a @ state

    def time_scale(self):
        return self.tau


class Energy(mfsim.AbstractMonitor):
    def __call__(self, t, state, ref):
        return {"energy": ref.system.objective(state)}

    def variables(self):
        return mfsim.Variable.plain({"energy": "objective"})


@pytest.fixture(scope="module")
def flow():
    m = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, 0.2], [0.0, 0.2, 0.5]])
    return LinearFlow(jnp.asarray(m), jnp.asarray(1.5))


def test_save_times():
    np.testing.assert_allclose(mfsim.save_times(2.0, 5), [0, 0.5, 1, 1.5, 2])
    ts = mfsim.save_times(100.0, 4, spacing="log", t_first=1.0)
    np.testing.assert_allclose(ts, [0, 1, 10, 100])
    with pytest.raises(ValueError, match="spacing"):
        mfsim.save_times(1.0, 3, spacing="cubic")


@pytest.mark.parametrize("solver", ["heun", "bosh3", "tsit5", "dopri5", "dopri8", "kvaerno5"])
def test_adaptive_solvers_match_matrix_exponential(solver, flow, key):
    # closed form theta(t) = expm(-tau A t) theta0
    y0 = flow.init(key)
    ts = np.array([0.0, 0.5, 2.0])
    # heun (2nd order) and bosh3 (3rd): a looser tolerance keeps their step counts sane
    tol, rtol = {"heun": (1e-8, 1e-5), "bosh3": (1e-9, 1e-6)}.get(solver, (1e-10, 1e-8))
    method = {"heun": diffrax.Heun, "bosh3": diffrax.Bosh3, "tsit5": diffrax.Tsit5,
              "dopri5": diffrax.Dopri5,
              "dopri8": diffrax.Dopri8, "kvaerno5": diffrax.Kvaerno5}[solver]()
    traj = mfsim.simulate(flow, y0, mfsim.SolveSettings.of(method, t1=2.0, rtol=tol, atol=tol * 1e-2),
                          save_times=ts, monitors=[Energy()])
    assert traj.succeeded
    want = scipy.linalg.expm(-1.5 * 2.0 * np.asarray(flow.a)) @ np.asarray(y0)
    np.testing.assert_allclose(traj.final_state, want, rtol=rtol)
    energies = [0.5 * z @ np.asarray(flow.a) @ z for z in
                (scipy.linalg.expm(-1.5 * t * np.asarray(flow.a)) @ np.asarray(y0) for t in ts)]
    np.testing.assert_allclose(traj.values["energy"], energies, rtol=rtol)


def test_euler_save_times_snap_to_iterates(flow, key):
    y0 = flow.init(key)
    traj = mfsim.simulate(flow, y0, mfsim.SolveSettings.of(diffrax.Euler(), t1=1.0, dt=0.1),
                          save_times=[0.0, 0.26, 0.5, 1.0], monitors=[Energy()])
    np.testing.assert_allclose(traj.ts, [0.0, 0.3, 0.5, 1.0], atol=1e-12)
    step = np.eye(3) - 0.1 * 1.5 * np.asarray(flow.a)
    want = np.linalg.matrix_power(step, 10) @ np.asarray(y0)
    np.testing.assert_allclose(traj.final_state, want, rtol=1e-12)


def test_max_steps_keeps_partial_trajectory(flow, key):
    traj = mfsim.simulate(flow, key,
                          mfsim.SolveSettings.of(diffrax.Euler(), t1=100.0, dt=0.01, max_steps=50),
                          save_times=np.linspace(0, 100, 11), monitors=[Energy()])
    assert not traj.succeeded and "maximum number of solver steps" in traj.status
    assert float(traj.t_final) == pytest.approx(0.5)
    assert traj.n_saved == 1 and np.isinf(np.asarray(traj.ts)[1:]).all()
    # issue 34 item 8: the values not saved are NaN (not an energy of inf)
    energy = np.asarray(traj.values["energy"])
    assert np.isfinite(energy[0]) and np.isnan(energy[1:]).all()


def test_a_tolerance_the_dtype_cannot_meet_is_refused(flow):
    """issue 34 item 8: rtol = 1e-12 on a float32 state ran 100,000 steps
    into max_steps; it is refused in one line before anything is compiled,
    and so is the scenario equivalent, in mfsim check too."""
    flow32 = LinearFlow(flow.a.astype(jnp.float32), jnp.asarray(1.5, jnp.float32))
    with pytest.raises(ValueError) as e:
        mfsim.simulate(flow32, jnp.ones(3, jnp.float32),
                       mfsim.SolveSettings.of(diffrax.Tsit5(), t1=1.0, rtol=1e-12), n_save=2)
    assert str(e.value) == (
        "rtol = 1e-12 is below what float32 resolves (4 eps = 4.8e-07): use a float64 state "
        "(jax.config.update('jax_enable_x64', True), dtype=jnp.float64), or rtol >= 4.8e-07")
    with pytest.raises(ValueError, match="rtol = 1e-12 is below what float32 resolves"):
        mfsim.simulate_batch([flow32, flow32], [jnp.ones(3, jnp.float32)] * 2,
                             mfsim.SolveSettings.of(diffrax.Tsit5(), t1=1.0, rtol=1e-12), n_save=2)
    mfsim.simulate(flow32, jnp.ones(3, jnp.float32),
                   mfsim.SolveSettings.of(diffrax.Tsit5(), t1=0.1, rtol=1e-6), n_save=2)  # default ok
    # fixed steps: no tolerance to meet
    mfsim.simulate(flow32, jnp.ones(3, jnp.float32),
                   mfsim.SolveSettings.of(diffrax.Euler(), t1=0.1, dt=0.05, rtol=1e-12), n_save=2)
    base = {"name": "x", "solver": {"t1": 1.0, "rtol": 1e-12}}
    with pytest.raises(mfsim.ScenarioError) as e:
        mfsim.validate_scenario(base, "x.toml")
    assert str(e.value) == ('x.toml: solver.rtol: 1e-12 is below what float32 resolves (4 eps = '
                            '4.8e-07): use dtype = "float64", or solver.rtol >= 4.8e-07')
    assert mfsim.validate_scenario({**base, "dtype": "float64"}).solver.rtol == 1e-12


def test_second_run_does_not_recompile(flow, key):
    kw = dict(save_times=np.linspace(0, 1, 4), monitors=[Energy()])
    mfsim.simulate(flow, key, mfsim.SolveSettings.of(diffrax.Tsit5(), t1=1.0), **kw)
    other = LinearFlow(flow.a * 2, jnp.asarray(0.7))  # new values, same shapes
    traj = mfsim.simulate(other, jax.random.key(3), mfsim.SolveSettings.of(diffrax.Tsit5(), t1=1.0), **kw)
    assert traj.stats["compile_time"] == 0.0


def test_integer_seed_is_a_key(flow):
    a = mfsim.simulate(flow, 7, mfsim.SolveSettings.of(diffrax.Tsit5(), t1=0.1), n_save=2)
    b = mfsim.simulate(flow, flow.init(jax.random.key(7)),
                       mfsim.SolveSettings.of(diffrax.Tsit5(), t1=0.1), n_save=2)
    np.testing.assert_array_equal(a.final_state, b.final_state)


def test_settings_take_solver_objects_and_refuse_what_cannot_run(flow):
    with pytest.raises(TypeError, match="solver must be a diffrax solver object .*got 'tsit5': "
                       "names are for scenario files"):
        mfsim.SolveSettings.of("tsit5", t1=1.0)
    with pytest.raises(ValueError, match="needs a positive dt"):
        mfsim.SolveSettings.of(diffrax.Euler(), t1=1.0)
    with pytest.raises(ValueError, match="Euler has no error estimate: it takes fixed steps"):
        mfsim.SolveSettings.of(diffrax.Euler(), t1=1.0, dt=0.1, adaptive=True)
    with pytest.raises(ValueError, match="rtol and atol must be positive"):
        mfsim.SolveSettings.of(diffrax.Tsit5(), t1=1.0, rtol=0.0)
    settings = mfsim.SolveSettings.of(diffrax.Tsit5(), t1=1.0, rtol=1e-3, atol=1e-4)
    assert isinstance(settings.controller, diffrax.PIDController)
    assert settings.controller.rtol == 1e-3 and settings.adaptive
    fixed = mfsim.SolveSettings.of(diffrax.Tsit5(), t1=1.0, dt=0.25, adaptive=False)
    assert isinstance(fixed.controller, diffrax.ConstantStepSize) and fixed.dt0 == 0.25
    with pytest.raises(TypeError, match="settings must be a SolveSettings"):
        mfsim.simulate(flow, 0, None)


def test_solver_and_controller_objects_equal_their_names(flow):
    """Objects at the core: a controller passed as an object gives bitwise the
    run of the one SolveSettings.of builds from rtol/atol, and a
    SolveSettings built once (save times included) is what the scheduler
    carries."""
    ts = np.linspace(0.0, 2.0, 5)
    by_name = mfsim.simulate(flow, 0,
                             mfsim.SolveSettings.of(diffrax.Dopri5(), t1=2.0, rtol=1e-8, atol=1e-10),
                             save_times=ts, monitors=[Energy()])
    by_object = mfsim.simulate(flow, 0,
                               mfsim.SolveSettings.of(
                                   diffrax.Dopri5(), t1=2.0,
                                   controller=diffrax.PIDController(rtol=1e-8, atol=1e-10)),
                               save_times=ts, monitors=[Energy()])
    settings = mfsim.SolveSettings.of(diffrax.Dopri5(), t1=2.0, rtol=1e-8, atol=1e-10,
                                      save_times=ts)
    by_settings = mfsim.simulate(flow, 0, settings, monitors=[Energy()])
    for traj in (by_object, by_settings):
        np.testing.assert_array_equal(traj.values["energy"], by_name.values["energy"])
    assert settings.adaptive and settings.key() == mfsim.SolveSettings.of(
        diffrax.Dopri5(), t1=2.0, rtol=1e-8, atol=1e-10, save_times=ts).key()
    # Euler object: no error estimate, so a constant step (gradient descent)
    gd = mfsim.SolveSettings.of(diffrax.Euler(), t1=2.0, dt=0.5, save_times=ts)
    assert not gd.adaptive
    with pytest.raises(ValueError, match="fixed-step solve needs a positive dt"):
        mfsim.SolveSettings.of(diffrax.Euler(), t1=2.0)
    with pytest.raises(TypeError, match="unexpected keyword argument 't1'"):
        mfsim.simulate(flow, 0, settings, t1=2.0)  # the settings carry the interval
