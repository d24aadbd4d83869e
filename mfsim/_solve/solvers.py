"""Solvers by name, with their step-size controllers.

``euler`` is fixed-step: with step ``dt`` on a gradient-flow system it is
exactly full-batch gradient descent with learning rate ``tau * dt``. The
others are adaptive (embedded error estimates) under a PID controller with
``rtol``/``atol``; give ``adaptive=False`` and a ``dt`` to run them fixed-step.
``kvaerno5`` is implicit (for stiff flows, e.g. large output scales).
``sgd`` and ``adam`` are optimizers (:mod:`.optimizers`): fixed steps of
optax update rules on the flow time axis, full batch unless given batches.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp

from .optimizers import adam, sgd


@dataclass(frozen=True)
class SolverSpec:
    """A solver by name: what makes it (a diffrax class, or a factory of an
    optimizer), a one-line description, whether it is fixed-step only,
    implicit and an optimizer, and how many copies of the state a solve with
    it holds (initial, current, next and final state, the stages and the
    error estimate, an optimizer's moments: the memory estimate's multiplier)."""

    solver: Callable[[], diffrax.AbstractSolver]
    description: str
    copies: int
    fixed_step_only: bool = False
    implicit: bool = False
    optimizer: bool = False
    sde_only: bool = False  # integrates noisy dynamics only (a temperature)
    options: tuple[str, ...] = ()  # an optimizer's own keywords (scenario keys alike)


SOLVERS: dict[str, SolverSpec] = {
    "euler": SolverSpec(diffrax.Euler, "explicit Euler, fixed step: exactly full-batch "
                        "gradient descent", 5, fixed_step_only=True),
    "heun": SolverSpec(diffrax.Heun, "Heun's 2nd-order method (adaptive, embedded Euler "
                       "error estimate)", 7),
    "tsit5": SolverSpec(diffrax.Tsit5, "Tsitouras 5(4) Runge-Kutta: the default for "
                        "non-stiff flows", 12),
    "dopri5": SolverSpec(diffrax.Dopri5, "Dormand-Prince 5(4) Runge-Kutta", 12),
    "dopri8": SolverSpec(diffrax.Dopri8, "Dormand-Prince 8(7) Runge-Kutta: tight tolerances, "
                         "smooth flows", 18),
    "kvaerno5": SolverSpec(diffrax.Kvaerno5, "Kvaerno 5(4) implicit ESDIRK: stiff flows "
                           "(large output scales)", 14, implicit=True),
    "sra1": SolverSpec(diffrax.SRA1, "SRA1 stochastic Runge-Kutta for additive noise, fixed step (Langevin "
                       "dynamics only): strong order 1.5", 8, fixed_step_only=True, sde_only=True),
    "shark": SolverSpec(diffrax.ShARK, "ShARK stochastic Runge-Kutta for additive noise "
                        "(Langevin dynamics only): strong order 1.5, adaptive", 10, sde_only=True),
    "sgd": SolverSpec(sgd, "SGD through optax, fixed step: mini-batch, online or full batch "
                      "(= euler); momentum", 7, fixed_step_only=True, optimizer=True,
                      options=("momentum", "nesterov")),
    "adam": SolverSpec(adam, "Adam through optax on the flow's velocity, fixed step: mini-batch, "
                       "online or full batch", 8, fixed_step_only=True, optimizer=True,
                       options=("b1", "b2", "eps")),
}


def whole_steps(span: float, dt: float) -> bool:
    """Whether ``span`` is a whole number of steps ``dt`` (to rounding): a
    fixed-step solve then ends on a full step (diffrax would clip the last
    one, which is then no gradient-descent step)."""
    n = span / dt
    return abs(n - round(n)) <= 1e-9 * max(1.0, n)


def make_solver(
    name: str,
    *,
    dt: float | None = None,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    adaptive: bool | None = None,
):
    """Return ``(solver, stepsize_controller, dt0)`` for a solver name.

    ``adaptive`` defaults to ``True`` for every solver but ``euler``.
    """
    try:
        solver = SOLVERS[name].solver()
    except KeyError:
        raise ValueError(f"unknown solver {name!r}; allowed: {', '.join(SOLVERS)}") from None
    fixed_only = SOLVERS[name].fixed_step_only
    if adaptive is None:
        adaptive = not fixed_only
    if adaptive and fixed_only:
        raise ValueError(f"solver {name!r} is fixed-step only; set adaptive=False and give dt")
    if adaptive:
        if not (rtol > 0 and atol > 0):
            raise ValueError(f"rtol and atol must be positive; got rtol={rtol}, atol={atol}")
        return solver, diffrax.PIDController(rtol=rtol, atol=atol), dt
    if dt is None or not dt > 0:
        raise ValueError(f"fixed-step solver {name!r} needs a positive dt; got {dt}")
    return solver, diffrax.ConstantStepSize(), dt


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
