r"""Per-layer feature movement: how far each hidden layer's features have
moved from their initial values, per unit and per example,

$$\Delta_l(t) = \frac{\|h_l(X_s;\theta_t) - h_l(X_s;\theta_0)\|_F}{\sqrt{k\,n_l}},$$

on the first ``subsample`` training inputs $X_s$ ($k$ of them), $n_l$ the
width of layer $l$. It is the coordinate check of μP: flat in the width under
``mup``/``mean_field``, falling like $n^{-1/2}$ under ``ntk`` (the lazy
regime).
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp

from .._system import AbstractFeatureSystem
from .base import AbstractMonitor, MonitorContext
from .variable import Variable


class FeatureMovement(AbstractMonitor):
    """``feature_movement_<l>`` for each hidden layer l = 1..L (module docstring)."""

    subsample: int = eqx.field(default=64, static=True)
    depth: int = eqx.field(default=1, static=True)

    requires: ClassVar = (AbstractFeatureSystem,)

    def _inputs(self, system):
        return system.x_train[: self.subsample]

    def prepare(self, system, state0):
        return system.features(state0, self._inputs(system))

    def __call__(self, t, state, ctx: MonitorContext):
        now = ctx.system.features(state, self._inputs(ctx.system))
        if len(now) != self.depth:
            raise ValueError(f"FeatureMovement(depth={self.depth}) on a system with "
                             f"{len(now)} hidden layers")
        return {f"feature_movement_{l + 1}": jnp.sqrt(jnp.mean((h - h0) ** 2))
                for l, (h, h0) in enumerate(zip(now, ctx.data))}

    def variables(self):
        return {f"feature_movement_{l}": Variable(
            f"RMS movement of layer {l}'s features from init, per unit and example (first "
            f"{self.subsample} training inputs)", f"layer-{l} feature movement",
            f"$\\|h^{{{l}}}_t - h^{{{l}}}_0\\|_{{rms}}$", scale="log", rank=20,
            family="feature_movement")
            for l in range(1, self.depth + 1)}
