r"""The quadratic twin of any supervised system (Bai & Lee 2020's second-order
Taylor model):

$$f_{quad}(x;\theta) = f(x;\theta_0) + J(x;\theta_0)\,\delta
  + \tfrac12\,\delta^\top \nabla^2_\theta f(x;\theta_0)\,\delta,
  \qquad \delta = \theta - \theta_0,$$

evaluated by one nested ``jax.jvp`` (the outer derivative, along $\delta$,
of the inner directional derivative $J(\theta)\delta$): the primal outputs
are $(f_0, J\delta)$ and their tangents $(J\delta, \delta^\top H\delta)$; no
Jacobian and no Hessian is materialized. It is trained by the same flow as
the system (same objective weight, time scale and data).

In the lazy regime of output scale $\alpha$ (objective $L(\alpha h)/\alpha^2$)
the network moves $\delta = O(1/\alpha)$; the linearized model errs by the
neglected $\frac12\delta^\top H\delta$, the quadratic one by a third-order
term: at a fixed time, $f - f_{lin} = O(1/\alpha)$ and
$f - f_{quad} = O(1/\alpha^2)$ in function space.
"""

from __future__ import annotations

import jax
from jaxtyping import PyTree

from .._kernels.empirical import empirical_ntk
from .._system import AbstractScalarOutputSystem, AbstractSupervisedSystem
from .taylor import AbstractTaylorTwin, delta


def second_order(fn, state0, delta):
    """``f0 + J delta + delta^T H delta / 2`` of ``fn`` at ``state0``."""
    (f0, jd), (_, hdd) = jax.jvp(lambda s: jax.jvp(fn, (s,), (delta,)), (state0,), (delta,))
    return f0 + jd + 0.5 * hdd


class Quadratic(AbstractTaylorTwin):
    """Second-order Taylor expansion of ``system`` at ``state0``.

    Build it with :func:`quadratize`, which returns a :class:`ScalarQuadratic`
    for a system with scalar outputs. ``init(key)`` returns ``state0``: the
    twin starts where the expansion is taken.
    """

    builder = "quadratize"

    def expand(self, fn, state):
        return second_order(fn, self.state0, delta(state, self.state0))

    def ntk(self, state, x1, x2):
        r"""$w\langle\nabla f_{quad}(x_1), \nabla f_{quad}(x_2)\rangle$ with
        $\nabla f_{quad} = J_0 + H_0\delta$: it moves with $\delta$, linearly
        (the generic empirical kernel of :meth:`predict`, memory-bounded)."""
        return self.loss_weight() * empirical_ntk(lambda s, x: self.predict(s, x), state, x1, x2)


class ScalarQuadratic(Quadratic, AbstractScalarOutputSystem):
    """The quadratic twin of a system with scalar outputs."""


def quadratize(system: AbstractSupervisedSystem, state0: PyTree) -> Quadratic:
    """The quadratic twin of ``system`` at ``state0``, with scalar outputs
    (:class:`ScalarQuadratic`) when ``system`` has them."""
    if isinstance(system, AbstractScalarOutputSystem):
        return ScalarQuadratic(system, state0)
    return Quadratic(system, state0)
