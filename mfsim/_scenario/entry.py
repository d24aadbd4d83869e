"""Scenario entries: what turns one named table of a scenario file into
objects of the numerical core.

Each system, task and monitor has one entry, in one small file under
``systems/``, ``tasks/`` or ``monitors/``: its config table (a pydantic
model whose ``kind``/``name`` literal is the entry's name), how it is built,
and its terms of the pre-flight memory estimate. :mod:`.registry` maps names
to entries; the schema's unions, the compatibility checks, ``build``, the
memory estimate, ``mfsim list`` and the reference page all loop over it.

Which monitors, twins and tasks fit a system is not written down anywhere:
it follows from the capability types (:mod:`mfsim._system`) of the class a
system entry builds and the types a monitor, twin or task requires.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic_core import PydanticCustomError

from .._monitors.base import AbstractMonitor
from .._system import AbstractSystem
from .._tasks.dataset import Dataset
from .table import Table


def _tag(config: type[Table], key: str) -> str:
    return typing.get_args(config.model_fields[key].annotation)[0]


@dataclass(frozen=True)
class MemoryTerm:
    """One term of the memory estimate: ``bytes`` of ``what``, driven by the
    scenario key ``key`` (named when the estimate refuses a run)."""

    key: str
    what: str
    bytes: float


@dataclass(frozen=True)
class DataSizes:
    """A task's sizes: training and test points, input and output dimension,
    the coordinates of a sequence task, and a teacher's neurons."""

    n_train: int = 0
    n_test: int = 0
    d: int = 0
    d_out: int = 1
    coordinates: int = 0
    shape: tuple[int, ...] = ()  # an example's input shape, where not (d,)
    teacher_width: int = 0  # the teacher's neurons (a particle target), if any
    target_shape: tuple[int, ...] = ()  # an example's target shape (vector targets)


@dataclass(frozen=True)
class SystemMemory:
    """What a system entry may say about its memory beyond its state (whose
    shapes come from ``jax.eval_shape`` on the system's ``init``):
    ``field``, elements of the vector field's intermediates beyond the
    gradient and its cotangent (two state-sized arrays the estimate adds;
    without ``field``, XLA's account of the compiled vector field stands for
    all of them); ``key``, the scenario key that drives the state (named when
    a run is refused); ``gram(k, params)``, elements of the working arrays
    of a ``k x k`` NTK Gram matrix (default: per-input gradients,
    ``k * params``); ``field_key``, the keys that drive the
    intermediates (default ``key``; a network's grow with the width times the
    number of training points, and a refusal names both)."""

    field: int | None = None
    key: str = "system"
    gram: Callable[[int, int], int] | None = None
    field_key: str | None = None


@dataclass(frozen=True)
class SystemSizes:
    """A system's sizes for the memory estimate: ``params``, elements of the
    state, and ``particles`` (rows of ``system.particles(state)``; 1 for
    other systems), both from ``jax.eval_shape``; ``field``, elements of the
    vector field's intermediates; and the entry's :class:`SystemMemory`
    keys."""

    params: int
    field: int
    key: str
    particles: int = 1
    gram: Callable[[int, int], int] | None = None
    field_key: str | None = None

    def gram_work(self, k: int) -> int:
        return self.gram(k, self.params) if self.gram is not None else k * self.params


@dataclass(frozen=True)
class MemoryContext:
    """What a memory term may use: bytes per element, the data's and the
    system's sizes, the save times, the points built and solved at once, the
    copies of the state the solver holds, and the device platform."""

    bytes_per_element: int
    data: DataSizes
    system: SystemSizes
    t_save: int
    points: int
    batch: int
    copies: int
    platform: str = "cpu"


@dataclass(frozen=True)
class MonitorMemory:
    """A monitor's memory: ``saved`` elements per save time (its recorded
    values, beyond a scalar), and working ``terms``."""

    saved: int = 0
    terms: tuple[MemoryTerm, ...] = ()


def initial_state_memory(cfg, m: MemoryContext, key: str) -> MonitorMemory:
    """The memory of a monitor that keeps a copy of the initial state."""
    return MonitorMemory(terms=(MemoryTerm(key, f"monitor {cfg.name}'s initial state",
                                           m.bytes_per_element * m.system.params * m.batch),))


