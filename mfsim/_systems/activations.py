"""Activation functions by name.

Derivatives come from JAX's automatic differentiation with these conventions:

- ``relu``: $\\max(z, 0)$ through :func:`jax.nn.relu`, whose derivative at
  $z = 0$ is taken to be **0**.
- ``gelu``: the exact form $z\\,\\Phi(z)$ (not the tanh approximation).
- ``erf``: $\\operatorname{erf}(z)$, as in Williams' closed-form kernels.
- ``tanh``, ``identity``: as written.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import jax.scipy.special as jsp


def _identity(z):
    return z


def _gelu(z):
    return jax.nn.gelu(z, approximate=False)


ACTIVATIONS: dict[str, Callable] = {
    "relu": jax.nn.relu,
    "tanh": jnp.tanh,
    "erf": jsp.erf,
    "gelu": _gelu,
    "identity": _identity,
}

# Positively homogeneous of degree 1: phi(c z) = c phi(z) for c > 0. For these,
# without bias, v_j^2 - |w_j|^2 is conserved by the two-layer gradient flow.
HOMOGENEOUS = frozenset({"relu", "identity"})

# Kinked: the derivative jumps (relu at 0), so a network's gradient flow is
# only Lipschitz where a neuron's pre-activation crosses 0 on a training
# input. A high-order adaptive solver's error estimate assumes smoothness and
# rejects steps at every crossing; scenarios default to a lower-order solver
# for these (mfsim._scenario.registry.default_solver; bench/kinked_solvers.py).
KINKED = frozenset({"relu"})


def activation_derivative(phi: Callable, z):
    r"""$\phi'(z)$ elementwise, by forward-mode autodiff (the same derivative
    convention as the gradient flow, e.g. relu'(0) = 0)."""
    return jax.jvp(phi, (z,), (jnp.ones_like(z),))[1]


def get_activation(name: str) -> Callable:
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(
            f"unknown activation {name!r}; allowed: {', '.join(ACTIVATIONS)}"
        ) from None
