"""Monitors of a linear predictor beta (``system.beta(state)``)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .._system import AbstractLinearPredictorSystem, squared_loss
from .base import AbstractMonitor, MonitorContext
from .variable import Variable, reference


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

    def variables(self):
        own = {"beta_l1": Variable("l1 norm of the linear predictor beta",
                                   "l1 norm of the predictor", "$\\|\\beta\\|_1$", rank=25),
               "beta_l2": Variable("l2 norm of the linear predictor beta",
                                   "l2 norm of the predictor", "$\\|\\beta\\|_2$", rank=25)}
        if self.beta_star is not None:
            own["beta_error"] = Variable(
                "relative recovery error ||beta - beta*|| / ||beta*||", "recovery error",
                "$\\|\\beta - \\beta^*\\| / \\|\\beta^*\\|$", scale="log", role="metric",
                rank=3)
        out = dict(own)
        for name in self.interpolants or {}:
            norm = name.removeprefix("min_")
            which = f"the minimum-{norm}-norm interpolant"
            out.update({f"{name}_{k}": reference(
                f"{v.description} of {which}", v.long_name, k, f"min-{norm} interpolant",
                symbol=v.symbol, scale=v.scale) for k, v in own.items()})
            if self.x_test is not None:
                out[f"{name}_test_loss"] = reference(
                    f"test loss (1/2n') sum (f - y)^2 of {which}", "test loss", "test_loss",
                    f"min-{norm} interpolant", symbol="$L_{test}$", scale="log")
        return out
