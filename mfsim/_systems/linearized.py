r"""The linearized twin of any supervised system.

$$f_{lin}(x;\theta) = f(x;\theta_0) + J(x;\theta_0)(\theta - \theta_0),$$

computed with ``jax.jvp`` (no Jacobian is materialized) and trained by the
same flow as the system: same objective weight, same time scale, same data.
Its function-space dynamics are exactly the constant-kernel flow with the
empirical NTK at $\theta_0$.
"""

from __future__ import annotations

import jax
from jaxtyping import Array, Float, PyTree

from .._system import AbstractScalarOutputSystem, AbstractSupervisedSystem, requirement_message


def _delta(state, state0):
    return jax.tree.map(lambda a, b: a - b, state, state0)


class Linearized(AbstractSupervisedSystem):
    """First-order Taylor expansion of ``system`` at ``state0``.

    The twin of a system with scalar outputs has scalar outputs too: build it
    with :func:`linearize`, which returns a :class:`ScalarLinearized` then
    (so that scalar-kernel monitors accept it).

    ``init(key)`` returns ``state0`` whatever the key: the twin starts where
    the linearization is taken.
    """

    system: AbstractSupervisedSystem
    state0: PyTree
    x_train: Float[Array, "n d"]
    y_train: Float[Array, " n"]

    def __init__(self, system: AbstractSupervisedSystem, state0: PyTree):
        if not isinstance(system, AbstractSupervisedSystem):
            raise TypeError(f"Linearized cannot linearize {type(system).__name__}: "
                            + requirement_message(type(system), [AbstractSupervisedSystem]))
        self.system, self.state0 = system, state0
        self.x_train, self.y_train = system.x_train, system.y_train

    def init(self, key) -> PyTree:
        return self.state0

    def parameters(self, state) -> dict:
        return self.system.parameters(state)

    def predict(self, state, x):
        f0, df = jax.jvp(lambda s: self.system.predict(s, x), (self.state0,),
                         (_delta(state, self.state0),))
        return f0 + df

    def train_outputs(self, state):
        f0, df = jax.jvp(self.system.train_outputs, (self.state0,),
                         (_delta(state, self.state0),))
        return f0 + df

    def time_scale(self):
        return self.system.time_scale()

    def loss_weight(self):
        return self.system.loss_weight()

    def ntk(self, state, x1, x2):
        """The NTK of the linearized model is the system's NTK at ``state0``, constant."""
        return self.system.ntk(self.state0, x1, x2)


class ScalarLinearized(Linearized, AbstractScalarOutputSystem):
    """The linearized twin of a system with scalar outputs."""


def linearize(system: AbstractSupervisedSystem, state0: PyTree) -> Linearized:
    """The linearized twin of ``system`` at ``state0``, with scalar outputs
    (:class:`ScalarLinearized`) when ``system`` has them."""
    if isinstance(system, AbstractScalarOutputSystem):
        return ScalarLinearized(system, state0)
    return Linearized(system, state0)
