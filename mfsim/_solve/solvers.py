"""What the solves add to diffrax's step-size controllers: whole fixed
steps (:func:`whole_steps`), the smallest adaptive step (:func:`with_dtmin`)
and the failure guard (:func:`guarded`). Solvers are diffrax objects
(``diffrax.Euler()`` at step ``dt`` on a gradient-flow system is exactly
full-batch gradient descent with learning rate ``tau dt``); a scenario's
solver names are its entries' (:mod:`mfsim._scenario.solvers`).
"""

from __future__ import annotations

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp


def whole_steps(span: float, dt: float) -> bool:
    """Whether ``span`` is a whole number of steps ``dt`` (to rounding): a
    fixed-step solve then ends on a full step (diffrax would clip the last
    one, which is then no gradient-descent step)."""
    n = span / dt
    return abs(n - round(n)) <= 1e-9 * max(1.0, n)


# the smallest adaptive step, in units of eps(dtype) * max(|t0|, |t1|) (the time
# resolution at t1): far below any step a healthy solve takes (float32 relu
# networks at rtol 1e-6 were measured to take steps between 1 and 10 eps t1), reached
# within a few rejections when the field turns NaN ahead of the solve
DTMIN_EPS = 1e-3


def with_dtmin(controller, t0: float, t1: float, dtype):
    """``controller`` (a PID controller) stopping the solve with
    ``dt_min_reached`` when its step falls below ``DTMIN_EPS`` * eps(dtype) *
    max(|t0|, |t1|), instead of creeping on until ``max_steps``. The bound and
    the tolerances are arrays of the run's dtype (the values a Python float
    would round to), so changing ``t1``, ``rtol`` or ``atol`` recompiles
    nothing."""
    if not isinstance(controller, diffrax.PIDController):
        return controller
    dtmin = DTMIN_EPS * jnp.finfo(dtype).eps * max(abs(t0), abs(t1))
    return eqx.tree_at(lambda c: (c.rtol, c.atol, c.dtmin, c.force_dtmin), controller,
                       (jnp.asarray(controller.rtol, dtype), jnp.asarray(controller.atol, dtype),
                        jnp.asarray(dtmin, dtype), False), is_leaf=lambda x: x is None)


def _blown_up(y, bound):
    """Whether a state has a NaN/Inf entry or one beyond ``bound`` in magnitude
    (one reduction over the state)."""
    leaves = [jnp.max(jnp.abs(x)) for x in jax.tree.leaves(y)
              if eqx.is_inexact_array(x) and x.size]
    if not leaves:
        return jnp.asarray(False)
    return ~(jnp.max(jnp.stack(leaves)) <= bound)  # NaN and Inf compare False


class _Guard(eqx.Module):
    """Wraps a step-size controller: a step that would be accepted with a
    non-finite state, or one beyond ``bound``, is kept and ends the solve
    (diffrax's ``event_occurred`` result, which mfsim reports as ``non-finite
    state`` or ``diverged``). Inside the compiled loop, one reduction per step;
    lighter than a ``diffrax.Event``, whose loop state carries every step's
    dense output. ``members``: the state is a stack of problems (leading
    axis), ``bound`` holds one bound per problem, and the solve ends when any
    problem's state fails its own."""

    inner: diffrax.AbstractStepSizeController
    bound: jax.Array
    members: bool = eqx.field(static=True, default=False)

    def wrap(self, direction):
        return type(self)(self.inner.wrap(direction), self.bound, members=self.members)

    def init(self, terms, t0, t1, y0, dt0, args, func, error_order):
        return self.inner.init(terms, t0, t1, y0, dt0, args, func, error_order)

    def adapt_step_size(self, t0, t1, y0, y1_candidate, args, y_error, error_order,
                        controller_state):
        keep, tprev, tnext, jump, state, result = self.inner.adapt_step_size(
            t0, t1, y0, y1_candidate, args, y_error, error_order, controller_state)
        blown = (jnp.any(jax.vmap(_blown_up)(y1_candidate, self.bound)) if self.members
                 else _blown_up(y1_candidate, self.bound))
        failed = keep & blown
        result = diffrax.RESULTS.where(failed, diffrax.RESULTS.event_occurred, result)
        return keep, tprev, tnext, jump, state, result


class _GuardFixed(_Guard, diffrax.AbstractStepSizeController):
    pass


class _GuardAdaptive(_Guard, diffrax.AbstractAdaptiveStepSizeController):
    # the tolerances implicit solvers take from an adaptive controller
    @property
    def rtol(self):
        return self.inner.rtol

    @property
    def atol(self):
        return self.inner.atol

    @property
    def norm(self):
        return self.inner.norm


def guarded(controller, bound, *, members: bool = False):
    """``controller`` stopping the solve at a non-finite or diverged state
    (``members``: of any problem of a stacked state, ``bound`` per problem)."""
    cls = _GuardAdaptive if isinstance(
        controller, diffrax.AbstractAdaptiveStepSizeController) else _GuardFixed
    return cls(controller, bound, members=members)
