"""The compiled solve at the heart of mfsim: one ``diffrax.diffeqsolve`` with
the monitors evaluated at the save times, its failure guards, and the
:class:`Trajectory` it returns. :mod:`.simulate` and :mod:`.segments` call it
with a :class:`~mfsim.SolveSettings` (:mod:`.settings`)."""

from __future__ import annotations

import functools
import weakref
from typing import NamedTuple

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, PyTree

from .._monitors.base import MonitorContext
from .._monitors.variable import Variable
from .optimizers import OptaxSolver, StepArgs, stochastic
from .problem import Problem
from .sharding import OneDevice
from .solvers import guarded
from .statuses import COMPLETED, STATUS_STOPPED
from .step_clock import StepClock


class Trajectory(eqx.Module):
    """The outcome of :func:`simulate`.

    - ``ts``: save times ``(T,)``; entries never reached are ``inf``.
    - ``values``: monitor name -> array with leading axis ``T``.
    - ``variables``: variable name -> its :class:`~mfsim.Variable` (description,
      axis name, symbol, units, scale, role); ``descriptions``: name -> its
      one-line description.
    - ``dims``: monitor name -> names of its non-time axes (where declared);
      ``coords``: dimension name -> coordinate values (where declared).
    - ``value_ts``: for the values of monitors with save times of their own
      (particle snapshots), variable name -> those times (``inf`` if not reached).
    - ``final_state``: the state at ``t_final``.
    - ``t_final``: the last time reached (``t1`` on success).
    - ``status``: ``"success"``, ``"stopped"`` (its stopping rule was met:
      :attr:`t_stop`), or the solver's reason for stopping.
    - ``stats``: ``num_steps``, ``num_accepted_steps``, ``num_rejected_steps``,
      ``wall_time`` and ``compile_time`` (seconds; compile time includes tracing).
    """

    ts: Array
    values: dict[str, Array]
    final_state: PyTree
    t_final: Array
    status: str = eqx.field(static=True)
    variables: dict[str, Variable] = eqx.field(static=True)
    stats: dict = eqx.field(static=True)
    dims: dict[str, tuple[str, ...]] = eqx.field(static=True, default_factory=dict)
    coords: dict[str, tuple] = eqx.field(static=True, default_factory=dict)
    value_ts: dict[str, Array] = eqx.field(default_factory=dict)

    @property
    def descriptions(self) -> dict[str, str]:
        return {name: var.description for name, var in self.variables.items()}

    @property
    def succeeded(self) -> bool:
        """Reached ``t1``, or stopped by its rule."""
        return self.status in COMPLETED

    @property
    def t_stop(self) -> float | None:
        """When the stopping rule was met (``None``: it was not)."""
        return float(self.t_final) if self.status == STATUS_STOPPED else None

    @property
    def n_saved(self) -> int:
        """Number of save times actually reached."""
        return int(np.sum(np.isfinite(np.asarray(self.ts))))




def _bound(y0, divergence):
    """The largest magnitude a state entry may reach before the solve is
    declared diverged: ``divergence`` times the initial state's (at least 1)."""
    leaves = [jnp.max(jnp.abs(x)) for x in jax.tree.leaves(y0) if eqx.is_inexact_array(x)
              and x.size]
    scale = jnp.max(jnp.stack(leaves)) if leaves else 1.0
    return divergence * jnp.maximum(scale, 1.0)


def _diffeqsolve(p: Problem):
    """The solve of problem ``p``: diffrax's, with the monitors recorded at
    the save times (a ``SubSaveAt`` each: the shared times, the final state,
    each monitor's own times) and the failure guards in the controller."""
    state0 = p.y0 if p.state0 is None else p.state0
    # what monitors compute once (initial kernels, reference self-costs), inside the jit
    refs = [MonitorContext(system=p.system, state0=state0, data=m.prepare(p.system, state0))
            for m in p.monitors]
    shared = [(m, r) for m, r in zip(p.monitors, refs) if m.save_times() is None]
    own = [(m, r) for m, r in zip(p.monitors, refs) if m.save_times() is not None]

    def recorder(pairs):
        def record(t, y, args):
            out = {}
            for monitor, ref in pairs:
                out.update(monitor(t, y, ref))
            return out
        return record

    saves = [(p.ts, recorder(shared))] + [(times, recorder([pair]))
                                          for times, pair in zip(p.own_ts, own)]
    clock = _clock(p)
    carries = isinstance(p.solver, OptaxSolver)
    if p.noise is not None:
        span = p.span if clock is None else tuple(clock.shift(t) for t in p.span)
        terms = p.noise.terms(p.system, state0, p.noise_key, span, p.solver,
                              None if clock is None else p.dt0)
    else:
        terms = diffrax.ODETerm(p.system.vector_field)
    final = _final_save(recorder(shared) if p.stop is not None else None)
    event = None
    if p.stop is not None:
        event = p.stop.event(p.system, state0, fixed=clock is not None,
                             offset=p.t1 if clock is not None else jnp.zeros_like(p.t1))
    sol = _clocked_diffeqsolve(
        clock,
        terms,
        saves,
        final=final,
        event=event,
        solver=p.solver,
        carries=carries,
        t0=p.t0,
        t1=p.t1,
        dt0=p.dt0,
        y0=p.y0,
        args=StepArgs(p.system, p.noise_key) if carries else None,
        solver_state=p.solver_state if carries else None,
        stepsize_controller=guarded(p.controller, _bound(state0, p.divergence)),
        max_steps=p.max_steps,
        progress_meter=diffrax.TqdmProgressMeter() if p.progress else diffrax.NoProgressMeter(),
    )
    return _keep_start(sol, p.y0, p.t0, saves)


