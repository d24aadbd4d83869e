"""From a validated Scenario to the objects the numerical core takes.

Seeds: the scenario's ``seed`` gives ``key = jax.random.key(seed)``, split
into ``(task_key, init_key)`` (and ``fold_in(key, 1)``, the noise key of a
stochastic optimizer's batches and of Langevin noise): the data and the initialization are drawn
from independent streams, so changing the width does not change the data.
``task.seed = s`` draws the data from ``jax.random.key(s)`` instead (the
data of a run with ``seed = s``), so that a sweep over ``seed`` varies the
initialization alone. Twins start from the network's initial state.

Every name is looked up in the registry (:mod:`.registry`); nothing here
knows a particular system, task or monitor.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import equinox as eqx
import jax
import jax.numpy as jnp

from .._monitors.base import AbstractMonitor, MonitorContext
from .._monitors.movement import TrainOutputs
from .._solve.save_times import save_times
from .._solve.settings import SolveSettings
from .._solve.stopping import StopWhen
from .._system import AbstractRegressionSystem, AbstractSystem
from .._systems.losses import LogisticLoss
from .._tasks.dataset import Dataset
from . import registry, twins
from .crossover import CrossoverConfig
from .entry import BuildContext, SolverContext, TaskContext
from .schema import Scenario
from .solvers.noise import build_noise

DTYPES = {"float32": jnp.float32, "float64": jnp.float64}


@dataclass(frozen=True)
class Built:
    """Everything needed to call :func:`mfsim.simulate` for a scenario.

    ``twins`` maps a variable prefix (:data:`.twins.TWIN_LABELS`) to its
    :class:`BuiltTwin`, built from ``state0``, the network's initial state;
    twins record the function-space monitors of the scenario (entries with
    ``twin=True``) that fit them, and with twins every run also records its
    training outputs (where the twin has some). ``settings``: how the solve
    runs (solver and controller objects, times, guards, device layout).
    """

    data: Dataset
    system: AbstractSystem
    state0: object
    monitors: tuple[AbstractMonitor, ...]
    settings: SolveSettings
    twins: dict[str, BuiltTwin]
    noise_key: object = None
    stop: StopWhen | None = None


@dataclass(frozen=True)
class BuiltTwin:
    """A twin's system, initial state, solve settings (the network's, or
    the twin's own: the order-parameter ODE is integrated adaptively) and
    monitors."""

    system: AbstractSystem
    state0: object
    settings: SolveSettings
    monitors: tuple[AbstractMonitor, ...]


def build_system(cfg, data) -> AbstractSystem:
    return registry.SYSTEMS[cfg.kind].build(cfg, data)


def build_settings(scenario: Scenario, data: Dataset, system: AbstractSystem) -> SolveSettings:
    """The solver's entry builds the settings (diffrax objects), once."""
    sv = scenario.save
    ts = save_times(scenario.solver.t1, sv.n, spacing=sv.spacing, t_first=sv.t_first)
    ctx = SolverContext(data, system, ts, build_noise(scenario.noise, system))
    return registry.SOLVERS[scenario.solver.name].settings(scenario.solver, ctx)


def non_finite(built: Built, dtype: str) -> str | None:
    """What of a built run is not finite (inf or NaN) in its dtype, with the
    table to blame: data drawn from values too large for float32 (1e39
    overflows) would stop the solve at its first step."""
    parts = (("task", "the data", built.data), ("system", "the initial state", built.state0))
    for table, what, tree in parts:
        for path, x in jax.tree_util.tree_flatten_with_path(tree)[0]:
            if eqx.is_inexact_array(x) and not bool(jnp.all(jnp.isfinite(x))):
                name = jax.tree_util.keystr(path).lstrip(".")
                return (f"{table}: {what} ({name}) are not finite in {dtype} (inf or NaN: a value "
                        "too large for the dtype?); use smaller values"
                        + ("" if dtype == "float64" else ' or dtype = "float64"'))
    return None


