"""simulate(): one compiled diffrax solve of a system, with monitors."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, PyTree

from ._monitors.base import AbstractMonitor, Reference
from ._save_times import save_times as make_save_times
from ._save_times import snap_to_steps
from ._sharding import Shard, check_shard, shard_batch, shard_particles, sweep_multiple
from ._solvers import guarded, make_solver, with_dtmin
from ._system import AbstractSystem


class Trajectory(eqx.Module):
    """The outcome of :func:`simulate`.

    - ``ts``: save times ``(T,)``; entries never reached are ``inf``.
    - ``values``: monitor name -> array with leading axis ``T``.
    - ``descriptions``: monitor name -> one-line description.
    - ``dims``: monitor name -> names of its non-time axes (where declared);
      ``coords``: dimension name -> coordinate values (where declared).
    - ``value_ts``: for the values of monitors with save times of their own
      (particle snapshots), variable name -> those times (``inf`` if not reached).
    - ``final_state``: the state at ``t_final``.
    - ``t_final``: the last time reached (``t1`` on success).
    - ``status``: ``"success"``, or the solver's reason for stopping.
    - ``stats``: ``num_steps``, ``num_accepted_steps``, ``num_rejected_steps``,
      ``wall_time`` and ``compile_time`` (seconds; compile time includes tracing).
    """

    ts: Array
    values: dict[str, Array]
    final_state: PyTree
    t_final: Array
    status: str = eqx.field(static=True)
    descriptions: dict[str, str] = eqx.field(static=True)
    stats: dict = eqx.field(static=True)
    dims: dict[str, tuple[str, ...]] = eqx.field(static=True, default_factory=dict)
    coords: dict[str, tuple] = eqx.field(static=True, default_factory=dict)
    value_ts: dict[str, Array] = eqx.field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return self.status == "success"

    @property
    def n_saved(self) -> int:
        """Number of save times actually reached."""
        return int(np.sum(np.isfinite(np.asarray(self.ts))))


def _is_key(x) -> bool:
    if not isinstance(x, jax.Array):
        return False
    if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
        return True
    return x.dtype == jnp.uint32 and x.shape == (2,)


DIVERGENCE = 1e8  # default bound on max |state| / max(1, max |state0|)


def _bound(y0, divergence):
    """The largest magnitude a state entry may reach before the solve is
    declared diverged: ``divergence`` times the initial state's (at least 1)."""
    leaves = [jnp.max(jnp.abs(x)) for x in jax.tree.leaves(y0) if eqx.is_inexact_array(x)
              and x.size]
    scale = jnp.max(jnp.stack(leaves)) if leaves else 1.0
    return divergence * jnp.maximum(scale, 1.0)


def _diffeqsolve(system, y0, ts, own_ts, t0, t1, dt0, monitors, solver, controller,
                 max_steps, progress, divergence=DIVERGENCE, state0=None):
    # ``state0``: the run's initial state when this solve continues it from
    # ``y0`` at ``t0`` (a segment of a checkpointed run); monitors measure from it
    state0 = y0 if state0 is None else state0
    # what monitors compute once (initial kernels, reference self-costs), inside the jit
    refs = [Reference(system=system, state0=state0, data=m.prepare(system, state0))
            for m in monitors]
    shared = [(m, r) for m, r in zip(monitors, refs) if m.save_times() is None]
    own = [(m, r) for m, r in zip(monitors, refs) if m.save_times() is not None]

    def recorder(pairs):
        def record(t, y, args):
            out = {}
            for monitor, ref in pairs:
                out.update(monitor(t, y, ref))
            return out
        return record

    subs = [diffrax.SubSaveAt(ts=ts, fn=recorder(shared)), diffrax.SubSaveAt(t1=True)]
    subs += [diffrax.SubSaveAt(ts=times, fn=recorder([pair]))
             for times, pair in zip(own_ts, own)]
    meter = diffrax.TqdmProgressMeter() if progress else diffrax.NoProgressMeter()
    return diffrax.diffeqsolve(
        diffrax.ODETerm(system.vector_field),
        solver,
        t0=t0,
        t1=t1,
        dt0=dt0,
        y0=y0,
        saveat=diffrax.SaveAt(subs=subs),
        stepsize_controller=guarded(controller, _bound(state0, divergence)),
        max_steps=max_steps,
        throw=False,
        progress_meter=meter,
    )


@eqx.filter_jit
def _solve(*args):
    return _diffeqsolve(*args)


@eqx.filter_jit
def _solve_batch(dynamic, static, ts, own_ts, t0, t1, dt0, solver, controller, max_steps,
                 divergence):
    def one(dyn):
        system, y0, monitors = eqx.combine(dyn, static)
        return _diffeqsolve(system, y0, ts, own_ts, t0, t1, dt0, monitors, solver,
                            controller, max_steps, False, divergence)

    return jax.vmap(one)(dynamic)


