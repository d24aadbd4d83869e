"""Soft committee machines and their order-parameter ODEs (issue 20, C2, C5),
float64. References: Gauss-Hermite quadrature for the Gaussian integrals;
autodiff of the closed-form generalization error (the population flow) for
the first-order terms of the ODEs; the symmetric plateau's closed form; online
SGD at growing N for the whole ODE."""

from pathlib import Path

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx
import pytest
from scipy.special import erf

import mfsim
from mfsim._kernels import erf_integrals as E

REPO = Path(__file__).resolve().parents[1]


def _g(x):
    return erf(x / np.sqrt(2))


def _dg(x):
    return np.sqrt(2 / np.pi) * np.exp(-x**2 / 2)


def _quadrature(f, C, n):
    """E f(z), z ~ N(0, C), by a tensor Gauss-Hermite rule of n nodes per axis."""
    x, w = np.polynomial.hermite_e.hermegauss(n)
    w = w / np.sqrt(2 * np.pi)
    d = C.shape[0]
    nodes = np.stack([a.ravel() for a in np.meshgrid(*[x] * d, indexing="ij")])
    weights = np.prod(np.stack([a.ravel() for a in np.meshgrid(*[w] * d, indexing="ij")]), 0)
    return float(np.sum(weights * f(*(np.linalg.cholesky(C) @ nodes))))


def test_erf_integrals_match_quadrature():
    rng = np.random.default_rng(1)
    A = rng.normal(size=(4, 4))
    C = A @ A.T / 4 + 0.3 * np.eye(4)
    sub = lambda *i: C[np.ix_(i, i)]  # noqa: E731
    np.testing.assert_allclose(E.i2(C[0, 0], C[0, 1], C[1, 1]), _quadrature(
        lambda a, b: _g(a) * _g(b), sub(0, 1), 60), rtol=1e-10)
    np.testing.assert_allclose(E.j2(C[0, 0], C[0, 1], C[1, 1]), _quadrature(
        lambda a, b: _dg(a) * _dg(b), sub(0, 1), 60), rtol=1e-10)
    np.testing.assert_allclose(E.i3(C[0, 0], C[0, 1], C[0, 2], C[1, 2], C[2, 2]), _quadrature(
        lambda a, b, c: _dg(a) * b * _g(c), sub(0, 1, 2), 40), rtol=1e-10)
    # a repeated field (b = a), as in dQ_ii
    np.testing.assert_allclose(E.i3(C[0, 0], C[0, 0], C[0, 2], C[0, 2], C[2, 2]), _quadrature(
        lambda a, c: _dg(a) * a * _g(c), sub(0, 2), 60), rtol=1e-10)
    i4 = E.i4(*(C[i, j] for i, j in ((0, 0), (0, 1), (0, 2), (0, 3), (1, 1), (1, 2), (1, 3),
                                     (2, 2), (2, 3), (3, 3))))
    np.testing.assert_allclose(i4, _quadrature(
        lambda a, b, c, d: _dg(a) * _dg(b) * _g(c) * _g(d), C, 24), rtol=1e-7)
    i4_aa = E.i4(*(C[i, j] for i, j in ((0, 0), (0, 0), (0, 2), (0, 3), (0, 0), (0, 2), (0, 3),
                                        (2, 2), (2, 3), (3, 3))))
    np.testing.assert_allclose(i4_aa, _quadrature(
        lambda a, c, d: _dg(a) ** 2 * _g(c) * _g(d), sub(0, 2, 3), 40), rtol=1e-9)


class _Overlaps(mfsim.AbstractMonitor):
    def __call__(self, t, state, ctx):
        p = ctx.system.order_parameters(state)
        return {"Q": p.Q, "R": p.R, "v": p.v, "eg": ctx.system.generalization_error(state)}

    def variables(self):
        return mfsim.Variable.plain({k: k for k in ("Q", "R", "v", "eg")})


