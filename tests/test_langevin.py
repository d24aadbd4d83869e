"""Noisy (Langevin) dynamics (issue 20, C3), float64. References: the
Ornstein-Uhlenbeck closed forms (mean and covariance through expm), the Gibbs
density of a double well (KS test), a fine-step solution on the same Brownian
path (strong order), bitwise reproducibility and resumption."""

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate
import scipy.linalg
import scipy.stats

import mfsim


class Wells(mfsim.AbstractGradientFlowSystem):
    """``n`` independent coordinates, each in ``J(x) = a (x^2 - 1)^2 / 4 + c x^2 / 2``:
    a double well (a > 0) or a harmonic well (a = 0): n independent samples."""

    n: int = eqx.field(static=True)
    a: float = 1.0
    c: float = 0.0
    x0: float = 0.0

    def init(self, key):
        return jnp.full((self.n,), self.x0)

    def objective(self, x):
        return jnp.sum(self.a * (x**2 - 1) ** 2 / 4 + self.c * x**2 / 2)

    def time_scale(self):
        return jnp.asarray(1.0)


def _quadratic_twin(kind):
    x = jnp.asarray([[1.0], [-0.5], [0.3]])
    y = jnp.asarray([0.4, -0.2, 0.1])
    if kind == "two_layer":
        net = mfsim.TwoLayerNetwork(x, y, width=2, activation="tanh")
    else:  # per-layer rates r: drift and noise preconditioned alike
        net = mfsim.MLP(x, y, widths=(2,), activation="tanh", parameterization="standard")
    state0 = net.init(jax.random.key(0))
    return mfsim.linearize(net, state0), state0


@pytest.mark.slow  # ~15-25 s each: run by CI after the README's command
@pytest.mark.parametrize("kind", ["two_layer", "mlp_standard"])
def test_ornstein_uhlenbeck_mean_and_covariance_match_the_closed_form(kind):
    # the linearized network: a quadratic objective J = (1/2) th'H th - b'th + c, and
    # dth = -R (tau grad J + lam th) dt + sqrt(2 tau T R) dW: an OU process with
    # M = R (tau H + lam I), Q = 2 tau T R: mean mu_inf + e^{-Mt} (th0 - mu_inf),
    # covariance S_inf - e^{-Mt} S_inf e^{-M't}, M S_inf + S_inf M' = Q
    twin, state0 = _quadratic_twin(kind)
    flat0, unravel = jax.flatten_util.ravel_pytree(state0)
    objective = lambda th: twin.objective(unravel(th))  # noqa: E731
    H = np.asarray(jax.hessian(objective)(flat0))
    b = np.asarray(H @ flat0 - jax.grad(objective)(flat0))
    rates = twin.step_rates(state0)
    r = np.ones(flat0.size) if rates is None else np.asarray(jax.flatten_util.ravel_pytree(
        jax.tree.map(lambda s, q: jnp.full(s.shape, q), state0, rates))[0])
    tau, T, lam, t = float(twin.time_scale()), 0.05, 0.5, 1.5
    A = tau * H + lam * np.eye(H.shape[0])
    M, Q = r[:, None] * A, 2 * tau * T * np.diag(r)
    mean_inf = tau * np.linalg.solve(A, b)
    E = scipy.linalg.expm(-M * t)
    mean = mean_inf + E @ (np.asarray(flat0) - mean_inf)
    s_inf = scipy.linalg.solve_continuous_lyapunov(M, Q)
    cov = s_inf - E @ s_inf @ E.T
    seeds = 600
    noise = mfsim.Langevin(temperature=T, weight_decay=lam, tol=t / 1200)
    steps = 150 if kind == "two_layer" else 600  # the MLP's rates make M stiffer
    trajs = mfsim.simulate_batch([twin] * seeds,
                                 [mfsim.Start(state0, jax.random.key(100 + i)) for i in range(seeds)],
                                 mfsim.SolveSettings.of(diffrax.Euler(), t1=t, dt=t / steps, noise=noise),
                                 n_save=2)
    final = np.stack([np.asarray(jax.flatten_util.ravel_pytree(tr.final_state)[0])
                      for tr in trajs])
    assert all(tr.succeeded for tr in trajs)
    sd = np.sqrt(np.diag(cov))
    se_mean = sd / np.sqrt(seeds)
    assert np.all(np.abs(final.mean(0) - mean) < 3 * se_mean), (final.mean(0) - mean) / se_mean
    var = final.var(0, ddof=1)
    se_var = np.diag(cov) * np.sqrt(2 / (seeds - 1))
    assert np.all(np.abs(var - np.diag(cov)) < 3 * se_var), (var - np.diag(cov)) / se_var
    assert np.all(np.abs(mean - np.asarray(flat0)) > 5 * se_mean)  # it moved


