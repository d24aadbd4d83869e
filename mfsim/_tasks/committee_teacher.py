r"""A soft committee machine teacher: $y = \sum_{n=1}^M \tilde v_n\,
\mathrm{erf}(\tilde w_n\cdot x/\sqrt{2N}) + \sigma\zeta$, $x \sim N(0, I_N)$
(Saad and Solla 1995; Goldt et al. 2019).

``orthogonal=True`` (the default) makes the teacher's vectors orthogonal with
$|\tilde w_n|^2 = N$, so $T = \tilde W\tilde W^\top/N = I$ exactly (the
literature's setting); otherwise they are Gaussian ($T \approx I$). The test
targets are the clean teacher. ``teacher_particles`` holds the rows
$(\tilde v_n, \tilde w_n)$ (what :class:`mfsim.SoftCommittee` reads), and
``sampler`` draws fresh samples (online SGD).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import erf

from .dataset import AbstractSampler, CommitteeDataset


def _teacher(w, v, x):
    return erf(x @ w.T / jnp.sqrt(2.0 * w.shape[1]).astype(x.dtype)) @ v


class CommitteeSampler(AbstractSampler):
    """Fresh Gaussian inputs and the teacher's noisy outputs."""

    w: jax.Array
    v: jax.Array
    noise: jax.Array

    def sample(self, key, n):
        k_x, k_noise = jax.random.split(key)
        x = jax.random.normal(k_x, (n, self.w.shape[1]), self.w.dtype)
        y = _teacher(self.w, self.v, x)
        return x, y + self.noise * jax.random.normal(k_noise, (n,), self.w.dtype)


def committee_teacher_task(key, *, d: int, n_train: int, n_test: int, teacher_width: int = 2,
                           teacher_v: float | list[float] = 1.0, noise: float = 0.0,
                           orthogonal: bool = True, dtype=jnp.float32) -> CommitteeDataset:
    """A committee teacher of ``teacher_width`` units in dimension ``d`` and a
    train/test split (module docstring)."""
    if teacher_width > d and orthogonal:
        raise ValueError(f"{teacher_width} orthogonal teacher vectors need d >= {teacher_width}")
    k_w, k_x, k_noise = jax.random.split(key, 3)
    w = jax.random.normal(k_w, (teacher_width, d), dtype)
    if orthogonal:
        q, _ = jnp.linalg.qr(w.T)
        w = jnp.sqrt(jnp.asarray(d, dtype)) * q.T
    v = jnp.broadcast_to(jnp.asarray(teacher_v, dtype), (teacher_width,))
    x = jax.random.normal(k_x, (n_train + n_test, d), dtype)
    y = _teacher(w, v, x)
    y_train = y[:n_train] + noise * jax.random.normal(k_noise, (n_train,), dtype)
    return CommitteeDataset(
        x_train=x[:n_train], y_train=y_train, x_test=x[n_train:], y_test=y[n_train:],
        teacher_particles=jnp.concatenate([v[:, None], w], axis=1),
        sampler=CommitteeSampler(w, v, jnp.asarray(noise, dtype)), teacher_w=w, teacher_v=v,
        noise=jnp.asarray(noise, dtype))
