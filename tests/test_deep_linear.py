"""Deep linear networks (C1): Saxe's mode dynamics, conserved balancedness,
lambda-balanced init, minimum-norm limit; structured NTK vs generic."""

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mfsim

TIGHT = dict()


class Modes(mfsim.AbstractMonitor):
    """u_i = U[:, i]^T (W_2 W_1) V[:, i] and the largest off-diagonal entry."""

    u: jax.Array
    v: jax.Array

    def __call__(self, t, state, ref):
        m = self.u.T @ ref.system.end_to_end(state) @ self.v
        return {"modes": jnp.diagonal(m), "off": jnp.max(jnp.abs(m - jnp.diag(jnp.diagonal(m))))}

    def variables(self):
        return mfsim.Variable.plain({"modes": "", "off": ""})


def test_saxe_mode_dynamics():
    # C1: two layers, whitened inputs, balanced small decoupled init: each mode
    # follows u(t) = s e^{2st/tau_s} / (e^{2st/tau_s} - 1 + s/u0), tau_s = 1/tau, to 1e-6
    rng = np.random.default_rng(0)
    n, d, o = 40, 4, 3
    x = np.asarray(mfsim.whiten(jnp.asarray(rng.standard_normal((n, d)))))
    np.testing.assert_allclose(x.T @ x / n, np.eye(d), atol=1e-12)
    u, _ = np.linalg.qr(rng.standard_normal((o, o)))
    v, _ = np.linalg.qr(rng.standard_normal((d, o)))
    s = np.array([3.0, 2.0, 1.0])
    y = x @ (u * s @ v.T).T  # input-output correlation (1/n) Y^T X = U S V^T
    u0, tau = 1e-3, 0.7
    state = (np.sqrt(u0) * v.T, np.sqrt(u0) * u)  # W1 = sqrt(u0) V^T, W2 = U sqrt(u0)
    net = mfsim.DeepLinearNetwork(x, y, widths=(3,), time_scale=tau)
    ts = np.linspace(0.0, 10.0, 25)
    traj = mfsim.simulate(net, tuple(map(jnp.asarray, state)),
                          mfsim.SolveSettings.of(diffrax.Tsit5(), t1=10.0, rtol=1e-12, atol=1e-14),
                          save_times=ts, monitors=[Modes(jnp.asarray(u), jnp.asarray(v))], **TIGHT)
    assert traj.succeeded
    e = np.exp(2 * s[None] * tau * ts[:, None])
    want = s * e / (e - 1 + s / u0)
    np.testing.assert_allclose(traj.values["modes"], want, rtol=1e-6)
    assert np.max(traj.values["off"]) < 1e-9
    assert want[-1, 2] > 0.9  # even the weakest mode was learned: the sigmoid was crossed


@pytest.mark.parametrize("widths, init", [((5, 4), "gaussian"), ((6, 6, 5), "orthogonal")])
def test_balancedness_conserved(widths, init):
    # C1: W_{l+1}^T W_{l+1} - W_l W_l^T conserved to 1e-9 (float64, tight tolerance)
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((20, 3)), rng.standard_normal((20, 2))
    net = mfsim.DeepLinearNetwork(x, y, widths=widths, init=init, scale=0.8)
    s0 = net.init(jax.random.key(0))
    traj = mfsim.simulate(net, s0,
                          mfsim.SolveSettings.of(diffrax.Tsit5(), t1=5.0, rtol=1e-12, atol=1e-14),
                          n_save=2, **TIGHT)
    assert traj.succeeded
    before, after = net.invariants(s0), net.invariants(traj.final_state)
    assert len(before) == len(widths)
    for k in before:
        assert np.max(np.abs(after[k] - before[k])) < 1e-9, k
    moved = max(np.abs(a - b).max() for a, b in zip(traj.final_state, s0))
    assert moved > 0.1  # the layers moved: conservation is not vacuous


@pytest.mark.parametrize("dims, lam", [((3, 4, 5), 0.5), ((5, 4, 2), -0.2), ((2, 3, 3), 2.0)])
def test_lambda_balanced_init_keeps_lambda(dims, lam):
    d, h, o = dims
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((25, d)), rng.standard_normal((25, o))
    net = mfsim.DeepLinearNetwork(x, y, widths=(h,), init="lambda_balanced", lam=lam, scale=1.0)
    s0 = net.init(jax.random.key(3))
    eye = np.eye(h)
    np.testing.assert_allclose(net.invariants(s0)["balance_1"], lam * eye, atol=1e-12)
    traj = mfsim.simulate(net, s0,
                          mfsim.SolveSettings.of(diffrax.Tsit5(), t1=5.0, rtol=1e-12, atol=1e-14),
                          n_save=2, **TIGHT)
    assert np.max(np.abs(net.invariants(traj.final_state)["balance_1"] - lam * eye)) < 1e-9
    assert np.abs(traj.final_state[0] - s0[0]).max() > 0.05


@pytest.mark.parametrize("dims, lam", [((3, 4, 2), 0.5), ((3, 4, 5), -0.2)])
def test_lambda_balanced_impossible_shapes_are_refused(dims, lam):
    d, h, o = dims
    x, y = np.ones((4, d)), np.ones((4, o))
    net = mfsim.DeepLinearNetwork(x, y, widths=(h,), init="lambda_balanced", lam=lam)
    with pytest.raises(ValueError, match="lambda_balanced with lambda"):
        net.init(jax.random.key(0))


def test_balanced_init_is_balanced_with_the_drawn_product():
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((10, 5)), rng.standard_normal((10, 3))
    net = mfsim.DeepLinearNetwork(x, y, widths=(4, 6), init="balanced", scale=2.0)
    s0 = net.init(jax.random.key(5))
    for m in net.invariants(s0).values():
        np.testing.assert_allclose(m, 0.0, atol=1e-12)
    sv = np.asarray(net.singular_values(s0))
    assert sv.shape == (3,) and sv[0] > 0


def test_one_layer_from_zero_reaches_minimum_norm_solution():
    # C1: underdetermined least squares from zero: gradient flow -> X^+ y
    rng = np.random.default_rng(6)
    x, y = rng.standard_normal((8, 20)), rng.standard_normal((8, 2))
    net = mfsim.DeepLinearNetwork(x, y, widths=(), scale=0.0)
    s0 = net.init(jax.random.key(0))
    assert np.all(np.asarray(s0[0]) == 0)
    lam_min = np.linalg.eigvalsh(x @ x.T / 8).min()
    t1 = 40.0 / lam_min  # residual decays at least as exp(-lam_min t)
    traj = mfsim.simulate(net, s0, mfsim.SolveSettings.of(diffrax.Tsit5(), t1=t1, rtol=1e-10, atol=1e-13),
                          n_save=2)
    want = (np.linalg.pinv(x) @ y).T
    np.testing.assert_allclose(traj.final_state[0], want, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("widths", [(), (4,), (5, 3)])
def test_structured_ntk_matches_generic(widths):
    rng = np.random.default_rng(7)
    x, y = jnp.asarray(rng.standard_normal((9, 4))), jnp.asarray(rng.standard_normal((9, 3)))
    net = mfsim.DeepLinearNetwork(x, y, widths=widths, scale=1.3)
    s = net.init(jax.random.key(8))
    k = net.ntk(s, x[:6], x)
    for method in ("jacobian", "ntvp"):
        g = mfsim.empirical_ntk(net.predict, s, x[:6], x, method=method, block_size=4)
        np.testing.assert_allclose(g, k, rtol=1e-10, atol=1e-12 * np.abs(k).max())