@pytest.mark.slow  # ~11-28 s: keeps the README's command well under 10 min
def test_double_well_stationary_histogram_is_the_gibbs_density():
    T, n = 0.4, 3000
    wells = Wells(n)
    traj = mfsim.simulate(wells, 0,
                          mfsim.SolveSettings.of(diffrax.Euler(), t1=20.0, dt=0.01,
                                                 noise=mfsim.Langevin(temperature=T, tol=0.0025)),
                          n_save=2)
    samples = np.asarray(traj.final_state)
    energy = lambda x: (x**2 - 1) ** 2 / 4  # noqa: E731
    z = scipy.integrate.quad(lambda x: np.exp(-energy(x) / T), -np.inf, np.inf)[0]
    grid = np.linspace(-4, 4, 4001)
    density = np.exp(-energy(grid) / T) / z
    cdf_grid = np.concatenate([[0.0], np.cumsum((density[1:] + density[:-1]) / 2
                                                * np.diff(grid))])
    cdf = lambda x: np.interp(x, grid, cdf_grid)  # noqa: E731
    assert scipy.stats.kstest(samples, cdf).pvalue > 0.01
    # and not the density of another temperature (the test has power)
    other = np.exp(-energy(grid) / (2 * T))
    other_cdf = np.concatenate([[0.0], np.cumsum((other[1:] + other[:-1]) / 2 * np.diff(grid))])
    other_cdf /= other_cdf[-1]
    assert scipy.stats.kstest(samples, lambda x: np.interp(x, grid, other_cdf)).pvalue < 1e-3


SDE_SOLVERS = {"euler": diffrax.Euler, "heun": diffrax.Heun, "sra1": diffrax.SRA1,
               "shark": diffrax.ShARK}


def _strong_errors(solver, dts, fine, n=400, t1=1.0):
    """Mean |X_dt(t1) - X_fine(t1)| over ``n`` paths of dX = -(X^3 - X) dt + dW
    (a double well at T = 1/2), every solve on the same Brownian paths."""
    wells = Wells(n, x0=0.3)
    tol = fine / 8
    noise = mfsim.Langevin(temperature=0.5, tol=tol)

    def end(dt, solver):
        tr = mfsim.simulate(wells, mfsim.Start(wells.init(jax.random.key(0)), 11),
                            mfsim.SolveSettings.of(SDE_SOLVERS[solver](), t1=t1, dt=dt, adaptive=False,
                                                   noise=noise),
                            n_save=2)
        return np.asarray(tr.final_state)

    ref = end(fine, solver)
    return np.asarray([np.mean(np.abs(end(dt, solver) - ref)) for dt in dts])


def test_euler_maruyama_strong_order_on_additive_noise():
    dts = 2.0 ** -np.arange(3, 8)
    errors = _strong_errors("euler", dts, 2.0**-11)
    order = np.polyfit(np.log(dts), np.log(errors), 1)[0]
    print(f"Euler-Maruyama strong order {order:.3f}")
    # additive noise: Euler-Maruyama is the Milstein scheme, strong order 1 (not 0.5)
    assert 0.9 < order < 1.1, order