def _clock(p: Problem) -> StepClock | None:
    """The clock of a fixed-step solve (:mod:`.step_clock`); ``None``: diffrax's own."""
    if isinstance(p.controller, diffrax.ConstantStepSize):
        return StepClock(p.t0, p.t1, p.dt0)
    return None


def _final_save(record):
    """The save at the end of a solve: the state and, where ``record`` is
    given (a solve with a stopping rule), the shared monitors' values there:
    the values at the stop (:func:`trajectory` adds them as the last save)."""
    def fn(t, y, args):
        return y, ({} if record is None else record(t, y, args))
    return fn


def _clocked_diffeqsolve(clock, terms, saves, *, t0, t1, carries: bool, final=None,
                         **kwargs):
    """``diffrax.diffeqsolve`` of ``terms`` saving ``saves`` (``(ts, fn)`` pairs:
    the first, then ``final`` at the end (:func:`_final_save`), then the
    others) and, where ``carries``, the solver's state; on ``clock``
    (``None``: diffrax's own), its save times reported on the run's clock."""
    final = _final_save(None) if final is None else final
    if clock is not None:
        terms, (t0, t1), final = clock.terms(terms), clock.span, clock.shifted(final)
    save = clock.save if clock is not None else (lambda ts, fn: diffrax.SubSaveAt(ts=ts, fn=fn))
    subs = [save(ts, fn) for ts, fn in saves]
    end = diffrax.SubSaveAt(t1=True, fn=final)
    sol = diffrax.diffeqsolve(
        terms, t0=t0, t1=t1, throw=False,
        saveat=diffrax.SaveAt(subs=[subs[0], end, *subs[1:]],
                              solver_state=carries), **kwargs)
    if clock is None:
        return sol
    return clock.restore(sol, [saves[0][0], None, *(ts for ts, _ in saves[1:])])


def _keep_start(sol, y0, t0, saves):
    """A save time equal to ``t0`` reports the monitors of ``y0`` itself.
    diffrax saves ``ts`` by interpolating each accepted step as it passes
    them, so a solve failing at its first step would save nothing (adaptive:
    no step accepted) or NaN (a fixed step whose end is NaN: y0 + 0 * NaN);
    where the first step succeeds the interpolation at t0 is y0 up to
    rounding (a kernel drift of 4e-17 at t = 0 is now exactly 0)."""
    ts_all, ys_all = list(sol.ts), list(sol.ys)
    for i, (times, record) in zip((0, *range(2, 2 + len(saves) - 1)), saves):
        missed = times[0] == t0
        start = record(t0, y0, None)
        ys_all[i] = jax.tree.map(lambda v, s: v.at[0].set(jnp.where(missed, s, v[0])),
                                 ys_all[i], start)
        ts_all[i] = ts_all[i].at[0].set(jnp.where(missed, t0, ts_all[i][0]))
    return eqx.tree_at(lambda s: (s.ts, s.ys), sol, (ts_all, ys_all))


def _batch_diffeqsolve(shared: Problem, dynamic, static):
    # the members' (system, y0, monitors, noise_key), their arrays stacked
    def one(dyn):
        return _diffeqsolve(shared.member(*eqx.combine(dyn, static)))

    return jax.vmap(one)(dynamic)


