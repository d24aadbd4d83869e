"""Outputs and parameter movement."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .base import AbstractMonitor, Reference


class TrainOutputs(AbstractMonitor):
    """The outputs $f(x_i)$ on the training inputs, ``(T, n)``."""

    def __call__(self, t, state, ref: Reference):
        return {"train_outputs": ref.system.train_outputs(state)}

    def descriptions(self):
        return {"train_outputs": "network outputs f(x_i) on the training inputs"}


class ParameterDistance(AbstractMonitor):
    r"""$\|\theta_t - \theta_0\|_2$ over every array of the state."""

    def __call__(self, t, state, ref: Reference):
        sq = jax.tree.map(lambda a, b: jnp.sum((a - b) ** 2), state, ref.state0)
        return {"param_distance": jnp.sqrt(sum(jax.tree.leaves(sq)))}

    def descriptions(self):
        return {"param_distance": "Euclidean distance ||theta_t - theta_0|| of all parameters"}