def test_reproducible_and_resumed_on_the_same_brownian_path():
    wells = Wells(5, x0=0.5)
    noise = mfsim.Langevin(temperature=0.3, weight_decay=0.1)
    settings = mfsim.SolveSettings.of(diffrax.Euler(), t1=1.0, dt=0.01, noise=noise)
    run = lambda **kw: mfsim.simulate(wells, 3, settings, n_save=5, **kw)  # noqa: E731
    a, b = run(), run()
    assert np.array_equal(np.asarray(a.final_state), np.asarray(b.final_state))
    c = mfsim.simulate(wells, mfsim.Start(wells.init(jax.random.key(3)), 4), settings, n_save=5)
    assert not np.allclose(np.asarray(a.final_state), np.asarray(c.final_state))
    seg = run(checkpoint_every=2)
    # segments share the run's Brownian path: they differ from one solve by rounding only
    assert np.max(np.abs(np.asarray(seg.final_state) - np.asarray(a.final_state))) < 1e-12


def test_fixed_steps_draw_each_increment_once_from_the_step_index():
    """A fixed-step Langevin solve (no tol) draws step k's increment from
    fold_in(noise key, k): the run equals a hand-written Euler-Maruyama loop
    on those draws to rounding, in float64."""
    with jax.enable_x64(True):
        wells, dt, steps, temperature, decay = Wells(6, x0=0.4), 0.01, 50, 0.3, 0.1
        key = jax.random.key(7)
        noise = mfsim.Langevin(temperature=temperature, weight_decay=decay)
        got = mfsim.simulate(wells, mfsim.Start(wells.init(key), key), mfsim.SolveSettings.of(
            diffrax.Euler(), t1=dt * steps, dt=dt, noise=noise), n_save=2).final_state
        x = wells.init(key)
        sigma = np.sqrt(2 * temperature)  # sqrt(2 tau T / N), tau = N = 1
        for k in range(steps):
            w = jax.random.normal(jax.random.split(jax.random.fold_in(key, k), 2)[0],
                                  x.shape, x.dtype)
            x = x + dt * (-jax.grad(wells.objective)(x) - decay * x) + sigma * np.sqrt(dt) * w
        np.testing.assert_allclose(np.asarray(got), np.asarray(x), rtol=1e-12, atol=1e-14)


def test_step_increments_have_the_brownian_law_and_follow_the_index():
    """StepIncrements: W ~ N(0, h) and the space-time Levy area H ~ N(0, h/12),
    uncorrelated, over 200,000 steps; a step's draw depends on its index, not
    on the rounding of its time."""
    from mfsim._solve.brownian import StepIncrements

    h, n = 0.25, 200_000
    path = StepIncrements(jax.ShapeDtypeStruct((n,), jnp.float32), diffrax.SpaceTimeLevyArea,
                          jax.random.key(3), jnp.asarray(1.0), jnp.asarray(h))
    t = jnp.asarray(1.0 + 5 * h)
    levy = path.evaluate(t, t + h, use_levy=True)
    w, hh = np.asarray(levy.W, float), np.asarray(levy.H, float)
    se = 4 / np.sqrt(n)  # 4 standard errors of a normalized moment
    assert abs(w.mean() / np.sqrt(h)) < se and abs(w.var() / h - 1) < 4 * np.sqrt(2 / n)
    assert abs(hh.var() / (h / 12) - 1) < 4 * np.sqrt(2 / n)
    assert abs(np.corrcoef(w, hh)[0, 1]) < se
    shifted = np.asarray(path.evaluate(t + 1e-7, t + h), float)  # the same index, 5
    np.testing.assert_allclose(shifted / np.sqrt(h - 1e-7), w / np.sqrt(h), rtol=1e-5)
    other = np.asarray(path.evaluate(t + h, t + 2 * h), float)  # the next step: independent
    assert abs(np.corrcoef(w, other)[0, 1]) < se


