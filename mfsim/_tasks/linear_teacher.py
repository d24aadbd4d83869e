r"""Vector linear regression $y = Mx$ with a teacher $M = U\,\mathrm{diag}(s)\,V^\top$.

$U$, $V$ random with orthonormal columns, $x\sim N(0, I_d)$; with
``whiten=True`` the training inputs are whitened ($\frac1n X^\top X = I$) and
the test inputs mapped by the same matrix, so the input-output correlation
$\frac1n Y^\top X$ is exactly $M$ (Saxe et al.'s setting): mode $i$ has
strength $s_i$ along $(u_i, v_i)$. Label noise on the training targets only.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp

from .dataset import Dataset


def linear_teacher_task(key, *, d: int, d_out: int, singular_values: Sequence[float],
                        n_train: int, n_test: int, whiten: bool = True, noise: float = 0.0,
                        dtype=jnp.float32) -> Dataset:
    r = len(singular_values)
    k_u, k_v, k_x, k_noise = jax.random.split(key, 4)
    u, _ = jnp.linalg.qr(jax.random.normal(k_u, (d_out, r), dtype))
    v, _ = jnp.linalg.qr(jax.random.normal(k_v, (d, r), dtype))
    m = (u * jnp.asarray(singular_values, dtype)) @ v.T
    x = jax.random.normal(k_x, (n_train + n_test, d), dtype)
    if whiten:
        cov = x[:n_train].T @ x[:n_train] / n_train
        lam, w = jnp.linalg.eigh(cov)
        x = x @ (w / jnp.sqrt(lam)) @ w.T
    y = x @ m.T
    y_train = y[:n_train] + noise * jax.random.normal(k_noise, (n_train, d_out), dtype)
    return Dataset(x_train=x[:n_train], y_train=y_train, x_test=x[n_train:], y_test=y[n_train:])
