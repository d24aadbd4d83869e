"""Any Equinox model as a system (issue 19, item 2): mfsim.Network."""

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


TIGHT = dict(t1=3.0, n_save=4, solver="tsit5", rtol=1e-11, atol=1e-13)


def test_a_mean_field_module_trains_like_the_two_layer_network(data):
    """The same weights, as an Equinox module with time scale m: the same
    trajectory as TwoLayerNetwork (mean-field, relu), float64, rtol 1e-10."""
    m = 16
    net = mfsim.TwoLayerNetwork(data.x_train, data.y_train, width=m)
    s0 = net.init(jax.random.key(1))
    model = MeanFieldTwoLayer(v=s0.params.v, w=s0.params.w)
    sys = mfsim.Network(model, data.x_train, data.y_train, time_scale=m)
    assert isinstance(sys, mfsim.ScalarNetwork)
    monitors = [mfsim.TrainLoss(), mfsim.TestLoss(data.x_test, data.y_test),
                mfsim.TrainOutputs()]
    ref = mfsim.simulate(net, s0, monitors=monitors, **TIGHT)
    got = mfsim.simulate(sys, sys.init(), monitors=monitors, **TIGHT)
    for name in ("train_loss", "test_loss", "train_outputs"):
        np.testing.assert_allclose(got.values[name], ref.values[name], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(sys.ntk(sys.init(), data.x_train, data.x_test),
                               net.ntk(s0, data.x_train, data.x_test), rtol=1e-10)


def test_an_ntk_parameterized_module_trains_like_the_mlp(data):
    """mfsim.MLP's weights in an Equinox module of the same parameterization:
    the same trajectory (rtol 1e-10) and NTK, and per-layer movement named by
    the module path."""
    mlp = mfsim.MLP(data.x_train, data.y_train, widths=(8, 8), activation="tanh",
                    sigma_w=1.4, sigma_b=0.3)
    s0 = mlp.init(jax.random.key(2))
    model = NTKDense(layers=tuple((layer.w, layer.b) for layer in s0), sigma_w=1.4,
                     sigma_b=0.3)
    sys = mfsim.Network(model, data.x_train, data.y_train)
    ref = mfsim.simulate(mlp, s0, monitors=[mfsim.TrainOutputs()], **TIGHT)
    got = mfsim.simulate(sys, sys.init(), monitors=[mfsim.TrainOutputs()], **TIGHT)
    np.testing.assert_allclose(got.values["train_outputs"], ref.values["train_outputs"],
                               rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(sys.ntk(sys.init(), data.x_train, data.x_train),
                               mlp.ntk(s0, data.x_train, data.x_train), rtol=1e-10)
    names = set(sys.parameters(sys.init()))
    assert {"layers_0_0", "layers_0_1", "layers_2_1"} <= names, names


def test_richness_and_centring(data):
    """f = (h - h0)/gamma0 with objective gamma0^2 L(f): f starts at 0 and
    the function-space flow is gamma0-free at t = 0 (the NTK of h)."""
    model = eqx.nn.MLP(3, "scalar", 16, 2, activation=jnp.tanh, key=jax.random.key(3))
    model = jax.tree.map(lambda a: a.astype(jnp.float64) if eqx.is_inexact_array(a) else a,
                         model)
    fields = []
    for gamma0 in (0.1, 1.0):
        sys = mfsim.Network(model, data.x_train, data.y_train, gamma0=gamma0, center=True)
        state = sys.init()
        np.testing.assert_array_equal(sys.train_outputs(state), 0.0)
        flow = sys.vector_field(0.0, state, None)
        _, df = jax.jvp(sys.train_outputs, (state,), (flow,))
        fields.append(np.asarray(df))
    np.testing.assert_allclose(fields[0], fields[1], rtol=1e-10)
    with pytest.raises(ValueError, match="per-example shape"):
        mfsim.Network(model, data.x_train, data.y_train[:, None] * jnp.ones(2))


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
    sys = mfsim.Network(cnn, x, y, gamma0=0.5)
    assert not isinstance(sys, mfsim.ScalarNetwork)
    assert sys.ntk(sys.init(), x[:3], x[:4]).shape == (3, 4, 2, 2)
    kw = dict(t1=1.0, n_save=3, rtol=1e-8, atol=1e-10, monitors=[mfsim.TrainLoss()])
    traj = mfsim.simulate(sys, sys.init(), **kw)
    assert traj.succeeded and traj.values["train_loss"][-1] < traj.values["train_loss"][0]
    for twin in (mfsim.linearize(sys, sys.init()), mfsim.quadratize(sys, sys.init())):
        t = mfsim.simulate(twin, twin.init(None), **kw)
        np.testing.assert_allclose(t.values["train_loss"][0], traj.values["train_loss"][0])
        assert t.succeeded