def test_zero_temperature_is_the_flow_with_weight_decay():
    wells = Wells(4, a=1.0, c=0.0, x0=0.5)
    decayed = Wells(4, a=1.0, c=0.2, x0=0.5)  # weight decay 0.2 = a quadratic term c x^2 / 2
    noisy = mfsim.simulate(wells, 0,
                           mfsim.SolveSettings.of(diffrax.Euler(), t1=2.0, dt=0.01,
                                                  noise=mfsim.Langevin(temperature=0.0, weight_decay=0.2)),
                           n_save=2)
    flow = mfsim.simulate(decayed, 0, mfsim.SolveSettings.of(diffrax.Euler(), t1=2.0, dt=0.01), n_save=2)
    assert np.allclose(np.asarray(noisy.final_state), np.asarray(flow.final_state),
                       rtol=0, atol=1e-13)


@pytest.mark.slow  # run by CI after the README's command (keeps it under 10 min)
def test_frozen_arrays_neither_diffuse_nor_decay():
    x = jnp.asarray([[1.0, 0.0], [0.0, 1.0]])
    net = mfsim.TwoLayerNetwork(x, jnp.asarray([0.3, -0.1]), width=4, center=True,
                                train=("hidden",))
    tr = mfsim.simulate(net, 0,
                        mfsim.SolveSettings.of(diffrax.Euler(), t1=0.5, dt=0.05,
                                               noise=mfsim.Langevin(temperature=1.0, weight_decay=0.5)),
                        n_save=2)
    s0 = net.init(jax.random.key(0))
    assert np.array_equal(np.asarray(tr.final_state.params.v), np.asarray(s0.params.v))
    assert np.array_equal(np.asarray(tr.final_state.anchor.w), np.asarray(s0.anchor.w))
    assert not np.allclose(np.asarray(tr.final_state.params.w), np.asarray(s0.params.w))


@pytest.mark.slow  # run by CI after the README's command (keeps it under 10 min)
@pytest.mark.parametrize("solver", ["sra1", "shark"])
def test_higher_order_solvers_converge_faster(solver):
    dts = 2.0 ** -np.arange(3, 7)
    errors = _strong_errors(solver, dts, 2.0**-10)
    order = np.polyfit(np.log(dts), np.log(errors), 1)[0]
    print(f"{solver} strong order {order:.3f}")
    assert order > 1.3, order


@pytest.mark.slow  # run by CI after the README's command (keeps it under 10 min)
def test_scenario_temperature_is_langevin_with_the_seeds_noise_key():
    scenario = {
        "name": "noisy", "dtype": "float64", "seed": 5,
        "task": {"kind": "teacher", "d": 2, "n_train": 8, "n_test": 8},
        "system": {"kind": "two_layer", "width": 6, "activation": "tanh"},
        "solver": {"name": "euler", "dt": 0.05, "t1": 1.0},
        "noise": {"temperature": 0.02, "weight_decay": 0.1, "per_particle": True},
        "save": {"n": 3}, "compare": {"linearized": True},
    }
    ds = mfsim.run(scenario)
    # the same run through the Python API: noise key fold_in(key(seed), 1)
    from mfsim._scenario.build import build

    built = build(mfsim.validate_scenario(scenario))
    assert built.settings.noise == mfsim.Langevin(0.02, 0.1, particles=6)
    traj = mfsim.simulate(built.system, mfsim.Start(built.state0, jax.random.fold_in(
        jax.random.key(5), 1)), built.settings, built.monitors)
    assert np.array_equal(ds["train_loss"].values, np.asarray(traj.values["train_loss"]))
    quiet = mfsim.run(scenario, noise__temperature=0.0)
    assert not np.allclose(ds["train_loss"].values[-1], quiet["train_loss"].values[-1])
    # the twin took the same Brownian path: network and twin stay close at small scale
    assert np.all(np.isfinite(ds["lin_train_loss"].values))


