r"""Eigenfunctions of a kernel's integral operator under a data density, by
the Nyström method.

For a density $p$ and a kernel $K$, the operator
$(T_p f)(x) = E_{x'\sim p}[K(x, x') f(x')]$ has eigenpairs
$T_p\phi_i = \lambda_i\phi_i$ with $E_p[\phi_i\phi_j] = \delta_{ij}$. On a
sample $x_1..x_N$ from $p$, the eigenpairs $(\hat\lambda_i, u_i)$ of
$K(X, X)/N$ ($|u_i| = 1$) estimate them, and the Nyström extension

$$\hat\phi_i(x) = \frac{K(x, X)\,u_i}{\sqrt N\,\hat\lambda_i}$$

evaluates $\hat\phi_i$ anywhere ($\hat\phi_i(x_j) = \sqrt N u_{ij}$ on the sample,
so $\frac1N\sum_j\hat\phi_i(x_j)^2 = 1$). For the uniform density on the sphere
they are spherical harmonics with the Funk–Hecke eigenvalues
(:func:`mfsim.sphere_eigenvalues`); under a concentrated density they are
not: the order in which the kernel flow $\dot f = -\frac1n K(f-y)$ learns a
target follows the $\lambda_i$ of $T_p$, not the harmonic degree.
"""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float


class NystromEigenfunctions(eqx.Module):
    """The top ``k`` eigenpairs of $T_p$ from a sample of $p$ (module docstring):
    ``eigenvalues`` (descending) and ``__call__(x) -> (n, k)`` the
    eigenfunctions at the rows of ``x``."""

    kernel: Callable
    sample: Float[Array, "N d"]
    weights: Float[Array, "N k"]
    eigenvalues: Float[Array, " k"]

    def __init__(self, kernel: Callable, sample, k: int):
        x = np.asarray(sample, np.float64)
        n = x.shape[0]
        if not 1 <= k <= n:
            raise ValueError(f"need 1 <= k <= the sample size {n}; got k={k}")
        gram = np.asarray(kernel(x, x), np.float64) / n
        lam, u = np.linalg.eigh(0.5 * (gram + gram.T))
        lam, u = lam[::-1][:k], u[:, ::-1][:, :k]
        if lam[-1] <= 0:
            raise ValueError(f"the kernel's {k}-th eigenvalue on this sample is not positive "
                             f"({lam[-1]:.3g}): ask for fewer modes")
        self.kernel = kernel
        self.sample = jnp.asarray(x)
        self.weights = jnp.asarray(u / (np.sqrt(n) * lam))
        self.eigenvalues = jnp.asarray(lam)

    def __call__(self, x) -> Float[Array, "n k"]:
        return jnp.asarray(self.kernel(jnp.asarray(x, self.sample.dtype), self.sample)
                           ) @ self.weights
