r"""The linearized twin of any supervised system.

$$f_{lin}(x;\theta) = f(x;\theta_0) + J(x;\theta_0)(\theta - \theta_0),$$

computed with ``jax.jvp`` (no Jacobian is materialized) and trained by the
same flow as the system: same objective weight, same time scale, same data.
Its function-space dynamics are exactly the constant-kernel flow with the
empirical NTK at $\theta_0$.
"""

from __future__ import annotations

import jax
from jaxtyping import PyTree

from .._system import AbstractScalarOutputSystem, AbstractSupervisedSystem
from .taylor import AbstractTaylorTwin, delta


class Linearized(AbstractTaylorTwin):
    """First-order Taylor expansion of ``system`` at ``state0``.

    Build it with :func:`mfsim.linearize`: the twin of a system with scalar
    outputs is then a :class:`ScalarLinearized` (so that scalar-kernel
    monitors accept it); ``Linearized(system, state0)`` of such a system is
    refused, saying so.

    ``init(key)`` returns ``state0`` whatever the key: the twin starts where
    the linearization is taken.
    """

    builder = "linearize"

    def expand(self, fn, state):
        f0, df = jax.jvp(fn, (self.state0,), (delta(state, self.state0),))
        return f0 + df

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
