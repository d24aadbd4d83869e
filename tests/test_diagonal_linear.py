"""Diagonal linear network (C2): the gradient-flow limit minimizes Q_alpha among
interpolants; small alpha -> minimum l1, large alpha -> minimum l2."""

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import linprog, minimize

import mfsim


@pytest.fixture(scope="module")
def problem():
    data = mfsim.sparse_regression_task(jax.random.key(1), n_train=20, n_test=5, d=40,
                                        sparsity=2, dtype=jnp.float64)
    return np.asarray(data.x_train), np.asarray(data.y_train), data


def q_alpha_minimizer(x, y, alpha):
    """argmin Q_alpha(beta) s.t. X beta = y, independently: Newton (trust-exact) on the
    concave dual max_nu nu.y - 2 alpha^2 sum(cosh(X^T nu) - 1), beta = 2 alpha^2 sinh(X^T nu)."""
    a2 = alpha**2
    res = minimize(lambda nu: -(nu @ y - 2 * a2 * np.sum(np.cosh(x.T @ nu) - 1)),
                   np.zeros(len(y)),
                   jac=lambda nu: -(y - x @ (2 * a2 * np.sinh(x.T @ nu))),
                   hess=lambda nu: (x * (2 * a2 * np.cosh(x.T @ nu))) @ x.T,
                   method="trust-exact", options=dict(gtol=1e-13, maxiter=10_000))
    nu = res.x
    for _ in range(5):  # polish with pure Newton steps (quadratic convergence)
        w = 2 * a2 * np.cosh(x.T @ nu)
        nu = nu + np.linalg.solve((x * w) @ x.T, y - x @ (2 * a2 * np.sinh(x.T @ nu)))
    beta = 2 * a2 * np.sinh(x.T @ nu)
    assert np.abs(x @ beta - y).max() < 1e-12  # an interpolant
    return beta


def flow_limit(x, y, alpha, t1):
    net = mfsim.DiagonalLinearNetwork(x, y, alpha=alpha)
    traj = mfsim.simulate(net, net.init(),
                          mfsim.SolveSettings.of(diffrax.Tsit5(), t1=t1, rtol=1e-10, atol=1e-16,
                                                 max_steps=400_000), n_save=2,
                          monitors=[mfsim.TrainLoss()])
    # converged: the initial loss is O(1); at large alpha, beta = u^2 - v^2 with u, v
    # ~ alpha loses digits to cancellation, so the floor is ~1e-14
    assert traj.succeeded and traj.values["train_loss"][-1] < 1e-12
    return net, traj