def _stacked_diffeqsolve(shared: Problem, dynamic, static):
    # A batch of fixed-step solves as ONE solve of the stacked state (leading
    # axis: the problem): each step evaluates every problem's vector field in
    # one vmapped call, and the loop is diffrax's plain loop, unmasked. (A
    # vmapped while-loop selects over its whole carry, save buffers included,
    # at every step.) Problems take the same steps as their own solves do, so
    # every value equals theirs; the monitors are vmapped over the problems.
    def member(d):
        return eqx.combine(d, static)  # (system, y0, monitors, noise_key)

    _, y0s, monitors, _ = member(dynamic)
    at_ts = [i for i, m in enumerate(monitors) if m.save_times() is None]
    at_own = [i for i, m in enumerate(monitors) if m.save_times() is not None]

    def prepare(d):
        system, y0, ms, _ = member(d)
        return tuple(m.prepare(system, y0) for m in ms)

    datas = eqx.filter_vmap(prepare)(dynamic)

    def recorder(indices):
        def record(t, ys, args):
            def one(d, data, y):
                system, y0, ms, _ = member(d)
                out = {}
                for i in indices:
                    out.update(ms[i](t, y, MonitorContext(system=system, state0=y0,
                                                          data=data[i])))
                return out
            return eqx.filter_vmap(one)(dynamic, datas, ys)
        return record

    def field(t, ys, args):
        return jax.vmap(lambda d, y: member(d)[0].vector_field(t, y, args))(dynamic, ys)

    saves = [(shared.ts, recorder(at_ts))] + [
        (times, recorder([i])) for times, i in zip(shared.own_ts, at_own)]
    bounds = jax.vmap(lambda y: _bound(y, shared.divergence))(y0s)
    sol = _clocked_diffeqsolve(
        _clock(shared),
        diffrax.ODETerm(field),
        saves,
        solver=shared.solver,
        carries=False,
        t0=shared.t0,
        t1=shared.t1,
        dt0=shared.dt0,
        y0=y0s,
        # a full-batch optimizer's step reads only the term (its args: no system, no key)
        args=StepArgs(None, None) if isinstance(shared.solver, OptaxSolver) else None,
        stepsize_controller=guarded(shared.controller, bounds, members=True),
        max_steps=shared.max_steps,
    )
    return _keep_start(sol, y0s, shared.t0, saves)


@eqx.filter_jit
def solve(problem: Problem):
    """The compiled solve of one :class:`Problem`."""
    return _diffeqsolve(problem)


@eqx.filter_jit
def solve_batch(shared: Problem, dynamic, static):
    """The compiled vmapped solve of a batch: ``shared``'s times, solver and
    guards for every member, the members' ``(system, y0, monitors,
    noise_key)`` split into stacked arrays ``dynamic`` and ``static``."""
    return _batch_diffeqsolve(shared, dynamic, static)


@eqx.filter_jit
def solve_stacked(shared: Problem, dynamic, static):
    """The compiled stacked solve of a fixed-step batch (:func:`stackable`)."""
    return _stacked_diffeqsolve(shared, dynamic, static)


def stackable(solver, controller, noise, shard) -> bool:
    """Whether a batch with these settings can be solved as one solve of the
    stacked state with values equal to its members' own solves: fixed steps
    (so every member takes the same ones), explicit (an implicit solver's
    Newton solve would couple the members), no noise and no mini-batches (a
    member's randomness is its own), one device."""
    return (isinstance(controller, diffrax.ConstantStepSize) and noise is None
            and not stochastic(solver) and isinstance(shard, OneDevice)
            and not isinstance(solver, diffrax.AbstractImplicitSolver))


class SolvedPart(NamedTuple):
    """What :func:`trajectory` reads of a solution: save times, saved values,
    step statistics, diffrax's result and its event mask (a batch's solves
    have no stopping rule: None)."""

    ts: list
    ys: list
    stats: dict
    result: object
    event_mask: object = None


def member_solution(sol, i: int, stacked: bool) -> SolvedPart:
    """Problem ``i``'s part of a batch's solution: from a stacked solve (one
    time axis and one set of statistics; values with the problem on axis 1)
    or a vmapped one (every leaf with the problem on axis 0)."""
    if stacked:
        return SolvedPart(sol.ts, jax.tree.map(lambda x: x[:, i], sol.ys), sol.stats,
                          sol.result)
    return jax.tree.map(lambda x: x[i], SolvedPart(sol.ts, sol.ys, sol.stats, sol.result))


class CompileClock:
    """Seconds JAX spends compiling (tracing, lowering, backend compile)
    from the clock's creation on: ``clock = CompileClock()``, then
    ``clock.seconds``. Each clock counts for itself; one listener on JAX's
    compile events, registered once, feeds the clocks alive (held weakly:
    a clock no longer used stops counting)."""

    def __init__(self):
        self.seconds = 0.0
        _listen()
        _CLOCKS.add(self)


