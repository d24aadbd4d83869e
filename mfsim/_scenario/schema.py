"""The scenario schema: every key, its type, default and allowed values.

A scenario file only overrides these defaults. Every table rejects unknown
keys; numbers must be finite; integers must be TOML integers; floats accept
integers. The ``[task]``, ``[system]`` and ``[[monitors]]`` tables are unions
over the registry's entries (:mod:`.registry`), rebuilt when an entry is
registered; which of them fit together is derived from the capability types
of the systems (:mod:`mfsim._system`), never listed by hand.
"""

from __future__ import annotations

from pathlib import PurePosixPath, PureWindowsPath
from typing import Annotated, Any, Literal, Union

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from .._solve.solvers import whole_steps
from .._system import (
    AbstractRegressionSystem,
    AbstractScalarOutputSystem,
)
from . import registry, twins
from .crossover import CrossoverConfig
from .entry import error
from .shapes import time_scale as system_time_scale
from .solvers.base import FixedStepTable
from .solvers.noise import NoiseConfig, check_noise
from .table import PosFloat, PosInt, Table, shown


def _union(entries):
    configs = tuple(dict.fromkeys(e.config for e in entries))  # a solver entry serves names
    return configs[0] if len(configs) == 1 else Union[configs]  # type: ignore[valid-type]


def _unions() -> tuple:
    return (_union(registry.TASKS.values()), _union(registry.SYSTEMS.values()),
            _union(registry.MONITORS.values()), _union(registry.SOLVERS.values()))


_TASK, _SYSTEM, _MONITOR, _SOLVER = _unions()
TaskConfig = Annotated[_TASK, Field(discriminator="kind")]
SystemConfig = Annotated[_SYSTEM, Field(discriminator="kind")]
MonitorConfig = Annotated[_MONITOR, Field(discriminator="name")]
SolverConfig = Annotated[_SOLVER, Field(discriminator="name")]


# ------------------------------------------------------------- save
class SaveConfig(Table):
    """Where monitors are evaluated."""

    n: Annotated[int, Field(ge=2, le=100_000)] = Field(101, description="number of save times")
    spacing: Literal["linear", "log"] = Field("linear", description="save-time grid")
    t_first: PosFloat | None = Field(None, description="first positive time of a log grid")


class CompareConfig(Table):
    """Kernel twins solved beside the network, from its initial state."""

    linearized: bool = Field(False, description="the linearized network (Taylor at init)")
    quadratic: bool = Field(False, description="the quadratic network (second-order Taylor "
                            "at init, Bai & Lee; nested jvp, no Hessian)")
    theory: bool = Field(
        False, description="the order-parameter ODE of a soft committee machine (Saad-Solla; "
        "Goldt et al.): with online sgd, or the population objective")
    flow: bool = Field(
        False, description="the network under gradient flow (tsit5 at solver.rtol, atol) from "
        "the same initial state, beside an optimizer (sgd, adam) or Langevin run: SGD and the "
        "flow on one time axis")
    kernels: list[Literal["empirical", "analytic"]] = Field(
        default_factory=list,
        description="constant-kernel flows: NTK frozen at init, and/or infinite width",
    )
    central_flow: bool = Field(
        False, description="the central flow of full-batch gradient descent (Cohen, Damian et "
        "al. 2024): gradient flow below the edge of stability, and GD's time average at it; "
        "records the predicted time-averaged loss (Heun at GD's step)")
    central_flow_k: PosInt = Field(
        1, description="top Hessian eigenvalues the central flow holds at the edge 2/eta")

    @model_validator(mode="after")
    def _check(self):
        if len(set(self.kernels)) != len(self.kernels):
            raise PydanticCustomError("duplicate", "lists a kernel twice", {"key": "kernels"})
        return self


