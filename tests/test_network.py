"""Any Equinox model as a system (issue 19, item 2): mfsim.Network."""

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mfsim


class MeanFieldTwoLayer(eqx.Module):
    """(1/m) sum_j v_j relu(w_j . x): TwoLayerNetwork's mean-field model."""

    v: jax.Array
    w: jax.Array

    def __call__(self, x):
        return jnp.mean(self.v * jax.nn.relu(self.w @ x))


class NTKDense(eqx.Module):
    """The stax NTK parameterization, as mfsim.MLP computes it."""

    layers: tuple
    sigma_w: float = eqx.field(static=True)
    sigma_b: float = eqx.field(static=True)

    def __call__(self, x):
        a = x
        for i, (w, b) in enumerate(self.layers):
            z = self.sigma_w / np.sqrt(a.shape[-1]) * (w @ a) + self.sigma_b * b
            a = jnp.tanh(z) if i < len(self.layers) - 1 else z
        return a[0]


@pytest.fixture(scope="module")
def data():
    return mfsim.teacher_task(jax.random.key(0), d=3, n_train=12, n_test=6, dtype=jnp.float64)


TIGHT = dict(n_save=3)


@pytest.mark.slow  # 13 s on CI; the two-layer network's own flow tests stay fast
def test_a_mean_field_module_trains_like_the_two_layer_network(data):
    """The same weights, as an Equinox module with time scale m: the same
    trajectory as TwoLayerNetwork (mean-field, relu), float64, rtol 1e-10."""
    m = 16
    net = mfsim.TwoLayerNetwork(data.x_train, data.y_train, width=m)
    s0 = net.init(jax.random.key(1))
    model = MeanFieldTwoLayer(v=s0.params.v, w=s0.params.w)
    sys = mfsim.network(model, data.x_train, data.y_train, time_scale=m)
    assert isinstance(sys, mfsim.ScalarNetwork)
    monitors = [mfsim.TestLoss(data.x_test, data.y_test), mfsim.TrainOutputs()]
    ref = mfsim.simulate(net, s0, mfsim.SolveSettings.of(diffrax.Tsit5(), t1=1.0, rtol=1e-11, atol=1e-13),
                         monitors=monitors, **TIGHT)
    got = mfsim.simulate(sys, sys.init(),
                         mfsim.SolveSettings.of(diffrax.Tsit5(), t1=1.0, rtol=1e-11, atol=1e-13),
                         monitors=monitors, **TIGHT)
    for name in ("test_loss", "train_outputs"):
        np.testing.assert_allclose(got.values[name], ref.values[name], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(sys.ntk(sys.init(), data.x_train, data.x_test),
                               net.ntk(s0, data.x_train, data.x_test), rtol=1e-10)


@pytest.mark.slow  # ~12-13 s: keeps the README's command well under 10 min
def test_an_ntk_parameterized_module_trains_like_the_mlp(data):
    """mfsim.MLP's weights in an Equinox module of the same parameterization:
    the same trajectory (rtol 1e-10) and NTK, and per-layer movement named by
    the module path."""
    mlp = mfsim.MLP(data.x_train, data.y_train, widths=(8, 8), activation="tanh",
                    sigma_w=1.4, sigma_b=0.3)
    s0 = mlp.init(jax.random.key(2))
    model = NTKDense(layers=tuple((layer.w, layer.b) for layer in s0), sigma_w=1.4,
                     sigma_b=0.3)
    sys = mfsim.network(model, data.x_train, data.y_train)
    ref = mfsim.simulate(mlp, s0, mfsim.SolveSettings.of(diffrax.Tsit5(), t1=1.0, rtol=1e-11, atol=1e-13),
                         monitors=[mfsim.TrainOutputs()], **TIGHT)
    got = mfsim.simulate(sys, sys.init(),
                         mfsim.SolveSettings.of(diffrax.Tsit5(), t1=1.0, rtol=1e-11, atol=1e-13),
                         monitors=[mfsim.TrainOutputs()], **TIGHT)
    np.testing.assert_allclose(got.values["train_outputs"], ref.values["train_outputs"],
                               rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(sys.ntk(sys.init(), data.x_train, data.x_train),
                               mlp.ntk(s0, data.x_train, data.x_train), rtol=1e-10)
    names = set(sys.parameters(sys.init()))
    assert {"layers_0_0", "layers_0_1", "layers_2_1"} <= names, names


@pytest.mark.slow  # run by CI after the README's command (keeps it under 10 min)
def test_an_eqx_nn_mlp_trains_like_the_standard_mlp(data):
    """B3 of issue 19: a plain eqx.nn.MLP holding mfsim.MLP's effective weights
    (s_l W, sigma_b b) trained by Network at one rate is mfsim.MLP under the
    standard parameterization: the same trajectory (float64, rtol 1e-10 and atol
    1e-10; measured 1.8e-11 at most), with gamma0 and centring too."""
    for gamma0, center in ((1.0, False), (0.5, True)):
        mlp = mfsim.MLP(data.x_train, data.y_train, widths=(8, 8), activation="tanh",
                        sigma_w=1.4, sigma_b=0.3, parameterization="standard",
                        gamma0=gamma0, center=center)
        s0 = mlp.init(jax.random.key(2))
        model = eqx.nn.MLP(3, "scalar", width_size=8, depth=2, activation=jnp.tanh,
                           key=jax.random.key(0), dtype=jnp.float64)
        for i, layer in enumerate(mlp.layers(s0)):
            scale = 1.4 / np.sqrt(layer.w.shape[1])
            model = eqx.tree_at(lambda m, i=i: m.layers[i].weight, model, scale * layer.w)
            model = eqx.tree_at(lambda m, i=i: m.layers[i].bias, model,
                                0.3 * layer.b.reshape(model.layers[i].bias.shape))
        sys = mfsim.network(model, data.x_train, data.y_train, gamma0=gamma0, center=center)
        ref = mfsim.simulate(mlp, s0,
                             mfsim.SolveSettings.of(diffrax.Tsit5(), t1=1.0, rtol=1e-11, atol=1e-13),
                             monitors=[mfsim.TrainOutputs()], **TIGHT)
        got = mfsim.simulate(sys, sys.init(),
                             mfsim.SolveSettings.of(diffrax.Tsit5(), t1=1.0, rtol=1e-11, atol=1e-13),
                             monitors=[mfsim.TrainOutputs()], **TIGHT)
        # atol for the centred outputs near zero (the solves' own error is ~1e-11)
        np.testing.assert_allclose(got.values["train_outputs"], ref.values["train_outputs"],
                                   rtol=1e-10, atol=1e-10)


def test_richness_and_centring(data):
    """f = (h - h0)/gamma0 with objective gamma0^2 L(f): f starts at 0 and
    the function-space flow is gamma0-free at t = 0 (the NTK of h)."""
    model = eqx.nn.MLP(3, "scalar", 16, 2, activation=jnp.tanh, key=jax.random.key(3))
    model = jax.tree.map(lambda a: a.astype(jnp.float64) if eqx.is_inexact_array(a) else a,
                         model)
    fields = []
    for gamma0 in (0.1, 1.0):
        sys = mfsim.network(model, data.x_train, data.y_train, gamma0=gamma0, center=True)
        state = sys.init()
        np.testing.assert_array_equal(sys.train_outputs(state), 0.0)
        flow = sys.vector_field(0.0, state, None)
        _, df = jax.jvp(sys.train_outputs, (state,), (flow,))
        fields.append(np.asarray(df))
    np.testing.assert_allclose(fields[0], fields[1], rtol=1e-10)
    with pytest.raises(ValueError, match="per-example shape"):
        mfsim.network(model, data.x_train, data.y_train[:, None] * jnp.ones(2))


def test_a_network_has_one_way_in(data):
    """Issue 35 item 5: the class was chosen in ``Network.__new__``; now
    ``mfsim.network`` chooses it (scalar outputs: ScalarNetwork), and the
    class of a scalar model is refused, naming the function."""
    scalar = eqx.nn.MLP(data.x_train.shape[1], "scalar", 4, 1, key=jax.random.key(0))
    vector = eqx.nn.MLP(data.x_train.shape[1], 2, 4, 1, key=jax.random.key(0))
    assert type(mfsim.network(scalar, data.x_train, data.y_train)) is mfsim.ScalarNetwork
    y2 = data.y_train[:, None] * jnp.ones(2)
    assert type(mfsim.network(vector, data.x_train, y2)) is mfsim.Network
    assert type(mfsim.Network(vector, data.x_train, y2)) is mfsim.Network
    with pytest.raises(TypeError) as err:
        mfsim.Network(scalar, data.x_train, data.y_train)
    assert str(err.value) == (
        "mfsim.Network(MLP, ...) would lose the model's scalar outputs (kernel monitors and "
        "twins need them): build it with mfsim.network(model, x_train, y_train, ...)")


@pytest.mark.slow  # run by CI after the README's command (keeps it under 10 min)
def test_images_vector_outputs_twins_and_kernel_drift():
    """A small CNN on (c, h, w) images with 2 outputs: trains, the
    linearized and quadratic twins build and solve, the kernel of a vector
    model has shape (n1, n2, o, o)."""
    key = jax.random.split(jax.random.key(4), 3)
    x = jax.random.normal(key[0], (6, 1, 5, 5), jnp.float64)
    y = jax.random.normal(key[1], (6, 2), jnp.float64)

    class CNN(eqx.Module):
        conv: eqx.nn.Conv2d
        readout: eqx.nn.Linear

        def __call__(self, img):
            return self.readout(jnp.tanh(self.conv(img)).ravel())

    k1, k2 = jax.random.split(key[2])
    cnn = CNN(eqx.nn.Conv2d(1, 2, 3, key=k1, dtype=jnp.float64),
              eqx.nn.Linear(2 * 3 * 3, 2, key=k2, dtype=jnp.float64))
    sys = mfsim.network(cnn, x, y, gamma0=0.5)
    assert not isinstance(sys, mfsim.ScalarNetwork)
    assert sys.ntk(sys.init(), x[:3], x[:4]).shape == (3, 4, 2, 2)
    kw = dict(n_save=2, monitors=[mfsim.TrainLoss()])
    traj = mfsim.simulate(sys, sys.init(),
                          mfsim.SolveSettings.of(diffrax.Tsit5(), t1=0.3, rtol=1e-6, atol=1e-9), **kw)
    assert traj.succeeded and traj.values["train_loss"][-1] < traj.values["train_loss"][0]
    lin = mfsim.linearize(sys, sys.init())
    t = mfsim.simulate(lin, lin.init(None),
                       mfsim.SolveSettings.of(diffrax.Tsit5(), t1=0.3, rtol=1e-6, atol=1e-9), **kw)
    np.testing.assert_allclose(t.values["train_loss"][0], traj.values["train_loss"][0])
    assert t.succeeded
    # the quadratic twin starts where the network does, with the same velocity
    quad = mfsim.quadratize(sys, sys.init())

    @eqx.filter_jit
    def velocities(quad, sys):
        return (quad.vector_field(0.0, quad.init(None), None),
                sys.vector_field(0.0, sys.init(), None))
    for a, b in zip(*map(jax.tree.leaves, velocities(quad, sys))):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14)


# ------------------------------------------------ the deep network's abc scalings
def _feature_slopes(parameterization, widths):
    data = mfsim.teacher_task(jax.random.key(0), d=4, n_train=8, n_test=4, dtype=jnp.float64,
                              activation="tanh")
    moves = []
    for n in widths:
        net = mfsim.MLP(data.x_train, data.y_train, widths=(n, n), activation="tanh",
                        bias=False, parameterization=parameterization, center=True)
        traj = mfsim.simulate(net, net.init(jax.random.key(1)),
                              mfsim.SolveSettings.of(diffrax.Euler(), t1=1.0, dt=0.1), n_save=2,
                              monitors=[mfsim.FeatureMovement(subsample=8, depth=2)])
        moves.append([float(traj.values[f"feature_movement_{l}"][-1]) for l in (1, 2)])
    moves = np.array(moves)
    return [np.polyfit(np.log(widths), np.log(moves[:, l]), 1)[0] for l in (0, 1)]


@pytest.mark.slow
def test_coordinate_check_mup_features_move_at_every_width():
    """B1 of issue 19: after a fixed training time (t = 1), the per-layer
    feature movement of a centred depth-2 tanh network is flat in the width
    under mup (|log-log slope| < 0.1) and falls like N^-1/2 under ntk
    (slope -0.5 +- 0.1); widths 128 ... 2048 (measured: mup 0.04, 0.03;
    ntk -0.45, -0.46)."""
    widths = [128, 512, 2048]
    for slope in _feature_slopes("mup", widths):
        assert abs(slope) < 0.1, slope
    for slope in _feature_slopes("ntk", widths):
        assert abs(slope + 0.5) < 0.1, slope


@pytest.mark.slow  # 5-10 s: in CI's slow set, keeping the README's command under 10 min
def test_parameterizations_gamma0_centring_and_rates(data):
    """mup's readout is divided by n_L and its time scaled by n_L; gamma0
    leaves the function flow unchanged (f = h/gamma0, objective gamma0^2 L);
    standard rates n_l/sigma_w^2 make the flow that of the weights as stored
    (checked against autodiff in those coordinates); a centred state keeps
    its anchor out of the parameters."""
    x, y = data.x_train, data.y_train
    kw = dict(widths=(6, 5), activation="tanh", sigma_w=1.3, sigma_b=0.2)
    ntk = mfsim.MLP(x, y, **kw)
    mup = mfsim.MLP(x, y, parameterization="mup", **kw)
    s0 = ntk.init(jax.random.key(2))
    bias = 0.2 * s0[-1].b[0]  # the readout's bias term: the same in both
    np.testing.assert_allclose(mup.train_outputs(s0),
                               (ntk.train_outputs(s0) - bias) / np.sqrt(5) + bias, rtol=1e-12)
    assert float(mup.time_scale()) == 5.0
    flows = []
    for gamma0 in (0.3, 1.0):
        net = mfsim.MLP(x, y, gamma0=gamma0, center=True, **kw)
        state = net.init(jax.random.key(2))
        np.testing.assert_array_equal(net.train_outputs(state), 0.0)
        _, df = jax.jvp(net.train_outputs, (state,), (net.vector_field(0.0, state, None),))
        flows.append(np.asarray(df))
        assert set(net.parameters(state)) == {"0_w", "0_b", "1_w", "1_b", "2_w", "2_b"}
    np.testing.assert_allclose(flows[0], flows[1], rtol=1e-10)
    # standard: gradient flow on W~ = s W at rate 1 is the flow of W at rate 1/s^2
    std = mfsim.MLP(x, y, parameterization="standard", **kw)
    scales = std.weight_scales()
    flow = std.vector_field(0.0, s0, None)

    def loss_in_stored(stored):
        layers = tuple(mfsim.DenseParams(w=w / s, b=b / 0.2)
                       for (w, b), s in zip(stored, scales))
        return std.objective(layers)
    stored = tuple((layer.w * s, layer.b * 0.2) for layer, s in zip(s0, scales))
    grad = jax.grad(loss_in_stored)(stored)
    for layer, (gw, gb), s in zip(flow, grad, scales):
        np.testing.assert_allclose(layer.w * s, -gw, rtol=1e-10)  # dW~/dt = s dW/dt
        np.testing.assert_allclose(layer.b * 0.2, -gb, rtol=1e-10)


@pytest.mark.slow  # ~11-28 s: keeps the README's command well under 10 min
def test_deep_ntk_at_init_approaches_the_analytic_kernel():
    """B2 of issue 19: the depth-2 NTK-parameterized network's empirical NTK
    at init approaches fc_kernels' analytic one, the relative Frobenius
    error (mean over 4 seeds) falling like N^-1/2 (slope within 0.15), widths
    64 ... 1024."""
    data = mfsim.teacher_task(jax.random.key(7), d=4, n_train=6, n_test=2, dtype=jnp.float64)
    x = data.x_train
    widths = np.array([64, 256, 1024])
    errors = []
    for n in widths:
        net = mfsim.MLP(x, data.y_train, widths=(int(n), int(n)), activation="relu",
                        sigma_w=1.4, sigma_b=0.1)
        exact = np.asarray(net.analytic_ntk()(x, x))
        errors.append(np.mean([np.linalg.norm(np.asarray(net.ntk(net.init(jax.random.key(s)),
                                                                 x, x)) - exact)
                               / np.linalg.norm(exact) for s in range(4)]))
    slope = np.polyfit(np.log(widths), np.log(errors), 1)[0]
    assert abs(slope + 0.5) < 0.15, (slope, errors)
