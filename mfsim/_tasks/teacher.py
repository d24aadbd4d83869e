r"""Teacher–student regression: targets from a two-layer teacher network.

$$y(x) = \frac1k\sum_{i=1}^k a_i\,\phi(u_i\cdot x) + \sigma\,\xi,$$

with unit-norm teacher directions $u_i$ (uniform on the sphere), output
weights $a_i = \pm 1$ (alternating signs, so the teacher is not a constant
shift), inputs $x\sim N(0, I_d)$ (``"gaussian"``) or uniform on the unit
sphere $S^{d-1}$ scaled by $\sqrt d$ (``"sphere"``; same second moment), and
label noise $\xi\sim N(0,1)$ on the training targets only (the test targets
are the clean teacher, so test loss measures the distance to it).
The teacher's neurons, $(a_i, u_i)$, are the reference particle measure
$\frac1k\sum_i\delta_{(a_i,u_i)}$ in the mean-field parameterization.
"""

from __future__ import annotations

import math
from typing import Literal

import equinox as eqx
import jax
import jax.numpy as jnp

from .._systems.activations import get_activation
from .dataset import AbstractSampler, Dataset


def sample_inputs(key, n: int, d: int, distribution: str, dtype) -> jax.Array:
    """``n`` inputs in ``R^d``: standard Gaussian, or the sphere of radius sqrt(d)."""
    x = jax.random.normal(key, (n, d), dtype)
    if distribution == "gaussian":
        return x
    if distribution == "sphere":
        return math.sqrt(d) * x / jnp.linalg.norm(x, axis=1, keepdims=True)
    raise ValueError(f"unknown input distribution {distribution!r}; allowed: gaussian, sphere")


class TeacherSampler(AbstractSampler):
    """Fresh draws of the teacher task: inputs of its distribution, the
    teacher's outputs plus its label noise (online SGD)."""

    u: jax.Array
    a: jax.Array
    noise: jax.Array
    activation: str = eqx.field(static=True)
    inputs: str = eqx.field(static=True)

    def sample(self, key, n):
        k_x, k_noise = jax.random.split(key)
        x = sample_inputs(k_x, n, self.u.shape[1], self.inputs, self.u.dtype)
        y = get_activation(self.activation)(x @ self.u.T) @ self.a / self.u.shape[0]
        return x, y + self.noise * jax.random.normal(k_noise, (n,), self.u.dtype)


def teacher_task(
    key,
    *,
    d: int,
    n_train: int,
    n_test: int,
    teacher_width: int = 4,
    activation: str = "relu",
    inputs: Literal["gaussian", "sphere"] = "gaussian",
    noise: float = 0.0,
    dtype=jnp.float32,
) -> Dataset:
    """Sample a teacher and a train/test split (the first ``n_train`` draws train)."""
    phi = get_activation(activation)
    k_u, k_x, k_noise = jax.random.split(key, 3)
    u = jax.random.normal(k_u, (teacher_width, d), dtype)
    u = u / jnp.linalg.norm(u, axis=1, keepdims=True)
    a = jnp.where(jnp.arange(teacher_width) % 2 == 0, 1.0, -1.0).astype(dtype)
    x = sample_inputs(k_x, n_train + n_test, d, inputs, dtype)
    y = phi(x @ u.T) @ a / teacher_width
    y_train = y[:n_train] + noise * jax.random.normal(k_noise, (n_train,), dtype)
    return Dataset(
        x_train=x[:n_train],
        y_train=y_train,
        x_test=x[n_train:],
        y_test=y[n_train:],
        teacher_particles=jnp.concatenate([a[:, None], u], axis=1),
        sampler=TeacherSampler(u, a, jnp.asarray(noise, dtype), activation, inputs),
    )
