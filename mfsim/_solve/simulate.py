"""simulate() and simulate_batch(): a system, its initial state and monitors in,
a :class:`Trajectory` out; one compiled diffrax solve (or one ``vmap``'ed solve
of a batch). They never touch the disk: a checkpointed solve writes through
the store it is given (:class:`.segments.AbstractCheckpointStore`)."""

from __future__ import annotations

import time
from collections.abc import Sequence

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array

from .._monitors.base import AbstractMonitor
from .._system import AbstractSystem, requirement_message
from . import core
from .core import CompileClock, Trajectory, trajectory
from .save_times import save_times as make_save_times
from .segments import AbstractCheckpointStore, solve_segmented
from .settings import SolveSettings
from .start import Start
from .stopping import StopWhen


def _is_key(x) -> bool:
    if not isinstance(x, jax.Array):
        return False
    if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
        return True
    return x.dtype == jnp.uint32 and x.shape == (2,)


def simulate(
    system: AbstractSystem,
    state_or_key,
    settings: SolveSettings,
    monitors: Sequence[AbstractMonitor] = (),
    *,
    save_times: Sequence[float] | Array | None = None,
    n_save: int | None = None,
    checkpoint_every: int = 0,
    checkpoint: AbstractCheckpointStore | None = None,
    checkpoint_tag: str = "",
    stop: StopWhen | None = None,
) -> Trajectory:
    """Integrate ``system`` from ``t0`` to ``t1`` in one compiled diffrax solve.

    **Arguments:**

    - ``system``: an :class:`AbstractSystem`.
    - ``state_or_key``: an initial state, or a PRNG key (or an integer seed)
      passed to ``system.init``, or a :class:`mfsim.Start` (a state and the
      key of the run's later randomness: batches, Langevin noise). From a
      key or seed the noise key is ``jax.random.fold_in(key, 1)``; a
      stochastic run from a bare state is refused.
    - ``settings``: a :class:`SolveSettings`: the diffrax solver and
      step-size controller, the interval, the save times, the step budget,
      the divergence guard, the device layout and the noise. Build it with
      :meth:`SolveSettings.of` (``SolveSettings.of(diffrax.Tsit5(), t1=10.0)``,
      ``SolveSettings.of(diffrax.Euler(), t1=10.0, dt=0.1)`` for gradient
      descent); the same object serves :func:`simulate_batch`.
    - ``monitors``: :class:`AbstractMonitor` instances.
    - ``save_times``, ``n_save``: where monitors are evaluated, replacing the
      settings' own (``n_save`` evenly spaced times; see
      :func:`mfsim.save_times` for log spacing). For fixed-step solves they
      are rounded to the step grid so that saved values are exact iterates.
    - ``checkpoint_every``: solve in segments of this many save points (0:
      one solve), handing the state and the values so far to the store
      ``checkpoint`` after each segment (e.g. ``mfsim.CheckpointFile(path)``;
      ``None``: kept in memory only); a later call with the same problem and
      the same store resumes after the last segment saved and returns
      bitwise the same trajectory as an uninterrupted call (see
      :mod:`mfsim._solve.segments`; ``checkpoint_tag`` is mixed into the
      problem's digest).
    - ``stop``: a :class:`mfsim.StopWhen` ending the solve once a variable
      one of ``monitors`` records crosses a level (:mod:`mfsim._solve.stopping`:
      the crossing time of a flow, the first step of a fixed-step solve);
      the trajectory's status is then ``"stopped"`` and ``t_stop`` its time.
    **Returns:** a :class:`Trajectory`. A failed solve (max steps, non-finite
    or diverged state, step-size collapse) does not raise: its status says
    why, ``t_final`` when, and the values saved before the failure are kept.

    The run's dtype is the dtype of the initial state (a system initialized
    from float32 data gives a float32 run); times are cast to it. float64
    needs JAX's 64-bit mode, which importing mfsim does not switch on.
    """
    settings = _settings(settings, save_times, n_save)
    y0, noise_key = _start(system, state_or_key, settings)
    settings.check_precision(y0)
    progress = settings.progress
    system, y0 = settings.shard.place(system, y0)
    cast = settings.caster(y0)
    compiling = CompileClock()
    start = time.perf_counter()
    _check_monitors(system, monitors)
    monitors = tuple(m.specialize(system, y0) for m in monitors)
    rule = None if stop is None else stop.rule(monitors)
    if checkpoint_every:
        return solve_segmented(system, y0, settings, cast, monitors, progress=progress,
                               store=checkpoint, every=int(checkpoint_every), tag=checkpoint_tag,
                               noise_key=noise_key, stop=rule)
    if callable(progress):
        progress(float(settings.t0), float(settings.t1))
    sol = core.solve(settings.problem(system, y0, monitors, noise_key=noise_key,
                                      progress=progress is True, stop=rule))
    jax.block_until_ready(sol.ys)
    if callable(progress):
        progress(float(sol.ts[1][0]), float(settings.t1))
    wall = time.perf_counter() - start
    return trajectory(sol, monitors, wall_time=wall,
                      compile_time=compiling.seconds)


def _settings(settings: SolveSettings, save_times, n_save) -> SolveSettings:
    """``settings``, saving at ``save_times`` or ``n_save`` even times if given."""
    if not isinstance(settings, SolveSettings):
        raise TypeError("settings must be a SolveSettings (mfsim.SolveSettings.of(diffrax."
                        f"Tsit5(), t1=...)); got {type(settings).__name__}")
    if save_times is not None and n_save is not None:
        raise TypeError("give save_times or n_save, not both")
    if n_save is not None:
        save_times = make_save_times(settings.t1, n_save, t0=settings.t0)
    return settings if save_times is None else settings.with_save_times(save_times)