@dataclass(frozen=True)
class TaskContext:
    """What a task may need to build its data: the initialization key and a
    way to build the scenario's system on some data (the NTK eigenfunction
    task labels the data with the network's own kernel at init)."""

    init_key: Any
    system_on: Callable[[Any], AbstractSystem]


@dataclass(frozen=True)
class BuildContext:
    """What a monitor entry may use: the scenario, its data, system and initial state."""

    scenario: Any
    data: Any
    system: AbstractSystem
    state0: Any


Check = Callable[[Any, Any, str], "PydanticCustomError | None"]


def _no_check(cfg, scenario, where) -> None:
    return None


@dataclass(frozen=True)
class SystemEntry:
    """A ``[system]`` table.

    - ``config``: its table (``kind: Literal["<name>"]``).
    - ``system``: the class it builds; its capability types decide which
      tasks, monitors and twins fit.
    - ``build(cfg, data)``: the system on a task's data. Its state's shapes
      and its time scale $\tau$ (``system.time_scale()``; the scenario turns
      ``solver.learning_rate`` into ``dt = learning_rate / tau`` before
      anything is built) are read from it on data shapes
      (:func:`jax.eval_shape`), so ``build`` must not read the data's values.
    - ``memory(cfg, data_sizes, platform)``: its :class:`SystemMemory`
      (optional: the vector field's intermediates, the keys a memory refusal
      names).
    - ``data``: the type of data it trains on (:class:`mfsim.Dataset`, or
      :class:`mfsim.SequenceData` for sequence models).
    - ``default_monitors``: recorded when a scenario lists none.
    - ``lacks(cfg)``: capability types its class declares that the system
      as configured does not have, each with the reason (the ``mup`` MLP has
      no infinite-width kernel); monitors and twins that need one are refused.
    """

    config: type[Table]
    system: type[AbstractSystem]
    build: Callable[[Any, Any], AbstractSystem]
    memory: Callable[[Any, DataSizes, str], SystemMemory] | None = None
    data: type = Dataset
    default_monitors: tuple[str, ...] = ("train_loss", "test_loss")
    lacks: Callable[[Any], dict[type, str]] = lambda cfg: {}  # noqa: E731

    @property
    def name(self) -> str:
        return _tag(self.config, "kind")


def _dataset_terms(cfg, m: MemoryContext) -> list[MemoryTerm]:
    s = m.data
    elements = (s.n_train + s.n_test) * (s.d + s.d_out)
    return [MemoryTerm("task.n_train", "the data", m.bytes_per_element * elements * m.points)]


@dataclass(frozen=True)
class TaskEntry:
    """A ``[task]`` table.

    - ``config``: its table (``kind: Literal["<name>"]``).
    - ``build(cfg, key, dtype, ctx)``: the data, drawn with ``key``.
    - ``sizes(cfg)``: its :class:`DataSizes`.
    - ``data``: the type of data it makes; ``vector_targets``: whether its
      targets are vectors (then systems with scalar outputs do not fit).
    - ``requires(cfg)``: capability types the system must have (beyond
      training on this data), e.g. an NTK to label the data with.
    - ``memory(cfg, m)``: its memory terms (default: the data arrays).
    - ``check(cfg, scenario, where)``: further checks against the scenario.
    - ``samples``: its data carry a sampler of fresh draws
      (:class:`mfsim.AbstractSampler`, ``Dataset.sampler``): online SGD.
    """

    config: type[Table]
    build: Callable[..., Any]
    sizes: Callable[[Any], DataSizes]
    data: type = Dataset
    vector_targets: bool = False
    samples: bool = False
    requires: Callable[[Any], tuple[type, ...]] = field(default=lambda cfg: ())
    memory: Callable[[Any, MemoryContext], list[MemoryTerm]] = _dataset_terms
    check: Check = _no_check

    @property
    def name(self) -> str:
        return _tag(self.config, "kind")


