"""The built-in convolutional family (issue 19, item 2): mfsim.ConvNet, the
conv_teacher image task, seeds through Network(init_fn=...), the cnn system
in scenario files with kernel drift and the linearized and quadratic twins."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.signal import correlate2d

import mfsim


def numpy_conv_same(x, w):
    """'SAME' cross-correlation of one image (c, h, w) with filters (o, c, k, k), by scipy."""
    return np.stack([sum(correlate2d(x[c], w[o, c], mode="same") for c in range(x.shape[0]))
                     for o in range(w.shape[0])])


def numpy_convnet(net, x):
    a = np.asarray(x)
    for conv, s in zip(net.convs, net.multipliers):
        z = s * numpy_conv_same(a, np.asarray(conv.weight))
        if conv.bias is not None:
            z = z + net.sigma_b * np.asarray(conv.bias)
        a = np.tanh(z)
    out = net.multipliers[-1] * np.asarray(net.readout.weight)[0] @ a.mean(axis=(1, 2))
    return out + net.sigma_b * np.asarray(net.readout.bias).ravel()[0]


@pytest.mark.parametrize("parameterization", ["ntk", "standard"])
def test_convnet_matches_a_scipy_forward_pass(parameterization):
    # float64, rtol 1e-12: the layers, multipliers, biases and pooling as documented;
    # ntk and standard compute the same function of the effective weights
    net = mfsim.ConvNet(2, (3, 4), kernel_size=3, activation="tanh", sigma_w=1.3, sigma_b=0.2,
                        parameterization=parameterization, dtype=jnp.float64,
                        key=jax.random.key(0))
    x = np.asarray(jax.random.normal(jax.random.key(1), (3, 2, 5, 5), jnp.float64))
    got = np.asarray(jax.vmap(net)(jnp.asarray(x)))
    np.testing.assert_allclose(got, [numpy_convnet(net, xi) for xi in x], rtol=1e-12)
    fan_ins = [2 * 9, 3 * 9, 4]
    if parameterization == "ntk":
        np.testing.assert_allclose(net.multipliers, [1.3 / np.sqrt(f) for f in fan_ins])
    else:
        assert net.multipliers == (1.0, 1.0, 1.0)
        std = np.std(np.asarray(net.convs[1].weight))
        assert 0.4 * 1.3 / np.sqrt(27) < std < 1.6 * 1.3 / np.sqrt(27)


def test_conv_teacher_targets():
    # the targets recomputed with scipy from the task's own images and a redrawn
    # teacher (same key split): centred, unit variance, noise on training targets only
    key = jax.random.key(3)
    kw = dict(channels=2, size=5, n_train=20, n_test=12, teacher_filters=3, kernel_size=3,
              activation="tanh", dtype=jnp.float64)
    data = mfsim.conv_teacher_task(key, **kw)
    assert isinstance(data, mfsim.ImageDataset) and data.x_train.shape == (20, 2, 5, 5)
    k_u, _, _ = jax.random.split(key, 3)
    u = np.array(jax.random.normal(k_u, (3, 2, 3, 3), jnp.float64))
    u /= np.linalg.norm(u.reshape(3, -1), axis=1)[:, None, None, None]
    x = np.concatenate([data.x_train, data.x_test])
    raw = np.array([np.tanh(numpy_conv_same(xi, u)).mean(axis=(1, 2)) @ [1, -1, 1] / 3
                    for xi in x])
    want = (raw - raw.mean()) / raw.std()
    np.testing.assert_allclose(np.concatenate([data.y_train, data.y_test]), want, rtol=1e-10,
                               atol=1e-12)
    noisy = mfsim.conv_teacher_task(key, **kw, noise=0.5)
    np.testing.assert_array_equal(noisy.y_test, data.y_test)
    assert not np.allclose(noisy.y_train, data.y_train)
    with pytest.raises(ValueError, match="size must be a positive integer"):
        mfsim.conv_teacher_task(key, **{**kw, "size": 0})


def test_init_fn_redraws_the_network_per_seed():
    data = mfsim.conv_teacher_task(jax.random.key(0), channels=1, size=4, n_train=6, n_test=2,
                                   dtype=jnp.float64)
    recipe = mfsim.ConvNetInit(1, (2,), dtype="float32")  # cast to the data's float64
    net = mfsim.network(recipe(jax.random.key(0)), data.x_train, data.y_train, init_fn=recipe)
    a, b, a2 = (net.init(jax.random.key(k)) for k in (1, 2, 1))
    leaves = [jax.tree.leaves(s.params) for s in (a, b, a2)]
    assert all(x.dtype == jnp.float64 for x in leaves[0])
    assert any(not np.array_equal(x, y) for x, y in zip(leaves[0], leaves[1]))
    assert all(np.array_equal(x, y) for x, y in zip(leaves[0], leaves[2]))
    want = jax.tree.leaves(recipe(jax.random.key(1)))
    np.testing.assert_allclose(leaves[0][0], want[0], rtol=1e-7)
    with pytest.raises(ValueError, match="pass a key"):
        net.init()
    assert mfsim.ConvNetInit(1, (2,)) == mfsim.ConvNetInit(1, (2,))  # batches together


CNN_SCENARIO = """
name = "cnn_smoke"
seed = 0
dtype = "float64"
[task]
kind = "conv_teacher"
channels = 1
size = 4
n_train = 8
n_test = 8
[system]
kind = "cnn"
channels = [3]
activation = "tanh"
gamma0 = 0.5
[solver]
t1 = 2.0
rtol = 1e-8
atol = 1e-10
[save]
n = 3
[sweep.grid]
seed = [0, 1]
[[monitors]]
name = "train_loss"
[[monitors]]
name = "kernel"
quantities = ["drift"]
[[monitors]]
name = "param_distance"
[compare]
linearized = true
quadratic = true
"""


@pytest.mark.slow  # run by CI after the README's command (keeps it under 10 min)
def test_cnn_scenario_with_twins_and_kernel_drift(tmp_path):
    # the scenario machinery on the image family: a seed sweep (a fresh network per
    # seed), kernel drift, per-layer movement named by module path, both twins; the
    # twins start where the network does and the quadratic one stays closer to it
    scenario = tmp_path / "cnn.toml"
    scenario.write_text(CNN_SCENARIO)
    ds = mfsim.run(scenario, out=tmp_path / "run")
    for var in ("train_loss", "kernel_drift", "param_distance_convs_0_weight",
                "param_distance_readout_weight", "lin_train_loss", "quad_train_loss"):
        assert var in ds, var
    loss = ds["train_loss"].values
    assert np.all(np.isfinite(loss)) and np.all(loss[:, -1] < loss[:, 0])
    assert not np.allclose(loss[0], loss[1])  # the seeds drew different networks
    np.testing.assert_allclose(ds["lin_train_loss"].values[:, 0], loss[:, 0], rtol=1e-12)
    lin_gap = np.abs(ds["lin_train_loss"].values[:, -1] - loss[:, -1])
    quad_gap = np.abs(ds["quad_train_loss"].values[:, -1] - loss[:, -1])
    assert np.all(quad_gap < lin_gap), (quad_gap, lin_gap)
    assert float(ds["kernel_drift"].values[:, -1].min()) > 0