def rel(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


# horizons: the kernel regime (large alpha) converges fast, the rich regime slowly
HORIZONS = {1e-3: 2e5, 1e-2: 2e4, 1e-1: 2e3, 1.0: 60.0, 10.0: 5.0}


@pytest.mark.parametrize("alpha", [1e-2, 1e-1, 1.0, 10.0])
def test_flow_limit_minimizes_q_alpha(problem, alpha):
    x, y, _ = problem
    net, traj = flow_limit(x, y, alpha, HORIZONS[alpha])
    beta = np.asarray(net.beta(traj.final_state))
    assert rel(beta, q_alpha_minimizer(x, y, alpha)) < 1e-4


def test_rich_and_kernel_limits(problem):
    x, y, data = problem
    d = x.shape[1]
    lp = linprog(np.ones(2 * d), A_eq=np.hstack([x, -x]), b_eq=y, bounds=(0, None),
                 method="highs")
    l1 = lp.x[:d] - lp.x[d:]
    l2 = np.linalg.pinv(x) @ y
    to_l1 = []
    for alpha in (1e-1, 1e-2, 1e-3):
        net, traj = flow_limit(x, y, alpha, HORIZONS[alpha])
        to_l1.append(rel(np.asarray(net.beta(traj.final_state)), l1))
    assert to_l1[0] > to_l1[1] > to_l1[2] and to_l1[2] < 5e-3, to_l1
    net, traj = flow_limit(x, y, 10.0, HORIZONS[10.0])
    assert rel(np.asarray(net.beta(traj.final_state)), l2) < 1e-5
    # the rich limit recovered the sparse signal; the kernel limit did not
    np.testing.assert_allclose(l1, np.asarray(data.teacher_particles[:, 0]), atol=1e-8)
    assert rel(l2, l1) > 0.3


@pytest.mark.parametrize("depth", [2, 3])
def test_invariants_and_ntk(problem, depth):
    x, y, _ = problem
    net = mfsim.DiagonalLinearNetwork(x, y, alpha=0.7, depth=depth)
    s0 = net.init()
    # start from beta = 0 but a non-trivial point, so the invariants are not all equal
    s0 = mfsim.DiagonalLinearState(u=s0.u * (1 + 0.1 * jnp.arange(40) / 40), v=s0.v)
    traj = mfsim.simulate(net, s0,
                          mfsim.SolveSettings.of(diffrax.Tsit5(), t1=3.0, rtol=1e-12, atol=1e-14),
                          n_save=2)
    (name, q0), = net.invariants(s0).items()
    np.testing.assert_allclose(net.invariants(traj.final_state)[name], q0, rtol=1e-9)
    assert np.abs(np.asarray(traj.final_state.u - s0.u)).max() > 1e-2
    k = net.ntk(s0, x[:5], x)
    g = mfsim.empirical_ntk(net.predict, s0, x[:5], x)
    np.testing.assert_allclose(g, k, rtol=1e-10, atol=1e-12 * np.abs(k).max())


def test_implicit_bias_potential_limits():
    # Q_alpha ~ alpha^2-scaled l2^2/4 for large alpha, ~ l1 log(1/alpha^2) for small
    beta = jnp.array([0.5, -1.0, 0.0, 2.0])
    big = float(mfsim.implicit_bias(beta, 100.0))
    np.testing.assert_allclose(big, float(jnp.sum(beta**2)) / (4 * 100.0**2), rtol=1e-6)
    small = float(mfsim.implicit_bias(beta, 1e-6))
    assert abs(small / (np.log(1 / 1e-12) * 3.5) - 1) < 0.1


def test_min_norm_interpolants_against_vertex_enumeration():
    """min_l1_interpolant (basis pursuit by HiGHS) against an independent
    exact answer: an l1 minimizer is a vertex, a solution supported on n
    columns; every support is tried. min_l2_interpolant against the normal
    equations X^T (X X^T)^{-1} y."""
    import itertools

    from mfsim._systems.interpolants import min_l1_interpolant, min_l2_interpolant

    rng = np.random.default_rng(3)
    n, d = 3, 7
    x, y = rng.normal(size=(n, d)), rng.normal(size=n)
    best = np.inf
    for support in itertools.combinations(range(d), n):
        sub = x[:, support]
        if abs(np.linalg.det(sub)) < 1e-12:
            continue
        best = min(best, np.abs(np.linalg.solve(sub, y)).sum())
    l1 = min_l1_interpolant(x, y)
    np.testing.assert_allclose(x @ l1, y, atol=1e-10)
    np.testing.assert_allclose(np.abs(l1).sum(), best, rtol=1e-9)
    np.testing.assert_allclose(min_l2_interpolant(x, y), x.T @ np.linalg.solve(x @ x.T, y),
                               rtol=1e-10)
    with pytest.raises(ValueError, match="no interpolant"):
        min_l1_interpolant(np.ones((2, 2)), np.array([1.0, 2.0]))


def test_interpolants_recorded_beside_the_network():
    """linear_predictor with interpolants = true: the min-l1 and min-l2
    interpolants' norms, recovery errors and test losses, constant in time,
    equal to the ones computed here from the same data."""
    from mfsim._systems.interpolants import min_l1_interpolant, min_l2_interpolant

    scenario = {"name": "interp", "dtype": "float64", "seed": 4,
                "task": {"kind": "sparse_regression", "d": 12, "n_train": 6, "n_test": 9},
                "system": {"kind": "diagonal_linear", "alpha": 0.5},
                "solver": {"t1": 1.0}, "save": {"n": 3},
                "monitors": [{"name": "test_loss"},
                             {"name": "linear_predictor", "interpolants": True}]}
    ds = mfsim.run(scenario)
    from mfsim._scenario.build import build

    data = build(mfsim.validate_scenario(scenario)).data
    x, y = np.asarray(data.x_train), np.asarray(data.y_train)
    star = np.asarray(data.teacher_particles[:, 0])
    xt, yt = np.asarray(data.x_test), np.asarray(data.y_test)
    for name, beta in (("min_l1", min_l1_interpolant(x, y)), ("min_l2", min_l2_interpolant(x, y))):
        expected = {"beta_l1": np.abs(beta).sum(), "beta_l2": np.linalg.norm(beta),
                    "beta_error": np.linalg.norm(beta - star) / np.linalg.norm(star),
                    "test_loss": 0.5 * np.mean((xt @ beta - yt) ** 2)}
        for key, value in expected.items():
            np.testing.assert_allclose(ds[f"{name}_{key}"].values, value, rtol=1e-10,
                                       atol=1e-14, err_msg=f"{name}_{key}")
