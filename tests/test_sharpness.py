"""Sharpness (issue 20, C4), float64: Lanczos on Hessian-vector products
against a dense Hessian's eigenvalues; gradient descent on a linear model
diverges iff eta lambda_max > 2."""

import diffrax
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
    trained = mfsim.simulate(net, 1, mfsim.SolveSettings.of(diffrax.Tsit5(), t1=5.0)).final_state
    dense = _dense(net, trained)
    got = np.asarray(_sharpness(net, trained, k=2)["sharpness"])
    assert np.allclose(got, dense[:2], rtol=1e-6)


@pytest.mark.slow  # run by CI after the README's command (keeps it under 10 min)
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
        traj = mfsim.simulate(twin, state0, mfsim.SolveSettings.of(diffrax.Euler(), t1=steps * dt, dt=dt),
                              n_save=5, monitors=[mfsim.TrainLoss()])
        if diverges:
            assert traj.status.startswith("diverged"), traj.status
        else:
            assert traj.succeeded
            loss = np.asarray(traj.values["train_loss"])
            assert loss[-1] < loss[0]


@pytest.mark.slow  # run by CI after the README's command (keeps it under 10 min)
def test_catapult_shrunk(tmp_path):
    """catapult.toml shrunk: the network is lazy below 2/lambda0, catapults between
    2/lambda0 and its maximal rate, diverges above it; the linearized twin diverges
    as soon as eta lambda0 > 2; the stability figure is drawn."""
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scenarios" / "catapult.toml"
    r = mfsim.run_scenario(path, out=tmp_path, overrides={
        "system.width": 512, "solver.steps": 100, "save.n": 51, "compare.quadratic": False,
        "solver.learning_rate": [1.0, 4.0, 8.0]})
    ds = r.dataset
    lam0 = ds["sharpness"].isel(save=0, sharpness_index=0).values
    ratio = ds["learning_rate"].values * lam0 / 2
    assert ratio[0] < 1 < ratio[1] < 2 < ratio[2], ratio
    assert list(mfsim.training_regimes(ds).values) == ["lazy", "catapult", "divergence"]
    assert list(mfsim.training_regimes(ds, prefix="lin_").values) == [
        "lazy", "divergence", "divergence"]
    # after the catapult the sharpness sits below 2/eta
    after = ds["sharpness"].isel(learning_rate=1, sharpness_index=0).values
    after = after[np.isfinite(after)][-1]
    assert after * 4.0 < 2.0
    assert (tmp_path / "stability.png").stat().st_size > 0


@pytest.mark.slow  # ~2 min: the shipped scenario as it is (issue 37, T4)
def test_edge_of_stability_shrunk(tmp_path):
    """edge_of_stability.toml as shipped (both learning rates, 1000 steps, the
    central-flow twin): the sharpness starts below 2/eta, rises to it
    (progressive sharpening) and hovers within 10% of it over the last 100
    steps; the loss falls, not monotonically; and the central flow's predicted
    time-averaged loss, averaged over each window of 200 steps, is within 10% of
    GD's loss averaged over the same steps (measured 0.96-1.03, 0.98-1.02)."""
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scenarios" / "edge_of_stability.toml"
    r = mfsim.run_scenario(path, out=tmp_path)
    assert r.succeeded
    ds = r.dataset
    for i, eta in enumerate(ds["learning_rate"].values):
        point = ds.isel(learning_rate=i)
        ratio = eta * point["sharpness"].isel(sharpness_index=0).values / 2
        assert ratio[0] < 0.85, (eta, ratio[0])
        assert np.all(np.abs(ratio[-100:] - 1) < 0.1), (eta, ratio[-100:])  # at the edge
        loss = point["train_loss"].values
        predicted = point["cf_mean_train_loss"].values
        assert loss.size == predicted.size == 1001
        assert loss[-1] < 0.2 * loss[0] and np.any(np.diff(loss) > 0)  # falling, not monotone
        windows = [np.mean(predicted[a:a + 200]) / np.mean(loss[a:a + 200])
                   for a in range(0, 1000, 200)]
        np.testing.assert_allclose(windows, 1.0, rtol=0.1, err_msg=f"eta {eta}")
    assert (tmp_path / "stability.png").stat().st_size > 0