_CLOCKS: weakref.WeakSet[CompileClock] = weakref.WeakSet()


@functools.cache
def _listen() -> None:
    def on_event(name, duration, **kwargs):
        if name.startswith("/jax/core/compile/"):
            for clock in list(_CLOCKS):
                clock.seconds += duration

    jax.monitoring.register_event_duration_secs_listener(on_event)


# the statuses of a failed solve, by diffrax result (event_occurred is our guard's:
# non-finite or diverged state, told apart by the final state)
STATUS_NON_FINITE = "non-finite state (NaN or Inf)"
STATUS_DIVERGED = "diverged (|state| above divergence x its initial scale)"
STATUS_DT_MIN = "step-size collapse (the adaptive step fell below its minimum)"


def status(result, final, stopped=None) -> str:
    """What ended a solve (``stopped``: its stopping rule's event mask)."""
    if result == diffrax.RESULTS.successful:
        return "success"
    if result == diffrax.RESULTS.event_occurred and stopped is not None and bool(stopped):
        return STATUS_STOPPED
    if result == diffrax.RESULTS.event_occurred:
        finite = all(bool(jnp.all(jnp.isfinite(x))) for x in jax.tree.leaves(final)
                     if eqx.is_inexact_array(x))
        return STATUS_DIVERGED if finite else STATUS_NON_FINITE
    if result == diffrax.RESULTS.dt_min_reached:
        return STATUS_DT_MIN
    return diffrax.RESULTS[result]


def _unsaved_nan(value, ts):
    """A monitor's values at the save times a failed solve did not reach
    (diffrax leaves them, and the times, at inf): NaN, not a loss of inf. A
    batch's members arrive on the host (numpy) and stay there: each jnp
    operation would be a device dispatch per member and variable."""
    xp = np if isinstance(value, np.ndarray) and isinstance(ts, np.ndarray) else jnp
    value = xp.asarray(value)
    if not xp.issubdtype(value.dtype, xp.inexact):
        return value
    reached = xp.isfinite(xp.asarray(ts)).reshape((-1,) + (1,) * (value.ndim - 1))
    return xp.where(reached, value, xp.nan)


def stop_saved(ts, values: dict, t_stop, at_stop: dict) -> tuple:
    """A stopped solve's save times and values with the stop itself saved:
    ``at_stop`` (the monitors at ``t_stop``, leading axis 1) in the first
    save not reached, or appended when every save was reached; unchanged
    when the last save reached is the stop (a gradient-descent step that is
    also a save). On the host: numpy."""
    ts, t_stop = np.asarray(ts), float(np.asarray(t_stop).reshape(-1)[0])
    n = int(np.sum(np.isfinite(ts)))
    if n and ts[n - 1] == t_stop:
        return ts, values
    grow = n == ts.shape[0]

    def put(v, new):
        v = np.asarray(v)
        v = np.concatenate([v, v[-1:]]) if grow else v.copy()
        v[n] = new
        return v

    return put(ts, t_stop), {name: put(v, np.asarray(at_stop[name])[0]) if name in at_stop
                             else v for name, v in values.items()}


def trajectory(sol, monitors, **timing) -> Trajectory:
    values, (final, at_end), *own = sol.ys
    variables, dims, coords, value_ts = {}, {}, {}, {}
    for monitor in monitors:
        variables.update(monitor.variables())
        dims.update(monitor.dims())
        coords.update({k: tuple(np.asarray(v).tolist()) for k, v in monitor.coords().items()})
    values = {name: _unsaved_nan(value, sol.ts[0]) for name, value in values.items()}
    for ts, ys in zip(sol.ts[2:], own):
        for name, value in ys.items():
            values[name], value_ts[name] = _unsaved_nan(value, ts), ts
    stats = {k: int(v) for k, v in sol.stats.items() if k != "max_steps"}
    stats.update(timing)
    ts, ended = sol.ts[0], status(sol.result, final, sol.event_mask)
    if ended == STATUS_STOPPED:
        ts, values = stop_saved(ts, values, sol.ts[1], at_end)
    return Trajectory(
        ts=ts,
        values=values,
        final_state=jax.tree.map(lambda x: x[0], final),
        t_final=sol.ts[1][0],
        status=ended,
        variables=variables,
        stats=stats,
        dims=dims,
        coords=coords,
        value_ts=value_ts,
    )