@pytest.mark.slow  # run by CI after the README's command (keeps it under 10 min)
def test_langevin_mean_field_shrunk(tmp_path):
    """langevin_mean_field.toml shrunk: each seed's particle measure approaches an
    independent sample of the stationary law (the next seed's final measure);
    w2_to_stationary is exact OT between those clouds; the figure is drawn."""
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scenarios" / "langevin_mean_field.toml"
    r = mfsim.run_scenario(path, out=tmp_path, overrides={
        "system.width": 32, "task.n_train": 32, "save.n": 5, "seed": [0, 1],
        "noise.temperature": [0.01]})
    assert r.succeeded
    ds = r.dataset
    w2 = mfsim.w2_to_stationary(ds).isel(temperature=0)
    assert np.all(w2.values[:, -1] < 0.5 * w2.values[:, 0]), w2.values
    p = ds["particles"].isel(temperature=0)
    direct = np.sqrt(mfsim.exact_w2_squared(p.isel(seed=0, particles_t=1).values,
                                            p.isel(seed=1, particles_t=-1).values))
    np.testing.assert_allclose(w2.isel(seed=0, particles_t=1).values, direct, rtol=1e-12)
    np.testing.assert_array_equal(ds["particles_t"].values, [0, 0.5, 1, 2, 4, 8, 12, 16, 20])
    assert (tmp_path / "w2_stationary.png").stat().st_size > 0


# ------------------------------------------------------------------ SGD noise
class LinearRegression(mfsim.AbstractSupervisedSystem, mfsim.AbstractScalarOutputSystem):
    """f(x) = x . theta with the squared loss: per-row velocities
    v_i = -x_i (x_i . theta - y_i) in closed form (tau = w = 1)."""

    x_train: jax.Array
    y_train: jax.Array
    theta0: jax.Array

    def init(self, key):
        return self.theta0

    def time_scale(self):
        return jnp.asarray(1.0)

    def loss_weight(self):
        return jnp.asarray(1.0)

    def predict(self, theta, x):
        return x @ theta

    def train_outputs(self, theta):
        return self.x_train @ theta

    def ntk(self, theta, x1, x2):
        return x1 @ x2.T


def _regression(n=6, d=3, seed=0):
    rng = np.random.default_rng(seed)
    return LinearRegression(jnp.asarray(rng.normal(size=(n, d))), jnp.asarray(rng.normal(size=n)),
                            jnp.asarray(rng.normal(size=d)))


def test_sgd_noise_diffusion_is_the_batch_gradient_covariance():
    problem = _regression()
    x, y, theta = (np.asarray(a) for a in (problem.x_train, problem.y_train, problem.theta0))
    n = x.shape[0]
    for replacement, factor in [(True, 1.0), (False, (n - 2) / (n - 1))]:
        noise = mfsim.SGDNoise(0.3, 2, replacement=replacement)
        brownian = mfsim.Langevin(0.0, sgd=noise).terms(
            problem, problem.theta0, jax.random.key(0), (0.0, 1.0), diffrax.Euler())
        term = brownian.terms[1]
        sigma = np.asarray(term.vf(0.0, problem.theta0, None))  # (d, n)
        v_rows = -x * (x @ theta - y)[:, None]  # per-row velocities
        centred = v_rows - v_rows.mean(axis=0)
        cov = centred.T @ centred / n
        np.testing.assert_allclose(sigma @ sigma.T, 0.3 / 2 * factor * cov, rtol=0, atol=1e-13)
        dw = jax.random.normal(jax.random.key(1), (n,), jnp.float64)
        np.testing.assert_allclose(np.asarray(term.vf_prod(0.0, problem.theta0, None, dw)),
                                   sigma @ np.asarray(dw), rtol=0, atol=1e-13)


