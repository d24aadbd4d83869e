"""mfsim.central_flow: gradient descent's time average at the edge of
stability (Cohen, Damian et al. 2024), against closed forms on two-parameter
objectives, a hand-written GD loop, scipy's ODE solver and the KKT conditions
of its semidefinite complementarity problem."""

import math

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.optimize import minimize

import mfsim
from mfsim._system import AbstractGradientFlowSystem, AbstractLossSystem

ETA = 0.1
Y_STAR = math.log(2 / ETA)


class EdgeToy(AbstractGradientFlowSystem, AbstractLossSystem):
    """L(x, y) = 1/2 e^y x^2 + g(y), g(y) = -y + 2 (y - y*)^2: sharpness e^y at
    x = 0; the central flow holds e^y = 2/eta, with sigma^2 = eta and mean loss
    g(y*) + sigma^2/2 * 2/eta = 1 - y*; GD's period-two orbit x = +-sqrt(eta),
    y = y* is stable. Gradient flow settles at y* + 1/4, past the edge."""

    y_star: float

    def init(self, key=None):
        return jnp.array([0.5, self.y_star - 1.0])

    def objective(self, s):
        x, y = s[0], s[1]
        return 0.5 * jnp.exp(y) * x**2 - y + 2 * (y - self.y_star) ** 2

    def loss(self, s):
        return self.objective(s)

    def time_scale(self):
        return jnp.asarray(1.0)


class TwoEdges(EdgeToy):
    """Two copies of the toy, their x's rotated into each other and a third
    coordinate z coupling them: two eigenvalues held at the edge (k = 2),
    mean loss 2 (1 - y*)."""

    def init(self, key=None):
        return jnp.array([0.3, -0.2, self.y_star - 1.0, self.y_star - 0.5, 0.1])

    def objective(self, s):
        c, n = math.cos(0.3), math.sin(0.3)
        x = (c * s[0] - n * s[1], n * s[0] + c * s[1])
        y, z = s[2:4], s[4]

        def g(y):
            return -y + 2 * (y - self.y_star) ** 2
        return (0.5 * jnp.exp(y[0]) * x[0] ** 2 + 0.5 * jnp.exp(y[1] + 0.3 * z**2) * x[1] ** 2
                + g(y[0]) + g(y[1]) + z**2)


def heun(cf, state0, t1, h):
    term = diffrax.ODETerm(lambda t, y, a: cf.vector_field(t, y, a))
    ys = diffrax.diffeqsolve(term, diffrax.Heun(), 0.0, t1, h, state0, max_steps=None).ys
    return jax.tree.map(lambda a: a[-1], ys)


def test_psd_qp_meets_its_kkt_conditions():
    """k = 1 in closed form; k = 3 (random alpha, Gram beta): X >= 0,
    D = alpha + beta[X]/2 >= 0, <X, D> = 0 (to 1e-8 of the scale), and no
    Cholesky-parametrized minimum found by scipy's BFGS is lower."""
    np.testing.assert_allclose(mfsim.solve_psd_qp(jnp.array([[-3.0]]),
                                                  jnp.array([[[[2.0]]]])), [[3.0]])
    assert float(mfsim.solve_psd_qp(jnp.array([[3.0]]), jnp.array([[[[2.0]]]]))[0, 0]) == 0.0
    rng = np.random.default_rng(1)
    k = 3
    G = rng.normal(size=(k * k, 12))
    G = 0.5 * (G + G.reshape(k, k, 12).transpose(1, 0, 2).reshape(k * k, 12))  # G_ij = G_ji
    beta = (G @ G.T).reshape(k, k, k, k)
    a = rng.normal(size=(k, k))
    alpha = 0.5 * (a + a.T) - 0.5 * np.eye(k)
    X = np.asarray(mfsim.solve_psd_qp(jnp.asarray(alpha), jnp.asarray(beta), steps=5000))
    D = alpha + 0.5 * (beta.reshape(k * k, k * k) @ X.reshape(-1)).reshape(k, k)
    scale = np.abs(alpha).max()
    assert np.linalg.eigvalsh(X).min() > -1e-10 and np.linalg.eigvalsh(D).min() > -1e-8 * scale
    assert abs(np.sum(X * D)) < 1e-8 * scale * max(1.0, np.abs(X).max())

    def f(p):
        L = np.zeros((k, k))
        L[np.tril_indices(k)] = p
        Y = L @ L.T
        return np.sum(alpha * Y) + 0.25 * Y.reshape(-1) @ beta.reshape(k * k, k * k) @ Y.reshape(-1)
    best = min(minimize(f, rng.normal(size=6), method="BFGS", options={"gtol": 1e-12}).fun
               for _ in range(5))
    assert f(np.linalg.cholesky(X + 1e-14 * np.eye(k))[np.tril_indices(k)]) <= best + 1e-8


