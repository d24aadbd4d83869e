"""Sharpness (issue 20, C4), float64: Lanczos on Hessian-vector products
against a dense Hessian's eigenvalues; gradient descent on a linear model
diverges iff eta lambda_max > 2."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

import mfsim
from mfsim._monitors.base import MonitorContext


@pytest.fixture(scope="module")
def net():
    x = jax.random.normal(jax.random.key(0), (10, 2))
    y = jnp.tanh(x[:, 0] - x[:, 1])
    return mfsim.TwoLayerNetwork(x, y, width=3, activation="tanh", bias=True)


def _dense(system, state):
    flat, unravel = ravel_pytree(state)
    H = np.asarray(jax.hessian(lambda f: system.objective(unravel(f)))(flat))
    return np.sort(np.linalg.eigvalsh((H + H.T) / 2))[::-1]


def _sharpness(system, state, **kw):
    monitor = mfsim.Sharpness(**kw)
    return monitor(0.0, state, MonitorContext(system, state))


def test_sharpness_equals_the_dense_hessian_spectrum(net):
    state = net.init(jax.random.key(1))
    dense = _dense(net, state)
    p = dense.size
    got = np.asarray(_sharpness(net, state, k=4, iterations=p)["sharpness"])
    assert np.allclose(got, dense[:4], rtol=1e-6, atol=1e-9)
    # a trained state (an indefinite Hessian), and the default iteration count
    trained = mfsim.simulate(net, 1, t1=5.0).final_state
    dense = _dense(net, trained)
    got = np.asarray(_sharpness(net, trained, k=2)["sharpness"])
    assert np.allclose(got, dense[:2], rtol=1e-6)


def test_sharpness_of_a_bigger_network_by_few_iterations():
    x = jax.random.normal(jax.random.key(2), (20, 4))
    mlp = mfsim.MLP(x, jnp.sin(x[:, 0]), widths=(16, 16), activation="tanh")
    state = mlp.init(jax.random.key(3))
    dense = _dense(mlp, state)  # 368 parameters
    got = np.asarray(_sharpness(mlp, state, k=1, iterations=40)["sharpness"])
    assert np.allclose(got, dense[:1], rtol=1e-6)


def test_frozen_arrays_are_left_out(net):
    frozen = mfsim.TwoLayerNetwork(net.x_train, net.y_train, width=3, activation="tanh",
                                   bias=True, train=("output",))
    state = frozen.init(jax.random.key(1))
    v = state.params.v
    flat, unravel = ravel_pytree(v)
    H = np.asarray(jax.hessian(lambda f: frozen.objective(
        eqx.tree_at(lambda s: s.params.v, state, unravel(f))))(flat))
    got = np.asarray(_sharpness(frozen, state, k=2, iterations=21)["sharpness"])
    assert np.allclose(got, np.sort(np.linalg.eigvalsh(H))[::-1][:2], rtol=1e-6)


def test_gradient_descent_on_a_linear_model_diverges_iff_eta_lambda_above_two(net):
    state0 = net.init(jax.random.key(1))
    twin = mfsim.linearize(net, state0)  # linear in theta: a quadratic objective
    out = _sharpness(twin, state0, k=1, ntk=True)
    lam = float(out["sharpness"][0])
    # the Hessian of a linear model's squared loss is its Gauss-Newton part, Theta / n
    assert np.isclose(float(out["ntk_sharpness"]), lam, rtol=1e-8)
    tau = float(twin.time_scale())
    steps = 400
    for factor, diverges in ((1.9, False), (2.1, True)):
        dt = factor / lam / tau  # learning rate eta = tau dt = factor / lambda
        traj = mfsim.simulate(twin, state0, t1=steps * dt, solver="euler", dt=dt,
                              n_save=5, monitors=[mfsim.TrainLoss()])
        if diverges:
            assert traj.status.startswith("diverged"), traj.status
        else:
            assert traj.succeeded
            loss = np.asarray(traj.values["train_loss"])
            assert loss[-1] < loss[0]
