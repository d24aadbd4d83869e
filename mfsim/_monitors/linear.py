"""Monitors of a linear predictor beta (``system.beta(state)``)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .._system import AbstractLinearPredictorSystem, squared_loss
from .base import AbstractMonitor, MonitorContext


class LinearPredictor(AbstractMonitor):
    r"""Norms of the linear predictor $\|\beta_t\|_1$, $\|\beta_t\|_2$ and, when the
    true ``beta_star`` is given, the relative recovery error
    $\|\beta_t - \beta^*\|_2 / \|\beta^*\|_2$.

    ``interpolants``: ``{"min_l1": beta, "min_l2": beta}``
    (:mod:`mfsim._systems.interpolants`) records the same quantities for each
    (``min_l1_beta_l1``, ...; constant in time, drawn as references over the
    network's), and with held-out data ``x_test``, ``y_test`` their test
    losses ``min_l1_test_loss`` (the convention of :class:`TestLoss`)."""

    beta_star: jax.Array | None = None
    interpolants: dict[str, jax.Array] | None = None
    x_test: jax.Array | None = None
    y_test: jax.Array | None = None

    requires = (AbstractLinearPredictorSystem,)

    def _measure(self, beta, prefix: str = "") -> dict:
        out = {f"{prefix}beta_l1": jnp.sum(jnp.abs(beta)),
               f"{prefix}beta_l2": jnp.sqrt(jnp.sum(beta**2))}
        if self.beta_star is not None:
            out[f"{prefix}beta_error"] = (jnp.sqrt(jnp.sum((beta - self.beta_star) ** 2))
                                          / jnp.sqrt(jnp.sum(self.beta_star**2)))
        return out

    def __call__(self, t, state, ctx: MonitorContext):
        out = self._measure(ctx.system.beta(state))
        for name, beta in (self.interpolants or {}).items():
            out.update(self._measure(beta, f"{name}_"))
            if self.x_test is not None:
                out[f"{name}_test_loss"] = squared_loss(self.x_test @ beta, self.y_test)
        return out

    def descriptions(self):
        out = {"beta_l1": "l1 norm of the linear predictor beta",
               "beta_l2": "l2 norm of the linear predictor beta"}
        if self.beta_star is not None:
            out["beta_error"] = "relative recovery error ||beta - beta*|| / ||beta*||"
        for name in self.interpolants or {}:
            which = f"the minimum-{name.removeprefix('min_')}-norm interpolant"
            out.update({f"{name}_{k}": f"{v} of {which}" for k, v in list(out.items())
                        if not k.startswith("min_")})
            if self.x_test is not None:
                out[f"{name}_test_loss"] = f"test loss (1/2n') sum (f - y)^2 of {which}"
        return out
