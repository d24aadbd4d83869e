r"""Expectations over a centred 2-d Gaussian, the building block of
infinite-width kernels.

For $(u, v)\sim N(0, [[S_{11}, S_{12}], [S_{12}, S_{22}]])$ these return
$E[\phi(u)\phi(v)]$ and $E[\phi'(u)\phi'(v)]$ elementwise over arrays of
covariances: closed forms for ``relu``, ``erf`` and ``identity``
(Cho & Saul; Williams), Gauss–Hermite quadrature for any other activation.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .._activations import activation_derivative, get_activation

# rows of the Gram can be exactly collinear: keep arccos/sqrt away from the edge
_CLIP = 1.0 - 1e-12


def _relu(s11, s12, s22):
    norm = jnp.sqrt(s11 * s22)
    cos = jnp.clip(s12 / jnp.where(norm > 0, norm, 1.0), -_CLIP, _CLIP)
    theta = jnp.arccos(cos)
    e_phi = norm * (jnp.sin(theta) + (jnp.pi - theta) * cos) / (2 * jnp.pi)
    e_dphi = (jnp.pi - theta) / (2 * jnp.pi)
    return e_phi, e_dphi


def _erf(s11, s12, s22):
    a, b = 1 + 2 * s11, 1 + 2 * s22
    e_phi = (2 / jnp.pi) * jnp.arcsin(jnp.clip(2 * s12 / jnp.sqrt(a * b), -_CLIP, _CLIP))
    e_dphi = (4 / jnp.pi) / jnp.sqrt(a * b - 4 * s12**2)
    return e_phi, e_dphi


def _identity(s11, s12, s22):
    return s12, jnp.ones_like(s12)


CLOSED_FORMS = {"relu": _relu, "erf": _erf, "identity": _identity}


def gauss_hermite_expectations(activation: str, s11, s12, s22, order: int = 64):
    r"""$E[\\phi\\phi]$ and $E[\\phi'\\phi']$ by tensor Gauss–Hermite quadrature.

    $u = \\sqrt{S_{11}}\\,z_1$, $v = \\sqrt{S_{22}}(\\rho z_1 + \\sqrt{1-\\rho^2}\\,z_2)$;
    accurate for smooth activations (error decays quickly with ``order``).
    """
    phi = get_activation(activation)
    dphi = lambda z: activation_derivative(phi, z)  # noqa: E731
    z, w = np.polynomial.hermite_e.hermegauss(order)  # weight exp(-z^2/2)
    dtype = jnp.result_type(s12)
    z = jnp.asarray(z, dtype)
    w = jnp.asarray(w / np.sqrt(2 * np.pi), dtype)
    r1, r2 = jnp.sqrt(s11), jnp.sqrt(s22)
    rho = jnp.clip(s12 / jnp.where(r1 * r2 > 0, r1 * r2, 1.0), -1.0, 1.0)
    rho_c = jnp.sqrt(1 - rho**2)
    ex = (...,) + (None, None)
    u = r1[ex] * z[:, None]
    v = r2[ex] * (rho[ex] * z[:, None] + rho_c[ex] * z[None, :])
    ww = w[:, None] * w[None, :]
    e_phi = jnp.sum(ww * phi(u) * phi(v), axis=(-2, -1))
    e_dphi = jnp.sum(ww * dphi(u) * dphi(v), axis=(-2, -1))
    return e_phi, e_dphi


def gaussian_expectations(activation: str, s11, s12, s22):
    r"""$(E[\\phi(u)\\phi(v)], E[\\phi'(u)\\phi'(v)])$, elementwise."""
    s11, s12, s22 = jnp.broadcast_arrays(*(jnp.asarray(s) for s in (s11, s12, s22)))
    if activation in CLOSED_FORMS:
        return CLOSED_FORMS[activation](s11, s12, s22)
    return gauss_hermite_expectations(activation, s11, s12, s22)
