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
import optax

from .._monitors.base import AbstractMonitor
from .._monitors.movement import TrainOutputs
from .._solve.core import SolveSettings
from .._solve.langevin import Langevin, SGDNoise
from .._solve.optimizers import Minibatch, Online, OptaxSolver
from .._solve.save_times import save_times
from .._solve.solvers import OPTIMIZERS, SOLVERS
from .._system import AbstractRegressionSystem, AbstractSystem
from .._systems.losses import LogisticLoss
from .._tasks.dataset import Dataset
from . import registry, twins
from .entry import BuildContext, TaskContext
from .schema import Scenario

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


def build_optimizer(s, data: Dataset) -> OptaxSolver:
    """An optimizer's table (``[solver]`` with name sgd or adam) as its object:
    batches (mini-batches, or online samples of the task's sampler) and the
    schedule over the run's ``t1 / dt`` steps."""
    batches = None
    if s.online:
        batches = Online(data.sampler, s.batch_size or 1)
    elif s.batch_size is not None:
        batches = Minibatch(s.batch_size, bool(s.replacement))
    steps = round(s.t1 / s.dt)
    schedule = {"constant": None, "cosine": optax.cosine_decay_schedule(1.0, steps),
                "linear": optax.linear_schedule(1.0, 0.0, steps)}[s.schedule]
    spec = SOLVERS[s.name]
    options = {key: getattr(s, key) for key in spec.options if getattr(s, key) is not None}
    return spec.solver(batches=batches, schedule=schedule, **options)


def build_noise(s, system: AbstractSystem) -> Langevin | None:
    """Langevin noise, weight decay and SGD noise from ``[solver]``; a
    per-particle temperature divides by the network's width (its twins take
    the same); the SGD noise's learning rate becomes a flow-time step."""
    if s.temperature is None and s.weight_decay is None and s.sgd_noise_learning_rate is None:
        return None
    particles = system.width if s.per_particle else 1
    sgd = None
    if s.sgd_noise_learning_rate is not None:  # flow time per SGD step: eta / tau
        sgd = SGDNoise(s.sgd_noise_learning_rate / float(system.time_scale()),
                       s.sgd_noise_batch_size)
    return Langevin(s.temperature or 0.0, s.weight_decay or 0.0, particles, sgd=sgd)


def build_settings(scenario: Scenario, data: Dataset, system: AbstractSystem) -> SolveSettings:
    """The solver name becomes diffrax objects here, once."""
    s, sv = scenario.solver, scenario.save
    # gradient descent takes all its steps: max_steps is at least their number
    max_steps = max(s.max_steps, round(s.t1 / s.dt) + 1) if s.fixed else s.max_steps
    return SolveSettings.of(
        build_optimizer(s, data) if s.name in OPTIMIZERS else s.name, t1=s.t1, dt=s.dt,
        rtol=s.rtol, atol=s.atol, adaptive=s.adaptive,
        max_steps=max_steps, divergence=s.divergence, shard=s.shard,
        noise=build_noise(s, system),
        save_times=save_times(s.t1, sv.n, spacing=sv.spacing, t_first=sv.t_first))


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
        twin, twin_state0 = t.build(system, state0, data, settings)
        built_twins[t.prefix] = BuiltTwin(
            twin, twin_state0, t.settings(settings, scenario),
            tuple(m for m in shared if not m.missing(type(twin))))
    # the batches of a stochastic optimizer, the Brownian motion of Langevin
    # dynamics: their own stream of the seed
    noise_key = jax.random.fold_in(jax.random.key(scenario.seed), 1)
    return Built(data, system, state0, monitors, settings, built_twins, noise_key)