class _CompileTimer:
    """Sums JAX's compile-event durations (trace, lower, backend compile)."""

    total = 0.0
    _registered = False

    @classmethod
    def listen(cls):
        if not cls._registered:
            jax.monitoring.register_event_duration_secs_listener(cls._on_event)
            cls._registered = True

    @classmethod
    def _on_event(cls, name, duration, **kwargs):
        if name.startswith("/jax/core/compile/"):
            cls.total += duration


def simulate(
    system: AbstractSystem,
    state_or_key,
    *,
    t1: float,
    t0: float = 0.0,
    solver: str = "tsit5",
    dt: float | None = None,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    adaptive: bool | None = None,
    save_times: Sequence[float] | Array | None = None,
    n_save: int = 101,
    monitors: Sequence[AbstractMonitor] = (),
    max_steps: int = 100_000,
    progress: bool = False,
    shard: Shard = "none",
    divergence: float = DIVERGENCE,
    checkpoint_every: int = 0,
    checkpoint: str | os.PathLike | None = None,
    checkpoint_tag: str = "",
) -> Trajectory:
    """Integrate ``system`` from ``t0`` to ``t1`` in one compiled diffrax solve.

    **Arguments:**

    - ``system``: an :class:`AbstractSystem`.
    - ``state_or_key``: an initial state, or a PRNG key (or an integer seed)
      passed to ``system.init``.
    - ``t1``, ``t0``: the time interval.
    - ``solver``: ``euler``, ``heun``, ``tsit5``, ``dopri5``, ``dopri8``, ``kvaerno5``.
    - ``dt``: the step of fixed-step solvers (``euler``: gradient descent with
      learning rate ``tau * dt``); the initial step of adaptive ones (``None``:
      chosen automatically).
    - ``rtol``, ``atol``: tolerances of the PID step-size controller.
    - ``adaptive``: ``False`` runs an adaptive-capable solver at fixed ``dt``.
    - ``save_times``: where monitors are evaluated (default: ``n_save`` evenly
      spaced times; see :func:`mfsim.save_times` for log spacing). For
      fixed-step solves they are rounded to the step grid so that saved values
      are exact iterates.
    - ``monitors``: :class:`AbstractMonitor` instances.
    - ``max_steps``: the solve stops (status says so) after this many steps.
    - ``divergence``: the solve stops (status ``diverged``) when an entry of
      the state exceeds ``divergence * max(1, max |state0|)`` in magnitude,
      and (status ``non-finite state``) when one becomes NaN or Inf. Both are
      checked after every step inside the compiled loop. An adaptive solve
      whose step falls below eps max(|t0|, |t1|) / 1000 (it keeps shrinking
      when the field turns NaN ahead of it) stops with status
      ``step-size collapse``.
    - ``progress``: show a progress bar (tqdm) during the solve.
    - ``shard``: ``"particles"`` splits the particle axis of the state over
      every JAX device (see :mod:`mfsim._sharding`); ``"none"`` or
      ``"sweep"`` (which only batched solves use): one device.

    - ``checkpoint_every``: solve in segments of this many save points (0:
      one solve), writing the state and the values so far to the file
      ``checkpoint`` after each segment; a later call with the same problem
      and the same file resumes after the last segment written and returns
      bitwise the same trajectory as an uninterrupted call (see
      :mod:`mfsim._checkpoint`; ``checkpoint_tag`` is mixed into the
      problem's digest).

    **Returns:** a :class:`Trajectory`. A failed solve (max steps, non-finite
    or diverged state, step-size collapse) does not raise: its status says
    why, ``t_final`` when, and the values saved before the failure are kept.

    The run's dtype is the dtype of the initial state (a system initialized
    from float32 data gives a float32 run); times are cast to it.
    """
    check_shard(shard)
    setup = _Setup.make(solver, dt, rtol, atol, adaptive, t0, t1, save_times, n_save)
    y0 = _initial_state(system, state_or_key)
    if shard == "particles":
        system, y0 = shard_particles(system, y0)
    cast = setup.caster(y0)
    _CompileTimer.listen()
    compile_before = _CompileTimer.total
    start = time.perf_counter()
    monitors = tuple(monitors)
    _check_monitors(system, monitors)
    if checkpoint_every:
        from ._checkpoint import solve_segmented

        return solve_segmented(system, y0, setup, cast, monitors, max_steps=int(max_steps),
                               progress=bool(progress), divergence=divergence,
                               path=None if checkpoint is None else Path(checkpoint),
                               every=int(checkpoint_every), tag=checkpoint_tag)
    sol = _solve(
        system, y0, cast(setup.ts), setup.own_times(monitors, cast), cast(t0), cast(t1),
        cast(setup.dt0), monitors, setup.solver, setup.controller_for(y0), int(max_steps),
        bool(progress), cast(divergence),
    )
    jax.block_until_ready(sol.ys)
    wall = time.perf_counter() - start
    return _trajectory(sol, monitors, wall_time=wall,
                       compile_time=_CompileTimer.total - compile_before)


