r"""The Gaussian sequence model: $z_j = \theta^*_j + \varepsilon\,\xi_j$, $j = 1..N$.

$\varepsilon^2 = 1/n$ (``n`` plays the sample size). Kernel eigenvalues
$\lambda_j = j^{-\gamma}$. The misaligned signal puts
$|\theta^*_{l(j)}| = j^{-(p+1)/2}$ at indices $l(j) = \lceil j^q\rceil$
(1-based; $q = 1$ is a signal aligned with the kernel's ordering, larger $q$
hides it in directions of smaller eigenvalues), truncated at $N$, with
random signs.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float


class SequenceData(eqx.Module):
    """Observations ``z``, truth ``theta_star`` and kernel eigenvalues ``lam``."""

    z: Float[Array, " N"]
    theta_star: Float[Array, " N"]
    lam: Float[Array, " N"]
    eps: Float[Array, ""]

    @classmethod
    def abstract(cls, sizes, dtype) -> SequenceData:
        """The shapes of ``sizes.coordinates`` coordinates as
        ``jax.ShapeDtypeStruct`` leaves (see :meth:`mfsim.Dataset.abstract`)."""
        big_n = jax.ShapeDtypeStruct((sizes.coordinates,), dtype)
        return cls(big_n, big_n, big_n, jax.ShapeDtypeStruct((), dtype))


def misaligned_signal(N: int, p: float, q: float) -> np.ndarray:
    """Magnitudes $j^{-(p+1)/2}$ at positions $\\lceil j^q\\rceil$ (positive; signs added later)."""
    theta = np.zeros(N)
    j = 1
    while True:
        pos = int(np.ceil(j**q - 1e-9))
        if pos > N:
            break
        theta[pos - 1] = j ** (-(p + 1) / 2)
        j += 1
    return theta


def sequence_model_task(key, *, n: float, N: int, p: float = 1.0, q: float = 1.0,
                        gamma: float = 1.5, dtype=jnp.float32) -> SequenceData:
    """One draw of the sequence model (signs of the signal and the noise from ``key``)."""
    k_sign, k_noise = jax.random.split(key)
    mag = jnp.asarray(misaligned_signal(N, p, q), dtype)
    signs = jnp.where(jax.random.bernoulli(k_sign, 0.5, (N,)), 1.0, -1.0).astype(dtype)
    theta = mag * signs
    eps = jnp.asarray(1.0 / np.sqrt(n), dtype)
    z = theta + eps * jax.random.normal(k_noise, (N,), dtype)
    lam = jnp.arange(1, N + 1, dtype=dtype) ** (-gamma)
    return SequenceData(z=z, theta_star=theta, lam=lam, eps=eps)
