"""Train and test losses."""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, Float

from .._system import AbstractLossSystem, AbstractRegressionSystem
from .base import AbstractMonitor, MonitorContext
from .variable import Variable, loss


class TrainLoss(AbstractMonitor):
    r"""The system's training loss (for regression, $L = \frac{1}{2n}\sum_i (f(x_i) - y_i)^2$)."""

    requires = (AbstractLossSystem,)

    def __call__(self, t, state, ctx: MonitorContext):
        return {"train_loss": ctx.system.loss(state)}

    def variables(self):
        return {"train_loss": loss("training loss (1/2n) sum_i (f(x_i) - y_i)^2",
                                   "training loss", "$L$", rank=2, figure="loss")}


class TestLoss(AbstractMonitor):
    r"""The system's loss on held-out data (squared: $\frac{1}{2n'}\sum_i (f(x'_i) -
    y'_i)^2$; the system's :meth:`loss_function` otherwise)."""

    x: Float[Array, "k d"]
    y: Float[Array, " k"]

    requires = (AbstractRegressionSystem,)
    __test__ = False  # not a pytest class

    def __call__(self, t, state, ctx: MonitorContext):
        loss = ctx.system.loss_function()
        return {"test_loss": loss(ctx.system.predict(state, self.x), self.y)}

    def variables(self):
        return {"test_loss": loss("test loss (1/2n') sum_i (f(x'_i) - y'_i)^2 on held-out data",
                                  "test loss", "$L_{test}$", oracle=True, rank=0, figure="loss")}


class TestAccuracy(AbstractMonitor):
    r"""Sign agreement $\frac{1}{n'}\sum_i 1[\mathrm{sign} f(x'_i) = \mathrm{sign} y'_i]$
    on held-out data: the accuracy of a regression on $\pm 1$ labels read as
    a classifier (an output of exactly 0 counts as wrong)."""

    x: Float[Array, "k d"]
    y: Float[Array, " k"]

    requires = (AbstractRegressionSystem,)
    __test__ = False

    def __call__(self, t, state, ctx: MonitorContext):
        f = ctx.system.predict(state, self.x)
        return {"test_accuracy": jnp.mean(jnp.sign(f) == jnp.sign(self.y)).astype(f.dtype)}

    def variables(self):
        return {"test_accuracy": Variable(
            "test accuracy: fraction of held-out points with sign f = sign y", "test accuracy",
            bounds=(0.0, 1.0), role="metric", rank=1)}
