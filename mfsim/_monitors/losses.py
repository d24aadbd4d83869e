"""Train and test losses."""

from __future__ import annotations

from jaxtyping import Array, Float

from .._system import squared_loss
from .base import AbstractMonitor, Reference


class TrainLoss(AbstractMonitor):
    r"""$L = \frac{1}{2n}\sum_i (f(x_i) - y_i)^2$ on the training set."""

    def __call__(self, t, state, ref: Reference):
        return {"train_loss": ref.system.loss(state)}

    def descriptions(self):
        return {"train_loss": "training loss (1/2n) sum_i (f(x_i) - y_i)^2"}


class TestLoss(AbstractMonitor):
    r"""$\frac{1}{2n'}\sum_i (f(x'_i) - y'_i)^2$ on held-out data."""

    x: Float[Array, "k d"]
    y: Float[Array, " k"]

    __test__ = False  # not a pytest class

    def __call__(self, t, state, ref: Reference):
        return {"test_loss": squared_loss(ref.system.predict(state, self.x), self.y)}

    def descriptions(self):
        return {"test_loss": "test loss (1/2n') sum_i (f(x'_i) - y'_i)^2 on held-out data"}