class OutputConfig(Table):
    """Where and what to write."""

    dir: str | None = Field(
        None, description="output directory, relative to the working directory and inside "
        "it (default runs/<name>; mfsim run --out may name any directory)")
    figures: list[Literal["png", "svg", "pdf"]] = Field(
        default_factory=lambda: ["png"], description="figure formats drawn after the run")
    checkpoint_every: Annotated[int, Field(ge=0)] = Field(
        10, description="a run without a sweep is solved in segments of this many save "
        "points, its state checkpointed after each (an interrupted run resumes from the "
        "last); 0: one solve, no checkpoint. A sweep saves each point as it completes")

    @model_validator(mode="after")
    def _check(self):
        # a scenario file (perhaps someone else's) may not write outside the
        # working directory: only the command line's --out can
        if self.dir is not None:
            path = PurePosixPath(self.dir.replace("\\", "/"))
            if (not self.dir.strip() or path.is_absolute() or ".." in path.parts
                    or PureWindowsPath(self.dir).drive or "\0" in self.dir):
                raise PydanticCustomError(
                    "output_dir", "must be a relative path without '..' (inside the working "
                    "directory); got {dir}; use mfsim run --out for other places",
                    {"dir": repr(self.dir), "key": "dir"})
        return self


Scalar = Union[bool, int, float, str]
# keys a sweep may not vary: they name the run, not a point of it
UNSWEEPABLE = ("name", "description", "sweep", "output", "crossover")
MAX_SWEEP_POINTS = 100_000


def _flatten(table: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in table.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, path + "."))
        else:
            out[path] = value
    return out


