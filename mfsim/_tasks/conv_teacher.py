r"""Images from a random convolutional teacher: the synthetic image task.

Inputs are Gaussian images $x\in\mathbb R^{c\times s\times s}$ with i.i.d.
$N(0,1)$ pixels. The teacher has $k$ filters $u_i$ of shape ``(c, r, r)``
(unit Frobenius norm, so each pre-activation is $N(0,1)$), output weights
$a_i = \pm1$ (alternating) and global average pooling:

$$\tilde y(x) = \frac1k\sum_{i=1}^k a_i\,\frac{1}{s^2}\sum_p \phi\big((u_i * x)_p\big),
\qquad y = \frac{\tilde y - \overline{\tilde y}}{\operatorname{sd}(\tilde y)} + \sigma\xi,$$

with ``"SAME"`` zero padding, the mean and standard deviation taken over the
drawn sample (train and test together, so the targets are centred with unit
variance whatever the image size), and label noise $\sigma\xi$ on the
training targets only.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .._systems.activations import get_activation
from .dataset import ImageDataset


def conv_teacher_task(key, *, channels: int = 1, size: int = 8, n_train: int, n_test: int,
                      teacher_filters: int = 4, kernel_size: int = 3,
                      activation: str = "relu", noise: float = 0.0,
                      dtype=jnp.float32) -> ImageDataset:
    """Gaussian images ``(n, channels, size, size)`` and the teacher's targets
    (the first ``n_train`` draws train)."""
    for name, value in (("channels", channels), ("size", size), ("n_train", n_train),
                        ("n_test", n_test), ("teacher_filters", teacher_filters),
                        ("kernel_size", kernel_size)):
        if int(value) < 1:
            raise ValueError(f"{name} must be a positive integer; got {value}")
    phi = get_activation(activation)
    k_u, k_x, k_noise = jax.random.split(key, 3)
    u = jax.random.normal(k_u, (teacher_filters, channels, kernel_size, kernel_size), dtype)
    u = u / jnp.linalg.norm(u.reshape(teacher_filters, -1), axis=1)[:, None, None, None]
    a = jnp.where(jnp.arange(teacher_filters) % 2 == 0, 1.0, -1.0).astype(dtype)
    x = jax.random.normal(k_x, (n_train + n_test, channels, size, size), dtype)
    z = jax.lax.conv_general_dilated(x, u, (1, 1), "SAME")  # (n, k, s, s)
    y = jnp.mean(phi(z), axis=(2, 3)) @ a / teacher_filters
    y = (y - jnp.mean(y)) / jnp.std(y)
    y_train = y[:n_train] + noise * jax.random.normal(k_noise, (n_train,), dtype)
    return ImageDataset(x_train=x[:n_train], y_train=y_train, x_test=x[n_train:], y_test=y[n_train:])
