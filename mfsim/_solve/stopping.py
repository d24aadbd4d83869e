r"""Stopping rules: end a solve when a monitored quantity crosses a level.

``simulate(..., stop=mfsim.StopWhen("train_loss", below=1e-3))`` ends the
solve once the scalar variable ``train_loss`` (recorded by one of the
monitors passed to :func:`mfsim.simulate`) is at most ``1e-3`` (``above``:
at least; ``changes_below=delta, over=Dt``: once its rate along the flow
times ``Dt`` is at most ``delta``, a plateau). The rule is a
``diffrax.Event`` checked at the end of every step:

- an adaptive solve (a flow) finds the crossing time by bisection on
  the step's dense interpolation (``optimistix.Bisection`` on the
  relative gap ``(value - level) / |level|`` within the step, tolerance
  $\epsilon^{0.6}$ relative in time and gap: 4e-10 in float64, 7e-5 in
  float32, where the monitor's rounding noise would stall a tighter one;
  Newton's method cycled on the interpolant of a long float32 step):
  ``t_stop`` is the time the variable equals the level, and the final
  state is the state then;
- a fixed-step solve (gradient descent, SGD) stops after the first step
  whose state meets the rule: ``step_stop`` is that step's number, the
  state after it the final state, as a loop testing the rule after each
  step would find.

A rule met at the start does not stop the solve (a flow looks for a
crossing; a fixed-step solve first tests after one step). The stop itself
is saved: every monitor at the save times is evaluated on the stopped state
inside the compiled solve, and its values become the save after the last
one reached, at time ``t_stop`` (one more save where every save was
reached): a series' final value is its value at the stop (the kernel
change when the loss reached its target). The saves after it are not
reached (their values NaN, their times ``inf``, as for a failed solve).
The trajectory's status is ``"stopped"`` and
:attr:`mfsim.Trajectory.t_stop` its time.
"""

from __future__ import annotations

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import optimistix as optx

from .._monitors.base import AbstractMonitor, MonitorContext


class StopWhen(eqx.Module):
    r"""Stop once ``variable`` is at most ``below``, at least ``above``, or
    changes less than ``changes_below`` over a time ``over``: exactly one of
    the three (module docstring). The last is the flow's rate: the rule is
    met where $|dv/dt|\,\Delta t \le \delta$, $dv/dt$ the derivative of the
    variable along the system's vector field (a Jacobian-vector product of
    the monitor), the change a straight line at today's rate would make over
    ``over``: a plateau's test, not the secant over the last ``over``."""

    variable: str = eqx.field(static=True)
    below: float | None = eqx.field(static=True, default=None)
    above: float | None = eqx.field(static=True, default=None)
    changes_below: float | None = eqx.field(static=True, default=None)
    over: float | None = eqx.field(static=True, default=None)

    def __check_init__(self):
        given = [k for k in ("below", "above", "changes_below") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"StopWhen({self.variable!r}): give exactly one of below=, "
                             "above= and changes_below=")
        if (self.changes_below is None) != (self.over is None):
            raise ValueError(f"StopWhen({self.variable!r}): changes_below= goes with over= "
                             "(the time the change is measured over), and only it")
        if self.changes_below is not None and not (self.changes_below > 0 and self.over > 0):
            raise ValueError(f"StopWhen({self.variable!r}): changes_below and over must be > 0")

    @property
    def level(self) -> float:
        given = (self.below, self.above, self.changes_below)
        return float(next(v for v in given if v is not None))

    def describe(self) -> str:
        """``"train_loss below 0.001"``, ``"train_loss changes less than 1e-06 over 10"``."""
        if self.changes_below is not None:
            return f"{self.variable} changes less than {self.level:g} over {self.over:g}"
        side = "below" if self.below is not None else "above"
        return f"{self.variable} {side} {self.level:g}"

    def rule(self, monitors) -> StopRule:
        """This rule on the monitor among ``monitors`` that records ``variable``."""
        for monitor in monitors:
            if self.variable in monitor.variables():
                return StopRule(self, monitor)
        recorded = sorted(v for m in monitors for v in m.variables())
        raise ValueError(f"StopWhen: no monitor records {self.variable!r}; recorded: "
                         f"{', '.join(recorded) or 'none (pass the monitor to simulate)'}")


class StopRule(eqx.Module):
    """A :class:`StopWhen` bound to its monitor: its signed distance to the
    level, positive until the rule is met."""

    when: StopWhen
    monitor: AbstractMonitor

    def _value(self, t, y, ctx: MonitorContext):
        value = self.monitor(t, y, ctx)[self.when.variable]
        if jnp.ndim(value) != 0:
            raise ValueError(f"StopWhen: {self.when.variable!r} is not a scalar (shape "
                             f"{jnp.shape(value)})")
        return value

    def distance(self, t, y, ctx: MonitorContext):
        when = self.when
        if when.changes_below is not None:
            # the variable's rate along the flow, by a Jacobian-vector product
            field = ctx.system.vector_field(t, y, None)
            _, rate = jax.jvp(lambda z: self._value(t, z, ctx), (y,), (field,))
            value = jnp.abs(rate) * when.over
        else:
            value = self._value(t, y, ctx)
        # relative to the level (where not 0): the root finder's tolerance on
        # it is then a relative one, whatever the variable's scale
        level = when.level
        gap = (value - level) / (abs(level) if level else 1.0)
        return -gap if when.above is not None else gap

    def event(self, system, state0, *, fixed: bool, offset) -> diffrax.Event:
        """The event on diffrax's clock (``t = s + offset``): boolean after
        each step of a fixed-step solve, a root-found crossing otherwise."""
        ctx = MonitorContext(system=system, state0=state0,
                             data=self.monitor.prepare(system, state0))

        # diffrax calls the condition with t, y, args by position and, in its
        # root find, by keyword
        def distance(t, y, args, **kwargs):
            # in JAX's default float dtype: diffrax's root find compares it
            # with a Python 0.0 (float64 under x64, whatever the run's dtype)
            return jnp.asarray(self.distance(t + offset, y, ctx), jnp.result_type(float))

        def met(t, y, args, **kwargs):
            return distance(t, y, args) <= 0

        if fixed:
            return diffrax.Event(met)
        tol = float(jnp.finfo(jnp.result_type(offset)).eps) ** 0.6
        return diffrax.Event(distance, root_finder=optx.Bisection(rtol=tol, atol=tol),
                             direction=False)
