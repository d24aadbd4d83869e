"""The two-layer network: gradient, gradient descent, gradient flow, invariants."""

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpy_two_layer import NumpyTwoLayer
from scipy.integrate import solve_ivp

import mfsim


def small_task(key, n=12, d=3, dtype=jnp.float64):
    return mfsim.teacher_task(key, d=d, n_train=n, n_test=7, teacher_width=2, dtype=dtype)


def as_np(state):
    p = state.params
    return np.asarray(p.v), np.asarray(p.w), None if p.b is None else np.asarray(p.b)


CONFIGS = [
    dict(activation="relu", parameterization="mean_field"),
    dict(activation="tanh", parameterization="ntk", bias=True, scale=3.0, center=True),
    dict(activation="erf", parameterization="mean_field", bias=True, scale=0.5,
         train=("hidden",)),
    dict(activation="tanh", parameterization="mup", bias=True, center=True),
]


def reference_for(net, state, data):
    h0 = None
    if net.center:
        h0 = np.asarray(net.raw_output(state.anchor, data.x_train))
    return NumpyTwoLayer(data.x_train, data.y_train, activation=net.activation,
                         parameterization=net.parameterization.name, alpha=float(net.alpha), h0=h0)


@pytest.mark.parametrize("cfg", CONFIGS)
def test_gradient_matches_central_differences(cfg, key):
    # A3 (part 1): jax.grad of the objective vs central finite differences, float64.
    data = small_task(key)
    net = mfsim.TwoLayerNetwork(data.x_train, data.y_train, width=5, **cfg)
    state = net.init(jax.random.key(1))
    grad = jax.grad(net.objective)(state)
    flat, unravel = jax.flatten_util.ravel_pytree(state)
    g_flat, _ = jax.flatten_util.ravel_pytree(grad)
    f = jax.jit(lambda z: net.objective(unravel(z)))
    eps = 1e-6
    fd = np.array([(f(flat.at[i].add(eps)) - f(flat.at[i].add(-eps))) / (2 * eps)
                   for i in range(flat.size)])
    # the anchor and frozen layers are cut from the gradient by design: compare
    # the entries that train, and check that the others are exactly zero
    p, hidden, output = state.params, "hidden" in net.train, "output" in net.train
    mask = [np.full(p.v.shape, output), np.full(p.w.shape, hidden)]
    mask += [] if p.b is None else [np.full(p.b.shape, hidden)]
    mask = np.concatenate([m.ravel() for m in mask])  # params come first in the state
    trainable = np.zeros(flat.size, bool)
    trainable[: mask.size] = mask
    g = np.asarray(g_flat)
    np.testing.assert_allclose(g[trainable], fd[trainable], rtol=1e-6, atol=1e-10)
    np.testing.assert_array_equal(g[~trainable], 0.0)