@dataclass(frozen=True)
class MonitorEntry:
    """A ``[[monitors]]`` table.

    - ``config``: its table (``name: Literal["<name>"]``).
    - ``monitor``: the monitor class; its ``requires`` decide which systems
      it fits, unless the entry's own ``requires`` is given (a builder that
      needs more than the monitor does).
    - ``build(cfg, ctx)``: the monitor (:class:`BuildContext`).
    - ``memory(cfg, m, key)``: its :class:`MonitorMemory` (``key`` is the
      table's place, ``monitors[i]``).
    - ``check(cfg, scenario, where)``: option checks against the scenario
      (an error with its ``key``, or None).
    - ``needs(cfg)``: option key -> the capability types a system needs for
      the option as set (``kernels`` with ``"analytic"``: an infinite-width
      system); checked with the monitor's own ``requires``.
    - ``task_needs(cfg)``: option key (``"name"``: the monitor itself) ->
      the task capability types (:mod:`.tasks.capabilities`) the task's
      table must have for the option as set; a refusal names the tasks that
      have them.
    - ``twin``: kernel twins record it too (function-space monitors).
    """

    config: type[Table]
    monitor: type[AbstractMonitor]
    build: Callable[[Any, BuildContext], AbstractMonitor]
    memory: Callable[[Any, MemoryContext, str], MonitorMemory] = (
        lambda cfg, m, key: MonitorMemory())
    check: Check = _no_check
    needs: Callable[[Any], dict[str, tuple[type, ...]]] = lambda cfg: {}  # noqa: E731
    task_needs: Callable[[Any], dict[str, tuple[type, ...]]] = lambda cfg: {}  # noqa: E731
    twin: bool = False
    requires: tuple[type, ...] | None = None

    @property
    def name(self) -> str:
        return _tag(self.config, "name")

    def fits(self, system_type: type) -> bool:
        if self.requires is None:
            return self.monitor.supports(system_type)
        return all(issubclass(system_type, t) for t in self.requires)


@dataclass(frozen=True)
class SolverContext:
    """What a solver entry builds its settings from: the data, the system
    (its time scale, its task's sampler), the save times and the noise of
    the ``[noise]`` table (:class:`mfsim.Langevin`, or None)."""

    data: Any
    system: AbstractSystem
    save_times: Any
    noise: Any = None


@dataclass(frozen=True)
class SolverEntry:
    """A ``[solver]`` table, selected by ``solver.name``.

    - ``config``: its table (a :class:`mfsim.SolverTable`, whose ``name``
      literal lists the solver names it serves).
    - ``settings(cfg, ctx)``: the :class:`mfsim.SolveSettings` of the solve
      (solver and controller objects; :class:`SolverContext`).
    - ``descriptions``: each name's one line (``mfsim list solvers``).
    - ``copies``: each name's state-sized working arrays beyond the initial
      and the final state (current and next state, stages, error estimate,
      an optimizer's moments): the memory estimate's multiplier, measured as
      XLA's temporaries (and extra outputs) of the compiled solve of a system
      whose vector field fuses away. ``tests/test_extending.py`` checks it
      for tsit5, dopri5, dopri8, heun, bosh3, euler, sgd (with momentum;
      without, it holds one copy fewer) and adam; kvaerno5, sra1 and shark
      (implicit, and stochastic with Lévy areas) are not checked there.
    - ``implicit``: its stages solve linear systems (a Jacobian in memory).
    - ``noise``: ``"optional"`` (the flow's solvers: with ``[noise]`` an
      SDE), ``"state"`` (SGD noise, which depends on the state, too: Euler-
      Maruyama), ``"required"`` (solvers of noisy dynamics only) or
      ``"none"``.
    - ``check(cfg, scenario, registry)``: checks against the rest of the
      scenario (``registry``: :mod:`mfsim._scenario.registry`, whose entries
      a refusal names).
    """

    config: type[Table]
    settings: Callable[[Any, SolverContext], Any]
    descriptions: dict[str, str]
    copies: dict[str, int]
    implicit: bool = False
    noise: str = "optional"
    check: Callable[[Any, Any, Any], PydanticCustomError | None] = _no_check

    @property
    def names(self) -> tuple[str, ...]:
        return typing.get_args(self.config.model_fields["name"].annotation)

    @property
    def name(self) -> str:
        return self.names[0]


def error(kind: str, message: str, key: str, **ctx) -> PydanticCustomError:
    """A validation error naming ``key`` (a dotted path below the table checked)."""
    return PydanticCustomError(kind, message, {**ctx, "key": key})
