r"""Targets made of Gegenbauer polynomials on the sphere: the standard task for
spectral bias in dimension $d$.

Inputs are uniform on the sphere of radius $\sqrt d$ in $\mathbb R^d$ (so each
coordinate has unit second moment, as for Gaussian inputs); a direction
$\beta$ is drawn uniformly on the unit sphere; the target is

$$y(x) = \sum_k c_k\,Q_k(\beta\cdot x/\sqrt d), \qquad
Q_k = \sqrt{N(d,k)}\,P_k,$$

with $P_k$ the Gegenbauer polynomial normalized to $P_k(1) = 1$ and $N(d,k)$
the multiplicity of degree $k$ (:func:`mfsim.harmonic_multiplicity`): by the
addition theorem $E[Q_k(\beta\cdot x/\sqrt d)^2] = 1$, so the target's energy
in degree $k$ (the squared norm of its degree-$k$ spherical-harmonic
component) is exactly $c_k^2$, and its components of different degrees are
orthogonal. Label noise $\sigma\xi$ is added to the training targets only.

``density = "vmf"`` draws the inputs (train and test alike) from a von
Mises–Fisher density of concentration ``kappa`` around $e_1$ instead
(:mod:`mfsim._tasks.densities`; $d = 2$ is the circle): the energies
above are then those of the uniform measure, not of the data.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from .._kernels.sphere import gegenbauer, harmonic_multiplicity
from .dataset import Dataset
from .densities import sample_sphere
from .teacher import sample_inputs


def gegenbauer_target(x, beta, degrees, amplitudes) -> np.ndarray:
    r"""$\sum_k c_k\sqrt{N(d,k)}P_k(\beta\cdot x/|x|)$ on the rows of ``x`` (numpy, float64)."""
    x = np.asarray(x, np.float64)
    d = x.shape[1]
    t = np.clip(x @ np.asarray(beta, np.float64) / np.linalg.norm(x, axis=1), -1.0, 1.0)
    return sum(c * math.sqrt(harmonic_multiplicity(d, k)) * gegenbauer(k, d, t)
               for k, c in zip(degrees, amplitudes))


def gegenbauer_task(key, *, d: int, n_train: int, n_test: int, degrees=(1, 2, 4),
                    amplitudes=None, noise: float = 0.0, density: str = "uniform",
                    kappa: float = 0.0, dtype=jnp.float32) -> Dataset:
    """Inputs uniform on the sphere of radius sqrt(d), targets of the given
    Gegenbauer degrees with energies ``amplitudes**2`` (default: 1 each)."""
    degrees = tuple(int(k) for k in degrees)
    amplitudes = (1.0,) * len(degrees) if amplitudes is None else tuple(map(float, amplitudes))
    if d < 2:
        raise ValueError(f"d must be >= 2 (a sphere); got {d}")
    if not degrees or min(degrees) < 0 or len(set(degrees)) != len(degrees):
        raise ValueError(f"degrees must be distinct non-negative integers; got {degrees}")
    if len(amplitudes) != len(degrees):
        raise ValueError(f"{len(amplitudes)} amplitudes for {len(degrees)} degrees")
    k_beta, k_x, k_noise = jax.random.split(key, 3)
    beta = np.asarray(jax.random.normal(k_beta, (d,), dtype), np.float64)
    beta = beta / np.linalg.norm(beta)
    if density == "uniform":
        x = sample_inputs(k_x, n_train + n_test, d, "sphere", dtype)
    else:
        x = sample_sphere(k_x, n_train + n_test, d, density=density, kappa=kappa,
                          radius=math.sqrt(d), dtype=dtype)
    y = jnp.asarray(gegenbauer_target(x, beta, degrees, amplitudes), dtype)
    y_train = y[:n_train] + noise * jax.random.normal(k_noise, (n_train,), dtype)
    return Dataset(x_train=x[:n_train], y_train=y_train, x_test=x[n_train:], y_test=y[n_train:])