def _sgd_moments(problem, h, batch, steps):
    """Mean and covariance of theta after ``steps`` SGD steps of flow time h with
    ``batch`` rows drawn with replacement: the exact recursion
    m' = m + h v(m), S' = E[(th + h v)(th + h v)'] + h^2 E[Sigma(th)] / B."""
    x, y = np.asarray(problem.x_train), np.asarray(problem.y_train)
    n, d = x.shape
    H, b = x.T @ x / n, x.T @ y / n
    A = np.eye(d) - h * H  # th + h v(th) = A th + h b
    m, S = np.asarray(problem.theta0, float), np.zeros((d, d))
    S = np.outer(m, m)
    for _ in range(steps):
        # E[Sigma] = (1/n) sum_i x_i x_i' E[r_i^2] - E[v v'], r_i = x_i.th - y_i, v = b - H th
        r2 = np.einsum("ij,jk,ik->i", x, S, x) - 2 * y * (x @ m) + y**2
        evv = H @ S @ H - np.outer(H @ m, b) - np.outer(b, H @ m) + np.outer(b, b)
        sigma = np.einsum("i,ij,ik->jk", r2, x, x) / n - evv
        S_next = A @ S @ A.T + h * (np.outer(A @ m, b) + np.outer(b, A @ m)) \
            + h**2 * np.outer(b, b) + h**2 * sigma / batch
        m, S = A @ m + h * b, S_next
    return m, S - np.outer(m, m)


@pytest.mark.slow  # run by CI after the README's command (keeps it under 10 min)
def test_sgd_noise_euler_maruyama_matches_sgd_moments():
    # one Euler-Maruyama step of size h on the SGD-noise SDE has the mean and
    # covariance of one SGD step with B rows drawn with replacement: both runs
    # match the exact moment recursion within 3 standard errors
    problem, h, batch, steps, seeds = _regression(), 0.1, 2, 10, 1000
    mean, cov = _sgd_moments(problem, h, batch, steps)
    keys = [jax.random.key(500 + i) for i in range(seeds)]
    starts = [mfsim.Start(problem.theta0, k) for k in keys]
    sde = mfsim.simulate_batch([problem] * seeds, starts,
                               mfsim.SolveSettings.of(
                                   diffrax.Euler(), t1=h * steps, dt=h,
                                   noise=mfsim.Langevin(0.0, sgd=mfsim.SGDNoise(h, batch))),
                               n_save=2)
    sgd = mfsim.simulate_batch([problem] * seeds, starts,
                               mfsim.SolveSettings.of(
                                   mfsim.sgd(batches=mfsim.Minibatch(batch, replacement=True)),
                                   t1=h * steps, dt=h, adaptive=False), n_save=2)
    for trajs in (sde, sgd):
        final = np.stack([np.asarray(tr.final_state) for tr in trajs])
        se_mean = final.std(axis=0) / np.sqrt(seeds)
        assert np.all(np.abs(final.mean(axis=0) - mean) < 3 * se_mean)
        dev = final - final.mean(axis=0)
        var = (dev**2).mean(axis=0)
        se_var = (dev**2).std(axis=0) / np.sqrt(seeds)
        assert np.all(np.abs(var - np.diag(cov)) < 3 * se_var), (var - np.diag(cov)) / se_var
    # the noise matters: the variance is not the flow's (zero)
    assert np.all(np.diag(cov) > 10 * se_var)


@pytest.mark.slow  # ~20 s: run by CI after the README's command
def test_euler_maruyama_strong_order_on_sgd_noise():
    # state-dependent (multiplicative, non-commutative) noise: strong order 1/2
    problem, paths, t1 = _regression(), 400, 1.0
    fine = 2.0**-12
    noise = mfsim.Langevin(0.0, sgd=mfsim.SGDNoise(0.5, 1), tol=fine / 8)
    keys = [jax.random.key(100 + i) for i in range(paths)]

    def ends(dt):
        trajs = mfsim.simulate_batch([problem] * paths,
                                     [mfsim.Start(problem.theta0, k) for k in keys],
                                     mfsim.SolveSettings.of(diffrax.Euler(), t1=t1, dt=dt, noise=noise),
                                     n_save=2)
        return np.stack([np.asarray(tr.final_state) for tr in trajs])

    ref = ends(fine)
    dts = 2.0 ** -np.arange(3, 9)
    errors = [np.mean(np.linalg.norm(ends(dt) - ref, axis=1)) for dt in dts]
    order = np.polyfit(np.log(dts), np.log(errors), 1)[0]
    print(f"Euler-Maruyama strong order on SGD noise {order:.3f}")
    assert 0.4 < order < 0.6, order