@pytest.mark.slow  # ~11 s
def test_below_the_edge_it_is_gradient_flow():
    """From y0 = y* - 1 (sharpness e^y0 = 0.37 x 2/eta) until y = y* - 0.35 the
    central flow is gradient flow: X = 0 exactly, and its solve (tsit5) equals
    scipy's LSODA on the hand-written gradient to 1e-8."""
    toy = EdgeToy(Y_STAR)
    cf = mfsim.central_flow(toy, ETA)
    t1 = 0.1  # y(t1) < y* - 0.35 (scipy below)

    def grad(t, s):
        x, y = s
        return [-math.exp(y) * x, -(0.5 * math.exp(y) * x**2 - 1 + 4 * (y - Y_STAR))]
    ref = solve_ivp(grad, (0, t1), [0.5, Y_STAR - 1.0], method="LSODA", rtol=1e-12, atol=1e-14)
    assert ref.y[1, -1] < Y_STAR - 0.35
    term = diffrax.ODETerm(lambda t, y, a: cf.vector_field(t, y, a))
    sol = diffrax.diffeqsolve(term, diffrax.Tsit5(), 0.0, t1, 1e-3, toy.init(),
                              stepsize_controller=diffrax.PIDController(rtol=1e-12, atol=1e-14),
                              saveat=diffrax.SaveAt(ts=jnp.linspace(0, t1, 6)))
    for s in sol.ys:
        assert float(cf.oscillation(s).covariance[0, 0]) == 0.0
    np.testing.assert_allclose(sol.ys[-1], ref.y[:, -1], rtol=0, atol=1e-8)


@pytest.mark.slow  # ~6 s each
@pytest.mark.parametrize("eta", [0.1, 0.05])
def test_at_the_edge_it_holds_sharpness_and_predicts_the_mean_loss(eta):
    """The flow's fixed point (Newton on the central flow itself, from where
    Heun at eta/2 leaves it at t = 60): x = 0, e^y = 2/eta, sigma^2 = eta, mean
    loss 1 - y* = E|delta theta|^2 ... all to 1e-6; a stable point."""
    y_star = math.log(2 / eta)
    toy = EdgeToy(y_star)
    cf = mfsim.central_flow(toy, eta)
    fp = mfsim.fixed_point(cf, heun(cf, toy.init(), 60.0, eta / 2))
    assert fp.converged and fp.kind == "stable"
    osc = cf.oscillation(fp.state)
    assert abs(float(fp.state[0])) < 1e-10
    np.testing.assert_allclose(math.exp(float(fp.state[1])), 2 / eta, rtol=1e-6)
    np.testing.assert_allclose(float(osc.covariance[0, 0]), eta, rtol=1e-6)
    np.testing.assert_allclose(float(osc.mean_square()), eta, rtol=1e-6)
    np.testing.assert_allclose(float(osc.mean_objective()), 1 - y_star, rtol=1e-6)
    np.testing.assert_allclose(float(cf.mean_loss(fp.state, osc)), 1 - y_star, rtol=1e-6)


