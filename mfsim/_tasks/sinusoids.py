r"""One-dimensional sums of sinusoids, the classic spectral-bias target.

$$y(s) = \sum_k A_k \sin(2\pi f_k s + p_k),\qquad s\in[0,1).$$

The input is either the interval itself (``domain="interval"``: $x = s$, a
1-d input; give the network biases to fit it) or the unit circle
(``domain="circle"``: $x = (\cos 2\pi s, \sin 2\pi s)$, a 2-d input, on
which the two-layer NTK is a convolution with Fourier eigenfunctions).
Training positions are uniform random draws (``grid=False``) or the regular
grid $s_i = i/n$ (``grid=True``); test positions are the regular grid of
``n_test`` points offset by half a cell, so that they never coincide with a
training grid. Gaussian label noise is added to the training targets only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import jax
import jax.numpy as jnp

from .dataset import Dataset


def embed(s, domain: str):
    """Map positions ``s`` in [0, 1) to network inputs."""
    if domain == "interval":
        return s[:, None]
    if domain == "circle":
        return jnp.stack([jnp.cos(2 * jnp.pi * s), jnp.sin(2 * jnp.pi * s)], axis=1)
    raise ValueError(f"unknown domain {domain!r}; allowed: interval, circle")


def grid_positions(n_test: int, dtype=jnp.float32):
    """The regular test grid $s_g = (g + 1/2)/G$ of $[0, 1)$."""
    return (jnp.arange(n_test, dtype=dtype) + 0.5) / n_test


def sinusoid_target(s, frequencies, amplitudes, phases):
    f = jnp.asarray(frequencies, s.dtype)
    a = jnp.asarray(amplitudes, s.dtype)
    p = jnp.asarray(phases, s.dtype)
    return jnp.sin(2 * jnp.pi * s[:, None] * f + p) @ a


def sinusoid_task(
    key,
    *,
    frequencies: Sequence[float],
    amplitudes: Sequence[float] | None = None,
    phases: Sequence[float] | None = None,
    n_train: int,
    n_test: int,
    domain: Literal["interval", "circle"] = "interval",
    grid: bool = False,
    noise: float = 0.0,
    dtype=jnp.float32,
) -> Dataset:
    """Sample a sum-of-sinusoids regression task on [0, 1) or the circle."""
    amplitudes = [1.0] * len(frequencies) if amplitudes is None else amplitudes
    phases = [0.0] * len(frequencies) if phases is None else phases
    if not (len(frequencies) == len(amplitudes) == len(phases)):
        raise ValueError("frequencies, amplitudes and phases must have the same length")
    k_s, k_noise = jax.random.split(key)
    if grid:
        s_train = jnp.arange(n_train, dtype=dtype) / n_train
    else:
        s_train = jax.random.uniform(k_s, (n_train,), dtype)
    s_test = grid_positions(n_test, dtype)
    y_train = sinusoid_target(s_train, frequencies, amplitudes, phases)
    y_train = y_train + noise * jax.random.normal(k_noise, (n_train,), dtype)
    return Dataset(
        x_train=embed(s_train, domain),
        y_train=y_train,
        x_test=embed(s_test, domain),
        y_test=sinusoid_target(s_test, frequencies, amplitudes, phases),
    )