def simulate_batch(
    systems: Sequence[AbstractSystem],
    states_or_keys: Sequence,
    *,
    t1: float,
    t0: float = 0.0,
    solver: str = "tsit5",
    dt: float | None = None,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    adaptive: bool | None = None,
    save_times: Sequence[float] | Array | None = None,
    n_save: int = 101,
    monitors: Sequence = (),
    max_steps: int = 100_000,
    shard: Shard = "none",
    divergence: float = DIVERGENCE,
) -> list[Trajectory]:
    """Solve several problems of the same structure in one compiled, ``vmap``'ed solve.

    ``systems[i]`` starts from ``states_or_keys[i]`` (a state, key or seed as in
    :func:`simulate`). ``monitors`` is one sequence of monitors shared by all
    problems, or one sequence per problem. All problems must have the same
    structure: equal array shapes and dtypes and equal non-array fields (a
    seed or an output scale stored as an array may differ; a width may not):
    :func:`batch_signature` tells which problems can share a batch. Each
    problem keeps its own adaptive step sizes and its own failure status;
    the solver and the save times are shared.

    ``shard="sweep"`` splits the problems over every JAX device (their number
    must divide the batch); ``"particles"`` is not available for batches.

    Returns one :class:`Trajectory` per problem (their ``stats`` give the
    batch's wall and compile time, and each problem's own step counts).
    """
    systems = list(systems)
    if len(states_or_keys) != len(systems) or not systems:
        raise ValueError("simulate_batch needs one initial state per system (at least one)")
    per_point = len(monitors) == len(systems) and all(
        isinstance(m, (list, tuple)) for m in monitors)
    monitor_sets = [tuple(m) for m in monitors] if per_point else [tuple(monitors)] * len(
        systems)
    setup = _Setup.make(solver, dt, rtol, atol, adaptive, t0, t1, save_times, n_save)
    states = [_initial_state(s, k) for s, k in zip(systems, states_or_keys)]
    problems = list(zip(systems, states, monitor_sets))
    for system, _, monitor_set in problems[:1]:  # the others share its structure
        _check_monitors(system, monitor_set)
    signature = batch_signature(*problems[0])
    for i, problem in enumerate(problems[1:], 1):
        if batch_signature(*problem) != signature:
            raise ValueError(
                f"problem {i} differs in structure from problem 0 (array shapes, dtypes or "
                "non-array fields); solve it in another batch (see batch_signature)")
    dynamic = [eqx.partition(problem, eqx.is_array)[0] for problem in problems]
    static = eqx.partition(problems[0], eqx.is_array)[1]
    stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *dynamic)
    check_shard(shard)
    if shard == "particles":
        raise ValueError("shard='particles' applies to single solves; batches shard 'sweep'")
    if shard == "sweep":
        if len(systems) % sweep_multiple():
            raise ValueError(f"shard='sweep': {len(systems)} problems do not split evenly "
                             f"over {sweep_multiple()} devices")
        stacked = shard_batch(stacked)
    cast = setup.caster(states[0])
    _CompileTimer.listen()
    compile_before = _CompileTimer.total
    start = time.perf_counter()
    sol = _solve_batch(stacked, static, cast(setup.ts), setup.own_times(monitor_sets[0], cast),
                       cast(t0), cast(t1), cast(setup.dt0), setup.solver,
                       setup.controller_for(states[0]), int(max_steps), cast(divergence))
    jax.block_until_ready(sol.ys)
    wall = time.perf_counter() - start
    compile_time = _CompileTimer.total - compile_before
    return [
        _trajectory(jax.tree.map(lambda x: x[i], sol), monitor_sets[i], wall_time=wall,
                    compile_time=compile_time, batch_size=len(problems))
        for i in range(len(problems))
    ]


def batch_signature(system, state, monitors=()) -> tuple:
    """A hashable summary of a problem's structure: problems with equal
    signatures can share one :func:`simulate_batch` call."""
    dynamic, static = eqx.partition((system, state, tuple(monitors)), eqx.is_array)
    leaves, treedef = jax.tree.flatten(dynamic)
    shapes = tuple((x.shape, str(x.dtype)) for x in leaves)
    static_leaves, static_def = jax.tree.flatten(static)
    return (treedef, shapes, static_def, tuple(_hashable(x) for x in static_leaves))