class SweepConfig(Table):
    """Sweep axes: each key is a dotted scenario key (``system.width``,
    ``seed``) with the list of values it takes. ``grid`` axes form a
    Cartesian product; ``zip`` axes vary together (equal lengths) as one more
    axis, named by its first key. Write keys quoted (``"system.width" = [..]``)
    or as dotted TOML keys (``system.width = [..]``)."""

    grid: dict[str, Annotated[list[Scalar], Field(min_length=1)]] = Field(
        default_factory=dict, description="axes of a Cartesian product")
    zip: dict[str, Annotated[list[Scalar], Field(min_length=1)]] = Field(
        default_factory=dict, description="axes that vary together (equal lengths)")
    batch: Union[Literal["auto"], PosInt] = Field(
        "auto", description="points per vmapped solve (auto: on CPU, fixed-step solves of small "
        "states only, where batching was measured faster; on an accelerator, as many as fit in "
        "memory)")
    reference: dict[str, Scalar] = Field(
        default_factory=dict,
        description="dotted keys of a reference run (e.g. a much larger width): each point is "
        "also run with these keys replaced, and records ref_distance, the RMS distance of its "
        "outputs to the reference's (needs monitor test_outputs or train_outputs)")

    @model_validator(mode="before")
    @classmethod
    def _flatten_tables(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            for mode in ("grid", "zip", "reference"):
                if isinstance(data.get(mode), dict):
                    data[mode] = _flatten(data[mode])
        return data

    @model_validator(mode="after")
    def _check(self):
        for mode in ("grid", "zip", "reference"):
            for key in getattr(self, mode):
                if key.split(".")[0] in UNSWEEPABLE:
                    raise PydanticCustomError(
                        "unsweepable", "{k} cannot be swept ({no} are fixed for a run)",
                        {"k": key, "no": ", ".join(UNSWEEPABLE), "key": f"{mode}.{key}"})
        both = set(self.grid) & set(self.zip)
        if both:
            key = sorted(both)[0]
            raise PydanticCustomError("duplicate", "is both a grid and a zip axis",
                                      {"key": f"zip.{key}"})
        lengths = {key: len(v) for key, v in self.zip.items()}
        if len(set(lengths.values())) > 1:
            raise PydanticCustomError(
                "zip_lengths", "zip axes must have equal lengths; got {lengths}",
                {"lengths": ", ".join(f"{k}: {n}" for k, n in lengths.items()), "key": "zip"})
        if self.size > MAX_SWEEP_POINTS:
            raise PydanticCustomError("too_many", "{n} points; at most {max} allowed",
                                      {"n": self.size, "max": MAX_SWEEP_POINTS})
        return self

    @property
    def size(self) -> int:
        n = 1
        for values in self.grid.values():
            n *= len(values)
        return n * (len(next(iter(self.zip.values()))) if self.zip else 1)

    @property
    def empty(self) -> bool:
        return not self.grid and not self.zip


class Scenario(Table):
    """A whole scenario file."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=100)] = Field(
        description="names the run (default output directory runs/<name>)")
    description: str = Field("", description="one line shown by mfsim list")
    seed: Annotated[int, Field(ge=0, lt=2**32)] = Field(
        0, description="random seed: split into the data key and the initialization key",
            json_schema_extra=shown("seed", r""))
    dtype: Literal["float32", "float64"] = Field("float32", description="of every array of the run")
    task: TaskConfig = Field(
        default_factory=lambda: registry.TASKS[registry.DEFAULT_TASK].config())
    system: SystemConfig = Field(
        default_factory=lambda: registry.SYSTEMS[registry.DEFAULT_SYSTEM].config())
    solver: SolverConfig = Field(
        default_factory=lambda: registry.SOLVERS[registry.DEFAULT_SOLVER].config())
    noise: NoiseConfig = Field(default_factory=NoiseConfig)
    save: SaveConfig = Field(default_factory=SaveConfig)
    monitors: list[MonitorConfig] = Field(default_factory=list)
    compare: CompareConfig = Field(default_factory=CompareConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    sweep: SweepConfig = Field(default_factory=SweepConfig)
    crossover: CrossoverConfig = Field(default_factory=CrossoverConfig)

    @model_validator(mode="wrap")
    @classmethod
    def _defaults(cls, data: Any, handler):
        # `kind` may be left out of [task] and [system], `name` out of [solver]
        # and the monitors list: each defaults, the solver and the monitors per system
        if not isinstance(data, dict):
            return handler(data)
        data = dict(data)
        for key, kind in (("task", registry.DEFAULT_TASK), ("system", registry.DEFAULT_SYSTEM)):
            if isinstance(data.get(key), dict) and "kind" not in data[key]:
                data[key] = {"kind": kind, **data[key]}
        system = data["system"] if isinstance(data.get("system"), dict) else {}
        kind = system.get("kind", registry.DEFAULT_SYSTEM)
        entry = registry.SYSTEMS.get(kind) if isinstance(kind, str) else None
        solver = data.setdefault("solver", {})
        named = not isinstance(solver, dict) or "name" in solver
        if not named:
            data["solver"] = {"name": registry.default_solver(entry, system, solver), **solver}
        if "monitors" not in data and entry is not None:
            data["monitors"] = [{"name": name} for name in entry.default_monitors]
        _other_solvers_keys(data.get("solver"))
        scenario = handler(data)
        if not named:
            # a default is not a key the user set: left out of the scenario as
            # written (sweep.user_keys), a sweep point that changes the
            # activation or rtol gets its own
            scenario.solver.model_fields_set.discard("name")
        return scenario

    @model_validator(mode="after")
    def _check(self):
        self._derive_steps()
        if self.save.t_first is not None and self.save.t_first >= self.solver.t1:
            raise PydanticCustomError(
                "t_first", "must be below solver.t1", {"key": "save.t_first"}
            )
        names = [(m.name, m.model_dump().get("target")) for m in self.monitors]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise PydanticCustomError("duplicate", "the same monitor is listed twice",
                                          {"key": f"monitors.{i}.name"})
        self._check_precision()
        self._check_compatibility()
        self.crossover.check_sweep(self.sweep.grid)
        return self

    def _check_precision(self) -> None:
        """An adaptive solve's rtol the run's dtype can meet (4 eps: float32
        4.8e-7; below it the solve shrinks its steps to max_steps), and a
        monitor's rtol likewise (0 turns a monitor's early stop off)."""
        import numpy as np

        from .._solve.settings import PRECISION_ULPS, precision_refusal

        floor = PRECISION_ULPS * float(np.finfo(self.dtype).eps)
        asked = [("solver.rtol", self.solver.rtol)] if not self.solver.fixed else []
        # a monitor's rtol is a relative tolerance too (the sharpness monitor's Lanczos stop)
        asked += [(f"monitors.{i}.rtol", m.model_dump().get("rtol"))
                  for i, m in enumerate(self.monitors)]
        for key, rtol in asked:
            if rtol is not None and 0 < rtol < floor:
                raise PydanticCustomError(
                    "precision", precision_refusal(key, rtol, self.dtype, floor, named=False),
                    {"key": key})

    def _check_compatibility(self):
        check_compatibility(self)

    def _derive_steps(self) -> None:
        """``solver.learning_rate`` and ``solver.steps`` become ``dt`` and
        ``t1``, written into the resolved scenario: dt = learning_rate / tau
        (tau: the system's time scale, built on the data's shapes), t1 = steps * dt; then t1 must be whole
        steps of dt."""
        s = self.solver
        if not isinstance(s, FixedStepTable) or (s.learning_rate is None and s.steps is None):
            return
        dt = s.dt
        if s.learning_rate is not None:
            tau = system_time_scale(self.system, registry.TASKS[self.task.kind].sizes(self.task),
                                    self.dtype)
            if tau is None:
                raise PydanticCustomError(
                    "time_scale", f"system {self.system.kind}'s time scale depends on the data's "
                    "values, unknown before they are drawn; set solver.dt instead",
                    {"key": "solver.learning_rate"})
            dt = s.learning_rate / tau
        t1 = s.steps * dt if s.steps is not None else s.t1
        if dt > t1:
            raise PydanticCustomError("dt_too_large", f"the step dt = {dt:.6g} exceeds t1",
                                      {"key": "solver.t1"})
        if not whole_steps(t1, dt):
            raise PydanticCustomError(
                "whole_steps", f"must be a whole number of steps dt = learning_rate / tau = "
                f"{dt:.6g} (t1 / dt = {t1 / dt:.6g}): gradient descent takes full steps only; "
                "or set solver.steps", {"key": "solver.t1"})
        # the table is frozen: the scenario holds a copy with dt and t1 filled in
        object.__setattr__(self, "solver", s.model_copy(update={"dt": dt, "t1": t1}))


def _other_solvers_keys(table) -> None:
    """Refuse a key of the ``[solver]`` table that its solver lacks and other
    solvers have, naming them (``solver.momentum: only for solver name =
    "sgd"``)."""
    entry = registry.SOLVERS.get(table.get("name")) if isinstance(table, dict) and isinstance(
        table.get("name"), str) else None
    if entry is None:
        return
    for key in table:
        if key in entry.config.model_fields:
            continue
        owners = sorted(n for n, e in registry.SOLVERS.items() if key in e.config.model_fields)
        if owners:
            raise PydanticCustomError(
                "solver_key", "only for solver name = {names}, not {name}",
                {"names": " or ".join(f'"{n}"' for n in owners), "name": table["name"],
                 "key": f"solver.{key}"})


def _names(entries) -> str:
    return ", ".join(e.name for e in entries)


def check_compatibility(scenario: Scenario) -> None:
    """Raise when the scenario's task, system, monitors, twins and reference
    runs do not fit together. Everything is derived from the entries: the
    type of data a task makes and a system trains on, the capability types of
    the system's class, and what each monitor, twin and task requires."""
    system_e = registry.SYSTEMS[scenario.system.kind]
    task_e = registry.TASKS[scenario.task.kind]
    system, task, stype = system_e.name, task_e.name, system_e.system
    scalar = issubclass(stype, AbstractScalarOutputSystem)

    def trains_on(t, s) -> bool:
        return s.data is t.data and not (t.vector_targets and issubclass(
            s.system, AbstractScalarOutputSystem))

    if system_e.data is not task_e.data:
        allowed = [t for t in registry.TASKS.values() if trains_on(t, system_e)]
        raise error("task_system", "system {system} cannot be trained on task {task}; "
                    "allowed: {allowed}", "task.kind", system=system, task=task,
                    allowed=_names(allowed))
    if task_e.vector_targets and scalar:
        fit = [s for s in registry.SYSTEMS.values() if trains_on(task_e, s)]
        raise error("task_system", "task {task} has vector targets: only {which} {fit} "
                    "{verb} it", "task.kind", task=task, fit=_names(fit),
                    which="system" if len(fit) == 1 else "systems",
                    verb="fits" if len(fit) == 1 else "fit")
    needs = task_e.requires(scenario.task)
    missing = [t.__name__ for t in needs if not issubclass(stype, t)]
    if missing:
        fit = [s for s in registry.SYSTEMS.values() if trains_on(task_e, s)
               and all(issubclass(s.system, t) for t in needs)]
        raise error("task_system", "task {task} needs a system that is {missing}; allowed "
                    "systems: {allowed}", "task.kind", task=task, missing=", ".join(missing),
                    allowed=_names(fit))
    problem = task_e.check(scenario.task, scenario, "task")
    if problem is not None:
        raise problem
    solver_e = registry.SOLVERS[scenario.solver.name]
    for problem in (solver_e.check(scenario.solver, scenario, registry),
                    check_noise(scenario, solver_e, system_e, registry)):
        if problem is not None:
            raise problem
    _check_monitors(scenario, system_e)
    lacks = system_e.lacks(scenario.system)
    if scenario.sweep.reference:
        if not issubclass(stype, AbstractRegressionSystem):
            raise error("reference", "a reference run needs a network system, not {s}",
                        "sweep.reference", s=system)
        if not {"test_outputs", "train_outputs"} & {m.name for m in scenario.monitors}:
            raise error("reference", "a reference run needs monitor test_outputs or "
                        "train_outputs (the outputs compared)", "sweep.reference")
    for twin in twins.selected(scenario.compare):
        why = twins.refusal(twin, stype, system) or "; ".join(
            lacks[t] for t in twin.requires if t in lacks) or twin.check(scenario) or None
        if why is not None:
            raise error("compare", why, twin.key if twin.key != "compare.linearized"
                        else "compare")