@pytest.mark.parametrize("cfg", CONFIGS)
def test_vector_field_matches_numpy_formulas(cfg, key):
    data = small_task(key)
    net = mfsim.TwoLayerNetwork(data.x_train, data.y_train, width=6, **cfg)
    state = net.init(jax.random.key(2))
    ref = reference_for(net, state, data)
    vf = net.vector_field(0.0, state, None)
    want = ref.velocity(*as_np(state), train=net.train)
    np.testing.assert_allclose(vf.params.v, want[0], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(vf.params.w, want[1], rtol=1e-12, atol=1e-15)
    if want[2] is not None:
        np.testing.assert_allclose(vf.params.b, want[2], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("cfg", CONFIGS[:2])
def test_euler_is_gradient_descent(cfg, key):
    # A2: K Euler steps of size dt == K steps of hand-written full-batch GD with
    # learning rate tau*dt, to 1e-12 relative (float64).
    data = small_task(key)
    net = mfsim.TwoLayerNetwork(data.x_train, data.y_train, width=8, **cfg)
    state = net.init(jax.random.key(3))
    dt, K = 0.05, 40
    traj = mfsim.simulate(net, state, mfsim.SolveSettings.of(diffrax.Euler(), t1=K * dt, dt=dt),
                          save_times=np.arange(K + 1) * dt, monitors=[mfsim.TrainLoss()])
    assert traj.succeeded and traj.stats["num_steps"] == K
    ref = reference_for(net, state, data)
    v, w, b = as_np(state)
    losses = [ref.loss(v, w, b)]
    for _ in range(K):
        dv, dw, db = ref.velocity(v, w, b, train=net.train)
        v, w, b = v + dt * dv, w + dt * dw, None if b is None else b + dt * db
        losses.append(ref.loss(v, w, b))
    got = as_np(traj.final_state)
    for g, want in zip(got, (v, w, b)):
        if want is not None:
            np.testing.assert_allclose(g, want, rtol=1e-12, atol=1e-14 * np.abs(want).max())
    np.testing.assert_allclose(traj.values["train_loss"], losses, rtol=1e-12)


def test_adaptive_flow_matches_solve_ivp(key):
    # A3 (part 2): tsit5 at tight tolerance vs scipy DOP853 (rtol 1e-10, atol 1e-12)
    # integrating the NumPy vector field, to 1e-7.
    data = small_task(key, n=10, d=3)
    net = mfsim.TwoLayerNetwork(data.x_train, data.y_train, width=6, activation="tanh",
                                bias=True, parameterization="mean_field")
    state = net.init(jax.random.key(4))
    ts = np.linspace(0.0, 3.0, 7)
    traj = mfsim.simulate(net, state,
                          mfsim.SolveSettings.of(diffrax.Tsit5(), t1=3.0, rtol=1e-12, atol=1e-14),
                          save_times=ts, monitors=[mfsim.TrainLoss()])
    assert traj.succeeded
    ref = reference_for(net, state, data)
    m, d = 6, 3
    v0, w0, b0 = as_np(state)

    def rhs(t, z):
        v, w, b = z[:m], z[m:m + m * d].reshape(m, d), z[m + m * d:]
        dv, dw, db = ref.velocity(v, w, b)
        return np.concatenate([dv, dw.ravel(), db])

    sol = solve_ivp(rhs, (0.0, 3.0), np.concatenate([v0, w0.ravel(), b0]), method="DOP853",
                    rtol=1e-10, atol=1e-12, t_eval=ts)
    z1 = sol.y[:, -1]
    got = np.concatenate([as_np(traj.final_state)[0], as_np(traj.final_state)[1].ravel(),
                          as_np(traj.final_state)[2]])
    np.testing.assert_allclose(got, z1, rtol=1e-7, atol=1e-7 * np.abs(z1).max())
    ref_losses = [ref.loss(s[:m], s[m:m + m * d].reshape(m, d), s[m + m * d:]) for s in sol.y.T]
    np.testing.assert_allclose(traj.values["train_loss"], ref_losses, rtol=1e-7)
    # and the flow really moved the state (not a trivial agreement)
    assert np.abs(z1 - sol.y[:, 0]).max() > 1e-2


def test_relu_balance_conserved(key):
    # A3 (part 3): v_j^2 - |w_j|^2 conserved per neuron to 1e-8 relative (tsit5, rtol 1e-10).
    data = small_task(key, n=16, d=4)
    net = mfsim.TwoLayerNetwork(data.x_train, data.y_train, width=10, activation="relu",
                                parameterization="mean_field")
    state = net.init(jax.random.key(5))
    traj = mfsim.simulate(net, state,
                          mfsim.SolveSettings.of(diffrax.Tsit5(), t1=5.0, rtol=1e-10, atol=1e-12),
                          n_save=2)
    assert traj.succeeded
    q0 = np.asarray(net.invariants(state)["neuron_balance"])
    q1 = np.asarray(net.invariants(traj.final_state)["neuron_balance"])
    p0 = net.particles(state)
    size = np.asarray(jnp.sum(p0**2, axis=1))  # v_j^2 + |w_j|^2
    assert np.max(np.abs(q1 - q0) / size) < 1e-8
    moved = np.asarray(jnp.linalg.norm(net.particles(traj.final_state) - p0, axis=1) / jnp.sqrt(size))
    assert moved.max() > 1e-2  # the neurons moved: conservation is not vacuous


def test_invariant_declared_only_where_it_holds(key):
    data = small_task(key)
    for kw in (dict(activation="tanh"), dict(bias=True), dict(train=("hidden",))):
        net = mfsim.TwoLayerNetwork(data.x_train, data.y_train, width=4, **kw)
        assert net.invariants(net.init(key)) == {}


def test_zero_output_inits(key):
    data = small_task(key)
    sym = mfsim.TwoLayerNetwork(data.x_train, data.y_train, width=8, init="symmetric")
    s = sym.init(key)
    np.testing.assert_allclose(sym.predict(s, data.x_test), 0.0, atol=1e-14)
    np.testing.assert_array_equal(s.params.v[:4], -s.params.v[4:])
    cen = mfsim.TwoLayerNetwork(data.x_train, data.y_train, width=7, center=True, scale=5.0)
    s = cen.init(key)
    np.testing.assert_allclose(cen.predict(s, data.x_test), 0.0, atol=1e-14)
    np.testing.assert_allclose(cen.predict(s, data.x_train), 0.0, atol=1e-14)
    with pytest.raises(ValueError, match="even width"):
        mfsim.TwoLayerNetwork(data.x_train, data.y_train, width=7, init="symmetric")


def test_particles_and_init_statistics(key):
    x = jnp.ones((3, 20))
    net = mfsim.TwoLayerNetwork(x, jnp.zeros(3), width=4000, bias=True, sigma_v=2.0,
                                sigma_w=3.0, sigma_b=0.5)
    s = net.init(key)
    p = net.particles(s)
    assert p.shape == (4000, 22)
    # init stds: v ~ N(0, 4), w ~ N(0, 9/d), b ~ N(0, 0.25); 4000*20 samples for w
    assert abs(float(jnp.std(s.params.v)) - 2.0) < 0.1
    assert abs(float(jnp.std(s.params.w)) - 3.0 / np.sqrt(20)) < 0.01
    assert abs(float(jnp.std(s.params.b)) - 0.5) < 0.03
    no_bias = mfsim.TwoLayerNetwork(x, jnp.zeros(3), width=5)
    assert no_bias.particles(no_bias.init(key)).shape == (5, 21)


def test_relu_derivative_at_zero_is_zero():
    g = jax.grad(lambda z: mfsim.ACTIVATIONS["relu"](z))(0.0)
    assert g == 0.0


def test_frozen_layer_does_not_move(key):
    data = small_task(key)
    net = mfsim.TwoLayerNetwork(data.x_train, data.y_train, width=4, train=("output",))
    s = net.init(key)
    traj = mfsim.simulate(net, s, mfsim.SolveSettings.of(diffrax.Euler(), t1=1.0, dt=0.1), n_save=2)
    np.testing.assert_array_equal(traj.final_state.params.w, s.params.w)
    assert not np.allclose(traj.final_state.params.v, s.params.v)


def test_float32_run_stays_float32(key):
    data = small_task(key, dtype=jnp.float32)
    net = mfsim.TwoLayerNetwork(data.x_train, data.y_train, width=4)
    traj = mfsim.simulate(net, key, mfsim.SolveSettings.of(diffrax.Tsit5(), t1=1.0), n_save=3,
                          monitors=[mfsim.TrainLoss()])
    assert traj.values["train_loss"].dtype == jnp.float32
    assert traj.final_state.params.w.dtype == jnp.float32
    assert traj.ts.dtype == jnp.float32


@pytest.mark.parametrize("bias,center", [(False, False), (True, True)])
def test_particle_blocks_equal_the_dense_sum(bias, center):
    # the blocked output (checkpointed scan over neuron blocks, and a tail
    # when the block does not divide m) and its gradient equal the dense ones
    data = small_task(jax.random.key(3), n=10, d=3)
    kw = dict(width=45, activation="tanh", bias=bias, center=center)
    dense = mfsim.TwoLayerNetwork(data.x_train, data.y_train, block=0, **kw)
    blocked = mfsim.TwoLayerNetwork(data.x_train, data.y_train, block=8, **kw)
    state = dense.init(jax.random.key(4))
    np.testing.assert_allclose(blocked.predict(state, data.x_test),
                               dense.predict(state, data.x_test), rtol=1e-13, atol=1e-15)
    for a, b in zip(jax.tree.leaves(blocked.vector_field(0.0, state, None)),
                    jax.tree.leaves(dense.vector_field(0.0, state, None))):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    assert mfsim.TwoLayerNetwork(data.x_train, data.y_train, width=8).block == 0  # small: dense
    from mfsim._systems.two_layer import PARTICLE_BLOCK, auto_block
    assert auto_block(4096, 8192, "cpu") == PARTICLE_BLOCK and auto_block(4096, 8192, "gpu") == 0
    # accelerators: past 2^28 pre-activations, blocks of 2^26 / n neurons (a power of two)
    assert auto_block(8192, 65536, "gpu") == 8192 and auto_block(1000, 2**26, "gpu") == 65536
    assert auto_block(2**20, 512, "gpu") == PARTICLE_BLOCK


@pytest.mark.slow  # 5-10 s: in CI's slow set, keeping the README's command under 10 min
def test_mup_is_mean_field_with_a_slower_input_layer(key):
    # muP (input multiplier 1/sqrt(d), w ~ N(0, sigma_w^2 I)) and mean_field
    # (w ~ N(0, sigma_w^2 I / d)) compute the same function of w_mf = w_mup / sqrt(d);
    # the hidden layer's NTK term, and the effective input weights' velocity, are d times
    # smaller in muP (float64, to rounding). Its analytic kernel is the wide-network limit:
    # tau Theta_m averaged over 8 draws of width 4096 within 3% (relative Frobenius).
    data = small_task(key, n=10, d=4)
    d = 4
    mup = mfsim.TwoLayerNetwork(data.x_train, data.y_train, width=6, activation="tanh",
                                parameterization="mup")
    mf = mfsim.TwoLayerNetwork(data.x_train, data.y_train, width=6, activation="tanh",
                               parameterization="mean_field")
    s = mup.init(jax.random.key(4))
    s_mf = mf.make_state(s.params.v, s.params.w / np.sqrt(d))
    np.testing.assert_allclose(mup.train_outputs(s), mf.train_outputs(s_mf), rtol=1e-13)
    vf, vf_mf = mup.vector_field(0, s, None), mf.vector_field(0, s_mf, None)
    np.testing.assert_allclose(vf.params.v, vf_mf.params.v, rtol=1e-12)
    np.testing.assert_allclose(vf.params.w / np.sqrt(d), vf_mf.params.w / d, rtol=1e-12)
    x = data.x_train
    k_out = mfsim.TwoLayerNetwork(x, data.y_train, width=6, activation="tanh",
                                  parameterization="mean_field", train=("output",))
    hidden_mup = mup.ntk(s, x, x) - k_out.ntk(s_mf, x, x)
    hidden_mf = mf.ntk(s_mf, x, x) - k_out.ntk(s_mf, x, x)
    np.testing.assert_allclose(hidden_mup, hidden_mf / d, rtol=1e-12, atol=1e-15)
    wide = mfsim.TwoLayerNetwork(x, data.y_train, width=4096, activation="tanh",
                                 parameterization="mup", bias=True)
    states = jax.vmap(wide.init)(jax.random.split(jax.random.key(5), 8))
    k_m = jnp.mean(jax.vmap(lambda st: wide.time_scale() * wide.ntk(st, x, x))(states), axis=0)
    k_inf = wide.analytic_ntk()(x, x)
    assert float(jnp.linalg.norm(k_m - k_inf) / jnp.linalg.norm(k_inf)) < 0.03
    w = np.asarray(states.params.w)
    assert abs(w.std() - 1.0) < 0.01  # N(0, sigma_w^2) entries, no 1/d
