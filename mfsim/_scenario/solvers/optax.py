"""``[solver] name = "sgd"`` and ``"adam"``: optax update rules at fixed
steps on the flow time axis (:mod:`mfsim._solve.optimizers`): full batch,
mini-batches of the training rows, or fresh samples of the task (online);
docs/theory.md, "Discrete optimizers"."""

from __future__ import annotations

from typing import Annotated, Literal

import optax
from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from ..._solve.optimizers import Minibatch, Online, OptaxSolver, adam, sgd
from ..._system import AbstractSupervisedSystem
from ..entry import SolverEntry, error
from ..table import PosFloat, PosInt, shown
from .base import FixedStepTable, solver_settings

Decay = Annotated[float, Field(ge=0, lt=1)]


class OptaxTable(FixedStepTable):
    """Keys of every optimizer."""

    batch_size: PosInt | None = Field(
        None, description="training rows per step, drawn by the seed (default: every row, "
        "full batch; online: 1)", json_schema_extra=shown("batch size", r"$B$"))
    replacement: bool | None = Field(
        None, description="draw each batch with replacement (default false: epochs of fresh "
        "permutations)")
    online: bool | None = Field(
        None, description="a fresh sample of the task's distribution at every step (online "
        "SGD; tasks that sample: teacher)")
    schedule: Literal["constant", "cosine", "linear"] = Field(
        "constant", description="the step's factor over the run: constant 1, or decaying to 0 "
        "at t1 (cosine or linear)")

    @model_validator(mode="after")
    def _check_online(self):
        if self.online and self.replacement is not None:
            raise PydanticCustomError(
                "online", "online steps draw fresh samples: remove replacement",
                {"key": "replacement"})
        return self

    def transform(self, batches, schedule) -> OptaxSolver:
        raise NotImplementedError  # each optimizer's table


class SGDTable(OptaxTable):
    """Stochastic gradient descent: mini-batch, online or full batch (= euler); momentum."""

    name: Literal["sgd"] = Field("sgd", description="the solver (mfsim list solvers)")
    momentum: Decay | None = Field(
        None, description="heavy-ball momentum (optax.trace; default 0)",
            json_schema_extra=shown("momentum", r"$\beta$"))
    nesterov: bool | None = Field(None, description="Nesterov momentum (default false)")

    @model_validator(mode="after")
    def _check_nesterov(self):
        if self.nesterov and not self.momentum:
            raise PydanticCustomError("nesterov", "Nesterov momentum needs momentum > 0",
                                      {"key": "nesterov"})
        return self

    def transform(self, batches, schedule) -> OptaxSolver:
        return sgd(momentum=self.momentum or 0.0, nesterov=bool(self.nesterov),
                   batches=batches, schedule=schedule)


class AdamTable(OptaxTable):
    """Adam on the flow's velocity: mini-batch, online or full batch."""

    name: Literal["adam"] = Field("adam", description="the solver (mfsim list solvers)")
    b1: Decay | None = Field(None, description="first-moment decay (default 0.9)")
    b2: Decay | None = Field(None, description="second-moment decay (default 0.999)")
    eps: PosFloat | None = Field(None, description="epsilon (default 1e-8)")

    def transform(self, batches, schedule) -> OptaxSolver:
        options = {k: v for k, v in (("b1", self.b1), ("b2", self.b2), ("eps", self.eps))
                   if v is not None}
        return adam(batches=batches, schedule=schedule, **options)


def optimizer(cfg: OptaxTable, ctx) -> OptaxSolver:
    """The table's optimizer object: its batches (mini-batches, or online
    samples of the task's sampler) and its schedule over ``t1 / dt`` steps."""
    batches = None
    if cfg.online:
        batches = Online(ctx.data.sampler, cfg.batch_size or 1)
    elif cfg.batch_size is not None:
        batches = Minibatch(cfg.batch_size, bool(cfg.replacement))
    steps = cfg.step_count
    schedule = {"constant": None, "cosine": optax.cosine_decay_schedule(1.0, steps),
                "linear": optax.linear_schedule(1.0, 0.0, steps)}[cfg.schedule]
    return cfg.transform(batches, schedule)


def check(cfg: OptaxTable, scenario, registry):
    """Mini-batches and online samples need a supervised system (inputs and
    targets), a task that samples (online), batches no larger than the data,
    and twins that are supervised systems too (not kernel flows)."""
    where = "solver"
    if cfg.batch_size is None and not cfg.online:
        return None
    key = f"{where}.online" if cfg.online else f"{where}.batch_size"
    system_e, task_e = registry.SYSTEMS[scenario.system.kind], registry.TASKS[scenario.task.kind]
    if not issubclass(system_e.system, AbstractSupervisedSystem):
        fit = registry.systems_with(AbstractSupervisedSystem)
        return error("optimizer", "mini-batch and online steps need a system trained on "
                     "inputs and targets, not {system}; systems that are: {allowed}", key,
                     system=system_e.name, allowed=", ".join(fit))
    if cfg.online and not task_e.samples:
        fit = [t.name for t in registry.TASKS.values() if t.samples]
        return error("optimizer", "online steps need a task that draws fresh samples, not "
                     "{task}; tasks that do: {allowed}", key, task=task_e.name,
                     allowed=", ".join(fit))
    n = task_e.sizes(scenario.task).n_train
    if not cfg.online and cfg.batch_size is not None and cfg.batch_size > n:
        return error("optimizer", "batch_size {b} exceeds the task's {n} training rows",
                     f"{where}.batch_size", b=cfg.batch_size, n=n)
    if scenario.compare.kernels:
        return error("optimizer", "constant-kernel twins are flows in function space: they "
                     "have no mini-batch or online steps (compare linearized or quadratic)",
                     "compare.kernels")
    return None


SGD = SolverEntry(
    SGDTable, lambda cfg, ctx: solver_settings(cfg, optimizer(cfg, ctx), ctx),
    descriptions={"sgd": "SGD through optax, fixed step: mini-batch, online or full batch "
                  "(= euler); momentum"},
    copies={"sgd": 3}, noise="none", check=check)
ADAM = SolverEntry(
    AdamTable, lambda cfg, ctx: solver_settings(cfg, optimizer(cfg, ctx), ctx),
    descriptions={"adam": "Adam through optax on the flow's velocity, fixed step: mini-batch, "
                  "online or full batch"},
    copies={"adam": 4}, noise="none", check=check)
