r"""Dot-product kernels on the sphere: their Mercer eigenvalues by the
Funk–Hecke formula, Gegenbauer polynomials and the multiplicities of the
spherical-harmonic degrees.

For inputs uniform on the sphere of radius $r$ in $\mathbb R^d$ ($d\ge 2$), a
rotation-invariant kernel is $K(x, x') = \kappa(t)$, $t = x\cdot x'/r^2$. Its
integral operator $(Tf)(x) = E_{x'}[K(x,x') f(x')]$ (the uniform probability
measure) has the spherical harmonics of degree $k$ as eigenfunctions, with

$$\mu_k = \frac{\omega_{d-2}}{\omega_{d-1}}\int_{-1}^{1}\kappa(t)\,P_k(t)\,
(1-t^2)^{(d-3)/2}\,dt, \qquad
\frac{\omega_{d-2}}{\omega_{d-1}} = \frac{\Gamma(d/2)}{\sqrt\pi\,\Gamma((d-1)/2)},$$

$P_k$ the Gegenbauer polynomial of the dimension normalized to $P_k(1) = 1$
($C_k^{(d-2)/2}(t)/C_k^{(d-2)/2}(1)$; Chebyshev $T_k$ for $d = 2$), of
multiplicity $N(d, k) = \frac{2k+d-2}{k}\binom{k+d-3}{d-2}$ ($N(d,0) = 1$).
The integral is taken in the angle, $t = \cos\theta$ (Gauss–Legendre on
$[0,\pi]$ with the weight $\sin^{d-2}\theta$): the arc-cosine kernels (ReLU)
have $\sqrt{1-t^2}$ and $\arccos t$ terms, smooth in $\theta$, so the rule
converges geometrically where one in $t$ converges slowly.

In the constant-kernel flow on a large sample, the residual's degree-$k$
component decays as $\exp(-\tau\mu_k t)$ (for the flow
$\dot f = -\frac{\tau}{n}\Theta(f - y)$ the empirical operator
$\frac1n\Theta$ approximates $T$): degree $k$ is learned on the time scale
$1/(\tau\mu_k)$.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np


def harmonic_multiplicity(d: int, k: int) -> int:
    """The number of linearly independent spherical harmonics of degree
    ``k`` on the sphere in ``R^d``."""
    if d < 2 or k < 0:
        raise ValueError(f"need d >= 2 and k >= 0; got d={d}, k={k}")
    if k == 0:
        return 1
    if d == 2:
        return 2
    return (2 * k + d - 2) * math.comb(k + d - 3, d - 2) // k


def gegenbauer(k: int, d: int, t) -> np.ndarray:
    """The degree-``k`` Gegenbauer polynomial of dimension ``d``, normalized
    so that ``P_k(1) = 1`` (Legendre for d = 3, Chebyshev for d = 2)."""
    from scipy.special import eval_chebyt, eval_gegenbauer

    t = np.asarray(t, dtype=np.float64)
    if d == 2:
        return eval_chebyt(k, t)
    alpha = (d - 2) / 2
    return eval_gegenbauer(k, alpha, t) / eval_gegenbauer(k, alpha, 1.0)


def _surface_ratio(d: int) -> float:
    """omega_{d-2} / omega_{d-1}: the density of t = x.x' for x' uniform."""
    return math.exp(math.lgamma(d / 2) - math.lgamma((d - 1) / 2)) / math.sqrt(math.pi)


def profile(kernel: Callable, d: int, t, radius: float = 1.0) -> np.ndarray:
    r"""$\kappa(t)$ of a rotation-invariant ``kernel(x1, x2)`` (arrays of rows
    in ``R^d``), evaluated on the pairs $r e_1$, $r(t e_1 + \sqrt{1-t^2}e_2)$."""
    t = np.asarray(t, dtype=np.float64)
    x1 = np.zeros((1, d))
    x1[0, 0] = radius
    x2 = np.zeros((t.size, d))
    x2[:, 0] = radius * t
    x2[:, 1] = radius * np.sqrt(np.clip(1.0 - t**2, 0.0, None))
    return np.asarray(kernel(x1, x2), dtype=np.float64).reshape(t.shape)


def sphere_eigenvalues(kernel: Callable, d: int, degrees, *, radius: float = 1.0,
                       nodes: int = 512) -> np.ndarray:
    r"""The Mercer eigenvalues $\mu_k$ (each of multiplicity $N(d,k)$) of a
    rotation-invariant ``kernel`` for inputs uniform on the sphere of radius
    ``radius`` in ``R^d`` (module docstring), at the given ``degrees``, by
    ``nodes``-point Gauss–Legendre quadrature in the angle. ``kernel`` is any
    ``(x1, x2) -> K`` callable: a system's ``analytic_ntk()``, a lambda over
    :func:`mfsim.fc_kernels`."""
    if d < 2:
        raise ValueError(f"need d >= 2; got {d}")
    degrees = np.atleast_1d(np.asarray(degrees, dtype=int))
    z, w = np.polynomial.legendre.leggauss(nodes)
    theta = 0.5 * np.pi * (z + 1.0)
    weight = 0.5 * np.pi * w * np.sin(theta) ** (d - 2)
    t = np.cos(theta)
    kappa = profile(kernel, d, t, radius)
    return np.array([_surface_ratio(d) * np.sum(weight * kappa * gegenbauer(int(k), d, t))
                     for k in degrees])


def predicted_learning_times(mu, *, fraction: float = math.exp(-2.0)) -> np.ndarray:
    r"""The time at which the kernel flow $\dot f = -\frac1n K(f - y)$ (on a
    large sample) has brought a degree's residual energy down to ``fraction``
    of its start: $\ln(1/\text{fraction})/(2\mu_k)$, which is $1/\mu_k$ for the
    default $e^{-2}$. ``mu``: the eigenvalues of $K$ (:func:`sphere_eigenvalues`
    of the kernel that drives the flow, e.g. ``system.analytic_ntk()``, which
    already holds the time scale); infinite where $\mu_k = 0$."""
    mu = np.asarray(mu, np.float64)
    with np.errstate(divide="ignore"):
        return np.where(mu > 0, math.log(1.0 / fraction) / (2.0 * mu), np.inf)