def simulate_batch(
    systems: Sequence[AbstractSystem],
    states_or_keys: Sequence,
    settings: SolveSettings,
    monitors: Sequence = (),
    *,
    save_times: Sequence[float] | Array | None = None,
    n_save: int | None = None,
    stack: bool = True,
) -> list[Trajectory]:
    """Solve several problems of the same structure in one compiled solve.

    ``systems[i]`` starts from ``states_or_keys[i]`` (a state, key or seed as in
    :func:`simulate`); the solve is described by ``settings`` (and
    ``save_times`` or ``n_save``) as in :func:`simulate`. ``monitors`` is one sequence of monitors
    shared by all problems, or one sequence per problem. All problems must
    have the same structure: equal array shapes and dtypes and equal
    non-array fields (a seed or an output scale stored as an array may
    differ; a width may not): :func:`batch_signature` tells which problems
    can share a batch. Each problem keeps its own adaptive step sizes and its
    own failure status; the solver and the save times are shared.

    How: a fixed-step batch (an explicit solver, no noise, no mini-batches)
    is solved as one solve of the stacked state, each step evaluating every
    problem's vector field in one vmapped call; its values equal the
    problems' own solves (same steps, same operations). If any problem fails
    (non-finite, diverged, out of steps), or with ``stack=False``, and for
    every other batch, the problems are solved under ``vmap``: each keeps its
    own step sizes and its own status (the loop runs until the slowest
    finishes, the finished ones masked).

    ``shard=mfsim.ShardSweep()`` in the settings splits the problems over
    every JAX device (their number must divide the batch);
    :class:`mfsim.ShardParticles` is not available for batches.

    Returns one :class:`Trajectory` per problem (their ``stats`` give the
    batch's wall and compile time, and each problem's own step counts).
    """
    systems = list(systems)
    if len(states_or_keys) != len(systems) or not systems:
        raise ValueError("simulate_batch needs one initial state per system (at least one)")
    settings = _settings(settings, save_times, n_save)
    per_point = len(monitors) == len(systems) and all(
        isinstance(m, (list, tuple)) for m in monitors)
    monitor_sets = [tuple(m) for m in monitors] if per_point else [tuple(monitors)] * len(
        systems)
    states, noise = zip(*(_start(s, k, settings) for s, k in zip(systems, states_or_keys)))
    settings.check_precision(states[0])  # one dtype for the batch (the signatures agree)
    _check_monitors(systems[0], monitor_sets[0])  # the others share its structure
    monitor_sets = [tuple(m.specialize(system, state) for m in monitor_set)
                    for system, state, monitor_set in zip(systems, states, monitor_sets)]
    problems = list(zip(systems, states, monitor_sets, noise))
    signature = batch_signature(*problems[0][:3])
    for i, problem in enumerate(problems[1:], 1):
        if batch_signature(*problem[:3]) != signature:
            raise ValueError(
                f"problem {i} differs in structure from problem 0 (array shapes, dtypes or "
                "non-array fields); solve it in another batch (see batch_signature)")
    dynamic = [eqx.partition(problem, eqx.is_array)[0] for problem in problems]
    static = eqx.partition(problems[0], eqx.is_array)[1]
    stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *dynamic)
    stacked = settings.shard.place_batch(stacked, len(systems))
    # the members' times, solver and guards (each member brings its own problem)
    shared = settings.problem(systems[0], states[0], monitor_sets[0]).member(None, None, (), None)
    compiling = CompileClock()
    start = time.perf_counter()
    stacks = stack and core.stackable(settings.solver, settings.controller, settings.noise,
                                      settings.shard)
    if stacks:
        sol = core.solve_stacked(shared, stacked, static)
        jax.block_until_ready(sol.ys)
        stacks = sol.result == diffrax.RESULTS.successful  # else: each its own status
    if not stacks:
        sol = core.solve_batch(shared, stacked, static)
        jax.block_until_ready(sol.ys)
    wall = time.perf_counter() - start
    compile_time = compiling.seconds
    # split on the host (one transfer; slicing device arrays leaf by leaf and
    # problem by problem costs more than a tiny batch's solve), put back at once
    host = jax.device_get(core.SolvedPart(sol.ts, sol.ys, sol.stats, sol.result))
    return jax.device_put([
        trajectory(core.member_solution(host, i, stacks), monitor_sets[i], wall_time=wall,
                   compile_time=compile_time, batch_size=len(problems),
                   batch_stacked=int(stacks))
        for i in range(len(problems))
    ])


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
        missing = monitor.missing(type(system))
        if missing:
            raise ValueError(f"{type(monitor).__name__} cannot monitor {type(system).__name__}: "
                             + requirement_message(type(system), missing))


def _as_key(x):
    if isinstance(x, int) and not isinstance(x, bool):
        return jax.random.key(x)
    return x if _is_key(x) else None


def _start(system, state_or_key, settings: SolveSettings):
    """The run's initial state and noise key (``None`` where nothing random
    happens after the start)."""
    if isinstance(state_or_key, Start):
        key = _as_key(state_or_key.noise_key)
        if key is None:
            raise TypeError("Start.noise_key must be a JAX key or an integer seed")
        return state_or_key.state, key if settings.stochastic else None
    key = _as_key(state_or_key)
    if key is None:  # a state
        if settings.stochastic:
            raise ValueError("a stochastic run (mini-batches, online samples or Langevin noise) "
                             "started from a state needs its noise key: mfsim.Start(state, "
                             "noise_key)")
        return state_or_key, None
    return system.init(key), jax.random.fold_in(key, 1) if settings.stochastic else None