@pytest.mark.parametrize("train_output", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_population_flow_follows_the_first_order_odes(train_output):
    """The population loss's gradient flow (autodiff through the closed-form
    eps_g) moves the overlaps exactly as the ODEs' first-order terms say
    (assembled from I2 and I3), at any N."""
    N, K, M = 40, 3, 2
    teacher = jax.random.normal(jax.random.key(0), (M, N))
    x = jax.random.normal(jax.random.key(1), (10, N))
    net = mfsim.SoftCommittee(x, jnp.zeros(10), teacher, jnp.asarray([1.0, 0.7]), width=K,
                              sigma_w=0.5, train_output=train_output, population=True,
                              output_rate=0.5, noise=0.3)
    state0 = net.init(jax.random.key(2))
    twin = mfsim.OrderParameterODE.twin_of(net, state0)
    kw = dict(n_save=6, monitors=[_Overlaps()])
    settings = mfsim.SolveSettings.of(diffrax.Tsit5(), t1=5.0, rtol=1e-10, atol=1e-12)
    a, b = (mfsim.simulate(net, state0, settings, **kw),
            mfsim.simulate(twin, twin.init(), settings, **kw))
    for name in ("Q", "R", "v", "eg"):
        np.testing.assert_allclose(a.values[name], b.values[name], rtol=0, atol=1e-10)
    assert float(a.values["eg"][-1]) < 0.5 * float(a.values["eg"][0])


def _symmetric_field(K, eta=0.0):
    """The ODE's first-order field on the symmetric subspace: Q_ik = q for all
    i, k (identical students), R_in = r, with K = M, v = v* = 1, T = I; the
    field keeps the subspace (dQ_ik is the same for every i, k there)."""
    T, v = jnp.eye(K), jnp.ones(K)

    def field(p, _):
        q, r = p
        ode = mfsim.OrderParameterODE(mfsim.OverlapState(q * jnp.ones((K, K)),
                                                         r * jnp.ones((K, K)), v), T, v, eta=eta)
        d = ode.vector_field(0.0, ode.init(), None)
        return jnp.stack([d.Q[0, 0], d.R[0, 0]])
    return field


@pytest.mark.parametrize("K", [pytest.param(2, marks=pytest.mark.slow), 3])  # K = 2: 10 s on CI
def test_symmetric_plateau_is_the_closed_form_fixed_point(K):
    """As eta -> 0 the K = M machine's symmetric fixed point (docs/theory.md) is
    Q_ik = 1/(2K - 1) for all i, k and R = 1/sqrt(K (2K - 1))."""
    closed = jnp.asarray([1 / (2 * K - 1), 1 / np.sqrt(K * (2 * K - 1))])
    field = _symmetric_field(K)
    assert float(jnp.max(jnp.abs(field(closed, None)))) < 1e-14
    # the full field (every entry of Q, R) vanishes there too
    ode = mfsim.OrderParameterODE(mfsim.OverlapState(
        closed[0] * jnp.ones((K, K)), closed[1] * jnp.ones((K, K)), jnp.ones(K)),
        jnp.eye(K), jnp.ones(K))
    d = ode.vector_field(0.0, ode.init(), None)
    assert float(max(jnp.max(jnp.abs(d.Q)), jnp.max(jnp.abs(d.R)))) < 1e-14
    start = closed * jnp.asarray([1.2, 0.9])
    sol = optx.root_find(field, optx.Newton(rtol=1e-14, atol=1e-14), start, max_steps=100,
                         throw=False)
    np.testing.assert_allclose(sol.value, closed, rtol=0, atol=1e-8)
    # the plateau's generalization error, in closed form
    q, r = 1 / (2 * K - 1), 1 / np.sqrt(K * (2 * K - 1))
    plateau = (K / np.pi) * (K * np.arcsin(q / (1 + q)) - 2 * K * np.arcsin(
        r / np.sqrt(2 * (1 + q))) + np.arcsin(0.5))
    eg = E.generalization_error(q * jnp.ones((K, K)), r * jnp.ones((K, K)), jnp.eye(K),
                                jnp.ones(K), jnp.ones(K))
    np.testing.assert_allclose(float(eg), plateau, rtol=1e-12)


@pytest.mark.slow  # ~11-28 s: keeps the README's command well under 10 min
def test_the_plateau_is_a_saddle_of_the_population_loss():
    """C5: polishing a student near the plateau lands on it (gradient <= 1e-10)
    and the Hessian says saddle; a student near the teacher polishes to a minimum."""
    N, K = 12, 2
    data = mfsim.committee_teacher_task(jax.random.key(0), d=N, n_train=4, n_test=4,
                                        teacher_width=K, dtype=jnp.float64)
    net = mfsim.SoftCommittee(data.x_train, data.y_train, data.teacher_w, data.teacher_v,
                              width=K, population=True)
    a = 1 / np.sqrt(K * (2 * K - 1))
    plateau = mfsim.CommitteeState(jnp.tile(a * data.teacher_w.sum(0), (K, 1)), jnp.ones(K))
    assert float(jnp.linalg.norm(jax.grad(net.objective)(plateau).w)) < 1e-14  # critical
    nudge = 1e-3 * jax.random.normal(jax.random.key(1), plateau.w.shape)
    cp = mfsim.polish(net, mfsim.CommitteeState(plateau.w + nudge, plateau.v))
    assert cp.converged and cp.grad_norm <= 1e-10
    # one descent direction (the symmetry breaking that ends the plateau); the flat
    # directions make the plateau a manifold of critical points, on which it landed
    assert cp.kind == "saddle" and cp.index == 1 and cp.flat > 0, cp.eigenvalues
    np.testing.assert_allclose(net.order_parameters(cp.state).Q, 1 / (2 * K - 1), atol=1e-4)
    near = mfsim.CommitteeState(data.teacher_w + 0.1 * nudge * 100, jnp.ones(K))
    best = mfsim.polish(net, near)
    assert best.converged and best.kind == "minimum"
    assert float(net.generalization_error(best.state)) < 1e-12


@pytest.mark.slow  # ~30 s: run by CI after the README's command
def test_online_sgd_approaches_the_odes_as_n_grows():
    """Online SGD (eta = 0.5, K = M = 2) against its theory twin from the same
    initial overlaps, over flow time t <= 8 (onto the plateau), 8 seeds: the mean
    distance of the overlaps Q, R to the ODE's falls like N^-1/2 (their
    fluctuations; eps_g is stationary on the plateau, where its error is second
    order, N^-1)."""
    errors = []
    for N in (100, 400, 1600):
        data = mfsim.committee_teacher_task(jax.random.key(0), d=N, n_train=4, n_test=4,
                                            teacher_width=2, dtype=jnp.float64)
        net = mfsim.SoftCommittee(data.x_train, data.y_train, data.teacher_w, data.teacher_v,
                                  width=2, sigma_w=0.5)
        eta, t1 = 0.5, 8.0
        dt = eta / N
        solver = mfsim.sgd(batches=mfsim.Online(data.sampler))
        seeds = range(8)
        trajs = mfsim.simulate_batch([net] * 8, list(seeds), mfsim.SolveSettings.of(solver, t1=t1, dt=dt),
                                     n_save=17, monitors=[_Overlaps()])
        err = []
        for seed, traj in zip(seeds, trajs):
            twin = mfsim.OrderParameterODE.twin_of(net, net.init(jax.random.key(seed)), eta=eta)
            ode = mfsim.simulate(twin, twin.init(),
                                 mfsim.SolveSettings.of(diffrax.Tsit5(), t1=t1, rtol=1e-10, atol=1e-12),
                                 n_save=17, monitors=[_Overlaps()])
            err.append(np.mean([np.mean(np.abs(np.asarray(traj.values[k])[1:]
                                               - np.asarray(ode.values[k])[1:]))
                                for k in ("Q", "R")]))
        errors.append(np.mean(err))
    slope = np.polyfit(np.log([100, 400, 1600]), np.log(errors), 1)[0]
    print(f"online SGD - ODE: errors {errors}, slope {slope:.3f}")
    assert -0.7 < slope < -0.3, (slope, errors)


@pytest.mark.slow  # run by CI after the README's command (keeps it under 10 min)
def test_online_sgd_committee_shrunk(tmp_path):
    """online_sgd_committee.toml shrunk (N = 100, K = M = 2): the simulation and
    its theory twin start equal, sit on the same plateau, and both specialize."""
    r = mfsim.run_scenario(REPO / "scenarios" / "online_sgd_committee.toml", out=tmp_path,
                           overrides={"task.d": 100, "solver.steps": 40000, "save.n": 41,
                                      "task.teacher_width": [2], "system.width": [2]})
    assert r.succeeded
    ds = r.dataset.isel(teacher_width=0, width=0)  # one point (the lists make axes)
    eg, ode = ds["generalization_error"].values, ds["ode_generalization_error"].values
    assert eg[0] == pytest.approx(ode[0], rel=1e-12)
    mid = len(eg) // 10  # on the plateau (t = 20)
    assert eg[mid] == pytest.approx(ode[mid], rel=0.1)
    assert eg[-1] < 1e-3 and ode[-1] < 1e-3 < eg[mid]
    # the dashed plateau: the ODE's identical-students fixed point at eta = 0.5
    plateau = ds["plateau_error"].values
    twin = mfsim.OrderParameterODE(mfsim.OverlapState(jnp.eye(2) / 3, jnp.eye(2) / 3, jnp.ones(2)),
                                   jnp.eye(2), jnp.ones(2), eta=0.5)
    expected = float(twin.generalization_error(twin.plateau().state))
    np.testing.assert_allclose(plateau, expected, rtol=1e-10)
    assert ode[mid] == pytest.approx(expected, rel=0.02)
    R = ds["overlap_R"].values[-1]  # each student unit on one teacher unit
    assert np.sort(np.abs(R).max(axis=1)).min() > 0.8 and np.abs(R).min() < 0.2
    assert (tmp_path / "generalization_error.png").stat().st_size > 0
