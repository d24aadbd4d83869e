"""Exact critical points (issue 20, C5), float64: Newton polishing reaches a
gradient norm <= 1e-10 and classifies known saddles and minima."""

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mfsim


def test_a_deep_linear_saddle_at_the_origin():
    # f(x) = w2 w1 x fitting y = x (one hidden unit): J = (1/2)(w2 w1 - 1)^2 E x^2;
    # (0, 0) is a saddle with Hessian [[0, -c], [-c, 0]] (index 1), c = E x^2
    x = jnp.asarray([[1.0], [-2.0], [0.5]])
    net = mfsim.DeepLinearNetwork(x, x[:, 0], widths=(1,))
    near = (jnp.asarray([[0.01]]), jnp.asarray([[-0.02]]))
    cp = mfsim.polish(net, near)
    assert cp.converged and cp.grad_norm <= 1e-10
    assert cp.kind == "saddle" and cp.index == 1 and cp.flat == 0
    assert np.allclose([float(w.squeeze()) for w in jax.tree.leaves(cp.state)], 0.0, atol=1e-10)
    c = float(jnp.mean(x**2))
    assert np.allclose(cp.eigenvalues, [-c, c], rtol=1e-10)


def test_a_deep_linear_minimum_has_its_rescaling_direction_flat():
    x = jnp.asarray([[1.0], [-2.0], [0.5]])
    net = mfsim.DeepLinearNetwork(x, 3.0 * x[:, 0], widths=(1,))
    cp = mfsim.polish(net, (jnp.asarray([[1.2]]), jnp.asarray([[2.0]])))
    assert cp.converged and cp.grad_norm <= 1e-10
    w1, w2 = (float(w.squeeze()) for w in jax.tree.leaves(cp.state))
    assert np.isclose(w1 * w2, 3.0, rtol=1e-12)
    # w1 -> c w1, w2 -> w2 / c leaves J unchanged: one flat direction, one positive
    assert cp.kind == "minimum" and cp.index == 0 and cp.flat == 1


@pytest.mark.slow  # ~11-28 s: keeps the README's command well under 10 min
def test_a_trained_network_polishes_to_a_minimum():
    data = mfsim.teacher_task(jax.random.key(0), d=2, n_train=24, n_test=8,
                              activation="tanh", teacher_width=2, dtype=jnp.float64)
    net = mfsim.TwoLayerNetwork(data.x_train, data.y_train, width=3, activation="tanh",
                                bias=True)
    traj = mfsim.simulate(net, 0, mfsim.SolveSettings.of(diffrax.Tsit5(), t1=300.0), n_save=2)
    cp = mfsim.polish(net, traj.final_state)
    assert cp.start_grad_norm > 1e-7 and cp.converged and cp.grad_norm <= 1e-10
    assert cp.kind == "minimum", cp.eigenvalues
    # the polished state is where the flow was heading: the loss went down, a little
    assert net.objective(cp.state) <= net.objective(traj.final_state)


@pytest.mark.slow  # run by CI after the README's command (keeps it under 10 min)
def test_polish_as_a_run_option():
    scenario = {
        "name": "polished", "dtype": "float64",
        "task": {"kind": "teacher", "d": 2, "n_train": 16, "n_test": 8, "teacher_width": 2,
                 "activation": "tanh"},
        "system": {"kind": "two_layer", "width": 3, "activation": "tanh"},
        "solver": {"t1": 200.0, "polish": True}, "save": {"n": 3},
    }
    ds = mfsim.run(scenario)
    assert ds.attrs["critical_grad_norm"] <= 1e-10 and ds.attrs["critical_converged"] == 1
    assert ds.attrs["critical_kind"] == "minimum" and ds.attrs["critical_index"] == 0
    eig = ds["critical_eigenvalues"].values
    assert eig.size == 9 and np.all(np.diff(eig) >= 0)