def label_problem(built: Built) -> str | None:
    """What of the data does not fit the system's loss: the logistic loss
    needs labels -1 or +1 (train and test)."""
    system = built.system
    if not isinstance(system, AbstractRegressionSystem) or not isinstance(
            system.loss_function(), LogisticLoss):
        return None
    for what, y in (("training", built.data.y_train), ("test", built.data.y_test)):
        if not bool(jnp.all(jnp.abs(y) == 1)):
            return (f"system.loss: logistic needs labels -1 or +1, and the task's {what} targets "
                    "are not (use loss = \"squared\", or a task with +-1 labels)")
    return None


def stop_problem(built: Built) -> str | None:
    """Why the stopping rule cannot run: no monitor records its variable, or
    it is not a scalar (None: it can)."""
    stop = built.stop
    if stop is None:
        return None
    try:
        rule = stop.rule(built.monitors)
    except ValueError as e:
        return f"solver.stop.{stop.variable}: {str(e).removeprefix('StopWhen: ')}"
    shape = _recorded_shape(built, rule.monitor, stop.variable)
    if shape != ():
        return (f"solver.stop.{stop.variable}: a stopping rule needs a scalar variable; "
                f"{stop.variable} has shape {shape}")
    return None


def crossover_problem(built: Built, crossover: CrossoverConfig) -> str | None:
    """Why the ``[crossover]`` table cannot be computed: no monitor records
    its variable, or it is not a scalar (None: it can, or there is none)."""
    name = crossover.variable
    if name is None:
        return None
    found = [m for m in built.monitors if name in m.variables()]
    if not found:
        recorded = sorted(v for m in built.monitors for v in m.variables())
        return f"crossover.variable: no monitor records {name!r}; recorded: {', '.join(recorded)}"
    shape = _recorded_shape(built, found[0], name)
    if shape != ():
        return f"crossover.variable: {name} has shape {shape}; a crossover needs a scalar"
    return None


def _recorded_shape(built: Built, monitor, name: str) -> tuple:
    """The shape of ``name`` as ``monitor`` records it (traced, not run)."""
    return jax.eval_shape(lambda s: monitor(0.0, s, MonitorContext(
        built.system, built.state0, monitor.prepare(built.system, built.state0))),
        built.state0)[name].shape


def build(scenario: Scenario) -> Built:
    dtype = DTYPES[scenario.dtype]
    task_key, init_key = jax.random.split(jax.random.key(scenario.seed))
    if scenario.task.seed is not None:  # the data of a run with seed = task.seed
        task_key = jax.random.split(jax.random.key(scenario.task.seed))[0]
    context = TaskContext(init_key, lambda data: build_system(scenario.system, data))
    with warnings.catch_warnings():
        # a value too large for the dtype (task.noise = 1e39 in float32) becomes
        # inf: non_finite() says so in one line, naming the table to change
        warnings.filterwarnings("ignore", "overflow encountered", RuntimeWarning)
        data = registry.TASKS[scenario.task.kind].build(scenario.task, task_key, dtype, context)
        system = build_system(scenario.system, data)
        state0 = system.init(init_key)
    ctx = BuildContext(scenario, data, system, state0)
    entries = [registry.MONITORS[cfg.name] for cfg in scenario.monitors]
    monitors = tuple(e.build(cfg, ctx) for e, cfg in zip(entries, scenario.monitors))
    settings = build_settings(scenario, data, system)
    selected = twins.selected(scenario.compare)
    shared = tuple(m.for_twin() for e, m in zip(entries, monitors) if e.twin)
    if selected:  # the gaps between a network and its twins are of training outputs
        if not any(isinstance(m, TrainOutputs) for m in monitors):
            monitors = monitors + (TrainOutputs(),)
        shared = shared + (TrainOutputs(),)
    built_twins = {}
    for t in selected:
        twin, twin_state0 = t.build(system, state0, data, settings, scenario)
        built_twins[t.prefix] = BuiltTwin(
            twin, twin_state0, t.settings(settings, scenario),
            tuple(m for m in shared if not m.missing(type(twin))) + t.monitors(twin))
    # the batches of a stochastic optimizer, the Brownian motion of Langevin
    # dynamics: their own stream of the seed
    noise_key = jax.random.fold_in(jax.random.key(scenario.seed), 1)
    return Built(data, system, state0, monitors, settings, built_twins, noise_key,
                 scenario.solver.stop_when())
