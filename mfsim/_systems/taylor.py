r"""What the Taylor twins of a supervised system share: the expanded system and
its state $\theta_0$, its data, objective weight and time scale, and
$\delta = \theta - \theta_0$. :class:`mfsim.Linearized` (first order) and
:class:`mfsim.Quadratic` (second order) say only how they expand."""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import ClassVar

import jax
from jaxtyping import Array, Float, PyTree

from .._system import AbstractScalarOutputSystem, AbstractSupervisedSystem, requirement_message


def delta(state, state0):
    """$\\theta - \\theta_0$, leaf by leaf."""
    return jax.tree.map(lambda a, b: a - b, state, state0)


class AbstractTaylorTwin(AbstractSupervisedSystem):
    """A Taylor expansion of ``system`` at ``state0``, trained by the same flow
    (objective weight, time scale, data). ``init(key)`` returns ``state0``
    whatever the key: the twin starts where the expansion is taken."""

    system: AbstractSupervisedSystem
    state0: PyTree
    # the public function that builds this twin with the system's capabilities
    builder: ClassVar[str]
    x_train: Float[Array, "n d"]
    y_train: Float[Array, " n"]

    def __init__(self, system: AbstractSupervisedSystem, state0: PyTree):
        if not isinstance(system, AbstractSupervisedSystem):
            raise TypeError(f"{type(self).__name__} cannot expand {type(system).__name__}: "
                            + requirement_message(type(system), [AbstractSupervisedSystem]))
        if (isinstance(system, AbstractScalarOutputSystem)
                and not isinstance(self, AbstractScalarOutputSystem)):
            # one way in: the builder keeps the system's capabilities
            raise TypeError(
                f"mfsim.{type(self).__name__}({type(system).__name__}, ...) would lose "
                f"{type(system).__name__}'s scalar outputs (kernel monitors and twins need "
                f"them): build the twin with mfsim.{self.builder}(system, state0)")
        self.system, self.state0 = system, state0
        self.x_train, self.y_train = system.x_train, system.y_train

    @abc.abstractmethod
    def expand(self, fn: Callable, state) -> Array:
        """The expansion of ``fn`` (a function of the system's state) at
        ``state0``, evaluated at ``state``."""

    def init(self, key) -> PyTree:
        return self.state0

    def parameters(self, state) -> dict:
        return self.system.parameters(state)

    def trainable(self, state):
        return self.system.trainable(state)

    def step_rates(self, state):
        return self.system.step_rates(state)

    def loss_function(self):
        return self.system.loss_function()

    def predict(self, state, x):
        return self.expand(lambda s: self.system.predict(s, x), state)

    def train_outputs(self, state):
        return self.expand(self.system.train_outputs, state)

    def time_scale(self):
        return self.system.time_scale()

    def loss_weight(self):
        return self.system.loss_weight()