def _hashable(x):
    try:
        hash(x)
        return x
    except TypeError:
        return repr(x)


def _check_monitors(system, monitors) -> None:
    for monitor in monitors:
        reason = monitor.unsupported(system)
        if reason is not None:
            raise ValueError(f"{type(monitor).__name__} cannot monitor this system: {reason}")


def _initial_state(system, state_or_key):
    if isinstance(state_or_key, int) and not isinstance(state_or_key, bool):
        state_or_key = jax.random.key(state_or_key)
    return system.init(state_or_key) if _is_key(state_or_key) else state_or_key


class _Setup(eqx.Module):
    """The solver, controller, first step and save times of a solve."""

    solver: diffrax.AbstractSolver
    controller: diffrax.AbstractStepSizeController
    dt0: float | None
    ts: np.ndarray
    t0: float
    t1: float

    @classmethod
    def make(cls, solver, dt, rtol, atol, adaptive, t0, t1, save_times, n_save):
        diffrax_solver, controller, dt0 = make_solver(
            solver, dt=dt, rtol=rtol, atol=atol, adaptive=adaptive
        )
        setup = cls(diffrax_solver, controller, dt0, np.zeros(0), t0, t1)
        ts = setup.checked(make_save_times(t1, n_save, t0=t0) if save_times is None
                           else save_times, "save_times")
        return cls(diffrax_solver, controller, dt0, ts, t0, t1)

    def checked(self, ts, what: str) -> np.ndarray:
        """``ts`` snapped to the step grid of a fixed-step solve, and validated."""
        ts = np.asarray(ts, dtype=float)
        if isinstance(self.controller, diffrax.ConstantStepSize):
            ts = snap_to_steps(ts, self.t0, self.dt0)
        if (ts.ndim != 1 or ts.size == 0 or ts[0] < self.t0 or ts[-1] > self.t1
                or np.any(np.diff(ts) < 0)):
            raise ValueError(
                f"{what} must be non-decreasing within [t0, t1] = [{self.t0}, {self.t1}]")
        return ts

    def own_times(self, monitors, cast) -> tuple:
        """The save times of the monitors that have their own, in order."""
        return tuple(cast(self.checked(m.save_times(), f"{type(m).__name__} save times"))
                     for m in monitors if m.save_times() is not None)

    def controller_for(self, y0):
        """The step-size controller, with its minimum step for the run's dtype."""
        return with_dtmin(self.controller, self.t0, self.t1, _run_dtype(y0))

    @staticmethod
    def caster(y0):
        """Casts times to the run's dtype: the dtype of the initial state."""
        dtype = _run_dtype(y0)
        return lambda x: None if x is None else jnp.asarray(x, dtype)


def _run_dtype(y0):
    leaves = [x for x in jax.tree.leaves(y0) if eqx.is_inexact_array(x)]
    return leaves[0].dtype if leaves else jnp.result_type(float)


# the statuses of a failed solve, by diffrax result (event_occurred is our guard's:
# non-finite or diverged state, told apart by the final state)
STATUS_NON_FINITE = "non-finite state (NaN or Inf)"
STATUS_DIVERGED = "diverged (|state| above divergence x its initial scale)"
STATUS_DT_MIN = "step-size collapse (the adaptive step fell below its minimum)"


def _status(result, final) -> str:
    if result == diffrax.RESULTS.successful:
        return "success"
    if result == diffrax.RESULTS.event_occurred:
        finite = all(bool(jnp.all(jnp.isfinite(x))) for x in jax.tree.leaves(final)
                     if eqx.is_inexact_array(x))
        return STATUS_DIVERGED if finite else STATUS_NON_FINITE
    if result == diffrax.RESULTS.dt_min_reached:
        return STATUS_DT_MIN
    return diffrax.RESULTS[result]


def _trajectory(sol, monitors, **timing) -> Trajectory:
    values, final, *own = sol.ys
    descriptions, dims, coords, value_ts = {}, {}, {}, {}
    for monitor in monitors:
        descriptions.update(monitor.descriptions())
        dims.update(monitor.dims())
        coords.update({k: tuple(np.asarray(v).tolist()) for k, v in monitor.coords().items()})
    values = dict(values)
    for ts, ys in zip(sol.ts[2:], own):
        for name, value in ys.items():
            values[name], value_ts[name] = value, ts
    stats = {k: int(v) for k, v in sol.stats.items() if k != "max_steps"}
    stats.update(timing)
    return Trajectory(
        ts=sol.ts[0],
        values=values,
        final_state=jax.tree.map(lambda x: x[0], final),
        t_final=sol.ts[1][0],
        status=_status(sol.result, final),
        descriptions=descriptions,
        stats=stats,
        dims=dims,
        coords=coords,
        value_ts=value_ts,
    )
