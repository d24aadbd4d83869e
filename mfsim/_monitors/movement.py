"""Outputs and parameter movement."""

from __future__ import annotations

import equinox as eqx
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


class Predictions(AbstractMonitor):
    """Outputs $f(x)$ at chosen inputs ``x``, ``(T, k)``, under the variable ``name``."""

    x: jax.Array
    name: str = eqx.field(static=True, default="test_outputs")

    def __call__(self, t, state, ref: Reference):
        return {self.name: ref.system.predict(state, self.x)}

    def descriptions(self):
        return {self.name: f"outputs f(x) on {self.x.shape[0]} fixed inputs"}


class SingularValues(AbstractMonitor):
    """Singular values of a linear system's end-to-end map (``system.singular_values``)."""

    def __call__(self, t, state, ref: Reference):
        return {"singular_values": ref.system.singular_values(state)}

    def descriptions(self):
        return {"singular_values": "singular values of the end-to-end map W_L...W_1"}
