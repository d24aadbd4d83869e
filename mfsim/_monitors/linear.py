"""Monitors of a linear predictor beta (``system.beta(state)``)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .._system import AbstractLinearPredictorSystem
from .base import AbstractMonitor, MonitorContext


class LinearPredictor(AbstractMonitor):
    r"""Norms of the linear predictor $\|\beta_t\|_1$, $\|\beta_t\|_2$ and, when the
    true ``beta_star`` is given, the relative recovery error
    $\|\beta_t - \beta^*\|_2 / \|\beta^*\|_2$."""

    beta_star: jax.Array | None = None

    requires = (AbstractLinearPredictorSystem,)

    def __call__(self, t, state, ctx: MonitorContext):
        beta = ctx.system.beta(state)
        out = {"beta_l1": jnp.sum(jnp.abs(beta)), "beta_l2": jnp.sqrt(jnp.sum(beta**2))}
        if self.beta_star is not None:
            out["beta_error"] = (jnp.sqrt(jnp.sum((beta - self.beta_star) ** 2))
                                 / jnp.sqrt(jnp.sum(self.beta_star**2)))
        return out

    def descriptions(self):
        out = {"beta_l1": "l1 norm of the linear predictor beta",
               "beta_l2": "l2 norm of the linear predictor beta"}
        if self.beta_star is not None:
            out["beta_error"] = "relative recovery error ||beta - beta*|| / ||beta*||"
        return out