def _check_monitors(scenario: Scenario, system_e) -> None:
    """Each monitor fits the system's class, the capability types its options
    as set need from the system (``needs``) and from the task's table
    (``task_needs``: :mod:`.tasks.capabilities`), then its own checks."""
    system, stype = system_e.name, system_e.system
    allowed = [m for m in registry.MONITORS.values() if m.fits(stype)]
    lacks = system_e.lacks(scenario.system)
    for i, cfg in enumerate(scenario.monitors):
        entry = registry.MONITORS[cfg.name]
        if not entry.fits(stype):
            raise error("monitor", "{name} is not available for system {system}; allowed: "
                        "{allowed}", f"monitors.{i}.name", name=cfg.name, system=system,
                        allowed=_names(allowed))
        for key, types in entry.needs(cfg).items():
            why = [lacks[t] for t in types if t in lacks]
            if why:
                raise error("monitor", "as set, this needs what the system lacks: {why}",
                            f"monitors.{i}.{key}", why="; ".join(why))
            lacking = [t.__name__ for t in types if not issubclass(stype, t)]
            if lacking:
                fit = [e for e in registry.SYSTEMS.values() if entry.fits(e.system)
                       and all(issubclass(e.system, t) for t in types)]
                raise error("monitor", "as set, this needs a system that is {missing}, not "
                            "{system}; systems that are: {allowed}", f"monitors.{i}.{key}",
                            missing=", ".join(lacking), system=system, allowed=_names(fit))
        for key, types in entry.task_needs(cfg).items():
            lacking = [t for t in types if not isinstance(scenario.task, t)]
            if lacking:
                fit = [e for e in registry.TASKS.values()
                       if all(issubclass(e.config, t) for t in types)]
                what = "this" if key != "name" else cfg.name
                raise error("monitor", "{what} needs a task with {needed}, not {task}; tasks "
                            "with it: {allowed}", f"monitors.{i}.{key}", what=what,
                            needed=", ".join(t.what for t in lacking),
                            task=scenario.task.kind, allowed=_names(fit) or "none registered")
        problem = entry.check(cfg, scenario, f"monitors.{i}")
        if problem is not None:
            raise problem


def rebuild() -> None:
    """Rebuild the unions of tables from the registry (after :func:`registry.register_entries`)."""
    global TaskConfig, SystemConfig, MonitorConfig, SolverConfig
    task, system, monitor, solver = _unions()
    TaskConfig = Annotated[task, Field(discriminator="kind")]
    SystemConfig = Annotated[system, Field(discriminator="kind")]
    MonitorConfig = Annotated[monitor, Field(discriminator="name")]
    SolverConfig = Annotated[solver, Field(discriminator="name")]
    fields = Scenario.__pydantic_fields__
    fields["task"].annotation = task
    fields["system"].annotation = system
    fields["monitors"].annotation = list[MonitorConfig]
    fields["solver"].annotation = solver
    Scenario.model_rebuild(force=True)


registry.LISTENERS.append(rebuild)