class RatedToy(AbstractGradientFlowSystem, AbstractLossSystem):
    """The toy with time scale tau = 2 and per-array rates (x: 0.5, y: 1.5):
    GD with step dt = 0.1 moves x at eta_x = tau r_x dt = 0.1, y at 0.3."""

    y_star: float

    def init(self, key=None):
        return (jnp.asarray(0.5), jnp.asarray(self.y_star - 1.0))

    def objective(self, s):
        x, y = s
        return 0.5 * jnp.exp(y) * x**2 - y + 2 * (y - self.y_star) ** 2

    def loss(self, s):
        return self.objective(s)

    def time_scale(self):
        return jnp.asarray(2.0)

    def step_rates(self, s):
        return (0.5, 1.5)


@pytest.mark.slow  # ~8 s
def test_time_scale_and_rates():
    """tau and per-array rates enter through S^2 = tau R: the edge is
    eta_x e^y = 2 and E|delta x|^2 = eta_x (1e-6), and a GD loop on the
    system's own vector field averages to the predicted mean loss (2%)."""
    toy = RatedToy(Y_STAR)
    cf = mfsim.central_flow(toy, 0.1)
    end = heun(cf, toy.init(), 60.0, 0.05)
    fp = mfsim.fixed_point(cf, end)
    osc = cf.oscillation(fp.state)
    np.testing.assert_allclose(math.exp(float(fp.state[1])), 2 / ETA, rtol=1e-6)
    np.testing.assert_allclose(float(osc.mean_square()), ETA, rtol=1e-6)
    np.testing.assert_allclose(float(cf.mean_loss(fp.state, osc)), 1 - Y_STAR, rtol=1e-6)
    step = jax.jit(lambda w: jax.tree.map(lambda a, b: a + 0.1 * b, w,
                                          toy.vector_field(0.0, w, None)))
    w, losses = toy.init(), []
    for _ in range(4000):
        w = step(w)
        losses.append(float(toy.objective(w)))
    assert np.mean(losses[-1000:]) == pytest.approx(1 - Y_STAR, rel=0.02)


@pytest.mark.slow  # ~7 s
def test_gradient_descent_averages_to_the_prediction_and_taylor_diverges():
    """A hand-written GD loop at eta = 0.1 settles on x = +-sqrt(eta), y = y*:
    its loss averaged over the last 1000 of 4000 steps is 1 - y* within 2%
    (measured 1e-15). Gradient flow instead settles at y* + 1/4, sharpness
    e^(1/4) x 2/eta past the edge, and GD on the second-order Taylor model
    there (the linearized twin's dynamics) diverges."""
    toy = EdgeToy(Y_STAR)
    step = jax.jit(lambda w: w - ETA * jax.grad(toy.objective)(w))
    w, losses = toy.init(), []
    for _ in range(4000):
        w = step(w)
        losses.append(float(toy.objective(w)))
    assert np.mean(losses[-1000:]) == pytest.approx(1 - Y_STAR, rel=0.02)
    np.testing.assert_allclose([abs(float(w[0])), float(w[1])], [math.sqrt(ETA), Y_STAR],
                               rtol=1e-6)
    flow = heun(toy, toy.init(), 40.0, 1e-3)
    np.testing.assert_allclose(float(flow[1]), Y_STAR + 0.25, rtol=1e-6)
    H = np.asarray(jax.hessian(toy.objective)(flow))
    g = np.asarray(jax.grad(toy.objective)(flow))
    assert ETA * np.linalg.eigvalsh(H).max() > 2
    d = np.array([1e-3, 0.0])
    for _ in range(200):
        d = d - ETA * (g + H @ d)
    assert np.linalg.norm(d) > 1e6


@pytest.mark.slow  # ~30 s
def test_two_eigenvalues_at_the_edge():
    """k = 2 (rotated, coupled): both eigenvalues held at 2/eta, trace X = 2 eta,
    mean loss 2 (1 - y*), to 1e-6; with k = 1 the second eigenvalue is left
    past the edge."""
    toy = TwoEdges(Y_STAR)
    cf = mfsim.central_flow(toy, ETA, k=2)
    fp = mfsim.fixed_point(cf, heun(cf, toy.init(), 40.0, ETA / 2))
    assert fp.converged
    osc = cf.oscillation(fp.state)
    np.testing.assert_allclose(osc.eigenvalues, 2 / ETA, rtol=1e-6)
    np.testing.assert_allclose(float(jnp.trace(osc.covariance)), 2 * ETA, rtol=1e-6)
    np.testing.assert_allclose(float(osc.mean_objective()), 2 * (1 - Y_STAR), rtol=1e-6)
    one = mfsim.central_flow(toy, ETA, k=1)
    end = heun(one, toy.init(), 40.0, ETA / 2)
    top = np.linalg.eigvalsh(np.asarray(jax.hessian(toy.objective)(end)))
    assert ETA * top.max() / 2 > 1.01