def test_sgd_noise_needs_euler_maruyama_and_training_rows():
    problem = _regression()
    noise = mfsim.Langevin(0.0, sgd=mfsim.SGDNoise(0.1, 2))
    with pytest.raises(ValueError, match="Euler-Maruyama"):
        mfsim.simulate(problem, 0,
                       mfsim.SolveSettings.of(diffrax.Heun(), t1=0.5, dt=0.1, adaptive=False, noise=noise),
                       n_save=2)
    with pytest.raises(TypeError, match="supervised"):
        mfsim.simulate(Wells(3), 0, mfsim.SolveSettings.of(diffrax.Euler(), t1=0.5, dt=0.1, noise=noise),
                       n_save=2)
    with pytest.raises(ValueError, match="batch_size"):
        mfsim.SGDNoise(0.1, 0)


@pytest.mark.slow  # run by CI after the README's command (keeps it under 10 min)
def test_scenario_sgd_noise_is_the_api_with_the_seeds_noise_key():
    scenario = {
        "name": "sgd_noise", "dtype": "float64", "seed": 5,
        "task": {"kind": "teacher", "d": 2, "n_train": 8, "n_test": 8},
        "system": {"kind": "two_layer", "width": 6, "activation": "tanh"},
        "solver": {"name": "euler", "dt": 0.05, "t1": 1.0},
        "noise": {"sgd_learning_rate": 3.0, "sgd_batch_size": 2},
        "save": {"n": 3}, "compare": {"flow": True},
    }
    ds = mfsim.run(scenario)
    from mfsim._scenario.build import build

    built = build(mfsim.validate_scenario(scenario))
    # the learning rate is SGD's on the objective: flow time eta / tau, tau = width
    assert built.settings.noise == mfsim.Langevin(0.0, 0.0, sgd=mfsim.SGDNoise(3.0 / 6, 2))
    traj = mfsim.simulate(built.system, mfsim.Start(built.state0, jax.random.fold_in(
        jax.random.key(5), 1)), built.settings, built.monitors)
    assert np.array_equal(ds["train_loss"].values, np.asarray(traj.values["train_loss"]))
    # the noise moved it off the flow, which ran beside it
    assert not np.allclose(ds["train_loss"].values[-1], ds["flow_train_loss"].values[-1])


def test_the_noise_keys_formerly_in_the_solver_table_are_read_with_a_note():
    """The noise keys moved from [solver] to [noise] (renames.SPELLINGS):
    the old spelling, also as a sweep axis, means the same scenario."""
    new = mfsim.validate_scenario({
        "name": "x", "solver": {"name": "euler", "dt": 0.1, "t1": 1.0},
        "noise": {"temperature": 0.1, "per_particle": True, "sgd_learning_rate": 0.5,
                  "sgd_batch_size": 2},
        "sweep": {"grid": {"noise.weight_decay": [0.1, 0.2]}}})
    with pytest.warns(mfsim.DeprecatedKeyWarning) as notes:
        old = mfsim.validate_scenario({
            "name": "x", "solver": {"name": "euler", "dt": 0.1, "t1": 1.0, "temperature": 0.1,
                                    "per_particle": True, "sgd_noise_learning_rate": 0.5,
                                    "sgd_noise_batch_size": 2},
            "sweep": {"grid": {"solver": {"weight_decay": [0.1, 0.2]}}}})
    assert old == new
    said = sorted(str(n.message) for n in notes)
    assert said == [
        "<scenario>: solver.per_particle: now spelled noise.per_particle; the old spelling is "
        "read for now",
        "<scenario>: solver.sgd_noise_batch_size: now spelled noise.sgd_batch_size; the old "
        "spelling is read for now",
        "<scenario>: solver.sgd_noise_learning_rate: now spelled noise.sgd_learning_rate; the old "
        "spelling is read for now",
        "<scenario>: solver.temperature: now spelled noise.temperature; the old spelling is read "
        "for now",
        "<scenario>: sweep.grid.solver.weight_decay: now spelled noise.weight_decay; the old "
        "spelling is read for now"]
