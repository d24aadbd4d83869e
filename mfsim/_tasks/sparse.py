r"""Sparse linear regression with more features than samples ($n < d$).

$y = X\beta^* + \sigma\xi$ with Gaussian $X$ (entries $N(0,1)$), a $k$-sparse
$\beta^*$ (support uniform at random, entries $\pm 1$ times ``signal``), label
noise on the training targets only. The classic testbed for implicit bias:
many interpolants exist, and the training dynamics pick one.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .dataset import Dataset


def sparse_regression_task(key, *, n_train: int, n_test: int, d: int, sparsity: int,
                           signal: float = 1.0, noise: float = 0.0,
                           dtype=jnp.float32) -> Dataset:
    """Sample X, a k-sparse beta* and targets; ``teacher_particles`` holds beta* as ``(d, 1)``."""
    if not 0 < sparsity <= d:
        raise ValueError(f"sparsity must be in 1..d={d}; got {sparsity}")
    k_x, k_s, k_sign, k_noise = jax.random.split(key, 4)
    x = jax.random.normal(k_x, (n_train + n_test, d), dtype)
    support = jax.random.permutation(k_s, d)[:sparsity]
    signs = jnp.where(jax.random.bernoulli(k_sign, 0.5, (sparsity,)), 1.0, -1.0).astype(dtype)
    beta = jnp.zeros(d, dtype).at[support].set(signal * signs)
    y = x @ beta
    y_train = y[:n_train] + noise * jax.random.normal(k_noise, (n_train,), dtype)
    return Dataset(x_train=x[:n_train], y_train=y_train, x_test=x[n_train:], y_test=y[n_train:],
                   teacher_particles=beta[:, None])