EOS = {"name": "eos_cf", "dtype": "float64", "seed": 0,
       "task": {"kind": "teacher", "d": 4, "n_train": 16, "n_test": 16, "activation": "tanh",
                "noise": 1.0},
       "system": {"kind": "mlp", "widths": [8, 8], "activation": "tanh",
                  "parameterization": "standard"},
       "solver": {"name": "euler", "learning_rate": 0.5, "steps": 200}, "save": {"n": 21},
       "monitors": [{"name": "train_loss"}, {"name": "sharpness"}],
       "compare": {"central_flow": True, "central_flow_k": 2}}


@pytest.mark.slow  # ~40 s
def test_scenario_twin_records_the_prediction(tmp_path):
    """[compare] central_flow = true on a small MLP under GD: the twin starts
    at the network, records its time-averaged loss (equal to its loss where it
    does not oscillate, above it where it does) and holds its tracked
    eigenvalues at or below the edge once there; the loss figure draws the prediction
    over the network's loss."""
    r = mfsim.run_scenario(mfsim.validate_scenario(EOS), out=tmp_path)
    assert r.succeeded
    ds = r.dataset
    assert ds["cf_train_loss"].values[0] == ds["train_loss"].values[0]
    assert ds["cf_mean_train_loss"].attrs["over"] == "train_loss"
    osc = ds["cf_oscillation"].values
    mean, at = ds["cf_mean_train_loss"].values, ds["cf_train_loss"].values
    np.testing.assert_array_equal(mean[osc == 0], at[osc == 0])
    assert np.any(osc > 0) and np.all(mean[osc > 0] > at[osc > 0])
    # it starts past the edge (ratio 1.40) and is relaxed onto it within a save
    assert ds["cf_edge_ratio"].values[1:].max() < 1.001
    assert (tmp_path / "stability.png").stat().st_size > 0


def test_scenario_refuses_the_central_flow_beside_sgd():
    bad = {**EOS, "solver": {"name": "sgd", "learning_rate": 0.5, "steps": 200,
                             "batch_size": 4}}
    with pytest.raises(mfsim.ScenarioError, match="central flow describes full-batch"):
        mfsim.validate_scenario(bad)


def test_block_krylov_resolves_a_cluster():
    """A Hessian-like spectrum, three equal outliers (the edge holds k of them
    equal), a fourth 1% below them and a bulk at most a quarter of them: block
    Krylov (the central flow's 10 blocks of k + 3 = 6) spans the top three's
    eigenspace to 1e-8 and gets their values to 1e-12, against numpy's dense
    eigh. Its accuracy is the Krylov space's, set by the gap (measured: a bulk
    at half the edge, 5e-6 and 1e-11; the central flow records the residual)."""
    from mfsim._monitors.sharpness import block_krylov_pairs

    rng = np.random.default_rng(3)
    n = 300
    Q = np.linalg.qr(rng.normal(size=(n, n)))[0]
    lam = np.concatenate([[20.0, 20.0, 20.0, 19.8], np.linspace(5, -1, n - 4)])
    M = (Q * lam) @ Q.T
    values, vectors = block_krylov_pairs(lambda v: jnp.asarray(M) @ v,
                                         jnp.asarray(rng.normal(size=(n, 6))), 10, k=3)
    np.testing.assert_allclose(values, 20.0, rtol=1e-12)
    top = Q[:, :3]
    U = np.asarray(vectors)
    assert np.linalg.norm(U - top @ (top.T @ U)) < 1e-8