@pytest.mark.slow  # run by CI after the README's command (keeps it under 10 min)
def test_per_layer_rates_precondition_the_hessian():
    """The standard MLP trains its layers at rates r: the sharpness is that of
    R^1/2 H R^1/2 (dense check), and its linearized twin moves like it at init."""
    x = jax.random.normal(jax.random.key(4), (12, 3))
    mlp = mfsim.MLP(x, jnp.cos(x[:, 1]), widths=(6,), activation="tanh",
                    parameterization="standard")
    state = mlp.init(jax.random.key(5))
    flat, unravel = ravel_pytree(state)
    H = np.asarray(jax.hessian(lambda f: mlp.objective(unravel(f)))(flat))
    r = np.asarray(ravel_pytree(jax.tree.map(lambda s, q: jnp.full(s.shape, q),
                                             state, mlp.step_rates(state)))[0])
    assert r.max() > 1.5 * r.min()  # the rates differ
    want = np.sort(np.linalg.eigvalsh(np.sqrt(r)[:, None] * H * np.sqrt(r)[None]))[::-1]
    got = np.asarray(_sharpness(mlp, state, k=3, iterations=flat.size)["sharpness"])
    assert np.allclose(got, want[:3], rtol=1e-6)
    twin = mfsim.linearize(mlp, state)
    for a, b in zip(jax.tree.leaves(mlp.vector_field(0.0, state, None)),
                    jax.tree.leaves(twin.vector_field(0.0, state, None))):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-14)


def _lanczos(A, iterations, **kw):
    from mfsim._monitors.sharpness import lanczos_eigenvalues

    A = jnp.asarray(A)
    v0 = jax.random.normal(jax.random.key(7), (A.shape[0],), A.dtype)
    values, steps = jax.jit(lambda v: lanczos_eigenvalues(lambda u: A @ u, v, iterations, **kw))(v0)
    return np.asarray(values), int(steps)


def test_lanczos_stops_early_within_its_residual_bound():
    """A 400 x 400 symmetric matrix with separated top eigenvalues: Lanczos
    stops before its 60 iterations, and each top value is within rtol
    (relative) of numpy's eigh; with rtol = 0 it runs every iteration."""
    rng = np.random.default_rng(0)
    Q = np.linalg.qr(rng.standard_normal((400, 400)))[0]
    spectrum = np.concatenate([[10.0, 7.0, 5.0], rng.uniform(-1.0, 1.0, 397)])
    A = (Q * spectrum) @ Q.T
    exact = np.sort(np.linalg.eigvalsh(A))[::-1][:3]
    for rtol in (1e-6, 1e-10):
        values, steps = _lanczos(A, 60, k=3, rtol=rtol)
        assert steps < 60, steps
        assert np.all(np.abs(values - exact) <= rtol * exact[0]), (rtol, values - exact)
    values, steps = _lanczos(A, 60, k=3, rtol=0.0)
    assert steps == 60 and np.allclose(values, exact, rtol=1e-12)


def test_lanczos_finds_a_repeated_top_eigenvalue_by_restarting():
    """A triple top eigenvalue: one Krylov space holds it once; after the
    space is exhausted the restarts find its multiplicity (rtol never stops
    a run that has restarted)."""
    A = np.diag([5.0, 5.0, 5.0, 2.0, 1.0, 0.5, -1.0, -3.0])
    values, steps = _lanczos(A, 8, k=4, rtol=1e-8)
    assert steps == 8
    np.testing.assert_allclose(values, [5.0, 5.0, 5.0, 2.0], rtol=1e-12)


def test_an_rtol_float32_cannot_meet_is_refused():
    x = jax.random.normal(jax.random.key(0), (10, 2), jnp.float32)
    net32 = mfsim.TwoLayerNetwork(x, jnp.tanh(x[:, 0]), width=3, activation="tanh")
    state = net32.init(jax.random.key(1))
    with pytest.raises(ValueError, match="below what float32 can meet"):
        mfsim.Sharpness(rtol=1e-9).specialize(net32, state)
    assert mfsim.Sharpness().specialize(net32, state) == mfsim.Sharpness()
    got = _sharpness(net32, state)["sharpness"]  # the float32 default (1e-5) runs
    assert got.dtype == jnp.float32 and np.isfinite(got).all()
    # a scenario's monitor key likewise, named, before anything runs
    base = {"name": "x", "system": {"kind": "mlp", "widths": [4]},
            "monitors": [{"name": "train_loss"}, {"name": "sharpness", "rtol": 1e-9}]}
    with pytest.raises(mfsim.ScenarioError) as e:
        mfsim.validate_scenario(base, "x.toml")
    assert str(e.value) == ('x.toml: monitors[1].rtol: 1e-09 is below what float32 resolves (4 '
                            'eps = 4.8e-07): use dtype = "float64", or monitors.1.rtol >= 4.8e-07')
    assert mfsim.validate_scenario({**base, "dtype": "float64"}).monitors[1].rtol == 1e-9
