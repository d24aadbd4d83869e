"""The fused Pallas output and gradient of the two-layer network (interpret
mode on a CPU) against the plain XLA path: issue 36, P6. Sizes are not whole
tiles, so the padding is exercised too."""

from __future__ import annotations

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

import mfsim
from mfsim._systems.fused_two_layer import fused_output


def _task(dtype, n=100, d=7):
    return mfsim.teacher_task(jax.random.key(0), d=d, n_train=n, n_test=4, teacher_width=3,
                              activation="tanh", dtype=dtype)


def _relative(a, b) -> float:
    a, b = ravel_pytree(a)[0], ravel_pytree(b)[0]
    return float(jnp.max(jnp.abs(a - b)) / jnp.max(jnp.abs(b)))


# (dtype, tolerance): the 1e-6 in float32 for every activation;
# float64 to a few hundred eps (the other activations in the slow set)
@pytest.mark.parametrize(("activation", "dtype", "rtol"), [
    *[(a, jnp.float32, 1e-6) for a in ("relu", "tanh", "erf", "gelu")],
    ("relu", jnp.float64, 1e-13),
    *[pytest.param(a, jnp.float64, 1e-13, marks=pytest.mark.slow)
      for a in ("tanh", "erf", "gelu")],
])
def test_vector_field_matches_plain(activation, dtype, rtol):
    data = _task(dtype)
    kw = dict(width=150, activation=activation, bias=True)
    plain = mfsim.TwoLayerNetwork(data.x_train, data.y_train, **kw)
    fused = mfsim.TwoLayerNetwork(data.x_train, data.y_train, fused=True, **kw)
    state = plain.init(jax.random.key(1))
    assert fused.vector_field(0.0, state, None).params.w.dtype == dtype
    assert _relative(fused.vector_field(0.0, state, None),
                     plain.vector_field(0.0, state, None)) <= rtol


@pytest.mark.parametrize("kw", [
    dict(center=True, parameterization="ntk"),
    dict(train=("hidden",), parameterization="mup", bias=True),
    dict(train=("output",)),
    dict(loss="logistic"),
], ids=["centred-ntk", "hidden-only-mup", "output-only", "logistic"])
def test_gradient_options(kw):
    """Frozen layers, a centred model, other parameterizations and losses:
    the same gradient as jax.grad of the objective (float64)."""
    data = _task(jnp.float64, n=40, d=5)
    y = jnp.sign(data.y_train) if kw.get("loss") == "logistic" else data.y_train
    plain = mfsim.TwoLayerNetwork(data.x_train, y, width=70, activation="tanh", **kw)
    fused = mfsim.TwoLayerNetwork(data.x_train, y, width=70, activation="tanh", fused=True, **kw)
    state = plain.init(jax.random.key(2))
    grad = fused.gradient(state)
    assert _relative(grad, jax.grad(plain.objective)(state)) <= 1e-13
    if "output" not in kw.get("train", ("hidden", "output")):
        assert not np.any(np.asarray(grad.params.v))


def test_output_by_hand():
    """The output kernel against a numpy sum over neurons (float64)."""
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(33, 3)), rng.normal(size=(21, 3))
    v, b = rng.normal(size=21), rng.normal(size=21)
    expected = np.tanh(0.5 * x @ w.T + b) @ v
    got = fused_output(*(jnp.asarray(a) for a in (x, w, v, b)), "tanh", 0.5)
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-13, atol=1e-13)


def test_gradient_descent_run_and_sharpness():
    """A short GD run through simulate: the same trajectory as the plain
    network, and the sharpness monitor (forward-over-reverse on the plain
    objective) works on a fused network."""
    data = _task(jnp.float64, n=30, d=4)
    kw = dict(width=40, activation="relu")
    runs = []
    for fused in (False, True):
        system = mfsim.TwoLayerNetwork(data.x_train, data.y_train, fused=fused, **kw)
        settings = mfsim.SolveSettings.of(diffrax.Euler(), t1=2.0, dt=0.1)
        runs.append(mfsim.simulate(system, system.init(jax.random.key(3)), settings, n_save=3,
                                   monitors=[mfsim.TrainLoss(), mfsim.Sharpness()]))
    plain, fused = runs
    assert fused.succeeded
    assert _relative(fused.final_state, plain.final_state) <= 1e-12
    np.testing.assert_allclose(fused.values["sharpness"], plain.values["sharpness"],
                               rtol=1e-10)


def test_scenario_key_builds_a_fused_network():
    from mfsim._scenario.systems.two_layer import TwoLayerConfig, build

    data = _task(jnp.float32, n=8, d=3)
    assert build(TwoLayerConfig(width=4, fused=True), data).fused
    assert not build(TwoLayerConfig(width=4), data).fused
